"""1-d convolution as im2col + one matrix product, and its backward as one product + col2im.

Layouts are torch's: input ``(N, C_in, L)`` (or unbatched ``(C_in, L)``), weight
``(C_out, C_in / groups, K)``, output ``(N, C_out, L_out)`` with
``L_out = (L + pad_left + pad_right - dilation * (K - 1) - 1) // stride + 1``.

How the forward pass works (one group shown)::

    x (N, C, L) --transpose+pad--> xT (N, Lp, C)
    cols[n, l, k, :] = xT[n, l*stride + k*dilation, :]      K strided slice copies
    out[n] = W' @ cols[n].T          W' = weight as (C_out, K*C)   one matmul

``cols`` viewed as ``(N*L_out, K*C)`` is the classic im2col matrix: each row holds the
receptive field of one output position. It is built by K slice copies into a contiguous
buffer (a ``sliding_window_view`` would avoid the copy, but a matrix product over its
overlapping rows is much slower than over a compact copy).

Backward: ``grad_weight`` is one product of the upstream gradient with the saved ``cols``;
``grad_cols = grad.T @ W'`` is one product, and col2im undoes im2col by adding each of the K
taps' slices back at their shifted positions (a loop over K, no scatter needed, because
within one tap the positions ``l*stride + k*dilation`` never repeat).
"""
from __future__ import annotations

import numbers

from .. import amp as _amp
from .. import backend, kernels
from ..autograd.graph import Op
from ..tensor import Tensor
from ._util import check_same_device

xp_of = backend.get_array_module

__all__ = ["conv1d"]


