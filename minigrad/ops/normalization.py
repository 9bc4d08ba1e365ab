"""Normalisation ops: layer norm, batch norm and group norm, each one op with a hand-written backward.

All three compute ``xhat = (x - mean) / sqrt(var + eps)`` over some axes (the biased variance,
dividing by n) and then an optional per-feature affine map ``y = xhat * weight + bias``.
They differ only in *which* axes the statistics are taken over:

* layer norm: the trailing ``normalized_shape`` axes of each sample;
* batch norm: the batch and length axes, per channel (``(N, C)`` or ``(N, C, L)``);
* group norm: each sample's channels split into groups (and the length axes).

The backward pass is the same for all of them. With ``gh = dL/dxhat`` and means over the
normalised axes, ``dL/dx = (gh - mean(gh) - xhat * mean(gh * xhat)) / sqrt(var + eps)``: the
two subtracted terms are the paths through the mean and through the variance.
"""

from __future__ import annotations

import numbers

from ..autograd.graph import Op
from ..compute import B
from ..tensor import Tensor
from ._util import check_same_device
from .reduce import float16_math_in_float32
from .registry import declare, exports


def _normalize(x, axes, eps):
    """``(xhat, mean, biased var, 1/sqrt(var + eps))`` over ``axes`` (kept as size-1 dims)."""
    if x.size == 0:  # an empty batch: nothing to normalise (and NumPy would warn about a mean of nothing)
        stat = B.zeros([1 if i in axes else s for i, s in enumerate(x.shape)], x.dtype, like=x)
        return x.copy(), stat, stat, stat + 1
    mean = x.mean(axis=axes, keepdims=True)
    xc = x - mean
    var = (xc * xc).mean(axis=axes, keepdims=True)
    rstd = 1 / B.sqrt(var + eps)
    xc *= rstd
    return xc, mean, var, rstd


def _normalize_backward(gh, xhat, rstd, axes):
    """Gradient w.r.t. ``x`` of ``xhat = (x - mean(x)) * rstd(x)`` given ``gh = dL/dxhat``."""
    if gh.size == 0:  # an empty batch: an empty gradient (without NumPy's warning about a mean of nothing)
        return gh.copy()
    return rstd * (gh - gh.mean(axis=axes, keepdims=True) - xhat * (gh * xhat).mean(axis=axes, keepdims=True))


def _check_params(op, input, params):
    """Common checks: tensors on one device, all floating point and of the input's dtype."""
    tensors = [input] + [t for t in params if t is not None]
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected Tensors, got {type(t).__name__}")
    check_same_device(op, *tensors)
    if input.array.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating-point input, got {input.dtype}")
    for t in tensors[1:]:
        if t.array.dtype != input.array.dtype:
            raise RuntimeError(
                f"{op}: expected weight, bias and statistics of the input's dtype {input.dtype}, but got {t.dtype}"
            )


# ------------------------------------------------------------------ layer norm
@float16_math_in_float32
class LayerNorm(Op):
    """Normalise over the last ``ndims`` axes; ``weight``/``bias`` have exactly those axes' shape."""

    def __init__(self, ndims, eps, has_weight, has_bias):
        self.ndims, self.eps, self.has_w, self.has_b = ndims, eps, has_weight, has_bias

    def forward(self, x, *params):
        axes = tuple(range(x.ndim - self.ndims, x.ndim))
        xhat, _, _, rstd = _normalize(x, axes, self.eps)
        w = params[0] if self.has_w else None
        b = params[-1] if self.has_b else None
        self.xhat, self.rstd, self.w, self.axes = xhat, rstd, w, axes
        y = xhat * w if w is not None else xhat.copy()  # a copy: xhat is saved for backward
        if b is not None:
            y += b
        return y

    def backward(self, grad):
        need = self.needs_input_grad
        lead = tuple(range(grad.ndim - self.ndims))
        gh = grad * self.w if self.w is not None else grad
        gx = _normalize_backward(gh, self.xhat, self.rstd, self.axes) if need[0] else None
        out = [gx]
        if self.has_w:
            out.append((grad * self.xhat).sum(axis=lead) if need[1] else None)
        if self.has_b:
            out.append(grad.sum(axis=lead) if need[-1] else None)
        return tuple(out)


