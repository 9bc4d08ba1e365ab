"""In-place ops (``x.add_(y)``, ``x.zero_()``, ``x[i] = v``, ...) by torch's version-counter rule.

Every write goes into ``x.array`` itself, so every tensor that views the same memory (``x[0]``,
``x.T``) sees it, and bumps the *version counter* that ``x`` shares with its views. A graph node
notes the versions of the tensors its backward reads; if one changed, backward raises (see
:meth:`minigrad.autograd.graph.Op.check_saved`).

In grad mode, when ``x`` or a written value requires grad, the write is also *recorded*: the new
values come from the ordinary differentiable op applied to ``x``'s old values, and ``x`` (the same
object) gets that op's node as its ``grad_fn``. A write into a view of ``x`` also gives the view's
root a new history (:class:`WriteBack`, torch's ``CopySlices``), and every live view of that root
gets a fresh ``grad_fn`` from it, so gradients through views taken earlier are right too.

As in torch, writing into a leaf that requires grad (or a view of one) in grad mode is an error,
the result keeps ``x``'s dtype, and a result of a higher category (``int_tensor.add_(0.5)``) is an
error.
"""

from __future__ import annotations

import copy
import functools
import operator
import weakref

from .. import backend
from .. import dtypes as _dt
from ..autograd import graph as _graph
from ..autograd.forward_ad import take_tangent, tangent_of
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..autograd.graph import Op, attach_retain
from ..compute import B
from ..tensor import Tensor
from . import registry
from ._util import check_same_device, is_scalar
from .registry import REGISTRY, declare_inplace, exports

_LEAF_MSG = "a leaf Variable that requires grad is being used in an in-place operation."


# ------------------------------------------------------------------ views: shared memory, shared version
class ViewOp(Op):
    """Base of ops whose output is a view of their input's memory (reshape, permute, basic indexing, ...).

    The output shares its input's version counter and remembers its *root* (the tensor that owns
    the memory) and the chain of view ops from the root to it, so that a recorded write can rewrite
    the root's history and give the views fresh ``grad_fn`` s. View ops read no saved tensors.
    """

    is_view = True  # Reshape sets it per call: NumPy copies when the layout does not allow a view
    saved = ()

    def __call__(self, *inputs):
        out = Op.__call__(self, *inputs)
        if self.is_view:
            register_view(self, inputs[0], out)
        return out


def register_view(op: Op, base: Tensor, out: Tensor) -> None:
    """Make ``out`` (the result of view op ``op`` on ``base``) a view: same version counter, known root."""
    info = getattr(base, "_view", None)
    root, chain = (base, (op,)) if info is None else (info[0], info[1] + (op,))
    out._view = (root, chain)
    out._vc = base._shared_vc()
    if root.requires_grad and root.grad_fn is None:
        return  # a leaf that requires grad never gets a new history, so its views need no refresh
    views = getattr(root, "_views", None)
    if views is None:
        views = root._views = []
    elif len(views) % 32 == 31:  # drop the references to views that are gone, now and then
        views[:] = [r for r in views if r() is not None]
    views.append(weakref.ref(out))


def _fresh(op: Op) -> Op:
    """An unrecorded copy of ``op`` (same parameters), to apply the same view again."""
    new = copy.copy(op)
    for k in ("inputs", "edges", "_versions", "_out", "_fits", "_hooks", "_retain"):
        new.__dict__.pop(k, None)
    return new


def _apply_chain(chain, array):
    """The view of ``array`` that the view ops in ``chain`` select (``array`` has the root's shape)."""
    for op in chain:
        array = _fresh(op).forward(array)
    return array


def _refresh_views(root: Tensor) -> None:
    """After ``root`` got a new history, give each live view of it a ``grad_fn`` on that history."""
    for ref in getattr(root, "_views", None) or ():
        v = ref()
        if v is None:
            continue
        t = root
        for op in v._view[1]:
            t = Op.__call__(_fresh(op), t)  # Op's call: these temporary tensors are not registered as views
        v.grad_fn, v.requires_grad = t.grad_fn, t.requires_grad


