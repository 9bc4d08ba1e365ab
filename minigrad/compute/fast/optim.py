"""Fast optimizer updates: Adam in one compiled pass over the parameter, or in place with scratch arrays.

The reference (:mod:`minigrad.compute.reference.optim`) writes Adam's formulas as array expressions: each
line allocates a temporary and walks memory once. Here NumPy parameters take one compiled pass of
:mod:`.kernels` (``kernels.adam_update``: every element read and written once); other arrays (CuPy, mixed
layouts) take in-place NumPy/CuPy calls with two scratch arrays. Both follow the order of operations of
torch's single-tensor Adam, so that float64 trajectories agree with torch to rounding: the first moment as
a lerp towards ``g``, ``((1 - beta2) * g) * g``, and ``sqrt(v) / sqrt(1 - beta2**t) + eps``.
"""

from __future__ import annotations

from ... import backend
from . import kernels

__all__ = ["adam_update"]


def adam_update(
    param,
    grad,
    exp_avg,
    exp_avg_sq,
    max_exp_avg_sq,
    *,
    step,
    lr,
    beta1,
    beta2,
    eps,
    weight_decay,
    amsgrad,
    maximize,
    decoupled,
):
    """The reference's ``adam_update`` (same arguments, same in-place results), in torch's order."""
    # the compiled one-pass version when it applies; None means "not handled here"
    if kernels.adam_update(
        param,
        grad,
        exp_avg,
        exp_avg_sq,
        max_exp_avg_sq if amsgrad else None,
        step=step,
        lr=lr,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
        weight_decay=weight_decay,
        decoupled=decoupled,
        maximize=maximize,
    ):
        return
    xp = backend.get_array_module(param)
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * param
    # two scratch arrays per call; the products keep torch's order ((1 - beta2) * g) * g
    w = 1 - beta1
    tmp = xp.empty_like(exp_avg)  # (an array even when the parameter is 0-d)
    xp.subtract(g, exp_avg, out=tmp)
    if abs(w) < 0.5:  # torch's lerp picks the better-conditioned of its two forms
        tmp *= w
        exp_avg += tmp
    else:
        tmp *= 1 - w
        xp.subtract(g, tmp, out=exp_avg)
    xp.multiply(g, 1 - beta2, out=tmp)
    tmp *= g
    exp_avg_sq *= beta2
    exp_avg_sq += tmp
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    step_size = lr / bias_correction1
    second = exp_avg_sq
    if amsgrad:
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    denom = xp.sqrt(second, out=tmp)
    denom /= bias_correction2**0.5
    denom += eps
    xp.divide(exp_avg, denom, out=denom)
    denom *= -step_size
    param += denom
