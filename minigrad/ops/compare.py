"""Comparisons and logical ops: their results are bool tensors outside the graph (no gradient flows).

Operands are promoted to a common dtype first (torch's rules), so ``int_tensor < 2.5`` compares as floats.
"""

from __future__ import annotations

from ..compute import B
from ..dtypes import type_name
from ..tensor import Tensor
from ._util import broadcast_error, is_scalar, operands
from .registry import declare, exports


def _binary(name: str, fn: str, input, other) -> Tensor:
    a, b = operands(name, input, other)
    xa, xb = a.array, b.array
    try:
        return Tensor._make(getattr(B, fn)(xa, xb))
    except ValueError:
        raise broadcast_error(name, xa.shape, xb.shape) from None


@declare(dunders=("__eq__",))
def eq(input, other):
    """``input == other`` element-wise (numbers broadcast), as a bool tensor."""
    return _binary("eq", "equal", input, other)


@declare(dunders=("__ne__",), aliases=("not_equal",), method_aliases=("not_equal",))
def ne(input, other):
    return _binary("ne", "not_equal", input, other)


@declare(dunders=("__lt__",), aliases=("less",), method_aliases=("less",))
def lt(input, other):
    return _binary("lt", "less", input, other)


@declare(dunders=("__le__",), aliases=("less_equal",), method_aliases=("less_equal",))
def le(input, other):
    return _binary("le", "less_equal", input, other)


@declare(dunders=("__gt__",), aliases=("greater",), method_aliases=("greater",))
def gt(input, other):
    return _binary("gt", "greater", input, other)


@declare(dunders=("__ge__",), aliases=("greater_equal",), method_aliases=("greater_equal",))
def ge(input, other):
    return _binary("ge", "greater_equal", input, other)


def _tensor(op: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    return x


@declare
def isnan(input):
    a = _tensor("isnan", input).array
    return Tensor._make(B.isnan(a) if a.dtype.kind == "f" else B.zeros(a.shape, bool, like=a))


@declare
def isinf(input):
    a = _tensor("isinf", input).array
    return Tensor._make(B.isinf(a) if a.dtype.kind == "f" else B.zeros(a.shape, bool, like=a))


@declare
def isfinite(input):
    a = _tensor("isfinite", input).array
    return Tensor._make(B.isfinite(a) if a.dtype.kind == "f" else B.ones(a.shape, bool, like=a))


@declare
def logical_not(input):
    """True where ``input`` is zero (any dtype)."""
    a = _tensor("logical_not", input).array
    return Tensor._make(B.logical_not(a))


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
    try:
        return Tensor._make(B.asarray(getattr(B, name)(*arrs), like=ref.array))
    except ValueError:
        raise broadcast_error(name, B.shape(arrs[0]), B.shape(arrs[1])) from None


@declare
def logical_and(input, other):
    return _logical("logical_and", input, other)


@declare
def logical_or(input, other):
    return _logical("logical_or", input, other)


@declare
def logical_xor(input, other):
    return _logical("logical_xor", input, other)


def _bitwise(name: str, input, other) -> Tensor:
    """Bit by bit on integers (two's complement), logical on bools; floats raise as in torch."""
    a, b = operands(name, input, other)
    if a.array.dtype.kind == "f":
        raise RuntimeError(f"\"{name}_cpu\" not implemented for '{type_name(a.dtype)}'")
    try:
        return Tensor._make(getattr(B, name)(a.array, b.array))
    except ValueError:
        raise broadcast_error(name, a.shape, b.shape) from None


@declare(dunders=("__and__",), rdunders=("__rand__",))
def bitwise_and(input, other):
    """``input & other``."""
    return _bitwise("bitwise_and", input, other)


@declare(dunders=("__or__",), rdunders=("__ror__",))
def bitwise_or(input, other):
    """``input | other``."""
    return _bitwise("bitwise_or", input, other)


@declare(dunders=("__xor__",), rdunders=("__rxor__",))
def bitwise_xor(input, other):
    """``input ^ other``."""
    return _bitwise("bitwise_xor", input, other)


@declare(dunders=("__invert__",))
def bitwise_not(input):
    """``~x``: logical not for bool tensors, two's-complement inversion for integers."""
    a = _tensor("bitwise_not", input).array
    if a.dtype.kind == "f":
        raise TypeError(f"bitwise_not: not implemented for floating point tensors ({input.dtype})")
    return Tensor._make(B.invert(a))


@declare
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Element-wise ``|input - other| <= atol + rtol * |other|`` (NaN equal to NaN only with ``equal_nan``)."""
    a, b = operands("isclose", input, other)
    xa, xb = a.array, b.array
    try:
        if xa.dtype.kind != "f":
            return Tensor._make(B.asarray(B.isclose(xa, xb, rtol=rtol, atol=atol)))
        return Tensor._make(B.asarray(B.isclose(xa, xb, rtol=rtol, atol=atol, equal_nan=equal_nan)))
    except ValueError:
        raise broadcast_error("isclose", xa.shape, xb.shape) from None


@declare
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """True when every element pair is close (see :func:`isclose`); a Python bool, like torch."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError("allclose(): expected both arguments to be Tensors")
    if input.dtype is not other.dtype:
        raise RuntimeError(
            f"allclose: expected both tensors to have the same dtype, but got {input.dtype} and {other.dtype}"
        )
    return bool(isclose(input, other, rtol, atol, equal_nan).array.all())


@declare
def equal(input, other) -> bool:
    """True when both tensors have the same shape and the same elements (a Python bool)."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError("equal(): expected both arguments to be Tensors")
    if input.shape != other.shape:
        return False
    a, b = operands("equal", input, other)
    return bool(B.array_equal(a.array, b.array))


__all__ = exports(__name__)
