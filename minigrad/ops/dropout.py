"""Dropout: zero each element with probability ``p`` during training, scale the survivors by ``1/(1-p)``.

The scaling keeps the expected value of every activation unchanged, so nothing needs to change at
evaluation time (dropout is then the identity). The keep-mask is drawn once, from the seeded
generator in :mod:`minigrad.random`, and saved: backward multiplies by exactly the same mask.
"""

from __future__ import annotations

from ..autograd.graph import Op
from ..compute import B
from ..tensor import Tensor
from .convert import to_device
from .registry import declare, exports


class Dropout(Op):
    """``x * mask * scale`` with a fixed 0/1 ``mask`` (an array of x's dtype) and ``scale = 1/(1-p)``.

    The mask is multiplied by the scale once, up front: its entries are exactly 0 or ``scale`` (rounded
    to x's dtype), so ``x * (mask * scale)`` equals ``(x * mask) * scale`` bit for bit, with one product.
    """

    saved = ()  # backward reads only the mask

    def __init__(self, mask, scale):
        self.mask = mask * mask.dtype.type(scale)

    def forward(self, x):
        return x * self.mask

    def backward(self, grad):
        return grad * self.mask


def draw_mask(shape, p: float, dtype, device, generator=None, like=None):
    """A keep-mask (1 = keep, probability ``1 - p``) of ``shape`` drawn from minigrad's generator, laid out in
    memory like ``like`` (see ``B.dropout_mask``)."""
    return B.dropout_mask(shape, p, dtype, device, generator, like)


@declare(method=False, functional=True)
def dropout(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *, mask=None, generator=None
) -> Tensor:
    """torch.nn.functional.dropout. ``mask`` (minigrad-only): an explicit keep-mask (0/1 or bool, array or
    Tensor, input's shape) used instead of a random draw, so two libraries can be fed the same mask.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"dropout(): argument 'input' must be Tensor, not {type(input).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or (p == 0.0 and mask is None):
        return input
    if input.array.dtype.kind != "f":
        raise RuntimeError(f"dropout(): expected a floating-point input, got {input.dtype}")
    dt = input.array.dtype
    if mask is None:
        m = draw_mask(input.shape, p, dt, input.device, generator, like=input.array)
    else:
        m = mask if isinstance(mask, Tensor) else Tensor._make(mask)
        if tuple(m.shape) != tuple(input.shape):
            raise RuntimeError(
                f"dropout(): mask of shape {tuple(m.shape)} does not match input of shape {tuple(input.shape)}"
            )
        m = to_device(m, input.device).array
        m = m.astype(dt) if m.dtype != dt else m
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    if inplace:  # input is overwritten and returned, with torch's autograd rules (minigrad.ops.inplace)
        from .inplace import apply_inplace

        return apply_inplace("dropout_", input, Dropout(m, scale), keep=False)
    return Dropout(m, scale)(input)


__all__ = exports(__name__)
