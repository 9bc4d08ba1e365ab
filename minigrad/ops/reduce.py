"""Reductions (sum, mean, var, max, logsumexp, prod, norm...), scans (cumsum) and softmax.

A reduction over ``dim`` (an int, a tuple of ints, or None for every dimension) removes those
dimensions unless ``keepdim=True``. Its backward pass is the mirror image: it puts the removed
dimensions back as size-1 axes and broadcasts the gradient over them (see :func:`_expand`).

Sums and means go through ``B.accurate_sum`` / ``B.accurate_mean``: NumPy's own in the reference
backend; the fast backend keeps float32 sums accurate along non-contiguous axes and uses threads.
"""

from __future__ import annotations

import builtins
import math
import numbers
from collections import namedtuple

from .. import dtypes as _dt
from ..autograd.graph import Op
from ..compute import B
from ..tensor import Tensor
from ._util import normalize_dim, normalize_dims
from .registry import declare, declare_method, exports

# what max(x, dim) and min(x, dim) return, like torch.return_types.max / min
max_result = namedtuple("max", ["values", "indices"])
min_result = namedtuple("min", ["values", "indices"])


# ------------------------------------------------------------------ helpers
def _tensor(op: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    return x


def _axes(op: str, dim, ndim: int) -> tuple:
    """Reduced axes as a sorted tuple; ``None`` and ``()`` mean all. A 0-d tensor accepts dim 0 / -1 (no axis)."""
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        dim = None
    if isinstance(dim, (tuple, list)):
        seen = set()
        for d in dim:
            nd = normalize_dim(int(d), ndim, op)
            if nd in seen:
                raise RuntimeError(f"{op}: dim {nd} appears multiple times in the list of dims")
            seen.add(nd)
    axes = normalize_dims(dim, ndim, op)
    return axes if ndim else ()


def _count(shape, axes) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _keep(grad, shape, axes, keepdim):
    """Reshape a reduced gradient so it broadcasts against the input (size-1 axes where dims were removed)."""
    if keepdim or not axes:
        return grad
    kept = list(shape)
    for a in axes:
        kept[a] = 1
    return grad.reshape(kept)


def _expand(grad, shape, axes, keepdim):
    """The gradient of a reduction broadcast back to the input shape."""
    return B.broadcast_gradient(_keep(grad, shape, axes, keepdim), shape)


def _float_only(op: str, x: Tensor) -> None:
    if x.array.dtype.kind != "f":
        raise RuntimeError(
            f"{op}(): could not infer output dtype. Input dtype must be a floating point dtype, got {x.dtype}"
        )


def _cast(x: Tensor, dt) -> Tensor:
    from .convert import to_dtype

    return to_dtype(x, dt)


def _int_to_long(x: Tensor, dtype) -> Tensor:
    """sum/prod/cumsum accumulate bool and integers in int64, as torch does; ``dtype=`` overrides."""
    if dtype is not None:
        return _cast(x, dtype)
    if x.array.dtype.kind in "biu":
        return _cast(x, _dt.int64)
    return x


def _check_nonempty(op: str, x: Tensor, axes, full: bool) -> None:
    if x.array.size:
        return
    if full:
        raise RuntimeError(
            f"{op}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
            f"reduction dim with the 'dim' argument."
        )
    for a in axes:
        if x.shape[a] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {a} to have non-zero size.")


def float16_math_in_float32(op_class):
    """Class decorator: an op given float16 arrays computes in float32 and rounds its result once.

    torch accumulates its float16 reductions in float32 on the CPU: adding 70,000 ones in float16 itself
    stops at 2048 (where 1 is less than half a unit of the sum), and a mean's divisor 70000 is inf in
    float16. The backward pass runs in float32 too; the engine casts each gradient to its input's dtype.
    float32 and float64 arrays go straight to the op's own forward and backward.
    """
    forward, backward = op_class.forward, op_class.backward

    def forward_f32(self, *arrays):
        if not _any_half(arrays):
            return forward(self, *arrays)
        self.half = True
        out = forward(self, *[a.astype("float32") if _is_half(a) else a for a in arrays])
        with B.errstate(over="ignore"):  # a float32 result beyond float16's range is inf, as in torch
            return out.astype("float16")

    def backward_f32(self, grad):
        if getattr(self, "half", False):
            grad = grad.astype("float32")
        return backward(self, grad)

    op_class.forward, op_class.backward = forward_f32, backward_f32
    return op_class


def _is_half(a) -> bool:
    return a.dtype.char == "e"  # float16 in any byte order; cheaper than comparing dtypes (a hot path)


def _any_half(arrays) -> bool:
    for a in arrays:  # noqa: SIM110  (this module's own any() shadows the builtin)
        if a.dtype.char == "e":
            return True
    return False


# ------------------------------------------------------------------ sum, mean, var, std
@float16_math_in_float32
class Sum(Op):
    linear = True  # create_graph records its backward as a LinearMap
    saved = ()  # backward needs only the shape (so a second backward works, as in torch)

    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, x):
        self.shape = x.shape
        return B.accurate_sum(x, self.axes, self.keepdim)

    def backward(self, grad):
        return _expand(grad, self.shape, self.axes, self.keepdim)