class WriteBack(Op):
    """The root of a view after a write through the view: ``root`` with the viewed region replaced by ``value``.

    (torch's ``CopySlices``.) The write itself has already happened in the root's memory, so the
    forward only hands the root's array on; the backward splits the gradient between the root's
    old history (outside the region) and the written value (inside it).
    """

    saved = ()
    once_only = True  # as torch's CopySlices: a second backward after release raises
    linear = True  # create_graph records its backward as a LinearMap, whose adjoint is linear_forward

    def __init__(self, chain):
        self.chain = chain

    def forward(self, root, value):
        return root

    def linear_forward(self, root, value):
        """What ``forward`` stands for (the write already happened in memory): ``root`` with the region set."""
        out = root.copy()
        _apply_chain(self.chain, out)[...] = value
        return out

    def backward(self, grad):
        need_root, need_value = self.needs_input_grad
        g_root = g_value = None
        if need_root:  # the overwritten region no longer reaches the output
            g_root = grad.copy()
            region = _apply_chain(self.chain, g_root)
            if not B.may_share_memory(region, g_root):
                raise RuntimeError(
                    "in-place write through a view: minigrad cannot map this view back onto its base "
                    "(a reshape that copies); clone() the view before writing into it"
                )
            region[...] = 0
        if need_value:
            g_value = _apply_chain(self.chain, grad)
        return g_root, g_value


# ------------------------------------------------------------------ recording a write
def check_inplace(t: Tensor) -> None:
    """torch's errors for writing into a leaf that requires grad, or into a view of one, in grad mode."""
    if not is_grad_enabled():
        return
    if t.requires_grad and t.grad_fn is None:
        raise RuntimeError(_LEAF_MSG)
    info = getattr(t, "_view", None)
    if info is not None and info[0].requires_grad:
        if info[0].grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")
        if not t.requires_grad:
            raise RuntimeError(
                "A view was created in no_grad mode and is being modified inplace with grad mode "
                "enabled. Create the view in grad mode (or clone() it) before writing into it."
            )


def old_values(t: Tensor, keep: bool) -> Tensor:
    """``t``'s current values and history, as the input of a recorded write.

    With ``keep`` the values are copied (the op's backward reads them, and the write is about to
    overwrite them). Without, the tensor shares ``t``'s memory *and version counter*: should its op
    read it in backward after all, the write's version bump makes backward raise instead of using
    overwritten values.
    """
    if keep:
        old = Tensor._make(t.array.copy(), t.requires_grad, t.grad_fn)
    else:
        old = Tensor._make(t.array, t.requires_grad, t.grad_fn)
        old._vc = t._shared_vc()
    if _graph.dual_state[0]:  # forward mode: the old values move in t's direction too
        take_tangent(old, t)
    return old


def guard_output(node: Op, array, t: Tensor) -> None:
    """If ``node`` kept ``array`` (its output, ``t``'s memory) for its backward, note ``t``'s version now.

    Ops such as ``exp`` read their own output in backward; a later write into it must make backward
    raise, as in torch. Ops that declare ``saves_output`` are checked from the start; this catches
    the others when the output itself (or a view of it) is written.
    """
    if node is None or node._out is not None:
        return
    for v in node.__dict__.values():
        if v is array or (type(v) is type(array) and B.may_share_memory(v, array)):
            node._out = (t._shared_vc(), t._version, array)
            node._versions = (-1, *(node._versions or (None,))[1:])  # backward must call check_saved
            return


def _root(t: Tensor) -> Tensor:
    info = getattr(t, "_view", None)
    return t if info is None else info[0]


