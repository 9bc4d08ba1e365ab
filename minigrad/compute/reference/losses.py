"""The pieces of a row-wise softmax that cross-entropy needs, computed once.

For logits ``x`` of shape ``(M, C)`` (one row per sample), ``log_softmax = z - log(s)`` and
``softmax = e / s`` with ``z = x - rowmax``, ``e = exp(z)`` and ``s`` the row sums of ``e``.
Subtracting each row's max changes nothing mathematically but keeps ``exp`` from overflowing.
"""

from __future__ import annotations

from .arrays import array_module

__all__ = ["shifted_exp_rows"]


def shifted_exp_rows(x):
    """``(z, e, s)``: ``z = x - rowmax``, ``e = exp(z)``, ``s = e.sum(1)`` as a column. A row whose max is not
    finite (all -inf, or a +inf) is shifted by 0 instead, as torch does."""
    xp = array_module(x)
    m = x.max(axis=1, keepdims=True)
    z = x - xp.where(xp.isfinite(m), m, 0)
    e = xp.exp(z)
    return z, e, e.sum(axis=1, keepdims=True)
