"""More losses and the similarity functions they use, written as their formulas over differentiable ops.

Each loss first computes one value per element (or per sample), then applies torch's ``reduction``:
``'none'`` keeps them, ``'sum'`` adds them, ``'mean'`` averages them. Because every step is an op with
its own gradient, the gradient of the loss is exact, and the code reads like the formula in torch's
documentation:

* ``kl_div(input, target)`` = ``target * (log target - input)`` (``input`` holds log-probabilities);
* ``margin_ranking_loss`` = ``max(0, -y * (x1 - x2) + margin)``;
* ``cosine_embedding_loss`` = ``1 - cos(x1, x2)`` for ``y = 1``, ``max(0, cos(x1, x2) - margin)`` for ``y = -1``;
* ``soft_margin_loss`` = ``log(1 + exp(-y x))``; ``multilabel_soft_margin_loss`` its per-class average;
* ``poisson_nll_loss`` = ``exp(x) - t x``; ``gaussian_nll_loss`` = ``(log var + (x - t)^2 / var) / 2``;
* ``triplet_margin_loss`` = ``max(d(a, p) - d(a, n) + margin, 0)``, ``hinge_embedding_loss``.

float16 inputs are computed in float32 and the result rounded once, as torch does on the CPU.
"""

from __future__ import annotations

import functools
import math
import warnings

from .. import dtypes as _dt
from ..autograd.graph import Op
from ..compute import B
from ..tensor import Tensor
from .elementwise import clamp_min, exp, log, log1p, logsigmoid, minimum, sigmoid, where
from .losses import legacy_reduction
from .registry import declare, exports


def _half_in_float32(fn):
    """Run ``fn`` with float16 tensors cast to float32 and cast its result back to float16."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        half = any(isinstance(a, Tensor) and a.dtype is _dt.float16 for a in (*args, *kwargs.values()))
        if not half:
            return fn(*args, **kwargs)
        up = [a.float() if isinstance(a, Tensor) and a.dtype is _dt.float16 else a for a in args]
        kw = {k: (v.float() if isinstance(v, Tensor) and v.dtype is _dt.float16 else v) for k, v in kwargs.items()}
        return fn(*up, **kw).half()

    return wrapper


def _tensor(op: str, x, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")
    return x


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduction(size_average, reduce, reduction: str) -> str:
    reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _same_size(op: str, input: Tensor, target: Tensor) -> None:
    if tuple(input.shape) != tuple(target.shape):
        warnings.warn(
            f"{op}: Using a target size ({tuple(target.shape)}) that is different to the input size "
            f"({tuple(input.shape)}). This will likely lead to incorrect results due to broadcasting.",
            stacklevel=3,
        )


class PassGradient(Op):
    """``max(x, floor)`` whose gradient is passed through unchanged, clamped or not: torch clamps these
    values under ``no_grad`` (the variance of gaussian_nll_loss, the norms of cosine_similarity)."""

    saved = ()  # backward reads no input

    def __init__(self, floor):
        self.floor = floor

    def forward(self, x):
        return B.maximum(x, x.dtype.type(self.floor))

    def backward(self, grad):
        return grad


def _xlogy(t: Tensor) -> Tensor:
    """``t * log(t)``, 0 where ``t == 0`` (and no NaN gradient there)."""
    positive = t > 0
    return where(positive, t * log(where(positive, t, 1.0)), 0.0)


# ------------------------------------------------------------------ distributions and regression
@declare(method=False, functional=True, top_level=False)
@_half_in_float32
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence ``target * (log target - input)`` for log-probabilities ``input``;
    ``reduction='batchmean'`` divides the sum by the batch size (the mathematically correct mean)."""
    x, t = _tensor("kl_div", input, "input"), _tensor("kl_div", target, "target")
    if reduction == "mean" and size_average is None and reduce is None:
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support size."
            "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
            "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
            stacklevel=2,
        )
    loss = exp(t) * (t - x) if log_target else _xlogy(t) - t * x
    if reduction == "batchmean" and size_average is None and reduce is None:
        return loss.sum() / x.shape[0] if x.ndim else loss.sum()
    return _reduce(loss, _reduction(size_average, reduce, reduction))


@declare(method=False, functional=True, top_level=False)
@_half_in_float32
def poisson_nll_loss(
    input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None, reduction="mean"
):
    """Negative log-likelihood of ``target`` under a Poisson with rate ``exp(input)`` (``log_input``) or
    ``input``: ``exp(x) - t x`` or ``x - t log(x + eps)``; ``full`` adds Stirling's ``t log t - t + log(2 pi t)/2``."""
    x, t = _tensor("poisson_nll_loss", input, "input"), _tensor("poisson_nll_loss", target, "target")
    reduction = _reduction(size_average, reduce, reduction)
    loss = exp(x) - t * x if log_input else x - t * log(x + eps)
    if full:
        big = t > 1
        safe = where(big, t, 2.0)
        stirling = safe * log(safe) - safe + 0.5 * log(2 * math.pi * safe)
        loss = loss + where(big, stirling, 0.0)
    return _reduce(loss, reduction)


