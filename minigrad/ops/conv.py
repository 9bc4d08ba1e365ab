"""1-d convolution (cross-correlation, as in torch) over the last axis.

Layouts are torch's: input ``(N, C_in, L)`` (or unbatched ``(C_in, L)``), weight
``(C_out, C_in / groups, K)``, output ``(N, C_out, L_out)`` with
``L_out = (L + pad_left + pad_right - dilation * (K - 1) - 1) // stride + 1``::

    out[n, o, l] = bias[o] + sum_{c, j} weight[o, c, j] * xpad[n, c, l*stride + j*dilation]

(``c`` running over the input channels of ``o``'s group). As a matrix product: lay every receptive
field out as a column (im2col), then ``out[n] = W (C_out, C*K) @ cols[n] (C*K, L_out)``. Backward is
the same product transposed: ``grad_W = sum_n grad[n] @ cols[n].T``, and ``W.T @ grad[n]`` gives the
columns' gradient, which col2im adds back at the positions each column was read from.
:mod:`minigrad.compute.reference.conv` is that, in a few lines; the fast backend
(:mod:`minigrad.compute.fast.conv`) computes the same in cache-sized blocks on threads, or by Winograd.
"""

from __future__ import annotations

import numbers

from ..autograd.graph import Op
from ..compute import B
from ..tensor import Tensor
from ._util import check_same_device
from .registry import declare, exports


# ------------------------------------------------------------------ argument helpers
def single(value, name: str, op: str) -> int:
    """An int given as ``k`` or ``(k,)`` (torch's 1-d convention)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise RuntimeError(
                f"{op}: expected {name} to be a single integer value or a list of 1 values to match "
                f"the convolution dimensions, but got {name}={list(value)}"
            )
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{op}: {name} must be an int, got {type(value).__name__}")
    return int(value)


def _same_padding(k: int, dilation: int):
    """'same' padding: ``dilation*(K-1)`` zeros in all, the odd one on the right (as torch)."""
    total = dilation * (k - 1)
    return total // 2, total - total // 2


# ------------------------------------------------------------------ the op
class Conv1d(Op):
    """Cross-correlation of ``x (N, C_in, L)`` (or unbatched ``(C_in, L)``) with ``w (C_out, C_in/G, K)``,
    plus an optional bias."""

    def __init__(self, stride, pad_left, pad_right, dilation, groups):
        self.stride, self.pad, self.dilation, self.groups = stride, (pad_left, pad_right), dilation, groups

    def forward(self, x, w, b=None):
        self.unbatched = x.ndim == 2
        self.x = x[None] if self.unbatched else x  # the backend functions take a batch
        self.w = w
        out = B.conv1d(self.x, w, b, self.stride, self.pad, self.dilation, self.groups)
        return out[0] if self.unbatched else out

    def backward(self, grad):
        needs = self.needs_input_grad
        if self.unbatched:
            grad = grad[None]
        gx, gw = B.conv1d_backward(grad, self.x, self.w, self.stride, self.pad, self.dilation, self.groups, needs[:2])
        if gx is not None and self.unbatched:
            gx = gx[0]
        # the bias feeds every position of every sample: its gradient is grad summed over both
        gb = B.accurate_sum(grad, (0, 2)) if len(needs) > 2 and needs[2] else None
        return gx, gw, gb


@declare(method=False, functional=True, autocast="lower")
def conv1d(
    input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1, groups=1
) -> Tensor:
    """1-d cross-correlation over the last axis of ``input`` ``(N, C_in, L)`` or ``(C_in, L)``.

    ``padding`` is an int (zeros on both sides), ``'valid'`` (none) or ``'same'`` (output as long
    as the input; only with stride 1). ``groups`` splits the channels into independent groups.
    """
    op = "conv1d"
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(
            f"{op}: expected input and weight to be Tensors, got {type(input).__name__} and {type(weight).__name__}"
        )
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"Expected 2D (unbatched) or 3D (batched) input to conv1d, but got input of size: {list(input.shape)}"
        )
    if weight.ndim != 3:
        raise RuntimeError(
            f"{op}: weight should have three dimensions (C_out, C_in/groups, K), got shape {list(weight.shape)}"
        )
    tensors = [input, weight] + ([bias] if bias is not None else [])
    check_same_device(op, *tensors)
    for name, t in zip(("input", "weight", "bias"), tensors):
        if t.array.dtype.kind != "f":
            raise RuntimeError(f"{op}: expected a floating-point {name}, got {t.dtype}")
    if weight.array.dtype != input.array.dtype or (bias is not None and bias.array.dtype != input.array.dtype):
        raise RuntimeError(
            f"{op}: input ({input.dtype}), weight ({weight.dtype})"
            f"{f' and bias ({bias.dtype})' if bias is not None else ''} should have the same dtype"
        )
    stride, dilation, groups = single(stride, "stride", op), single(dilation, "dilation", op), int(groups)
    if stride <= 0:
        raise RuntimeError(f"{op}: non-positive stride is not supported (got stride={stride})")
    if dilation <= 0:
        raise RuntimeError(f"{op}: dilation should be greater than zero (got dilation={dilation})")
    if groups <= 0:
        raise RuntimeError(f"{op}: non-positive groups is not supported (got groups={groups})")
    c_out, c_g, k = weight.shape
    c_in = input.shape[-2]
    if c_out % groups:
        raise RuntimeError(
            f"{op}: given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
            f"but got weight of size {list(weight.shape)}"
        )
    if c_in != c_g * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
            f"{list(input.shape)} to have {c_g * groups} channels, but got {c_in} channels instead"
        )
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise RuntimeError(
            f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
            f"{c_out} elements, but got bias of size {list(bias.shape)} instead"
        )
    if isinstance(padding, str):
        if padding == "valid":
            pl = pr = 0
        elif padding == "same":
            if stride != 1:
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pl, pr = _same_padding(k, dilation)
        else:
            raise RuntimeError(f"{op}: invalid padding string {padding!r}; expected 'same', 'valid' or an int")
    else:
        pl = pr = single(padding, "padding", op)
        if pl < 0:
            raise RuntimeError(f"{op}: negative padding is not supported (got padding={pl})")
    length = input.shape[-1]
    if length + pl + pr < dilation * (k - 1) + 1:
        raise RuntimeError(
            f"Calculated padded input size per channel: ({length + pl + pr}). Kernel size: "
            f"({dilation * (k - 1) + 1}). Kernel size can't be greater than actual input size"
        )
    return Conv1d(stride, pl, pr, dilation, groups)(*tensors)


__all__ = exports(__name__)
