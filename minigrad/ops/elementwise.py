"""Element-wise ops: arithmetic with broadcasting and torch's type promotion, unary math, the
activation functions that ``nn.functional`` re-exports, and clamp / maximum / where / masked_fill.

Binary ops receive two arrays of one dtype (see :func:`minigrad.ops._util.operands`) and
return gradients of the *broadcast* shape: the engine's ``sum_to`` reduces them back.

Where a function has a kink (relu at 0, abs at 0, clamp at its bounds, maximum at a tie) the
gradient there follows torch's choice, so that results match it exactly; each op's docstring
says which. Activations that need ``exp`` of a large number are written so that they never
overflow (sigmoid uses ``exp(-|x|)``, softplus uses ``logaddexp``).
"""

from __future__ import annotations

import inspect
import struct

from .. import dtypes as _dt
from ..autograd.graph import Op
from ..compute import B
from ..dtypes import type_name
from ..tensor import Tensor
from ._util import apply_binary, as_tensor_like, cast, check_same_device, operands
from .convert import to_dtype
from .inplace import apply_inplace
from .registry import REGISTRY, declare, declare_inplace, declare_method, exports


# ------------------------------------------------------------------ arithmetic
class Add(Op):
    """``a + alpha * b``; ``alpha`` is a number kept on the op, so (as in torch) backward saves nothing."""

    linear = True  # create_graph records its backward as a LinearMap

    saved = ()  # backward reads no input
    alpha = 1  # set on the node by add(..., alpha=); the class default keeps plain ``a + b`` free of an __init__

    def forward(self, a, b):
        return B.add(a, b if self.alpha == 1 else b * self.alpha)

    def backward(self, grad):
        return grad, (grad if self.alpha == 1 else grad * self.alpha)


class Sub(Op):
    """``a - alpha * b``, saving nothing like :class:`Add`."""

    linear = True  # create_graph records its backward as a LinearMap

    saved = ()  # backward reads no input
    alpha = 1

    def forward(self, a, b):
        return B.sub(a, b if self.alpha == 1 else b * self.alpha)

    def backward(self, grad):
        return grad, (-grad if self.alpha == 1 else grad * -self.alpha)


class Mul(Op):
    saved_for = {0: (1,), 1: (0,)}  # a is read for b's gradient only, and b for a's

    def forward(self, a, b):
        self.a, self.b = a, b
        return B.mul(a, b)

    def backward(self, grad):
        ga, gb = self.needs_input_grad
        # d(a*b)/da = b, d(a*b)/db = a; mul_like lays each gradient out in memory like its input
        return (B.mul_like(grad, self.b, self.a) if ga else None), (B.mul_like(grad, self.a, self.b) if gb else None)


class Div(Op):
    saved_for = {0: (1,)}  # a is read for b's gradient only

    def forward(self, a, b):
        self.a, self.b = a, b
        return B.div(a, b)

    def backward(self, grad):
        ga, gb = self.needs_input_grad
        gx = grad / self.b
        return (gx if ga else None), (-gx * self.a / self.b if gb else None)


class FloorDiv(Op):
    """Division rounded down ('floor') or toward zero ('trunc'): its gradient is zero, as in torch."""

    def __init__(self, mode):
        self.mode = mode

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        if self.mode == "floor":
            return B.floor_divide(a, b) if a.dtype.kind in "iu" else B.floor(a / b)
        return B.trunc(a / b).astype(a.dtype) if a.dtype.kind == "f" else B.fix(a / b).astype(a.dtype)

    def backward(self, grad):
        return B.zeros(self.shapes[0], grad.dtype, like=grad), B.zeros(self.shapes[1], grad.dtype, like=grad)


class Neg(Op):
    linear = True  # create_graph records its backward as a LinearMap
    saved = ()  # backward reads no input

    def forward(self, x):
        return -x

    def backward(self, grad):
        return -grad


class Pow(Op):
    saves_output = True  # d/db reads a**b; torch saves the result too

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a**b
        return self.out

    def backward(self, grad):
        ga, gb = self.needs_input_grad
        a, b = self.a, self.b
        da = db = None
        if ga:
            da = B.where(b == 0, 0, grad * b * a ** (b - 1))
        if gb:
            with B.errstate(divide="ignore", invalid="ignore"):  # log(0), log of a negative base
                db = grad * B.where((a == 0) & (b >= 0), 0, self.out * B.log(a))
        return da, db


class PowScalar(Op):
    """``a ** exponent`` for a number ``exponent``: backward reads ``a`` only, not the result (as in torch),
    so an in-place write to the result before backward is allowed."""

    saved = (0,)

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, a):
        self.a = a
        return a**self.exponent

    def backward(self, grad):
        b = self.exponent
        if b == 0:
            return B.zeros_like(grad)
        return grad * b * self.a ** (b - 1)


def _scaled_operands(op: str, input, other, alpha):
    """``(a, b, alpha)`` for ``input op alpha * other``. Floating operands leave ``alpha`` to the op, which then
    saves nothing for backward (a second backward works, as in torch); others multiply first, as before."""
    a, b = operands(op, input, other)
    if alpha != 1 and not a.is_floating_point():
        a, b = operands(op, input, mul(other, alpha))
        alpha = 1
    return a, b, alpha


