"""1-d pooling over the last axis of ``(N, C, L)`` or unbatched ``(C, L)`` inputs.

Fixed-window pools (``max_pool1d``, ``avg_pool1d``) work tap by tap, like conv1d's im2col: the
window's j-th element for every output position is one strided slice
``xpad[..., j*dilation : ... : stride]``, so a window of K elements is K vectorised passes
and the backward pass adds K shifted slices back (no scatter).

Adaptive pools choose their bins from the output size, as torch does: bin ``i`` covers
``[floor(i*L/out), ceil((i+1)*L/out))``, so bins may differ in length by one and may overlap.
"""

from __future__ import annotations

from ..autograd.graph import Op
from ..compute import B
from ..tensor import Tensor
from .conv import single
from .registry import declare, exports


def _check_input(op: str, input) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"{op}: expected a 2-d (unbatched) or 3-d (batched) input, but got input of size {list(input.shape)}"
        )
    if input.array.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating-point input, got {input.dtype}")
    if input.shape[-1] == 0:
        raise RuntimeError(
            f"{op}: expected input with a non-empty last dimension, but got input of size {list(input.shape)}"
        )


def _window_args(op, kernel_size, stride, padding, dilation):
    k = single(kernel_size, "kernel_size", op)
    s = (
        k
        if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
        else single(stride, "stride", op)
    )
    p, d = single(padding, "padding", op), single(dilation, "dilation", op)
    if k <= 0:
        raise RuntimeError(f"{op}() kernel_size must be greater than zero, but got {k}")
    if s <= 0:
        raise RuntimeError(f"{op}() stride must be greater than zero, but got {s}")
    if d <= 0:
        raise RuntimeError(f"{op}() dilation must be greater than zero, but got {d}")
    if p < 0:
        raise RuntimeError(f"{op}() padding must be non-negative, but got {p}")
    if p > k // 2:  # torch's rule, which ignores the dilation
        raise RuntimeError(
            f"{op}() padding should be at most half of kernel size, but got padding={p} and kernel_size={k}"
        )
    return k, s, p, d


def _output_length(op, length, k, s, p, d, ceil_mode):
    """torch's pooling output size, including the ceil_mode rule that the last window must start
    inside the input or the left padding."""
    span = length + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= length + p:
        out -= 1
    if out < 1:
        raise RuntimeError(
            f"{op}() Invalid computed output size: {out} (input length {length}, kernel_size={k}, "
            f"stride={s}, padding={p}, dilation={d})"
        )
    return out


def _padded(x, p, total, fill):
    """``x`` with ``p`` elements of ``fill`` on the left and enough on the right to reach ``total``."""
    length = x.shape[-1]
    if p == 0 and total == length:
        return x
    out = B.empty(x.shape[:-1] + (total,), x.dtype, like=x)
    out[..., :p] = fill
    out[..., p : p + length] = x
    out[..., p + length :] = fill
    return out


class MaxPool1d(Op):
    """Maximum of each window; the gradient goes to the (first) position of the maximum."""

    def __init__(self, k, s, p, d, l_out):
        self.k, self.s, self.p, self.d, self.l_out = k, s, p, d, l_out

    def forward(self, x):
        k, s, p, d, l_out = self.k, self.s, self.p, self.d, self.l_out
        self.length = x.shape[-1]
        self.total = max(self.length + 2 * p, (l_out - 1) * s + d * (k - 1) + 1)
        xpad = _padded(x, p, self.total, -B.inf)
        span = s * (l_out - 1) + 1
        best = xpad[..., 0:span:s].copy()
        tap = B.zeros(best.shape, B.int8 if k < 128 else B.int64, like=x)
        for j in range(1, k):
            cand = xpad[..., j * d : j * d + span : s]
            take = (cand > best) | B.isnan(cand)  # strict '>' keeps the first maximum; NaN wins, as in torch
            best = B.where(take, cand, best)
            tap[take] = j
        self.tap = tap
        return best

    def indices(self):
        """Indices of the maxima in the unpadded input (torch's ``return_indices``), as int64."""
        start = B.arange(self.l_out, dtype=B.int64, like=self.tap) * self.s - self.p
        return start + self.tap.astype(B.int64) * self.d

    def backward(self, grad):
        k, s, p, d, l_out = self.k, self.s, self.p, self.d, self.l_out
        gpad = B.zeros(grad.shape[:-1] + (self.total,), grad.dtype, like=grad)
        span = s * (l_out - 1) + 1
        zero = B.zeros((), grad.dtype, like=grad)
        for j in range(k):
            gpad[..., j * d : j * d + span : s] += B.where(self.tap == j, grad, zero)
        return gpad[..., p : p + self.length]