def commit(self: Tensor, new: Tensor, op: str) -> Tensor:
    """Write the recorded result ``new`` into ``self`` and make it ``self``'s (and its root's) history."""
    if new.array.dtype != self.array.dtype:
        from .convert import to_dtype

        new = to_dtype(new, self.dtype)
    root = _root(self)
    array = new.array

    def put(a):
        a[...] = array

    _write(op, self, put)
    if _graph.dual_state[0]:
        take_tangent(self, new)
    node = new.grad_fn
    if node is not None:  # e.g. exp_: its node reads its output, which is now self at its new version
        node._out = None
        guard_output(node, array, self)
    if root is self:
        _move_retain(self, self.grad_fn, node)
        self.grad_fn, self.requires_grad = node, new.requires_grad
    else:
        out = WriteBack(self._view[1])(root, new)
        _move_retain(root, root.grad_fn, out.grad_fn)
        root.grad_fn, root.requires_grad = out.grad_fn, out.requires_grad
        if _graph.dual_state[0]:
            take_tangent(root, out)  # the root's tangent, with the view's part replaced
    _refresh_views(root)  # self among them, when it is a view
    return self


def _move_retain(t: Tensor, old: Op, new: Op) -> None:
    """retain_grad() stays with the tensor, as in torch: after a write its .grad is the new version's."""
    if old is not None and new is not None and old._retain is not None and old._retain() is t:
        old._retain = None
        attach_retain(new, t)


def must_record(self: Tensor, *others) -> bool:
    """Whether this in-place write must be recorded for autograd; raises where torch forbids the write."""
    if _graph.dual_state[0] and _carries_tangent(self, others):
        return True  # forward mode: the op computes the new value's tangent, which commit() hands to self
    if not is_grad_enabled():
        return False
    if not (self.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in others)):
        info = getattr(self, "_view", None)
        if info is None or not info[0].requires_grad:
            return False
    check_inplace(self)  # a view of a tensor that requires grad: raises when the view cannot be recorded
    return True


def _carries_tangent(self: Tensor, others) -> bool:
    return any(tangent_of(t) is not None for t in (self, *others) if isinstance(t, Tensor))


def write_error(op: str, array) -> RuntimeError:
    """The error for a write into a read-only array: an expanded view (a stride of 0), as torch words it;
    otherwise an ``as_strided`` view (minigrad keeps them read-only) or a read-only NumPy array."""
    if 0 not in array.strides:
        return RuntimeError(
            f"{op}: the written-to tensor's memory is read-only: it is an as_strided view (minigrad's are "
            "read-only) or a read-only NumPy array given to from_numpy. Please clone() the tensor before "
            "performing the operation."
        )
    return RuntimeError(
        f"{op}: unsupported operation: more than one element of the written-to tensor refers to a "
        "single memory location (it is an expanded, read-only view). Please clone() the tensor "
        "before performing the operation."
    )


def _check_cast(op: str, self: Tensor, result: _dt.dtype) -> None:
    if result._kind > self.dtype._kind:
        raise RuntimeError(
            f"{op}: result type {_dt.type_name(result)} can't be cast to the desired output type "
            f"{_dt.type_name(self.dtype)}"
        )


def _check_shape(op: str, self: Tensor, other) -> None:
    if not isinstance(other, Tensor):
        return
    check_same_device(op, self, other)  # also for equal shapes: torch names both devices
    if other.shape == self.shape:
        return
    a, b = tuple(self.shape), tuple(other.shape)
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    out = []
    for x, y in zip(pa, pb):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(
                f"{op}: the size of tensor a ({x}) must match the size of tensor b ({y}) "
                f"(shapes {list(a)} and {list(b)})"
            )
        out.append(y if x == 1 else x)
    if tuple(out) != a:
        raise RuntimeError(f"{op}: output with shape {list(a)} doesn't match the broadcast shape {out}")


