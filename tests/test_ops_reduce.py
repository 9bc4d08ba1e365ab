"""Reductions, scans and softmax against torch: values, dtypes, gradients (random upstream gradient),
float64 gradchecks; dims drawn by hypothesis (None, negative, tuples, keepdim), 0-d and size-0 inputs."""

import math

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from tests.opcheck import compare

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
NONEMPTY = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)


@st.composite
def with_dim(draw, shapes=SHAPES, tuples=True, allow_none=True, distinct=False):
    """An array, a dim (None, an int in [-ndim, ndim) or a tuple of them) and keepdim."""
    shape = draw(shapes)
    n = len(shape)
    el = st.floats(-3, 3, allow_nan=False, allow_infinity=False)
    if distinct:  # no ties: max/min/prod gradients are then unambiguous and smooth
        size = int(np.prod(shape))
        x = draw(st.permutations(range(size))) if size else []
        x = (np.array(x, dtype=np.float64) * 0.37 - 1.1).reshape(shape)
    else:
        x = draw(hnp.arrays(np.float64, shape, elements=el))
    choices = [st.integers(-max(n, 1), max(n, 1) - 1)]
    if allow_none:
        choices.append(st.none())
    if tuples and n:
        choices.append(st.lists(st.integers(-n, n - 1), min_size=1, max_size=n, unique_by=lambda d: d % n).map(tuple))
    dim = draw(st.one_of(*choices))
    return x, dim, draw(st.booleans())


def _reduce_kwargs(dim, keepdim):
    return {} if dim is None else {"dim": dim, "keepdim": keepdim}


def _empty_reduced(x, dim):
    if dim is None:
        return x.size == 0
    dims = dim if isinstance(dim, tuple) else (dim,)
    return x.ndim > 0 and any(x.shape[d] == 0 for d in dims)


MULTI_DIM = {
    "sum": lambda t, x, kw: t.sum(x, **kw),
    "mean": lambda t, x, kw: t.mean(x, **kw),
    "var": lambda t, x, kw: t.var(x, **kw),
    "var_biased": lambda t, x, kw: x.var(unbiased=False, **kw),
    "var_correction": lambda t, x, kw: t.var(x, correction=0, **kw),
    "std": lambda t, x, kw: t.std(x, **kw),
    "std_correction2": lambda t, x, kw: x.std(correction=2, **kw),
    "logsumexp": lambda t, x, kw: t.logsumexp(x, **kw) if kw else t.logsumexp(x, dim=tuple(range(x.ndim))),
    "norm2": lambda t, x, kw: t.norm(x, 2, **kw),
    "norm_fro": lambda t, x, kw: x.norm(**kw) if len(np.atleast_1d(kw.get("dim", 0))) <= 2 else x.norm(2, **kw),
    "norm1": lambda t, x, kw: t.norm(x, p=1, **kw),
    "norm3": lambda t, x, kw: t.norm(x, p=3, **kw),
    "amax": lambda t, x, kw: t.amax(x, **kw),
    "amin": lambda t, x, kw: x.amin(**kw),
    "norm_inf": lambda t, x, kw: t.norm(x, p=math.inf, **kw),
}
NEEDS_DISTINCT = {"amax", "amin", "norm_inf", "norm1", "norm2", "norm3", "norm_fro", "std", "std_correction2"}
NEEDS_NONEMPTY = {"amax", "amin", "norm_inf"}


@pytest.mark.filterwarnings("ignore:.*degrees of freedom")
@pytest.mark.parametrize("name", sorted(MULTI_DIM))
@settings(max_examples=8)
@given(data=st.data())
def test_multi_dim_reductions_float64(name, data):
    x, dim, keepdim = data.draw(with_dim(distinct=name in NEEDS_DISTINCT))
    if name in NEEDS_NONEMPTY and _empty_reduced(x, dim):
        return
    if name.startswith("std") or name.startswith("var"):
        dims = range(x.ndim) if dim is None else (dim if isinstance(dim, tuple) else (dim,))
        n = int(np.prod([x.shape[d] for d in dims])) if x.ndim else 1
        if name.startswith("std") and n <= 2:
            return  # sqrt at a zero variance: no finite-difference derivative
    if name.startswith("norm") and x.size and np.any(x == 0):
        x = x + 0.05
    fn = MULTI_DIM[name]
    compare(lambda t, a: fn(t, a, _reduce_kwargs(dim, keepdim)), x)


