"""Conversions that stay in the graph: dtype casts, device moves and clones."""

from __future__ import annotations

from .. import backend
from .. import dtypes as _dt
from ..autograd.graph import Op
from ..tensor import Tensor


class Cast(Op):
    saved = ()  # backward reads no input

    def __init__(self, dt: _dt.dtype):
        self.dt = dt

    def forward(self, x):
        self.src = x.dtype
        return x.astype(self.dt.np)

    def backward(self, grad):
        return grad.astype(self.src)


class ToDevice(Op):
    saved = ()  # backward reads no input

    def __init__(self, dev: backend.Device):
        self.dev = dev

    def forward(self, x):
        self.src = backend.device_of(x)
        return backend.to_device(x, self.dev)

    def backward(self, grad):
        return backend.to_device(grad, self.src)


class Clone(Op):
    saved = ()  # backward reads no input

    def forward(self, x):
        return x.copy()

    def backward(self, grad):
        return grad


def to_dtype(x: Tensor, dt) -> Tensor:
    dt = _dt.as_dtype(dt)
    if x.array.dtype == dt.np:
        return x
    if x.requires_grad and not dt.is_floating_point:
        return Tensor._make(x.array.astype(dt.np))  # integer results leave the graph, as in torch
    return Cast(dt)(x)


def to_device(x: Tensor, dev) -> Tensor:
    dev = backend.Device(dev)
    if x.device == dev:
        return x
    return ToDevice(dev)(x)


def clone(x: Tensor, *, memory_format=None) -> Tensor:
    return Clone()(x)


def contiguous(x: Tensor, memory_format=None) -> Tensor:
    if x.array.flags.c_contiguous:
        return x
    return Clone()(x)
