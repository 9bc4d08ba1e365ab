"""Lesson 04 (modules and layers): the backward passes of the layers, on NumPy arrays, as a backend writes them.

Each function takes and returns NumPy arrays (no tensors, no autograd): you write the formulas that the engine
would otherwise call. Grade your work with
``EXERCISES=exercises .venv/bin/pytest -q tests/test_exercises.py -k lesson04``.
"""


def linear_backward(x, w, grad):
    """The gradients ``(dx, dw, db)`` of ``y = x @ w.T + b``, given ``grad = dL/dy``.

    ``x``: ``(..., in)`` with any number of batch dimensions (also none); ``w``: ``(out, in)``;
    ``grad``: ``(..., out)``, the shape of ``y``. Return ``dx`` of ``x``'s shape, ``dw`` of shape ``(out, in)``
    and ``db`` of shape ``(out,)``: flatten the batch dimensions into one, ``M``, where a sum over them is needed.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson04.py::linear_backward")


def layer_norm_backward(x, gamma, grad, eps=1e-5):
    """The gradients ``(dx, dgamma, dbeta)`` of ``y = (x - mean) / sqrt(var + eps) * gamma + beta``.

    The statistics are over the last axis of ``x`` (shape ``(..., D)``; ``var`` is the biased variance, dividing
    by ``D``); ``gamma`` has shape ``(D,)``; ``grad = dL/dy`` has ``x``'s shape. Recompute ``xhat`` and
    ``r = 1 / sqrt(var + eps)`` from ``x``, then use ``dx = r * (gh - mean(gh) - xhat * mean(gh * xhat))`` with
    ``gh = grad * gamma`` (means over the last axis). ``dgamma`` and ``dbeta`` are ``(D,)``: sums over every
    other axis.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson04.py::layer_norm_backward")


def conv1d_im2col(x, w, stride=1, padding=0, dilation=1):
    """The forward pass of ``conv1d`` (no bias, one group) by im2col and one matrix product.

    ``x``: ``(N, C, L)``; ``w``: ``(C_out, C, K)``; ``padding`` zeros on both sides. Build
    ``cols[n, c, j, l] = xpad[n, c, l * stride + j * dilation]`` of shape ``(N, C, K, L_out)`` with a loop over the
    ``K`` taps (each tap is one strided slice; no loop over positions), reshape it to ``(N, C * K, L_out)``, and
    return ``w.reshape(C_out, C * K) @ cols``, of shape ``(N, C_out, L_out)`` with
    ``L_out = (L + 2 * padding - dilation * (K - 1) - 1) // stride + 1``.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson04.py::conv1d_im2col")