@pytest.mark.filterwarnings("ignore:.*degrees of freedom")
@pytest.mark.parametrize("name", sorted(MULTI_DIM))
@settings(max_examples=3)
@given(data=st.data())
def test_multi_dim_reductions_float32(name, data):
    x, dim, keepdim = data.draw(with_dim(shapes=NONEMPTY, distinct=name in NEEDS_DISTINCT))
    fn = MULTI_DIM[name]
    compare(lambda t, a: fn(t, a, _reduce_kwargs(dim, keepdim)), np.asarray(x + 0.05, dtype=np.float32))


ONE_DIM = {
    "max_dim": lambda t, x, d, k: t.max(x, d, keepdim=k),
    "min_dim": lambda t, x, d, k: x.min(dim=d, keepdim=k),
    "prod_dim": lambda t, x, d, k: t.prod(x, d, keepdim=k),
    "cumsum": lambda t, x, d, k: t.cumsum(x, d),
    "softmax": lambda t, x, d, k: t.softmax(x, d),
    "log_softmax": lambda t, x, d, k: t.log_softmax(x, dim=d),
    "softmax_method": lambda t, x, d, k: x.softmax(d) * x.log_softmax(d),
}


@pytest.mark.parametrize("name", sorted(ONE_DIM))
@settings(max_examples=8)
@given(data=st.data())
def test_single_dim_ops_float64(name, data):
    x, dim, keepdim = data.draw(with_dim(tuples=False, allow_none=False, distinct=True))
    if name in ("max_dim", "min_dim") and _empty_reduced(x, dim):
        return
    compare(lambda t, a: ONE_DIM[name](t, a, dim, keepdim), x)


@pytest.mark.parametrize("name", sorted(ONE_DIM))
@settings(max_examples=3)
@given(data=st.data())
def test_single_dim_ops_float32(name, data):
    x, dim, keepdim = data.draw(with_dim(shapes=NONEMPTY, tuples=False, allow_none=False, distinct=True))
    compare(lambda t, a: ONE_DIM[name](t, a, dim, keepdim), x.astype(np.float32))


@settings(max_examples=8)
@given(data=st.data())
def test_full_reductions_max_min_prod(data):
    x, _, _ = data.draw(with_dim(shapes=NONEMPTY, distinct=True))
    compare(lambda t, a: (t.max(a), a.min(), t.prod(a), a.prod()), x)


@settings(max_examples=8)
@given(data=st.data())
def test_argmax_argmin_any_all(data):
    x, dim, keepdim = data.draw(with_dim(shapes=NONEMPTY, tuples=False))
    x = np.asarray(np.round(x))  # ties: both libraries must pick the first index
    compare(lambda t, a: (t.argmax(a, dim, keepdim), a.argmin(dim=dim, keepdim=keepdim)), x, grad=False)
    compare(lambda t, a: (t.any(a > 1), t.all(a > -2), (a > 0).any(), a.all()), x, grad=False)
    if dim is not None:
        compare(lambda t, a: (t.any(a > 1, dim, keepdim), t.all(a > -2, dim=dim, keepdim=keepdim)), x, grad=False)


@settings(max_examples=6)
@given(data=st.data())
def test_any_all_over_dim_tuples(data):
    x, dim, keepdim = data.draw(with_dim())
    compare(lambda t, a: (t.any(a > 0.5, dim, keepdim), t.all(a > -1, dim=dim, keepdim=keepdim)), x, grad=False)


def test_ties_in_reductions_match_torch():
    x = np.array([[3.0, 1.0, 3.0], [2.0, 2.0, -1.0]])
    fns = [
        lambda t, a: t.max(a),
        lambda t, a: t.min(a),
        lambda t, a: t.amax(a, 1),
        lambda t, a: t.amin(a, 0),
        lambda t, a: t.amax(a, (0, 1), keepdim=True),
        lambda t, a: t.max(a, 1),
        lambda t, a: t.min(a, 0),
        lambda t, a: t.max(a, -1, keepdim=True),
        lambda t, a: t.norm(a, math.inf),
        lambda t, a: t.norm(a, -math.inf),
    ]
    for fn in fns:
        compare(fn, x, gradcheck=False)
        compare(fn, x.astype(np.float32), gradcheck=False)


