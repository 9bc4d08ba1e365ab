"""1-d convolution as im2col + one matrix product, and its backward as the same product transposed + col2im.

``x (N, C, L)`` is zero-padded, then every receptive field becomes a column (im2col)::

    cols[n, c, j, l] = xpad[n, c, l*stride + j*dilation]        (N, C, K, L_out)
    out[n, o, l]     = sum_{c, j} w[o, c, j] * cols[n, c, j, l]  one matrix product: W (C_out, C*K) @ cols

With ``groups`` the channels split into independent groups, each its own product. Backward::

    grad_w    = sum_n grad[n] @ cols[n].T      (C_out, C*K)
    grad_cols = W.T @ grad[n]                  (C*K, L_out)  -> col2im -> grad_x

col2im is im2col's adjoint: each tap's column is added back at the positions it was read from.
"""

from __future__ import annotations

from .arrays import array_module

__all__ = ["conv1d", "conv1d_backward"]


def _taps(j, l_out, stride, dilation):
    """The positions of the padded input that tap ``j`` reads, one per output position."""
    return slice(j * dilation, j * dilation + stride * (l_out - 1) + 1, stride)


def _im2col(x, k, stride, padding, dilation):
    """``cols (N, C, K, L_out)``: tap ``j`` of output position ``l`` is ``xpad[:, :, l*stride + j*dilation]``."""
    xp = array_module(x)
    xpad = xp.pad(x, ((0, 0), (0, 0), padding))
    l_out = (xpad.shape[2] - dilation * (k - 1) - 1) // stride + 1
    return xp.stack([xpad[:, :, _taps(j, l_out, stride, dilation)] for j in range(k)], axis=2)


def conv1d(x, w, b, stride, padding, dilation, groups):
    """Cross-correlation of ``x (N, C, L)`` with ``w (C_out, C/groups, K)`` (+ ``b (C_out,)`` or None);
    ``padding``: zeros on the (left, right)."""
    n, c = x.shape[:2]
    c_out, c_g, k = w.shape
    cols = _im2col(x, k, stride, padding, dilation)  # (N, C, K, L_out)
    l_out = cols.shape[3]
    cols = cols.reshape(n, groups, c_g * k, l_out)
    out = w.reshape(groups, c_out // groups, c_g * k) @ cols  # (N, G, C_out/G, L_out)
    out = out.reshape(n, c_out, l_out)
    return out if b is None else out + b[:, None]


def conv1d_backward(grad, x, w, stride, padding, dilation, groups, needs=(True, True)):
    """``(grad_x, grad_w)`` of :func:`conv1d` for the output gradient ``grad (N, C_out, L_out)``; None where
    ``needs`` says no. (The bias gradient is ``grad`` summed over N and L_out.)"""
    n, c, length = x.shape
    c_out, c_g, k = w.shape
    l_out = grad.shape[2]
    g = grad.reshape(n, groups, c_out // groups, l_out)
    grad_x = grad_w = None
    if needs[1]:
        cols = _im2col(x, k, stride, padding, dilation).reshape(n, groups, c_g * k, l_out)
        grad_w = (g @ cols.transpose(0, 1, 3, 2)).sum(axis=0).reshape(c_out, c_g, k)
    if needs[0]:
        wg = w.reshape(groups, c_out // groups, c_g * k)
        grad_cols = (wg.transpose(0, 2, 1) @ g).reshape(n, c, k, l_out)
        grad_x = col2im(grad_cols, length, stride, padding, dilation)
    return grad_x, grad_w


def im2col(x, k, stride, padding, dilation):
    """``cols (N, C, K, L_out)`` of ``x (N, C, L)``: every receptive field laid out as a column."""
    return _im2col(x, k, stride, padding, dilation)


def col2im(cols, length, stride, padding, dilation):
    """The adjoint of :func:`im2col`: each tap's column added back where it was read, padding cut off."""
    n, c, k, l_out = cols.shape
    xpad = array_module(cols).zeros((n, c, padding[0] + length + padding[1]), cols.dtype)
    for j in range(k):
        xpad[:, :, _taps(j, l_out, stride, dilation)] += cols[:, :, j]
    return xpad[:, :, padding[0] : padding[0] + length]