def _with_alpha(op_cls, alpha):
    """``op_cls`` itself for ``alpha == 1`` (the hot path), else a maker of nodes that carry ``alpha``."""
    if alpha == 1:
        return op_cls

    def make():
        node = op_cls()
        node.alpha = alpha
        return node

    return make


@declare(out=True, dunders=("__add__",), rdunders=("__radd__",))
def add(input, other, *, alpha=1):
    """``input + alpha * other``, broadcast, with torch's type promotion."""
    a, b, alpha = _scaled_operands("add", input, other, alpha)
    return apply_binary(_with_alpha(Add, alpha), "add", a, b)


@declare(out=True, dunders=("__sub__",), rdunders=("__rsub__",), aliases=("subtract",), method_aliases=("subtract",))
def sub(input, other, *, alpha=1):
    """``input - alpha * other``, broadcast, with torch's type promotion."""
    if _is_bool(input) or _is_bool(other):
        raise RuntimeError(
            "sub: subtraction with a bool tensor is not supported; to invert a mask use ~ or "
            "logical_not(), to compare masks use logical_xor()"
        )
    a, b, alpha = _scaled_operands("sub", input, other, alpha)
    return apply_binary(_with_alpha(Sub, alpha), "sub", a, b)


@declare(out=True, dunders=("__mul__",), rdunders=("__rmul__",), aliases=("multiply",), method_aliases=("multiply",))
def mul(input, other):
    """``input * other``, broadcast, with torch's type promotion."""
    a, b = operands("mul", input, other)
    return apply_binary(Mul, "mul", a, b)


def _float_with_same_or_number(a, b) -> bool:
    """True for a floating tensor with a Python number or a tensor of its own dtype and array type: the
    quotient then keeps that dtype, so the general promotion can be skipped (it costs more than 4x4 math)."""
    if not isinstance(a, Tensor) or a.array.dtype.kind != "f":
        return False
    return (
        type(b) is float
        or type(b) is int
        or (isinstance(b, Tensor) and b.array.dtype == a.array.dtype and type(b.array) is type(a.array))
    )


@declare(
    out=True,
    dunders=("__truediv__",),
    rdunders=("__rtruediv__",),
    aliases=("divide",),
    method_aliases=("divide",),
)
def div(input, other, *, rounding_mode=None):
    """``input / other`` in floating point; ``rounding_mode`` "floor" or "trunc" rounds the quotient (any dtype)."""
    if rounding_mode is None:
        if _float_with_same_or_number(input, other) or _float_with_same_or_number(other, input):
            return apply_binary(Div, "div", *operands("div", input, other))
        dt = _dt.result_type(input, other)
        a, b = operands("div", input, other, result=dt if dt.is_floating_point else _dt.get_default_dtype())
        return apply_binary(Div, "div", a, b)
    if rounding_mode not in ("floor", "trunc"):
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")
    a, b = operands("div", input, other)
    if a.array.dtype.kind == "b":
        raise NotImplementedError(f"div(rounding_mode={rounding_mode!r}): not implemented for bool tensors")
    return apply_binary(FloorDiv, "div", a, b, rounding_mode)


@declare(dunders=("__floordiv__",), rdunders=("__rfloordiv__",))
def floor_divide(input, other):
    """``input // other``: the quotient rounded down (torch.floor_divide)."""
    return div(input, other, rounding_mode="floor")


@declare
def true_divide(input, other):
    """``input / other`` in floating point (``div`` without a rounding mode)."""
    return div(input, other)


@declare(dunders=("__neg__",), aliases=("negative",), method_aliases=("negative",))
def neg(input):
    if _is_bool(input):
        raise RuntimeError("neg: negation of a bool tensor is not supported; use ~ or logical_not() instead")
    return Neg()(input)


@declare(dunders=("__pow__",), rdunders=("__rpow__",))
def pow(input, exponent):
    if _is_bool(input) and isinstance(exponent, bool):  # torch keeps bool here: x ** True is x, x ** False is True
        return Tensor._make(input.array.copy() if exponent else B.ones_like(input.array))
    if (type(exponent) is float or type(exponent) is int) and isinstance(input, Tensor) and input.is_floating_point():
        return PowScalar(exponent)(input)
    a, b = operands("pow", input, exponent)
    if a.array.dtype.kind == "b":
        raise RuntimeError("pow: not implemented for bool tensors; convert them to an integer or float dtype first")
    return apply_binary(Pow, "pow", a, b)