def test_prod_with_zeros():
    x = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 4.0], [1.5, -2.0, 0.5], [2.0, 0.0, -1.0]])
    compare(lambda t, a: t.prod(a, 1), x)
    compare(lambda t, a: t.prod(a, 0, keepdim=True), x)
    compare(lambda t, a: t.prod(a), x)
    compare(lambda t, a: t.prod(a[0] if a.ndim else a), np.array([2.0, 0.0, 5.0]))
    compare(lambda t, a: t.prod(a, 1), x.astype(np.float32))


def test_softmax_and_logsumexp_are_stable_for_large_logits():
    x = np.array([[1000.0, 0.0, -1000.0], [1e4, 1e4, 1e4], [-1e4, -1e4 + 1, 3.0]])
    for dt in (np.float64, np.float32):
        compare(lambda t, a: (t.softmax(a, 1), t.log_softmax(a, 1), t.logsumexp(a, 1)), x.astype(dt), gradcheck=False)
        out = mg.log_softmax(mg.tensor(x.astype(dt)), 0)
        assert np.all(np.isfinite(out.numpy()))


def test_logsumexp_with_infinities():
    x = np.array([[-np.inf, -np.inf], [-np.inf, 1.0], [np.inf, 2.0]])
    compare(lambda t, a: t.logsumexp(a, 1), x, gradcheck=False)


def test_softmax_dtype_argument():
    x = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    compare(lambda t, a: (t.softmax(a, -1, dtype=t.float64), t.log_softmax(a, 1, dtype=t.float64)), x, gradcheck=False)


def test_softmax_gradient_is_not_checked_with_a_sum_only():
    # a random upstream gradient is what exposes a wrong softmax backward; check one by hand too
    x = mg.tensor([[0.5, -1.0, 2.0]], dtype=mg.float64, requires_grad=True)
    g = np.array([[1.0, -2.0, 0.5]])
    y = mg.softmax(x, 1)
    y.backward(mg.tensor(g))
    s = y.detach().numpy()
    expected = s * (g - (g * s).sum(1, keepdims=True))
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_zero_dim_inputs():
    x = np.array(1.5)
    for fn in [
        lambda t, a: t.sum(a, 0),
        lambda t, a: t.mean(a, -1, keepdim=True),
        lambda t, a: t.max(a, 0),
        lambda t, a: t.softmax(a, 0),
        lambda t, a: t.log_softmax(a, -1),
        lambda t, a: t.cumsum(a, 0),
        lambda t, a: t.prod(a, 0),
        lambda t, a: t.logsumexp(a, 0),
        lambda t, a: t.amax(a, 0),
        lambda t, a: t.norm(a),
        lambda t, a: t.argmax(a, 0),
        lambda t, a: t.var(a, 0, correction=0),
    ]:
        compare(fn, x)


def test_empty_reductions():
    x = np.zeros((2, 0, 3))
    compare(
        lambda t, a: (
            t.sum(a),
            t.sum(a, 1),
            t.prod(a, 1),
            t.logsumexp(a, 1),
            t.mean(a, 1),
            t.amax(a, 0),
            t.max(a, 2).values,
            t.cumsum(a, 1),
            t.norm(a, dim=1),
            t.softmax(a, 1),
        ),
        x,
        gradcheck=False,
    )
    with pytest.raises(RuntimeError, match="max.*numel\\(\\) == 0"):
        mg.max(mg.tensor(x))
    with pytest.raises(IndexError, match="max.*dim 1.*non-zero size"):
        mg.max(mg.tensor(x), 1)
    with pytest.raises(IndexError, match="amax.*dim 1"):
        mg.amax(mg.tensor(x), (0, 1))
    with pytest.raises(RuntimeError, match="argmin"):
        mg.argmin(mg.tensor(x))


def test_integer_and_bool_reduction_dtypes():
    x = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int32)
    compare(
        lambda t, a: (
            t.sum(a),
            a.sum(1),
            t.prod(a, 0),
            t.cumsum(a, 1),
            t.sum(a > 2),
            t.sum(a, dtype=t.float64),
            t.max(a),
            t.amax(a, 1),
            t.mean(a, 0, dtype=t.float32),
            t.max(a, 1),
        ),
        x,
        grad=False,
    )
    b = x > 2
    compare(lambda t, a: (t.sum(a, 0), t.any(a), t.all(a, 1), t.max(a), t.min(a)), b, grad=False)