class AvgPool1d(Op):
    """Mean of each window; the divisor counts padding or not (``count_include_pad``)."""

    linear = True  # create_graph records its backward as a LinearMap

    def __init__(self, k, s, p, l_out, count_include_pad):
        self.k, self.s, self.p, self.l_out, self.include = k, s, p, l_out, count_include_pad

    def forward(self, x):
        k, s, p, l_out = self.k, self.s, self.p, self.l_out
        length = self.length = x.shape[-1]
        self.total = max(length + 2 * p, (l_out - 1) * s + k)
        xpad = _padded(x, p, self.total, 0)
        span = s * (l_out - 1) + 1
        acc = xpad[..., 0:span:s].copy()
        for j in range(1, k):
            acc += xpad[..., j : j + span : s]
        # window of output i: [i*s - p, i*s - p + k), clipped to the padded input, or to the input itself
        start = B.arange(l_out, like=x) * s - p
        end = B.minimum(start + k, length + p)
        if self.include:
            count = end - start
        else:
            count = B.minimum(end, length) - B.maximum(start, 0)
        self.count = count.astype(x.dtype)
        acc /= self.count
        return acc

    def backward(self, grad):
        k, s, p, l_out = self.k, self.s, self.p, self.l_out
        g = grad / self.count
        gpad = B.zeros(grad.shape[:-1] + (self.total,), grad.dtype, like=grad)
        span = s * (l_out - 1) + 1
        for j in range(k):
            gpad[..., j : j + span : s] += g
        return gpad[..., p : p + self.length]


@declare(method=False, functional=True)
def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Maximum over sliding windows of ``kernel_size`` elements (``dilation`` apart) along the last axis.

    ``stride`` defaults to ``kernel_size``; padding is implicit ``-inf``. With ``return_indices``
    also returns, for every output, the int64 index of its maximum in the input's last axis.
    """
    op = "max_pool1d"
    _check_input(op, input)
    k, s, p, d = _window_args(op, kernel_size, stride, padding, dilation)
    l_out = _output_length(op, input.shape[-1], k, s, p, d, ceil_mode)
    node = MaxPool1d(k, s, p, d, l_out)
    out = node(input)
    if return_indices:
        return out, Tensor._make(node.indices())
    return out


@declare(method=False, functional=True)
def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over sliding windows of ``kernel_size`` elements along the last axis (zero padding).

    With ``count_include_pad`` the padded zeros count in the divisor; windows that ``ceil_mode``
    lets run past the padding are divided only by their part inside it (as torch does).
    """
    op = "avg_pool1d"
    _check_input(op, input)
    k, s, p, _ = _window_args(op, kernel_size, stride, padding, 1)
    l_out = _output_length(op, input.shape[-1], k, s, p, 1, ceil_mode)
    return AvgPool1d(k, s, p, l_out, bool(count_include_pad))(input)


