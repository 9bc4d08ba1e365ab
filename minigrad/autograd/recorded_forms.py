"""The recorded forms of ``B``'s names: each array function a backward formula calls, over minigrad's ops.

While a node's backward is recorded (:func:`minigrad.autograd.recorded.recording`), ``B.<name>`` called with a
:class:`~minigrad.autograd.recorded.Traced` argument runs ``RECORDED[name]`` instead of the array function: the
same mathematics, written with minigrad's differentiable ops, so that the result has a graph. This is the
third implementation of ``B`` (beside the reference and fast backends), one function per name. Linear maps
that have an array adjoint (im2col and col2im) are :class:`~minigrad.autograd.recorded.LinearMap` nodes,
exact to any order; :mod:`.recorded_vision` adds the 2-d ones.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import get_array_module
from ..tensor import Tensor
from .recorded import (
    LinearMap,
    NotRecordable,
    Traced,
    _array,
    _binary,
    _mg,
    _reduce,
    _tensor,
    _view,
)

# ------------------------------------------------------------------- the recorded forms of B's names
_t = _tensor  # a Traced's tensor, an array as a constant tensor, a number as it is


def _where(cond, x, y=None):
    mg = _mg()
    return Traced(
        mg.where(Tensor._make(np.asarray(_array(cond)) if not hasattr(cond, "shape") else _array(cond)), _t(x), _t(y))
    )


def _clip(x, lo, hi, out=None):
    return Traced(_mg().clamp(_t(x), None if lo is None else _t(lo), None if hi is None else _t(hi)))


def _moveaxis(x, src, dst):
    return _view(_mg().movedim(_t(x), src, dst))


def _expand_dims(x, axis):
    t = _t(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in sorted(a % (t.ndim + len(axes)) for a in axes):
        t = t.unsqueeze(a)
    return _view(t)


def _broadcast_to(x, shape):
    return _view(_mg().broadcast_to(_t(x), tuple(shape)))


def _flip(x, axis=None):
    t = _t(x)
    dims = tuple(range(t.ndim)) if axis is None else ((axis,) if isinstance(axis, int) else tuple(axis))
    return Traced(_mg().flip(t, dims))


def _concatenate(seq, axis=0):
    return Traced(_mg().cat([_t(s) for s in seq], axis))


def _einsum(subscripts, *operands, **kwargs):
    return Traced(_mg().einsum(subscripts, *[_t(o) for o in operands]))


def _accurate(how):
    def call(x, axes, keepdims=False):
        return Traced(_reduce(_t(x), how, axes, keepdims))

    return call


def _linear(x, w, b):
    y = _mg().matmul(_t(x), _t(w).transpose(-1, -2))
    return Traced(y if b is None else y + _t(b))


def _linear_backward(grad, x, w, needs):
    g, xt, wt = _t(grad), _t(x), _t(w)
    gx = _mg().matmul(g, wt) if needs[0] else None
    g2, x2 = _rows(g), _rows(xt)
    gw = _mg().matmul(g2.transpose(0, 1), x2) if needs[1] else None
    gb = g2.sum(0) if len(needs) > 2 and needs[2] else None
    return tuple(None if v is None else Traced(v) for v in (gx, gw, gb))


def _rows(t):
    """``t`` as a matrix of its last dim's rows (also when some dim is 0)."""
    return t.reshape(math.prod(t.shape[:-1]), t.shape[-1])


def _relu_backward(grad, out):
    return Traced(_mg().where(Tensor._make(_array(out) > 0), _t(grad), 0.0))


def _shared_matrix_grad(a, grad):
    a, g = _t(a), _t(grad)
    a2, g2 = _rows(a), _rows(g)
    return Traced(_mg().matmul(a2.transpose(0, 1), g2))


def _arithmetic(name):
    """NumPy's ``add``, ``multiply``, ... as the Traced operator of the same name (see ``_binary``)."""
    return lambda a, b: _binary(name, a, b)


def _mul_like(a, b, like):
    return _binary("mul", a, b)  # ``like`` is only a memory layout


def _unary(name):
    def call(x, *args, **kwargs):
        kwargs.pop("out", None)
        return Traced(getattr(_mg(), name)(_t(x), *args, **kwargs))

    return call


def _tril(x, k=0):
    return Traced(_mg().tril(_t(x), k))


def _triu(x, k=0):
    return Traced(_mg().triu(_t(x), k))


def _diagonal(x, offset=0, axis1=0, axis2=1):
    return _view(_mg().diagonal(_t(x), offset, axis1, axis2))