@float16_math_in_float32
class Mean(Op):
    linear = True  # create_graph records its backward as a LinearMap
    saved = ()  # backward needs only the shape and the count

    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, x):
        self.shape = x.shape
        self.n = _count(x.shape, self.axes)
        return B.accurate_mean(x, self.axes, self.keepdim)  # the mean of nothing is NaN, as in torch

    def backward(self, grad):
        return _expand(grad / self.n if self.n else grad, self.shape, self.axes, self.keepdim)


@float16_math_in_float32
class Var(Op):
    """Sum of squared deviations from the mean divided by ``N - correction`` (1: Bessel's correction)."""

    def __init__(self, axes, keepdim, correction, sqrt):
        self.axes, self.keepdim, self.correction, self.sqrt = axes, keepdim, correction, sqrt
        self.saves_output = sqrt  # std's backward divides by the result

    def forward(self, x):
        n = _count(x.shape, self.axes)
        self.denom = builtins.max(n - self.correction, 0)
        with B.errstate(divide="ignore", invalid="ignore"):
            mu = x.sum(axis=self.axes, keepdims=True) / n if n else x.sum(axis=self.axes, keepdims=True) * math.nan
            self.dev = x - mu
            out = (self.dev * self.dev).sum(axis=self.axes, keepdims=self.keepdim) / x.dtype.type(self.denom)
            if self.sqrt:
                out = B.sqrt(out)
        self.out = out if self.sqrt else None  # only std's backward reads it
        return out

    def backward(self, grad):
        with B.errstate(divide="ignore", invalid="ignore"):
            g = grad / self.denom
            if self.sqrt:  # d sqrt(v) = dv / (2 sqrt(v)); where std is 0 torch's gradient is 0
                g = B.where(self.out == 0, 0, g / (2 * self.out))
            return 2 * self.dev * _keep(g, self.dev.shape, self.axes, self.keepdim)


@declare(autocast="float32")
def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum over ``dim`` (all dims when None). Bool and integer tensors sum to int64 unless ``dtype`` is given."""
    x = _int_to_long(_tensor("sum", input), dtype)
    return Sum(_axes("sum", dim, x.ndim), keepdim)(x)


@declare
def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Arithmetic mean over ``dim``; integer tensors need ``dtype=`` (an error otherwise, as in torch)."""
    x = _tensor("mean", input)
    if dtype is not None:
        x = _cast(x, dtype)
    _float_only("mean", x)
    return Mean(_axes("mean", dim, x.ndim), keepdim)(x)