def test_max_binary_and_namedtuple():
    a, b = mg.tensor([1.0, 5.0]), mg.tensor([3.0, 2.0])
    assert mg.max(a, b).tolist() == [3.0, 5.0]
    assert a.min(b).tolist() == [1.0, 2.0]
    res = mg.max(mg.tensor([[1.0, 4.0], [3.0, 2.0]]), dim=1)
    values, indices = res
    assert values.tolist() == [4.0, 3.0] and indices.tolist() == [1, 0] and res.indices.dtype is mg.int64


def test_mean_of_integers_is_an_error_like_torch():
    with pytest.raises(RuntimeError, match="mean.*floating point"):
        mg.mean(mg.tensor([1, 2, 3]))
    with pytest.raises(RuntimeError):
        torch.mean(torch.tensor([1, 2, 3]))


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x: lib.sum(x, 2),
        lambda lib, x: lib.mean(x, -3),
        lambda lib, x: lib.max(x, 2),
        lambda lib, x: lib.softmax(x, 5),
        lambda lib, x: lib.cumsum(x, -3),
        lambda lib, x: lib.amax(x, (0, 2)),
        lambda lib, x: lib.argmax(x, 2),
        lambda lib, x: lib.var(x, (1, -4)),
        lambda lib, x: lib.logsumexp(x, 3),
    ],
)
def test_bad_dims_raise_index_error_naming_the_range(call):
    with pytest.raises(IndexError) as torch_err:
        call(torch, torch.zeros(2, 3))
    with pytest.raises(IndexError, match=r"range of \[-2, 1\]") as mg_err:
        call(mg, mg.zeros(2, 3))
    assert "out of range" in str(torch_err.value) and "out of range" in str(mg_err.value)


def test_repeated_dims_are_an_error():
    with pytest.raises(RuntimeError, match="multiple times"):
        mg.sum(mg.zeros(2, 3), (1, -1))


def test_var_std_argument_forms():
    x = np.array([[1.0, 2.0, 4.0], [0.5, -1.0, 3.0]])
    compare(
        lambda t, a: (
            t.var(a, 1, True),
            t.var(a, 0, False, True),
            t.std(a, False),
            a.std(1, keepdim=True),
            t.var(a, dim=1, unbiased=False),
            t.std(a, correction=0),
        ),
        x,
    )
    with pytest.raises(RuntimeError, match="both"):
        mg.var(mg.tensor(x), 1, unbiased=True, correction=0)


def test_norm_options():
    x = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.5]])
    compare(
        lambda t, a: (
            t.norm(a, "fro"),
            t.norm(a, 2, (0, 1)),
            t.norm(a, 0.5, 1),
            t.norm(a, 0, 1),
            a.norm(dim=0, keepdim=True),
            t.norm(a, 1, -1),
        ),
        x,
    )
    compare(lambda t, a: t.norm(a), np.zeros((2, 2)), gradcheck=False)  # gradient 0 at a zero vector
    with pytest.raises(RuntimeError, match="norm.*floating"):
        mg.norm(mg.tensor([1, 2]))


def test_sum_of_a_chain_keeps_grad_dtype_and_no_copy_on_forward():
    x = mg.randn(3, 4, dtype=mg.float32, requires_grad=True)
    y = (x.sum(1, keepdim=True) * x).mean()
    y.backward()
    assert y.dtype is mg.float32 and x.grad.dtype is mg.float32 and x.grad.shape == (3, 4)


def test_float16_sums_accumulate_in_float32_like_torch():
    x = np.full(5000, 1.0, dtype=np.float16)
    compare(lambda t, a: (t.sum(a), t.mean(a), a.sum(0, keepdim=True)), x, grad=False)


@pytest.mark.parametrize(
    "fn",
    [
        lambda t, a: t.max(a),
        lambda t, a: a.min(),
        lambda t, a: t.max(a, 1),
        lambda t, a: t.argmax(a, 1),
        lambda t, a: t.norm(a, math.inf),
        lambda t, a: t.softmax(a, 1),
        lambda t, a: t.logsumexp(a, 1),
        lambda t, a: a.prod(1),
        lambda t, a: t.norm(a, 1, 1),
    ],
)
def test_nan_in_reductions_like_torch(fn):
    x = np.array([[1.0, np.nan, 3.0], [2.0, 5.0, -1.0]])
    with np.errstate(invalid="ignore"):
        compare(fn, x, gradcheck=False)


