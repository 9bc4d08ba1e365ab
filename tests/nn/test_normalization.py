"""layer_norm, batch_norm, group_norm and their layers against torch: values, gradients, running statistics."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from tests.opcheck import compare


def F(lib):
    return torch.nn.functional if lib is torch else lib.nn.functional


ELEMS = st.floats(-3, 3, allow_nan=False, width=64)


def _affine_args(draw, shape):
    w = draw(st.one_of(st.none(), hnp.arrays(np.float64, shape, elements=ELEMS)))
    b = draw(st.one_of(st.none(), hnp.arrays(np.float64, shape, elements=ELEMS)))
    return w, b


def _spread(x, axes):
    """True when every normalised group has a clear variance. With (almost) no variance, 1/sqrt(var + eps)
    is ~300 and magnifies float32 rounding: torch's fused ``x * scale + shift`` then differs from
    ``(x - mean) * rstd`` by far more than 1e-5, though both are right to float32 precision."""
    return x.size == 0 or bool(np.all(x.var(axis=axes) > 1e-2))


def _compare_affine(fn, x, w, b, dtype, spread=True):
    """Run ``fn(lib, x, w, b)`` through ``compare`` with whichever of ``w``/``b`` are present. Without a clear
    ``spread`` the second derivatives (~1/std^3) are rounding noise, so only the first are compared."""
    arrays = [x.astype(dtype)] + [a.astype(dtype) for a in (w, b) if a is not None]
    # in float32 the input gradient is a difference of terms of size ~|g|/std, so entries near zero
    # carry absolute rounding errors of a few 1e-6: the absolute tolerance is 2e-5 (relative stays 1e-5)
    tol = dict(atol=2e-5) if dtype == np.float32 else {}

    def call(lib, x, *params):
        params = list(params)
        ww = params.pop(0) if w is not None else None
        bb = params.pop(0) if b is not None else None
        return fn(lib, x, ww, bb)

    compare(call, *arrays, double=spread, **tol)


# ------------------------------------------------------------------ layer norm
@st.composite
def layer_norm_case(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    nd = draw(st.integers(1, len(shape)))
    x = draw(hnp.arrays(np.float64, shape, elements=ELEMS))
    w, b = _affine_args(draw, shape[len(shape) - nd :])
    return x, tuple(shape[len(shape) - nd :]), w, b, draw(st.sampled_from([1e-5, 1e-3]))


@given(layer_norm_case())
def test_layer_norm_matches_torch_and_gradcheck(case):
    x, ns, w, b, eps = case
    axes = tuple(range(x.ndim - len(ns), x.ndim))
    for dtype in (np.float64, np.float32) if _spread(x, axes) else (np.float64,):
        _compare_affine(lambda lib, x, w, b: F(lib).layer_norm(x, ns, w, b, eps), x, w, b, dtype, _spread(x, axes))


def test_layer_norm_with_a_zero_size_batch():
    x = np.zeros((0, 3, 4))
    w = np.ones((3, 4))
    compare(lambda lib, x, w: F(lib).layer_norm(x, (3, 4), w), x, w, gradcheck=False)


def test_layer_norm_errors():
    x = mg.zeros(2, 3, 10)
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[5\], expected input with shape \[\*, 5\]"):
        mg.nn.functional.layer_norm(x, (5,))
    with pytest.raises(RuntimeError, match="Expected weight to be of same shape as normalized_shape"):
        mg.nn.functional.layer_norm(x, (10,), weight=mg.zeros(9))
    with pytest.raises(RuntimeError, match="Expected bias to be of same shape as normalized_shape"):
        mg.nn.functional.layer_norm(x, (10,), bias=mg.zeros(3, 10))
    with pytest.raises(RuntimeError, match="layer_norm: expected weight, bias and statistics of the input's dtype"):
        mg.nn.functional.layer_norm(x, (10,), weight=mg.zeros(10, dtype=mg.float64))
    with pytest.raises(RuntimeError, match="layer_norm: expected a floating-point input"):
        mg.nn.functional.layer_norm(x.long(), (10,))


@pytest.mark.parametrize("kwargs", [{}, dict(elementwise_affine=False), dict(bias=False), dict(eps=1e-3)])
def test_layer_norm_layer_matches_torch(kwargs):
    m, t = mg.nn.LayerNorm((3, 4), **kwargs).double(), torch.nn.LayerNorm((3, 4), **kwargs).double()
    assert repr(m) == repr(t)
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    if m.weight is not None:  # learned values, so that the affine part is really exercised
        m.weight.data = mg.tensor(np.linspace(0.5, 2, 12).reshape(3, 4))
        with torch.no_grad():
            t.weight.copy_(torch.tensor(np.linspace(0.5, 2, 12).reshape(3, 4)))
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    _layer_compare(m, t, x)


def _layer_compare(m, t, x, rtol=1e-10, atol=1e-12):
    """Forward, input gradient and parameter gradients of layer ``m`` and torch layer ``t`` on ``x``."""
    xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ym, yt = m(xm), t(xt)
    np.testing.assert_allclose(ym.detach().numpy(), yt.detach().numpy(), rtol=rtol, atol=atol)
    up = np.random.default_rng(1).standard_normal(tuple(yt.shape)).astype(x.dtype)
    ym.backward(mg.tensor(up))
    yt.backward(torch.tensor(up))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=atol)
    for (name, pm), (_, pt) in zip(m.named_parameters(), t.named_parameters()):
        np.testing.assert_allclose(pm.grad.numpy(), pt.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


# ------------------------------------------------------------------ batch norm
@st.composite
def batch_norm_case(draw):
    shape = draw(st.sampled_from([(4, 3), (2, 3), (2, 3, 5), (3, 2, 1), (1, 2, 4), (2, 1, 3)]))
    x = draw(hnp.arrays(np.float64, shape, elements=ELEMS))
    w, b = _affine_args(draw, (shape[1],))
    return x, w, b, draw(st.sampled_from([1e-5, 1e-2]))


@given(batch_norm_case())
def test_batch_norm_training_matches_torch_and_gradcheck(case):
    x, w, b, eps = case
    axes = (0,) + tuple(range(2, x.ndim))
    for dtype in (np.float64, np.float32) if _spread(x, axes) else (np.float64,):
        bn = lambda lib, x, w, b: F(lib).batch_norm(x, None, None, w, b, True, 0.1, eps)  # noqa: E731
        _compare_affine(bn, x, w, b, dtype, _spread(x, axes))


@given(batch_norm_case())
def test_batch_norm_eval_matches_torch_and_gradcheck(case):
    x, w, b, eps = case
    c = x.shape[1]
    rm, rv = np.linspace(-1, 1, c), np.linspace(0.5, 2, c)
    for dtype in (np.float64, np.float32):
        rmd, rvd = rm.astype(dtype), rv.astype(dtype)

        def fn(lib, x, w, b):
            return F(lib).batch_norm(
                x, lib.tensor(rmd, device=x.device), lib.tensor(rvd, device=x.device), w, b, False, 0.1, eps
            )

        _compare_affine(fn, x, w, b, dtype)


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batch_norm_updates_running_stats_in_place_like_torch(shape, dtype):
    rng = np.random.default_rng(0)
    mdt = mg.float64 if dtype == np.float64 else mg.float32
    rm_m, rv_m = mg.zeros(shape[1], dtype=mdt), mg.ones(shape[1], dtype=mdt)
    rm_t, rv_t = torch.tensor(rm_m.numpy().copy()), torch.tensor(rv_m.numpy().copy())
    arr_m, arr_v = rm_m.array, rv_m.array
    for step in range(4):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(dtype)
        F(mg).batch_norm(mg.tensor(x), rm_m, rv_m, training=True, momentum=0.3)
        F(torch).batch_norm(torch.tensor(x), rm_t, rv_t, training=True, momentum=0.3)
        tol = dict(rtol=1e-10) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(rm_m.numpy(), rm_t.numpy(), **tol)
        np.testing.assert_allclose(rv_m.numpy(), rv_t.numpy(), **tol)  # unbiased variance, as torch
    assert rm_m.array is arr_m and rv_m.array is arr_v, "running statistics must be updated in place"


def test_batch_norm_errors():
    f = mg.nn.functional.batch_norm
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        f(mg.zeros(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        f(mg.zeros(1, 3, 1), None, None, training=True)
    with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
        f(mg.zeros(2, 4), mg.zeros(3), mg.ones(3), training=True)
    with pytest.raises(RuntimeError, match="weight should contain 3 elements not 2"):
        f(mg.zeros(2, 3), None, None, weight=mg.ones(2), training=True)
    with pytest.raises(RuntimeError, match="running_mean and running_var must be defined in evaluation mode"):
        f(mg.zeros(2, 3), None, None, training=False)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        f(mg.zeros(3), None, None, training=True)


def _copy_bn_state(m, t):
    for name, v in m.state_dict().items():
        t.state_dict()[name].copy_(torch.tensor(v.numpy()))


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
def test_batchnorm1d_running_stats_and_eval_match_torch(momentum, shape):
    m, t = mg.nn.BatchNorm1d(3, momentum=momentum).double(), torch.nn.BatchNorm1d(3, momentum=momentum).double()
    assert repr(m) == repr(t)
    assert list(m.state_dict()) == list(t.state_dict())
    assert m.num_batches_tracked.dtype == mg.int64
    with torch.no_grad():  # learned affine values, copied to both
        t.weight.copy_(torch.tensor([0.5, 1.5, -2.0]))
        t.bias.copy_(torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64))  # exact float64 values on both sides
    m.weight.data = mg.tensor([0.5, 1.5, -2.0], dtype=mg.float64)
    m.bias.data = mg.tensor([0.1, -0.2, 0.3], dtype=mg.float64)
    rng = np.random.default_rng(0)
    for step in range(5):  # training steps: batch statistics, gradients, running averages
        x = rng.standard_normal(shape) * (1 + step) - step
        _layer_compare(m, t, x)
        m.zero_grad(), t.zero_grad()
        np.testing.assert_allclose(m.running_mean.numpy(), t.running_mean.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(m.running_var.numpy(), t.running_var.numpy(), rtol=1e-10, atol=1e-12)
        assert int(m.num_batches_tracked.item()) == int(t.num_batches_tracked.item()) == step + 1
    m.eval(), t.eval()
    x = rng.standard_normal(shape)
    _layer_compare(m, t, x)  # eval: running statistics, gradients to input and affine parameters
    assert int(m.num_batches_tracked.item()) == 5
    np.testing.assert_allclose(m.running_mean.numpy(), t.running_mean.numpy(), rtol=1e-10)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(affine=False),
        dict(track_running_stats=False),
        dict(bias=False),
        dict(affine=False, track_running_stats=False),
    ],
)
@pytest.mark.parametrize("train", [True, False])
def test_batchnorm1d_options_match_torch(kwargs, train):
    m, t = mg.nn.BatchNorm1d(4, **kwargs).double(), torch.nn.BatchNorm1d(4, **kwargs).double()
    assert repr(m) == repr(t)
    assert list(m.state_dict()) == list(t.state_dict())
    m.train(train), t.train(train)
    x = np.random.default_rng(2).standard_normal((3, 4, 2)) + 1
    _layer_compare(m, t, x)
    if m.running_mean is not None:
        np.testing.assert_allclose(m.running_var.numpy(), t.running_var.numpy(), rtol=1e-10)


def test_batchnorm1d_float32_and_reset():
    m = mg.nn.BatchNorm1d(3)
    y = m(mg.randn(4, 3, 2) * 3 + 1)
    assert y.dtype == mg.float32 and m.running_mean.dtype == mg.float32
    assert float(m.running_mean.abs().sum().item()) > 0
    m.reset_running_stats()
    assert np.all(m.running_mean.numpy() == 0) and np.all(m.running_var.numpy() == 1)
    assert int(m.num_batches_tracked.item()) == 0
    with pytest.raises(ValueError, match="expected 2D or 3D input \\(got 4D input\\)"):
        m(mg.zeros(2, 3, 4, 5))


# ------------------------------------------------------------------ group norm
@st.composite
def group_norm_case(draw):
    groups = draw(st.integers(1, 3))
    c = groups * draw(st.integers(1, 2))
    shape = (draw(st.integers(1, 2)), c) + draw(st.sampled_from([(), (1,), (3,), (2, 2)]))
    x = draw(hnp.arrays(np.float64, shape, elements=ELEMS))
    w, b = _affine_args(draw, (c,))
    return x, groups, w, b


@given(group_norm_case())
def test_group_norm_matches_torch_and_gradcheck(case):
    x, groups, w, b = case
    if x.size // groups == 1:
        with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
            mg.nn.functional.group_norm(mg.tensor(x), groups)
        return
    grouped = x.reshape(x.shape[0], groups, -1)

    def fn(lib, x, w, b):
        if lib is torch and w is None and b is not None:
            # torch's backward fails for a bias without a weight ("tensor does not have a device");
            # a weight of ones is the same function
            w = torch.ones(x.shape[1], dtype=x.dtype)
        return F(lib).group_norm(x, groups, w, b)

    spread = _spread(grouped, 2)
    for dtype in (np.float64, np.float32) if spread else (np.float64,):
        _compare_affine(fn, x, w, b, dtype, spread)


def test_group_norm_errors_and_layer():
    with pytest.raises(RuntimeError, match="Expected number of channels in input to be divisible by num_groups"):
        mg.nn.functional.group_norm(mg.zeros(2, 3, 4), 2)
    with pytest.raises(ValueError, match="must be divisible by num_groups"):
        mg.nn.GroupNorm(2, 3)
    for kwargs in ({}, dict(affine=False), dict(bias=False)):
        m, t = mg.nn.GroupNorm(2, 4, **kwargs).double(), torch.nn.GroupNorm(2, 4, **kwargs).double()
        assert repr(m) == repr(t)
        _layer_compare(m, t, np.random.default_rng(3).standard_normal((2, 4, 3)))
