"""Conversions that stay in the graph: dtype casts, device moves and clones."""

from __future__ import annotations

from .. import backend
from .. import dtypes as _dt
from ..autograd.graph import Op
from ..tensor import Tensor
from .registry import REGISTRY, declare, exports


class Cast(Op):
    linear = True  # create_graph records its backward as a LinearMap
    saved = ()  # backward reads no input

    def __init__(self, dt: _dt.dtype):
        self.dt = dt

    def forward(self, x):
        self.src = x.dtype
        return x.astype(self.dt.np)

    def backward(self, grad):
        return grad.astype(self.src)


class ToDevice(Op):
    linear = True  # create_graph records its backward as a LinearMap
    saved = ()  # backward reads no input

    def __init__(self, dev: backend.Device):
        self.dev = dev

    def forward(self, x):
        self.src = backend.device_of(x)
        return backend.to_device(x, self.dev)

    def backward(self, grad):
        return backend.to_device(grad, self.src)


class Clone(Op):
    linear = True  # create_graph records its backward as a LinearMap
    saved = ()  # backward reads no input

    def forward(self, x):
        return x.copy()

    def backward(self, grad):
        return grad


@declare(method=False, top_level=False)  # Tensor.to and its shorthands (.float(), ...) call it
def to_dtype(x: Tensor, dt) -> Tensor:
    """``x`` as dtype ``dt`` (``x`` itself when it has it already)."""
    dt = _dt.as_dtype(dt)
    if x.array.dtype == dt.np:
        return x
    if x.requires_grad and not dt.is_floating_point:
        return Tensor._make(x.array.astype(dt.np))  # integer results leave the graph, as in torch
    return Cast(dt)(x)


@declare(method=False, top_level=False)  # Tensor.to, .cpu() and .cuda() call it
def to_device(x: Tensor, dev) -> Tensor:
    """``x`` on device ``dev`` (``x`` itself when it is there already)."""
    dev = backend.Device(dev)
    if x.device == dev:
        return x
    return ToDevice(dev)(x)


@declare
def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy of ``input`` in new memory; gradients flow back to ``input`` unchanged."""
    return Clone()(input)


@declare(top_level=False)
def contiguous(x: Tensor, memory_format=None) -> Tensor:
    """``x`` itself when its memory is in row-major order, else a row-major copy."""
    if x.array.flags.c_contiguous:
        return x
    return Clone()(x)


@declare(top_level=False)
def to(input: Tensor, *args, dtype=None, device=None, non_blocking=False, copy=False) -> Tensor:
    """``x.to(dtype)``, ``x.to(device)``, ``x.to(other)`` (other's dtype and device), or keywords; ``copy=True``
    gives new memory even when nothing changes. Casts and moves are graph nodes: gradients flow back."""
    for a in args:
        if isinstance(a, Tensor):
            dtype, device = a.dtype, a.device
        elif isinstance(a, (str, backend.Device)) and not (isinstance(a, str) and a in _dt._NAMES):
            device = a
        else:
            dtype = a
    out = input
    if device is not None:
        out = to_device(out, backend.Device(device))
    if dtype is not None:
        out = to_dtype(out, _dt.as_dtype(dtype))
    if copy and out is input:
        out = clone(input)
    return out


# names torch has only as methods (or not at all): minigrad.<name> keeps them for existing code
_KEPT = [n for n, d in REGISTRY.items() if d.module == __name__ and not d.top_level and n != "to"]  # Tensor.to only
__all__ = exports(__name__) + _KEPT