# ------------------------------------------------------------------ adaptive pools
def _bins(x, length, out):
    """Start and end (exclusive) of each of the ``out`` adaptive bins over ``length`` elements (arrays
    on ``x``'s device)."""
    i = B.arange(out, dtype=B.int64, like=x)
    start = (i * length) // out
    end = -((-(i + 1) * length) // out)  # ceil((i+1)*L/out) in integer arithmetic
    return start, end


def _output_size(op, output_size) -> int:
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 1:
            raise RuntimeError(f"{op}: output_size must be an int or a 1-element tuple, got {tuple(output_size)}")
        output_size = output_size[0]
    out = single(output_size, "output_size", op)
    if out < 0:
        raise RuntimeError(f"{op}: output_size must be non-negative, got {out}")
    return out


class AdaptiveAvgPool1d(Op):
    """Bin means as one matrix product: ``out = x @ A`` with ``A[l, i] = 1/len(bin i)`` for ``l`` in bin i."""

    linear = True  # create_graph records its backward as a LinearMap

    def __init__(self, out):
        self.out = out

    def forward(self, x):
        length = x.shape[-1]
        start, end = _bins(x, length, self.out)
        pos = B.arange(length, like=x)[:, None]
        inside = (pos >= start[None, :]) & (pos < end[None, :])
        self.a = inside / (end - start).astype(x.dtype)
        self.a = self.a.astype(x.dtype, copy=False)
        return B.matmul(x, self.a)

    def backward(self, grad):
        return B.matmul(grad, self.a.T)


class AdaptiveMaxPool1d(Op):
    """Bin maxima. Bins are gathered into a padded ``(..., out, longest bin)`` array (short bins
    repeat their last element, which can never win a tie against itself)."""

    def __init__(self, out):
        self.out = out

    def forward(self, x):
        length = x.shape[-1]
        self.length = length
        start, end = _bins(x, length, self.out)
        width = int((end - start).max()) if self.out else 0
        idx = B.minimum(start[:, None] + B.arange(width, like=x)[None, :], end[:, None] - 1)
        windows = x[..., idx]  # (..., out, width)
        if width and bool(B.isnan(windows).any()):
            # torch lets NaN win: the last NaN of each bin becomes its maximum (padded repeats excluded)
            nan = B.isnan(windows)
            last_nan = B.minimum(width - 1 - B.argmax(nan[..., ::-1], axis=-1), end - start - 1)
            arg = B.where(nan.any(axis=-1), last_nan, B.argmax(B.where(nan, 0, windows), axis=-1))
        else:
            arg = B.argmax(windows, axis=-1) if width else B.zeros(x.shape[:-1] + (0,), B.int64, like=x)
        self.index = start + arg  # position of each maximum in the input's last axis
        self.start, self.width = start, end - start
        return B.take_along_axis(x, self.index, axis=-1)

    def recorded_twin(self, inputs):
        """For ``create_graph``: backward reads only the (constant) positions of the maxima, so a plain copy."""
        from ..autograd.recorded_vision import with_saved

        return with_saved(self)

    def backward(self, grad):
        if self.out > self.length:
            # more bins than elements: several outputs can share one maximum, so add them all (add_at)
            lead = grad.reshape(-1, self.out)
            rows = B.arange(lead.shape[0], like=grad)[:, None]
            gx = B.zeros((lead.shape[0], self.length), grad.dtype, like=grad)
            B.add_at(gx, (rows, self.index.reshape(-1, self.out)), lead)
            return gx.reshape(grad.shape[:-1] + (self.length,))
        gx = B.zeros(grad.shape[:-1] + (self.length,), grad.dtype, like=grad)
        # bins start at distinct positions, so for a fixed offset j the targets start+j never repeat
        offset = self.index - self.start
        zero = B.zeros((), grad.dtype, like=grad)
        for j in range(int(offset.max()) + 1 if offset.size else 0):
            bins = B.nonzero(self.width > j)[0]  # the bins that are longer than j
            gx[..., self.start[bins] + j] += B.where(offset[..., bins] == j, grad[..., bins], zero)
        return gx


@declare(method=False, functional=True)
def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Mean over ``output_size`` bins that tile the last axis (torch's bin boundaries)."""
    op = "adaptive_avg_pool1d"
    _check_input(op, input)
    return AdaptiveAvgPool1d(_output_size(op, output_size))(input)


@declare(method=False, functional=True)
def adaptive_max_pool1d(input: Tensor, output_size, return_indices=False):
    """Maximum over ``output_size`` bins that tile the last axis; optionally with int64 indices."""
    op = "adaptive_max_pool1d"
    _check_input(op, input)
    for d in range(1, input.ndim):  # unlike the average, torch's max refuses empty channels too (dim 0 may be 0)
        if input.shape[d] == 0:
            raise RuntimeError(
                f"{op}(): Expected input to have non-zero size for non-batch dimensions, but input "
                f"has sizes {list(input.shape)} with dimension {d} being empty"
            )
    node = AdaptiveMaxPool1d(_output_size(op, output_size))
    out = node(input)
    if return_indices:
        return out, Tensor._make(node.index)
    return out


__all__ = exports(__name__)
