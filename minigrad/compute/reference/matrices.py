"""Dense linear algebra on (batches of) matrices: inverse, determinant, linear solve, singular values."""

from __future__ import annotations

from .arrays import array_module

__all__ = ["inverse", "determinant", "solve_linear", "reduced_svd"]


def inverse(a):
    """``a^-1`` for each matrix in the last two dims (raises LinAlgError if one is singular)."""
    return array_module(a).linalg.inv(a)


def determinant(a):
    """``det(a)`` for each matrix in the last two dims."""
    return array_module(a).linalg.det(a)


def solve_linear(a, b):
    """``x`` with ``a @ x == b``; ``b`` is a (batch of) matrix, one right-hand side per column."""
    return array_module(a).linalg.solve(a, b)


def reduced_svd(a):
    """``U, S, Vh`` with ``a = U @ diag(S) @ Vh``, ``S`` in descending order (the thin decomposition)."""
    return array_module(a).linalg.svd(a, full_matrices=False)