class Remainder(Op):
    """``a - floor(a / b) * b``: the result takes the sign of the divisor, like Python's ``%``."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return B.remainder(a, b)

    def backward(self, grad):
        ga, gb = self.needs_input_grad
        db = None
        if gb:
            db = -grad * B.floor(self.a / self.b)
        return (grad if ga else None), db


class Lerp(Op):
    """``start + weight * (end - start)``; for ``weight >= 0.5`` it is computed from ``end`` (more accurate)."""

    def forward(self, start, end, weight):
        self.diff, self.weight = end - start, weight
        return B.where(weight < 0.5, start + weight * self.diff, end - self.diff * (1 - weight))

    def backward(self, grad):
        gs, ge, gw = self.needs_input_grad
        w = self.weight
        return ((grad * (1 - w) if gs else None), (grad * w if ge else None), (grad * self.diff if gw else None))


@declare(inplace=True, dunders=("__mod__",), rdunders=("__rmod__",))
def remainder(input, other):
    a, b = operands("remainder", input, other)
    if a.array.dtype.kind == "b":
        raise RuntimeError("remainder: not implemented for bool tensors")
    return apply_binary(Remainder, "remainder", a, b)


@declare
def lerp(input, end, weight):
    """Linear interpolation ``input + weight * (end - input)``; ``weight`` is a number or a tensor."""
    if not isinstance(input, Tensor) or not isinstance(end, Tensor):
        raise TypeError("lerp(): 'input' and 'end' must be Tensors")
    if input.dtype is not end.dtype:
        raise RuntimeError(
            f"lerp: expected input and end to have the same dtype, but got {input.dtype} and {end.dtype}"
        )
    if not input.is_floating_point():
        raise RuntimeError(f"lerp: expected floating point tensors, got {input.dtype}")
    w = weight if isinstance(weight, Tensor) else as_tensor_like(weight, input, input.dtype)
    if w.dtype is not input.dtype:
        raise RuntimeError(f"lerp: expected weight to have dtype {input.dtype}, but got {w.dtype}")
    check_same_device("lerp", input, end, w)
    try:
        return Lerp()(input, end, w)
    except ValueError as e:
        raise RuntimeError(
            f"lerp: shapes {tuple(input.shape)}, {tuple(end.shape)} and {tuple(w.shape)} are not broadcastable"
        ) from e


def _is_bool(x) -> bool:
    return isinstance(x, bool) or (isinstance(x, Tensor) and x.array.dtype.kind == "b")


# ------------------------------------------------------------------ unary math
# Each op keeps on ``self`` the cheaper of its input or output for the backward pass.
class Exp(Op):
    saved = ()  # backward reads only its output
    saves_output = True

    def forward(self, x):
        self.out = B.exp(x)
        return self.out

    def backward(self, grad):
        return grad * self.out


class Log(Op):
    def forward(self, x):
        self.x = x
        return B.log(x)

    def backward(self, grad):
        return grad / self.x


class Log1p(Op):
    def forward(self, x):
        self.x = x
        return B.log1p(x)

    def backward(self, grad):
        return grad / (1 + self.x)


class Expm1(Op):
    saved = ()  # backward reads only its output
    saves_output = True

    def forward(self, x):
        self.out = B.expm1(x)
        return self.out

    def backward(self, grad):
        return grad * (self.out + 1)


class Log2(Op):
    def forward(self, x):
        self.x = x
        return B.log2(x)

    def backward(self, grad):
        return grad / (self.x * _LN2)


_LN2 = 0.6931471805599453


class Sqrt(Op):
    saved = ()  # backward reads only its output
    saves_output = True

    def forward(self, x):
        self.out = B.sqrt(x)
        return self.out

    def backward(self, grad):
        with B.errstate(divide="ignore", invalid="ignore"):  # sqrt'(0) is inf, as in torch
            return grad / (2 * self.out)


class Rsqrt(Op):
    saved = ()  # backward reads only its output
    saves_output = True

    def forward(self, x):
        self.out = 1 / B.sqrt(x)
        return self.out

    def backward(self, grad):
        return -0.5 * grad * self.out**3


class Square(Op):
    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, grad):
        return 2 * grad * self.x


class Abs(Op):
    """|x|; its gradient is sign(x), so 0 at x = 0 (torch's choice of subgradient)."""

    def forward(self, x):
        self.x = x
        return B.abs(x)

    def backward(self, grad):
        x = self.x
        return grad * ((x > 0).astype(grad.dtype) - (x < 0).astype(grad.dtype))  # sign(x), 0 for NaN as in torch


class Sin(Op):
    def forward(self, x):
        self.x = x
        return B.sin(x)

    def backward(self, grad):
        return grad * B.cos(self.x)


class Cos(Op):
    def forward(self, x):
        self.x = x
        return B.cos(x)

    def backward(self, grad):
        return -grad * B.sin(self.x)


class Tanh(Op):
    saved = ()  # backward reads only its output
    saves_output = True

    def forward(self, x):
        self.out = B.tanh(x)
        return self.out

    def backward(self, grad):
        return grad * (1 - self.out * self.out)


class Sigmoid(Op):
    saved = ()  # backward reads only its output
    saves_output = True

    def forward(self, x):
        self.out = B.sigmoid(x)
        return self.out

    def backward(self, grad):
        return grad * self.out * (1 - self.out)


class Relu(Op):
    """max(x, 0); the gradient at exactly 0 is 0, as in torch (and a NaN input passes its gradient)."""

    saved = ()  # backward reads only its output
    saves_output = True

    def forward(self, x):
        self.out = B.relu(x)  # max(x, 0); NaN stays NaN
        return self.out

    def backward(self, grad):
        return B.relu_backward(grad, self.out)  # 0 where out <= 0, else grad


_TWO_OVER_SQRT_PI = 1.1283791670955126
_SQRT_HALF = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327
_SQRT_2_OVER_PI = 0.7978845608028654


class Erf(Op):
    def forward(self, x):
        self.x = x
        return B.erf(x)

    def backward(self, grad):
        return grad * _TWO_OVER_SQRT_PI * B.exp(-self.x * self.x)


class Reciprocal(Op):
    saved = ()  # backward reads only its output
    saves_output = True

    def forward(self, x):
        self.out = 1 / x
        return self.out

    def backward(self, grad):
        return -grad * self.out * self.out


class Rounding(Op):
    """sign, floor, ceil, round, trunc: piecewise constant, so their gradient is zero everywhere."""

    saved = ()  # backward reads no input

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def forward(self, x):
        out = getattr(B, self.fn)(x, *self.args)
        if self.fn == "sign" and x.dtype.kind == "f":
            out = B.where(B.isnan(x), 0, out)  # torch's sign(NaN) is 0
        return out

    def backward(self, grad):
        return B.zeros_like(grad)


# ------------------------------------------------------------------ activations
class Gelu(Op):
    """x * Phi(x) (Phi: the standard normal CDF), exact with erf or approximated with tanh."""

    def __init__(self, approximate):
        self.approximate = approximate

    def forward(self, x):
        self.x = x
        if self.approximate == "tanh":
            self.t = B.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3))
            return 0.5 * x * (1 + self.t)
        self.cdf = 0.5 * (1 + B.erf(x * _SQRT_HALF))
        return x * self.cdf

    def backward(self, grad):
        x = self.x
        if self.approximate == "tanh":
            t = self.t
            inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner)
        pdf = _INV_SQRT_2PI * B.exp(-0.5 * x * x)
        return grad * (self.cdf + x * pdf)


