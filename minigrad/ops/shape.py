"""Shape ops: reshape, transpose, expand, cat, split, pad, ... with torch's semantics.

Most of these only change how the same numbers are laid out, so their backward passes just
undo the layout change on the gradient: a reshape is undone by reshaping back, a permutation
by the inverse permutation, a slice by writing the gradient into a zero array of the input's
shape. NumPy returns *views* (no copy) for reshape of contiguous data, transpose, slicing and
broadcast_to, and these ops keep those views, as torch does.
"""

from __future__ import annotations

import numbers

from .. import dtypes as _dt
from ..autograd.graph import Op
from ..backend import get_array_module
from ..compute import B
from ..tensor import Size, Tensor
from ._util import cast, check_same_device, normalize_dim
from .inplace import ViewOp, _address
from .registry import REGISTRY, declare, declare_method, exports


def _sizes(args, op):
    """``f(x, 2, 3)``, ``f(x, (2, 3))`` and ``f(x, [2, 3])`` all mean the sizes ``(2, 3)``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    out = []
    for s in args:
        if isinstance(s, Tensor):
            s = s.item()
        if not isinstance(s, numbers.Integral) or isinstance(s, bool):
            raise TypeError(f"{op}: sizes must be integers, got {type(s).__name__} in {tuple(args)!r}")
        out.append(int(s))
    return tuple(out)


def _fmt(shape):
    return "[" + ", ".join(str(s) for s in shape) + "]"


# ------------------------------------------------------------------ reshaping (views where NumPy can)
class Reshape(ViewOp):
    linear = True  # create_graph records its backward as a LinearMap

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        out = x.reshape(self.shape)
        # a view when the layout allows it; otherwise NumPy copied (as torch's reshape does)
        self.is_view = bool(B.may_share_memory(out, x))
        return out

    def backward(self, grad):
        return grad.reshape(self.in_shape)


def _infer_shape(op, in_shape, shape):
    """Resolve one ``-1`` in ``shape`` from the number of elements; torch's error when the numbers differ."""
    numel = 1
    for s in in_shape:
        numel *= s
    known, infer = 1, None
    for i, s in enumerate(shape):
        if s == -1:
            if infer is not None:
                raise RuntimeError(f"{op}: only one dimension can be inferred (got shape {_fmt(shape)})")
            infer = i
        elif s < 0:
            raise RuntimeError(f"{op}: invalid shape dimension {s} in {_fmt(shape)}")
        else:
            known *= s
    if infer is not None:
        if known == 0 or numel % known:
            raise RuntimeError(
                f"{op}: shape '{_fmt(shape)}' is invalid for input of size {numel} (input shape {_fmt(in_shape)})"
            )
        shape = shape[:infer] + (numel // known,) + shape[infer + 1 :]
    elif known != numel:
        raise RuntimeError(
            f"{op}: shape '{_fmt(shape)}' is invalid for input of size {numel} (input shape {_fmt(in_shape)})"
        )
    return shape


@declare
def reshape(input: Tensor, shape, *more) -> Tensor:
    """Same data, new shape (one size may be ``-1``: inferred). A view when the data allow it."""
    shape = _infer_shape("reshape", input.shape, _sizes((shape, *more), "reshape"))
    return Reshape(shape)(input)  # a new tensor even for the same shape, as in torch


@declare(top_level=False)
def view(input: Tensor, size, *more) -> Tensor:
    """Like :func:`reshape`. (torch refuses non-viewable layouts; NumPy copies them instead.)"""
    if not more and isinstance(size, (_dt.dtype, str)):
        raise NotImplementedError("view(dtype) (reinterpreting the bytes) is not supported by minigrad")
    shape = _infer_shape("view", input.shape, _sizes((size, *more), "view"))
    return Reshape(shape)(input)


@declare(top_level=False)
def view_as(input: Tensor, other: Tensor) -> Tensor:
    """:func:`view` to ``other``'s shape."""
    return view(input, other.shape)


@declare(top_level=False)
def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    """:func:`reshape` to ``other``'s shape."""
    return reshape(input, other.shape)


@declare
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` (inclusive) into one; a 0-d tensor becomes 1-d."""
    shape = input.shape
    if input.ndim == 0:
        return reshape(input, (1,))
    s = normalize_dim(start_dim, input.ndim, "flatten")
    e = normalize_dim(end_dim, input.ndim, "flatten")
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input  # nothing to flatten: torch returns the input itself
    n = 1
    for d in shape[s : e + 1]:
        n *= d
    return reshape(input, tuple(shape[:s]) + (n,) + tuple(shape[e + 1 :]))


@declare
def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one may be ``-1``)."""
    d = normalize_dim(dim, input.ndim, "unflatten")
    sizes = _sizes((sizes,), "unflatten")
    inner = _infer_shape("unflatten", (input.shape[d],), sizes)
    return reshape(input, tuple(input.shape[:d]) + inner + tuple(input.shape[d + 1 :]))


@declare
def squeeze(input: Tensor, dim=None) -> Tensor:
    """Drop dims of size 1: all of them, or only those among ``dim`` (an int or a tuple)."""
    shape = input.shape
    if dim is None:
        dims = [i for i, s in enumerate(shape) if s == 1]
    else:
        dims = [dim] if isinstance(dim, numbers.Integral) else list(dim)
        dims = [normalize_dim(d, input.ndim, "squeeze") for d in dims]
        dims = [d for d in dims if input.ndim and shape[d] == 1]
    return reshape(input, tuple(s for i, s in enumerate(shape) if i not in dims))


@declare
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dim of size 1 at ``dim`` (in ``[-ndim-1, ndim]``)."""
    d = normalize_dim(dim, input.ndim + 1, "unsqueeze")
    shape = tuple(input.shape)
    return reshape(input, shape[:d] + (1,) + shape[d:])


# ------------------------------------------------------------------ permutations
class Permute(ViewOp):
    linear = True  # create_graph records its backward as a LinearMap

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, grad):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return grad.transpose(inverse)


@declare
def permute(input: Tensor, dims, *more) -> Tensor:
    """Reorder the dims: output dim ``i`` is input dim ``dims[i]`` (a view)."""
    dims = _sizes((dims, *more), "permute")
    if len(dims) != input.ndim:
        raise RuntimeError(
            f"permute: number of dimensions in the tensor input does not match the length of the "
            f"desired ordering of dimensions i.e. input.dim() = {input.ndim} is not equal to "
            f"len(dims) = {len(dims)}"
        )
    axes = tuple(normalize_dim(d, input.ndim, "permute") for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"permute: repeated dim in {list(dims)}")
    return Permute(axes)(input)


@declare(aliases=("swapdims",), method_aliases=("swapdims",))
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims (a view)."""
    a = normalize_dim(dim0, input.ndim, "transpose")
    b = normalize_dim(dim1, input.ndim, "transpose")
    axes = list(range(input.ndim))
    if input.ndim:
        axes[a], axes[b] = axes[b], axes[a]
    return permute(input, tuple(axes))


@declare
def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """:func:`transpose` under NumPy's name (and NumPy's argument names)."""
    return transpose(input, axis0, axis1)


@declare
def t(input: Tensor) -> Tensor:
    """Transpose a matrix; of a 0-d or 1-d tensor, a view that changes nothing (a new tensor, as in torch)."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return transpose(input, 0, 1) if input.ndim == 2 else permute(input, tuple(range(input.ndim)))


@declare(aliases=("moveaxis",), method_aliases=("moveaxis",))
def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dim(s) ``source`` to position(s) ``destination``; the others keep their order."""
    src = (source,) if isinstance(source, numbers.Integral) else tuple(source)
    dst = (destination,) if isinstance(destination, numbers.Integral) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
            f"contain the same number of dims as destination ({list(dst)} dims)"
        )
    n = input.ndim
    src = [normalize_dim(d, n, "movedim") for d in src]
    dst = [normalize_dim(d, n, "movedim") for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError("movedim: repeated dim in source or destination")
    order = [None] * n
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(i for i in range(n) if i not in src)
    order = [next(rest) if o is None else o for o in order]
    return permute(input, tuple(order))


# ------------------------------------------------------------------ broadcasting and tiling
class Expand(ViewOp):
    """A read-only broadcast view; its backward returns the gradient as it is and the engine's
    ``sum_to`` sums it over the broadcast dims."""

    linear = True  # create_graph records its backward as a LinearMap

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return B.broadcast_to(x, self.shape)

    def backward(self, grad):
        return grad


@declare(top_level=False)
def expand(input: Tensor, size, *more) -> Tensor:
    """Broadcast to ``sizes`` without copying (``-1`` keeps a dim's size; new dims go in front)."""
    sizes = _sizes((size, *more), "expand")
    shape = tuple(input.shape)
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({len(shape)})"
        )
    out = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(
                    f"expand: the expanded size of the tensor (-1) isn't allowed in a leading, "
                    f"non-existing dimension {i}"
                )
            out.append(s)
            continue
        cur = shape[i - lead]
        if s == -1:
            s = cur
        if cur != s and cur != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                f"non-singleton dimension {i}.  Target sizes: {_fmt(sizes)}.  "
                f"Tensor sizes: {_fmt(shape)}"
            )
        out.append(s)
    return Expand(tuple(out))(input)


@declare(top_level=False)
def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """:func:`expand` to ``other``'s shape."""
    return expand(input, other.shape)


@declare
def broadcast_to(input: Tensor, size) -> Tensor:
    """:func:`expand` to ``size``."""
    return expand(input, size)


@declare(method=False)
def broadcast_tensors(*tensors):
    """Expand every tensor to their common broadcast shape (views)."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    shapes = [tuple(x.shape) for x in tensors]
    n = max((len(s) for s in shapes), default=0)
    out = [1] * n
    for s in shapes:
        for i, d in enumerate(s, start=n - len(s)):
            if d != 1:
                if out[i] != 1 and out[i] != d:
                    raise RuntimeError(
                        f"broadcast_tensors: shapes {shapes} are not broadcastable (sizes {out[i]} and {d} at dim {i})"
                    )
                out[i] = d
    return tuple(expand(x, tuple(out)) for x in tensors)


class Repeat(Op):
    """Tile the input; the gradient of each input element is the sum over its tiles."""

    linear = True  # create_graph records its backward as a LinearMap

    def __init__(self, reps):
        self.reps = reps

    def forward(self, x):
        self.in_shape = x.shape
        lead = len(self.reps) - x.ndim
        self.padded = (1,) * lead + x.shape
        return B.tile(x.reshape(self.padded), self.reps)

    def backward(self, grad):
        # view the gradient as (r0, s0, r1, s1, ...) and sum over the repetition axes r_i
        split = []
        for r, s in zip(self.reps, self.padded):
            split += [r, s]
        g = grad.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return g.reshape(self.in_shape)


@declare(top_level=False)
def repeat(input: Tensor, repeats, *more) -> Tensor:
    """Tile ``sizes[i]`` copies along each dim (extra leading sizes add new dims), as ``torch.Tensor.repeat``."""
    sizes = _sizes((repeats, *more), "repeat")
    if len(sizes) < input.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of "
            f"tensor (repeat dims {_fmt(sizes)}, tensor shape {_fmt(input.shape)})"
        )
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"repeat: repeats can not be negative, got {_fmt(sizes)}")
    return Repeat(sizes)(input)


# ------------------------------------------------------------------ joining
class Cat(Op):
    """Join along ``axis``; inputs flagged in ``skip`` (torch's legacy 1-d empty tensors) are left out."""

    linear = True  # create_graph records its backward as a LinearMap

    def __init__(self, axis, skip):
        self.axis, self.skip = axis, skip

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] if not s else 0 for x, s in zip(xs, self.skip)]
        return B.concatenate([x for x, s in zip(xs, self.skip) if not s], axis=self.axis)

    def backward(self, grad):
        # each input's gradient is its slab of the output gradient (a view)
        out, start = [], 0
        lead = (slice(None),) * self.axis
        for need, n, skip in zip(self.needs_input_grad, self.sizes, self.skip):
            if not need:
                out.append(None)
            elif skip:
                out.append(B.zeros((0,), grad.dtype, like=grad))
            else:
                out.append(grad[lead + (slice(start, start + n),)])
            start += n
        return tuple(out)


def _tensor_list(op, tensors):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (tuple, list)):
        raise TypeError(f"{op}(): argument 'tensors' must be a tuple or list of Tensors, not {type(tensors).__name__}")
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{op}(): expected a non-empty list of Tensors")
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(f"{op}(): expected a Tensor at position {i}, got {type(x).__name__}")
    check_same_device(op, *tensors)
    return tensors


def _promote(tensors):
    dt = tensors[0].dtype
    for x in tensors[1:]:
        dt = _dt._higher(dt, x.dtype)
    return [cast(x, dt) for x in tensors]


@declare(method=False, out=True, aliases=("concat", "concatenate"))
def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dim; dtypes are promoted to a common one, as in torch.

    As in torch, 1-d empty tensors (shape ``(0,)``) are skipped, whatever the others' shapes.
    """
    tensors = _tensor_list("cat", tensors)
    for i, x in enumerate(tensors):
        if x.ndim == 0:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be concatenated")
    tensors = _promote(tensors)
    skip = [x.ndim == 1 and x.shape[0] == 0 for x in tensors]
    if all(skip) or all(x.ndim == 1 for x in tensors):
        skip = [False] * len(tensors)
    kept = [x for x, s in zip(tensors, skip) if not s]
    ref = kept[0]
    d = normalize_dim(dim, ref.ndim, "cat")
    for i, x in enumerate(kept):
        if x.ndim != ref.ndim:
            raise RuntimeError(
                f"cat: Tensors must have same number of dimensions: got {ref.ndim} and {x.ndim} "
                f"(shapes {_fmt(ref.shape)} and {_fmt(x.shape)})"
            )
        for k in range(ref.ndim):
            if k != d and x.shape[k] != ref.shape[k]:
                raise RuntimeError(
                    f"cat: Sizes of tensors must match except in dimension {d}. Expected size "
                    f"{ref.shape[k]} but got size {x.shape[k]} for tensor number {i} in the list "
                    f"(shapes {_fmt(ref.shape)} and {_fmt(x.shape)}, mismatch in dimension {k})"
                )
    if len(tensors) == 1:
        return tensors[0]
    return Cat(d, tuple(skip))(*tensors)


class Stack(Op):
    linear = True  # create_graph records its backward as a LinearMap

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return B.stack(xs, axis=self.axis)

    def backward(self, grad):
        lead = (slice(None),) * self.axis
        return tuple(grad[lead + (i,)] if need else None for i, need in enumerate(self.needs_input_grad))


@declare(method=False, out=True)
def stack(tensors, dim: int = 0) -> Tensor:
    """Join equally shaped tensors along a new dim ``dim``."""
    tensors = _tensor_list("stack", tensors)
    ref = tensors[0].shape
    for i, x in enumerate(tensors):
        if x.shape != ref:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {_fmt(ref)} at entry 0 and "
                f"{_fmt(x.shape)} at entry {i}"
            )
    d = normalize_dim(dim, len(ref) + 1, "stack")
    return Stack(d)(*_promote(tensors))


# ------------------------------------------------------------------ slicing
class Slice(ViewOp):
    """A basic-indexing view ``x[index]``; backward writes the gradient into zeros of the input's shape.

    (Used by narrow, split, chunk and unbind. Each piece's backward allocates a full-size zero array,
    so unbinding a dim of size k costs k such arrays in the backward pass.)
    """

    linear = True  # create_graph records its backward as a LinearMap

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.in_shape = x.shape
        return x[self.index]

    def backward(self, grad):
        g = B.zeros(self.in_shape, grad.dtype, like=grad)
        g[self.index] = grad
        return g


@declare
def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The view ``input[..., start:start+length, ...]`` along ``dim`` (``start`` may be negative)."""
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = normalize_dim(dim, input.ndim, "narrow")
    size = input.shape[d]
    start = int(start)
    if not -size <= start <= size:
        raise IndexError(f"narrow: start ({start}) is out of range for dimension {d} of size {size}")
    if start < 0:
        start += size
    if length < 0 or start + length > size:
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return Slice((slice(None),) * d + (slice(start, start + length),))(input)


@declare(method=False)  # Tensor.split names its argument split_size: see split_method
def split(tensor: Tensor, split_size_or_sections, dim: int = 0):
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or pieces of the listed sizes."""
    d = normalize_dim(dim, tensor.ndim, "split")
    if tensor.ndim == 0:
        raise RuntimeError("split: a 0-d tensor cannot be split")
    size = tensor.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        step = int(split_size_or_sections)
        if step < 0 or (step == 0 and size != 0):
            raise RuntimeError(f"split: split_size can only be 0 if dimension size is 0, but got {step}")
        sections = [min(step, size - s) for s in range(0, size, step)] if size else [0]
    else:
        sections = [int(s) for s in split_size_or_sections]
        if sum(sections) != size or any(s < 0 for s in sections):
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's size "
                f"at dimension {d}), but got split_sizes={list(sections)}"
            )
    out, start = [], 0
    for n in sections:
        out.append(narrow(tensor, d, start, n))
        start += n
    return tuple(out)


@declare_method("split")
def split_method(input: Tensor, split_size, dim: int = 0):
    """``Tensor.split``: :func:`split`, under torch's name for the method's sizes argument."""
    return split(input, split_size, dim)


@declare
def chunk(input: Tensor, chunks: int, dim: int = 0):
    """Split into ``chunks`` pieces of equal size ``ceil(n / chunks)`` (fewer when the size runs out)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = normalize_dim(dim, input.ndim, "chunk")
    size = input.shape[d]
    step = -(-size // chunks)
    if step == 0:
        return split(input, [0] * chunks, d) if size == 0 else (input,)
    return split(input, step, d)


class Select(Slice):
    """``x[..., i, ...]`` along one dim (the dim disappears): a Slice under torch's node name."""


@declare
def unbind(input: Tensor, dim: int = 0):
    """All slices along ``dim``, with that dim removed."""
    if input.ndim == 0:
        raise RuntimeError("unbind: dimension specified as 0 but tensor has no dimensions")
    d = normalize_dim(dim, input.ndim, "unbind")
    lead = (slice(None),) * d
    return tuple(Select(lead + (i,))(input) for i in range(input.shape[d]))


class Flip(Op):
    """Reverse along ``axes``. NumPy could return a view, but torch's flip returns new memory, so writes
    into the result must not reach the input: this op copies."""

    linear = True  # create_graph records its backward as a LinearMap

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return B.flip(x, self.axes).copy()

    def backward(self, grad):
        return B.flip(grad, self.axes)


@declare
def flip(input: Tensor, dims) -> Tensor:
    """Reverse the order of elements along ``dims`` (a copy, as in torch)."""
    dims = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
    axes = tuple(normalize_dim(d, input.ndim, "flip") for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"flip: dim {list(dims)} appears multiple times in the list of dims")
    return Flip(axes)(input)


# ------------------------------------------------------------------ padding
class ConstantPad(Op):
    """Pad with a constant; negative amounts crop. ``pads`` holds one ``(before, after)`` per dim."""

    linear = True  # create_graph records its backward as a LinearMap

    def __init__(self, pads, value):
        self.pads, self.value = pads, value

    def forward(self, x):
        self.in_shape = x.shape
        # cropping (negative amounts) is a slice of the input
        self.crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(self.pads, x.shape))
        inner = x[self.crop]
        out_shape = tuple(s + max(lo, 0) + max(hi, 0) for s, (lo, hi) in zip(inner.shape, self.pads))
        # the kept input is written into the middle of an array filled with the value
        self.place = tuple(slice(max(lo, 0), max(lo, 0) + s) for s, (lo, _) in zip(inner.shape, self.pads))
        out = B.full(out_shape, self.value, dtype=x.dtype, like=x)
        out[self.place] = inner
        return out

    def backward(self, grad):
        g = grad[self.place]
        if g.shape == self.in_shape:
            return g
        full = B.zeros(self.in_shape, grad.dtype, like=grad)
        full[self.crop] = g
        return full


@declare(method=False, top_level=False, functional=True)
def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad (or, with negative amounts, crop) the last dims; ``pad`` lists ``(before, after)`` pairs
    starting from the **last** dim: ``(left, right)`` pads dim -1, ``(left, right, top, bottom)``
    pads dims -1 and -2, as ``torch.nn.functional.pad``. Modes: 'constant' (``value``, default 0),
    'reflect', 'replicate', 'circular'.
    """
    pad = [int(p) for p in pad]
    if len(pad) % 2:
        raise RuntimeError("pad: Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(
            f"pad: Padding length should be less than or equal to two times the input dimension "
            f"but got padding length {len(pad)} and input of dimension {input.ndim}"
        )
    k = len(pad) // 2
    pads = [(0, 0)] * (input.ndim - k) + [(pad[2 * i], pad[2 * i + 1]) for i in range(k)][::-1]
    for d, ((lo, hi), n) in enumerate(zip(pads, input.shape)):
        if n + lo + hi < 0:
            raise RuntimeError(
                f"pad: the input size {n} at dimension {d}, plus negative padding {lo} and {hi}, "
                f"resulted in a negative output size, which is invalid"
            )
    if mode == "constant":  # even with nothing to pad the result is a new tensor, as torch's
        return ConstantPad(tuple(pads), 0 if value is None else value)(input)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: mode {mode!r} is not supported (use constant, reflect, replicate or circular)")
    if value:
        raise RuntimeError(f'pad: padding mode "{mode}" doesn\'t take in value argument')
    from .vision import pad_nonconstant  # reflect / replicate / circular, with a formula backward

    return pad_nonconstant(input, pad, mode, value)


# ------------------------------------------------------------------ broadcast_shapes, strides, as_strided
@declare(method=False)
def broadcast_shapes(*shapes):
    """The shape that tensors of ``shapes`` broadcast to (each an int or a sequence of ints), without tensors."""
    sizes = [_shape_arg(s) for s in shapes]
    out = [1] * max((len(s) for s in sizes), default=0)
    for index, shape in enumerate(sizes):
        for i in range(-1, -len(shape) - 1, -1):
            d = shape[i]
            if d < 0:
                raise ValueError("Attempting to broadcast a dimension with negative length!")
            if d == 1 or d == out[i]:
                continue
            if out[i] != 1:
                raise RuntimeError(
                    f"Attempting to broadcast a dimension of length {d} at {i}! Mismatching argument at index "
                    f"{index} had {tuple(shape)}; but expected shape should be broadcastable to {list(out)}"
                )
            out[i] = d
    return Size(out)


def _shape_arg(shape) -> tuple:
    """One argument of broadcast_shapes as a tuple of ints (an int ``n`` is the shape ``(n,)``)."""
    if isinstance(shape, Tensor):
        raise RuntimeError(f"Input shapes should be of type ints, a tuple of ints, or a list of ints, got {shape}")
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    items = tuple(shape)
    for i, d in enumerate(items):
        if not isinstance(d, numbers.Integral) or isinstance(d, bool):
            raise TypeError(f"torch.Size() takes an iterable of 'int' (item {i} is '{type(d).__name__}')")
    return tuple(int(d) for d in items)


def _storage(array):
    """``(owner, offset)``: the array that owns ``array``'s memory (its storage) and where ``array`` starts in
    it, in elements. It is torch's storage wherever minigrad makes a view where torch does (slices, transposes,
    expand, reshape of contiguous data); from_numpy of a NumPy view counts the NumPy base as the storage."""
    owner, link = array, array.base
    while link is not None:  # through NumPy's stride-tricks wrapper (not an array, but it has a base) too
        if isinstance(link, type(array)):
            owner = link
        link = getattr(link, "base", None)
    return owner, (_address(array) - _address(owner)) // array.itemsize


def _element_strides(array) -> tuple:
    """torch's strides (in elements) of ``array``. A dim of size 1 that NumPy gives stride 0 (an ``x[:, None]``)
    gets torch's stride for a new dim: the extent of the dim after it (1 for the last)."""
    if array.size == 0 and 0 in array.strides:  # NumPy's fresh empty arrays; torch's have contiguous strides
        return _contiguous_strides(array.shape)
    strides = [s // array.itemsize for s in array.strides]
    for d in range(array.ndim - 1, -1, -1):
        if array.shape[d] == 1 and strides[d] == 0:
            strides[d] = strides[d + 1] * max(array.shape[d + 1], 1) if d + 1 < array.ndim else 1
    return tuple(strides)


def _contiguous_strides(shape) -> tuple:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


@declare_method("stride")
def _stride_method(self, dim=None):
    """``Tensor.stride(dim=None)``: how many elements apart in memory neighbours along each dim are."""
    strides = _element_strides(self.array)
    if dim is None:
        return strides
    if self.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return strides[normalize_dim(dim, self.ndim, "stride")]


@declare_method("storage_offset")
def _storage_offset_method(self):
    """``Tensor.storage_offset()``: where the tensor's first element sits in its storage, in elements."""
    return _storage(self.array)[1]


class AsStrided(ViewOp):
    """A read-only view of the input's memory with the given sizes, strides and storage offset.

    ``in_index``/``out_index`` hold, for each input and output element, its position in the storage. On
    the input's own memory (or any array laid out alike) forward is a NumPy strided view; on another layout
    (a gradient, a tangent) it reads the same positions through those indices. The backward adds each
    output gradient into its storage position and reads the input's positions back; where input elements
    share a position (an expanded input) they share its gradient equally, as in torch.
    """

    linear = True  # create_graph records its backward as a LinearMap

    def __init__(self, size, stride, start, layout, in_index, out_index, shared):
        self.size, self.stride, self.start, self.layout = size, stride, start, layout
        self.in_index, self.out_index, self.shared = in_index, out_index, shared
        self.n_store = int(in_index.max()) + 1 if in_index.size else 0

    def forward(self, x):
        if _layout_of(x) == self.layout:
            return _strided_view(x, self.start, self.size, self.stride)
        store = self._to_storage(x)
        return store[self.out_index]

    def backward(self, grad):
        store = B.zeros(self.n_store, grad.dtype, like=grad)
        B.add_at(store, self.out_index.reshape(-1), grad.reshape(-1))
        if self.shared is not None:
            store = store / self.shared
        return store[self.in_index]

    def _to_storage(self, x):
        """``x``'s values at their storage positions (the mean of the elements that share one)."""
        store = B.zeros(self.n_store, x.dtype, like=x)
        if self.shared is None:
            store[self.in_index.reshape(-1)] = x.reshape(-1)
            return store
        B.add_at(store, self.in_index.reshape(-1), x.reshape(-1))
        return store / self.shared


def _layout_of(array) -> list:
    """What decides which element sits where relative to the first one: (size, stride) of dims longer than 1."""
    return [(n, s) for n, s in zip(array.shape, array.strides) if n > 1]


def _strided_view(x, start: int, size, stride):
    """A read-only view of ``x``'s memory from ``start`` elements after its first element (maybe before it)."""
    strided = get_array_module(x).lib.stride_tricks.as_strided
    item = x.itemsize
    origin = x[(slice(0, 1),) * x.ndim] if x.size else x  # the first element, as a view (never a copy)
    if start:  # a 1-d walk from x's first element to the new first element, whose last element starts the view
        walk = strided(origin, shape=(abs(start) + 1,), strides=(item if start > 0 else -item,))
        origin = walk[-1:]
    view = strided(origin, shape=tuple(size), strides=tuple(s * item for s in stride))
    if hasattr(view, "setflags"):  # NumPy: writes through it raise (CuPy has no read-only arrays)
        view.setflags(write=False)
    return view


def _positions(xp, shape, strides, offset):
    """The storage position of every element of a strided layout, as an integer array of ``shape``."""
    index = xp.full(tuple(shape), offset, dtype=xp.int64)
    for d, (n, s) in enumerate(zip(shape, strides)):
        step = xp.arange(n, dtype=xp.int64) * s
        index = index + step.reshape((n,) + (1,) * (len(shape) - d - 1))
    return index


@declare
def as_strided(input: Tensor, size, stride, storage_offset=None) -> Tensor:
    """A view of ``input``'s storage with the given ``size``, ``stride`` and ``storage_offset`` (elements).

    minigrad's is for reading: the view may read only elements of ``input`` itself (not other parts of
    the storage of a view), and writing into it raises.
    """
    size, stride = _int_list("size", 1, size), _int_list("stride", 2, stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got strides: {stride}")
    if any(n < 0 for n in size):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={size} and strides={stride}")
    x = input.array
    owner, x_offset = _storage(x)
    offset = x_offset if storage_offset is None else storage_offset
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    _check_in_storage(size, stride, offset, x.itemsize, owner.nbytes)
    xp = get_array_module(x)
    in_index = _positions(xp, x.shape, _element_strides(x), x_offset)
    out_index = _positions(xp, size, stride, offset)
    count = xp.bincount(in_index.reshape(-1), minlength=int(out_index.max()) + 1 if out_index.size else 0)
    if out_index.size and not (count[out_index] > 0).all():
        raise RuntimeError(
            "as_strided: minigrad's view reads only elements of the input itself, and this one reaches other parts "
            "of its storage (as_strided the tensor that owns the memory instead)"
        )
    count = count[: int(in_index.max()) + 1] if in_index.size else count[:0]
    shared = count.astype(x.dtype) if in_index.size and (count > 1).any() else None
    op = AsStrided(size, stride, offset - x_offset, _layout_of(x), in_index, out_index, shared)
    return op(input)


def _int_list(name: str, position: int, values) -> list:
    if not isinstance(values, (tuple, list)):
        raise TypeError(
            f"as_strided(): argument '{name}' (position {position}) must be tuple of ints, not {type(values).__name__}"
        )
    values = list(values)
    for i, v in enumerate(values):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(
                f"as_strided(): argument '{name}' (position {position}) must be tuple of ints, but found element "
                f"of type {type(v).__name__} at pos {i}"
            )
    return [int(v) for v in values]


def _check_in_storage(size, stride, offset, item, storage_bytes):
    """torch's error for a view that reaches past the end of its storage."""
    if 0 in size:
        return
    needed = (offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))) * item
    if needed > storage_bytes:
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and itemsize {item} "
            f"requiring a storage size of {needed} are out of bounds for storage of size {storage_bytes}"
        )


# names torch has only as methods or in nn.functional: minigrad.<name> keeps them for existing code
_KEPT = [n for n, d in REGISTRY.items() if d.module == __name__ and not d.top_level and n.isidentifier()]
__all__ = exports(__name__) + _KEPT
