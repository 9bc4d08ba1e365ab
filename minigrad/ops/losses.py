"""Loss functions as fused ops, each with a hand-written backward.

A loss built from small ops (``log``, ``softmax``, indexing, ``mean``) would work, but it stores
every intermediate and can overflow: ``exp(1e4)`` is ``inf``. Fusing gives stable formulas and
short backward passes:

* **cross-entropy** uses log-sum-exp, ``log p_c = x_c - (m + log sum_j exp(x_j - m))`` with
  ``m = max_j x_j``, and its gradient with respect to the logits is ``softmax(x) - onehot(y)``
  (scaled by the class weight and the reduction), generalised below for label smoothing;
* **BCE with logits** uses ``max(x, 0) - x*t + log1p(exp(-|x|))``: no ``exp`` of a large positive number.

Reductions follow torch: ``'none'`` (one value per element or sample), ``'sum'``, and ``'mean'``,
where a *weighted* class-index mean divides by the sum of the weights of the (non-ignored) targets.
"""

from __future__ import annotations

import warnings

from ..autograd.graph import Op
from ..compute import B
from ..tensor import Tensor
from ._util import check_same_device, operands
from .reduce import float16_math_in_float32
from .reduce import mean as _mean
from .reduce import sum as _sum
from .registry import REGISTRY, declare, exports

_REDUCTIONS = ("none", "mean", "sum")


def legacy_reduction(size_average, reduce, reduction: str) -> str:
    """Map torch's deprecated ``size_average``/``reduce`` flags onto ``reduction``."""
    if size_average is None and reduce is None:
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{reduction} is not a valid value for reduction")
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _reduce(loss, reduction: str):
    """Sum or average an array of per-element losses (the mean of nothing is nan, as in torch).

    float16 losses arrive here in float32 (see ``float16_math_in_float32``): summed and divided there.
    """
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return B.asarray(total, like=loss)
    if loss.size == 0:
        return B.asarray(float("nan"), dtype=loss.dtype, like=loss)
    return B.asarray(total / loss.dtype.type(loss.size), like=loss)


def _upstream(grad, reduction: str, n):
    """The gradient reaching each element: ``grad`` itself (none), broadcast (sum), or divided by ``n`` (mean)."""
    if reduction == "mean":
        return grad / grad.dtype.type(n) if n else grad * 0  # an empty input gets an empty gradient anyway
    return grad


# ------------------------------------------------------------------ regression losses
@float16_math_in_float32
class _Pointwise(Op):
    """Base of the losses that depend on ``d = input - target`` only: ``dL/dinput = -dL/dtarget``."""

    def __init__(self, reduction):
        self.reduction = reduction

    def forward(self, x, t):
        self.d = x - t
        return _reduce(self.elementwise(self.d), self.reduction)

    def backward(self, grad):
        g = _upstream(grad, self.reduction, self.d.size) * self.derivative(self.d)
        gx, gt = self.needs_input_grad
        return (g if gx else None), (-g if gt else None)


class MSELoss(_Pointwise):
    """``(x - t)^2``; derivative ``2 (x - t)``."""

    def elementwise(self, d):
        return d * d

    def derivative(self, d):
        return 2 * d


class L1Loss(_Pointwise):
    """``|x - t|``; derivative ``sign(x - t)`` (0 at 0, as in torch)."""

    def elementwise(self, d):
        return B.abs(d)

    def derivative(self, d):
        return B.sign(d)


class SmoothL1Loss(_Pointwise):
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``: quadratic near 0, linear far away."""

    def __init__(self, reduction, beta):
        super().__init__(reduction)
        self.beta = beta

    def elementwise(self, d):
        b = self.beta
        ad = B.abs(d)
        if b == 0:
            return ad
        return B.where(ad < b, (0.5 / b) * d * d, ad - 0.5 * b)

    def derivative(self, d):
        b = self.beta
        if b == 0:
            return B.sign(d)
        return B.where(B.abs(d) < b, d / d.dtype.type(b), B.sign(d))


class HuberLoss(_Pointwise):
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)`` (= delta * SmoothL1 with beta=delta)."""

    def __init__(self, reduction, delta):
        super().__init__(reduction)
        self.delta = delta

    def elementwise(self, d):
        c = self.delta
        ad = B.abs(d)
        return B.where(ad < c, 0.5 * d * d, c * (ad - 0.5 * c))

    def derivative(self, d):
        c = self.delta
        # clip(d, -c, c), with the constant taken at |d| = c: differentiated again, it is 0 there, as torch's
        return B.where(B.abs(d) < c, d, c * B.sign(d))