def _correction(op: str, dim, unbiased, correction):
    if isinstance(dim, bool):  # var(x, False): the positional argument is `unbiased`
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise RuntimeError(f"{op}: cannot specify both 'unbiased' and 'correction'")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return dim, correction


@declare
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim`` with ``N - correction`` in the denominator (``unbiased=False`` is ``correction=0``)."""
    x = _tensor("var", input)
    _float_only("var", x)
    dim, c = _correction("var", dim, unbiased, correction)
    return Var(_axes("var", dim, x.ndim), keepdim, c, False)(x)


@declare
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation: the square root of :func:`var` (same arguments)."""
    x = _tensor("std", input)
    _float_only("std", x)
    dim, c = _correction("std", dim, unbiased, correction)
    return Var(_axes("std", dim, x.ndim), keepdim, c, True)(x)


# ------------------------------------------------------------------ max, min, amax, amin, argmax, argmin
class AMax(Op):
    """Max (or min) over ``axes``; the gradient is shared equally among tied extremes (torch's amax rule)."""

    saves_output = True  # torch's backward reads the result, so a write into it must raise there as here

    def __init__(self, axes, keepdim, largest, nan_wins=False):
        self.axes, self.keepdim, self.largest, self.nan_wins = axes, keepdim, largest, nan_wins

    def forward(self, x):
        out = x.max(axis=self.axes, keepdims=True) if self.largest else x.min(axis=self.axes, keepdims=True)
        self.mask = x == out
        if self.nan_wins and x.dtype.kind == "f":  # max(x) of a tensor holding NaN: the NaNs get the gradient
            self.mask = B.where(B.isnan(out), B.isnan(x), self.mask)
        return out if self.keepdim else out.reshape([s for i, s in enumerate(x.shape) if i not in self.axes])

    def backward(self, grad):
        mask = self.mask
        count = mask.sum(axis=self.axes, keepdims=True)
        return mask * (_keep(grad, mask.shape, self.axes, self.keepdim) / count)


class MaxDim(Op):
    """Max (or min) along one dim, remembering where it was; the gradient goes to that one element."""

    def __init__(self, axis, keepdim, largest):
        self.axis, self.keepdim, self.largest = axis, keepdim, largest

    def forward(self, x):
        self.shape = x.shape
        if x.ndim == 0:
            self.indices = B.zeros((), _dt.int64.np, like=x)
            return x.copy()
        ax = self.axis
        idx = (x.argmax(axis=ax) if self.largest else x.argmin(axis=ax)).astype(_dt.int64.np)
        idx = B.expand_dims(idx, ax)
        out = B.take_along_axis(x, idx, axis=ax)
        if not self.keepdim:
            idx, out = idx.squeeze(ax), out.squeeze(ax)
        self.indices = idx
        return out

    def backward(self, grad):
        if len(self.shape) == 0:
            return grad
        ax = self.axis
        g, idx = grad, self.indices
        if not self.keepdim:
            g, idx = B.expand_dims(g, ax), B.expand_dims(idx, ax)
        positions = B.arange(self.shape[ax], like=grad).reshape([-1 if i == ax else 1 for i in range(len(self.shape))])
        return B.where(positions == idx, g, 0)


def _max_like(name: str, largest: bool, input, dim, keepdim, other):
    x = _tensor(name, input)
    if isinstance(dim, Tensor) and other is None:
        dim, other = None, dim  # max(a, b): the element-wise maximum
    if other is not None:
        from .elementwise import maximum, minimum

        return maximum(x, other) if largest else minimum(x, other)
    if x.array.dtype.kind == "b" and dim is None:
        return any(x) if largest else all(x)
    if dim is None:
        _check_nonempty(name, x, (), True)
        return AMax(tuple(range(x.ndim)), False, largest, nan_wins=True)(x)
    axis = normalize_dim(dim, x.ndim, name)
    _check_nonempty(name, x, (axis,) if x.ndim else (), False)
    op = MaxDim(axis, keepdim, largest)
    values = op(x)
    result = max_result if largest else min_result
    return result(values, Tensor._make(op.indices))


