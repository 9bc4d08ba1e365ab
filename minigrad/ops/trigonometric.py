"""Inverse and hyperbolic trigonometric functions, and the two-argument atan2, hypot and logaddexp.

Each op's gradient is the derivative from calculus, times the upstream gradient:

* ``asin' = 1 / sqrt(1 - x^2)``, ``acos' = -1 / sqrt(1 - x^2)``, ``atan' = 1 / (1 + x^2)``;
* ``sinh' = cosh``, ``cosh' = sinh``, ``asinh' = 1 / sqrt(x^2 + 1)``, ``acosh' = 1 / sqrt(x^2 - 1)``,
  ``atanh' = 1 / (1 - x^2)``;
* ``atan2(y, x)``: ``d/dy = x / (x^2 + y^2)``, ``d/dx = -y / (x^2 + y^2)``;
* ``hypot(a, b) = sqrt(a^2 + b^2)``: ``d/da = a / hypot``;
* ``logaddexp(a, b) = log(e^a + e^b)``: ``d/da = e^a / (e^a + e^b) = sigmoid(a - b)``; ``logaddexp2`` in base 2.

Integer inputs are promoted to the default float dtype, as in torch.
"""

from __future__ import annotations

from .. import dtypes as _dt
from ..autograd.graph import Op
from ..compute import B
from ..tensor import Tensor
from ._util import apply_binary, operands
from .elementwise import _float_input
from .registry import declare, exports


class _Unary(Op):
    """A float function of one input whose gradient reads that input: ``grad * derivative(x)``."""

    def forward(self, x):
        self.x = x
        return self.function(x)

    def backward(self, grad):
        return grad * self.derivative(self.x)


class Asin(_Unary):
    function = staticmethod(lambda x: B.arcsin(x))

    @staticmethod
    def derivative(x):
        return 1 / B.sqrt(1 - x * x)


class Acos(_Unary):
    function = staticmethod(lambda x: B.arccos(x))

    @staticmethod
    def derivative(x):
        return -1 / B.sqrt(1 - x * x)


class Atan(_Unary):
    function = staticmethod(lambda x: B.arctan(x))

    @staticmethod
    def derivative(x):
        return 1 / (1 + x * x)


class Sinh(_Unary):
    function = staticmethod(lambda x: B.sinh(x))
    derivative = staticmethod(lambda x: B.cosh(x))


class Cosh(_Unary):
    function = staticmethod(lambda x: B.cosh(x))
    derivative = staticmethod(lambda x: B.sinh(x))


class Asinh(_Unary):
    function = staticmethod(lambda x: B.arcsinh(x))

    @staticmethod
    def derivative(x):
        return 1 / B.sqrt(x * x + 1)


class Acosh(_Unary):
    function = staticmethod(lambda x: B.arccosh(x))

    @staticmethod
    def derivative(x):
        return 1 / B.sqrt(x * x - 1)


class Atanh(_Unary):
    function = staticmethod(lambda x: B.arctanh(x))

    @staticmethod
    def derivative(x):
        return 1 / (1 - x * x)


def _unary(op_cls, name: str, input):
    with B.errstate(invalid="ignore", divide="ignore"):  # outside the domain the result is NaN, as in torch
        return op_cls()(_float_input(name, input))


@declare(inplace=True, aliases=("arcsin",), method_aliases=("arcsin",))
def asin(input):
    """The inverse sine, in [-pi/2, pi/2] (NaN outside [-1, 1])."""
    return _unary(Asin, "asin", input)


@declare(inplace=True, aliases=("arccos",), method_aliases=("arccos",))
def acos(input):
    """The inverse cosine, in [0, pi] (NaN outside [-1, 1])."""
    return _unary(Acos, "acos", input)


@declare(inplace=True, aliases=("arctan",), method_aliases=("arctan",))
def atan(input):
    """The inverse tangent, in (-pi/2, pi/2)."""
    return _unary(Atan, "atan", input)


@declare(inplace=True)
def sinh(input):
    """The hyperbolic sine ``(e^x - e^-x) / 2``."""
    return _unary(Sinh, "sinh", input)


@declare(inplace=True)
def cosh(input):
    """The hyperbolic cosine ``(e^x + e^-x) / 2``."""
    return _unary(Cosh, "cosh", input)