def check_copy_overlap(op: str, dest, src, full_ok: bool = True) -> None:
    """A write that reads memory the destination shares (``x[1:4] = x[0:3]``, ``copy_``, ``x.add_(x[0])``).

    The very same memory, laid out the same (``x.add_(x)``, ``x.copy_(x)``), is fine. Otherwise torch
    refuses it when both are dense blocks of memory that overlap (``x.copy_(x.t())`` too; with
    ``full_ok=False``, as its index_put, even the very same memory), and raises so here too. Where either
    has gaps and they share elements, torch copies element by element and the result depends on its loop
    order; minigrad refuses those as well rather than give another answer. Disjoint arrays are fine.
    """
    if type(dest) is not type(src) or not B.may_share_memory(dest, src):  # other devices share nothing
        return
    (lo_d, hi_d), (lo_s, hi_s) = _extent(dest), _extent(src)
    dense = hi_d - lo_d == dest.size * dest.itemsize and hi_s - lo_s == src.size * src.itemsize
    same = _address(dest) == _address(src) and _layout(dest) == _layout(src)
    if dense:
        refuse = not (full_ok and same) and lo_d < hi_s and lo_s < hi_d
        message = "unsupported operation: some elements of the input tensor and the written-to tensor refer"
    else:
        refuse = not same and B.shares_memory(dest, src)
        message = "minigrad does not copy between tensors that share some elements but not their layout (torch's"
        message += " result depends on its loop order); the source and the written-to tensor refer"
    if refuse:
        raise RuntimeError(
            f"{op}: {message} to a single memory location. Please clone() the tensor before performing the operation."
        )


def _layout(array) -> list:
    """(size, stride) of each dim longer than 1: what decides which element sits where (``x`` and ``x[None]``
    have the same)."""
    return [(n, stride) for n, stride in zip(array.shape, array.strides) if n > 1]


def _extent(array) -> tuple:
    """The byte range ``[low, high)`` that ``array``'s elements occupy."""
    low = high = _address(array)
    for n, stride in zip(array.shape, array.strides):
        if n > 1:
            if stride < 0:
                low += (n - 1) * stride
            else:
                high += (n - 1) * stride
    return low, high + array.itemsize


def _address(array) -> int:
    """Where the array's first element lives (NumPy's or CUDA's array interface)."""
    interface = getattr(array, "__array_interface__", None) or array.__cuda_array_interface__
    return interface["data"][0]


def _write(op: str, self: Tensor, fn) -> Tensor:
    """Run ``fn(array)``, which writes into ``array``, and bump the version; a read-only (expanded) array
    gives torch's error."""
    try:
        fn(self.array)
    except ValueError:
        if not getattr(self.array.flags, "writeable", True):
            raise write_error(op, self.array) from None
        raise
    return note_write(self)


def note_write(t: Tensor) -> Tensor:
    """Bump the version that ``t`` shares with its views, after a write into its memory."""
    root = _root(t)
    if root.grad_fn is not None:  # the node that made the root may read its output: it must see the write
        guard_output(root.grad_fn, root.array, root)
    t._bump_version()
    return t


class _Ops:
    """The out-of-place ops, by name, from their declarations: ``_ops().mul`` is ``minigrad.mul`` (the
    registry, not the ops package, so that this module does not import the families that import it)."""

    def __getattr__(self, name):
        return REGISTRY[name].fn


_OPS = _Ops()


def _ops() -> _Ops:
    return _OPS


# ------------------------------------------------------------------ arithmetic
def _method_only(fn, dunders=()):
    """Declare a hand-written in-place function torch has only as a Tensor method (``x.add_``, no ``torch.add_``)."""
    return declare_inplace(fn, top_level=False, dunders=dunders)


def _binary_(op: str, self: Tensor, other, fn_name: str, write, **kwargs) -> Tensor:
    """``self = fn_name(self, other)``; ``write(a, b)`` does it in place (``operator.iadd``: ``a += b``) when
    the result has ``self``'s dtype."""
    if not isinstance(other, Tensor) and not is_scalar(other):
        raise TypeError(f"{op}: expected a Tensor or a number, got {type(other).__name__}")
    result = _dt.result_type(self, other)
    if fn_name == "div" and kwargs.get("rounding_mode") is None and not result.is_floating_point:
        result = _dt.get_default_dtype()
    _check_cast(op, self, result)
    _check_shape(op, self, other)
    if isinstance(other, Tensor):
        check_copy_overlap(op, self.array, other.array)
    if must_record(self, other):
        old = old_values(self, keep=fn_name in ("mul", "div"))  # their backward reads self's old values
        return commit(self, getattr(_ops(), fn_name)(old, other, **kwargs), op)
    b = other.array if isinstance(other, Tensor) else other
    if write and result.np == self.array.dtype:
        if isinstance(other, Tensor) and b.dtype != self.array.dtype:
            b = b.astype(self.array.dtype)
        return _write(op, self, lambda a: write(a, b))
    # general case (another computation dtype, rounding division): compute, then copy in
    res = getattr(_ops(), fn_name)(
        Tensor._make(self.array), Tensor._make(b) if isinstance(other, Tensor) else b, **kwargs
    ).array

    def put(a):
        a[...] = res

    return _write(op, self, put)


