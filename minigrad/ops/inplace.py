"""In-place ops (``x.add_(y)``, ``x.zero_()``, ``x[i] = v``, ...): torch's rules on top of NumPy.

Three cases, decided at each call:

1. **Nothing to record** (grad mode off, as in an optimiser step under ``no_grad``, or no tensor
   involved requires grad): the numbers are written into ``x.array`` itself. Every tensor that
   views the same memory (``w = x[0]``, ``x.T``) sees the change, as in torch.
2. **A leaf that requires grad, with grad mode on**: an error, as in torch: autograd would need
   the old values of a tensor whose gradient it is about to compute.
3. **A non-leaf (or a write of a value that requires grad), with grad mode on**: the result is
   computed *out of place* by the ordinary differentiable op, and ``x`` is **rebased** onto it:
   ``x.array`` and ``x.grad_fn`` are replaced by the result's. The values and gradients are
   correct. A view's base is rebased too (``h[0].mul_(2)`` changes ``h``), but other views taken
   earlier keep the old array. Writing into a view of a leaf that requires grad is an error, as in
   torch. Ops recorded *before* the write keep seeing the old value (the engine records non-leaf
   inputs as snapshots). Not covered: a tensor that requires no grad, already used by a recorded
   op (or viewed), then overwritten in place with a value that requires grad.

The result always keeps ``x``'s dtype. As in torch, a result of a higher category than ``x``
(a float result into an integer tensor, ``int_tensor.add_(0.5)``) is an error. Each write
bumps ``x._version``.
"""
from __future__ import annotations

import copy

from .. import backend
from .. import dtypes as _dt
from ..autograd.graph import Op
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..tensor import Tensor
from ._util import check_same_device, is_scalar

xp_of = backend.get_array_module

__all__ = ["add_", "sub_", "mul_", "div_", "zero_", "fill_", "copy_", "clamp_", "clip_", "masked_fill_",
           "uniform_", "normal_", "exp_", "relu_", "neg_", "abs_", "sqrt_", "log_", "sigmoid_", "tanh_", "sin_", "cos_",
           "square_", "reciprocal_", "floor_", "ceil_", "trunc_", "pow_", "clamp_min_", "clamp_max_", "lerp_",
           "addcmul_", "addcdiv_", "scatter_", "scatter_add_"]

_LEAF_MSG = "a leaf Variable that requires grad is being used in an in-place operation."
_TORCH_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long",
                "float16": "Half", "float32": "Float", "float64": "Double"}


# ------------------------------------------------------------------ the machinery shared with setitem
def check_inplace(t: Tensor) -> None:
    """torch's errors for writing into a leaf that requires grad, or into a view of one, in grad mode."""
    if not (t.requires_grad and is_grad_enabled()):
        return
    if t.grad_fn is None:
        raise RuntimeError(_LEAF_MSG)
    fn = t.grad_fn
    while getattr(fn, "is_view", False) and fn.inputs:  # walk up a chain of views to its base
        base = fn.inputs[0]
        if base.grad_fn is None:
            if base.requires_grad:
                raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                                   "operation.")
            return
        fn = base.grad_fn


def snapshot(t: Tensor) -> Tensor:
    """A new Tensor object holding ``t``'s current value and graph position (the input of the rebase)."""
    return Tensor._make(t.array, t.requires_grad, t.grad_fn)


class ViewOp(Op):
    """Base of ops whose output is a view of their input's memory (reshape, permute, basic indexing, ...).

    A view op remembers the tensor it viewed, its *base* (until backward frees the node). When an
    in-place write on the view is recorded, :func:`rebase` writes the new values back into the base
    as well, as torch does (through a chain of views: ``h.t()[1:].add_(1)`` reaches ``h``).
    """

    is_view = True
    _base = None

    def __call__(self, *inputs):
        out = Op.__call__(self, *inputs)
        if out.grad_fn is self:
            self._base = inputs[0]
        return out


def _fresh(op: Op) -> Op:
    """An unrecorded copy of ``op`` (same parameters), to apply the same view again."""
    new = copy.copy(op)
    for k in ("inputs", "_hooks", "_retain", "_base"):
        new.__dict__.pop(k, None)
    return new


class WriteBack(Op):
    """``base`` with the region that the view op selects replaced by ``value`` (a write through a view)."""

    def __init__(self, view: Op):
        self.view = view  # used only for its forward on arrays, which returns a view

    def forward(self, base, value):
        out = base.copy()
        self.view.forward(out)[...] = value
        return out

    def backward(self, grad):
        need_base, need_value = self.needs_input_grad
        gb = gv = None
        if need_base:  # the overwritten region no longer reaches the output
            gb = grad.copy()
            self.view.forward(gb)[...] = 0
        if need_value:
            gv = self.view.forward(grad)
        return gb, gv


