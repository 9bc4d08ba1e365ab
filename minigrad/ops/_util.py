"""Helpers shared by the op families: turning operands into tensors of one dtype and device."""

from __future__ import annotations

import numbers

from .. import backend
from .. import dtypes as _dt
from ..compute import B
from ..tensor import Tensor

_SCALARS = (numbers.Number, B.bool_, B.number)  # Python numbers and NumPy's scalars (np.float32(2.0), ...)


def is_scalar(x) -> bool:
    return isinstance(x, _SCALARS)


def check_same_device(op: str, *tensors) -> None:
    first = tensors[0]
    for t in tensors[1:]:
        if type(t.array) is not type(first.array) or t.device != first.device:
            raise RuntimeError(
                f"{op}: expected all tensors to be on the same device, but found at least two devices, "
                f"{first.device} and {t.device}!"
            )


def cpu_scalars_follow(a: Tensor, b: Tensor):
    """torch lets a 0-d CPU tensor join an op with a GPU tensor, like a Python number: move it over."""
    from .convert import to_device

    if a.ndim == 0 and a.device.type == "cpu" and b.device.type != "cpu":
        a = to_device(a, b.device)
    elif b.ndim == 0 and b.device.type == "cpu" and a.device.type != "cpu":
        b = to_device(b, a.device)
    return a, b


def as_tensor_like(x, ref: Tensor, dt: _dt.dtype) -> Tensor:
    """A Python scalar as a constant 0-d tensor of ``dt`` on ``ref``'s device."""
    with backend.using_device(ref.device):  # on a GPU: create it on ref's device, not on the current one
        return Tensor._make(B.asarray(x, dtype=dt.np, like=ref.array))


def cast(t: Tensor, dt: _dt.dtype) -> Tensor:
    if t.array.dtype == dt.np:
        return t
    from .convert import to_dtype

    return to_dtype(t, dt)


def operands(op: str, a, b, result: _dt.dtype | None = None):
    """Return ``(a, b)`` as tensors of their promoted dtype (torch's rules) on one device.

    ``result`` overrides the promoted dtype (e.g. true division of integers gives floats).
    """
    a_t, b_t = isinstance(a, Tensor), isinstance(b, Tensor)
    # fast path: a floating tensor with a Python int or float keeps the tensor's dtype (torch's rule)
    if result is None and a_t != b_t:
        t, x = (a, b) if a_t else (b, a)
        if (type(x) is float or type(x) is int) and t.array.dtype.kind == "f" and type(t.array) is B.ndarray:
            c = Tensor._make(B.asarray(x, dtype=t.array.dtype))  # a host array: no like= needed (it costs)
            return (t, c) if a_t else (c, t)
    if a_t and b_t:
        if a.array.dtype == b.array.dtype and type(a.array) is type(b.array) and result is None:
            return a, b
        if type(a.array) is not type(b.array):
            a, b = cpu_scalars_follow(a, b)
        check_same_device(op, a, b)
    elif a_t:
        if not is_scalar(b):
            raise TypeError(f"{op}: unsupported operand type {type(b).__name__}; expected a Tensor or a number")
    elif b_t:
        if not is_scalar(a):
            raise TypeError(f"{op}: unsupported operand type {type(a).__name__}; expected a Tensor or a number")
    else:
        raise TypeError(f"{op}: expected at least one Tensor, got {type(a).__name__} and {type(b).__name__}")
    dt = result or _dt.result_type(a, b)
    ref = a if a_t else b
    a = cast(a, dt) if a_t else as_tensor_like(a, ref, dt)
    b = cast(b, dt) if b_t else as_tensor_like(b, ref, dt)
    return a, b


def broadcast_error(op: str, sa, sb) -> RuntimeError:
    """The torch-style message for shapes that do not broadcast, naming the op and both shapes."""
    sa, sb = tuple(sa), tuple(sb)
    n = max(len(sa), len(sb))
    pa, pb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    for d in range(n):
        if pa[d] != pb[d] and pa[d] != 1 and pb[d] != 1:
            return RuntimeError(
                f"{op}: the size of tensor a ({pa[d]}) must match the size of tensor b ({pb[d]}) at "
                f"non-singleton dimension {d} (shapes {sa} and {sb})"
            )
    return RuntimeError(f"{op}: shapes {sa} and {sb} are not broadcastable")


def apply_binary(op_cls, name: str, a: Tensor, b: Tensor, *args):
    try:
        return op_cls(*args)(a, b)
    except ValueError as e:
        if a.shape != b.shape and "broadcast" in str(e):
            raise broadcast_error(name, a.shape, b.shape) from None
        raise


def normalize_dim(dim: int, ndim: int, op: str = "") -> int:
    """Map a possibly negative ``dim`` into ``range(ndim)``, with torch's IndexError when out of range."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"{op + ': ' if op else ''}Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
            f"but got {dim})"
        )
    return dim % n


def normalize_dims(dim, ndim: int, op: str = ""):
    """``None`` -> all axes; an int or a sequence of ints -> a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, numbers.Integral):
        dim = (int(dim),)
    return tuple(sorted({normalize_dim(int(d), ndim, op) for d in dim}))
