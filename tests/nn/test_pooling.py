"""1-d pooling (max, avg, adaptive avg/max; functional and layers) against torch, with gradchecks."""

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from tests.opcheck import compare


def F(lib):
    return torch.nn.functional if lib is torch else lib.nn.functional


def _input(draw, length):
    """(N, C, L) or unbatched (C, L) float64 with distinct values on a 1/64 grid: no near-ties, so the
    finite differences of a maximum are well defined."""
    lead = draw(st.sampled_from([(2, 3), (1, 2), (0, 2), (3,)]))
    elems = st.integers(-512, 512).map(lambda v: v / 64)
    return draw(hnp.arrays(np.float64, lead + (length,), elements=elems, unique=True))


@st.composite
def window_case(draw, with_dilation=True):
    k = draw(st.integers(1, 4))
    stride = draw(st.sampled_from([None, 1, 2, 3]))
    dilation = draw(st.integers(1, 2)) if with_dilation else 1
    padding = draw(st.integers(0, k // 2))
    ceil_mode = draw(st.booleans())
    span = dilation * (k - 1) + 1
    length = draw(st.integers(max(1, span - 2 * padding), span + 6))
    # with dilation, a window may hold padding only (its maximum is -inf, and torch's gradient for it is
    # arbitrary): leave those cases out
    s = stride or k
    n_out = (length + 2 * padding - span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (n_out - 1) * s >= length + padding:
        n_out -= 1
    assume(all(any(0 <= i * s - padding + j * dilation < length for j in range(k)) for i in range(n_out)))
    return _input(draw, length), k, stride, padding, dilation, ceil_mode


@settings(max_examples=30)
@given(window_case(), st.booleans())
def test_max_pool1d_matches_torch_and_gradcheck(case, return_indices):
    x, k, s, p, d, ceil = case
    compare(lambda lib, x: F(lib).max_pool1d(x, k, s, p, d, ceil_mode=ceil, return_indices=return_indices), x)
    compare(lambda lib, x: F(lib).max_pool1d(x, k, s, p, d, ceil_mode=ceil), x.astype(np.float32))


@settings(max_examples=30)
@given(window_case(with_dilation=False), st.booleans())
def test_avg_pool1d_matches_torch_and_gradcheck(case, count_include_pad):
    x, k, s, p, _, ceil = case
    compare(lambda lib, x: F(lib).avg_pool1d(x, k, s, p, ceil, count_include_pad), x)
    compare(lambda lib, x: F(lib).avg_pool1d(x, k, s, p, ceil, count_include_pad), x.astype(np.float32))


@st.composite
def adaptive_case(draw):
    length = draw(st.integers(1, 9))
    out = draw(st.integers(1, 12))  # also more bins than elements: bins then overlap
    return _input(draw, length), draw(st.sampled_from([out, (out,)]))


@settings(max_examples=30)
@given(adaptive_case())
def test_adaptive_avg_pool1d_matches_torch_and_gradcheck(case):
    x, out = case
    compare(lambda lib, x: F(lib).adaptive_avg_pool1d(x, out), x)
    compare(lambda lib, x: F(lib).adaptive_avg_pool1d(x, out), x.astype(np.float32))


@settings(max_examples=30)
@given(adaptive_case(), st.booleans())
def test_adaptive_max_pool1d_matches_torch_and_gradcheck(case, return_indices):
    x, out = case
    compare(lambda lib, x: F(lib).adaptive_max_pool1d(x, out, return_indices), x)
    compare(lambda lib, x: F(lib).adaptive_max_pool1d(x, out, return_indices), x.astype(np.float32))


@pytest.mark.parametrize(
    "k,s,p,d,ceil", [(3, 1, 1, 1, False), (2, 2, 0, 1, True), (3, 2, 1, 2, True), (4, 1, 2, 1, False)]
)
def test_max_pool1d_ties_send_the_gradient_to_the_first_maximum(k, s, p, d, ceil):
    x = np.array([[[1.0, 3, 3, 2, 3, 3, 0, 0, 1, 1, 1]], [[5.0, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]]])
    compare(lambda lib, x: F(lib).max_pool1d(x, k, s, p, d, ceil_mode=ceil, return_indices=True), x, gradcheck=False)
    compare(lambda lib, x: F(lib).adaptive_max_pool1d(x, 4, return_indices=True), x, gradcheck=False)


def test_max_pools_with_nan_and_inf_match_torch():
    x = np.array([[[1.0, np.nan, 2.0, -np.inf, np.inf, 0.0, -1.0, np.nan]]])
    compare(lambda lib, x: F(lib).max_pool1d(x, 3, 1, 1, return_indices=True), x, grad=False)
    for out in (1, 2, 3, 5, 8, 10):
        compare(lambda lib, x: F(lib).adaptive_max_pool1d(x, out, return_indices=True), x, grad=False)


@pytest.mark.parametrize(
    "fn,args",
    [
        ("max_pool1d", (3,)),
        ("avg_pool1d", (3,)),
        ("adaptive_avg_pool1d", (2,)),
        ("adaptive_max_pool1d", (2,)),
    ],
)
def test_pooling_errors(fn, args):
    f = getattr(mg.nn.functional, fn)
    with pytest.raises(RuntimeError, match=f"{fn}: expected a 2-d \\(unbatched\\) or 3-d"):
        f(mg.zeros(5), *args)
    with pytest.raises(RuntimeError, match=f"{fn}: expected a 2-d \\(unbatched\\) or 3-d"):
        f(mg.zeros(1, 2, 3, 5), *args)
    with pytest.raises(RuntimeError, match="non-empty last dimension"):
        f(mg.zeros(2, 3, 0), *args)
    with pytest.raises(RuntimeError, match="floating-point input"):
        f(mg.zeros(2, 3, 5, dtype=mg.int64), *args)


def test_window_argument_errors():
    x = mg.zeros(2, 3, 10)
    f = mg.nn.functional
    with pytest.raises(RuntimeError, match="padding should be at most half of kernel size"):
        f.max_pool1d(x, 3, padding=2)
    with pytest.raises(RuntimeError, match="padding should be at most half"):
        f.avg_pool1d(x, 3, padding=2)
    with pytest.raises(RuntimeError, match="Invalid computed output size: 0"):
        f.max_pool1d(x, 20)
    with pytest.raises(RuntimeError, match="Invalid computed output size"):
        f.avg_pool1d(x, 20)
    with pytest.raises(RuntimeError, match="stride must be greater than zero"):
        f.max_pool1d(x, 3, stride=0)
    with pytest.raises(RuntimeError, match="kernel_size must be greater than zero"):
        f.max_pool1d(x, 0)
    with pytest.raises(RuntimeError, match="output_size must be non-negative"):
        f.adaptive_avg_pool1d(x, -1)
    with pytest.raises(RuntimeError, match="output_size must be an int or a 1-element tuple"):
        f.adaptive_max_pool1d(x, (2, 3))


def test_pooling_keeps_float32_and_indices_are_int64():
    x = mg.randn(2, 3, 9)
    out, idx = mg.nn.functional.max_pool1d(x, 3, return_indices=True)
    assert out.dtype == mg.float32 and idx.dtype == mg.int64 and not idx.requires_grad
    assert mg.nn.functional.avg_pool1d(x, 3).dtype == mg.float32
    assert mg.nn.functional.adaptive_avg_pool1d(x, 4).dtype == mg.float32
    out, idx = mg.nn.functional.adaptive_max_pool1d(x, 4, return_indices=True)
    assert out.dtype == mg.float32 and idx.dtype == mg.int64


# ------------------------------------------------------------------ layers
@pytest.mark.parametrize(
    "name,args,kwargs",
    [
        ("MaxPool1d", (3,), {}),
        ("MaxPool1d", (3, 2, 1), dict(dilation=1, ceil_mode=True)),
        ("MaxPool1d", (2,), dict(return_indices=True)),
        ("AvgPool1d", (3,), {}),
        ("AvgPool1d", (3, 2, 1), dict(ceil_mode=True, count_include_pad=False)),
        ("AdaptiveAvgPool1d", (4,), {}),
        ("AdaptiveMaxPool1d", (3,), {}),
        ("AdaptiveMaxPool1d", (3,), dict(return_indices=True)),
    ],
)
def test_pooling_layers_match_torch(name, args, kwargs):
    m, t = getattr(mg.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(m) == repr(t)
    x = np.random.default_rng(0).standard_normal((2, 3, 10))
    compare(lambda lib, x: (m if lib is mg else t)(x), x)
    compare(lambda lib, x: (m if lib is mg else t)(x), x[0].copy())  # unbatched
