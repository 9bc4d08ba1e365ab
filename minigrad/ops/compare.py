"""Comparisons and logical ops: their results are bool tensors outside the graph (no gradient flows).

Operands are promoted to a common dtype first (torch's rules), so ``int_tensor < 2.5`` compares as floats.
"""

from __future__ import annotations

from .. import backend
from ..tensor import Tensor
from ._util import broadcast_error, is_scalar, operands

xp_of = backend.get_array_module

__all__ = [
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "greater",
    "greater_equal",
    "less",
    "less_equal",
    "not_equal",
    "isnan",
    "isinf",
    "isfinite",
    "logical_not",
    "logical_and",
    "logical_or",
    "logical_xor",
    "bitwise_not",
    "allclose",
    "isclose",
    "equal",
]


def _binary(name: str, fn: str, input, other) -> Tensor:
    a, b = operands(name, input, other)
    xa, xb = a.array, b.array
    try:
        return Tensor._make(getattr(xp_of(xa), fn)(xa, xb))
    except ValueError:
        raise broadcast_error(name, xa.shape, xb.shape) from None


def eq(input, other):
    """``input == other`` element-wise (numbers broadcast), as a bool tensor."""
    return _binary("eq", "equal", input, other)


def ne(input, other):
    return _binary("ne", "not_equal", input, other)


def lt(input, other):
    return _binary("lt", "less", input, other)


def le(input, other):
    return _binary("le", "less_equal", input, other)


def gt(input, other):
    return _binary("gt", "greater", input, other)


def ge(input, other):
    return _binary("ge", "greater_equal", input, other)


greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _tensor(op: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    return x


def isnan(input):
    a = _tensor("isnan", input).array
    xp = xp_of(a)
    return Tensor._make(xp.isnan(a) if a.dtype.kind == "f" else xp.zeros(a.shape, bool))


def isinf(input):
    a = _tensor("isinf", input).array
    xp = xp_of(a)
    return Tensor._make(xp.isinf(a) if a.dtype.kind == "f" else xp.zeros(a.shape, bool))


def isfinite(input):
    a = _tensor("isfinite", input).array
    xp = xp_of(a)
    return Tensor._make(xp.isfinite(a) if a.dtype.kind == "f" else xp.ones(a.shape, bool))


def logical_not(input):
    """True where ``input`` is zero (any dtype)."""
    a = _tensor("logical_not", input).array
    return Tensor._make(xp_of(a).logical_not(a))


def _logical(name: str, input, other) -> Tensor:
    """Logical ops look only at zero / non-zero, so each operand is tested on its own dtype."""
    ref = input if isinstance(input, Tensor) else other
    if not isinstance(ref, Tensor):
        raise TypeError(f"{name}(): expected at least one Tensor")
    arrs = []
    for v in (input, other):
        if isinstance(v, Tensor):
            arrs.append(v.array)
        elif is_scalar(v):
            arrs.append(bool(v))
        else:
            raise TypeError(f"{name}(): unsupported operand type {type(v).__name__}")
    if isinstance(input, Tensor) and isinstance(other, Tensor) and input.device != other.device:
        raise RuntimeError(
            f"{name}: expected all tensors to be on the same device, but found {input.device} and {other.device}"
        )
    xp = xp_of(ref.array)
    try:
        return Tensor._make(xp.asarray(getattr(xp, name)(*arrs)))
    except ValueError:
        raise broadcast_error(name, xp.shape(arrs[0]), xp.shape(arrs[1])) from None


def logical_and(input, other):
    return _logical("logical_and", input, other)


def logical_or(input, other):
    return _logical("logical_or", input, other)


def logical_xor(input, other):
    return _logical("logical_xor", input, other)


def bitwise_not(input):
    """``~x``: logical not for bool tensors, two's-complement inversion for integers."""
    a = _tensor("bitwise_not", input).array
    if a.dtype.kind == "f":
        raise TypeError(f"bitwise_not: not implemented for floating point tensors ({input.dtype})")
    return Tensor._make(xp_of(a).invert(a))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Element-wise ``|input - other| <= atol + rtol * |other|`` (NaN equal to NaN only with ``equal_nan``)."""
    a, b = operands("isclose", input, other)
    xa, xb = a.array, b.array
    xp = xp_of(xa)
    try:
        if xa.dtype.kind != "f":
            return Tensor._make(xp.asarray(xp.isclose(xa, xb, rtol=rtol, atol=atol)))
        return Tensor._make(xp.asarray(xp.isclose(xa, xb, rtol=rtol, atol=atol, equal_nan=equal_nan)))
    except ValueError:
        raise broadcast_error("isclose", xa.shape, xb.shape) from None


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """True when every element pair is close (see :func:`isclose`); a Python bool, like torch."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError("allclose(): expected both arguments to be Tensors")
    if input.dtype is not other.dtype:
        raise RuntimeError(
            f"allclose: expected both tensors to have the same dtype, but got {input.dtype} and {other.dtype}"
        )
    return bool(isclose(input, other, rtol, atol, equal_nan).array.all())


def equal(input, other) -> bool:
    """True when both tensors have the same shape and the same elements (a Python bool)."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError("equal(): expected both arguments to be Tensors")
    if input.shape != other.shape:
        return False
    a, b = operands("equal", input, other)
    return bool(xp_of(a.array).array_equal(a.array, b.array))
