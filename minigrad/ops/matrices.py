"""Matrix-shaped ops: triangles and diagonals, trace, roll, repeats and tiles, running products, sliding
windows (``Tensor.unfold``), indexed adds and writes, fused ``beta * input + alpha * (A @ B)``, and cdist.

Most of them move elements without changing them, so their gradient moves the upstream gradient back:
``tril``'s gradient is the ``tril`` of the gradient, ``diagonal``'s writes the gradient onto the diagonal
of zeros, ``roll``'s rolls it the other way. Several are built from ops that already have a gradient
(``index_select``, ``repeat``, ``mm``, ``norm``) where that composition is exact.
"""

from __future__ import annotations

import numbers
import operator

from .. import dtypes as _dt
from ..autograd.graph import Op
from ..compute import B
from ..tensor import Tensor
from ._util import check_same_device, normalize_dim
from .index import index_select
from .registry import declare, exports


def _tensor(op: str, x, name: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")
    return x


def _long(array) -> Tensor:
    return Tensor._make(array.astype(_dt.int64.np))


def _all_true(like: Tensor) -> Tensor:
    return Tensor._make(B.ones((), bool, like=like.array))


# ------------------------------------------------------------------ triangles
class Triangle(Op):
    """The lower (``tril``) or upper (``triu``) triangle of the last two dims; the rest set to zero."""

    linear = True  # create_graph records its backward as a LinearMap

    saved = ()  # backward reads no input

    def __init__(self, lower: bool, diagonal: int):
        self.lower, self.diagonal = lower, diagonal

    def forward(self, x):
        return B.tril(x, self.diagonal) if self.lower else B.triu(x, self.diagonal)

    def backward(self, grad):
        return B.tril(grad, self.diagonal) if self.lower else B.triu(grad, self.diagonal)


def _triangle(op: str, input, diagonal, lower: bool):
    x = _tensor(op, input)
    if x.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions")
    return Triangle(lower, operator.index(diagonal))(x)


@declare(inplace=True, keep_input=False)
def tril(input, diagonal=0):
    """The lower triangle of the (batched) matrix: ``out[i, j] = x[i, j]`` where ``j - i <= diagonal``."""
    return _triangle("tril", input, diagonal, True)


@declare(inplace=True, keep_input=False)
def triu(input, diagonal=0):
    """The upper triangle: ``out[i, j] = x[i, j]`` where ``j - i >= diagonal``, else 0."""
    return _triangle("triu", input, diagonal, False)


# ------------------------------------------------------------------ diagonals
def _diagonal_positions(n_rows: int, n_cols: int, offset: int, like):
    """Row and column indices of the ``offset`` diagonal of an ``n_rows x n_cols`` matrix."""
    length = max(0, min(n_rows + min(offset, 0), n_cols - max(offset, 0)))
    k = B.arange(length, like=like)
    return k - min(offset, 0), k + max(offset, 0)


class Diagonal(Op):
    """The ``offset`` diagonal of the planes spanned by ``dim1`` and ``dim2``, as the last dim."""

    linear = True  # create_graph records its backward as a LinearMap

    saved = ()  # backward reads no input

    def __init__(self, offset: int, dim1: int, dim2: int):
        self.offset, self.dim1, self.dim2 = offset, dim1, dim2

    def forward(self, x):
        self.shape = x.shape
        return B.diagonal(x, self.offset, self.dim1, self.dim2).copy()

    def backward(self, grad):
        out = B.zeros(self.shape, grad.dtype, like=grad)
        planes = B.moveaxis(out, (self.dim1, self.dim2), (-2, -1))  # a view: writing it writes ``out``
        rows, cols = _diagonal_positions(planes.shape[-2], planes.shape[-1], self.offset, grad)
        planes[..., rows, cols] = grad
        return out


class DiagEmbed(Op):
    """Each last-dim vector of ``x`` put on the ``offset`` diagonal of a new matrix in dims ``dim1, dim2``."""

    linear = True  # create_graph records its backward as a LinearMap

    saved = ()  # backward reads no input

    def __init__(self, offset: int, dim1: int, dim2: int):
        self.offset, self.dim1, self.dim2 = offset, dim1, dim2

    def forward(self, x):
        n = x.shape[-1] + abs(self.offset)
        planes = B.zeros((*x.shape[:-1], n, n), x.dtype, like=x)
        rows, cols = _diagonal_positions(n, n, self.offset, x)
        planes[..., rows, cols] = x
        return B.moveaxis(planes, (-2, -1), (self.dim1, self.dim2))

    def backward(self, grad):
        return B.diagonal(grad, self.offset, self.dim1, self.dim2).copy()


@declare
def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of ``input`` in the plane of ``dim1`` and ``dim2`` (shifted by ``offset``), as the last dim."""
    x = _tensor("diagonal", input)
    d1, d2 = normalize_dim(dim1, x.ndim, "diagonal"), normalize_dim(dim2, x.ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal(operator.index(offset), d1, d2)(x)


@declare
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """A tensor whose ``(dim1, dim2)`` planes carry the last dim of ``input`` on their ``offset`` diagonal."""
    x = _tensor("diag_embed", input)
    d1, d2 = normalize_dim(dim1, x.ndim + 1, "diag_embed"), normalize_dim(dim2, x.ndim + 1, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return DiagEmbed(operator.index(offset), d1, d2)(x)


@declare
def diag(input, diagonal=0):
    """A 1-d ``input`` as the ``diagonal``-th diagonal of a square matrix; a 2-d one's diagonal as a vector."""
    x = _tensor("diag", input)
    if x.ndim == 1:
        return DiagEmbed(operator.index(diagonal), 0, 1)(x)
    if x.ndim == 2:
        return Diagonal(operator.index(diagonal), 0, 1)(x)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x.ndim}D")