def rebase(t: Tensor, new: Tensor) -> Tensor:
    """Make ``t`` the result ``new`` of an out-of-place computation (same shape and dtype).

    When ``t`` is a recorded view of a (non-leaf) base tensor, the new values are written back into
    the base too (recursively, for a view of a view), and ``t`` becomes the same view of the new base.
    """
    fn = t.grad_fn
    if getattr(fn, "is_view", False) and getattr(fn, "_base", None) is not None and fn.inputs is not None:
        base, src = fn._base, fn.inputs[0]
        if base.grad_fn is not None and base.array is src.array and \
                base.grad_fn is src.grad_fn:
            rebase(base, WriteBack(_fresh(fn))(snapshot(base), new))
            new = _fresh(fn)(base)
    t.array, t.grad_fn, t.requires_grad = new.array, new.grad_fn, new.requires_grad
    t._version += 1
    return t


def write_error(op: str) -> RuntimeError:
    return RuntimeError(f"{op}: unsupported operation: more than one element of the written-to tensor refers to a "
                        "single memory location (it is an expanded, read-only view). Please clone() the tensor "
                        "before performing the operation.")


def _record(self: Tensor, *others) -> bool:
    """Whether this in-place op must be recorded for autograd (and is allowed to be)."""
    if not is_grad_enabled():
        return False
    if not (self.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in others)):
        return False
    check_inplace(self)
    return True


def _check_cast(op: str, self: Tensor, result: _dt.dtype) -> None:
    if result._kind > self.dtype._kind:
        raise RuntimeError(f"{op}: result type {_TORCH_NAMES[result.name]} can't be cast to the desired output type "
                           f"{_TORCH_NAMES[self.dtype.name]}")


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
            raise RuntimeError(f"{op}: the size of tensor a ({x}) must match the size of tensor b ({y}) "
                               f"(shapes {list(a)} and {list(b)})")
        out.append(y if x == 1 else x)
    if tuple(out) != a:
        raise RuntimeError(f"{op}: output with shape {list(a)} doesn't match the broadcast shape {out}")


def _finish(op: str, self: Tensor, new: Tensor) -> Tensor:
    """Rebase ``self`` onto ``new``, cast back to ``self``'s dtype."""
    if new.array.dtype != self.array.dtype:
        from .convert import to_dtype

        new = to_dtype(new, self.dtype)
    return rebase(self, new)


def _write(op: str, self: Tensor, fn) -> Tensor:
    """Run ``fn(array)``, which writes into ``array``; a read-only (expanded) array gives torch's error."""
    try:
        fn(self.array)
    except ValueError:
        if not getattr(self.array.flags, "writeable", True):
            raise write_error(op) from None
        raise
    self._version += 1
    return self


def _ops():
    from .. import ops

    return ops


# ------------------------------------------------------------------ arithmetic
def _binary_(op: str, self: Tensor, other, fn_name: str, ufunc_name: str, **kwargs) -> Tensor:
    if not isinstance(other, Tensor) and not is_scalar(other):
        raise TypeError(f"{op}: expected a Tensor or a number, got {type(other).__name__}")
    result = _dt.result_type(self, other)
    if fn_name == "div" and kwargs.get("rounding_mode") is None and not result.is_floating_point:
        result = _dt.get_default_dtype()
    _check_cast(op, self, result)
    _check_shape(op, self, other)
    if _record(self, other):
        return _finish(op, self, getattr(_ops(), fn_name)(snapshot(self), other, **kwargs))
    b = other.array if isinstance(other, Tensor) else other
    if ufunc_name and result.np == self.array.dtype:
        xp = xp_of(self.array)
        if isinstance(other, Tensor) and b.dtype != self.array.dtype:
            b = b.astype(self.array.dtype)
        return _write(op, self, lambda a: getattr(xp, ufunc_name)(a, b, out=a))
    # general case (another computation dtype, rounding division): compute, then copy in
    res = getattr(_ops(), fn_name)(Tensor._make(self.array), Tensor._make(b) if isinstance(other, Tensor) else b,
                                   **kwargs).array

    def put(a):
        a[...] = res

    return _write(op, self, put)


def add_(self: Tensor, other, *, alpha=1) -> Tensor:
    """``self += alpha * other`` in place."""
    if alpha != 1:
        other = other * alpha
    return _binary_("add_", self, other, "add", "add")


def sub_(self: Tensor, other, *, alpha=1) -> Tensor:
    """``self -= alpha * other`` in place."""
    if alpha != 1:
        other = other * alpha
    return _binary_("sub_", self, other, "sub", "subtract")