@declare(method=False, functional=True, top_level=False)
@_half_in_float32
def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Negative log-likelihood of ``target`` under a Gaussian of mean ``input`` and variance ``var``:
    ``(log var + (input - target)^2 / var) / 2`` (+ ``log(2 pi) / 2`` with ``full``); ``var`` is kept >= eps."""
    x, t = _tensor("gaussian_nll_loss", input, "input"), _tensor("gaussian_nll_loss", target, "target")
    v = (
        var
        if isinstance(var, Tensor)
        else Tensor._make(B.full(tuple(x.shape), float(var), x.array.dtype, like=x.array))
    )
    if tuple(v.shape) != tuple(x.shape):
        if tuple(x.shape[:-1]) == tuple(v.shape):
            v = v.unsqueeze(-1)  # one variance per sample, shared by its last dim
        elif not (tuple(x.shape[:-1]) == tuple(v.shape[:-1]) and v.shape[-1] == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    if bool((v.array < 0).any()):
        raise ValueError("var has negative entry/entries")
    v = PassGradient(eps)(v)
    loss = 0.5 * (log(v) + (x - t) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# ------------------------------------------------------------------ margins and classification
@declare(method=False, functional=True, top_level=False)
@_half_in_float32
def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """``max(0, -target * (input1 - input2) + margin)``: ``target = 1`` wants ``input1`` ranked higher."""
    x1, x2 = _tensor("margin_ranking_loss", input1, "input1"), _tensor("margin_ranking_loss", input2, "input2")
    y = _tensor("margin_ranking_loss", target, "target")
    if not (x1.ndim == x2.ndim == y.ndim):
        raise RuntimeError(
            f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {tuple(x1.shape)}, input2: {tuple(x2.shape)}, target: {tuple(y.shape)} "
        )
    reduction = _reduction(size_average, reduce, reduction)
    return _reduce(clamp_min(-y * (x1 - x2) + margin, 0), reduction)


@declare(method=False, functional=True, top_level=False)
@_half_in_float32
def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """``input`` where ``target == 1``, ``max(0, margin - input)`` where ``target == -1``."""
    x, y = _tensor("hinge_embedding_loss", input, "input"), _tensor("hinge_embedding_loss", target, "target")
    reduction = _reduction(size_average, reduce, reduction)
    below_margin = where(y != 1, clamp_min(margin - x, 0), 0.0)
    itself = where(y != -1, x, 0.0)
    return _reduce(below_margin + itself, reduction)


@declare(method=False, functional=True, top_level=False)
@_half_in_float32
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Two-class logistic loss ``log(1 + exp(-target * input))`` for targets of +1 / -1."""
    x, y = _tensor("soft_margin_loss", input, "input"), _tensor("soft_margin_loss", target, "target")
    if y.requires_grad:  # torch has no gradient for the target here
        raise RuntimeError(
            "The function 'soft_margin_loss' is not differentiable with respect to argument 'target'. "
            "This input cannot have requires_grad True."
        )
    _same_size("soft_margin_loss", x, y)
    reduction = _reduction(size_average, reduce, reduction)
    return _reduce(log1p(exp(-y * x)), reduction)


@declare(method=False, functional=True, top_level=False)
@_half_in_float32
def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """Per sample, the average over classes of the binary logistic loss of each class
    (``target`` holds 0 / 1 per class); ``weight`` scales each class."""
    x, y = (
        _tensor("multilabel_soft_margin_loss", input, "input"),
        _tensor("multilabel_soft_margin_loss", target, "target"),
    )
    reduction = _reduction(size_average, reduce, reduction)
    loss = -(y * logsigmoid(x) + (1 - y) * logsigmoid(-x))
    if weight is not None:
        loss = loss * weight
    class_dim = x.ndim - 1
    per_sample = loss.sum(dim=class_dim) / x.shape[class_dim]
    return _reduce(per_sample, reduction)


# ------------------------------------------------------------------ similarities and distances
@declare(method=False, functional=True)
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """``x1 . x2 / (max(||x1||, eps) max(||x2||, eps))`` along ``dim`` (inputs broadcast)."""
    a, b = _tensor("cosine_similarity", x1, "x1"), _tensor("cosine_similarity", x2, "x2")
    norm_a = PassGradient(eps)(a.norm(2, dim=dim, keepdim=True))
    norm_b = PassGradient(eps)(b.norm(2, dim=dim, keepdim=True))
    return ((a / norm_a) * (b / norm_b)).sum(dim=dim)


@declare(method=False, functional=True)
def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """``||x1 - x2 + eps||_p`` along the last dim (``eps`` keeps the gradient finite for equal vectors)."""
    a, b = _tensor("pairwise_distance", x1, "x1"), _tensor("pairwise_distance", x2, "x2")
    last = max(a.ndim, b.ndim) - 1
    return (a - b + eps).norm(p, dim=last if last >= 0 else None, keepdim=keepdim)