@declare
def trace(input):
    """The sum of the main diagonal of a 2-d tensor (integers sum in int64)."""
    x = _tensor("trace", input)
    if x.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {x.ndim}")
    return diagonal(x).sum()


# ------------------------------------------------------------------ roll, repeat_interleave, tile
class Roll(Op):
    """Elements shifted along ``dims`` by ``shifts``, wrapping around; the gradient is rolled back."""

    linear = True  # create_graph records its backward as a LinearMap

    saved = ()  # backward reads no input

    def __init__(self, shifts, dims):
        self.shifts, self.dims = shifts, dims

    def forward(self, x):
        return B.roll(x, self.shifts, self.dims)

    def backward(self, grad):
        back = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return B.roll(grad, back, self.dims)


def _int_tuple(v) -> tuple:
    return (operator.index(v),) if isinstance(v, numbers.Integral) else tuple(operator.index(i) for i in v)


@declare
def roll(input, shifts, dims=None):
    """Shift the elements along ``dims`` by ``shifts`` (wrapping around); with no ``dims``, of the flattened
    tensor (the shape is kept)."""
    x = _tensor("roll", input)
    shifts = _int_tuple(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims: 0")
        return Roll(shifts[0], None)(x)
    dims = _int_tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    return Roll(shifts, tuple(normalize_dim(d, x.ndim, "roll") for d in dims))(x)


@declare
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each element (or slice along ``dim``) repeated ``repeats`` times in place: ``[a, b] -> [a, a, b, b]``.
    ``repeat_interleave(counts)`` of a 1-d integer tensor gives ``[0]*counts[0] + [1]*counts[1] + ...``."""
    x = _tensor("repeat_interleave", input)
    if repeats is None:  # torch.repeat_interleave(repeats): the positions, each repeated
        counts = x.array
        return _long(B.repeat(B.arange(counts.shape[0], like=counts), counts.tolist()))
    if dim is None:
        x, dim = x.reshape(-1), 0
    axis = normalize_dim(dim, x.ndim, "repeat_interleave")
    n = x.shape[axis] if x.ndim else 1
    # a list of counts (CuPy's repeat takes no array), one per slice, or one count for all
    counts = repeats.array.reshape(-1).tolist() if isinstance(repeats, Tensor) else operator.index(repeats)
    if isinstance(counts, list) and len(counts) == 1:
        counts = counts[0]
    if isinstance(counts, list) and len(counts) != n:
        raise RuntimeError("repeats must have the same size as input along dim")
    if min(counts) < 0 if isinstance(counts, list) else counts < 0:
        raise RuntimeError("repeats can not be negative")
    # which input slice each output slice copies: the index_select gathers (and its gradient sums) them
    positions = B.repeat(B.arange(n, like=x.array), counts)
    return index_select(x if x.ndim else x.reshape(1), axis, _long(positions))


@declare
def tile(input, dims):
    """``input`` repeated ``dims[i]`` times along each dim; missing leading entries of ``dims`` count as 1."""
    x = _tensor("tile", input)
    dims = _int_tuple(dims)
    dims = (1,) * (x.ndim - len(dims)) + dims
    return x.repeat(*dims)


# ------------------------------------------------------------------ cumprod
class CumProd(Op):
    """``out[i] = x[0] * ... * x[i]`` along ``axis``.

    Gradient: ``dx_k = sum_{i >= k} g_i * out_i / x_k``. Without zeros that is a reversed running sum of
    ``g * out`` divided by ``x``; with zeros (division impossible) each ``dx_k`` is
    ``prod(x[:k]) * S_k`` with ``S_k = g_k + x_{k+1} S_{k+1}``, a recurrence run from the end."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        self.x = x
        self.out = x.cumprod(axis=self.axis)
        return self.out

    def backward(self, grad):
        x, ax = self.x, self.axis
        if not (x == 0).any():
            return B.flip(B.flip(grad * self.out, ax).cumsum(axis=ax), ax) / x
        xs, gs = B.moveaxis(x, ax, 0), B.moveaxis(grad, ax, 0)
        before = B.concatenate([B.ones_like(xs[:1]), xs[:-1]]).cumprod(axis=0)  # prod(x[:k])
        s = B.zeros(gs.shape, gs.dtype, like=xs)  # like x: recorded when x is (create_graph)
        s[-1] = gs[-1]
        for k in range(xs.shape[0] - 2, -1, -1):
            s[k] = gs[k] + xs[k + 1] * s[k + 1]
        return B.moveaxis(before * s, 0, ax)


@declare(inplace=True)
def cumprod(input, dim, *, dtype=None):
    """Running product along ``dim``; bool and integers multiply in int64 (``dtype=`` chooses)."""
    x = _tensor("cumprod", input)
    if dtype is not None:
        x = x.to(dtype)
    elif x.array.dtype.kind in "biu":
        x = x.to(_dt.int64)
    axis = normalize_dim(dim, x.ndim, "cumprod")
    if x.ndim == 0:
        return x.clone()
    return CumProd(axis)(x)


# ------------------------------------------------------------------ sliding windows
@declare(method="unfold", top_level=False)
def unfold_windows(input, dimension, size, step):
    """``Tensor.unfold``: every slice of length ``size`` along ``dimension``, ``step`` apart, as a new last dim
    (the dim itself now counts the windows)."""
    x = _tensor("unfold", input)
    axis = normalize_dim(dimension, x.ndim, "unfold")
    n = x.shape[axis] if x.ndim else 1
    size, step = operator.index(size), operator.index(step)
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {axis} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if x.ndim == 0:
        return x.reshape(1)
    windows = (n - size) // step + 1
    starts = B.arange(windows, like=x.array)[:, None] * step
    positions = (starts + B.arange(size, like=x.array)).reshape(-1)
    picked = index_select(x, axis, _long(positions))  # the windows, one after another along ``axis``
    picked = picked.reshape(*x.shape[:axis], windows, size, *x.shape[axis + 1 :])
    return picked.movedim(axis + 1, -1)


# ------------------------------------------------------------------ index_add, index_put
class IndexAdd(Op):
    """``out = input``, then ``out[..., index[i], ...] += alpha * source[..., i, ...]`` along ``axis``."""

    linear = True  # create_graph records its backward as a LinearMap

    saved = ()  # backward reads no input

    def __init__(self, axis: int, index, alpha):
        self.axis, self.index, self.alpha = axis, index, alpha

    def forward(self, x, source):
        out = x.copy()
        src = source * self.alpha if self.alpha != 1 else source
        B.add_at(B.moveaxis(out, self.axis, 0), self.index, B.moveaxis(src, self.axis, 0).astype(x.dtype))
        return out

    def backward(self, grad):
        gx, gs = self.needs_input_grad
        g_source = B.take(grad, self.index, axis=self.axis) if gs else None
        if gs and self.alpha != 1:
            g_source = g_source * self.alpha
        return (grad if gx else None), g_source


@declare(inplace=True)
def index_add(input, dim, index, source, *, alpha=1):
    """A copy of ``input`` where ``source``'s slices along ``dim`` are added at positions ``index``
    (positions named twice add twice)."""
    x, source, index = _tensor("index_add", input), _tensor("index_add", source, "source"), _tensor("index_add", index)
    check_same_device("index_add", x, source, index)
    if index.array.dtype.kind not in "iu" or index.ndim > 1:
        raise IndexError("index_add_(): Expected a 1-d integer index tensor (int64 or int32)")
    if x.dtype is not source.dtype:
        raise RuntimeError(f"index_add_(): self ({x.dtype}) and source ({source.dtype}) must have the same scalar type")
    axis = normalize_dim(dim, x.ndim, "index_add")
    idx = index.array.reshape(-1)
    expected = tuple(len(idx) if d == axis else s for d, s in enumerate(x.shape))
    if x.ndim and tuple(source.shape) != expected:
        raise RuntimeError(
            f"index_add_(): source shape {tuple(source.shape)} must match self's {tuple(x.shape)} with "
            f"dim {axis} of size {len(idx)} (the number of indices)"
        )
    if idx.size and (idx.min() < -x.shape[axis] or idx.max() >= x.shape[axis]):
        raise IndexError(f"index_add_(): index out of range for dimension {axis} of size {x.shape[axis]}")
    if x.ndim == 0:
        return IndexAdd(0, idx, alpha)(x.reshape(1), source.reshape(1)).reshape(())
    return IndexAdd(axis, idx, alpha)(x, source)


class IndexPut(Op):
    """``out = input`` with ``out[indices] = values`` (or ``+= values`` with ``accumulate``)."""

    linear = True  # create_graph records its backward as a LinearMap

    saved = ()  # backward reads no input

    def __init__(self, indices: tuple, accumulate: bool):
        self.indices, self.accumulate = indices, accumulate

    def forward(self, x, values):
        out = x.copy()
        if self.accumulate:
            target_shape = out[self.indices].shape
            B.add_at(out, self.indices, B.broadcast_to(values, target_shape))
        else:
            out[self.indices] = values
        return out

    def backward(self, grad):
        gx, gv = self.needs_input_grad
        g_input = None
        if gx:
            g_input = grad
            if not self.accumulate:  # overwritten positions got nothing from ``input``
                g_input = grad.copy()
                g_input[self.indices] = 0
        return g_input, (grad[self.indices] if gv else None)


@declare(inplace=True)
def index_put(input, indices, values, accumulate=False):
    """A copy of ``input`` with ``input[indices] = values`` (``indices``: a tuple of integer or bool tensors);
    ``accumulate=True`` adds instead, each repeated position adding again."""
    x, values = _tensor("index_put", input), _tensor("index_put", values, "values")
    if not isinstance(indices, (tuple, list)) or not all(isinstance(i, Tensor) or i is None for i in indices):
        raise TypeError("index_put(): argument 'indices' must be tuple of Tensors")
    if x.dtype is not values.dtype:
        raise RuntimeError(
            f"Index put requires the source and destination dtypes match, got {x.dtype} for the destination "
            f"and {values.dtype} for the source."
        )
    check_same_device("index_put", x, values, *[i for i in indices if i is not None])
    key = tuple(slice(None) if i is None else i.array for i in indices)
    try:
        return IndexPut(key, bool(accumulate))(x, values)
    except IndexError as e:
        raise IndexError(f"index_put(): {e}") from None
    except ValueError as e:
        raise RuntimeError(
            f"index_put(): values of shape {tuple(values.shape)} do not fit the indexed shape: {e}"
        ) from None


# ------------------------------------------------------------------ beta * input + alpha * (A @ B)
def _check_rank(op: str, t: Tensor, ndim: int, what: str):
    if t.ndim != ndim:
        raise RuntimeError(f"{op}: {what} must be a {ndim}D tensor, got {t.ndim}D")


@declare(autocast="lower", inplace=True)
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)`` (``input`` broadcasts to the product's shape)."""
    x, m1, m2 = _tensor("addmm", input), _tensor("addmm", mat1, "mat1"), _tensor("addmm", mat2, "mat2")
    _check_rank("addmm", m1, 2, "mat1")
    _check_rank("addmm", m2, 2, "mat2")
    return _fused("addmm", x, m1.mm(m2), beta, alpha)


@declare(autocast="lower", inplace=True)
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * (batch1 @ batch2)`` for batches of matrices (3-d tensors)."""
    x, b1, b2 = _tensor("baddbmm", input), _tensor("baddbmm", batch1, "batch1"), _tensor("baddbmm", batch2, "batch2")
    _check_rank("baddbmm", b1, 3, "batch1")
    _check_rank("baddbmm", b2, 3, "batch2")
    return _fused("baddbmm", x, b1.bmm(b2), beta, alpha)


@declare(autocast="lower", inplace=True)
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat @ vec)`` for a matrix and a vector."""
    x, m, v = _tensor("addmv", input), _tensor("addmv", mat, "mat"), _tensor("addmv", vec, "vec")
    _check_rank("addmv", m, 2, "mat")
    _check_rank("addmv", v, 1, "vec")
    return _fused("addmv", x, m.matmul(v), beta, alpha)


def _fused(op: str, x: Tensor, product: Tensor, beta, alpha):
    """``beta * x + alpha * product``, ``x`` broadcast to the product; ``beta == 0`` ignores ``x`` (NaN too)."""
    if x.dtype is not product.dtype:
        raise RuntimeError(f"{op}: expected input ({x.dtype}) and the matrices ({product.dtype}) to have one dtype")
    try:
        shaped = x.broadcast_to(tuple(product.shape))
    except (RuntimeError, ValueError):
        raise RuntimeError(
            f"{op}: input of shape {tuple(x.shape)} does not broadcast to the product's shape {tuple(product.shape)}"
        ) from None
    scaled = product if alpha == 1 else product * alpha
    if beta == 0:
        # ``input`` still gets a (zero) gradient, as in torch
        return scaled + shaped.masked_fill(_all_true(shaped), 0)
    return (shaped if beta == 1 else shaped * beta) + scaled


# ------------------------------------------------------------------ cdist
@declare(method=False)
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """``out[..., i, j] = ||x1[..., i, :] - x2[..., j, :]||_p``: the distances between two sets of row vectors."""
    a, b = _tensor("cdist", x1, "x1"), _tensor("cdist", x2, "x2")
    if a.ndim < 2 or b.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {a.ndim}D")
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {a.shape[-1]} X2: {b.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if not a.is_floating_point():
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {a.dtype}")
    differences = a.unsqueeze(-2) - b.unsqueeze(-3)  # (..., P, R, M)
    return differences.norm(p, dim=-1)


@declare(method=False)
def meshgrid(*tensors, indexing: str | None = None):
    """Coordinate grids from 1-d tensors: output ``i`` varies along dim ``i`` (``indexing='ij'``, the default)
    or, for ``'xy'``, with the first two dims swapped as in NumPy. Each grid is a broadcast view."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in (None, "ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for t in tensors:
        if not isinstance(t, Tensor) or t.ndim > 1:
            raise RuntimeError("torch.meshgrid: Expected 0D or 1D tensor in the tensor list")
    flat = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(flat) >= 2
    if swap:
        flat[0], flat[1] = flat[1], flat[0]
    shape = [t.shape[0] for t in flat]
    grids = []
    for i, t in enumerate(flat):
        view = [1] * len(flat)
        view[i] = shape[i]
        grids.append(t.reshape(view).expand(shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


@declare
def cross(input, other, dim=None):
    """The cross product of 3-vectors along ``dim`` (default: the first dim of size 3, torch's deprecated
    default; ``linalg.cross`` uses the last): ``roll(a, -1) roll(b, -2) - roll(a, -2) roll(b, -1)``."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError("cross(): argument 'input' and 'other' must be Tensor")
    check_same_device("cross", input, other)
    if dim is None:
        sizes = [d for d, (m, n) in enumerate(zip(input.shape, other.shape)) if m == 3 and n == 3]
        if not sizes:
            raise RuntimeError("no dimension of size 3 in input")
        dim = sizes[0]
    dim = normalize_dim(dim, input.ndim)
    if input.shape[dim] != 3 or other.shape[dim] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[dim]} and {other.shape[dim]}"
        )
    return roll(input, -1, dim) * roll(other, -2, dim) - roll(input, -2, dim) * roll(other, -1, dim)


__all__ = exports(__name__)
