"""2-d vision ops: convolutions, pools, resampling, im2col/col2im, channel dropout, instance and RMS norm.

Layouts are torch's: images ``(N, C, H, W)`` (or unbatched ``(C, H, W)``), conv weights
``(C_out, C_in / groups, kh, kw)``, transposed-conv weights ``(C_in, C_out / groups, kh, kw)``.

One idea carries the windowed ops: **im2col**. ``B.im2col_2d`` copies every ``kh x kw`` window of the
padded image into a column, ``cols[n, c, i, j, y, x] = x[n, c, y*sh + i*dh, x*sw + j*dw]``. Then

* ``conv2d`` is one matrix product: ``weight (C_out, C*kh*kw) @ cols (C*kh*kw, Ho*Wo)`` per sample;
* ``max_pool2d`` / ``avg_pool2d`` reduce the columns over the ``kh*kw`` taps;
* ``F.unfold`` *is* im2col, and ``F.fold`` is its adjoint ``B.col2im_2d`` (each column entry added back
  at the pixel it came from).

Backward passes use the adjoint the other way round: the gradient of the columns goes back to the image by
col2im; ``conv_transpose2d`` is the gradient of ``conv2d`` with respect to its input, so its forward is a
col2im and its backward an im2col. Nothing ``kh*kw``-times the image is kept for backward: the columns are
rebuilt from the input when the weight gradient needs them.

Differentiated twice (``create_graph=True``), the same backward code runs on recorded values, and im2col,
col2im and the padding are recorded as linear maps paired with their adjoints
(:mod:`minigrad.autograd.recorded_vision`).

Resampling (``interpolate``) works one spatial axis at a time: each output position reads a few input
positions ("taps") with weights (1 for nearest, ``1 - t, t`` for linear, four cubic weights for bicubic);
the backward pass sends the gradient back through the same taps.
"""

from __future__ import annotations

import math
import numbers
import warnings

from ..autograd.graph import Op
from ..compute import B
from ..dtypes import type_name
from ..tensor import Tensor
from ._util import check_same_device
from .dropout import Dropout, draw_mask
from .normalization import batch_norm
from .registry import declare, exports


# ------------------------------------------------------------------ argument helpers
def _pair(value, name: str, op: str, n: int = 2) -> tuple:
    """An int given as ``k`` or as a list of ``n`` ints (torch's convention for 2-d ops)."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            value = tuple(value) * n
        if len(value) != n:
            raise RuntimeError(
                f"expected {name} to be a single integer value or a list of {n} values to match the "
                f"convolution dimensions, but got {name}={list(value)}"
            )
    else:
        value = (value,) * n
    for v in value:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {type(v).__name__}")
    return tuple(int(v) for v in value)


def _window_count(size: int, k: int, s: int, pad_total: int, d: int) -> int:
    """How many windows of ``k`` taps (``d`` apart), ``s`` apart, fit in ``size + pad_total`` positions."""
    return (size + pad_total - d * (k - 1) - 1) // s + 1


def _zero_pad(x, top, bottom, left, right, value=0):
    """``x (N, C, H, W)`` with ``value`` rows and columns added around it (none: ``x`` itself)."""
    if not (top or bottom or left or right):
        return x
    return B.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)


def _check_tensor(op: str, t, name="input") -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(t).__name__}")


def _check_float(op: str, *tensors, ints: bool = False) -> None:
    """torch's error for a dtype the op has no kernel for: not floating point (``ints``: integers are fine)."""
    for t in tensors:
        kind = t.array.dtype.kind if t is not None else "f"
        if kind != "f" and not (ints and kind in "iu"):
            name = type_name(t.array.dtype)
            raise NotImplementedError(f"\"{op}\" not implemented for '{name}'")


def _batched(op: str, input: Tensor, spatial: int = 2):
    """``(input as (N, C, *spatial), whether it was unbatched)``; torch's error for other ranks."""
    if input.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(
            f"{op}: Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input, but got input of "
            f"size: {list(input.shape)}"
        )
    unbatched = input.ndim == spatial + 1
    return (input.unsqueeze(0) if unbatched else input), unbatched


