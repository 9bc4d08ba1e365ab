"""Sorting and selection: sort, argsort, topk, kthvalue, median, cummax / cummin, nonzero, unique.

Each of these finds *positions* (which element is the k-th smallest, where the running maximum was)
and then reads the values at those positions. Finding positions has no gradient; reading them is a
``gather``, whose gradient sends each upstream value back to the position it was read from (a
scatter-add). So the values these functions return are differentiable through ``take_along_dim``,
and their gradients agree with torch's, which routes them through the returned indices too.

Ties: sorts are stable (equal values keep their order; descending sorts keep it too), NaN counts as
larger than every number, as in torch.
"""

from __future__ import annotations

import operator
from collections import namedtuple

from .. import dtypes as _dt
from ..autograd.graph import Op
from ..compute import B
from ..tensor import Tensor
from ._util import normalize_dim
from .index import take_along_dim
from .registry import declare, exports

# what torch.return_types holds for these functions: named tuples (values, indices)
sort_result = namedtuple("sort", ["values", "indices"])
topk_result = namedtuple("topk", ["values", "indices"])
kthvalue_result = namedtuple("kthvalue", ["values", "indices"])
median_result = namedtuple("median", ["values", "indices"])
mode_result = namedtuple("mode", ["values", "indices"])
cummax_result = namedtuple("cummax", ["values", "indices"])
cummin_result = namedtuple("cummin", ["values", "indices"])


