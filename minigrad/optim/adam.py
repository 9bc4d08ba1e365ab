"""Adam: adaptive moment estimation, and ``_adam_update``, the element-wise kernel that Adam and AdamW share."""

from __future__ import annotations

from .. import backend
from ..compute.fast import kernels
from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["Adam"]


def _adam_update(
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
    """One Adam/AdamW update of one parameter, in place on raw arrays (NumPy or CuPy).

    ``param``, ``exp_avg``, ``exp_avg_sq`` (and ``max_exp_avg_sq`` when ``amsgrad``) are updated in place;
    ``grad`` is only read. ``step`` is the step number counting this one (1 on the first step). The order of
    operations follows torch's single-tensor Adam so that float64 trajectories agree to rounding:

        g = -grad if maximize else grad
        decoupled (AdamW):  param *= 1 - lr * weight_decay      else (Adam):  g = g + weight_decay * param
        m = m + (1 - beta1) * (g - m)              # first moment, a lerp towards g
        v = beta2 * v + (1 - beta2) * g * g        # second moment
        v_max = max(v_max, v)  (amsgrad, then used instead of v)
        denom = sqrt(v) / sqrt(1 - beta2**step) + eps
        param -= lr / (1 - beta1**step) * m / denom

    This is the one function to replace by a fused numba/CuPy kernel: everything it touches is an array
    of the parameter's shape, and the scalars are Python floats.
    """
    # the compiled one-pass version (minigrad.compute.fast.kernels) when it applies; None means "not handled here"
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


class Adam(Optimizer):
    """Adam (torch's ``optim.Adam``): per-coordinate steps scaled by running gradient moments.

    ``weight_decay`` here is an L2 penalty added to the gradient (so it passes through the moments); for
    decoupled weight decay use :class:`~minigrad.optim.AdamW`. ``amsgrad`` keeps the running maximum of the
    second moment; ``maximize`` ascends instead of descending. State per parameter: ``step`` (a 0-d tensor),
    ``exp_avg``, ``exp_avg_sq`` and, with amsgrad, ``max_exp_avg_sq``.

    ``foreach``, ``fused``, ``capturable`` and ``differentiable`` are accepted (and kept in ``defaults``) so that
    torch code and state dicts carry over; minigrad ignores them.
    """

    _decoupled = False

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        amsgrad=False,
        *,
        foreach=None,
        maximize=False,
        capturable=False,
        differentiable=False,
        fused=None,
        decoupled_weight_decay=None,
    ):
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        betas = tuple(float(b) for b in betas)
        if len(betas) != 2:
            raise ValueError(f"Invalid betas: expected two values (beta1, beta2), got {betas}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if decoupled_weight_decay is None:
            decoupled_weight_decay = self._decoupled
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=bool(decoupled_weight_decay),
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One Adam update of every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            amsgrad = group["amsgrad"]
            decoupled = group.get("decoupled_weight_decay", self._decoupled) or self._decoupled
            for p, g in self._params_with_grad(group):
                state = self.state[p]
                step_t = self._step_counter(state)
                if "exp_avg" not in state:
                    xp = backend.get_array_module(p.array)
                    state["exp_avg"] = Tensor._make(xp.zeros_like(p.array))
                    state["exp_avg_sq"] = Tensor._make(xp.zeros_like(p.array))
                if amsgrad and "max_exp_avg_sq" not in state:
                    state["max_exp_avg_sq"] = Tensor._make(backend.get_array_module(p.array).zeros_like(p.array))
                step_t.array += 1
                _adam_update(
                    p.array,
                    g,
                    state["exp_avg"].array,
                    state["exp_avg_sq"].array,
                    state["max_exp_avg_sq"].array if amsgrad else None,
                    step=float(step_t.array),
                    lr=group["lr"],
                    beta1=beta1,
                    beta2=beta2,
                    eps=group["eps"],
                    weight_decay=group["weight_decay"],
                    amsgrad=amsgrad,
                    maximize=group["maximize"],
                    decoupled=decoupled,
                )
                p._version += 1
        return loss