class Silu(Op):
    """x * sigmoid(x) (also called swish)."""

    def forward(self, x):
        self.x, self.s = x, B.sigmoid(x)
        return x * self.s

    def backward(self, grad):
        s = self.s
        return grad * s * (1 + self.x * (1 - s))


class Softplus(Op):
    """log(1 + e^(beta x)) / beta, and x itself once beta x > threshold (where they agree to float precision)."""

    def __init__(self, beta, threshold):
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        z = x * self.beta if self.beta != 1 else x
        self.z = z
        return B.where(z > self.threshold, x, B.logaddexp(0, z) / self.beta)

    def backward(self, grad):
        return grad * B.where(self.z > self.threshold, 1, B.sigmoid(self.z))


class LeakyRelu(Op):
    """x for x > 0, ``slope * x`` otherwise (at 0 the gradient is ``slope``, as in torch)."""

    def __init__(self, slope):
        self.slope = slope

    def forward(self, x):
        self.pos = x > 0
        return B.where(self.pos, x, x * self.slope)

    def backward(self, grad):
        return B.where(self.pos, grad, grad * self.slope)


class Elu(Op):
    """x for x > 0, alpha * (e^x - 1) otherwise; at 0 the gradient is alpha (torch's convention)."""

    def __init__(self, alpha):
        self.alpha = alpha

    def forward(self, x):
        self.x = x
        return B.where(x > 0, x, self.alpha * B.expm1(B.minimum(x, 0)))

    def backward(self, grad):
        x = self.x
        # exp of x < 0 only (no overflow for large x); at x = 0 the constant is taken, so that a second
        # derivative there is 0, as torch's
        return B.where(x <= 0, grad * self.alpha * B.exp(B.where(x < 0, x, 0)), grad)