def _tensor(op: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    return x


def _long(array) -> Tensor:
    return Tensor._make(array.astype(_dt.int64.np))


def sort_order(a, axis: int, descending: bool):
    """The positions that sort ``a`` along ``axis`` (stable: ties keep their order, in both directions)."""
    if not descending:
        return B.argsort(a, axis=axis, kind="stable")
    # a stable ascending sort of the reversed array, read backwards, is a stable descending sort
    n = a.shape[axis]
    rev = B.argsort(B.flip(a, axis), axis=axis, kind="stable")
    return B.flip(n - 1 - rev, axis)


def _sort_indices(op: str, x: Tensor, dim, descending: bool):
    axis = normalize_dim(dim, x.ndim, op)
    if x.ndim == 0:
        return axis, B.zeros((), _dt.int64.np, like=x.array)
    return axis, sort_order(x.array, axis, descending).astype(_dt.int64.np)


@declare
def sort(input, dim=-1, descending=False, *, stable=False):
    """``(values, indices)``: ``input`` sorted along ``dim``; ``values == input.gather(dim, indices)``.
    The sort is always stable (equal values keep their order), so ``stable=True`` changes nothing."""
    x = _tensor("sort", input)
    if x.array.dtype.kind == "c":
        raise RuntimeError("sort(): complex tensors are not supported")
    _, idx = _sort_indices("sort", x, dim, descending)
    indices = Tensor._make(idx)
    return sort_result(take_along_dim(x, indices, dim if x.ndim else None).reshape(x.shape), indices)


@declare
def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim`` (int64)."""
    x = _tensor("argsort", input)
    return Tensor._make(_sort_indices("argsort", x, dim, descending)[1])


def _first_k(op: str, x: Tensor, k, dim, descending: bool, what: str):
    """The first ``k`` of ``x`` sorted along ``dim``: (values, indices)."""
    k = operator.index(k)
    axis = normalize_dim(dim, x.ndim, op)
    n = x.shape[axis] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"{op}(): {what} k out of range (k={k}, size of dimension {dim} is {n})")
    _, order = _sort_indices(op, x, axis, descending)
    if x.ndim == 0:
        return x.clone(), Tensor._make(order)
    idx = Tensor._make(B.take(order, B.arange(k, like=order), axis=axis))
    return take_along_dim(x, idx, axis), idx


@declare
def topk(input, k, dim=-1, largest=True, sorted=True):
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) elements along ``dim``."""
    x = _tensor("topk", input)
    values, indices = _first_k("topk", x, k, dim, largest, "selected index")
    return topk_result(values, indices)


def _select_kth(op: str, x: Tensor, k: int, dim, keepdim: bool):
    """The ``k``-th smallest (1-based) along ``dim``, with its index; ``keepdim`` keeps ``dim`` as size 1."""
    axis = normalize_dim(dim, x.ndim, op)
    n = x.shape[axis] if x.ndim else 1
    if not 1 <= k <= n:
        raise IndexError(f"{op}(): selected number k out of range for dimension {axis} (k={k}, size {n})")
    _, order = _sort_indices(op, x, axis, False)
    if x.ndim == 0:
        return x.clone(), Tensor._make(order)
    idx = B.take(order, B.asarray([k - 1], like=order), axis=axis)
    values = take_along_dim(x, Tensor._make(idx), axis)
    if keepdim:
        return values, Tensor._make(idx)
    return values.squeeze(axis), Tensor._make(idx.squeeze(axis))


@declare
def kthvalue(input, k, dim=-1, keepdim=False):
    """``(values, indices)``: the ``k``-th smallest element along ``dim`` (``k`` counts from 1)."""
    x = _tensor("kthvalue", input)
    values, indices = _select_kth("kthvalue", x, operator.index(k), dim, keepdim)
    return kthvalue_result(values, indices)


@declare
def mode(input, dim=-1, keepdim=False):
    """``(values, indices)``: the most frequent value along ``dim`` (the smallest of those tied in count) and
    the index of its last occurrence, as torch gives them; the gradient goes to that element."""
    x = _tensor("mode", input)
    if x.ndim == 0:
        return mode_result(x.clone(), Tensor._make(B.zeros((), B.int64, like=x.array)))
    axis = normalize_dim(dim, x.ndim, "mode")
    if x.shape[axis] == 0:
        raise IndexError(f"mode(): Expected reduction dim {axis} to have non-zero size.")
    if x.array.dtype.kind == "f" and bool(B.isnan(x.array).any()):
        raise NotImplementedError("mode(): minigrad does not pick a mode among NaNs (torch's choice there is its own)")
    idx = B.mode_index(x.array, axis)
    values = take_along_dim(x, Tensor._make(idx), axis)
    if keepdim:
        return mode_result(values, Tensor._make(idx))
    return mode_result(values.squeeze(axis), Tensor._make(idx.squeeze(axis)))


class MedianAll(Op):
    """The lower median of all elements (NaN if there is one); its gradient is shared equally among the
    elements equal to it, as torch does for the whole-tensor median."""

    def forward(self, x):
        flat = x.reshape(-1)
        order = B.argsort(flat, kind="stable")
        value = flat[order[(flat.size - 1) // 2]]
        if x.dtype.kind == "f" and B.isnan(flat).any():
            value = B.asarray(float("nan"), dtype=x.dtype, like=x)
        self.mask = (x == value) | (B.isnan(x) & B.isnan(value)) if x.dtype.kind == "f" else x == value
        return B.asarray(value, like=x)

    def backward(self, grad):
        return self.mask * (grad / self.mask.sum())


@declare
def median(input, dim=None, keepdim=False):
    """``median(x)``: the lower of the two middle values (NaN if ``x`` holds one).
    ``median(x, dim, keepdim=False)``: ``(values, indices)`` along ``dim``."""
    x = _tensor("median", input)
    if dim is None:
        if x.numel() == 0:  # NaN, or for integers the smallest value, as torch gives
            empty = float("nan") if x.array.dtype.kind == "f" else B.iinfo(x.array.dtype).min
            return Tensor._make(B.asarray(empty, dtype=x.array.dtype, like=x.array))
        return MedianAll()(x)
    axis = normalize_dim(dim, x.ndim, "median")
    n = x.shape[axis] if x.ndim else 1
    if n == 0:
        raise IndexError(f"median(): Expected reduction dim {axis} to have non-zero size.")
    k = (n - 1) // 2 + 1
    if x.array.dtype.kind == "f" and x.ndim and B.isnan(x.array).any():
        return median_result(*_median_with_nan(x, axis, k, keepdim))
    return median_result(*_select_kth("median", x, k, axis, keepdim))


def _median_with_nan(x: Tensor, axis: int, k: int, keepdim: bool):
    """Along ``axis``, a slice holding NaN has median NaN, at the first NaN's index."""
    a = x.array
    order = sort_order(a, axis, False)  # NaNs sort last, in their order
    nans = B.isnan(a).sum(axis=axis, keepdims=True)
    valid = a.shape[axis] - nans
    position = B.where(nans > 0, valid, k - 1)  # the first NaN in sorted order, else the k-th value
    idx = B.take_along_axis(order, position, axis=axis).astype(_dt.int64.np)
    values = take_along_dim(x, Tensor._make(idx), axis)
    if keepdim:
        return values, Tensor._make(idx)
    return values.squeeze(axis), Tensor._make(idx.squeeze(axis))


def _running_extreme(op: str, x: Tensor, dim, largest: bool):
    """Running max (min) along ``dim`` and the index where it was reached: on ties the latest index
    (torch compares with >=), and a NaN, once seen, stays the running value."""
    axis = normalize_dim(dim, x.ndim, op)
    if x.ndim == 0:
        return x.clone(), Tensor._make(B.zeros((), _dt.int64.np, like=x.array))
    a = x.array
    running = (B.running_max(a, axis) if largest else B.running_min(a, axis)) if a.shape[axis] else a
    reached = a == running
    if a.dtype.kind == "f":
        reached |= B.isnan(a)
    shape = [1] * a.ndim
    shape[axis] = -1
    positions = B.arange(a.shape[axis], like=a).reshape(shape)
    hits = B.where(reached, positions, 0)
    idx = (B.running_max(hits, axis) if a.shape[axis] else hits).astype(_dt.int64.np)
    indices = Tensor._make(idx)
    return take_along_dim(x, indices, axis), indices


@declare
def cummax(input, dim):
    """``(values, indices)``: the running maximum along ``dim`` and where it was reached."""
    return cummax_result(*_running_extreme("cummax", _tensor("cummax", input), dim, True))


@declare
def cummin(input, dim):
    """``(values, indices)``: the running minimum along ``dim`` and where it was reached."""
    return cummin_result(*_running_extreme("cummin", _tensor("cummin", input), dim, False))


@declare
def nonzero(input, *, as_tuple=False):
    """The indices of the non-zero elements: an ``(n, ndim)`` int64 tensor, or (``as_tuple=True``) one
    1-d tensor per dimension, like NumPy's ``nonzero``."""
    x = _tensor("nonzero", input)
    a = x.array
    if as_tuple:
        if a.ndim == 0:
            return (_long(B.nonzero(a.reshape(1))[0]),)
        return tuple(_long(i) for i in B.nonzero(a))
    if a.ndim == 0:
        return _long(B.zeros((int(bool(a)), 0), _dt.int64.np, like=a))
    return _long(B.argwhere(a))


@declare
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values of ``input`` (sorted), optionally with ``inverse`` indices (the position of each
    element's value among them, shaped like ``input``) and their ``counts``. Not differentiable."""
    x = _tensor("unique", input)
    if dim is not None:
        raise NotImplementedError("unique(dim=...) is not implemented in minigrad; flatten or use dim=None")
    values, inverse, counts = B.unique(x.array.reshape(-1), return_inverse=True, return_counts=True)
    out = [Tensor._make(values)]
    if return_inverse:
        out.append(_long(inverse.reshape(x.shape)))
    if return_counts:
        out.append(_long(counts))
    return out[0] if len(out) == 1 else tuple(out)


__all__ = exports(__name__)
