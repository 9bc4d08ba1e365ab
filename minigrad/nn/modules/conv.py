"""``Conv1d``: a learnable 1-d convolution layer over ``(N, C_in, L)`` inputs (see ``minigrad.ops.conv``)."""

from __future__ import annotations

from ... import creation
from ... import ops as _ops
from ...ops.conv import conv1d, single
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["Conv1d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class Conv1d(Module):
    """``out[n, o] = bias[o] + sum_c sum_k weight[o, c, k] * x[n, c, l*stride + k*dilation]`` (cross-correlation).

    ``weight``: ``(out_channels, in_channels / groups, kernel_size)``, ``bias``: ``(out_channels,)``.
    Initialised like torch: ``kaiming_uniform_(a=sqrt(5))`` on the weight, i.e. U(-1/sqrt(fan_in),
    1/sqrt(fan_in)) with ``fan_in = in_channels / groups * kernel_size``, and the bias from the same
    distribution. ``padding`` is an int, ``'valid'`` or ``'same'``; ``padding_mode`` chooses what the
    padding holds ('zeros', or 'reflect'/'replicate'/'circular' copies of the input).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ):
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {list(_PADDING_MODES)}, but got padding_mode='{padding_mode}'"
            )
        k = single(kernel_size, "kernel_size", "Conv1d")
        stride = single(stride, "stride", "Conv1d")
        dilation = single(dilation, "dilation", "Conv1d")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string '{padding}', should be one of ['valid', 'same']")
            if padding == "same" and stride != 1:
                raise ValueError("padding='same' is not supported for strided convolutions")
        else:
            padding = (single(padding, "padding", "Conv1d"),)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding, self.dilation = (k,), (stride,), padding, (dilation,)
        self.groups, self.padding_mode = groups, padding_mode
        # (left, right) amounts for the non-zero padding modes, which pad explicitly before convolving
        if padding == "same":
            total = dilation * (k - 1)
            self._lr_padding = (total // 2, total - total // 2)
        elif padding == "valid":
            self._lr_padding = (0, 0)
        else:
            self._lr_padding = (padding[0], padding[0])
        self.weight = Parameter(creation.empty((out_channels, in_channels // groups, k), dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init._default_layer_init_(self.weight, self.bias)

    def forward(self, input):
        if self.padding_mode != "zeros":
            pad = getattr(_ops, "pad", None)
            if pad is None:
                raise NotImplementedError(f"Conv1d: padding_mode='{self.padding_mode}' needs minigrad.ops.pad")
            padded = pad(input, self._lr_padding, mode=self.padding_mode)
            return conv1d(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,):
            s += f", padding={self.padding}"
        if self.dilation != (1,):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s
