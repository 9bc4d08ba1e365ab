"""Fast arithmetic: long NumPy operands on several threads, results laid out in memory like an input.

Long operands are computed in slabs of the leading axis, one per thread (:mod:`.parallel`). A result
laid out like its input matters too: a gradient laid out like its input (a convolution's channels-last
output, say) keeps the next backward steps on same-layout operands. Small operands skip both: deciding
costs more than it saves.
"""

from __future__ import annotations

import operator

import numpy as np

from ... import backend
from . import kernels, parallel

__all__ = ["add", "sub", "mul", "div", "mul_like"]

_OPERATOR = {"add": operator.add, "subtract": operator.sub, "multiply": operator.mul, "true_divide": operator.truediv}


def _slab(x, nd: int, i: int, j: int):
    """Rows ``i..j`` of ``x``'s leading axis once ``x`` is broadcast to ``nd`` dims (all of ``x`` when
    it broadcasts along that axis)."""
    return x if x.ndim < nd or x.shape[0] == 1 else x[i:j]


def _ufunc(name: str, a, b, like=None):
    """``a <op> b`` for the arithmetic ufunc ``name``, laid out in memory like ``like`` (default: the
    operand of the result's shape, as NumPy does)."""
    if a.size < kernels.SMALL and b.size < kernels.SMALL:
        return _OPERATOR[name](a, b)  # small: neither threads nor layout pay for deciding about them
    xp = backend.get_array_module(a)
    fn = getattr(xp, name)
    shape = a.shape if a.shape == b.shape else np.broadcast_shapes(a.shape, b.shape)
    if like is None or like.shape != shape:
        like = a if a.shape == shape else b if b.shape == shape else None
    if not (type(a) is np.ndarray and type(b) is np.ndarray and parallel.worth_it(max(a.size, b.size))):
        if like is None or (like.flags.c_contiguous and a.flags.c_contiguous and b.flags.c_contiguous):
            return fn(a, b)  # NumPy's own choice is the one asked for
        return fn(a, b, out=xp.empty_like(like, dtype=xp.result_type(a, b)))
    dtype = np.result_type(a, b)
    out = np.empty(shape, dtype) if like is None else np.empty_like(like, dtype=dtype)
    if not shape or shape[0] < 2:
        return fn(a, b, out=out)
    nd = len(shape)
    parallel.rows(lambda i, j: fn(_slab(a, nd, i, j), _slab(b, nd, i, j), out=out[i:j]), shape[0])
    return out


def add(a, b):
    return _ufunc("add", a, b)


def sub(a, b):
    return _ufunc("subtract", a, b)


def mul(a, b):
    return _ufunc("multiply", a, b)


def div(a, b):
    return _ufunc("true_divide", a, b)


def mul_like(a, b, like):
    return _ufunc("multiply", a, b, like)
