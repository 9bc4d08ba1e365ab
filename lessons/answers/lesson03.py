"""Answers to lessons/exercises/lesson03.py."""

import numpy as np

import minigrad


def numerical_gradient(f, x, eps=1e-6):
    """Central differences, one element at a time, on a copy of ``x``."""
    x = np.array(x, dtype=np.float64)  # a copy: the caller's array is left alone
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + eps
        up = f(x)
        flat[i] = keep - eps
        down = f(x)
        flat[i] = keep
        gflat[i] = (up - down) / (2 * eps)
    return grad


def numerical_jacobian(f, x, eps=1e-6):
    """Column ``i`` is the central difference of the whole output along input element ``i``."""
    x = np.array(x, dtype=np.float64)
    flat = x.reshape(-1)
    columns = []
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + eps
        up = np.asarray(f(x), dtype=np.float64).reshape(-1)
        flat[i] = keep - eps
        down = np.asarray(f(x), dtype=np.float64).reshape(-1)
        flat[i] = keep
        columns.append((up - down) / (2 * eps))
    return np.stack(columns, axis=1)


def backward_error(fn, x, seed=0, eps=1e-6):
    """Compare minigrad's vector-Jacobian product with finite differences of ``sum(u * fn(x))``."""
    x = np.asarray(x, dtype=np.float64)
    xt = minigrad.tensor(x, requires_grad=True)
    out = fn(xt)
    u = np.random.default_rng(seed).normal(size=tuple(out.shape))
    (out * minigrad.tensor(u)).sum().backward()

    def loss(v):
        with minigrad.no_grad():
            return float((fn(minigrad.tensor(v)) * minigrad.tensor(u)).sum().item())

    return float(np.abs(xt.grad.numpy() - numerical_gradient(loss, x, eps)).max())


def softmax_vjp(s, u, dim=-1):
    """``s ⊙ (u - u·s)``: the upstream gradient minus its probability-weighted mean, scaled by ``s``."""
    return s * (u - (u * s).sum(axis=dim, keepdims=True))
