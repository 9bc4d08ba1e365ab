"""Indexing ops: ``x[index]``, ``x[index] = value``, index_select, gather, scatter, one_hot, ...

Reading with an index is easy; its backward is the interesting part. The gradient of
``y = x[index]`` is zero everywhere except at the positions that were read, which receive the
upstream gradient. When an index names the same position twice (``x[[0, 0]]``), both gradients
must be *added* there: ``g[index] += grad`` would keep only one of them, because NumPy's
fancy assignment writes each position once. ``B.add_at`` is the unbuffered scatter-add that
adds every occurrence. It is slow, so indexes without arrays (ints, slices, None, ...) and
boolean masks, which never repeat a position, use plain assignment instead.
"""

from __future__ import annotations

import numbers

from .. import backend
from .. import dtypes as _dt
from ..autograd.graph import Op
from ..compute import B
from ..tensor import Tensor
from ._util import check_same_device, is_scalar, normalize_dim
from .inplace import ViewOp
from .registry import REGISTRY, declare, exports


# ------------------------------------------------------------------ x[index]
def _is_array(obj):
    return hasattr(obj, "dtype") and hasattr(obj, "shape") and not isinstance(obj, Tensor)


def _index_array(obj, x: Tensor):
    """A tensor, array or list used as an index, as an integer or bool array on ``x``'s device."""
    if isinstance(obj, Tensor):
        arr = obj.array
    elif _is_array(obj):
        arr = obj
    else:
        items = [i.item() if isinstance(i, Tensor) else i for i in obj] if isinstance(obj, list) else obj
        arr = B.asarray(items, like=x.array)
    if arr.dtype.kind not in "iub":
        if arr.size == 0 and arr.dtype.kind == "f":  # x[[]] selects nothing, as in torch
            arr = arr.astype("int64")
        else:
            raise IndexError(
                f"getitem: tensors used as indices must be long, int, byte or bool tensors, got dtype {arr.dtype}"
            )
    if arr.dtype.kind == "u" and arr.dtype.itemsize == 1:
        arr = arr.astype(bool)  # torch reads uint8 index tensors as masks
    return backend.to_device(arr, x.device)


def _convert_index(index, x: Tensor):
    """Translate a torch-style index into NumPy ``steps`` (applied one after the other) and say
    whether the index holds integer arrays (which may repeat a position).

    NumPy and torch differ in one corner: with arrays in the index, NumPy treats a plain int as one
    more array, so ``x[None, 2, ::2, idx]`` has its "advanced" indices separated by a slice and puts
    their dims first. torch applies ints first, as basic indexing. To follow torch, such an index
    is applied in two steps: the ints (a view), then the rest.
    """
    items = index if isinstance(index, tuple) else (index,)
    out, has_int_arrays, has_arrays, has_ints = [], False, False, False
    for it in items:
        if it is None or it is Ellipsis:
            out.append(it)
        elif isinstance(it, slice):
            if it.step is not None and int(it.step) <= 0:
                raise ValueError("getitem: step must be greater than zero (negative steps are not supported; use flip)")
            out.append(it)
        elif isinstance(it, bool):
            out.append(it)
            has_arrays = True
        elif isinstance(it, numbers.Integral):
            out.append(int(it))
            has_ints = True
        elif isinstance(it, Tensor) and it.ndim == 0 and it.array.dtype.kind in "iu" and it.dtype != _dt.uint8:
            out.append(int(it.item()))  # a 0-d integer tensor indexes like an int
            has_ints = True
        elif isinstance(it, (Tensor, list)) or _is_array(it):
            arr = _index_array(it, x)
            has_arrays = True
            has_int_arrays |= arr.dtype.kind != "b"
            out.append(arr)
        else:
            raise IndexError(
                f"getitem: only integers, slices (`:`), ellipsis (`...`), None and long or bool "
                f"tensors are valid indices, got {type(it).__name__}"
            )
    if not has_arrays and not any(it is Ellipsis for it in out):
        out.append(Ellipsis)  # ``a[0, ...]`` is a 0-d *view* where ``a[0]`` would be a NumPy scalar copy
    if not (has_arrays and has_ints):
        return (tuple(out),), has_int_arrays
    first, second = [], []
    for it in out:
        if isinstance(it, int) and not isinstance(it, bool):
            first.append(it)
        elif it is Ellipsis:
            first.append(it)
            second.append(it)
        elif it is None or isinstance(it, slice):
            first.append(it)
            second.append(slice(None))
        else:  # an array: keep its dims for the second step (a bool mask covers mask.ndim dims)
            first.extend(
                [slice(None)] * (it.ndim if getattr(it, "dtype", None) is not None and it.dtype.kind == "b" else 1)
            )
            second.append(it)
    return (tuple(first), tuple(second)), has_int_arrays


