"""Recorded forms of the 2-d window functions (``B.im2col_2d``, ``B.col2im_2d``, ``B.pad``), for ``create_graph``.

Convolutions and pools are built from these three array functions (:mod:`minigrad.ops.vision`). All three
are linear in the image (``pad`` up to the constant it fills in), so each is recorded as a
:class:`~.recorded.LinearMap` with its adjoint: im2col's adjoint is col2im and col2im's is im2col; padding's
adjoint cuts the padding off again. A LinearMap's own backward is a LinearMap again, so every order of
derivative through them is exact. Registered into :data:`.recorded.RECORDED` on import.

:func:`with_saved` serves ops whose forward saved only their inputs (conv2d, conv_transpose2d) or only
constant indices (a max pool's positions): their recorded backward needs no second run of forward.
"""

from __future__ import annotations

import copy

import numpy as np

from ..compute import B
from ..tensor import Tensor
from .recorded import LinearMap, NotRecordable, Traced, traced
from .recorded_forms import RECORDED, _t


def _im2col_map(kernel, stride, dilation, out_hw, size) -> LinearMap:
    """``x (N, C, *size) -> columns (N, C, kh, kw, Ho, Wo)``, whose adjoint sums the columns back (col2im)."""
    kernel, stride, dilation, out_hw, size = (
        tuple(int(v) for v in a) for a in (kernel, stride, dilation, out_hw, size)
    )
    return LinearMap(
        lambda a: B.im2col_2d(a, kernel, stride, dilation, out_hw),
        lambda g: B.col2im_2d(g, size, stride, dilation),
        "Im2Col2d",
    )


def _im2col_2d(x, kernel, stride, dilation, out_hw):
    return Traced(_im2col_map(kernel, stride, dilation, out_hw, x.shape[2:])(_t(x)))


def _col2im_2d(cols, size, stride, dilation):
    kernel, out_hw = cols.shape[2:4], cols.shape[4:6]
    return Traced(_im2col_map(kernel, stride, dilation, out_hw, size).transposed("Col2Im2d")(_t(cols)))


def _pad(x, pad_width, mode="constant", constant_values=0, **kwargs):
    """NumPy's constant ``pad`` of a recorded ``x``: the zero-padded image (a LinearMap whose adjoint cuts the
    padding off), plus the constant fill where it is not zero (``-inf`` for a max pool: no gradient reaches it)."""
    if mode != "constant" or kwargs or np.ndim(constant_values) != 0:
        raise NotRecordable(f"B.pad is recorded for a single constant fill only (got mode={mode!r})")
    t = _t(x)
    widths = tuple(tuple(int(v) for v in row) for row in np.broadcast_to(np.asarray(pad_width), (t.ndim, 2)))
    inside = tuple(slice(before, before + n) for (before, _), n in zip(widths, t.shape))
    padded = LinearMap(lambda a: B.pad(a, widths), lambda g: g[inside], "ConstantPad")(t)
    if constant_values == 0:
        return Traced(padded)
    fill = B.pad(B.zeros(tuple(t.shape), t.array.dtype, like=t.array), widths, constant_values=constant_values)
    return Traced(padded + Tensor._make(fill))


def with_saved(node, inputs=(), **saved):
    """For ``recorded_twin``: a copy of ``node`` whose attributes ``saved`` (name: input index) hold the
    recorded inputs. For ops whose forward kept the inputs themselves and nothing computed from them, this
    is all a recorded backward needs, without running forward again."""
    twin = copy.copy(node)
    for name, i in saved.items():
        setattr(twin, name, traced(inputs[i]))
    return twin


RECORDED.update({"im2col_2d": _im2col_2d, "col2im_2d": _col2im_2d, "pad": _pad})