@declare
def max(input, dim=None, keepdim=False, *, other=None):
    """``max(x)``: the largest value (ties share the gradient equally).
    ``max(x, dim, keepdim=False)``: a named tuple ``(values, indices)``; the gradient goes to the index.
    ``max(x, y)``: the element-wise :func:`maximum`."""
    return _max_like("max", True, input, dim, keepdim, other)


@declare
def min(input, dim=None, keepdim=False, *, other=None):
    """Like :func:`max`, for the smallest values."""
    return _max_like("min", False, input, dim, keepdim, other)


def _amax_like(name, largest, input, dim, keepdim):
    x = _tensor(name, input)
    axes = _axes(name, dim, x.ndim)
    _check_nonempty(name, x, axes, False)
    if x.array.size == 0 and not axes and x.ndim:
        return AMax((), keepdim, largest)(x)
    return AMax(axes, keepdim, largest)(x)


@declare
def amax(input, dim=(), keepdim=False):
    """Largest values over ``dim`` (all dims by default); tied maxima share the gradient equally."""
    return _amax_like("amax", True, input, dim, keepdim)


@declare
def amin(input, dim=(), keepdim=False):
    """Smallest values over ``dim``; tied minima share the gradient equally."""
    return _amax_like("amin", False, input, dim, keepdim)


def _arg(name: str, largest: bool, input, dim, keepdim):
    x = _tensor(name, input)
    a = x.array
    if dim is None:
        _check_nonempty(name, x, (), True)
        flat = a.reshape(-1)
        idx = B.asarray(flat.argmax() if largest else flat.argmin(), dtype=_dt.int64.np, like=a)
        return Tensor._make(idx.reshape((1,) * a.ndim) if keepdim else idx)
    axis = normalize_dim(dim, a.ndim, name)
    if a.ndim == 0:
        return Tensor._make(B.zeros((), _dt.int64.np, like=a))
    _check_nonempty(name, x, (axis,), False)
    idx = (a.argmax(axis=axis) if largest else a.argmin(axis=axis)).astype(_dt.int64.np)
    return Tensor._make(B.expand_dims(idx, axis) if keepdim else idx)


@declare
def argmax(input, dim=None, keepdim=False):
    """Index of the largest value (the first one on ties), over the flattened tensor when ``dim`` is None."""
    return _arg("argmax", True, input, dim, keepdim)


@declare
def argmin(input, dim=None, keepdim=False):
    """Index of the smallest value (the first one on ties)."""
    return _arg("argmin", False, input, dim, keepdim)


# ------------------------------------------------------------------ logsumexp, prod, cumsum
class LogSumExp(Op):
    """``log(sum(exp(x)))`` computed as ``m + log(sum(exp(x - m)))`` with ``m`` the max, so nothing overflows."""

    saves_output = True  # backward reads the result (torch saves it too)

    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, x):
        self.x = x
        if x.size == 0:
            m = B.zeros([1 if i in self.axes else s for i, s in enumerate(x.shape)], x.dtype, like=x)
        else:
            m = x.max(axis=self.axes, keepdims=True)
            m = B.where(B.isfinite(m), m, 0)  # all -inf (or an inf) in a slice: don't subtract it
        with B.errstate(divide="ignore", invalid="ignore"):
            out = B.log(B.exp(x - m).sum(axis=self.axes, keepdims=True)) + m
        self.out_k = out
        return out if self.keepdim else out.reshape([s for i, s in enumerate(x.shape) if i not in self.axes])

    def backward(self, grad):
        with B.errstate(divide="ignore", invalid="ignore"):  # inf - inf where a slice holds +inf: NaN, as in torch
            return _keep(grad, self.x.shape, self.axes, self.keepdim) * B.exp(self.x - self.out_k)