# ------------------------------------------------------------------ a pool of scratch buffers
class _Workspace:
    """A few large scratch arrays handed out again instead of being re-allocated.

    Arrays over ~32 MB come from fresh pages on every allocation (the allocator returns them to
    the OS), and touching new pages costs time on every training step. Buffers are taken for the
    im2col columns and given back when the op that saved them no longer needs them (after its
    backward, or at once when no backward will run). Small requests are plain allocations.
    """

    def __init__(self, keep: int = 4, min_bytes: int = 1 << 20):
        self.keep, self.min_bytes = keep, min_bytes
        self.free = []  # flat 1-d arrays

    def take(self, xp, shape, dtype, like):
        n = 1
        for s in shape:
            n *= s
        if n * xp.dtype(dtype).itemsize < self.min_bytes:
            return xp.empty(shape, dtype), None
        dev = backend.device_of(like)
        best = None
        for i, buf in enumerate(self.free):
            if (buf.dtype == dtype and buf.size >= n and xp_of(buf) is xp and backend.device_of(buf) == dev
                    and (best is None or buf.size < self.free[best].size)):
                best = i
        if best is None:
            buf = xp.empty(n + n // 8, dtype)  # a little slack so slightly longer batches fit too
        else:
            buf = self.free.pop(best)
        return buf[:n].reshape(shape), buf

    def give(self, buf):
        if buf is None:
            return
        self.free.append(buf)
        if len(self.free) > self.keep:
            # drop the smallest by position: list.remove would compare arrays with ==
            self.free.pop(min(range(len(self.free)), key=lambda i: self.free[i].size))

    def clear(self):
        self.free.clear()


workspace = _Workspace()
COL2IM_CHUNK_ELEMS = 1 << 22  # input-gradient columns are built for this many numbers at a time (16 MB float32)


# ------------------------------------------------------------------ argument helpers
def single(value, name: str, op: str) -> int:
    """An int given as ``k`` or ``(k,)`` (torch's 1-d convention)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise RuntimeError(f"{op}: expected {name} to be a single integer value or a list of 1 values to match "
                               f"the convolution dimensions, but got {name}={list(value)}")
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
    """Cross-correlation of ``x (N, C_in, L)`` with ``w (C_out, C_in/G, K)``, plus an optional bias."""

    def __init__(self, stride, pad_left, pad_right, dilation, groups):
        self.stride, self.pad, self.dilation, self.groups = stride, (pad_left, pad_right), dilation, groups

    def forward(self, x, w, b=None):
        xp = xp_of(x)
        self.unbatched = x.ndim == 2
        if self.unbatched:
            x = x[None]
        n, c, length = x.shape
        c_out, c_g, k = w.shape
        g, s, d = self.groups, self.stride, self.dilation
        pl, pr = self.pad
        lp = length + pl + pr
        l_out = (lp - d * (k - 1) - 1) // s + 1
        self.shapes = (n, c, length, c_out, c_g, k, l_out)

        # the input, channels last and zero-padded: rows of xT are positions
        xt, xt_buf = workspace.take(xp, (n, lp, c), x.dtype, x)
        xt[:, pl:pl + length, :] = x.transpose(0, 2, 1)
        if pl:
            xt[:, :pl, :] = 0
        if pr:
            xt[:, pl + length:, :] = 0

        # im2col: cols[n, l, group, tap, channel-in-group]
        if k == 1 and s == 1:
            cols, cols_buf, xt_buf = xt, xt_buf, None  # a 1-tap stride-1 convolution needs no copy
        else:
            cols, cols_buf = workspace.take(xp, (n, l_out, g, k, c_g), x.dtype, x)
            src = xt.reshape(n, lp, g, c_g)
            span = s * (l_out - 1) + 1
            for j in range(k):
                cols[:, :, :, j, :] = src[:, j * d:j * d + span:s]
            workspace.give(xt_buf)
        cols = cols.reshape(n, l_out, g, k * c_g)

        # weight as (G, C_out/G, K*C_in/G), the same (tap, channel) order as the columns
        wm = w.reshape(g, c_out // g, c_g, k).transpose(0, 1, 3, 2).reshape(g, c_out // g, k * c_g)
        if g == 1:  # (C_out, K*C) @ (N, K*C, L_out): the columns' transpose is free (BLAS reads it as is)
            out = xp.matmul(wm[0], cols[:, :, 0].transpose(0, 2, 1))
        else:
            out = xp.matmul(wm, cols.transpose(0, 2, 3, 1)).reshape(n, c_out, l_out)  # via (N, G, C_out/G, L_out)
        if b is not None:
            out += b[:, None]

        self.cols, self.cols_buf, self.wm = cols, cols_buf, wm
        return out[0] if self.unbatched else out

    def backward(self, grad):
        xp = xp_of(grad)
        need = self.needs_input_grad
        n, c, length, c_out, c_g, k, l_out = self.shapes
        g, s, d = self.groups, self.stride, self.dilation
        pl, pr = self.pad
        if self.unbatched:
            grad = grad[None]
        g4 = grad.reshape(n, g, c_out // g, l_out)
        gx = gw = gb = None
        if need[1]:
            gw = xp.empty((g, c_out // g, k * c_g), grad.dtype)
            for i in range(g):
                if c_out // g <= l_out:
                    # per-sample products summed over the batch: no transposed copy of grad, and the
                    # (N, C_out/G, K*C/G) partial results are no larger than the columns
                    gw[i] = xp.matmul(g4[:, i], self.cols[:, :, i]).sum(axis=0)
                else:
                    gw[i] = xp.tensordot(g4[:, i], self.cols[:, :, i], axes=([0, 2], [0, 1]))
            gw = gw.reshape(g, c_out // g, k, c_g).transpose(0, 1, 3, 2).reshape(c_out, c_g, k)
        if need[0]:
            lp = length + pl + pr
            gxt = self._grad_input_compiled(xp, g4, lp) if g == 1 else None
            if gxt is None:
                gcols = xp.matmul(g4.transpose(0, 1, 3, 2), self.wm)  # (N, G, L_out, K*C/G)
                gcols = gcols.reshape(n, g, l_out, k, c_g).transpose(0, 2, 1, 3, 4)
                gxt = xp.zeros((n, lp, g, c_g), grad.dtype)
                span = s * (l_out - 1) + 1
                for j in range(k):  # col2im: each tap's columns go back to where they came from
                    gxt[:, j * d:j * d + span:s] += gcols[:, :, :, j, :]
            gx = gxt.reshape(n, lp, c)[:, pl:pl + length].transpose(0, 2, 1)
            if self.unbatched:
                gx = gx[0]
        if len(need) > 2 and need[2]:
            gb = grad.sum(axis=(0, 2))
        return gx, gw, gb

    def _grad_input_compiled(self, xp, g4, lp):
        """groups=1 input gradient with the compiled col2im of minigrad.kernels, a slice of the batch at a time.

        The gradient columns of a whole batch are K times the input's size (97 MB for the course CNN's
        conv2); built for a few samples at a time they stay small, which lowers the peak memory and lets the
        allocator reuse memory instead of faulting in fresh pages. Returns None when the kernel does not apply.
        """
        n, c, length, c_out, c_g, k, l_out = self.shapes
        if kernels.col2im(xp.empty((0, l_out, k, c), g4.dtype), lp, self.stride, self.dilation) is None:
            return None  # not a NumPy array (CuPy): the caller's array-module code handles it
        gxt = xp.empty((n, lp, c), g4.dtype)
        step = max(1, COL2IM_CHUNK_ELEMS // max(1, l_out * k * c))
        for i in range(0, n, step):
            gcols = xp.matmul(g4[i:i + step, 0].transpose(0, 2, 1), self.wm[0])  # (b, L_out, K*C)
            b = gcols.shape[0]
            if kernels.col2im(gcols.reshape(b, l_out, k, c), lp, self.stride, self.dilation, out=gxt[i:i + b]) is None:
                return None
        return gxt

    def __call__(self, *inputs):
        out = super().__call__(*inputs)
        if self.inputs is None or not inputs[1].requires_grad:
            # no backward will need the columns (not recorded, or no weight gradient): recycle them now
            workspace.give(self.__dict__.pop("cols_buf", None))
            self.cols = None
        return out

    def release(self):
        workspace.give(self.__dict__.get("cols_buf"))
        super().release()


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups=1) -> Tensor:
    """1-d cross-correlation over the last axis of ``input`` ``(N, C_in, L)`` or ``(C_in, L)``.

    ``padding`` is an int (zeros on both sides), ``'valid'`` (none) or ``'same'`` (output as long
    as the input; only with stride 1). ``groups`` splits the channels into independent groups.
    """
    if _amp._active:  # autocast: convolutions run in float16
        input, weight, bias = _amp.autocast_inputs("lower", input, weight, bias)
    op = "conv1d"
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{op}: expected input and weight to be Tensors, got {type(input).__name__} and "
                        f"{type(weight).__name__}")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2D (unbatched) or 3D (batched) input to conv1d, but got input of size: "
                           f"{list(input.shape)}")
    if weight.ndim != 3:
        raise RuntimeError(f"{op}: weight should have three dimensions (C_out, C_in/groups, K), got shape "
                           f"{list(weight.shape)}")
    tensors = [input, weight] + ([bias] if bias is not None else [])
    check_same_device(op, *tensors)
    for name, t in zip(("input", "weight", "bias"), tensors):
        if t.array.dtype.kind != "f":
            raise RuntimeError(f"{op}: expected a floating-point {name}, got {t.dtype}")
    if weight.array.dtype != input.array.dtype or (bias is not None and bias.array.dtype != input.array.dtype):
        raise RuntimeError(f"{op}: input ({input.dtype}), weight ({weight.dtype})"
                           f"{f' and bias ({bias.dtype})' if bias is not None else ''} should have the same dtype")
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
        raise RuntimeError(f"{op}: given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size {list(weight.shape)}")
    if c_in != c_g * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                           f"{list(input.shape)} to have {c_g * groups} channels, but got {c_in} channels instead")
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
                           f"{c_out} elements, but got bias of size {list(bias.shape)} instead")
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
        raise RuntimeError(f"Calculated padded input size per channel: ({length + pl + pr}). Kernel size: "
                           f"({dilation * (k - 1) + 1}). Kernel size can't be greater than actual input size")
    return Conv1d(stride, pl, pr, dilation, groups)(*tensors)
