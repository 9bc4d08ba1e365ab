"""Winograd convolutions (minigrad.compute.fast.winograd): matrices, kernels, the op against torch, the switch."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.compute.fast import conv as conv_mod
from minigrad.compute.fast import kernels, winograd
from minigrad.compute.fast.kernels import cpu
from tests.opcheck import compare

KS = list(range(2, winograd.ALPHA))  # every filter size Winograd takes
# torch warns that its own 'same' padding with an even kernel copies the input; not our concern here
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


@pytest.fixture(autouse=True)
def _fast_backend():
    """Winograd is the fast backend's: this module tests that backend, whatever MINIGRAD_BACKEND says."""
    with mg.config.using(backend="fast"):
        yield


# ------------------------------------------------------------------ the matrices
@pytest.mark.parametrize("k", KS)
def test_weight_gradient_matrices_swap_the_roles(k):
    """For the weight gradient a tile's K taps are the outputs and its m gradient rows the filter:
    ``matrices(K, m)``, whose input transform is the forward's (so the forward's tiles serve both)."""
    m = winograd.tile(k)
    at, g, bt = winograd.matrices(k, m)
    np.testing.assert_array_equal(bt, winograd.matrices(m, k)[2])
    rng = np.random.default_rng(k)
    x, grad = rng.standard_normal(winograd.ALPHA), rng.standard_normal(m)
    want = [sum(grad[i] * x[i + j] for i in range(m)) for j in range(k)]
    np.testing.assert_allclose(at @ ((g @ grad) * (bt @ x)), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k", KS)
def test_matrices_give_the_correlation_of_a_tile(k):
    m = winograd.tile(k)
    at, g, bt = winograd.matrices(m, k)
    assert at.shape == (m, winograd.ALPHA) and g.shape == (winograd.ALPHA, k) and bt.shape == (winograd.ALPHA,) * 2
    assert np.array_equal(bt, np.round(bt)), "the input transform should need no division"
    assert np.array_equal(at * 2.0 ** (3 * m), np.round(at * 2.0 ** (3 * m))), "powers of 0, +-1, +-2, +-1/2 only"
    rng = np.random.default_rng(k)
    for _ in range(5):
        d, taps = rng.standard_normal(winograd.ALPHA), rng.standard_normal(k)
        want = np.correlate(d, taps, "valid")  # y_o = sum_j taps_j d_{o+j}
        np.testing.assert_allclose(at @ ((g @ taps) * (bt @ d)), want, rtol=1e-12, atol=1e-12)


def test_weight_transform_is_g_times_each_filter_in_float64():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 2, 5)).astype(np.float32)
    u = winograd.weight_transform(w, winograd.tile(5))
    assert u.shape == (winograd.ALPHA, 2, 3) and u.dtype == np.float32 and u.flags.c_contiguous
    g = winograd.matrices(winograd.tile(5), 5)[1]
    want = np.einsum("ak,oik->aio", g, w.astype(np.float64))
    np.testing.assert_array_equal(u, want.astype(np.float32))  # rounded once, from the float64 product


def test_applies_to_2_to_7_taps():
    assert [k for k in range(1, 12) if winograd.applies(k)] == KS
    assert all(winograd.tile(k) + k - 1 == winograd.ALPHA for k in KS)