class Hardtanh(Op):
    """x clipped to [lo, hi]; the gradient is 1 strictly inside and 0 at and beyond the bounds (as torch)."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        self.inside = ~((x <= self.lo) | (x >= self.hi))
        return B.clip(x, self.lo, self.hi)

    def backward(self, grad):
        return grad * self.inside


class LogSigmoid(Op):
    """``log(sigmoid(x)) = min(x, 0) - log(1 + e^-|x|)``: finite for any x (the naive form gives log(0))."""

    def forward(self, x):
        self.x = x
        return B.minimum(x, 0) - B.log1p(B.exp(-B.abs(x)))

    def backward(self, grad):
        return grad * B.sigmoid(-self.x)


_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


class Mish(Op):
    """``x * tanh(softplus(x))``."""

    def forward(self, x):
        self.x = x
        self.t = B.tanh(B.logaddexp(0, x))
        return x * self.t

    def backward(self, grad):
        t = self.t
        return grad * (t + self.x * B.sigmoid(self.x) * (1 - t * t))


class Softsign(Op):
    """``x / (1 + |x|)``."""

    def forward(self, x):
        self.d = 1 + B.abs(x)
        return x / self.d

    def backward(self, grad):
        return grad / (self.d * self.d)


class Hardsigmoid(Op):
    """``clip(x / 6 + 1/2, 0, 1)``; gradient 1/6 strictly inside (-3, 3), as in torch."""

    def forward(self, x):
        self.inside = (x > -3) & (x < 3)
        return B.clip(x / 6 + 0.5, 0, 1)

    def backward(self, grad):
        return grad * self.inside * _ONE_SIXTH_F32


_ONE_SIXTH_F32 = 0.1666666716337204  # torch's hardsigmoid backward multiplies by 1/6 rounded to float32


class Hardswish(Op):
    """``x * hardsigmoid(x)``; at x = -3 the gradient is 0 and at x = 3 it is 1 (the outer pieces, as torch)."""

    def forward(self, x):
        self.x = x
        return x * B.clip(x / 6 + 0.5, 0, 1)

    def backward(self, grad):
        x = self.x
        return B.where(x <= -3, 0, B.where(x < 3, grad * (x / 3 + 0.5), grad))


def _tensor_arg(op: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    return x


def _float_input(op: str, x: Tensor) -> Tensor:
    """Integer and bool inputs of float-valued functions are promoted to the default float, as in torch."""
    _tensor_arg(op, x)
    if x.array.dtype.kind == "f":
        return x
    return to_dtype(x, _dt.get_default_dtype())


def _numeric_input(op: str, x: Tensor) -> Tensor:
    """For ops that keep integer dtypes (abs, square, relu...): bool is rejected like torch does."""
    _tensor_arg(op, x)
    if x.array.dtype.kind == "b":
        raise RuntimeError(f"{op}: not implemented for bool tensors")
    return x


@declare(out=True)
def exp(input):
    return Exp()(_float_input("exp", input))


@declare(out=True)
def log(input):
    return Log()(_float_input("log", input))


@declare(inplace=True)
def log1p(input):
    return Log1p()(_float_input("log1p", input))


@declare(inplace=True, keep_input=False)  # backward reads the output
def expm1(input):
    return Expm1()(_float_input("expm1", input))


@declare(inplace=True)
def log2(input):
    return Log2()(_float_input("log2", input))


@declare(out=True)
def sqrt(input):
    return Sqrt()(_float_input("sqrt", input))


@declare(inplace=True, keep_input=False)  # backward reads the output
def rsqrt(input):
    """1 / sqrt(input)."""
    return Rsqrt()(_float_input("rsqrt", input))


@declare
def square(input):
    """input * input; an integer tensor stays integer (bool becomes int64, as in torch)."""
    _tensor_arg("square", input)
    if input.array.dtype.kind == "b":
        input = to_dtype(input, _dt.int64)
    return Square()(input)


@declare(dunders=("__abs__",), aliases=("absolute",), method_aliases=("absolute",))
def abs(input):
    if _tensor_arg("abs", input).array.dtype.kind == "b":
        raise RuntimeError("abs: not implemented for bool tensors")
    return Abs()(input)


@declare
def sin(input):
    return Sin()(_float_input("sin", input))


@declare
def cos(input):
    return Cos()(_float_input("cos", input))


@declare(functional=True)
def tanh(input):
    return Tanh()(_float_input("tanh", input))


@declare(functional=True)
def sigmoid(input):
    """1 / (1 + e^-x), computed without overflow for large |x|."""
    return Sigmoid()(_float_input("sigmoid", input))


@declare(functional=True, functional_inplace=True, keep_input=False)  # backward reads the output only
def relu(input):
    """max(x, 0). (``inplace=`` belongs to ``nn.functional.relu``; ``relu_`` writes in place.)"""
    return Relu()(_numeric_input("relu", input))


@declare(inplace=True)
def erf(input):
    return Erf()(_float_input("erf", input))


@declare
def reciprocal(input):
    return Reciprocal()(_float_input("reciprocal", input))


@declare(inplace=True, keep_input=False)  # its gradient is zero: backward reads nothing
def sign(input):
    x = _tensor_arg("sign", input)
    if x.array.dtype.kind == "b":
        return x
    return Rounding("sign")(x)


def _rounding(fn: str, x: Tensor, *args) -> Tensor:
    if _tensor_arg(fn, x).array.dtype.kind != "f":
        return x  # integers are already whole (torch returns them unchanged)
    return Rounding(fn, *args)(x)


@declare
def floor(input):
    return _rounding("floor", input)


@declare
def ceil(input):
    return _rounding("ceil", input)


@declare(inplace=True, keep_input=False)  # its gradient is zero
def round(input, *, decimals=0):
    """Round half to even (banker's rounding), like torch; ``decimals`` rounds to that many decimal places."""
    return _rounding("round", input, decimals) if decimals else _rounding("round", input)


@declare(aliases=("fix",), method_aliases=("fix",))
def trunc(input):
    return _rounding("trunc", input)


def _activation(name: str, input, inplace: bool, compute):
    """``compute(input)``; with ``inplace=True`` (torch's ``F.<name>(..., inplace=True)``) the result is written
    into ``input`` and returned, under torch's rules for in-place writes (see ops.inplace)."""
    return apply_inplace(name + "_", input, compute) if inplace else compute(input)


@declare(method=False, top_level=False, functional=True)
def gelu(input, approximate="none"):
    """Gaussian Error Linear Unit, ``x * Phi(x)``; ``approximate='tanh'`` uses the tanh formula."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu(approximate)(_float_input("gelu", input))


@declare(method=False, top_level=False, functional=True)
def silu(input, inplace=False):
    return _activation("silu", input, inplace, lambda t: Silu()(_float_input("silu", t)))


@declare(method=False, top_level=False, functional=True)
def softplus(input, beta=1.0, threshold=20.0):
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero")
    return Softplus(beta, threshold)(_float_input("softplus", input))


@declare(method=False, top_level=False, functional=True)
def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _activation("leaky_relu", input, inplace, lambda t: LeakyRelu(negative_slope)(_float_input("leaky_relu", t)))


@declare(method=False, top_level=False, functional=True)
def elu(input, alpha=1.0, inplace=False):
    return _activation("elu", input, inplace, lambda t: Elu(alpha)(_float_input("elu", t)))


@declare(method=False, top_level=False, functional=True)
def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return _activation("hardtanh", input, inplace, lambda t: Hardtanh(min_val, max_val)(_float_input("hardtanh", t)))


@declare(method=False, top_level=False, functional=True)
def relu6(input, inplace=False):
    return _activation("relu6", input, inplace, lambda t: hardtanh(t, 0.0, 6.0))


@declare(method=False, top_level=False, functional=True)
def logsigmoid(input):
    return LogSigmoid()(_float_input("logsigmoid", input))


@declare(method=False, functional=True, functional_inplace=True)
def selu(input):
    """Scaled ELU with torch's fixed constants: ``scale * elu(x, alpha)`` (self-normalising networks)."""
    return mul(Elu(_SELU_ALPHA)(_float_input("selu", input)), _SELU_SCALE)


@declare(method=False, top_level=False, functional=True)
def mish(input, inplace=False):
    return _activation("mish", input, inplace, lambda t: Mish()(_float_input("mish", t)))


@declare(method=False, top_level=False, functional=True)
def softsign(input):
    return Softsign()(_float_input("softsign", input))


@declare(method=False, top_level=False, functional=True)
def hardsigmoid(input, inplace=False):
    return _activation("hardsigmoid", input, inplace, lambda t: Hardsigmoid()(_float_input("hardsigmoid", t)))


@declare(method=False, top_level=False, functional=True)
def hardswish(input, inplace=False):
    return _activation("hardswish", input, inplace, lambda t: Hardswish()(_float_input("hardswish", t)))


# ------------------------------------------------------------------ clamp, maximum/minimum, where, masked_fill
class Clamp(Op):
    """Clamp to number bounds (None: unbounded). At a bound the gradient still passes, as in torch."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        lo, hi = self.lo, self.hi
        self.keep = B.ones(x.shape, bool, like=x) if lo is None else x >= lo
        out = x if lo is None else B.maximum(x, B.asarray(lo, x.dtype, like=x))
        if hi is not None:
            self.keep &= out <= hi
            out = B.minimum(out, B.asarray(hi, x.dtype, like=x))
        return out if out is not x else x.copy()

    def backward(self, grad):
        return grad * self.keep


class ClampTensor(Op):
    """Clamp to tensor bounds: ``min(max(x, lo), hi)``. Each output element takes its gradient from the one
    operand it copied; where x equals a bound, x gets it."""

    def __init__(self, has_lo, has_hi):
        self.has_lo, self.has_hi = has_lo, has_hi

    def forward(self, x, *bounds):
        out = x
        self.from_lo = self.from_hi = None
        if self.has_lo:
            self.from_lo = x < bounds[0]
            out = B.maximum(x, bounds[0])
        if self.has_hi:
            self.from_hi = out > bounds[-1]
            out = B.minimum(out, bounds[-1])
            if self.from_lo is not None:
                self.from_lo = self.from_lo & ~self.from_hi
        return out

    def backward(self, grad):
        need = self.needs_input_grad
        from_x = None
        grads = []
        for mask in (self.from_lo, self.from_hi):
            if mask is not None:
                grads.append(B.where(mask, grad, 0) if need[len(grads) + 1] else None)
                from_x = ~mask if from_x is None else from_x & ~mask
        gx = B.where(from_x, grad, 0) if need[0] else None
        return (gx, *grads)


class Maximum(Op):
    """Element-wise max; where the two are equal each gets half the gradient (torch's convention)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return B.maximum(a, b)

    def backward(self, grad):
        return _split_ties(grad, self.a < self.b, self.a > self.b, self.a == self.b, self.needs_input_grad)


class Minimum(Op):
    def forward(self, a, b):
        self.a, self.b = a, b
        return B.minimum(a, b)

    def backward(self, grad):
        return _split_ties(grad, self.a > self.b, self.a < self.b, self.a == self.b, self.needs_input_grad)


def _split_ties(grad, a_loses, b_loses, tie, needs):
    """The loser gets nothing, ties get half each; with a NaN neither loses, so both get it (as in torch)."""
    half = grad * 0.5
    ga = B.where(a_loses, 0, B.where(tie, half, grad)) if needs[0] else None
    gb = B.where(b_loses, 0, B.where(tie, half, grad)) if needs[1] else None
    return ga, gb


class Where(Op):
    """Pick ``a`` where the condition holds, else ``b``; each gets the gradient of the elements it supplied."""

    def forward(self, cond, a, b):
        self.cond = cond
        return B.where(cond, a, b)

    def backward(self, grad):
        _, ga, gb = self.needs_input_grad
        return None, (B.where(self.cond, grad, 0) if ga else None), (B.where(self.cond, 0, grad) if gb else None)


class MaskedFill(Op):
    """``value`` where ``mask`` is True, else ``x``; ``value`` (a 0-d tensor) gets the masked gradient's sum."""

    saved = (1,)  # backward reads the mask

    def forward(self, x, mask, value):
        self.mask = mask
        return B.where(mask, value, x)

    def backward(self, grad):
        gx, _, gv = self.needs_input_grad
        return (B.where(self.mask, 0, grad) if gx else None), None, (B.where(self.mask, grad, 0) if gv else None)


@declare(aliases=("clip",), method_aliases=("clip",))
def clamp(input, min=None, max=None):
    """Limit ``input`` to ``[min, max]`` (numbers or tensors; a missing bound is unbounded).

    If ``min > max`` every element becomes ``max``, as in torch. The result dtype follows type promotion.
    """
    x = _tensor_arg("clamp", input)
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    dt = _dt.result_type(*[v for v in (x, min, max) if v is not None])
    if x.array.dtype.kind == "b" or dt.name == "bool":
        raise RuntimeError("clamp: not implemented for bool tensors")
    if not isinstance(min, Tensor) and not isinstance(max, Tensor):
        return Clamp(min, max)(cast(x, dt))
    bounds = []
    for b in (min, max):
        if b is not None:
            bounds.append(cast(b, dt) if isinstance(b, Tensor) else as_tensor_like(b, x, dt))
    check_same_device("clamp", x, *bounds)
    try:
        return ClampTensor(min is not None, max is not None)(cast(x, dt), *bounds)
    except ValueError as e:
        shapes = ", ".join(str(tuple(t.shape)) for t in (x, *bounds))
        raise RuntimeError(f"clamp: shapes {shapes} are not broadcastable") from e


@declare
def clamp_min(input, min):
    return clamp(input, min=min)


@declare
def clamp_max(input, max):
    return clamp(input, max=max)


def _pairwise(op_cls, name, input, other):
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError(
            f"{name}(): expected both arguments to be Tensors, got {type(input).__name__} and {type(other).__name__}"
        )
    a, b = operands(name, input, other)
    return apply_binary(op_cls, name, a, b)


@declare
def maximum(input, other):
    """Element-wise maximum of two tensors (NaN propagates); ties share the gradient equally."""
    return _pairwise(Maximum, "maximum", input, other)


@declare
def minimum(input, other):
    """Element-wise minimum of two tensors (NaN propagates); ties share the gradient equally."""
    return _pairwise(Minimum, "minimum", input, other)


@declare(method=False)  # Tensor.where(condition, other) puts self second: see below
def where(condition, input=None, other=None):
    """``input`` where ``condition`` is True, else ``other`` (tensors or numbers, broadcast together).

    ``where(condition)`` alone returns the indices of the True elements, like ``nonzero(as_tuple=True)``.
    """
    if not isinstance(condition, Tensor):
        raise TypeError(f"where(): argument 'condition' must be Tensor, not {type(condition).__name__}")
    if condition.array.dtype.kind != "b":
        raise RuntimeError(f"where: expected condition to be a bool tensor, but got {condition.dtype}")
    if input is None and other is None:
        return tuple(Tensor._make(i.astype(_dt.int64.np)) for i in B.nonzero(condition.array))
    if input is None or other is None:
        raise TypeError("where(): expected both 'input' and 'other' (or neither)")
    if isinstance(input, Tensor) or isinstance(other, Tensor):
        a, b = operands("where", input, other)
    else:
        dt = _dt.result_type(input, other)
        a, b = as_tensor_like(input, condition, dt), as_tensor_like(other, condition, dt)
    check_same_device("where", condition, a, b)
    try:
        return Where()(condition, a, b)
    except ValueError as e:
        raise RuntimeError(
            f"where: shapes {tuple(condition.shape)}, {tuple(a.shape)} and {tuple(b.shape)} are not broadcastable"
        ) from e


@declare
def masked_fill(input, mask, value):
    """A copy of ``input`` with ``value`` (a number or a 0-d tensor) wherever the bool ``mask`` is True."""
    x = _tensor_arg("masked_fill", input)
    if not isinstance(mask, Tensor) or mask.array.dtype.kind != "b":
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"masked_fill: expected mask to be a bool tensor, but got {got}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                f"masked_fill: only supports a 0-dimensional value tensor, but got a tensor with "
                f"{value.ndim} dimension(s)"
            )
        v = cast(value, x.dtype)
    else:
        v = as_tensor_like(value, x, x.dtype)
    check_same_device("masked_fill", x, mask, v)
    try:
        out = MaskedFill()(x, mask, v)
    except ValueError as e:
        raise RuntimeError(
            f"masked_fill: mask of shape {tuple(mask.shape)} cannot be broadcast to input of shape {tuple(x.shape)}"
        ) from e
    return out


@declare_method("where")
def _where_method(self, condition, other):
    """``Tensor.where(condition, other)``: ``where(condition, self, other)`` (torch: self is the first choice)."""
    return where(condition, self, other)


# ------------------------------------------------------------------ more activations, fmax / fmin
# (shrinkage functions, CELU and threshold: each backward is a mask chosen where torch's derivative is
# taken at the switch points, and is written over ``B`` so that create_graph differentiates it again)
class Celu(Op):
    """``max(0, x) + min(0, alpha * (e^(x / alpha) - 1))``; at 0 the gradient is 1 and, as for ELU, the
    second derivative 0 (the constant branch is taken there)."""

    def __init__(self, alpha):
        self.alpha = alpha
        # torch's backward scales by 1 / alpha rounded to float32 first (so its gradient at 0 is 1.00000002
        # for alpha = 0.7); the same constant here keeps the gradients equal to the last digit
        self.inv_alpha = 1 / struct.unpack("f", struct.pack("f", alpha))[0]

    def forward(self, x):
        self.x = x
        return B.where(x > 0, x, self.alpha * B.expm1(B.minimum(x, 0) / self.alpha))

    def backward(self, grad):
        x, scale = self.x, self.inv_alpha
        return B.where(x <= 0, grad * (self.alpha * scale) * B.exp(B.where(x < 0, x, 0) * scale), grad)


class MaskedIdentity(Op):
    """``x`` where ``keep``, else ``fill`` (a number): threshold and hardshrink. The gradient passes where
    ``keep`` holds; ``keep`` is computed by the caller's rule, so NaN inputs follow torch's comparisons."""

    saved = ()  # backward reads only the mask

    def __init__(self, keep_of, fill):
        self.keep_of, self.fill = keep_of, fill

    def forward(self, x):
        self.keep = self.keep_of(x)
        return B.where(self.keep, x, B.asarray(self.fill, x.dtype, like=x))

    def backward(self, grad):
        return B.where(self.keep, grad, 0)


class Softshrink(Op):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, 0 between (bounds included, gradient
    0 there, as in torch)."""

    saved = ()  # backward reads only the mask

    def __init__(self, lambd):
        self.lambd = lambd

    def forward(self, x):
        lambd = self.lambd
        self.inside = (x >= -lambd) & (x <= lambd)
        return B.where(x > lambd, x - lambd, B.where(x < -lambd, x + lambd, B.where(self.inside, 0, x)))  # NaN stays

    def backward(self, grad):
        return B.where(self.inside, 0, grad)


class Fmax(Op):
    """Element-wise max that ignores NaN (the other operand wins; NaN only where both are). As in torch, a tie
    gives the whole gradient to ``input`` (``maximum`` splits it)."""

    saved = ()  # backward reads only the mask

    @staticmethod
    def input_wins(a, b):
        return a >= b

    def forward(self, a, b):
        self.from_a = self.input_wins(a, b) | B.isnan(b)
        return B.where(self.from_a, a, b)

    def backward(self, grad):
        ga, gb = self.needs_input_grad
        return (B.where(self.from_a, grad, 0) if ga else None), (B.where(self.from_a, 0, grad) if gb else None)


class Fmin(Fmax):
    """Element-wise min that ignores NaN; a tie gives the whole gradient to ``input``, as in torch."""

    @staticmethod
    def input_wins(a, b):
        return a <= b


@declare(method=False, functional=True, functional_inplace=True)
def celu(input, alpha=1.0):
    """Continuously differentiable ELU: ``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return Celu(alpha)(_floating_only("celu", input))


@declare(method=False, functional=True, functional_inplace=True)
def threshold(input, threshold, value):
    """``input`` where it is greater than ``threshold``, else ``value`` (NaN stays NaN, as in torch)."""
    x = _tensor_arg("threshold", input)
    if x.array.dtype.kind == "b":
        raise NotImplementedError("\"threshold\" not implemented for 'Bool'")
    return MaskedIdentity(lambda a: ~(a <= threshold), value)(x)


@declare(functional=True)
def hardshrink(input, lambd=0.5):
    """``input`` where ``|input| > lambd``, else 0."""
    x = _floating_only("hardshrink", input)
    return MaskedIdentity(lambda a: ~((a >= -lambd) & (a <= lambd)), 0)(x)


@declare(method=False, top_level=False, functional=True)
def softshrink(input, lambd=0.5):
    """Shrink toward 0 by ``lambd``: ``x - lambd`` above it, ``x + lambd`` below ``-lambd``, 0 between."""
    x = _floating_only("softshrink", input)
    top = {"float64": 1.79769e308, "float32": 3.40282e38}.get(x.dtype.name, 65504.0)  # the dtype's largest
    if not 0 <= lambd <= top:
        raise RuntimeError(
            f"lambda must be in range [0, {top:g}] for input dtype {type_name(x.dtype)}, but found {lambd:g}"
        )
    return Softshrink(lambd)(x)


@declare(method=False, top_level=False, functional=True)
def tanhshrink(input):
    """``input - tanh(input)``."""
    return sub(input, tanh(input))


def _floating_only(op: str, x) -> Tensor:
    """The input of an activation torch computes for floating dtypes only (no promotion of integers)."""
    if _tensor_arg(op, x).array.dtype.kind != "f":
        raise NotImplementedError(f"\"{op}\" not implemented for '{type_name(x.dtype)}'")
    return x


def _activation_(name, compute):
    """``torch.<name>_`` and ``nn.functional.<name>_``: the activation written into its input."""

    def inplace(input, *args, **kwargs):
        return apply_inplace(name + "_", input, lambda t: compute(t, *args, **kwargs))

    inplace.__name__ = inplace.__qualname__ = name + "_"
    inplace.__doc__ = f"``{name}`` in place (torch.{name}_)."
    inplace.__signature__ = inspect.signature(compute)
    declare_inplace(inplace, method=False)
    REGISTRY[name + "_"].functional = True  # nn.functional has it too
    return inplace


celu_ = _activation_("celu", celu)
threshold_ = _activation_("threshold", threshold)


@declare
def fmax(input, other):
    """Element-wise maximum where a NaN loses to a number (``maximum`` propagates NaN)."""
    return _pairwise(Fmax, "fmax", input, other)


@declare
def fmin(input, other):
    """Element-wise minimum where a NaN loses to a number (``minimum`` propagates NaN)."""
    return _pairwise(Fmin, "fmin", input, other)


# torch has these only in nn.functional (declared top_level=False); minigrad.<name> keeps them for existing code,
# and nn.functional imports them from minigrad.ops until it is generated from the registry
_FUNCTIONAL_ONLY = [n for n, d in REGISTRY.items() if d.module == __name__ and d.functional and not d.top_level]
__all__ = exports(__name__) + _FUNCTIONAL_ONLY
