"""Element-wise ops: arithmetic with broadcasting and torch's type promotion, and unary math.

Binary ops receive two arrays of one dtype (see :func:`minigrad.ops._util.operands`) and
return gradients of the *broadcast* shape: the engine's ``sum_to`` reduces them back.
"""
from __future__ import annotations

from .. import backend
from .. import dtypes as _dt
from ..autograd.graph import Op
from ..tensor import Tensor
from ._util import apply_binary, operands

xp_of = backend.get_array_module

__all__ = ["add", "sub", "mul", "div", "true_divide", "divide", "neg", "negative", "pow", "exp"]


# ------------------------------------------------------------------ arithmetic
class Add(Op):
    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Sub(Op):
    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, -grad


class Mul(Op):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        ga, gb = self.needs_input_grad
        return (grad * self.b if ga else None), (grad * self.a if gb else None)


class Div(Op):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, grad):
        ga, gb = self.needs_input_grad
        gx = grad / self.b
        return (gx if ga else None), (-gx * self.a / self.b if gb else None)


class FloorDiv(Op):
    """Division rounded down ('floor') or toward zero ('trunc'): its gradient is zero, as in torch."""

    def __init__(self, mode):
        self.mode = mode

    def forward(self, a, b):
        xp = xp_of(a)
        self.shapes = a.shape, b.shape
        if self.mode == "floor":
            return xp.floor_divide(a, b) if a.dtype.kind in "iu" else xp.floor(a / b)
        return xp.trunc(a / b).astype(a.dtype) if a.dtype.kind == "f" else xp.fix(a / b).astype(a.dtype)

    def backward(self, grad):
        xp = xp_of(grad)
        return xp.zeros(self.shapes[0], grad.dtype), xp.zeros(self.shapes[1], grad.dtype)


class Neg(Op):
    def forward(self, x):
        return -x

    def backward(self, grad):
        return -grad


class Pow(Op):
    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a**b
        return self.out

    def backward(self, grad):
        xp = xp_of(grad)
        ga, gb = self.needs_input_grad
        a, b = self.a, self.b
        da = db = None
        if ga:
            da = xp.where(b == 0, 0, grad * b * a ** (b - 1))
        if gb:
            with _errstate(xp):
                db = grad * xp.where((a == 0) & (b >= 0), 0, self.out * xp.log(a))
        return da, db


def _errstate(xp):
    return xp.errstate(divide="ignore", invalid="ignore") if hasattr(xp, "errstate") else _Nothing()


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def add(input, other, *, alpha=1):
    if alpha != 1:
        other = mul(other, alpha)
    a, b = operands("add", input, other)
    return apply_binary(Add, "add", a, b)


def sub(input, other, *, alpha=1):
    if alpha != 1:
        other = mul(other, alpha)
    a, b = operands("sub", input, other)
    if a.array.dtype.kind == "b":
        raise RuntimeError("sub: subtraction of two bool tensors is not supported; use logical_xor instead")
    return apply_binary(Sub, "sub", a, b)


def mul(input, other):
    a, b = operands("mul", input, other)
    return apply_binary(Mul, "mul", a, b)


def div(input, other, *, rounding_mode=None):
    if rounding_mode is None:
        dt = _dt.result_type(input, other)
        a, b = operands("div", input, other, result=dt if dt.is_floating_point else _dt.get_default_dtype())
        return apply_binary(Div, "div", a, b)
    if rounding_mode not in ("floor", "trunc"):
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")
    a, b = operands("div", input, other)
    return apply_binary(FloorDiv, "div", a, b, rounding_mode)


true_divide = divide = div


def neg(input):
    return Neg()(input)


negative = neg


def pow(input, exponent):
    a, b = operands("pow", input, exponent)
    return apply_binary(Pow, "pow", a, b)


# ------------------------------------------------------------------ unary math (template)
class Exp(Op):
    def forward(self, x):
        self.out = xp_of(x).exp(x)
        return self.out

    def backward(self, grad):
        return grad * self.out


def _float_input(op: str, x: Tensor) -> Tensor:
    """Integer and bool inputs of float-valued functions are promoted to the default float, as in torch."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    if x.array.dtype.kind == "f":
        return x
    from .convert import to_dtype

    return to_dtype(x, _dt.get_default_dtype())


def exp(input):
    return Exp()(_float_input("exp", input))
