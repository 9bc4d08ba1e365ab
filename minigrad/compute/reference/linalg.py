"""Matrix products: the gradient of a matrix that every batch entry shares.

In ``y = a @ w`` with ``a`` of shape ``(batch..., n, k)`` and one matrix ``w`` of shape ``(k, m)`` (a
Linear layer), each batch entry uses the same ``w``, so ``w``'s gradient is the sum over the batch of
each entry's ``a_i^T @ grad_i``.
"""

from __future__ import annotations

from .arrays import array_module

__all__ = ["shared_matrix_grad"]


def shared_matrix_grad(a, grad):
    """``sum_i a[i]^T @ grad[i]`` over every batch dim of ``a`` (shape ``(..., n, k)``) and ``grad``
    (``(..., n, m)``): the ``(k, m)`` gradient of the matrix ``w`` in ``a @ w``."""
    xp = array_module(a)
    per_entry = xp.matmul(xp.swapaxes(a, -1, -2), grad)  # (..., k, m): one product per batch entry
    return per_entry.sum(axis=tuple(range(per_entry.ndim - 2)))
