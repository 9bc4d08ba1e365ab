"""Optimizer updates on raw arrays: Adam (and AdamW) as torch's documentation writes the algorithm.

One call updates one parameter and its state in place. With ``t`` the step number (1 on the first step),
``g`` the gradient, ``lr`` the learning rate and ``wd`` the weight decay::

    g = -g                                  if maximize
    g = g + wd * param                      Adam: an L2 penalty, through the moments
    param = param - lr * wd * param         AdamW ("decoupled"): applied to the parameter directly
    m = beta1 * m + (1 - beta1) * g         first moment: a running mean of the gradient
    v = beta2 * v + (1 - beta2) * g**2      second moment: a running mean of its square
    v_max = max(v_max, v)                   amsgrad: v_max is used instead of v below
    m_hat = m / (1 - beta1**t)              bias corrections: m and v start at zero
    v_hat = v / (1 - beta2**t)
    param = param - lr * m_hat / (sqrt(v_hat) + eps)
"""

from __future__ import annotations

from .arrays import array_module

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
    """One Adam/AdamW step: ``param``, ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with ``amsgrad``,
    ``max_exp_avg_sq`` are updated in place; ``grad`` is only read. ``step`` counts this step (1 first)."""
    xp = array_module(param)
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled:
            param[...] = param - lr * weight_decay * param
        else:
            g = g + weight_decay * param
    exp_avg[...] = beta1 * exp_avg + (1 - beta1) * g
    exp_avg_sq[...] = beta2 * exp_avg_sq + (1 - beta2) * g * g
    second = exp_avg_sq
    if amsgrad:
        max_exp_avg_sq[...] = xp.maximum(max_exp_avg_sq, exp_avg_sq)
        second = max_exp_avg_sq
    m_hat = exp_avg / (1 - beta1**step)
    v_hat = second / (1 - beta2**step)
    param[...] = param - lr * m_hat / (xp.sqrt(v_hat) + eps)
