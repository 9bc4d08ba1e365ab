"""Padding layers: ``ReflectionPad``, ``ReplicationPad``, ``CircularPad``, ``ConstantPad`` and ``ZeroPad``, 1-d
and 2-d. Each holds its padding amounts ``(left, right[, top, bottom])`` and calls ``F.pad``: the constant
modes through ``minigrad.ops.shape.pad``, the others through ``minigrad.ops.vision.pad_nonconstant``."""

from __future__ import annotations

import numbers

from ...ops.shape import pad
from ...ops.vision import pad_nonconstant
from .module import Module

__all__ = [
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "CircularPad1d",
    "CircularPad2d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ZeroPad1d",
    "ZeroPad2d",
]


def _amounts(padding, dims: int, name: str) -> tuple:
    """An int (the same on every side) or ``2 * dims`` ints, as a tuple of ``2 * dims`` ints."""
    if isinstance(padding, numbers.Integral):
        return (int(padding),) * (2 * dims)
    padding = tuple(int(p) for p in padding)
    if len(padding) != 2 * dims:
        raise ValueError(f"{name}: padding must be an int or a tuple of {2 * dims} ints, got {padding}")
    return padding


class _CopyPad(Module):
    """Padding that copies the input (reflect, replicate, circular)."""

    mode = "reflect"
    dims = 1

    def __init__(self, padding):
        super().__init__()
        self.padding = _amounts(padding, self.dims, type(self).__name__)

    def forward(self, input):
        return pad_nonconstant(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_CopyPad):
    """Pad the last axis with its mirror image, the edge not repeated: ``2 1 [0 1 2 3] 2 1``."""


class ReflectionPad2d(_CopyPad):
    """Pad the last two axes with their mirror images, the edges not repeated."""

    dims = 2


class ReplicationPad1d(_CopyPad):
    """Pad the last axis by repeating its edge values: ``0 0 [0 1 2 3] 3 3``."""

    mode = "replicate"


class ReplicationPad2d(_CopyPad):
    """Pad the last two axes by repeating their edge values."""

    mode, dims = "replicate", 2


class CircularPad1d(_CopyPad):
    """Pad the last axis by wrapping around: ``2 3 [0 1 2 3] 0 1``."""

    mode = "circular"


class CircularPad2d(_CopyPad):
    """Pad the last two axes by wrapping around (a torus)."""

    mode, dims = "circular", 2


class _ConstantPadNd(Module):
    dims = 1

    def __init__(self, padding, value: float):
        super().__init__()
        self.padding, self.value = _amounts(padding, self.dims, type(self).__name__), value

    def forward(self, input):
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last axis with ``value``."""


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two axes with ``value``."""

    dims = 2


class ZeroPad1d(ConstantPad1d):
    """Pad the last axis with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two axes with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"