def _view(arr, steps):
    """Apply all but the last step (basic indexes, so the result is a view of ``arr``)."""
    for s in steps[:-1]:
        arr = arr[s]
    return arr


class GetItem(ViewOp):
    """``x[index]``. Basic indexes give views; arrays in the index give copies (NumPy's rules)."""

    linear = True  # create_graph records its backward as a LinearMap

    def __init__(self, steps, repeats):
        self.steps, self.repeats = steps, repeats
        # only indexes without arrays give views of the input's memory
        self.is_view = not any(_is_array(i) for step in steps for i in step)

    def forward(self, x):
        self.in_shape = x.shape
        return _view(x, self.steps)[self.steps[-1]]

    def backward(self, grad):
        g = B.zeros(self.in_shape, grad.dtype, like=grad)
        if self.repeats:
            # integer arrays may repeat a position: add every occurrence
            B.add_at(_view(g, self.steps), self.steps[-1], grad)
        else:
            _view(g, self.steps)[self.steps[-1]] = grad
        return g


@declare(method=False, top_level=False, dunders=("__getitem__",))
def getitem(input: Tensor, index) -> Tensor:
    """``input[index]`` with ints, slices, None, ``...``, bool masks and integer tensors/arrays/lists."""
    steps, has_int = _convert_index(index, input)
    try:
        return GetItem(steps, has_int)(input)
    except IndexError as e:
        raise IndexError(f"getitem: {e} (tensor shape {list(input.shape)})") from None


# ------------------------------------------------------------------ x[index] = value
class SetItem(Op):
    """Out-of-place ``x[index] = v``: used when the write must be recorded for autograd."""

    linear = True  # create_graph records its backward as a LinearMap

    saved = ()  # backward reads neither x nor v
    once_only = True  # as torch's CopySlices: a second backward after release raises

    def __init__(self, steps):
        self.steps = steps

    def forward(self, x, v):
        self.v_shape = v.shape
        out = x.copy()
        _view(out, self.steps)[self.steps[-1]] = v
        return out

    def backward(self, grad):
        need_x, need_v = self.needs_input_grad
        gx = gv = None
        if need_x:  # the overwritten positions no longer influence the output
            gx = grad.copy()
            _view(gx, self.steps)[self.steps[-1]] = 0
        if need_v:  # v was broadcast to the indexed shape; the engine sums the gradient back
            gv = _view(grad, self.steps)[self.steps[-1]]
            if gv.ndim < len(self.v_shape):
                gv = gv.reshape((1,) * (len(self.v_shape) - gv.ndim) + gv.shape)
        return gx, gv


def _value_tensor(value, x: Tensor) -> Tensor:
    """The right-hand side of an assignment as a tensor of ``x``'s dtype and device."""
    if isinstance(value, Tensor):
        check_same_device("setitem", x, value)
        if value.array.dtype != x.array.dtype:
            from .convert import to_dtype

            value = to_dtype(value, x.dtype)
        return value
    if _is_array(value):
        value = backend.to_device(value, x.device)
    return Tensor._make(B.asarray(value, dtype=x.array.dtype, like=x.array))