class Prod(Op):
    """Product over ``axes``. Its gradient is ``out / x`` except where x has zeros, so those are handled apart:
    with one zero in a slice only that element gets a gradient (the product of the others), with two none."""

    saves_output = True  # out / x: backward reads the result

    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, x):
        self.x = x
        self.out_k = x.prod(axis=self.axes, keepdims=True)
        return (
            self.out_k if self.keepdim else self.out_k.reshape([s for i, s in enumerate(x.shape) if i not in self.axes])
        )

    exact_at_zeros = False  # set on the node that create_graph runs when x has zeros (recorded_twin)

    def recorded_twin(self, inputs):
        """For create_graph: the node run again on its input, and over zeros a backward without division."""
        from ..autograd.recorded import rerun

        twin = rerun(self, inputs)
        twin.exact_at_zeros = bool((self.x == 0).any())
        return twin

    def backward(self, grad):
        x, axes = self.x, self.axes
        g = _keep(grad, x.shape, axes, self.keepdim)
        if self.exact_at_zeros:  # the zero-handling below is right to first order only: differentiated, it is not
            return g * _others_product(x, axes)
        zero = x == 0
        zeros = zero.sum(axis=axes, keepdims=True)
        safe = B.where(zero, 1, x)
        others = safe.prod(axis=axes, keepdims=True)  # product of the non-zero elements
        local = B.where(zeros == 0, self.out_k / safe, B.where((zeros == 1) & zero, others, 0))
        return g * local


def _others_product(x, axes):
    """For each element, the product of the *other* elements of its slice over ``axes``, with no division (so
    exact at zeros, and differentiable again): each slice repeated n times, its own place set to 1."""
    rest = [a for a in range(x.ndim) if a not in axes]
    order = rest + list(axes)
    moved = x.transpose(order)
    lead = moved.shape[: len(rest)]
    n = math.prod(moved.shape[len(rest) :])
    flat = moved.reshape(*lead, n)
    own = B.eye(n, dtype=bool, like=x)  # row i marks element i's place
    others = B.where(own, 1.0, flat[..., None, :]).prod(axis=-1)  # (..., n): n x the memory, used only here
    back = [order.index(a) for a in range(x.ndim)]
    return others.reshape(moved.shape).transpose(back)


@float16_math_in_float32
class CumSum(Op):
    linear = True  # create_graph records its backward as a LinearMap
    saved = ()  # backward needs only the axis (so cumsum_ may overwrite its input, as in torch)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return x.cumsum(axis=self.axis)

    def backward(self, grad):
        # each input element feeds every later output: the gradient is a reversed cumulative sum
        return B.flip(B.flip(grad, self.axis).cumsum(axis=self.axis), self.axis)


@declare
def logsumexp(input, dim=None, keepdim=False):
    """Numerically stable ``log(sum(exp(input), dim))``; ``dim=None`` reduces every dim."""
    from .elementwise import _float_input

    x = _float_input("logsumexp", input)
    return LogSumExp(_axes("logsumexp", dim, x.ndim), keepdim)(x)