@declare(inplace=True, aliases=("arcsinh",), method_aliases=("arcsinh",))
def asinh(input):
    """The inverse hyperbolic sine."""
    return _unary(Asinh, "asinh", input)


@declare(inplace=True, aliases=("arccosh",), method_aliases=("arccosh",))
def acosh(input):
    """The inverse hyperbolic cosine (NaN below 1)."""
    return _unary(Acosh, "acosh", input)


@declare(inplace=True, aliases=("arctanh",), method_aliases=("arctanh",))
def atanh(input):
    """The inverse hyperbolic tangent (NaN outside [-1, 1], infinite at +-1)."""
    return _unary(Atanh, "atanh", input)


# ------------------------------------------------------------------ two arguments
class Atan2(Op):
    """The angle of the point ``(x=other, y=input)``, in (-pi, pi]."""

    def forward(self, y, x):
        self.y, self.x = y, x
        return B.arctan2(y, x)

    def backward(self, grad):
        gy, gx = self.needs_input_grad
        with B.errstate(invalid="ignore", divide="ignore"):
            scale = grad / (self.x * self.x + self.y * self.y)
        return (scale * self.x if gy else None), (-scale * self.y if gx else None)


class Hypot(Op):
    """``sqrt(a^2 + b^2)`` without overflow for large ``a`` or ``b``."""

    saves_output = True

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = B.hypot(a, b)
        return self.out

    def backward(self, grad):
        ga, gb = self.needs_input_grad
        with B.errstate(invalid="ignore", divide="ignore"):
            scale = grad / self.out
        return (scale * self.a if ga else None), (scale * self.b if gb else None)


class LogAddExp(Op):
    """``log(e^a + e^b)`` (``base=2``: ``log2(2^a + 2^b)``), computed without overflow."""

    def __init__(self, base2: bool):
        self.base2 = base2

    def forward(self, a, b):
        self.a, self.b = a, b
        return B.logaddexp2(a, b) if self.base2 else B.logaddexp(a, b)

    def backward(self, grad):
        ga, gb = self.needs_input_grad
        with B.errstate(over="ignore", invalid="ignore"):  # two equal infinities give NaN, as in torch
            d = self.a - self.b
            if self.base2:
                d = d * _LN2
            share_a = 1 / (1 + B.exp(-d))  # e^a / (e^a + e^b): the share of ``a`` in the sum
        return (grad * share_a if ga else None), (grad * (1 - share_a) if gb else None)


_LN2 = 0.6931471805599453


def _float_operands(op: str, input, other):
    """Both operands in their promoted dtype, or the default float dtype when that is not floating."""
    for position, (name, value) in enumerate((("input", input), ("other", other)), 1):
        if not isinstance(value, Tensor):
            raise TypeError(
                f"{op}(): argument '{name}' (position {position}) must be Tensor, not {type(value).__name__}"
            )
    dt = _dt.result_type(input, other)
    return operands(op, input, other, result=dt if dt.is_floating_point else _dt.get_default_dtype())


@declare(inplace=True, aliases=("arctan2",), method_aliases=("arctan2",))
def atan2(input, other):
    """The angle of the point ``(other, input)`` in radians: ``atan(input / other)`` in the right quadrant."""
    a, b = _float_operands("atan2", input, other)
    return apply_binary(Atan2, "atan2", a, b)


@declare(inplace=True)
def hypot(input, other):
    """``sqrt(input^2 + other^2)``, the length of the hypotenuse (one operand at least floating)."""
    a, b = _float_operands("hypot", input, other)
    if not _dt.result_type(input, other).is_floating_point:
        raise NotImplementedError(f"hypot: not implemented for {input.dtype} and {other.dtype}; use floating tensors")
    return apply_binary(Hypot, "hypot", a, b)


@declare
def logaddexp(input, other):
    """``log(exp(input) + exp(other))``, exact where the exponentials would overflow."""
    a, b = _float_operands("logaddexp", input, other)
    return apply_binary(LogAddExp, "logaddexp", a, b, False)


@declare
def logaddexp2(input, other):
    """``log2(2**input + 2**other)``."""
    a, b = _float_operands("logaddexp2", input, other)
    return apply_binary(LogAddExp, "logaddexp2", a, b, True)


__all__ = exports(__name__)