def _pointwise(name, op, input, target):
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise TypeError(f"{name}(): input and target must be Tensors")
    if tuple(input.shape) != tuple(target.shape):
        warnings.warn(
            f"{name}(): using a target size ({target.shape}) that is different to the input size ({input.shape}). "
            "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.",
            stacklevel=3,
        )
    x, t = operands(name, input, target)
    if x.array.dtype.kind != "f":
        raise RuntimeError(f"{name}(): expected floating-point input and target, got {input.dtype} and {target.dtype}")
    try:
        return op(x, t)
    except ValueError as e:
        if "broadcast" in str(e):
            raise RuntimeError(
                f"{name}(): input of shape {tuple(input.shape)} and target of shape "
                f"{tuple(target.shape)} are not broadcastable"
            ) from None
        raise


@declare(method=False, functional=True, top_level=False, autocast="float32")
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error ``(input - target)^2``, reduced; ``weight`` (the input's shape) scales each element,
    and then ``'mean'`` divides by the sum of the weights."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if weight is None:
        return _pointwise("mse_loss", MSELoss(reduction), input, target)
    loss = _pointwise("mse_loss", MSELoss("none"), input, target)
    return _weighted("mse_loss", loss, weight, input, reduction, mean_over_weights=True)


@declare(method=False, functional=True, top_level=False, autocast="float32")
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error ``|input - target|``, reduced; ``weight`` as in :func:`mse_loss`."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if weight is None:
        return _pointwise("l1_loss", L1Loss(reduction), input, target)
    loss = _pointwise("l1_loss", L1Loss("none"), input, target)
    return _weighted("l1_loss", loss, weight, input, reduction, mean_over_weights=True)


@declare(method=False, functional=True, top_level=False, autocast="float32")
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss(): beta must be non-negative, got {beta}")
    op = SmoothL1Loss(legacy_reduction(size_average, reduce, reduction), float(beta))
    return _pointwise("smooth_l1_loss", op, input, target)


@declare(method=False, functional=True, top_level=False, autocast="float32")
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Huber loss, reduced; ``weight`` (the input's shape) scales each element, and ``'mean'`` stays the plain
    mean of the weighted losses (torch's choice, unlike :func:`mse_loss`)."""
    if delta <= 0:
        raise RuntimeError(f"huber_loss(): delta must be positive, got {delta}")
    reduction = legacy_reduction(None, None, reduction)
    if weight is None:
        return _pointwise("huber_loss", HuberLoss(reduction, float(delta)), input, target)
    loss = _pointwise("huber_loss", HuberLoss("none", float(delta)), input, target)
    return _weighted("huber_loss", loss, weight, input, reduction, mean_over_weights=False)


def _weighted(name, loss, weight, input, reduction, mean_over_weights):
    """Per-element losses times ``weight``, reduced; composed of ops, so a weight that requires grad gets
    its gradient, as in torch."""
    if not isinstance(weight, Tensor):
        raise TypeError(f"{name}(): weight must be a Tensor or None, got {type(weight).__name__}")
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(f"{name}(): Weights and input must have the same size.")
    weighted = loss * weight
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return _sum(weighted)
    return _sum(weighted) / _sum(weight) if mean_over_weights else _mean(weighted)


# ------------------------------------------------------------------ binary cross-entropy
def _const(w, name, fn, ref: Tensor):
    """A weight tensor as a raw array of ``ref``'s dtype; torch does not differentiate loss weights."""
    if w is None:
        return None
    if not isinstance(w, Tensor):
        raise TypeError(f"{fn}(): {name} must be a Tensor or None, got {type(w).__name__}")
    if w.requires_grad:
        raise RuntimeError(
            f"The function '{fn}' is not differentiable with respect to argument '{name}'. "
            "This input cannot have requires_grad True."
        )
    check_same_device(fn, ref, w)
    return w.array.astype(ref.array.dtype, copy=False)


@float16_math_in_float32
class BinaryCrossEntropy(Op):
    """``-w (t log x + (1 - t) log(1 - x))`` for probabilities ``x``; each log is clamped at -100 like torch."""

    def __init__(self, reduction, weight=None):
        self.reduction, self.weight = reduction, weight

    def forward(self, x, t):
        with B.errstate(divide="ignore", invalid="ignore"):  # log(0) is clamped right after
            self.logx = B.maximum(B.log(x), -100)
            self.log1mx = B.maximum(B.log1p(-x), -100)
        self.x, self.t = x, t
        loss = -(t * self.logx + (1 - t) * self.log1mx)
        if self.weight is not None:
            loss = loss * self.weight
        self.n = loss.size
        return _reduce(loss, self.reduction)

    def backward(self, grad):
        g = _upstream(grad, self.reduction, self.n)
        if self.weight is not None:
            g = g * self.weight
        x, t = self.x, self.t
        gx_needed, gt_needed = self.needs_input_grad
        # torch keeps its epsilon as a float32 constant, so 1e-12 is rounded to float32 before use
        eps = x.dtype.type(B.float32(1e-12))
        gx = g * (x - t) / B.maximum((1 - x) * x, eps) if gx_needed else None
        gt = None
        if gt_needed:  # torch differentiates the target through the *unclamped* logs
            with B.errstate(divide="ignore", invalid="ignore"):
                gt = g * (B.log1p(-x) - B.log(x))
        return gx, gt


@float16_math_in_float32
class BinaryCrossEntropyWithLogits(Op):
    """BCE on logits ``x``: ``w [(1 - t) x + (1 + (pw - 1) t) softplus(-x)]``.

    ``softplus(-x) = log(1 + exp(-x))`` is computed as ``max(-x, 0) + log1p(exp(-|x|))``, which never
    overflows; without ``pos_weight`` (pw = 1) the loss is ``max(x, 0) - x t + log1p(exp(-|x|))``.
    The gradient is ``w [(1 + (pw - 1) t) sigmoid(x) - pw t]``, i.e. ``w (sigmoid(x) - t)`` when pw = 1.
    """

    def __init__(self, reduction, weight=None, pos_weight=None):
        self.reduction, self.weight, self.pos_weight = reduction, weight, pos_weight

    def forward(self, x, t):
        self.x, self.t = x, t
        self.sp = B.maximum(-x, 0) + B.log1p(B.exp(-B.abs(x)))  # softplus(-x), stable
        if self.pos_weight is None:
            loss = (1 - t) * x + self.sp
        else:
            loss = (1 - t) * x + ((self.pos_weight - 1) * t + 1) * self.sp
        if self.weight is not None:
            loss = loss * self.weight
        self.n = loss.size
        return _reduce(loss, self.reduction)

    def backward(self, grad):
        g = _upstream(grad, self.reduction, self.n)
        if self.weight is not None:
            g = g * self.weight
        x, t, pw = self.x, self.t, self.pos_weight
        gx_needed, gt_needed = self.needs_input_grad
        gx = gt = None
        if gx_needed:
            sig = B.exp(-self.sp)  # sigmoid(x) = exp(-softplus(-x)): accurate and never overflowing
            gx = g * (sig - t) if pw is None else g * (((pw - 1) * t + 1) * sig - pw * t)
        if gt_needed:
            gt = g * (-x if pw is None else (pw - 1) * self.sp - x)
        return gx, gt


def _check_same_size(fn, input, target):
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"{fn}(): Using a target size ({target.shape}) that is different to the input size ({input.shape}) "
            "is deprecated. Please ensure they have the same size."
        )


def _broadcast_weight(fn, w, name, shape):
    if w is None:
        return None
    try:
        return B.broadcast_to(w, shape)
    except ValueError:
        raise RuntimeError(
            f"{fn}(): {name} of shape {tuple(w.shape)} does not broadcast to the input's shape {tuple(shape)}"
        ) from None


@declare(method=False, functional=True, top_level=False)
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """Binary cross-entropy for probabilities ``input`` in [0, 1] (e.g. after a sigmoid)."""
    fn = "binary_cross_entropy"
    red = legacy_reduction(size_average, reduce, reduction)
    _check_same_size(fn, input, target)
    x, t = operands(fn, input, target)
    if x.array.dtype.kind != "f":
        raise RuntimeError(f"{fn}(): expected floating-point input and target, got {input.dtype} and {target.dtype}")
    arr = x.array
    if arr.size and (bool((arr < 0).any()) or bool((arr > 1).any()) or bool(B.isnan(arr).any())):
        raise RuntimeError(
            f"{fn}(): all elements of input should be between 0 and 1 (apply a sigmoid first, or use "
            "binary_cross_entropy_with_logits on the raw scores)"
        )
    w = _broadcast_weight(fn, _const(weight, "weight", fn, x), "weight", arr.shape)
    return BinaryCrossEntropy(red, w)(x, t)


@declare(method=False, functional=True, autocast="float32")
def binary_cross_entropy_with_logits(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None
):
    """Sigmoid + binary cross-entropy in one stable step, on raw scores (logits).

    ``pos_weight`` (broadcast along the last dim, one value per class) scales the loss of positive targets.
    """
    fn = "binary_cross_entropy_with_logits"
    red = legacy_reduction(size_average, reduce, reduction)
    _check_same_size(fn, input, target)
    x, t = operands(fn, input, target)
    if x.array.dtype.kind != "f":
        raise RuntimeError(f"{fn}(): expected floating-point input and target, got {input.dtype} and {target.dtype}")
    w = _broadcast_weight(fn, _const(weight, "weight", fn, x), "weight", x.array.shape)
    pw = _broadcast_weight(fn, _const(pos_weight, "pos_weight", fn, x), "pos_weight", x.array.shape)
    return BinaryCrossEntropyWithLogits(red, w, pw)(x, t)


# ------------------------------------------------------------------ cross-entropy and NLL
def _rows(a, C):
    """``(N, C, d1, ...)`` -> ``(M, C)`` with the class axis last; ``(C,)`` -> ``(1, C)``."""
    if a.ndim == 1:
        return a.reshape(1, C)
    return B.moveaxis(a, 1, -1).reshape(-1, C)


def _unrows(g, shape):
    """Inverse of :func:`_rows`: ``(M, C)`` back to ``shape``."""
    if len(shape) == 1:
        return g.reshape(shape)
    moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    return B.moveaxis(g.reshape(moved), -1, 1)


def _log_softmax_rows(x):
    """``log_softmax`` of each row of ``x`` ``(M, C)``: ``z - log(s)`` (see ``B.shifted_exp_rows``)."""
    z, _, s = B.shifted_exp_rows(x)
    return z - B.log(s)


@float16_math_in_float32
class ClassIndexNLL(Op):
    """Negative log-likelihood of class-index targets, on logits (``from_logits``: cross-entropy) or log-probs.

    Per sample ``i`` with target ``y_i`` (ignored samples contribute 0)::

        loss_i = (1 - eps) * (-w[y_i] * logp[i, y_i]) + (eps / C) * (-sum_c w[c] * logp[i, c])

    ``'mean'`` divides the sum by ``sum_i w[y_i]`` over non-ignored samples (their count without weights).
    Backward: ``A = dL/dlogp`` has ``-(1 - eps) w[y_i] g_i`` at the target and ``-(eps / C) w[c] g_i`` in
    every column; for logits, ``dL/dx = A - softmax(x) * rowsum(A)`` (= ``g_i (softmax - onehot)`` plainly).
    """

    def __init__(self, target, weight, ignore_index, smoothing, reduction, from_logits):
        self.target, self.weight, self.ignore_index = target, weight, ignore_index
        self.eps, self.reduction, self.from_logits = smoothing, reduction, from_logits
        if from_logits:  # backward reads the softmax it kept, not the logits: writing into them is allowed (torch)
            self.saved = ()

    def forward(self, x):
        C = x.shape[0] if x.ndim == 1 else x.shape[1]
        self.shape, self.C = x.shape, C
        rows = _rows(x, C)
        t = self.target.reshape(-1)
        valid = t != self.ignore_index
        tt = B.where(valid, t, 0)
        M = t.shape[0]
        dt = x.dtype
        wrow = valid.astype(dt) if self.weight is None else self.weight[tt] * valid
        if self.from_logits:
            # log_softmax = z - lse is never built whole: the loss needs only the target's entry, and
            # backward needs softmax = e / s (one pass fewer each way than materialising log-probs)
            z, e, s = B.shifted_exp_rows(rows)  # z = x - rowmax, e = exp(z), s = rowsum(e)
            lse = B.log(s)[:, 0]
            picked = z[B.arange(M, like=z), tt] - lse if M else B.zeros(0, dt, like=x)
            self.soft = (e, s)
        else:
            picked = rows[B.arange(M, like=rows), tt] if M else B.zeros(0, dt, like=x)
        loss = -wrow * picked
        if self.eps:
            if self.from_logits:  # sum_c w_c logp_c = sum_c w_c z_c - lse * sum_c w_c
                total_w = C if self.weight is None else self.weight.sum()
                zw = z.sum(axis=1) if self.weight is None else (z * self.weight).sum(axis=1)
                smooth = -(zw - lse * total_w) * valid
            else:
                smooth = -(rows.sum(axis=1) if self.weight is None else (rows * self.weight).sum(axis=1)) * valid
            loss = (1 - self.eps) * loss + (self.eps / C) * smooth
        self.tt, self.valid, self.wrow, self.dt = tt, valid, wrow, dt
        if self.reduction == "none":
            return loss.reshape(self.target.shape)
        total = loss.sum()
        if self.reduction == "sum":
            return B.asarray(total, dtype=dt, like=x)
        self.den = wrow.sum()
        return B.asarray(total / self.den if self.den != 0 else float("nan"), dtype=dt, like=x)

    def backward(self, grad):
        tt, M, C = self.tt, self.tt.shape[0], self.C
        if self.reduction == "none":
            g = grad.reshape(-1)
        elif self.reduction == "sum":
            g = B.broadcast_to(grad, (M,))
        elif self.den == 0:  # every target ignored: the loss is nan, but no sample passes a gradient back
            g = B.zeros((M,), dtype=grad.dtype, like=grad)
        else:
            g = B.broadcast_to(grad / self.den, (M,))
        # A = dL/dlogp: -(1 - eps) w[y_i] g_i at the target, -(eps / C) w[c] g_i in every column
        at_target = -(1 - self.eps) * self.wrow * g
        col = (-(self.eps / C) * g * self.valid)[:, None] if self.eps else None
        if self.from_logits:  # dL/dx = A - softmax * rowsum(A), without building A first
            e, s = self.soft
            rowsum = at_target[:, None]
            if col is not None:
                rowsum = rowsum + col * (C if self.weight is None else self.weight.sum())
            A = e * (-rowsum / s)
        else:
            A = B.zeros((M, C), dtype=self.dt, like=grad)
        if M:
            A[B.arange(M, like=A), tt] += at_target
        if col is not None:
            A += col if self.weight is None else col * self.weight
        return _unrows(A, self.shape)


@float16_math_in_float32
class SoftTargetCrossEntropy(Op):
    """Cross-entropy with class *probabilities* as targets: ``loss_i = -sum_c w[c] t[i, c] logsoftmax(x)[i, c]``.

    Label smoothing mixes the targets with the uniform distribution first: ``t <- (1 - eps) t + eps / C``.
    ``'mean'`` divides by the number of samples (weights do not enter the denominator here, as in torch).
    """

    def __init__(self, weight, smoothing, reduction):
        self.weight, self.eps, self.reduction = weight, smoothing, reduction

    def forward(self, x, target):
        C = x.shape[0] if x.ndim == 1 else x.shape[1]
        self.shape, self.C = x.shape, C
        logp = _log_softmax_rows(_rows(x, C))
        t = _rows(target, C)
        if self.eps:
            t = (1 - self.eps) * t + self.eps / C
        wt = t if self.weight is None else t * self.weight
        loss = -(logp * wt).sum(axis=1)
        self.logp, self.wt, self.M = logp, wt, loss.shape[0]
        if self.reduction == "none":
            return loss.reshape(self.shape[:1] + self.shape[2:] if x.ndim > 1 else ())
        total = loss.sum()
        if self.reduction == "sum":
            return B.asarray(total, dtype=x.dtype, like=x)
        return B.asarray(total / x.dtype.type(self.M) if self.M else float("nan"), dtype=x.dtype, like=x)

    def backward(self, grad):
        if self.reduction == "none":
            g = grad.reshape(-1, 1)
        elif self.reduction == "sum":
            g = grad
        else:
            g = _upstream(grad, "mean", self.M)
        gx_needed, gt_needed = self.needs_input_grad
        gx = gt = None
        if gx_needed:
            A = -g * self.wt
            A -= B.exp(self.logp) * A.sum(axis=1, keepdims=True)
            gx = _unrows(A, self.shape)
        if gt_needed:
            gl = -g * self.logp * (1 - self.eps)
            if self.weight is not None:
                gl = gl * self.weight
            gt = _unrows(gl, self.shape)
        return gx, gt


def _class_index_target(fn, input, target, ignore_index):
    """Validate the shapes (input ``(N, C, *)`` or ``(C,)``, target ``(N, *)`` or ``()``) and the class range."""
    if input.ndim == 0:
        raise ValueError(f"{fn}(): input must have at least 1 dimension (the classes), got a 0-d tensor")
    expected = () if input.ndim == 1 else tuple(input.shape[:1]) + tuple(input.shape[2:])
    if tuple(target.shape) != expected:
        if input.ndim >= 2 and target.ndim >= 1 and target.shape[0] != input.shape[0]:
            raise ValueError(
                f"Expected input batch_size ({input.shape[0]}) to match target batch_size ({target.shape[0]})."
            )
        raise RuntimeError(
            f"{fn}(): expected target of shape {list(expected)} for input of shape "
            f"{list(input.shape)}, got {list(target.shape)}"
        )
    C = input.shape[0] if input.ndim == 1 else input.shape[1]
    t = target.array
    if t.size:
        bad = (t != ignore_index) & ((t < 0) | (t >= C))
        if bool(bad.any()):
            value = int(t[bad].reshape(-1)[0])
            raise IndexError(
                f"Target {value} is out of bounds ({fn}: {C} classes, valid targets are 0..{C - 1}"
                f" or ignore_index={ignore_index})."
            )
    return t


def _class_weight(fn, weight, input):
    C = input.shape[0] if input.ndim == 1 else input.shape[1]
    w = _const(weight, "weight", fn, input)
    if w is not None and tuple(w.shape) != (C,):
        raise RuntimeError(
            f"{fn}(): weight tensor should be defined either for all {C} classes or no classes "
            f"but got weight tensor of shape: {list(w.shape)}"
        )
    return w


@declare(method=False, functional=True, top_level=False, autocast="float32")
def cross_entropy(
    input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean", label_smoothing=0.0
):
    """Cross-entropy between logits ``input`` (``(N, C)``, ``(N, C, L...)`` or ``(C,)``) and ``target``.

    ``target`` holds class indices (integer, shape ``(N,)``/``(N, L...)``; ``ignore_index`` marks samples
    to skip) or class probabilities (floating point, same shape as ``input``).
    """
    fn = "cross_entropy"
    red = legacy_reduction(size_average, reduce, reduction)
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise TypeError(f"{fn}(): input and target must be Tensors")
    if input.array.dtype.kind != "f":
        raise RuntimeError(f"{fn}(): expected floating-point logits, got {input.dtype}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    check_same_device(fn, input, target)
    w = _class_weight(fn, weight, input)
    if target.array.dtype.kind == "f":
        if tuple(target.shape) != tuple(input.shape):
            raise RuntimeError(
                f"{fn}(): probability targets must have the input's shape {list(input.shape)}, got {list(target.shape)}"
            )
        x, t = operands(fn, input, target)
        return SoftTargetCrossEntropy(w, float(label_smoothing), red)(x, t)
    if target.array.dtype.kind not in "iu":
        raise RuntimeError(
            f"{fn}(): expected target of integer class indices (Long) or float probabilities, got {target.dtype}"
        )
    t = _class_index_target(fn, input, target, ignore_index)
    return ClassIndexNLL(t, w, ignore_index, float(label_smoothing), red, True)(input)


@declare(method=False, functional=True, top_level=False, autocast="float32")
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood for log-probabilities ``input`` (e.g. from ``log_softmax``) and class indices."""
    fn = "nll_loss"
    red = legacy_reduction(size_average, reduce, reduction)
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise TypeError(f"{fn}(): input and target must be Tensors")
    if input.array.dtype.kind != "f":
        raise RuntimeError(f"{fn}(): expected floating-point log-probabilities, got {input.dtype}")
    if target.array.dtype.kind not in "iu":
        raise RuntimeError(f"{fn}(): expected target of integer class indices (Long), got {target.dtype}")
    check_same_device(fn, input, target)
    w = _class_weight(fn, weight, input)
    t = _class_index_target(fn, input, target, ignore_index)
    return ClassIndexNLL(t, w, ignore_index, 0.0, red, False)(input)


# torch has the losses except binary_cross_entropy_with_logits only in nn.functional (declared top_level=False);
# minigrad.<name> keeps them for existing code, and nn.functional imports them from minigrad.ops
_FUNCTIONAL_ONLY = [n for n, d in REGISTRY.items() if d.module == __name__ and not d.top_level]
__all__ = exports(__name__) + _FUNCTIONAL_ONLY