@declare(method=False, top_level=False, dunders=("__setitem__",))
def setitem(input: Tensor, index, value) -> None:
    """``input[index] = value``.

    The values are written into the array itself, so tensors that view the same memory
    (``w = x[0]``) see the change, and the version counter is bumped. When the write must be
    recorded (``input`` is a non-leaf, or ``value`` requires grad), the new values come from the
    differentiable :class:`SetItem` and become ``input``'s history (see :func:`minigrad.ops.inplace.commit`).
    A leaf that requires grad cannot be written to while grad mode is on, as in torch.
    """
    from .inplace import check_copy_overlap, commit, must_record, note_write, old_values, write_error

    steps, _ = _convert_index(index, input)
    v = _value_tensor(value, input)
    if type(input.array) is type(v.array) and B.may_share_memory(input.array, v.array):  # v[1:4] = v[0:3]
        dest = _view(input.array, steps)[steps[-1]]
        if B.may_share_memory(dest, input.array):  # basic indexing: a copy into a view
            check_copy_overlap("setitem", dest, v.array)
        else:  # advanced indexing: torch's index_put refuses any overlap of the value with the tensor
            check_copy_overlap("index_put_", input.array, v.array, full_ok=False)
    if must_record(input, v):
        try:
            new = SetItem(steps)(old_values(input, keep=False), v)
        except ValueError as e:
            raise _shape_error(e, input, steps, v) from None
        commit(input, new, "setitem")
        return
    try:
        _view(input.array, steps)[steps[-1]] = v.array
    except ValueError as e:
        if not getattr(input.array.flags, "writeable", True):
            raise write_error("setitem", input.array) from None
        raise _shape_error(e, input, steps, v) from None
    note_write(input)


def _shape_error(e, x, steps, v):
    try:
        target = list(_view(x.array, steps)[steps[-1]].shape)
    except Exception:  # noqa: BLE001  (the index itself is bad: report NumPy's message)
        return RuntimeError(f"setitem: {e}")
    return RuntimeError(
        f"setitem: shape mismatch: value tensor of shape {list(v.shape)} cannot be broadcast to "
        f"indexing result of shape {target}"
    )


# ------------------------------------------------------------------ index_select, gather, scatter
def _check_index(op, index: Tensor, kinds="i"):
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): index must be a Tensor, got {type(index).__name__}")
    if index.array.dtype.kind not in kinds or index.array.dtype.kind == "b":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index, got {index.dtype}")


def _check_bounds(op, idx, n, dim, exc=RuntimeError):
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
        bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
        raise exc(f"{op}(): index {bad} is out of bounds for dimension {dim} with size {n}")


class IndexSelect(Op):
    linear = True  # create_graph records its backward as a LinearMap

    def __init__(self, axis, index):
        self.axis, self.index = axis, index

    def forward(self, x):
        self.in_shape = x.shape
        return B.take(x, self.index, axis=self.axis)

    def backward(self, grad):
        g = B.zeros(self.in_shape, grad.dtype, like=grad)
        B.add_at(g, (slice(None),) * self.axis + (self.index,), grad)  # repeated indices add up
        return g