@declare
def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product of the elements (over one ``dim`` if given); integers multiply in int64."""
    x = _int_to_long(_tensor("prod", input), dtype)
    if dim is None:
        return Prod(tuple(range(x.ndim)), False)(x)
    if isinstance(dim, (tuple, list)):
        raise TypeError("prod(): argument 'dim' must be int, not a tuple")
    return Prod(_axes("prod", dim, x.ndim), keepdim)(x)


@declare(inplace=True, keep_input=False)  # backward needs no input
def cumsum(input, dim, *, dtype=None):
    """Running sum along ``dim``: ``out[i] = x[0] + ... + x[i]``."""
    x = _int_to_long(_tensor("cumsum", input), dtype)
    axis = normalize_dim(dim, x.ndim, "cumsum")
    if x.ndim == 0:
        from .convert import clone

        return clone(x)
    return CumSum(axis)(x)


# ------------------------------------------------------------------ softmax, log_softmax
@float16_math_in_float32
class Softmax(Op):
    """``exp(x - max) / sum(exp(x - max))`` along one axis (shifting by the max changes nothing but overflow)."""

    saved = ()  # backward reads only its output, as torch's
    saves_output = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        m = x.max(axis=self.axis, keepdims=True) if x.size else 0
        e = B.exp(x - B.where(B.isfinite(m), m, 0) if x.size else x)
        with B.errstate(invalid="ignore"):  # a row of -inf only is 0/0 = NaN, as torch gives (without a warning)
            self.out = e / e.sum(axis=self.axis, keepdims=True)
        return self.out

    def backward(self, grad):
        y = self.out
        return y * (grad - (grad * y).sum(axis=self.axis, keepdims=True))


@float16_math_in_float32
class LogSoftmax(Op):
    """``x - logsumexp(x)`` along one axis."""

    saved = ()  # backward reads only its output, as torch's
    saves_output = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        if x.size:
            m = x.max(axis=self.axis, keepdims=True)
            shifted = x - B.where(B.isfinite(m), m, 0)
        else:
            shifted = x
        with B.errstate(divide="ignore", invalid="ignore"):
            self.out = shifted - B.log(B.exp(shifted).sum(axis=self.axis, keepdims=True))
        return self.out

    def backward(self, grad):
        return grad - B.exp(self.out) * grad.sum(axis=self.axis, keepdims=True)


def _softmax_input(name, input, dim, dtype):
    from .elementwise import _float_input

    x = _float_input(name, input)
    if dtype is not None:
        x = _cast(x, dtype)
    if dim is None:
        raise TypeError(f"{name}(): missing the 'dim' argument (the dimension to normalise over)")
    axis = normalize_dim(dim, x.ndim, name)
    return x, axis


def _third_is_dtype(stacklevel, dtype):
    """softmax's third parameter is ``_stacklevel`` (unused) in nn.functional but ``dtype`` in ``torch.softmax``
    and ``Tensor.softmax``: a dtype passed third is taken as the dtype."""
    return stacklevel if dtype is None and not isinstance(stacklevel, numbers.Integral) else dtype


@declare(method=False, functional=True, autocast="float32")
def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """Probabilities along ``dim``: positive and summing to 1. Stable for large logits."""
    x, axis = _softmax_input("softmax", input, dim, _third_is_dtype(_stacklevel, dtype))
    return Softmax(axis if x.ndim else None)(x)


@declare(method=False, functional=True, autocast="float32")
def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``log(softmax(x))`` computed directly (stable, no log of 0)."""
    x, axis = _softmax_input("log_softmax", input, dim, _third_is_dtype(_stacklevel, dtype))
    return LogSoftmax(axis if x.ndim else None)(x)


# ------------------------------------------------------------------ any, all, norm
def _logical_reduce(name: str, input, dim, keepdim):
    x = _tensor(name, input)
    a = x.array
    axes = _axes(name, dim, x.ndim)
    fn = a.any if name == "any" else a.all
    return Tensor._make(B.asarray(fn(axis=axes, keepdims=keepdim), like=a))


@declare
def any(input, dim=None, keepdim=False):
    """True where any element over ``dim`` is non-zero (bool result)."""
    return _logical_reduce("any", input, dim, keepdim)


@declare
def all(input, dim=None, keepdim=False):
    """True where every element over ``dim`` is non-zero (bool result)."""
    return _logical_reduce("all", input, dim, keepdim)