@declare(method=False, functional=True, autocast="float32")
def layer_norm(
    input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """Normalise each sample over its trailing ``normalized_shape`` axes (mean 0, biased variance 1),
    then scale by ``weight`` and shift by ``bias`` (both of shape ``normalized_shape``) when given."""
    op = "layer_norm"
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (int(normalized_shape),)
    normalized_shape = tuple(int(s) for s in normalized_shape)
    _check_params(op, input, (weight, bias))
    nd = len(normalized_shape)
    if nd == 0 or input.ndim < nd or tuple(input.shape[input.ndim - nd :]) != normalized_shape:
        raise RuntimeError(
            f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
            f"[*, {', '.join(map(str, normalized_shape))}], but got input of size{list(input.shape)}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != normalized_shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                f"{list(t.shape)} and normalized_shape = {list(normalized_shape)}"
            )
    params = [t for t in (weight, bias) if t is not None]
    return LayerNorm(nd, eps, weight is not None, bias is not None)(input, *params)


# ------------------------------------------------------------------ batch norm
def _channel_shape(x):
    """``(1, C, 1, ...)``: how a per-channel vector broadcasts against ``x (N, C, ...)``."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


@float16_math_in_float32
class BatchNorm(Op):
    """Per-channel normalisation of ``(N, C, *)``. Training: batch statistics (and gradients through
    them); evaluation: the given running statistics, which are constants here."""

    def __init__(self, training, eps, has_weight, has_bias, running=None):
        self.training, self.eps, self.has_w, self.has_b = training, eps, has_weight, has_bias
        self.running = running  # (mean, var) arrays for evaluation mode

    def forward(self, x, *params):
        cs = _channel_shape(x)
        self.axes = (0,) + tuple(range(2, x.ndim))
        if self.training:
            xhat, mean, var, rstd = _normalize(x, self.axes, self.eps)
            self.batch_mean, self.batch_var = mean.reshape(-1), var.reshape(-1)
        else:
            mean, var = self.running
            rstd = 1 / B.sqrt(var.reshape(cs) + self.eps)
            xhat = (x - mean.reshape(cs)) * rstd
        w = params[0].reshape(cs) if self.has_w else None
        b = params[-1].reshape(cs) if self.has_b else None
        self.xhat, self.rstd, self.w = xhat, rstd, w
        y = xhat * w if w is not None else xhat.copy()
        if b is not None:
            y += b
        return y

    def backward(self, grad):
        need = self.needs_input_grad
        gh = grad * self.w if self.w is not None else grad
        gx = None
        if need[0]:
            if self.training:
                gx = _normalize_backward(gh, self.xhat, self.rstd, self.axes)
            else:
                gx = gh * self.rstd
        out = [gx]
        if self.has_w:
            out.append((grad * self.xhat).sum(axis=self.axes) if need[1] else None)
        if self.has_b:
            out.append(grad.sum(axis=self.axes) if need[-1] else None)
        return tuple(out)


@declare(method=False, functional=True)
def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of ``input`` ``(N, C)`` or ``(N, C, L)`` over the batch (and length).

    ``training=True``: use this batch's mean and biased variance, and, when running statistics
    are given, update them in place: ``running = (1 - momentum) * running + momentum * batch``
    with the *unbiased* batch variance. ``training=False``: normalise with the running statistics.
    """
    op = "batch_norm"
    _check_params(op, input, ())
    if input.ndim < 2:
        raise ValueError(
            f"{op}: expected an input of at least 2 dimensions (N, C, ...), got input of size {list(input.shape)}"
        )
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None:
            _check_params(op, input, (t,))
            if t.numel() != c:
                raise RuntimeError(f"{op}: {name} should contain {c} elements not {t.numel()}")
    n = input.numel() // c if c else 0
    if training:
        if n == 1:  # an empty batch is allowed: the output is empty and the running statistics are kept
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size {list(input.shape)}"
            )
        running = None
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError(f"{op}: running_mean and running_var must be defined in evaluation mode")
        running = (running_mean.array, running_var.array)
    params = [t for t in (weight, bias) if t is not None]
    node = BatchNorm(bool(training), eps, weight is not None, bias is not None, running)
    out = node(input, *params)
    if training and n:
        m = momentum
        for stat, batch in ((running_mean, node.batch_mean), (running_var, node.batch_var * (n / (n - 1)))):
            if stat is not None:
                arr = stat.array
                arr *= 1 - m
                arr += (m * batch).reshape(arr.shape).astype(arr.dtype, copy=False)
                stat._version += 1
    return out


# ------------------------------------------------------------------ group norm
@float16_math_in_float32
class GroupNorm(Op):
    """Normalise ``(N, C, *)`` over each group of ``C / G`` channels (and all trailing axes)."""

    def __init__(self, groups, eps, has_weight, has_bias):
        self.groups, self.eps, self.has_w, self.has_b = groups, eps, has_weight, has_bias

    def forward(self, x, *params):
        n = x.shape[0]
        cs = _channel_shape(x)
        xg = x.reshape(n, self.groups, -1)
        xhat, _, _, rstd = _normalize(xg, (2,), self.eps)
        self.shape, self.rstd, self.xhat_g = x.shape, rstd, xhat
        xhat = xhat.reshape(x.shape)
        w = params[0].reshape(cs) if self.has_w else None
        b = params[-1].reshape(cs) if self.has_b else None
        self.xhat, self.w = xhat, w
        y = xhat * w if w is not None else xhat.copy()
        if b is not None:
            y += b
        return y

    def backward(self, grad):
        need = self.needs_input_grad
        axes = (0,) + tuple(range(2, grad.ndim))
        gx = None
        if need[0]:
            gh = grad * self.w if self.w is not None else grad
            gh = gh.reshape(self.shape[0], self.groups, -1)
            gx = _normalize_backward(gh, self.xhat_g, self.rstd, (2,)).reshape(self.shape)
        out = [gx]
        if self.has_w:
            out.append((grad * self.xhat).sum(axis=axes) if need[1] else None)
        if self.has_b:
            out.append(grad.sum(axis=axes) if need[-1] else None)
        return tuple(out)


@declare(method=False, functional=True, autocast="float32")
def group_norm(
    input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """Split the channels of ``input`` ``(N, C, *)`` into ``num_groups`` groups and normalise each group of
    each sample; then a per-channel ``weight`` and ``bias`` (shape ``(C,)``) when given."""
    op = "group_norm"
    _check_params(op, input, (weight, bias))
    if input.ndim < 2:
        raise RuntimeError(
            f"{op}: expected an input of at least 2 dimensions (N, C, ...), got input of size {list(input.shape)}"
        )
    c = input.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(
            f"Expected number of channels in input to be divisible by num_groups, but got input of "
            f"shape {list(input.shape)} and num_groups={num_groups}"
        )
    if input.numel() // num_groups == 1:  # torch's check (it counts N*C/G*L, not the size of one group)
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise RuntimeError(f"{op}: expected {name} of shape [{c}], but got {list(t.shape)}")
    params = [t for t in (weight, bias) if t is not None]
    return GroupNorm(int(num_groups), eps, weight is not None, bias is not None)(input, *params)


__all__ = exports(__name__)