# ------------------------------------------------------------------ conv2d
def _grouped(cols, groups):
    """Columns ``(N, C, kh, kw, Ho, Wo)`` as ``(N, G, C/G*kh*kw, Ho*Wo)``: one matrix per sample and group."""
    n, c, kh, kw, ho, wo = cols.shape
    return cols.reshape(n, groups, c // groups * kh * kw, ho * wo)


class Conv2d(Op):
    """Cross-correlation of ``x (N, C, H, W)`` with ``w (C_out, C/G, kh, kw)`` (+ bias): im2col, then one
    matrix product per group: ``out[n, g] = w[g] @ cols[n, g]``."""

    saved = (0, 1)  # the input and the weight (not the bias)
    saved_for = {0: (1,), 1: (0,)}  # the input is read for the weight's gradient only, and the other way round

    def __init__(self, stride, pads, dilation, groups):
        self.stride, self.pads, self.dilation, self.groups = stride, pads, dilation, groups  # pads: t, b, l, r

    def _columns(self, x, kernel):
        return B.im2col_2d(_zero_pad(x, *self.pads), kernel, self.stride, self.dilation, self.out_hw)

    def forward(self, x, w, b=None):
        (t, bo, le, r), (kh, kw) = self.pads, w.shape[2:]
        self.out_hw = (
            _window_count(x.shape[2], kh, self.stride[0], t + bo, self.dilation[0]),
            _window_count(x.shape[3], kw, self.stride[1], le + r, self.dilation[1]),
        )
        cols = self._columns(x, (kh, kw))
        g = self.groups
        out = w.reshape(g, w.shape[0] // g, -1) @ _grouped(cols, g)  # (N, G, C_out/G, Ho*Wo)
        out = out.reshape(x.shape[0], w.shape[0], *self.out_hw)
        if b is not None:
            out += b.reshape(1, -1, 1, 1)
        self.x, self.w = x, w
        return out

    def recorded_twin(self, inputs):
        """For ``create_graph``: this node with its input and weight recorded (forward saved nothing else)."""
        from ..autograd.recorded_vision import with_saved

        return with_saved(self, inputs, x=0, w=1)

    def backward(self, grad):
        need = self.needs_input_grad
        x, w, g = self.x, self.w, self.groups
        n, c_out = grad.shape[:2]
        gg = grad.reshape(n, g, c_out // g, self.out_hw[0] * self.out_hw[1])  # (N, G, C_out/G, Ho*Wo)
        w_g = w.reshape(g, c_out // g, -1)
        gx = gw = gb = None
        if need[0]:  # columns' gradient w^T @ grad, summed back into the image by col2im, padding cut off
            gcols = (w_g.swapaxes(1, 2) @ gg).reshape(n, x.shape[1], *w.shape[2:], *self.out_hw)
            t, _, le, _ = self.pads
            padded = (x.shape[2] + t + self.pads[1], x.shape[3] + le + self.pads[3])
            gpad = B.col2im_2d(gcols, padded, self.stride, self.dilation)
            gx = gpad[:, :, t : t + x.shape[2], le : le + x.shape[3]]
        if need[1]:  # sum over samples of grad @ cols^T (the columns rebuilt from the input)
            cols = self._columns(x, w.shape[2:])
            gw = (gg @ _grouped(cols, g).swapaxes(2, 3)).sum(axis=0).reshape(w.shape)
        if len(need) > 2 and need[2]:
            gb = grad.sum(axis=(0, 2, 3))
        return gx, gw, gb


def _check_conv_tensors(op, input, weight, bias, spatial):
    _check_tensor(op, input)
    _check_tensor(op, weight, "weight")
    if bias is not None:
        _check_tensor(op, bias, "bias")
    tensors = [t for t in (input, weight, bias) if t is not None]
    check_same_device(op, *tensors)
    _check_float(op, *tensors, ints=True)  # torch convolves integer tensors too (on the CPU)
    if any(t.array.dtype != input.array.dtype for t in tensors):
        raise RuntimeError(
            f"{op}: input ({input.dtype}), weight ({weight.dtype})"
            f"{f' and bias ({bias.dtype})' if bias is not None else ''} should have the same dtype"
        )
    if weight.ndim != spatial + 2:
        raise RuntimeError(
            f"{op}: weight should have {spatial + 2} dimensions, got weight of size {list(weight.shape)}"
        )


def _conv_padding(op, padding, kernel, stride, dilation):
    """``(top, bottom, left, right)`` from an int, a pair, 'valid' or 'same' (odd amounts: the extra one after)."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding != "same":
            raise RuntimeError(f"{op}: invalid padding string {padding!r}; expected 'same', 'valid' or an int")
        if any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        (th, tw) = (d * (k - 1) for d, k in zip(dilation, kernel))
        return th // 2, th - th // 2, tw // 2, tw - tw // 2
    ph, pw = _pair(padding, "padding", op)
    if ph < 0 or pw < 0:
        raise RuntimeError(f"{op}: negative padding is not supported")
    return ph, ph, pw, pw


def _check_positive(op, **values):
    for name, pair in values.items():
        if any(v <= 0 for v in pair):
            raise RuntimeError(f"{op}: non-positive {name} is not supported (got {name}={list(pair)})")


@declare(method=False, functional=True, autocast="lower")
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d cross-correlation of ``input (N, C_in, H, W)`` or ``(C_in, H, W)`` with ``weight (C_out, C_in/groups,
    kh, kw)``. ``padding``: an int, a pair, ``'valid'`` or ``'same'`` (stride 1 only)."""
    op = "conv2d"
    _check_conv_tensors(op, input, weight, bias, 2)
    x, unbatched = _batched(op, input)
    stride, dilation = _pair(stride, "stride", op), _pair(dilation, "dilation", op)
    groups = int(groups)
    _check_positive(op, stride=stride, dilation=dilation, groups=(groups,))
    c_out, c_g, kh, kw = weight.shape
    if c_out % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but got weight "
            f"of size {list(weight.shape)} instead"
        )
    if x.shape[1] != c_g * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input{list(input.shape)} to have "
            f"{c_g * groups} channels, but got {x.shape[1]} channels instead"
        )
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise RuntimeError(
            f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with {c_out} elements, "
            f"but got bias of size {list(bias.shape)} instead"
        )
    pads = _conv_padding(op, padding, (kh, kw), stride, dilation)
    padded = (x.shape[2] + pads[0] + pads[1], x.shape[3] + pads[2] + pads[3])
    span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    if padded[0] < span[0] or padded[1] < span[1]:
        raise RuntimeError(
            f"Calculated padded input size per channel: ({padded[0]} x {padded[1]}). Kernel size: "
            f"({span[0]} x {span[1]}). Kernel size can't be greater than actual input size"
        )
    tensors = (x, weight) if bias is None else (x, weight, bias)
    out = Conv2d(stride, pads, dilation, groups)(*tensors)
    return out.squeeze(0) if unbatched else out


# ------------------------------------------------------------------ transposed convolutions
class ConvTranspose2d(Op):
    """The adjoint of :class:`Conv2d` in its input: ``cols[n, g] = w[g]^T @ x[n, g]``, summed into the output
    image by col2im, then the ``padding`` rows and columns cut off each side."""

    saved = (0, 1)  # as Conv2d's
    saved_for = {0: (1,), 1: (0,)}

    def __init__(self, stride, padding, dilation, groups, out_hw):
        self.stride, self.padding, self.dilation, self.groups, self.out_hw = stride, padding, dilation, groups, out_hw

    def forward(self, x, w, b=None):
        n, c_in, h, wd = x.shape
        g = self.groups
        w_g = w.reshape(g, c_in // g, -1)  # (G, C_in/G, C_out/G*kh*kw)
        cols = w_g.swapaxes(1, 2) @ x.reshape(n, g, c_in // g, h * wd)  # (N, G, C_out/G*kh*kw, H*W)
        cols = cols.reshape(n, w.shape[1] * g, *w.shape[2:], h, wd)
        (ph, pw), (ho, wo) = self.padding, self.out_hw
        full = B.col2im_2d(cols, (ho + 2 * ph, wo + 2 * pw), self.stride, self.dilation)
        out = B.ascontiguousarray(full[:, :, ph : ph + ho, pw : pw + wo])
        if b is not None:
            out += b.reshape(1, -1, 1, 1)
        self.x, self.w = x, w
        return out

    def recorded_twin(self, inputs):
        """For ``create_graph``: this node with its input and weight recorded (forward saved nothing else)."""
        from ..autograd.recorded_vision import with_saved

        return with_saved(self, inputs, x=0, w=1)

    def backward(self, grad):
        need = self.needs_input_grad
        x, w, g = self.x, self.w, self.groups
        n, c_in, h, wd = x.shape
        (ph, pw) = self.padding
        gpad = _zero_pad(grad, ph, ph, pw, pw)
        gcols = B.im2col_2d(gpad, w.shape[2:], self.stride, self.dilation, (h, wd))
        gcols = _grouped(gcols, g)  # (N, G, C_out/G*kh*kw, H*W)
        gx = gw = gb = None
        if need[0]:
            gx = (w.reshape(g, c_in // g, -1) @ gcols).reshape(x.shape)
        if need[1]:
            gw = (x.reshape(n, g, c_in // g, h * wd) @ gcols.swapaxes(2, 3)).sum(axis=0).reshape(w.shape)
        if len(need) > 2 and need[2]:
            gb = grad.sum(axis=(0, 2, 3))
        return gx, gw, gb


def _transpose_geometry(op, x, weight, stride, padding, output_padding, dilation, groups, spatial):
    """Checks, and the output size ``(s*(H-1) - 2p + d*(k-1) + output_padding + 1)`` per axis."""
    n = spatial
    stride, dilation = _pair(stride, "stride", op, n), _pair(dilation, "dilation", op, n)
    padding, output_padding = _pair(padding, "padding", op, n), _pair(output_padding, "output_padding", op, n)
    _check_positive(op, stride=stride, dilation=dilation, groups=(groups,))
    if any(p < 0 for p in padding + output_padding):
        raise RuntimeError(f"{op}: negative padding is not supported")
    if any(op_ >= s and op_ >= d for op_, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(
            f"output padding must be smaller than either stride or dilation, but got output_padding="
            f"{list(output_padding)}, stride={list(stride)} and dilation={list(dilation)}"
        )
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected input{list(x.shape)} to have "
            f"{weight.shape[0]} channels, but got {x.shape[1]} channels instead"
        )
    if weight.shape[0] % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but got weight "
            f"of size {list(weight.shape)} instead"
        )
    out = tuple(
        s * (size - 1) - 2 * p + d * (k - 1) + o + 1
        for s, size, p, d, k, o in zip(stride, x.shape[2:], padding, dilation, weight.shape[2:], output_padding)
    )
    if any(v <= 0 for v in out):
        raise RuntimeError(f"{op}: the computed output size {list(out)} is too small (input {list(x.shape)})")
    return stride, padding, dilation, out


def _conv_transpose(op, input, weight, bias, stride, padding, output_padding, groups, dilation, spatial):
    _check_conv_tensors(op, input, weight, bias, spatial)
    x, unbatched = _batched(op, input, spatial)
    groups = int(groups)
    stride, padding, dilation, out_size = _transpose_geometry(
        op, x, weight, stride, padding, output_padding, dilation, groups, spatial
    )
    c_out = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
            f"{c_out} elements, but got bias of size {list(bias.shape)} instead"
        )
    w = weight
    if spatial == 1:  # a 1-d transposed convolution is a 2-d one over images of height 1
        x, w = x.unsqueeze(2), weight.unsqueeze(2)
        stride, padding, dilation, out_size = (1, *stride), (0, *padding), (1, *dilation), (1, *out_size)
    tensors = (x, w) if bias is None else (x, w, bias)
    out = ConvTranspose2d(stride, padding, dilation, groups, out_size)(*tensors)
    if spatial == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


@declare(method=False, functional=True, autocast="lower")
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 2-d convolution (the gradient of conv2d w.r.t. its input): ``weight (C_in, C_out/groups,
    kh, kw)``; output size ``stride*(H-1) - 2*padding + dilation*(k-1) + output_padding + 1``."""
    return _conv_transpose(
        "conv_transpose2d", input, weight, bias, stride, padding, output_padding, groups, dilation, 2
    )


@declare(method=False, functional=True, autocast="lower")
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 1-d convolution of ``(N, C_in, L)`` with ``weight (C_in, C_out/groups, k)``."""
    return _conv_transpose(
        "conv_transpose1d", input, weight, bias, stride, padding, output_padding, groups, dilation, 1
    )


# ------------------------------------------------------------------ fixed-window pools
def _pool_args(op, kernel_size, stride, padding, dilation):
    k = _pair(kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else _pair(stride, "stride", op)
    p, d = _pair(padding, "padding", op), _pair(dilation, "dilation", op)
    if min(k) <= 0:
        raise RuntimeError(f"{op}: kernel_size must be greater than zero, but got {list(k)}")
    if min(s) <= 0:
        raise RuntimeError(f"{op}: stride must be greater than zero, but got {list(s)}")
    if min(d) <= 0:
        raise RuntimeError(f"{op}: dilation must be greater than zero, but got {list(d)}")
    for pi, ki, di in zip(p, k, d):
        if pi < 0 or pi > ki // 2:  # torch's rule, which ignores the dilation
            raise RuntimeError(
                f"pad should be at most half of effective kernel size, but got pad={pi}, kernel_size={ki} and "
                f"dilation={di}"
            )
    return k, s, p, d


def _pool_out(size, k, s, p, d, ceil_mode) -> int:
    """torch's pooled length: with ``ceil_mode`` a last partial window counts if it starts inside the input
    or its left padding."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_geometry(op, x, k, s, p, d, ceil_mode):
    out = tuple(_pool_out(x.shape[2 + i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(2))
    if min(out) < 1:
        n, c, h, w = x.shape
        raise RuntimeError(
            f"Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{out[0]}x{out[1]}). "
            "Output size is too small"
        )
    return out


class _Pool2d(Op):
    """Shared geometry: the image padded with ``fill`` so that ``out_hw`` windows fit, then im2col."""

    saved = ()  # backward reads its own arrays only (the input's values are not needed again)

    def __init__(self, k, s, p, d, out_hw):
        self.k, self.s, self.p, self.d, self.out_hw = k, s, p, d, out_hw

    def _padded_size(self, size):
        """Per axis, the padded length the windows read: the padding before, then at least the image
        and its padding after, or as far as the last (ceil_mode) window reaches."""
        return tuple(
            max(size[i] + 2 * self.p[i], (self.out_hw[i] - 1) * self.s[i] + self.d[i] * (self.k[i] - 1) + 1)
            for i in range(2)
        )

    def _columns(self, x, fill):
        self.size = x.shape[2:]
        full = self._padded_size(self.size)
        (ph, pw) = self.p
        xpad = _zero_pad(x, ph, full[0] - ph - self.size[0], pw, full[1] - pw - self.size[1], fill)
        cols = B.im2col_2d(xpad, self.k, self.s, self.d, self.out_hw)
        return cols.reshape(*cols.shape[:2], -1, *self.out_hw)  # (N, C, kh*kw, Ho, Wo)

    def _to_image(self, gcols):
        """Columns' gradient ``(N, C, kh*kw, Ho, Wo)`` back to the (unpadded) image by col2im."""
        n, c = gcols.shape[:2]
        gpad = B.col2im_2d(gcols.reshape(n, c, *self.k, *self.out_hw), self._padded_size(self.size), self.s, self.d)
        (ph, pw), (h, w) = self.p, self.size
        return gpad[:, :, ph : ph + h, pw : pw + w]


class MaxPool2d(_Pool2d):
    """The largest value of each window (NaN wins, the first maximum on ties, as torch); the gradient goes
    to that one position."""

    def forward(self, x):
        lowest = -B.inf if x.dtype.kind == "f" else B.iinfo(x.dtype).min  # padding never wins
        cols = self._columns(x, lowest)
        # (N, C, Ho, Wo): which of the kh*kw taps holds the maximum, kept for backward (in 1 byte when it fits)
        self.tap = cols.argmax(axis=2).astype(B.int8 if cols.shape[2] <= 127 else B.int64)
        return cols.max(axis=2)

    def indices(self):
        """torch's ``return_indices``: each maximum's position in the flattened ``H * W`` input, int64."""
        kw, (sh, sw), (ph, pw), (dh, dw) = self.k[1], self.s, self.p, self.d
        ho, wo = self.out_hw
        tap = self.tap.astype(B.int64)
        rows = B.arange(ho, like=tap).reshape(ho, 1) * sh - ph + (tap // kw) * dh
        cols = B.arange(wo, like=tap) * sw - pw + (tap % kw) * dw
        return rows * self.size[1] + cols

    def backward(self, grad):
        taps = B.arange(self.k[0] * self.k[1], like=self.tap).reshape(-1, 1, 1)
        winner = self.tap[:, :, None] == taps  # (N, C, kh*kw, Ho, Wo), one True per window
        gcols = B.where(winner, grad[:, :, None], B.zeros((), grad.dtype, like=grad))
        return self._to_image(gcols)


class AvgPool2d(_Pool2d):
    """The sum of each window divided by ``divisor`` (per output position, ``(Ho, Wo)``)."""

    linear = True  # create_graph records its backward as a LinearMap

    def __init__(self, k, s, p, out_hw, divisor):
        super().__init__(k, s, p, (1, 1), out_hw)
        self.divisor = divisor

    def forward(self, x):
        total = self._columns(x, 0).sum(axis=2)
        if x.dtype.kind != "f":  # integers: the quotient truncated toward zero, as C++ (and torch) divide
            divisor = B.asarray(self.divisor, like=x)
            return (B.sign(total) * (B.abs(total) // divisor)).astype(x.dtype)
        self.divisor = B.asarray(self.divisor, like=x).astype(x.dtype)
        return total / self.divisor

    def backward(self, grad):
        share = (grad / self.divisor)[:, :, None]  # every tap of a window gets the same share
        return self._to_image(B.broadcast_to(share, (*grad.shape[:2], self.k[0] * self.k[1], *self.out_hw)))


def _avg_divisors(size, k, s, p, out, count_include_pad):
    """Per output position along one axis, how many positions its window averages (torch's rule: the
    window clipped to the padded input; without ``count_include_pad``, clipped to the input itself)."""
    counts = []
    for o in range(out):
        start = o * s - p
        end = min(start + k, size + p)
        if not count_include_pad:
            start, end = max(start, 0), min(end, size)
        counts.append(end - start)
    return counts


def _pool_input(op, input):
    _check_tensor(op, input)
    x, unbatched = _batched(op, input)
    _check_float(op, x, ints=True)  # torch pools integer images too
    return x, unbatched


@declare(method=False, functional=True)
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Maximum over ``kernel_size`` windows (``dilation`` apart, ``stride`` defaults to the kernel size,
    implicit ``-inf`` padding). ``return_indices``: also each maximum's flat index in ``H * W``."""
    op = "max_pool2d"
    x, unbatched = _pool_input(op, input)
    k, s, p, d = _pool_args(op, kernel_size, stride, padding, dilation)
    node = MaxPool2d(k, s, p, d, _pool_geometry(op, x, k, s, p, d, ceil_mode))
    out = node(x)
    idx = Tensor._make(node.indices()) if return_indices else None
    if unbatched:
        out, idx = out.squeeze(0), (idx[0] if idx is not None else None)
    return (out, idx) if return_indices else out


@declare(method=False, functional=True, top_level=False)
def max_pool2d_with_indices(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=True
):
    """:func:`max_pool2d` that always returns ``(output, indices)``."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


@declare(method=False, functional=True, top_level=False)
def avg_pool2d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
):
    """Mean over ``kernel_size`` windows (zero padding; ``count_include_pad`` counts it in the divisor;
    ``divisor_override`` replaces the divisor)."""
    op = "avg_pool2d"
    x, unbatched = _pool_input(op, input)
    k, s, p, d = _pool_args(op, kernel_size, stride, padding, 1)
    out_hw = _pool_geometry(op, x, k, s, p, d, ceil_mode)
    if divisor_override is not None:
        if int(divisor_override) == 0:
            raise RuntimeError("avg_pool2d: divisor must be not zero")
        divisor = [[int(divisor_override)] * out_hw[1]] * out_hw[0]
    else:
        dh, dw = (_avg_divisors(x.shape[2 + i], k[i], s[i], p[i], out_hw[i], count_include_pad) for i in range(2))
        divisor = [[a * b for b in dw] for a in dh]
    out = AvgPool2d(k, s, p, out_hw, divisor)(x)
    return out.squeeze(0) if unbatched else out


# ------------------------------------------------------------------ adaptive pools
def _bins(size: int, out: int) -> list:
    """torch's adaptive bins: bin ``i`` covers ``[floor(i*size/out), ceil((i+1)*size/out))``."""
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


def _adaptive_size(op, x, output_size) -> tuple:
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise RuntimeError(f"{op}: output_size must be 2")
        size = tuple(x.shape[2 + i] if v is None else int(v) for i, v in enumerate(output_size))
    else:
        size = (int(output_size),) * 2
    if min(size) < 0:
        raise RuntimeError(f"{op}: elements of output_size must be greater than or equal to 0 but received {size}")
    if min(x.shape[2:]) == 0:
        raise RuntimeError(
            f"{op}(): Expected input to have non-zero size for non-batch dimensions, but got {list(x.shape)}"
        )
    return size


def _bin_means(x, axis, bins):
    """Along ``axis``, the mean of each bin (a new axis of ``len(bins)``)."""
    parts = [x[(slice(None),) * axis + (slice(a, b),)].mean(axis=axis, keepdims=True) for a, b in bins]
    return B.concatenate(parts, axis=axis)


def _bin_means_backward(grad, axis, bins, size):
    """The adjoint of :func:`_bin_means`: each bin's gradient spread evenly over its ``b - a`` positions."""
    shape = list(grad.shape)
    shape[axis] = size
    gx = B.zeros(shape, grad.dtype, like=grad)
    for i, (a, b) in enumerate(bins):
        gx[(slice(None),) * axis + (slice(a, b),)] += grad[(slice(None),) * axis + (slice(i, i + 1),)] / (b - a)
    return gx


class AdaptiveAvgPool2d(Op):
    """Means over a grid of rectangular bins; a rectangle's mean is the mean over its rows of the mean
    over its columns, so the bins are taken one axis at a time (columns first, as torch adds them)."""

    linear = True  # create_graph records its backward as a LinearMap

    saved = ()

    def __init__(self, out_hw):
        self.out_hw = out_hw

    def forward(self, x):
        self.size = x.shape[2:]
        self.bins = [_bins(self.size[i], self.out_hw[i]) for i in range(2)]
        return _bin_means(_bin_means(x, 3, self.bins[1]), 2, self.bins[0])

    def backward(self, grad):
        g = _bin_means_backward(grad, 2, self.bins[0], self.size[0])
        return _bin_means_backward(g, 3, self.bins[1], self.size[1])


class AdaptiveMaxPool2d(Op):
    """The largest value of each bin; the gradient goes to its (first) position."""

    saved = ()

    def __init__(self, out_hw):
        self.out_hw = out_hw

    def _regions(self):
        bins_h, bins_w = (_bins(self.size[i], self.out_hw[i]) for i in range(2))
        for i, (h0, h1) in enumerate(bins_h):
            for j, (w0, w1) in enumerate(bins_w):
                yield i, j, (slice(None), slice(None), slice(h0, h1), slice(w0, w1)), w1 - w0

    def forward(self, x):
        n, c = x.shape[:2]
        self.size = x.shape[2:]
        out = B.empty((n, c, *self.out_hw), x.dtype, like=x)
        self.arg = B.empty((n, c, *self.out_hw), B.int64, like=x)
        self.indices = B.empty((n, c, *self.out_hw), B.int64, like=x)
        for i, j, region, width in self._regions():
            flat = x[region].reshape(n, c, -1)
            arg = flat.argmax(axis=2)  # the first maximum, or the first NaN
            out[:, :, i, j] = flat.max(axis=2)
            self.arg[:, :, i, j] = arg
            self.indices[:, :, i, j] = (region[2].start + arg // width) * self.size[1] + region[3].start + arg % width
        return out

    def backward(self, grad):
        n, c = grad.shape[:2]
        gx = B.zeros((n, c, *self.size), grad.dtype, like=grad)
        zero = B.zeros((), grad.dtype, like=grad)
        for i, j, region, _ in self._regions():
            area = gx[region]
            positions = B.arange(area.shape[2] * area.shape[3], like=grad).reshape(1, 1, -1)
            hit = positions == self.arg[:, :, i, j, None]
            area += B.where(hit, grad[:, :, i, j, None], zero).reshape(area.shape)
        return gx


def _adaptive_input(op, input):
    _check_tensor(op, input)
    if input.ndim not in (3, 4):
        raise RuntimeError(f"{op}(): Expected 3D or 4D tensor, but got {list(input.shape)}")
    _check_float(op, input)
    return (input.unsqueeze(0), True) if input.ndim == 3 else (input, False)


@declare(method=False, functional=True, top_level=False)
def adaptive_avg_pool2d(input, output_size):
    """Mean over ``output_size`` bins per axis that tile the image, whatever its size (None keeps a size)."""
    x, unbatched = _adaptive_input("adaptive_avg_pool2d", input)
    out = AdaptiveAvgPool2d(_adaptive_size("adaptive_avg_pool2d", x, output_size))(x)
    return out.squeeze(0) if unbatched else out


@declare(method=False, functional=True, top_level=False)
def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Maximum over ``output_size`` bins per axis (``return_indices``: flat positions in ``H * W`` too)."""
    x, unbatched = _adaptive_input("adaptive_max_pool2d", input)
    node = AdaptiveMaxPool2d(_adaptive_size("adaptive_max_pool2d", x, output_size))
    out = node(x)
    idx = Tensor._make(node.indices)
    if unbatched:
        out, idx = out.squeeze(0), idx[0]
    return (out, idx) if return_indices else out


# ------------------------------------------------------------------ unfold (im2col) and fold (col2im)
def _block_args(op, kernel_size, dilation, padding, stride):
    for name, v in (("kernel_size", kernel_size), ("dilation", dilation), ("padding", padding), ("stride", stride)):
        if isinstance(v, (tuple, list)) and len(v) != 2:  # unfold and fold take no 1-element lists
            raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(v)}")
    k, d = _pair(kernel_size, "kernel_size", op), _pair(dilation, "dilation", op)
    p, s = _pair(padding, "padding", op), _pair(stride, "stride", op)
    if min(k) <= 0 or min(d) <= 0 or min(s) <= 0 or min(p) < 0:
        raise RuntimeError(
            f"{op}: expected kernel_size, dilation and stride greater than zero and padding non-negative, but got "
            f"kernel_size={list(k)}, dilation={list(d)}, padding={list(p)}, stride={list(s)}"
        )
    return k, d, p, s


class Unfold(Op):
    """``F.unfold``: the im2col columns ``(N, C*kh*kw, L)``; its backward is col2im."""

    linear = True  # create_graph records its backward as a LinearMap

    saved = ()

    def __init__(self, k, d, p, s, out_hw):
        self.k, self.d, self.p, self.s, self.out_hw = k, d, p, s, out_hw

    def forward(self, x):
        self.size = x.shape[2:]
        (ph, pw) = self.p
        cols = B.im2col_2d(_zero_pad(x, ph, ph, pw, pw), self.k, self.s, self.d, self.out_hw)
        return cols.reshape(x.shape[0], -1, self.out_hw[0] * self.out_hw[1])

    def backward(self, grad):
        return _fold(grad, self.k, self.d, self.p, self.s, self.size, self.out_hw)


def _fold(cols, k, d, p, s, size, out_hw):
    """col2im of ``(N, C*kh*kw, L)`` columns into ``(N, C, *size)`` images (the padding cut off)."""
    (ph, pw) = p
    n = cols.shape[0]
    image = B.col2im_2d(cols.reshape(n, -1, *k, *out_hw), (size[0] + 2 * ph, size[1] + 2 * pw), s, d)
    return image[:, :, ph : ph + size[0], pw : pw + size[1]]


class Fold(Op):
    """``F.fold``: columns summed back into images (col2im); its backward is im2col."""

    linear = True  # create_graph records its backward as a LinearMap

    saved = ()

    def __init__(self, k, d, p, s, size, out_hw):
        self.k, self.d, self.p, self.s, self.size, self.out_hw = k, d, p, s, size, out_hw

    def forward(self, cols):
        return B.ascontiguousarray(_fold(cols, self.k, self.d, self.p, self.s, self.size, self.out_hw))

    def backward(self, grad):
        (ph, pw) = self.p
        cols = B.im2col_2d(_zero_pad(grad, ph, ph, pw, pw), self.k, self.s, self.d, self.out_hw)
        return cols.reshape(grad.shape[0], -1, self.out_hw[0] * self.out_hw[1])


@declare(name="unfold", method=False, functional=True, top_level=False)
def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """``F.unfold`` (im2col): every ``kernel_size`` block of ``input (N, C, H, W)`` as a column of
    ``(N, C*kh*kw, L)``, ``L`` the number of blocks. (``Tensor.unfold`` is a different function.)"""
    op = "unfold"
    _check_tensor(op, input)
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Input Error: Only 3D or 4D input Tensors are supported (got {input.ndim}D)")
    _check_float("im2col_out_cpu", input)
    x, unbatched = (input.unsqueeze(0), True) if input.ndim == 3 else (input, False)
    k, d, p, s = _block_args(op, kernel_size, dilation, padding, stride)
    out_hw = tuple(_window_count(x.shape[2 + i], k[i], s[i], 2 * p[i], d[i]) for i in range(2))
    if min(out_hw) < 1:
        raise RuntimeError(
            f"Given input with spatial size {list(x.shape[2:])}, kernel_size={list(k)}, dilation={list(d)}, "
            f"padding={list(p)}, calculated shape of the array of sliding blocks as {list(out_hw)}, but its "
            "components must be at least one."
        )
    out = Unfold(k, d, p, s, out_hw)(x)
    return out.squeeze(0) if unbatched else out


@declare(method=False, functional=True, top_level=False)
def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """``F.fold`` (col2im): columns ``(N, C*kh*kw, L)`` summed back into images ``(N, C, *output_size)``;
    overlapping blocks add up."""
    op = "fold"
    _check_tensor(op, input)
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported (got {input.ndim}D)"
        )
    _check_float("col2im_out_cpu", input)
    cols, unbatched = (input.unsqueeze(0), True) if input.ndim == 2 else (input, False)
    size = _pair(output_size, "output_size", op)
    k, d, p, s = _block_args(op, kernel_size, dilation, padding, stride)
    if cols.shape[1] % (k[0] * k[1]):
        raise RuntimeError(
            "Expected size of input's dimension 1 to be divisible by the product of kernel_size, but got "
            f"input.size(1)={cols.shape[1]} and kernel_size={k}."
        )
    out_hw = tuple(_window_count(size[i], k[i], s[i], 2 * p[i], d[i]) for i in range(2))
    if cols.shape[2] != out_hw[0] * out_hw[1] or min(out_hw) < 1:
        raise RuntimeError(
            f"Given output_size={size}, kernel_size={k}, dilation={d}, padding={p}, stride={s}, expected size of "
            f"input's dimension 2 to match the calculated number of sliding blocks {out_hw[0]} * {out_hw[1]} = "
            f"{out_hw[0] * out_hw[1]}, but got input.size(2)={cols.shape[2]}."
        )
    out = Fold(k, d, p, s, size, out_hw)(cols)
    return out.squeeze(0) if unbatched else out


# ------------------------------------------------------------------ resampling (interpolate)
_LINEAR_MODES = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}
_CUBIC_A = -0.75  # the cubic convolution kernel's parameter (Keys), as torch


def _cubic_weights(t):
    """The four cubic-convolution weights of the taps at offsets -1, 0, 1, 2 for a fraction ``t``."""
    a = _CUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _axis_taps(mode, size, out, scale, align_corners, like):
    """For one axis: ``[(index, weight), ...]``, output position ``o`` reading ``sum_t x[index_t[o]] *
    weight_t[o]`` (weight None: 1). Source positions are computed as torch does, in the input's dtype
    (float32 for the nearest modes)."""
    if mode in ("nearest", "nearest-exact"):
        dst = B.arange(out, like=like).astype(B.float32)
        ratio = B.float32(1.0 / scale if scale else size / out)
        src = B.floor((dst + B.float32(0.5 if mode == "nearest-exact" else 0)) * ratio)
        return [(B.minimum(src.astype(B.int64), size - 1), None)]
    dt = like.dtype
    dst = B.arange(out, like=like).astype(dt)
    if align_corners:
        src = dst * dt.type((size - 1) / (out - 1) if out > 1 else 0)
    else:
        src = (dst + dt.type(0.5)) * dt.type(1.0 / scale if scale else size / out) - dt.type(0.5)
        if mode != "bicubic":
            src = B.maximum(src, 0)
    base = B.floor(src)
    t = src - base
    base = base.astype(B.int64)
    if mode == "bicubic":
        return [(B.clip(base + off, 0, size - 1), w) for off, w in zip((-1, 0, 1, 2), _cubic_weights(t))]
    return [(base, 1 - t), (base + (base < size - 1), t)]


class Resample(Op):
    """Interpolation, one spatial axis at a time (the last first, as torch nests its sums): output
    position ``o`` is ``sum_t x[index_t[o]] * weight_t[o]``; backward sends ``grad[o] * weight_t[o]``
    back to ``index_t[o]`` (a dense ``(out, in)`` matrix of those weights, applied transposed)."""

    linear = True  # create_graph records its backward as a LinearMap

    saved = ()

    def __init__(self, taps):
        self.taps = taps  # {axis: (input size, [(index, weight), ...])}

    def forward(self, x):
        for axis in sorted(self.taps, reverse=True):
            shape = [1] * x.ndim
            shape[axis] = -1
            acc = None
            for index, weight in self.taps[axis][1]:
                part = B.take(x, index, axis=axis)
                part = part if weight is None else part * weight.reshape(shape)
                acc = part if acc is None else acc + part
            x = acc
        return x

    def backward(self, grad):
        for axis in sorted(self.taps):
            size, taps = self.taps[axis]
            matrix = B.zeros((grad.shape[axis], size), grad.dtype, like=grad)
            rows = B.arange(grad.shape[axis], like=grad)
            for index, weight in taps:  # within one tap each row has one entry: no repeated (row, col)
                matrix[rows, index] += 1 if weight is None else weight.astype(grad.dtype)
            grad = B.moveaxis(B.moveaxis(grad, axis, -1) @ matrix, -1, axis)
        return grad


def _output_sizes(x, size, scale_factor, recompute_scale_factor):
    """``(output sizes, scales to use)`` per spatial axis, by torch's rules."""
    dims = x.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        sizes = list(size) if isinstance(size, (tuple, list)) else [size] * dims
        if len(sizes) != dims:
            raise ValueError(
                "Input and output must have the same number of spatial dimensions, but got input with spatial "
                f"dimensions of {list(x.shape[2:])} and output size of {size}. Please provide input tensor in "
                "(N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format."
            )
        return [int(s) for s in sizes], [None] * dims
    scales = list(scale_factor) if isinstance(scale_factor, (tuple, list)) else [scale_factor] * dims
    if len(scales) != dims:
        raise ValueError(
            "Input and scale_factor must have the same number of spatial dimensions, but got input with spatial "
            f"dimensions of {list(x.shape[2:])} and scale_factor of shape {scale_factor}. Please provide input "
            "tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format."
        )
    sizes = [math.floor(float(n) * float(s)) for n, s in zip(x.shape[2:], scales)]
    return sizes, ([None] * dims if recompute_scale_factor else [float(s) for s in scales])


def _check_mode(input, mode, align_corners, antialias):
    modes = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
    if mode not in modes:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported (one of {', '.join(modes)})")
    if align_corners is not None and mode not in _LINEAR_MODES:
        raise ValueError(
            "align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear"
        )
    if mode in _LINEAR_MODES and input.ndim != _LINEAR_MODES[mode] + 2:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {_LINEAR_MODES[mode] + 2}D input")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported by minigrad")
    if input.ndim not in (3, 4, 5):
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for the modes: nearest | "
            f"linear | bilinear | bicubic | trilinear | area | nearest-exact (got {mode})"
        )


@declare(method=False, functional=True, top_level=False)
def interpolate(
    input,
    size=None,
    scale_factor=None,
    mode="nearest",
    align_corners=None,
    recompute_scale_factor=None,
    antialias=False,
):
    """Resize the spatial axes of ``(N, C, *spatial)`` to ``size`` or by ``scale_factor``: modes 'nearest',
    'nearest-exact', 'linear' (3-D), 'bilinear'/'bicubic' (4-D), 'trilinear' (5-D), 'area' (adaptive mean)."""
    _check_tensor("interpolate", input)
    _check_mode(input, mode, align_corners, antialias)
    sizes, scales = _output_sizes(input, size, scale_factor, recompute_scale_factor)
    if mode == "area":  # the mean over each output position's share of the input
        if input.ndim == 3:
            from .pooling import adaptive_avg_pool1d

            return adaptive_avg_pool1d(input, sizes[0])
        if input.ndim != 4:
            raise NotImplementedError("interpolate: mode 'area' takes 3-D or 4-D inputs in minigrad (not 5-D)")
        return adaptive_avg_pool2d(input, sizes)
    if input.array.dtype == B.uint8:  # 8-bit images: the nearest modes copy pixels, as torch's do
        if mode not in ("nearest", "nearest-exact"):
            raise NotImplementedError(
                f"interpolate: minigrad resamples uint8 images only in the nearest modes, not {mode!r}"
            )
    else:
        _check_float("upsample_" + mode.replace("-", "_"), input)
    if min(sizes) <= 0:
        raise RuntimeError(f"interpolate: output sizes should be greater than 0, but got {sizes}")
    taps = {
        2 + i: (n, _axis_taps(mode, n, out, scale, bool(align_corners), input.array))
        for i, (n, out, scale) in enumerate(zip(input.shape[2:], sizes, scales))
    }
    return Resample(taps)(input)


@declare(method=False, functional=True, top_level=False)
def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated in torch: :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


@declare(method=False, functional=True, top_level=False)
def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated in torch: ``interpolate(..., mode='nearest')``."""
    return interpolate(input, size, scale_factor, mode="nearest")


@declare(method=False, functional=True, top_level=False)
def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated in torch: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ------------------------------------------------------------------ padding modes other than 'constant'
def _source_position(p: int, n: int, mode: str, crop: tuple) -> int:
    """Which input position output position ``p`` (in input coordinates, may be outside ``0..n-1``) reads.
    ``crop``: how many positions negative amounts cut off each end (circular wraps what is left, as torch)."""
    if mode == "replicate":
        return min(max(p, 0), n - 1)
    if mode == "circular":
        start, kept = crop[0], n - crop[0] - crop[1]
        return start + (p - start) % kept
    period = 2 * (n - 1)  # reflect: ... 2 1 [0 1 2 3] 2 1 0 ...
    p = abs(p) % period if period else 0
    return period - p if p >= n else p


class PadNonConstant(Op):
    """Each padded axis gathers positions from the input (reflected, clamped or wrapped); backward adds the
    gradient of every output position back to the position it read."""

    linear = True  # create_graph records its backward as a LinearMap

    saved = ()

    def __init__(self, sources):
        self.sources = sources  # {axis: (input length, amount before, [input position of each output position])}

    def forward(self, x):
        for axis, (_, _, src) in self.sources.items():
            x = B.take(x, B.asarray(src, like=x), axis=axis)
        return x

    def backward(self, grad):
        for axis, (n, before, src) in reversed(self.sources.items()):
            shape = list(grad.shape)
            shape[axis] = n
            gx = B.zeros(shape, grad.dtype, like=grad)
            lead = (slice(None),) * axis
            # the output positions o0..o1 hold the input itself (position o - before): one slice; the few
            # padded positions each add their gradient to the position they copied
            o0, o1 = max(before, 0), min(before + n, len(src))
            gx[(*lead, slice(o0 - before, o1 - before))] += grad[(*lead, slice(o0, o1))]
            for out_pos in [*range(o0), *range(o1, len(src))]:
                gx[(*lead, src[out_pos])] += grad[(*lead, out_pos)]
            grad = gx
        return grad


def _check_nonconstant(input, pads, mode):
    k = len(pads) // 2
    if len(pads) % 2 or not 1 <= k <= 3 or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pads)} is not supported for {input.ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
        )
    for i in range(k):
        lo, hi = pads[2 * i], pads[2 * i + 1]
        axis = input.ndim - 1 - i
        n = input.shape[axis]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(
                f"Argument #4: Padding size should be less than the corresponding input dimension, but got: "
                f"padding ({lo}, {hi}) at dimension {axis} of input {list(input.shape)}"
            )
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if n + lo + hi < 0 or (mode != "circular" and n == 0):
            raise RuntimeError(f"pad: cannot pad dimension {axis} of input {list(input.shape)} by ({lo}, {hi})")


def pad_nonconstant(input, pad, mode="reflect", value=None):
    """``F.pad`` for the modes 'reflect', 'replicate' and 'circular': ``pad`` lists ``(before, after)`` pairs
    from the last axis backwards (negative amounts crop). The padding copies the input: mirrored without
    repeating the edge (reflect), the edge repeated (replicate), or wrapped around (circular)."""
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: mode {mode!r} is not supported (use constant, reflect, replicate or circular)")
    if value:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    _check_tensor("pad", input)
    if input.array.dtype.kind == "b":
        raise NotImplementedError(f"\"{mode}_pad{len(pad) // 2}d\" not implemented for 'Bool'")
    pads = [int(p) for p in pad]
    _check_nonconstant(input, pads, mode)
    sources = {}
    for i in range(len(pads) // 2):
        lo, hi = pads[2 * i], pads[2 * i + 1]
        axis = input.ndim - 1 - i
        n = input.shape[axis]
        crop = (max(-lo, 0), max(-hi, 0))
        sources[axis] = (n, lo, [_source_position(p, n, mode, crop) for p in range(-lo, n + hi)])
    return PadNonConstant(sources)(input)


# ------------------------------------------------------------------ channel dropout
def _feature_dropout(op, input, p, training, inplace, batched_ndim):
    """Zero whole channels: one keep-mask entry per ``(sample, channel)``, broadcast over the rest."""
    _check_tensor(op, input)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if input.array.dtype.kind != "f":
        raise RuntimeError(f"{op}: result type Float can't be cast to the desired output type {input.dtype}")
    lead = 2 if input.ndim == batched_ndim else 1  # (N, C, ...) or unbatched (C, ...)
    shape = tuple(input.shape[:lead]) + (1,) * (input.ndim - lead)
    mask = draw_mask(shape, p, input.array.dtype, input.device)
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    if inplace:
        from .inplace import apply_inplace

        return apply_inplace(op + "_", input, Dropout(mask, scale), keep=False)
    return Dropout(mask, scale)(input)


@declare(method=False, functional=True, top_level=False)
def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` with probability ``p``, scale the rest by ``1/(1-p)``."""
    if isinstance(input, Tensor) and input.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that dropout1d exists "
            "to provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, and an "
            "optional batch dimension (i.e. 2D or 3D inputs)."
        )
    return _feature_dropout("dropout1d", input, p, training, inplace, 3)


@declare(method=False, functional=True, top_level=False)
def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, H, W)`` with probability ``p``, scale the rest by ``1/(1-p)``.
    A 3-D input is taken as ``(N, C, L)`` (torch's behaviour, with its warning)."""
    if isinstance(input, Tensor) and input.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and will result in an "
            "error in a future release. To retain the behavior and silence this warning, please use dropout "
            "instead.",
            stacklevel=2,
        )
    if isinstance(input, Tensor) and input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior is "
            "desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior will "
            "change in a future release to interpret the input as one without a batch dimension, i.e. shape "
            "(C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2,
        )
    return _feature_dropout("dropout2d", input, p, training, inplace, input.ndim)  # (N, C, ...) whatever its rank


# ------------------------------------------------------------------ instance norm and RMS norm
@declare(method=False, functional=True, autocast="float32")
def instance_norm(
    input,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    use_input_stats=True,
    momentum=0.1,
    eps=1e-5,
):
    """Normalise each channel of each sample of ``(N, C, *)`` over its own spatial positions, then an optional
    per-channel ``weight``/``bias``. It is batch norm on ``(1, N*C, *)`` (torch computes it so too); the
    running statistics, when given, move towards the batch's average of the per-sample statistics."""
    op = "instance_norm"
    _check_tensor(op, input)
    _check_float(op, input)
    if input.ndim < 3:
        raise ValueError(f"{op}: expected an input of at least 3 dimensions (N, C, *), got {list(input.shape)}")
    n, c = input.shape[:2]
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    if input.numel() // max(n * c, 1) <= 1 and input.numel():
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {list(input.shape)}")
    flat = input.reshape(1, n * c, *input.shape[2:])
    w = weight.repeat(n) if weight is not None else None
    b = bias.repeat(n) if bias is not None else None
    stats = [s.detach().repeat(n) if s is not None else None for s in (running_mean, running_var)]
    out = batch_norm(flat, stats[0], stats[1], w, b, True, momentum, eps)
    for running, per_sample in zip((running_mean, running_var), stats):
        if running is not None:  # the per-sample running statistics, averaged over the batch
            running.array[...] = per_sample.array.reshape(n, c).mean(axis=0)
            running._version += 1
    return out.reshape(input.shape)


class RMSNorm(Op):
    """``y = x / sqrt(mean(x**2) + eps) * weight`` over the last ``ndims`` axes. With ``r = 1/rms`` and
    ``xhat = x * r``, ``dL/dx = r * (gh - xhat * mean(gh * xhat))`` where ``gh = grad * weight``."""

    def __init__(self, ndims, eps):
        self.ndims, self.eps = ndims, eps

    def forward(self, x, w=None):
        self.axes = tuple(range(x.ndim - self.ndims, x.ndim))
        self.r = 1 / B.sqrt((x * x).mean(axis=self.axes, keepdims=True) + self.eps)
        self.xhat, self.w = x * self.r, w
        return self.xhat * w if w is not None else self.xhat

    def backward(self, grad):
        need = self.needs_input_grad
        gh = grad * self.w if self.w is not None else grad
        gx = gw = None
        if need[0]:
            gx = self.r * (gh - self.xhat * (gh * self.xhat).mean(axis=self.axes, keepdims=True))
        if len(need) > 1 and need[1]:
            lead = tuple(range(grad.ndim - self.ndims))
            gw = (grad * self.xhat).sum(axis=lead)
        return gx, gw


@declare(method=False, functional=True, autocast="float32")
def rms_norm(input, normalized_shape, weight=None, eps=None):
    """Divide by the root mean square over the trailing ``normalized_shape`` axes (plus ``eps``; None: the
    dtype's machine epsilon), then multiply by ``weight`` when given."""
    op = "rms_norm"
    _check_tensor(op, input)
    if not isinstance(normalized_shape, (tuple, list)) and not hasattr(normalized_shape, "__len__"):
        raise TypeError(
            f"rms_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, not "
            f"{type(normalized_shape).__name__}"
        )
    shape = tuple(int(s) for s in normalized_shape)
    nd = len(shape)
    if nd == 0 or input.ndim < nd or tuple(input.shape[input.ndim - nd :]) != shape:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape [*{', '.join(map(str, shape))}], "
            f"but got input of size{list(input.shape)}"
        )
    _check_float(op, input, weight)
    if weight is not None:
        check_same_device(op, input, weight)
        if tuple(weight.shape) != shape:
            raise RuntimeError(f"{op}: expected weight of shape {list(shape)}, but got {list(weight.shape)}")
    if eps is None:
        eps = float(B.finfo(input.array.dtype).eps)
    node = RMSNorm(nd, eps)
    return node(input) if weight is None else node(input, weight)


# the names torch has at its top level; the nn.functional-only ones (top_level=False) are in the registry,
# and pad_nonconstant is F.pad's helper (minigrad.ops.shape.pad dispatches to it)
__all__ = exports(__name__)
