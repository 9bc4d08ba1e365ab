"""``Dropout`` (elements), ``Dropout1d`` / ``Dropout2d`` (whole channels): randomly zero activations while
training (a regulariser); the identity in eval mode."""

from __future__ import annotations

from ...ops.dropout import dropout
from ...ops.vision import dropout1d, dropout2d
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d"]


class Dropout(Module):
    """Zero each element with probability ``p`` in training mode and scale the rest by ``1/(1-p)``."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input, mask=None):
        return dropout(input, self.p, self.training, self.inplace, mask=mask)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class _ChannelDropout(Module):
    _fn = None

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return type(self)._fn(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_ChannelDropout):
    """Zero whole channels of ``(N, C, L)`` with probability ``p`` (scale the rest by ``1/(1-p)``) in training."""

    _fn = staticmethod(dropout1d)


class Dropout2d(_ChannelDropout):
    """Zero whole channels of ``(N, C, H, W)`` with probability ``p`` (scale the rest by ``1/(1-p)``) in training."""

    _fn = staticmethod(dropout2d)
