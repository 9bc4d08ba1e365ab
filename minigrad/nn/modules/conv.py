"""Learnable convolution layers: ``Conv1d`` (see ``minigrad.ops.conv``), ``Conv2d``, ``ConvTranspose1d`` and
``ConvTranspose2d`` (see ``minigrad.ops.vision``)."""

from __future__ import annotations

from ... import creation
from ...ops.conv import conv1d, single
from ...ops.vision import _pair, conv2d, conv_transpose1d, conv_transpose2d, pad_nonconstant
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

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
        _check_channels(in_channels, out_channels, groups, padding_mode)
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
            padded = pad_nonconstant(input, self._lr_padding, self.padding_mode)
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


def _check_channels(in_channels, out_channels, groups, padding_mode, allowed=_PADDING_MODES, name="Conv"):
    if groups <= 0:
        raise ValueError("groups must be a positive integer")
    if in_channels % groups:
        raise ValueError("in_channels must be divisible by groups")
    if out_channels % groups:
        raise ValueError("out_channels must be divisible by groups")
    if padding_mode not in _PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {list(_PADDING_MODES)}, but got padding_mode='{padding_mode}'")
    if padding_mode not in allowed:
        raise ValueError(f'Only "zeros" padding mode is supported for {name}')


def _conv_repr(m) -> str:
    s = f"{m.in_channels}, {m.out_channels}, kernel_size={m.kernel_size}, stride={m.stride}"
    zeros = (0,) * len(m.kernel_size)
    if m.padding != zeros:
        s += f", padding={m.padding}"
    if m.dilation != (1,) * len(m.kernel_size):
        s += f", dilation={m.dilation}"
    if getattr(m, "output_padding", zeros) != zeros:
        s += f", output_padding={m.output_padding}"
    if m.groups != 1:
        s += f", groups={m.groups}"
    if m.bias is None:
        s += ", bias=False"
    if m.padding_mode != "zeros":
        s += f", padding_mode={m.padding_mode}"
    return s


class Conv2d(Module):
    """``out[n, o, y, x] = bias[o] + sum_{c, i, j} weight[o, c, i, j] * x[n, c, y*sh + i*dh, x*sw + j*dw]``.

    ``weight``: ``(out_channels, in_channels / groups, kh, kw)``, ``bias``: ``(out_channels,)``, initialised
    like torch (``kaiming_uniform_(a=sqrt(5))``, bias uniform on ``1/sqrt(fan_in)``). ``padding``: an int, a
    pair, ``'valid'`` or ``'same'``; ``padding_mode``: 'zeros', 'reflect', 'replicate' or 'circular'.
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
        _check_channels(in_channels, out_channels, groups, padding_mode)
        op = "Conv2d"
        k, stride, dilation = (
            _pair(kernel_size, "kernel_size", op),
            _pair(stride, "stride", op),
            _pair(dilation, "dilation", op),
        )
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string '{padding}', should be one of ['valid', 'same']")
            if padding == "same" and stride != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
        else:
            padding = _pair(padding, "padding", op)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding, self.dilation = k, stride, padding, dilation
        self.groups, self.padding_mode = groups, padding_mode
        self.weight = Parameter(creation.empty((out_channels, in_channels // groups, *k), dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init._default_layer_init_(self.weight, self.bias)

    def _explicit_padding(self) -> tuple:
        """``(left, right, top, bottom)`` for F.pad, when the padding holds copies of the input."""
        if self.padding == "valid":
            return (0, 0, 0, 0)
        if self.padding == "same":
            th, tw = (d * (k - 1) for d, k in zip(self.dilation, self.kernel_size))
            return tw // 2, tw - tw // 2, th // 2, th - th // 2
        ph, pw = self.padding
        return pw, pw, ph, ph

    def forward(self, input):
        if self.padding_mode != "zeros":
            padded = pad_nonconstant(input, self._explicit_padding(), self.padding_mode)
            return conv2d(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return _conv_repr(self)


class _ConvTransposeNd(Module):
    """Shared by ``ConvTranspose1d/2d``: ``weight (in_channels, out_channels / groups, *kernel_size)``."""

    _dims = 2
    _fn = staticmethod(conv_transpose2d)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ):
        super().__init__()
        name = type(self).__name__
        _check_channels(in_channels, out_channels, groups, padding_mode, ("zeros",), name)
        n = self._dims
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size", name, n)
        self.stride, self.padding = _pair(stride, "stride", name, n), _pair(padding, "padding", name, n)
        self.output_padding = _pair(output_padding, "output_padding", name, n)
        self.dilation, self.groups, self.padding_mode = _pair(dilation, "dilation", name, n), groups, padding_mode
        shape = (in_channels, out_channels // groups, *self.kernel_size)
        self.weight = Parameter(creation.empty(shape, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init._default_layer_init_(self.weight, self.bias)  # fan_in from weight.shape[1]: out_channels/groups * k

    def _output_padding(self, input, output_size) -> tuple:
        """The ``output_padding`` that makes the output ``output_size`` (the last sizes given count)."""
        if output_size is None:
            return self.output_padding
        n = self._dims
        size = [int(v) for v in output_size][-n:]
        if len(size) != n:
            raise ValueError(
                f"ConvTranspose{n}D: for {input.ndim}D input, output_size must have {n} or {n + 2} elements"
            )
        pads = []
        for i in range(n):
            smallest = (input.shape[-n + i] - 1) * self.stride[i] - 2 * self.padding[i]
            smallest += self.dilation[i] * (self.kernel_size[i] - 1) + 1
            if not smallest <= size[i] < smallest + self.stride[i]:
                raise ValueError(
                    f"requested an output size of {size}, but valid sizes range from {smallest} to "
                    f"{smallest + self.stride[i] - 1} (for an input of {list(input.shape[-n:])})"
                )
            pads.append(size[i] - smallest)
        return tuple(pads)

    def forward(self, input, output_size=None):
        output_padding = self._output_padding(input, output_size)
        return self._fn(
            input, self.weight, self.bias, self.stride, self.padding, output_padding, self.groups, self.dilation
        )

    def extra_repr(self) -> str:
        return _conv_repr(self)


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-d convolution (the gradient of ``Conv2d`` with respect to its input): each input pixel
    adds ``weight``-scaled copies of the kernel into the output, ``stride`` apart."""


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-d convolution over ``(N, C_in, L)``: the gradient of ``Conv1d`` with respect to its input."""

    _dims = 1
    _fn = staticmethod(conv_transpose1d)
