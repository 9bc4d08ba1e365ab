"""Fast matrix-product gradients: one large product instead of one small product per batch entry.

``sum_i a[i]^T @ grad[i]`` equals ``A^T @ G`` where ``A`` and ``G`` stack every batch entry's rows
(``(rows, k)`` and ``(rows, m)``): a single BLAS call on tall matrices, with no ``(batch, k, m)``
intermediate to allocate and sum.
"""

from __future__ import annotations

from ..reference.arrays import array_module

__all__ = ["shared_matrix_grad"]


def shared_matrix_grad(a, grad):
    rows = 1
    for n in a.shape[:-1]:
        rows *= n
    return array_module(a).matmul(a.reshape(rows, a.shape[-1]).T, grad.reshape(rows, grad.shape[-1]))