@float16_math_in_float32
class Norm(Op):
    """The vector p-norm ``(sum |x|^p)^(1/p)`` over ``axes``; p = inf / -inf give max / min of ``|x|``, p = 0
    counts non-zeros. Where the norm is 0 the gradient is taken as 0 (torch's choice)."""

    saves_output = True  # x / norm: backward reads the result

    def __init__(self, p, axes, keepdim):
        self.p, self.axes, self.keepdim = p, axes, keepdim

    def forward(self, x):
        p, axes = self.p, self.axes
        self.x = x
        a = B.abs(x)
        if _count(x.shape, axes) == 1 and p not in (0, math.inf, -math.inf):
            out = a.reshape([1 if i in axes else d for i, d in enumerate(x.shape)])  # |x| exactly, as torch:
            # squaring 1e-200 would underflow (with two or more elements torch does underflow, and so do we)
        elif p == 2:
            out = B.sqrt((x * x).sum(axis=axes, keepdims=True))
        elif p == 1:
            out = a.sum(axis=axes, keepdims=True)
        elif p == math.inf:
            out = a.max(axis=axes, keepdims=True) if x.size else a.sum(axis=axes, keepdims=True)
        elif p == -math.inf:
            out = a.min(axis=axes, keepdims=True)
        elif p == 0:
            out = (x != 0).sum(axis=axes, keepdims=True).astype(x.dtype)
        else:
            out = (a**p).sum(axis=axes, keepdims=True) ** (1.0 / p)
        self.out_k = out
        return out if self.keepdim else out.reshape([s for i, s in enumerate(x.shape) if i not in axes])

    def backward(self, grad):
        p, x, out = self.p, self.x, self.out_k
        g = _keep(grad, x.shape, self.axes, self.keepdim)
        if p == 0:
            return B.zeros_like(x)
        if p == 1:
            return g * _sign(x)
        with B.errstate(divide="ignore", invalid="ignore"):
            if p == 2:
                return g * B.where(out == 0, 0, x / out)
            if p in (math.inf, -math.inf):
                hit = B.abs(x) == out  # ties share the gradient; a NaN norm gives none
                return g * _sign(x) * hit / B.maximum(hit.sum(axis=self.axes, keepdims=True), 1)
            a = B.abs(x)
            return g * B.where(out == 0, 0, _sign(x) * a ** (p - 1) / out ** (p - 1))


def _sign(x):
    """sign(x) with 0 for NaN (torch's convention in gradients)."""
    return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)


@declare(method=False)
def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """Vector norm of ``input`` over ``dim`` (all elements by default). ``p``: a number, inf, -inf or 'fro' (= 2)."""
    if out is not None:
        raise NotImplementedError("norm(): out= is not supported by minigrad; use the returned tensor")
    x = _tensor("norm", input)
    if dtype is not None:
        x = _cast(x, dtype)
    if x.array.dtype.kind != "f":
        raise RuntimeError(f"norm: expected a floating point tensor as input, got {x.dtype}")
    if p is None or p == "fro":
        p = 2
    if isinstance(p, str):
        raise NotImplementedError(f"norm: p={p!r} is not supported (only vector norms: numbers, inf, 'fro')")
    axes = _axes("norm", dim, x.ndim)
    if x.array.size == 0 and p in (-math.inf,):
        _check_nonempty("norm", x, axes, False)
    return Norm(float(p), axes, keepdim)(x)


# torch's methods take other parameters than its functions here (no ``_stacklevel``, no ``out``)
@declare_method("softmax")
def _softmax_method(self, dim=None, dtype=None):
    """``minigrad.softmax(self, dim, dtype=dtype)``."""
    return softmax(self, dim, dtype=dtype)


@declare_method("log_softmax")
def _log_softmax_method(self, dim=None, dtype=None):
    """``minigrad.log_softmax(self, dim, dtype=dtype)``."""
    return log_softmax(self, dim, dtype=dtype)


@declare_method("norm")
def _norm_method(self, p="fro", dim=None, keepdim=False, dtype=None):
    """``minigrad.norm(self, p, dim, keepdim, dtype=dtype)``."""
    return norm(self, p, dim, keepdim, dtype=dtype)


__all__ = exports(__name__)