def mul_(self: Tensor, other) -> Tensor:
    """``self *= other`` in place."""
    return _binary_("mul_", self, other, "mul", "multiply")


def div_(self: Tensor, other, *, rounding_mode=None) -> Tensor:
    """``self /= other`` in place (an integer tensor needs ``rounding_mode``, as in torch)."""
    if rounding_mode is None:
        return _binary_("div_", self, other, "div", "true_divide")
    return _binary_("div_", self, other, "div", None, rounding_mode=rounding_mode)


def clamp_(self: Tensor, min=None, max=None) -> Tensor:  # noqa: A002  (torch's argument names)
    """Clip the values into ``[min, max]`` in place (either bound may be None, not both)."""
    if min is None and max is None:
        raise RuntimeError("clamp_: At least one of 'min' or 'max' must not be None")
    bounds = [b for b in (min, max) if b is not None]
    _check_cast("clamp_", self, _dt.result_type(self, *bounds))
    for b in bounds:
        _check_shape("clamp_", self, b)
    if _record(self, *bounds):
        return _finish("clamp_", self, _ops().clamp(snapshot(self), min, max))
    xp = xp_of(self.array)
    lo, hi = (b.array if isinstance(b, Tensor) else b for b in (min, max))
    if lo is None or hi is None:  # one-sided: a single maximum/minimum, as clip wants both bounds
        return _write("clamp_", self, lambda a: xp.maximum(a, lo, out=a) if hi is None else xp.minimum(a, hi, out=a))
    return _write("clamp_", self, lambda a: xp.minimum(xp.maximum(a, lo, out=a), hi, out=a))


clip_ = clamp_


def exp_(self: Tensor) -> Tensor:
    """``self = exp(self)`` in place."""
    _check_cast("exp_", self, self.dtype if self.is_floating_point() else _dt.get_default_dtype())
    if _record(self):
        return _finish("exp_", self, _ops().exp(snapshot(self)))
    xp = xp_of(self.array)
    return _write("exp_", self, lambda a: xp.exp(a, out=a))


def relu_(self: Tensor) -> Tensor:
    """``self = max(self, 0)`` in place."""
    if _record(self):
        return _finish("relu_", self, _ops().relu(snapshot(self)))
    xp = xp_of(self.array)
    return _write("relu_", self, lambda a: xp.maximum(a, 0, out=a))


def masked_fill_(self: Tensor, mask: Tensor, value) -> Tensor:
    """Write ``value`` where the (broadcast) bool ``mask`` is True."""
    if not isinstance(mask, Tensor) or mask.array.dtype.kind != "b":
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{mask.dtype if isinstance(mask, Tensor) else type(mask).__name__}")
    _check_shape("masked_fill_", self, mask)
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value.ndim} dimension(s).")
    if _record(self, value):
        return _finish("masked_fill_", self, _ops().masked_fill(snapshot(self), mask, value))
    xp = xp_of(self.array)
    v = value.array if isinstance(value, Tensor) else value
    v = xp.asarray(v).astype(self.array.dtype)
    return _write("masked_fill_", self, lambda a: xp.copyto(a, v, where=mask.array))


# ------------------------------------------------------------------ overwriting
class Fill(Op):
    """The output is a constant (or the second input, broadcast): nothing flows back to the old values."""

    def __init__(self, value=None):
        self.value = value

    def forward(self, x, v=None):
        out = xp_of(x).empty(x.shape, x.dtype)
        out[...] = self.value if v is None else v
        return out

    def backward(self, grad):
        needs = self.needs_input_grad
        gx = xp_of(grad).zeros_like(grad) if needs[0] else None
        if len(needs) == 1:
            return (gx,)
        return gx, (grad if needs[1] else None)  # the engine sums it back to the value's shape


def _fill_with(op: str, self: Tensor, value) -> Tensor:
    """Overwrite every element with ``value`` (a number, or an array of self's shape)."""
    if _record(self):
        return rebase(self, Fill(value)(snapshot(self)))

    def put(a):
        a[...] = value

    return _write(op, self, put)


def zero_(self: Tensor) -> Tensor:
    """Set every element to 0."""
    return _fill_with("zero_", self, 0)


def fill_(self: Tensor, value) -> Tensor:
    """Set every element to ``value`` (a number or a 0-d tensor)."""
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                               "dimensions.")
        if _record(self, value):
            from .convert import to_dtype

            v = to_dtype(value, self.dtype) if value.dtype != self.dtype else value
            return rebase(self, Fill()(snapshot(self), v))
        value = value.array
    elif not is_scalar(value):
        raise TypeError(f"fill_: expected a number or a 0-d tensor, got {type(value).__name__}")
    return _fill_with("fill_", self, value)