@pytest.mark.parametrize("n", [255, 256, 1000])  # below the two-stage threshold, a multiple of 64, a remainder
@pytest.mark.parametrize("keepdim", [False, True])
def test_float32_sum_along_a_non_contiguous_axis_stays_accurate(n, keepdim):
    """A channels-last activation summed over its positions: NumPy would add one slice after another
    (error ~ n roundings); minigrad's sum must stay as close to the float64 answer as torch's.

    A promise of the fast backend (the default): the reference backend sums as NumPy does, to be read."""
    rng = np.random.default_rng(n)
    x = (rng.random((3, n, 8)) + 1).astype(np.float32).transpose(0, 2, 1)  # (3, 8, n), n not contiguous
    exact = x.astype(np.float64).sum(axis=2, keepdims=keepdim)
    t = torch.tensor(np.ascontiguousarray(x)).sum(dim=2, keepdim=keepdim).numpy().astype(np.float64)
    with mg.config.using(backend="fast"):
        outs = (mg.tensor(x).sum(dim=2, keepdim=keepdim), mg.tensor(x).mean(dim=2, keepdim=keepdim) * n)
    for out in outs:
        got = out.numpy()
        assert got.dtype == np.float32 and got.shape == exact.shape
        err = np.abs(got - exact).max() / np.abs(exact).max()
        assert err <= max(4 * np.abs(t - exact).max() / np.abs(exact).max(), 2e-7), err
    plain = np.abs(x.sum(axis=2, keepdims=keepdim) - exact).max() / np.abs(exact).max()
    assert plain > 2e-7 or n < 256  # NumPy's own sum would not have been good enough


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum_in_place_like_torch(dim):
    """``cumsum_`` writes the running sum into the tensor, which keeps its dtype; the gradient flows
    through it (cumsum's backward reads no input, so overwriting it is allowed, as in torch)."""
    rng = np.random.default_rng(dim + 7)
    x, g = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    results = []
    for lib in (torch, mg):
        w = lib.tensor(x, requires_grad=True)
        h = w * 2
        assert h.cumsum_(dim) is h
        h.backward(lib.tensor(g))
        ints = lib.tensor([[1, 2, 3], [4, 5, 6]], dtype=lib.int32)
        ints.cumsum_(dim)
        results.append((h.detach().numpy(), w.grad.numpy(), ints.numpy()))
    for want, got in zip(*results):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_cumsum_in_place_on_a_leaf_that_requires_grad_raises_like_torch():
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        torch.tensor([1.0, 2.0], requires_grad=True).cumsum_(0)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        mg.tensor([1.0, 2.0], requires_grad=True).cumsum_(0)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_dtype_passed_third_like_torch(name):
    """``torch.softmax(x, dim, dtype)`` and ``x.softmax(dim, dtype)`` take the dtype third; ``F.softmax`` has an
    unused ``_stacklevel`` there and takes ``dtype=`` by keyword."""
    x = np.random.default_rng(3).standard_normal((3, 4)).astype(np.float32)
    calls = [
        lambda lib, a: getattr(lib, name)(a, 1, lib.float64),
        lambda lib, a: getattr(a, name)(1, lib.float64),
        lambda lib, a: getattr(lib.nn.functional, name)(a, 1, 3, dtype=lib.float64),
        lambda lib, a: getattr(lib.nn.functional, name)(a, 1, 5),
    ]
    for call in calls:
        compare(call, x)


def test_norm_dtype_positions_like_torch():
    """``torch.norm`` has ``out`` before ``dtype``; ``Tensor.norm`` has no ``out``."""
    x = np.random.default_rng(4).standard_normal((3, 4)).astype(np.float32)
    compare(lambda lib, a: lib.norm(a, 2, 1, False, None, lib.float64), x)
    compare(lambda lib, a: a.norm(2, 1, False, lib.float64), x)
    compare(lambda lib, a: a.norm(1, dim=0, keepdim=True), x)
    with pytest.raises(NotImplementedError, match="out="):
        mg.norm(mg.tensor(x), 2, 1, False, mg.empty(3))
