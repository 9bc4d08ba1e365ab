"""Answers to lessons/exercises/lesson04.py."""

import numpy as np


def linear_backward(x, w, grad):
    """dx = G W, dW = G^T X and db = the column sums of G, with X and G flattened to (M, in) and (M, out)."""
    out_f, in_f = w.shape
    g2 = grad.reshape(-1, out_f)  # (M, out)
    dx = grad @ w  # (..., out) @ (out, in): matmul broadcasts over the batch dimensions
    dw = g2.T @ x.reshape(-1, in_f)  # (out, M) @ (M, in)
    db = g2.sum(axis=0)  # (out,)
    return dx, dw, db


def layer_norm_backward(x, gamma, grad, eps=1e-5):
    """The paths through xhat, through the mean and through the variance, in one line."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    r = 1.0 / np.sqrt(var + eps)
    xhat = (x - mean) * r
    gh = grad * gamma
    dx = r * (gh - gh.mean(axis=-1, keepdims=True) - xhat * (gh * xhat).mean(axis=-1, keepdims=True))
    lead = tuple(range(x.ndim - 1))  # every axis but the normalised one
    return dx, (grad * xhat).sum(axis=lead), grad.sum(axis=lead)


def conv1d_im2col(x, w, stride=1, padding=0, dilation=1):
    """Tap j of output position l reads xpad[..., l * stride + j * dilation]: one strided slice per tap."""
    n, c, length = x.shape
    c_out, _, k = w.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    l_out = (length + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    taps = [xpad[:, :, j * dilation : j * dilation + stride * (l_out - 1) + 1 : stride] for j in range(k)]
    cols = np.stack(taps, axis=2).reshape(n, c * k, l_out)  # (N, C*K, L_out)
    return w.reshape(c_out, c * k) @ cols  # (C_out, C*K) @ (N, C*K, L_out) -> (N, C_out, L_out)