def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src``'s values (broadcast, cast to ``self``'s dtype, moved to its device) into ``self``."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_: src must be a Tensor, got {type(src).__name__}")
    s, d = tuple(src.shape), tuple(self.shape)
    if len(s) > len(d) or any(a != b and a != 1 for a, b in zip(s[::-1], d[::-1])):
        raise RuntimeError(f"copy_: the size of src {list(s)} must be broadcastable to the destination shape "
                           f"{list(d)}")
    if _record(self, src):
        if src.device != self.device:
            src = _ops().to_device(src, self.device)
        if src.dtype != self.dtype and self.is_floating_point():
            src = _ops().to_dtype(src, self.dtype)
        return rebase(self, Fill()(snapshot(self), src))
    arr = backend.to_device(src.array, self.device)

    def put(a):
        a[...] = arr

    return _write("copy_", self, put)


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    """Fill with draws from U(a, b), from ``generator`` or the default generator."""
    from ..random import rng

    if not self.is_floating_point():
        raise RuntimeError(f"uniform_: not implemented for '{_TORCH_NAMES[self.dtype.name]}' (needs a floating-point "
                           "tensor)")
    host = rng(generator).uniform(a, b, size=tuple(self.shape)).astype(self.array.dtype)
    return _fill_with("uniform_", self, backend.to_device(host, self.device))


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with draws from N(mean, std^2), from ``generator`` or the default generator."""
    from ..random import rng

    if not self.is_floating_point():
        raise RuntimeError(f"normal_: not implemented for '{_TORCH_NAMES[self.dtype.name]}' (needs a floating-point "
                           "tensor)")
    host = rng(generator).normal(mean, std, size=tuple(self.shape)).astype(self.array.dtype)
    return _fill_with("normal_", self, backend.to_device(host, self.device))


# ------------------------------------------------------------------ the rest, through their out-of-place ops
def _via(op: str, self: Tensor, compute, *others) -> Tensor:
    """An in-place op written as ``compute(t)``, the out-of-place op applied to ``t``."""
    if _record(self, *others):
        new = compute(snapshot(self))
    else:
        with no_grad():
            new = compute(Tensor._make(self.array))
    _check_cast(op, self, new.dtype)
    if new.shape != self.shape:
        raise RuntimeError(f"{op}: output with shape {list(self.shape)} doesn't match the broadcast shape "
                           f"{list(new.shape)}")
    if new.requires_grad:
        return _finish(op, self, new)
    res = new.array

    def put(a):
        a[...] = res

    return _write(op, self, put)


def _unary(name):
    def fn(self: Tensor) -> Tensor:
        return _via(name + "_", self, lambda t: getattr(_ops(), name)(t))

    fn.__name__ = name + "_"
    fn.__doc__ = f"``{name}`` in place."
    return fn


neg_, abs_, sqrt_, log_, sigmoid_, tanh_, sin_, cos_, square_, reciprocal_, floor_, ceil_, trunc_ = (
    _unary(n) for n in ("neg", "abs", "sqrt", "log", "sigmoid", "tanh", "sin", "cos", "square", "reciprocal",
                        "floor", "ceil", "trunc"))


def pow_(self: Tensor, exponent) -> Tensor:
    """``self = self ** exponent`` in place."""
    return _via("pow_", self, lambda t: _ops().pow(t, exponent), exponent)


def clamp_min_(self: Tensor, min) -> Tensor:  # noqa: A002
    return clamp_(self, min=min)


def clamp_max_(self: Tensor, max) -> Tensor:  # noqa: A002
    return clamp_(self, max=max)


def lerp_(self: Tensor, end: Tensor, weight) -> Tensor:
    """``self += weight * (end - self)`` in place."""
    return _via("lerp_", self, lambda t: _ops().lerp(t, end, weight), end, weight)


def addcmul_(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """``self += value * tensor1 * tensor2`` in place (used by hand-written optimisers)."""
    return _via("addcmul_", self, lambda t: t + _ops().mul(tensor1, tensor2) * value, tensor1, tensor2)


def addcdiv_(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """``self += value * tensor1 / tensor2`` in place."""
    return _via("addcdiv_", self, lambda t: t + _ops().div(tensor1, tensor2) * value, tensor1, tensor2)


def scatter_(self: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce=None) -> Tensor:
    """In-place :func:`minigrad.scatter` (e.g. ``zeros(n, C).scatter_(1, labels[:, None], 1.0)``)."""
    return _via("scatter_", self, lambda t: _ops().scatter(t, dim, index, src, value=value, reduce=reduce), src)


def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """In-place :func:`minigrad.scatter_add`."""
    return _via("scatter_add_", self, lambda t: _ops().scatter_add(t, dim, index, src), src)