@functools.partial(_method_only, dunders=("__iadd__",))
def add_(self: Tensor, other, *, alpha=1) -> Tensor:
    """``self += alpha * other`` in place."""
    if alpha != 1:
        other = other * alpha
    return _binary_("add_", self, other, "add", operator.iadd)


@functools.partial(_method_only, dunders=("__isub__",))
def sub_(self: Tensor, other, *, alpha=1) -> Tensor:
    """``self -= alpha * other`` in place."""
    if alpha != 1:
        other = other * alpha
    return _binary_("sub_", self, other, "sub", operator.isub)


@functools.partial(_method_only, dunders=("__imul__",))
def mul_(self: Tensor, other) -> Tensor:
    """``self *= other`` in place."""
    return _binary_("mul_", self, other, "mul", operator.imul)


@functools.partial(_method_only, dunders=("__itruediv__",))
def div_(self: Tensor, other, *, rounding_mode=None) -> Tensor:
    """``self /= other`` in place (an integer tensor needs ``rounding_mode``, as in torch)."""
    if rounding_mode is None:
        return _binary_("div_", self, other, "div", operator.itruediv)
    return _binary_("div_", self, other, "div", None, rounding_mode=rounding_mode)


@declare_inplace
def clamp_(input: Tensor, min=None, max=None) -> Tensor:  # noqa: A002  (torch's argument names)
    """Clip the values into ``[min, max]`` in place (either bound may be None, not both)."""
    if min is None and max is None:
        raise RuntimeError("clamp_: At least one of 'min' or 'max' must not be None")
    bounds = [b for b in (min, max) if b is not None]
    _check_cast("clamp_", input, _dt.result_type(input, *bounds))
    for b in bounds:
        _check_shape("clamp_", input, b)
    if must_record(input, *bounds):
        return commit(input, _ops().clamp(old_values(input, keep=True), min, max), "clamp_")
    lo, hi = (b.array if isinstance(b, Tensor) else b for b in (min, max))
    if lo is None or hi is None:  # one-sided: a single maximum/minimum, as clip wants both bounds
        return _write("clamp_", input, lambda a: B.maximum(a, lo, out=a) if hi is None else B.minimum(a, hi, out=a))
    return _write("clamp_", input, lambda a: B.minimum(B.maximum(a, lo, out=a), hi, out=a))


clip_ = declare_inplace(clamp_, name="clip_")


@declare_inplace
def exp_(input: Tensor) -> Tensor:
    """``input = exp(input)`` in place."""
    _check_cast("exp_", input, input.dtype if input.is_floating_point() else _dt.get_default_dtype())
    if must_record(input):
        return commit(input, _ops().exp(old_values(input, keep=False)), "exp_")
    return _write("exp_", input, lambda a: B.exp(a, out=a))


@declare_inplace
def relu_(input: Tensor) -> Tensor:
    """``input = max(input, 0)`` in place."""
    if must_record(input):
        return commit(input, _ops().relu(old_values(input, keep=False)), "relu_")
    return _write("relu_", input, lambda a: B.maximum(a, 0, out=a))


