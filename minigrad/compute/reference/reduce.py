"""Sums and means as NumPy computes them, and a reduction's gradient spread back over its input.

``axes`` is a tuple of axes (None: all of them). The fast backend keeps the same names and makes
float32 sums more accurate along axes NumPy adds up one slice after another (see
:mod:`minigrad.compute.fast.reduce`).
"""

from __future__ import annotations

import math

from .arrays import array_module

__all__ = ["accurate_sum", "accurate_mean", "broadcast_gradient"]


def accurate_sum(x, axes, keepdims=False):
    """``x.sum(axis=axes)`` in ``x``'s dtype."""
    return x.sum(axis=axes, keepdims=keepdims).astype(x.dtype, copy=False)


def accurate_mean(x, axes, keepdims=False):
    """``x.mean(axis=axes)``; the mean of nothing is NaN, as in torch (without NumPy's warning)."""
    n = math.prod(x.shape[a] for a in axes) if axes is not None else x.size
    if n == 0:
        return x.sum(axis=axes, keepdims=keepdims) * x.dtype.type(math.nan)
    return x.mean(axis=axes, keepdims=keepdims).astype(x.dtype, copy=False)


def broadcast_gradient(grad, shape):
    """A reduction's gradient (size-1 axes where the input had reduced ones) spread over the input's ``shape``:
    every input element receives the gradient of the output it was reduced into. A read-only view."""
    return array_module(grad).broadcast_to(grad, shape)
