"""``Unfold`` (im2col) and ``Fold`` (col2im): modules over ``F.unfold`` / ``F.fold`` of ``minigrad.ops.vision``."""

from __future__ import annotations

from ...ops.vision import fold, unfold
from .module import Module

__all__ = ["Unfold", "Fold"]


class Unfold(Module):
    """Every ``kernel_size`` block of ``(N, C, H, W)`` as a column: ``(N, C * kh * kw, number of blocks)``."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input):
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, stride={self.stride}"


class Fold(Module):
    """Columns ``(N, C * kh * kw, L)`` summed back into ``(N, C, *output_size)`` images (overlaps add up)."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input):
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
            f"padding={self.padding}, stride={self.stride}"
        )