@_method_only
def masked_fill_(self: Tensor, mask: Tensor, value) -> Tensor:
    """Write ``value`` where the (broadcast) bool ``mask`` is True."""
    if not isinstance(mask, Tensor) or mask.array.dtype.kind != "b":
        raise RuntimeError(
            "masked_fill_ only supports boolean masks, but got mask with dtype "
            f"{mask.dtype if isinstance(mask, Tensor) else type(mask).__name__}"
        )
    _check_shape("masked_fill_", self, mask)
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(
            f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with {value.ndim} dimension(s)."
        )
    if must_record(self, value):
        return commit(self, _ops().masked_fill(old_values(self, keep=False), mask, value), "masked_fill_")
    v = value.array if isinstance(value, Tensor) else value
    v = B.asarray(v, like=self.array).astype(self.array.dtype)
    return _write("masked_fill_", self, lambda a: B.copyto(a, v, where=mask.array))


# ------------------------------------------------------------------ overwriting
class Fill(Op):
    """The output is a constant (or the second input, broadcast): nothing flows back to the old values."""

    saved = ()

    def __init__(self, value=None):
        self.value = value

    def forward(self, x, v=None):
        out = B.empty(x.shape, x.dtype, like=x)
        out[...] = self.value if v is None else v
        return out

    def backward(self, grad):
        needs = self.needs_input_grad
        gx = B.zeros_like(grad) if needs[0] else None
        if len(needs) == 1:
            return (gx,)
        return gx, (grad if needs[1] else None)  # the engine sums it back to the value's shape


def _fill_with(op: str, self: Tensor, value) -> Tensor:
    """Overwrite every element with ``value`` (a number, or an array of self's shape)."""
    if must_record(self):
        return commit(self, Fill(value)(old_values(self, keep=False)), op)

    def put(a):
        a[...] = value

    return _write(op, self, put)


@declare_inplace
def zero_(input: Tensor) -> Tensor:
    """Set every element to 0."""
    return _fill_with("zero_", input, 0)


@declare_inplace
def fill_(input: Tensor, value) -> Tensor:
    """Set every element to ``value`` (a number or a 0-d tensor)."""
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(
                f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions."
            )
        if must_record(input, value):
            from .convert import to_dtype

            v = to_dtype(value, input.dtype) if value.dtype != input.dtype else value
            return commit(input, Fill()(old_values(input, keep=False), v), "fill_")
        value = value.array
    elif not is_scalar(value):
        raise TypeError(f"fill_: expected a number or a 0-d tensor, got {type(value).__name__}")
    return _fill_with("fill_", input, value)


@_method_only
def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src``'s values (broadcast, cast to ``self``'s dtype, moved to its device) into ``self``."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_: src must be a Tensor, got {type(src).__name__}")
    s, d = tuple(src.shape), tuple(self.shape)
    if len(s) > len(d) or any(a != b and a != 1 for a, b in zip(s[::-1], d[::-1])):
        raise RuntimeError(f"copy_: the size of src {list(s)} must be broadcastable to the destination shape {list(d)}")
    check_copy_overlap("copy_", self.array, src.array)
    if must_record(self, src):
        if src.device != self.device:
            src = _ops().to_device(src, self.device)
        if src.dtype != self.dtype and self.is_floating_point():
            src = _ops().to_dtype(src, self.dtype)
        return commit(self, Fill()(old_values(self, keep=False), src), "copy_")
    arr = backend.to_device(src.array, self.device)

    def put(a):
        a[...] = arr

    return _write("copy_", self, put)


@_method_only
def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    """Fill with draws from U(a, b), from ``generator`` or the default generator."""
    from ..random import rng

    if not self.is_floating_point():
        raise RuntimeError(
            f"uniform_: not implemented for '{_dt.type_name(self.dtype)}' (needs a floating-point tensor)"
        )
    host = rng(generator).uniform(a, b, size=tuple(self.shape)).astype(self.array.dtype)
    return _fill_with("uniform_", self, backend.to_device(host, self.device))


