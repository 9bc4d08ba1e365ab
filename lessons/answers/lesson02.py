"""Answers to lessons/exercises/lesson02.py."""

import math

from lessons.tiny.scalar import Scalar


def tanh(x):
    """``tanh`` on the tiny engine: the derivative is read off the result, ``1 - tanh(x)^2``."""
    t = math.tanh(x.data)
    return Scalar(t, (x,), lambda g: (g * (1.0 - t * t),))


def unbroadcast(grad, shape):
    """Sum leading axes away, then the axes of size 1 that were stretched."""
    lead = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(lead))) if lead else grad
    stretched = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad


def matmul_vjp(g, a, b):
    """dL/da[i, q] = sum_j g[i, j] b[q, j] and dL/db[q, j] = sum_i a[i, q] g[i, j]."""
    return g @ b.T, a.T @ g