@declare
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices ``index[0], index[1], ...`` of ``input`` along ``dim`` (``index``: 1-d integer tensor)."""
    _check_index("index_select", index)
    if index.ndim > 1:
        raise IndexError(f"index_select(): Index is supposed to be a vector, got shape {list(index.shape)}")
    check_same_device("index_select", input, index)
    if input.ndim == 0:
        return getitem(index_select(input.reshape(1), 0, index), 0 if index.ndim == 0 else slice(None))
    d = normalize_dim(dim, input.ndim, "index_select")
    idx = index.array.reshape(-1)
    _check_bounds("index_select", idx, input.shape[d], d, IndexError)
    return IndexSelect(d, idx)(input)


def _mesh(index, axis):
    """The NumPy index that addresses ``out[i][j][k]`` -> ``x[i][index[i][j][k]][k]`` (for ``axis`` 1)."""
    parts = []
    for d, n in enumerate(index.shape):
        if d == axis:
            parts.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = n
            parts.append(B.arange(n, like=index).reshape(shape))
    return tuple(parts)


def _check_gather_shapes(op, input, index, dim, src=None):
    if index.ndim != input.ndim:
        raise RuntimeError(
            f"{op}(): Index tensor must have the same number of dimensions as input tensor "
            f"(index shape {list(index.shape)}, input shape {list(input.shape)})"
        )
    for d in range(input.ndim):
        if d != dim and index.shape[d] > input.shape[d]:
            raise RuntimeError(
                f"{op}(): Size does not match at dimension {d} expected index {list(index.shape)} to "
                f"be smaller than self {list(input.shape)} apart from dimension {dim}"
            )
        if src is not None and index.shape[d] > src.shape[d]:
            raise RuntimeError(
                f"{op}(): Expected index {list(index.shape)} to be smaller than src "
                f"{list(src.shape)} in every dimension"
            )


class Gather(Op):
    linear = True  # create_graph records its backward as a LinearMap

    def __init__(self, axis, index):
        self.mesh = _mesh(index, axis)

    def forward(self, x):
        self.in_shape = x.shape
        return x[self.mesh]

    def backward(self, grad):
        g = B.zeros(self.in_shape, grad.dtype, like=grad)
        B.add_at(g, self.mesh, grad)  # two outputs may read the same element: add both
        return g


@declare
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[i][index[i][j]]`` for ``dim=1`` (and likewise for other dims and ranks)."""
    _check_index("gather", index)
    check_same_device("gather", input, index)
    if input.ndim == 0:
        return gather(input.reshape(1), 0, index.reshape(1)).reshape(index.shape)
    d = normalize_dim(dim, input.ndim, "gather")
    _check_gather_shapes("gather", input, index, d)
    _check_bounds("gather", index.array, input.shape[d], d)
    return Gather(d, index.array)(input)


@declare
def take_along_dim(input: Tensor, indices: Tensor, dim=None) -> Tensor:
    """``gather`` after broadcasting ``input`` and ``indices`` over every dim except ``dim``."""
    from .shape import expand, reshape

    if dim is None:
        return gather(reshape(input, -1), 0, reshape(indices, -1))
    if input.ndim != indices.ndim:
        raise RuntimeError(
            f"take_along_dim(): input and indices should have the same number of dimensions, but "
            f"got {input.ndim} dimensions for input, and {indices.ndim} dimensions for indices"
        )
    d = normalize_dim(dim, input.ndim, "take_along_dim")
    shape = []
    for k, (a, b) in enumerate(zip(input.shape, indices.shape)):
        if k != d and a != b and a != 1 and b != 1:
            raise RuntimeError(
                f"take_along_dim(): shapes {list(input.shape)} and {list(indices.shape)} do not "
                f"broadcast at dimension {k}"
            )
        shape.append(max(a, b) if 0 not in (a, b) else 0)
    x_shape = tuple(input.shape[k] if k == d else s for k, s in enumerate(shape))
    i_shape = tuple(indices.shape[k] if k == d else s for k, s in enumerate(shape))
    return gather(expand(input, x_shape), d, Tensor._make(B.broadcast_to(indices.array, i_shape)))


class Scatter(Op):
    """``out = x`` except ``out[mesh] = src[:index.shape]`` (or ``+=`` with ``add``)."""

    linear = True  # create_graph records its backward as a LinearMap

    def __init__(self, axis, index, add):
        self.mesh, self.add = _mesh(index, axis), add
        self.src_part = tuple(slice(0, n) for n in index.shape)

    def forward(self, x, src):
        self.src_shape = src.shape
        out = x.copy()
        if self.add:
            B.add_at(out, self.mesh, src[self.src_part])
        else:
            out[self.mesh] = src[self.src_part]
        return out

    def backward(self, grad):
        need_x, need_src = self.needs_input_grad
        gx = gs = None
        if need_x:
            if self.add:
                gx = grad
            else:
                gx = grad.copy()
                gx[self.mesh] = 0  # overwritten elements do not reach the output
        if need_src:
            gs = B.zeros(self.src_shape, grad.dtype, like=grad)
            gs[self.src_part] = grad[self.mesh]
        return gx, gs