def _swapaxes(x, a, b):
    return _view(_t(x).transpose(a, b))


def _roll(x, shift, axis=None):
    return Traced(_mg().roll(_t(x), shift, axis))


def _square(x):
    return Traced(_t(x) * _t(x))


def _negative(x):
    return Traced(-_t(x))


def _reciprocal(x):
    return Traced(_mg().reciprocal(_t(x)))


def _sum(x, axis=None, keepdims=False, dtype=None):
    return Traced(_reduce(_t(x), "sum", axis, keepdims, dtype))


RECORDED: dict = {
    **{name: _arithmetic(op) for name, op in (("add", "add"), ("sub", "sub"), ("subtract", "sub"))},
    **{name: _arithmetic(op) for name, op in (("mul", "mul"), ("multiply", "mul"), ("matmul", "matmul"))},
    **{name: _arithmetic("div") for name in ("div", "divide", "true_divide")},
    "power": _arithmetic("pow"),
    "mul_like": _mul_like,
    "negative": _negative,
    "reciprocal": _reciprocal,
    "square": _square,
    "where": _where,
    "clip": _clip,
    "moveaxis": _moveaxis,
    "expand_dims": _expand_dims,
    "broadcast_to": _broadcast_to,
    "flip": _flip,
    "concatenate": _concatenate,
    "einsum": _einsum,
    "accurate_sum": _accurate("sum"),
    "accurate_mean": _accurate("mean"),
    "sum": _sum,
    "linear": _linear,
    "linear_backward": _linear_backward,
    "relu_backward": _relu_backward,
    "shared_matrix_grad": _shared_matrix_grad,
    "broadcast_gradient": _broadcast_to,  # a read-only view, as the reference backend's
    "tril": _tril,
    "triu": _triu,
    "diagonal": _diagonal,
    "swapaxes": _swapaxes,
    "roll": _roll,
    "relu": _unary("relu"),
    **{
        name: _unary(name)
        for name in (
            "exp",
            "log",
            "sqrt",
            "sin",
            "cos",
            "tan",
            "tanh",
            "abs",
            "sign",
            "floor",
            "ceil",
            "log1p",
            "expm1",
            "erf",
            "sinh",
            "cosh",
            "arcsin",
            "arccos",
            "arctan",
            "sigmoid",
        )
    },
}


def _take(x, index, axis=None):
    t, idx = _t(x), _t(index)
    if axis is None:
        return Traced(t.reshape(-1)[idx])
    return Traced(t[(slice(None),) * (axis % t.ndim) + (idx,)])


def _take_along_axis(x, index, axis):
    t, idx = _t(x), _t(index)
    shape = [max(a, b) for a, b in zip(t.shape, idx.shape)]
    shape[axis] = idx.shape[axis]
    return Traced(_mg().gather(t, axis, idx.expand(*shape)))


def _add_at(a, index, values):
    """``a[index] += values`` with repeats adding up, into a writable Traced buffer: index_add along one dim
    (``(:, ..., :, idx)`` with a 1-d ``idx``) or index_put with accumulation (an index of arrays only)."""
    if not isinstance(a, Traced) or not a.writable:
        raise NotRecordable("B.add_at wrote into a view, or wrote a recorded value into a plain array")
    index = index if isinstance(index, tuple) else (index,)
    *lead, last = index
    if (
        all(isinstance(i, slice) and i == slice(None) for i in lead)
        and not isinstance(last, slice)
        and getattr(last, "ndim", 0) <= 1
    ):
        a.t = a.t.index_add(len(lead), _t(last).reshape(-1), _t(values))
    elif not any(isinstance(i, slice) for i in index):
        a.t = a.t.index_put(tuple(_t(i) for i in index), _t(values), accumulate=True)
    else:
        raise NotRecordable("B.add_at with this index has no recorded form")


def _tile(x, reps):
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    return Traced(_t(x).tile(reps))


def _stack(seq, axis=0):
    return Traced(_mg().stack([_t(s) for s in seq], axis))


def _cum(name):
    def call(x, axis=None, **kwargs):
        t = _t(x)
        return Traced(getattr(t.reshape(-1) if axis is None else t, name)(0 if axis is None else axis))

    return call


def _pair(name):
    """A binary minigrad function that wants two tensors: a number becomes a tensor like the other."""

    def call(a, b):
        a, b = _t(a), _t(b)
        if not isinstance(a, Tensor):
            a = _mg().full((), a, dtype=b.dtype)
        if not isinstance(b, Tensor):
            b = _mg().full((), b, dtype=a.dtype)
        return Traced(getattr(_mg(), name)(a, b))

    return call


