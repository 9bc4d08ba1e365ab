"""Older torch spellings that tutorials still use: ``Variable``, ``FloatTensor(...)``, ``x.type(...)``.

``autograd.Variable(t, requires_grad=True)`` is a tensor sharing ``t``'s memory; every tensor is an
instance of ``Variable``. ``minigrad.FloatTensor([1, 2])`` (or ``FloatTensor(2, 3)``, a new tensor of that
shape) makes a float32 tensor, and ``isinstance(x, minigrad.FloatTensor)`` asks for a float32 CPU tensor,
as in torch; ``minigrad.cuda.FloatTensor`` is its GPU twin.
"""

from __future__ import annotations

from . import dtypes as _dt
from .creation import tensor, zeros
from .tensor import Tensor

__all__ = ["Variable", "TYPED_TENSORS"]

TYPED_TENSORS = {
    "FloatTensor": _dt.float32,
    "DoubleTensor": _dt.float64,
    "HalfTensor": _dt.float16,
    "LongTensor": _dt.int64,
    "IntTensor": _dt.int32,
    "ShortTensor": _dt.int16,
    "CharTensor": _dt.int8,
    "ByteTensor": _dt.uint8,
    "BoolTensor": _dt.bool_,
}


class _TypedTensorType(type):
    """``FloatTensor(data)`` makes a tensor; ``isinstance(x, FloatTensor)`` checks dtype and device."""

    def __call__(cls, *data, device=None):
        device = cls.device_type if device is None else device
        if data and all(isinstance(d, int) and not isinstance(d, bool) for d in data):
            return zeros(*data, dtype=cls.dtype, device=device)
        source = data[0] if data else []
        if cls.dtype._kind < 2 and not isinstance(source, Tensor):  # torch truncates toward zero here
            return tensor(source, device=device).to(cls.dtype)
        return tensor(source, dtype=cls.dtype, device=device)

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.device.type == cls.device_type

    def __repr__(cls):
        return f"<class '{cls.__qualname__}'>"


def _typed(name: str, device_type: str):
    prefix = "minigrad.cuda." if device_type == "cuda" else "minigrad."
    return _TypedTensorType(
        name, (), {"dtype": TYPED_TENSORS[name], "device_type": device_type, "__qualname__": prefix + name}
    )


CPU_TYPES = {name: _typed(name, "cpu") for name in TYPED_TENSORS}
CUDA_TYPES = {name: _typed(name, "cuda") for name in TYPED_TENSORS}


class _VariableType(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor)

    def __call__(cls, data, requires_grad: bool = False, volatile: bool = False):
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        return data.detach().requires_grad_(bool(requires_grad))


class Variable(metaclass=_VariableType):
    """torch's old wrapper class: now every tensor is a Variable, and ``Variable(t)`` is ``t.detach()``."""


def _type(self, dtype=None, non_blocking: bool = False):
    """``x.type()``: the tensor type's name; ``x.type(t)``: ``x`` converted to ``t`` (a dtype, a typed tensor
    class like ``minigrad.LongTensor``, or its name, 'torch.LongTensor' as torch spells it)."""
    if dtype is None:
        name = {v.name: k for k, v in TYPED_TENSORS.items()}[self.dtype.name]
        return f"minigrad.cuda.{name}" if self.device.type == "cuda" else f"minigrad.{name}"
    if isinstance(dtype, str):
        parts = dtype.split(".")
        if parts[-1] not in TYPED_TENSORS or parts[0] not in ("torch", "minigrad"):
            raise ValueError(f"invalid type: '{dtype}'")
        target = (CUDA_TYPES if "cuda" in parts[1:-1] else CPU_TYPES)[parts[-1]]
        return self.to(dtype=target.dtype, device=target.device_type)
    if isinstance(dtype, _TypedTensorType):
        return self.to(dtype=dtype.dtype, device=dtype.device_type)
    return self.to(_dt.as_dtype(dtype))


Tensor.type = _type
