"""Gradient clipping: rescale (``clip_grad_norm_``) or clamp (``clip_grad_value_``) the gradients in place.

Call these between ``loss.backward()`` and ``optimizer.step()``. Norm clipping keeps the direction
of the full gradient and only shortens it when its norm exceeds ``max_norm``, which tames the
occasional exploding step without changing ordinary ones.
"""

from __future__ import annotations

import math

from ... import backend
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]


def _params(parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def _grads(parameters):
    return [p.grad for p in _params(parameters) if p.grad is not None]


def _array_norm(a, p: float):
    xp = backend.get_array_module(a)
    if a.size == 0:
        return xp.zeros((), dtype=a.dtype)
    if math.isinf(p):
        return xp.abs(a).max() if p > 0 else xp.abs(a).min()
    if p == 2:
        return xp.sqrt((a * a).sum())
    if p == 1:
        return xp.abs(a).sum()
    if p == 0:
        return (a != 0).sum().astype(a.dtype)
    return (xp.abs(a) ** p).sum() ** (1.0 / p)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """The ``norm_type``-norm of all the given tensors taken together (as if concatenated into one vector)."""
    tensors = [t.array if isinstance(t, Tensor) else t for t in _params(tensors)]
    p = float(norm_type)
    if not tensors:
        from ...creation import tensor

        return tensor(0.0)
    xp = backend.get_array_module(tensors[0])
    norms = xp.stack([xp.asarray(_array_norm(a, p), dtype=tensors[0].dtype) for a in tensors])
    total = _array_norm(norms, p)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {p} for gradients from `parameters` is non-finite, so it cannot be clipped. "
            "To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    return Tensor._make(xp.asarray(total))


def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None
) -> Tensor:
    """Scale all gradients by ``min(1, max_norm / (total_norm + 1e-6))``; return the total norm before clipping.

    ``norm_type`` may be ``float('inf')`` (the largest absolute entry). The gradients are modified in place.
    """
    grads = _grads(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    if not grads:
        return total
    coef = float(max_norm) / (total.array + 1e-6)
    coef = min(float(coef), 1.0) if not math.isnan(float(coef)) else float("nan")
    for g in grads:
        g.array *= g.array.dtype.type(coef)
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient entry into ``[-clip_value, clip_value]`` in place."""
    c = float(clip_value)
    for g in _grads(parameters):
        xp = backend.get_array_module(g.array)
        xp.clip(g.array, -c, c, out=g.array)