# ------------------------------------------------------------------ the kernels (numba and NumPy twins)
@settings(max_examples=25)
@given(
    b=st.integers(0, 3),
    rows=st.integers(0, 12),
    c=st.integers(1, 5),
    k=st.sampled_from(KS),
    tiles=st.integers(0, 4),
    row0=st.integers(-9, 9),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_input_transform_twins_agree_and_read_zeros_outside_the_signal(b, rows, c, k, tiles, row0, dtype, seed):
    """B^T (a x a) on the input's tiles; with G (a x m) as the matrix, the gradient's tiles (weight gradient)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((b, rows, c)).astype(dtype)
    m, a = winograd.tile(k), winograd.ALPHA
    bt = winograd.matrices(m, k)[2].astype(dtype) if seed % 2 else winograd.matrices(k, m)[1].astype(dtype)
    width = bt.shape[1]
    # reference: pad with zeros explicitly, then apply B^T to each tile's a rows
    lo = min(row0, 0)
    hi = max(row0 + (tiles - 1) * m + width, rows) if tiles else rows
    padded = np.zeros((b, hi - lo, c), np.float64)
    padded[:, -lo : -lo + rows] = x
    want = np.zeros((a, b, tiles, c))
    for t in range(tiles):
        first = row0 + t * m - lo
        want[:, :, t] = np.einsum("xi,nic->xnc", bt.astype(np.float64), padded[:, first : first + width])
    got = [
        f(x, bt, m, row0, np.full((a, b, tiles, c), np.nan, dtype))
        for f in [cpu.winograd_input_numpy] + ([cpu.winograd_input_numba] if cpu.HAVE_NUMBA else [])
    ]
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-13)
    for g in got:
        np.testing.assert_allclose(g, want, **tol)
        np.testing.assert_array_equal(g, got[0])  # the twins add in the same order: the same numbers


@settings(max_examples=25)
@given(
    b=st.integers(0, 3),
    tiles=st.integers(0, 4),
    c=st.integers(1, 5),
    k=st.sampled_from(KS),
    cut=st.integers(0, 6),
    bias=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
    bad=st.sampled_from([None, np.inf, -np.inf, np.nan]),
)
def test_output_transform_twins_agree_and_stop_at_the_signal_end(b, tiles, c, k, cut, bias, dtype, seed, bad):
    """...and both report whether what they wrote is finite (the op falls back to im2col when not)."""
    rng = np.random.default_rng(seed)
    m, a = winograd.tile(k), winograd.ALPHA
    at = winograd.matrices(m, k)[0].astype(dtype)
    prods = rng.standard_normal((a, b, tiles, c)).astype(dtype)
    want = np.einsum("ox,xntc->ntoc", at.astype(np.float64), prods).reshape(b, tiles * m, c)
    if bad is not None and prods.size:
        prods.reshape(-1)[rng.integers(prods.size)] = bad
    bias_arr = rng.standard_normal(c).astype(dtype) if bias else None
    ell = max(tiles * m - min(cut, m - 1), 0) if tiles else 0  # the last tile may stick out
    want = want[:, :ell]
    if bias:
        want = want + bias_arr
    got, flags = [], []
    for f in [cpu.winograd_output_numpy] + ([cpu.winograd_output_numba] if cpu.HAVE_NUMBA else []):
        got.append(np.full((b, ell, c), 7.0, dtype))
        flags.append(f(prods, at, bias_arr, got[-1]))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-13)
    for g, flag in zip(got, flags):
        assert type(flag) is bool and flag == bool(np.isfinite(g).all())
        if bad is None:
            np.testing.assert_allclose(g, want, **tol)
        np.testing.assert_array_equal(g, got[0])


@pytest.mark.parametrize("where", ["input", "weight", "upstream"])
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_infs_and_nans_land_where_im2col_and_torch_put_them(where, bad):
    """Winograd mixes a tile's inputs: one inf would make nan of outputs im2col leaves finite or inf. A
    result that is not all finite is therefore recomputed with im2col: the same infs and nans, in the
    same places, as im2col, and as torch for a bad input or upstream gradient. (A bad *weight* meets
    the zero padding, where im2col computes inf * 0 = nan and torch skips the padded taps.)"""
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 3, 30)).astype(np.float32), rng.standard_normal((4, 3, 5)).astype(np.float32)
    up = rng.standard_normal((2, 4, 30)).astype(np.float32)
    {"input": x, "weight": w, "upstream": up}[where][0, 1, 3] = bad

    def run(algorithm):
        mx, mw = mg.tensor(x, requires_grad=True), mg.tensor(w, requires_grad=True)
        with mg.backends.conv.use(algorithm), np.errstate(invalid="ignore", over="ignore"):
            my = mg.nn.functional.conv1d(mx, mw, padding=2)
            my.backward(mg.tensor(up))
        return my.detach().numpy(), mx.grad.numpy(), mw.grad.numpy()

    refs = [run("im2col")]
    if where != "weight":
        tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
        ty = torch.nn.functional.conv1d(tx, tw, padding=2)
        ty.backward(torch.tensor(up))
        refs.append((ty.detach().numpy(), tx.grad.numpy(), tw.grad.numpy()))
    got = run("auto")
    assert not all(np.isfinite(g).all() for g in got)
    for ref in refs:
        for g, want in zip(got, ref):
            for test in (np.isnan, np.isposinf, np.isneginf):
                np.testing.assert_array_equal(test(g), test(want))
            fin = np.isfinite(want)
            np.testing.assert_allclose(g[fin], want[fin], rtol=1e-5, atol=1e-5)


def test_kernel_dispatch_checks_its_arrays():
    x = np.ones((1, 4, 2), np.float32)
    bt = winograd.matrices(4, 5)[2].astype(np.float32)
    with pytest.raises(ValueError, match="one float dtype"):
        kernels.winograd_input(x, bt.astype(np.float64), 4, 0, np.empty((8, 1, 1, 2), np.float32))
    with pytest.raises(ValueError, match="does not fit"):
        kernels.winograd_input(x, bt, 4, 0, np.empty((8, 1, 1, 3), np.float32))
    at = winograd.matrices(4, 5)[0].astype(np.float32)
    with pytest.raises(ValueError, match="shapes do not fit"):
        kernels.winograd_output(np.ones((8, 1, 1, 2), np.float32), at, None, np.empty((1, 5, 2), np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.winograd_output(np.ones((8, 1, 2, 2), np.float32), at, None, np.empty((1, 2, 8), np.float32)[:, :, ::4])


# ------------------------------------------------------------------ the op against torch
@st.composite
def winograd_case(draw):
    k = draw(st.sampled_from(KS))
    c_in, c_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    padding = draw(st.one_of(st.integers(0, k + 1), st.sampled_from(["same", "valid"])))
    pad_total = 0 if padding == "valid" else k - 1 if padding == "same" else 2 * padding
    length = draw(st.integers(max(1, k - pad_total), k + 20))
    n = draw(st.sampled_from([None, 0, 1, 3]))
    shape = (c_in, length) if n is None else (n, c_in, length)
    elems = st.floats(-2, 2, allow_nan=False, width=64)
    x = draw(hnp.arrays(np.float64, shape, elements=elems))
    w = draw(hnp.arrays(np.float64, (c_out, c_in, k), elements=elems))
    b = draw(st.one_of(st.none(), hnp.arrays(np.float64, (c_out,), elements=elems)))
    return x, w, b, padding, draw(st.booleans())


@pytest.mark.parametrize("budget", [1, 200, 1 << 21])  # bytes per block: one tile, a few, whole samples
@settings(max_examples=15)
@given(case=winograd_case())
def test_winograd_float64_matches_torch_and_gradcheck(budget, case):
    """Forced on float64 (``algorithm = "winograd"``), Winograd must give torch's values and gradients to
    float64 precision and pass the finite-difference check, for every cut of the batch into blocks."""
    x, w, b, padding, channels_last = case

    def fn(lib, x, w, *bias):
        if lib is mg and channels_last and x.ndim == 3:  # the layout a previous conv or embedding leaves
            x = x.transpose(1, 2).contiguous().transpose(1, 2)
        f = torch.nn.functional if lib is torch else mg.nn.functional
        return f.conv1d(x, w, *(bias or [None]), padding=padding)

    old = conv_mod.WINOGRAD_BLOCK_BYTES
    conv_mod.WINOGRAD_BLOCK_BYTES = budget
    try:
        with mg.backends.conv.use("winograd"):
            compare(fn, x, w, *([] if b is None else [b]))
    finally:
        conv_mod.WINOGRAD_BLOCK_BYTES = old


def _course_layer(rng, dtype, c_in=64):
    x = np.maximum(rng.standard_normal((3, c_in, 200)), 0).astype(dtype)
    w = (rng.standard_normal((128, c_in, 5)) / np.sqrt(5 * c_in)).astype(dtype)
    return x, w, rng.standard_normal(128).astype(dtype) * 0.1


def test_winograd_float32_is_float32_accurate_on_the_course_layers():
    """On the course CNN's shapes, float32 Winograd (the default) stays within 1e-5 of the exact answer,
    relative to the largest entry: its error is ~5x im2col's, still far below what training notices."""
    rng = np.random.default_rng(0)
    for c_in in (64, 128):
        x, w, b = _course_layer(rng, np.float32, c_in)
        up = rng.standard_normal((3, 128, 200)).astype(np.float32)
        tx, tw, tb = (torch.tensor(a.astype(np.float64), requires_grad=True) for a in (x, w, b))
        exact = torch.nn.functional.conv1d(tx, tw, tb, padding=2)
        exact.backward(torch.tensor(up.astype(np.float64)))
        errs = {}
        for algo in ("auto", "im2col"):
            mx, mw, mb = (mg.tensor(a, requires_grad=True) for a in (x, w, b))
            with mg.backends.conv.use(algo):
                out = mg.nn.functional.conv1d(mx, mw, mb, padding=2)
                out.backward(mg.tensor(up))
            assert out.dtype == mg.float32 and mx.grad.dtype == mg.float32
            errs[algo] = [
                np.abs(got.astype(np.float64) - want).max() / np.abs(want).max()
                for got, want in [
                    (out.detach().numpy(), exact.detach().numpy()),
                    (mx.grad.numpy(), tx.grad.numpy()),
                    (mw.grad.numpy(), tw.grad.numpy()),
                ]
            ]
        assert max(errs["auto"]) < 1e-5, errs
        assert max(errs["im2col"]) < 1e-6, errs


def _count_winograd(monkeypatch):
    calls = []
    real = kernels.winograd_input
    monkeypatch.setattr(kernels, "winograd_input", lambda *a: calls.append(1) or real(*a))
    return calls


@pytest.mark.parametrize(
    "dtype,kw,k,algo,expect",
    [
        (np.float32, dict(padding=2), 5, "auto", True),
        (np.float64, dict(padding=2), 5, "auto", False),  # float64: im2col unless asked
        (np.float64, dict(padding=2), 5, "winograd", True),
        (np.float32, dict(padding=2), 5, "im2col", False),
        (np.float32, dict(stride=2), 5, "auto", False),  # Winograd here is stride 1, dilation 1, groups 1 only
        (np.float32, dict(dilation=2), 3, "auto", False),
        (np.float32, dict(groups=2), 3, "auto", False),
        (np.float32, {}, 1, "auto", False),  # one tap: a plain matrix product already
        (np.float32, {}, 8, "auto", False),  # more taps than a tile of 8 inputs holds
        (np.float16, dict(padding=1), 3, "winograd", False),  # float16: too few bits for the transforms
    ],
)
def test_which_convolutions_take_winograd(dtype, kw, k, algo, expect, monkeypatch):
    calls = _count_winograd(monkeypatch)
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.standard_normal((2, 4, 12)).astype(dtype), requires_grad=True)
    w = mg.tensor(rng.standard_normal((4, 4 // kw.get("groups", 1), k)).astype(dtype), requires_grad=True)
    with mg.backends.conv.use(algo):
        out = mg.nn.functional.conv1d(x, w, **kw)
        forward_calls = len(calls)
        out.sum().backward()
    assert (forward_calls > 0) == expect
    assert (len(calls) > forward_calls) == expect  # the input gradient follows the same choice
    if not expect:
        with mg.backends.conv.use("im2col"):
            ref = mg.nn.functional.conv1d(x.detach(), w.detach(), **kw)
        np.testing.assert_array_equal(out.detach().numpy(), ref.numpy())


@pytest.mark.parametrize(
    "x_grad,w_grad,transforms",
    [
        (True, True, 3),  # input gradient: one transform; weight gradient: the input's and the gradient's
        (False, True, 2),
        (True, False, 1),
    ],
)
def test_backward_computes_only_the_gradients_asked_for(x_grad, w_grad, transforms, monkeypatch):
    calls = _count_winograd(monkeypatch)
    x = mg.randn(2, 3, 10, requires_grad=x_grad)
    w = mg.randn(4, 3, 5, requires_grad=w_grad)
    out = mg.nn.functional.conv1d(x, w, padding=2)
    assert len(calls) == 1  # the forward: one block
    out.sum().backward()
    assert len(calls) - 1 == transforms
    assert (x.grad is not None) == x_grad and (w.grad is not None) == w_grad


# ------------------------------------------------------------------ the switch
def test_algorithm_setting_is_checked_and_use_restores_it():
    settings_mod = mg.backends.conv
    assert settings_mod.algorithm in settings_mod.ALGORITHMS
    before = settings_mod.algorithm
    with pytest.raises(ValueError, match="unknown algorithm 'fast'"), settings_mod.use("fast"):
        pass
    with pytest.raises(KeyError), settings_mod.use("im2col"):
        assert settings_mod.algorithm == "im2col"
        raise KeyError("inside")
    assert settings_mod.algorithm == before
    with pytest.raises(ValueError, match="conv_algorithm must be one of .* got 'winnograd'"):
        settings_mod.algorithm = "winnograd"  # a typo is refused where it is made
    assert settings_mod.algorithm == before == mg.config.conv_algorithm


def test_environment_variable_sets_the_starting_algorithm():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, MINIGRAD_CONV="im2col", PYTHONPATH=root)
    code = "import minigrad, sys; sys.stdout.write(minigrad.backends.conv.algorithm)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "im2col"