@_method_only
def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with draws from N(mean, std^2), from ``generator`` or the default generator."""
    from ..random import rng

    if not self.is_floating_point():
        raise RuntimeError(
            f"normal_: not implemented for '{_dt.type_name(self.dtype)}' (needs a floating-point tensor)"
        )
    host = rng(generator).normal(mean, std, size=tuple(self.shape)).astype(self.array.dtype)
    return _fill_with("normal_", self, backend.to_device(host, self.device))


# ------------------------------------------------------------------ the rest, through their out-of-place ops
def apply_inplace(op: str, self: Tensor, compute, *others, keep: bool = True) -> Tensor:
    """An in-place op written as ``compute(t)``, the out-of-place op applied to ``t``.

    ``keep=False`` for ops whose backward does not read ``t`` (saves a copy of the old values)."""
    recorded = must_record(self, *others)
    if recorded:
        new = compute(old_values(self, keep))
    else:
        with no_grad():
            new = compute(Tensor._make(self.array))
    _check_cast(op, self, new.dtype)
    if new.shape != self.shape:
        raise RuntimeError(
            f"{op}: output with shape {list(self.shape)} doesn't match the broadcast shape {list(new.shape)}"
        )
    if recorded:
        return commit(self, new, op)
    res = new.array

    def put(a):
        a[...] = res

    return _write(op, self, put)


_READS_OUTPUT_OR_NOTHING = ("neg", "sqrt", "sigmoid", "tanh", "reciprocal", "floor", "ceil", "trunc")


def _unary(name):
    keep = name not in _READS_OUTPUT_OR_NOTHING

    def fn(input: Tensor) -> Tensor:
        return apply_inplace(name + "_", input, lambda t: getattr(_ops(), name)(t), keep=keep)

    fn.__name__ = name + "_"
    fn.__doc__ = f"``{name}`` in place."
    return fn


neg_, abs_, sqrt_, log_, sigmoid_, tanh_, sin_, cos_, square_, reciprocal_, floor_, ceil_, trunc_ = (
    declare_inplace(_unary(n))
    for n in (
        "neg",
        "abs",
        "sqrt",
        "log",
        "sigmoid",
        "tanh",
        "sin",
        "cos",
        "square",
        "reciprocal",
        "floor",
        "ceil",
        "trunc",
    )
)


@_method_only
def pow_(self: Tensor, exponent) -> Tensor:
    """``self = self ** exponent`` in place."""
    return apply_inplace("pow_", self, lambda t: _ops().pow(t, exponent), exponent)


@declare_inplace
def clamp_min_(input: Tensor, min) -> Tensor:  # noqa: A002
    """``input = max(input, min)`` in place."""
    return clamp_(input, min=min)


@declare_inplace
def clamp_max_(input: Tensor, max) -> Tensor:  # noqa: A002
    """``input = min(input, max)`` in place."""
    return clamp_(input, max=max)


@_method_only
def lerp_(self: Tensor, end: Tensor, weight) -> Tensor:
    """``self += weight * (end - self)`` in place."""
    return apply_inplace("lerp_", self, lambda t: _ops().lerp(t, end, weight), end, weight)


@_method_only
def addcmul_(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """``self += value * tensor1 * tensor2`` in place (used by hand-written optimisers)."""
    return apply_inplace(
        "addcmul_", self, lambda t: t + _ops().mul(tensor1, tensor2) * value, tensor1, tensor2, keep=False
    )


@_method_only
def addcdiv_(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """``self += value * tensor1 / tensor2`` in place."""
    return apply_inplace(
        "addcdiv_", self, lambda t: t + _ops().div(tensor1, tensor2) * value, tensor1, tensor2, keep=False
    )


@_method_only
def scatter_(self: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce=None) -> Tensor:
    """In-place :func:`minigrad.scatter` (e.g. ``zeros(n, C).scatter_(1, labels[:, None], 1.0)``)."""
    return apply_inplace(
        "scatter_", self, lambda t: _ops().scatter(t, dim, index, src, value=value, reduce=reduce), src
    )


@_method_only
def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """In-place :func:`minigrad.scatter_add`."""
    return apply_inplace("scatter_add_", self, lambda t: _ops().scatter_add(t, dim, index, src), src)


# torch has these only as Tensor methods: minigrad.<name> keeps them for existing code
_KEPT = [n for n, d in REGISTRY.items() if d.module == __name__ and not d.top_level]
__all__ = exports(__name__) + _KEPT


registry.use_inplace_writer(apply_inplace)  # the registry makes in-place variants with it