def _columns_map(length, k, stride, padding, dilation, adjoint=False):
    """im2col of an ``(N, C, length)`` input as a LinearMap with col2im as its adjoint (or, ``adjoint``, the
    reverse): each is the other's backward, so both are exact to any order."""
    from ..compute.reference import conv

    def im2col(a):
        return conv.im2col(a, k, stride, padding, dilation)

    def col2im(c):
        return conv.col2im(c, length, stride, padding, dilation)

    columns = LinearMap(im2col, col2im, "Im2Col")
    return columns.transposed("Col2Im") if adjoint else columns


def _conv_columns(x, k, stride, padding, dilation):
    """im2col of a recorded ``x (N, C, L)``."""
    return _columns_map(x.shape[2], k, stride, padding, dilation)(x)


def _conv1d(x, w, b, stride, padding, dilation, groups):
    x, w = _t(x), _t(w)
    n, (c_out, c_g, k) = x.shape[0], w.shape
    cols = _conv_columns(x, k, stride, padding, dilation)
    l_out = cols.shape[3]
    out = w.reshape(groups, c_out // groups, c_g * k) @ cols.reshape(n, groups, c_g * k, l_out)
    out = out.reshape(n, c_out, l_out)
    return Traced(out if b is None else out + _t(b).reshape(-1, 1))


def _conv1d_backward(grad, x, w, stride, padding, dilation, groups, needs=(True, True)):
    g, x, w = _t(grad), _t(x), _t(w)
    (n, c, length), (c_out, c_g, k) = x.shape, w.shape
    l_out = g.shape[2]
    g4 = g.reshape(n, groups, c_out // groups, l_out)
    gx = gw = None
    if needs[1]:
        cols = _conv_columns(x, k, stride, padding, dilation).reshape(n, groups, c_g * k, l_out)
        gw = Traced((g4 @ cols.transpose(-1, -2)).sum(0).reshape(c_out, c_g, k))
    if needs[0]:
        wg = w.reshape(groups, c_out // groups, c_g * k)
        cols_grad = (wg.transpose(-1, -2) @ g4).reshape(n, c, k, l_out)
        gx = Traced(_columns_map(length, k, stride, padding, dilation, adjoint=True)(cols_grad))
    return gx, gw


def _shifted_exp_rows(x):
    """``(z, e, s)`` of rows shifted by their max; the shift is a constant (what uses it does not depend on it)."""
    x = _t(x)
    top = x.array.max(axis=1, keepdims=True)
    top = get_array_module(top).where(get_array_module(top).isfinite(top), top, 0)  # as the array version
    z = x - Tensor._make(top)
    e = z.exp()
    return Traced(z), Traced(e), Traced(e.sum(1, keepdim=True))


def _linalg(name):
    def call(*args):
        return Traced(getattr(_mg().linalg, name)(*[_t(a) for a in args]))

    return call


RECORDED.update(
    {
        "arcsin": _unary("asin"),
        "arccos": _unary("acos"),
        "arctan": _unary("atan"),
        "arcsinh": _unary("asinh"),
        "arccosh": _unary("acosh"),
        "arctanh": _unary("atanh"),
        "log2": _unary("log2"),
        "log10": _unary("log10"),
        # NumPy's maximum with a number is torch.maximum with a tensor of it: a tie splits the gradient in half
        "maximum": _pair("maximum"),
        "minimum": _pair("minimum"),
        "arctan2": _pair("atan2"),
        "hypot": _pair("hypot"),
        "logaddexp": _pair("logaddexp"),
        "logaddexp2": _pair("logaddexp2"),
        "remainder": _pair("remainder"),
        "fmod": _pair("fmod"),
        "take": _take,
        "take_along_axis": _take_along_axis,
        "add_at": _add_at,
        "tile": _tile,
        "stack": _stack,
        "cumsum": _cum("cumsum"),
        "cumprod": _cum("cumprod"),
        "asarray": lambda x, *a, **k: x,
        "ascontiguousarray": lambda x, *a, **k: x,
        "conv1d": _conv1d,
        "conv1d_backward": _conv1d_backward,
        "shifted_exp_rows": _shifted_exp_rows,
        "inverse": _linalg("inv"),
        "determinant": _linalg("det"),
        "solve_linear": _linalg("solve"),
    }
)
