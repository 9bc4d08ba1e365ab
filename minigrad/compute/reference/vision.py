"""im2col and col2im for 2-d windows: the two array functions every 2-d convolution and pool is built on.

``im2col_2d`` lays out every window of a (padded) image as a column, so a convolution becomes one matrix
product and a pool one reduction; ``col2im_2d`` is its adjoint (the transpose of that linear map): it adds
each column entry back at the pixel it was read from, which is how gradients flow back to the image.
Both loop over the ``kh * kw`` taps of the kernel, each tap one strided slice for every window at once
(chainer's ``utils/conv.py`` does the same).
"""

from __future__ import annotations

from .arrays import array_module

__all__ = ["im2col_2d", "col2im_2d"]


def _tap(i, j, out_hw, stride, dilation):
    """The slices that select, for every window, the pixel under tap ``(i, j)``."""
    (ho, wo), (sh, sw), (dh, dw) = out_hw, stride, dilation
    return slice(i * dh, i * dh + sh * (ho - 1) + 1, sh), slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)


def im2col_2d(x, kernel, stride, dilation, out_hw):
    """``cols[n, c, i, j, y, x] = x[n, c, y*sh + i*dh, x*sw + j*dw]``: shape ``(N, C, kh, kw, Ho, Wo)``.

    ``x`` ``(N, C, H, W)`` is already padded; ``out_hw`` is the number of windows ``(Ho, Wo)``.
    """
    kh, kw = kernel
    n, c = x.shape[:2]
    cols = array_module(x).empty((n, c, kh, kw, *out_hw), x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = x[(..., *_tap(i, j, out_hw, stride, dilation))]
    return cols


def col2im_2d(cols, size, stride, dilation):
    """The adjoint of :func:`im2col_2d`: ``(N, C, kh, kw, Ho, Wo)`` columns summed back into ``(N, C, *size)``."""
    n, c, kh, kw, ho, wo = cols.shape
    x = array_module(cols).zeros((n, c, *size), cols.dtype)
    for i in range(kh):
        for j in range(kw):
            x[(..., *_tap(i, j, (ho, wo), stride, dilation))] += cols[:, :, i, j]
    return x