@declare(method=False, functional=True, top_level=False)
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """``input`` divided by its ``p``-norm along ``dim`` (kept at least ``eps``): e.g. unit-length rows."""
    if out is not None:
        raise NotImplementedError("normalize(): out= is not supported by minigrad; use the returned tensor")
    x = _tensor("normalize", input, "input")
    return x / clamp_min(x.norm(p, dim=dim, keepdim=True), eps)


@declare(method=False, functional=True, top_level=False)
@_half_in_float32
def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """``1 - cos(x1, x2)`` where ``target == 1``, ``max(0, cos(x1, x2) - margin)`` where ``target == -1``."""
    x1, x2 = _tensor("cosine_embedding_loss", input1, "input1"), _tensor("cosine_embedding_loss", input2, "input2")
    y = _tensor("cosine_embedding_loss", target, "target")
    if x1.ndim not in (1, 2) or x1.ndim != x2.ndim or y.ndim != x1.ndim - 1:
        raise RuntimeError(
            f"cosine_embedding_loss: expected 1D/2D inputs of one rank with a target of one rank less, got "
            f"input1 {tuple(x1.shape)}, input2 {tuple(x2.shape)}, target {tuple(y.shape)}"
        )
    reduction = _reduction(size_average, reduce, reduction)
    eps = 1e-12  # torch's: keeps the denominator of cos away from 0
    dim = x1.ndim - 1
    dot = (x1 * x2).sum(dim=dim)
    cos = dot / ((x1 * x1).sum(dim=dim) + eps).mul((x2 * x2).sum(dim=dim) + eps).sqrt()
    positive = where(y == 1, 1 - cos, 0.0)
    negative = where(y == -1, clamp_min(cos - margin, 0), 0.0)
    return _reduce(positive + negative, reduction)


@declare(method=False, functional=True, top_level=False)
@_half_in_float32
def triplet_margin_loss(
    anchor,
    positive,
    negative,
    margin=1.0,
    p=2,
    eps=1e-6,
    swap=False,
    size_average=None,
    reduce=None,
    reduction="mean",
):
    """``max(d(anchor, positive) - d(anchor, negative) + margin, 0)`` with the pairwise ``p``-distance ``d``;
    ``swap`` uses the smaller of ``d(anchor, negative)`` and ``d(positive, negative)``."""
    a = _tensor("triplet_margin_loss", anchor, "anchor")
    pos, neg = (
        _tensor("triplet_margin_loss", positive, "positive"),
        _tensor("triplet_margin_loss", negative, "negative"),
    )
    if not (a.ndim == pos.ndim == neg.ndim) or a.ndim not in (1, 2):
        raise RuntimeError(
            f"The anchor, positive, and negative tensors are expected to have the same number of dimensions "
            f"(1D or 2D), but got: anchor {a.ndim}D, positive {pos.ndim}D, and negative {neg.ndim}D inputs"
        )
    reduction = _reduction(size_average, reduce, reduction)
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(pos, neg, p, eps))
    return _reduce(clamp_min(margin + d_pos - d_neg, 0), reduction)


# ------------------------------------------------------------------ layers' functions
@declare(method=False, functional=True, top_level=False)
def glu(input, dim=-1):
    """Gated linear unit: the first half of ``input`` along ``dim`` times the sigmoid of the second half."""
    x = _tensor("glu", input, "input")
    if x.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    if not x.is_floating_point():
        raise NotImplementedError(f"glu: not implemented for {x.dtype} (a floating point tensor is needed)")
    n = x.shape[dim]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % x.ndim} is size {n}")
    a, b = x.chunk(2, dim)
    return a * sigmoid(b)


@declare(method=False, functional=True)
def bilinear(input1, input2, weight, bias=None):
    """``out[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] (+ bias[o])``."""
    from .linalg import einsum

    x1, x2 = _tensor("bilinear", input1, "input1"), _tensor("bilinear", input2, "input2")
    w = _tensor("bilinear", weight, "weight")
    if w.ndim != 3 or x1.shape[-1] != w.shape[1] or x2.shape[-1] != w.shape[2]:
        raise RuntimeError(
            f"bilinear(): weight of shape {tuple(w.shape)} does not fit input1 {tuple(x1.shape)} "
            f"and input2 {tuple(x2.shape)} (expected (out, {x1.shape[-1]}, {x2.shape[-1]}))"
        )
    if tuple(x1.shape[:-1]) != tuple(x2.shape[:-1]):
        raise RuntimeError(
            f"bilinear(): input1 and input2 must have the same leading dims, got {tuple(x1.shape)} and "
            f"{tuple(x2.shape)}"
        )
    out = einsum("...i,oij,...j->...o", x1, w, x2)
    return out if bias is None else out + bias


__all__ = exports(__name__)