class ScatterValue(Op):
    linear = True  # create_graph records its backward as a LinearMap

    def __init__(self, axis, index, value):
        self.mesh, self.value = _mesh(index, axis), value

    def forward(self, x):
        out = x.copy()
        out[self.mesh] = self.value
        return out

    def backward(self, grad):
        g = grad.copy()
        g[self.mesh] = 0
        return g


def _scatter(op, input, dim, index, src, add):
    _check_index(op, index)
    check_same_device(op, input, index)
    if input.ndim == 0:
        out = _scatter(
            op, input.reshape(1), 0, index.reshape(1), src.reshape(1) if isinstance(src, Tensor) else src, add
        )
        return out.reshape(())
    d = normalize_dim(dim, input.ndim, op)
    if isinstance(src, Tensor):
        check_same_device(op, input, src)
        if src.dtype != input.dtype:
            raise RuntimeError(
                f"{op}(): Expected self.dtype to be equal to src.dtype (got {input.dtype} and {src.dtype})"
            )
        if src.ndim != input.ndim:
            raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as src tensor")
        _check_gather_shapes(op, input, index, d, src)
    else:
        _check_gather_shapes(op, input, index, d)
    _check_bounds(op, index.array, input.shape[d], d)
    if isinstance(src, Tensor):
        return Scatter(d, index.array, add)(input, src)
    return ScatterValue(d, index.array, src)(input)


@declare
def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce=None) -> Tensor:
    """Out of place: ``out[i][index[i][j]] = src[i][j]`` for ``dim=1``; ``src`` may be a number (or use
    ``value=``). Where an index repeats, which write wins is unspecified (as in torch)."""
    if reduce is not None:
        raise NotImplementedError("scatter(reduce=...) is not supported by minigrad; use scatter_add")
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter(): expected a src tensor or a value")
    if not isinstance(src, Tensor) and not is_scalar(src):
        raise TypeError(f"scatter(): src must be a Tensor or a number, got {type(src).__name__}")
    return _scatter("scatter", input, dim, index, src, add=False)


@declare
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """Out of place: ``out[i][index[i][j]] += src[i][j]`` for ``dim=1``; repeated indices all add."""
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): src must be a Tensor, got {type(src).__name__}")
    return _scatter("scatter_add", input, dim, index, src, add=True)


@declare
def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where the (broadcast) bool ``mask`` is True, as a 1-d tensor."""
    from .shape import broadcast_tensors

    if not isinstance(mask, Tensor) or mask.array.dtype.kind != "b":
        raise RuntimeError(
            f"masked_select: expected BoolTensor for mask, got "
            f"{mask.dtype if isinstance(mask, Tensor) else type(mask).__name__}"
        )
    check_same_device("masked_select", input, mask)
    x, m = broadcast_tensors(input, mask)
    return GetItem(((m.array,),), False)(x)


@declare(method=False, top_level=False, functional=True)
def one_hot(input: Tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape ``(*input.shape, num_classes)`` with a 1 at each class index."""
    if not isinstance(input, Tensor) or input.array.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    arr = input.array
    if num_classes == -1:
        if arr.size == 0:
            raise RuntimeError("one_hot: Can not infer total number of classes from empty tensor.")
        num_classes = int(arr.max()) + 1
    if arr.size:
        if int(arr.min()) < 0:
            raise RuntimeError("one_hot: Class values must be non-negative.")
        if int(arr.max()) >= num_classes:
            raise RuntimeError(
                f"one_hot: Class values must be smaller than num_classes (got class "
                f"{int(arr.max())} with num_classes={num_classes})."
            )
    out = (arr[..., None] == B.arange(num_classes, like=arr)).astype(_dt.int64.np)
    return Tensor._make(out)


# names torch has only as operators or in nn.functional: minigrad.<name> keeps them for existing code
_KEPT = [n for n, d in REGISTRY.items() if d.module == __name__ and not d.top_level]
__all__ = exports(__name__) + _KEPT
