"""minigrad.compute.fast.kernels: each numba kernel agrees with its NumPy twin, and the twins agree with torch."""

from __future__ import annotations

import os
import subprocess
import sys

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from minigrad.compute.fast import kernels
from minigrad.compute.fast.kernels import cpu

needs_numba = pytest.mark.skipif(not cpu.HAVE_NUMBA, reason="numba is not installed")
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


def _both(name):
    """The NumPy reference and (when numba is installed) the compiled kernel called ``name``."""
    impls = [cpu.NUMPY[name]]
    if cpu.HAVE_NUMBA:
        impls.append(cpu.NUMBA[name])
    return impls


# ----------------------------------------------------------------------------- embedding backward
@given(
    m=st.integers(0, 40),
    d=st.integers(1, 6),
    num=st.integers(1, 7),
    pad=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
    transposed=st.booleans(),
)
def test_embedding_backward_matches_torch(m, d, num, pad, dtype, seed, transposed):
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, num, m)  # few rows, many repeats
    grad = rng.standard_normal((d, m) if transposed else (m, d)).astype(dtype)
    if transposed:
        grad = grad.T  # a non-contiguous upstream gradient
    padding_idx = int(rng.integers(0, num)) if pad else None
    w = torch.zeros(num, d, dtype=torch.float64 if dtype == np.float64 else torch.float32, requires_grad=True)
    torch.nn.functional.embedding(torch.tensor(idx), w, padding_idx=padding_idx).backward(torch.tensor(grad))
    for fn in _both("embedding_backward"):
        got = fn(idx, grad, num, -1 if padding_idx is None else padding_idx)
        assert got.dtype == dtype and got.shape == (num, d)
        np.testing.assert_allclose(got, w.grad.numpy(), **TOL[dtype], err_msg=fn.__name__)


def test_embedding_backward_repeated_index_sums_every_row():
    idx = np.array([2, 2, 2, 0])
    grad = np.arange(8, dtype=np.float64).reshape(4, 2)
    for fn in _both("embedding_backward"):
        got = fn(idx, grad, 3, -1)
        np.testing.assert_array_equal(got, [[6, 7], [0, 0], [0 + 2 + 4, 1 + 3 + 5]])
        got = fn(idx, grad, 3, 2)  # the padding row gets nothing
        np.testing.assert_array_equal(got, [[6, 7], [0, 0], [0, 0]])


def test_embedding_backward_int32_indices():
    idx = np.array([1, 0, 1], dtype=np.int32)
    grad = np.ones((3, 2), dtype=np.float32)
    for fn in _both("embedding_backward"):
        np.testing.assert_array_equal(fn(idx, grad, 2, -1), [[1, 1], [2, 2]])


# ----------------------------------------------------------------------------- ReLU backward
@given(
    x=hnp.arrays(
        st.sampled_from(DTYPES),
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5),
        elements=st.floats(-3, 3, width=32),
    ),
    seed=st.integers(0, 2**16),
)
def test_relu_backward_matches_torch(x, seed):
    grad = np.random.default_rng(seed).standard_normal(x.shape).astype(x.dtype)
    t = torch.tensor(x, requires_grad=True)
    out = torch.relu(t)
    out.backward(torch.tensor(grad))
    for fn in _both("relu_backward"):
        got = fn(grad, out.detach().numpy())
        assert got.dtype == x.dtype and got.shape == x.shape
        np.testing.assert_array_equal(got, t.grad.numpy(), err_msg=fn.__name__)


@given(
    x=hnp.arrays(
        st.sampled_from(DTYPES),
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5),
        elements=st.floats(-3, 3, width=32) | st.just(float("nan")) | st.just(-0.0),
    )
)
def test_relu_forward_matches_torch_nan_included(x):
    want = torch.relu(torch.tensor(x)).numpy()
    for fn in _both("relu_forward"):
        got = fn(x)
        assert got.dtype == x.dtype and got.shape == x.shape
        np.testing.assert_array_equal(got, want, err_msg=fn.__name__)


def test_relu_forward_keeps_a_channels_last_layout():
    x = np.random.default_rng(0).standard_normal((2, 700, 3)).astype(np.float32).transpose(0, 2, 1)  # (N, C, L)
    assert x.size >= kernels.SMALL  # large enough for the compiled path
    for backend in _backends():
        with kernels.use(backend):
            got = kernels.relu_forward(x)
            np.testing.assert_array_equal(got, np.maximum(x, 0))
            assert got.transpose(0, 2, 1).flags.c_contiguous  # same memory order as the input
    assert kernels.relu_forward(x[:, :, ::2]) is not None  # not dense: the NumPy twin


def test_relu_backward_dispatch_handles_non_contiguous():
    rng = np.random.default_rng(0)
    g, o = rng.standard_normal((4, 1600)).T, rng.standard_normal((1600, 4))  # layouts differ: the NumPy twin
    g2, o2 = g.T.copy().T, o.T.copy().T  # both column-major: the compiled loop in memory order
    for backend in _backends():
        with kernels.use(backend):
            np.testing.assert_array_equal(kernels.relu_backward(g2, o2), g2 * (o2 > 0))
    for backend in _backends():
        with kernels.use(backend):
            np.testing.assert_array_equal(kernels.relu_backward(g, o), g * (o > 0))


# ----------------------------------------------------------------------------- masked mean pooling
def _torch_masked_mean(x, mask):
    m = mask.to(x.dtype)
    return (x * m[:, None, :]).sum(-1) / m.sum(-1, keepdim=True).clamp(min=1)


@given(
    n=st.integers(0, 3),
    c=st.integers(1, 4),
    length=st.integers(1, 7),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
    fuse_relu=st.booleans(),
)
def test_masked_pool_matches_torch(n, c, length, dtype, seed, fuse_relu):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, length)).astype(dtype)
    lengths = rng.integers(0, length + 1, n)  # a length of 0 (all padding) is allowed
    mask = np.arange(length)[None, :] < lengths[:, None]
    w = (mask / np.maximum(mask.sum(-1, keepdims=True), 1)).astype(dtype)
    up = rng.standard_normal((n, c)).astype(dtype)

    tx = torch.tensor(x, requires_grad=True)
    feat = torch.relu(tx) if fuse_relu else tx
    ref = _torch_masked_mean(feat, torch.tensor(mask))
    ref.backward(torch.tensor(up))
    relu_out = feat.detach().numpy() if fuse_relu else None
    x_in = feat.detach().numpy()

    for fwd in _both("masked_pool_forward"):
        got = fwd(x_in, w)
        assert got.shape == (n, c) and got.dtype == dtype
        np.testing.assert_allclose(got, ref.detach().numpy(), **TOL[dtype], err_msg=fwd.__name__)
    for bwd in _both("masked_pool_backward"):
        got = bwd(up, w, relu_out)
        assert got.shape == x.shape and got.dtype == dtype
        np.testing.assert_allclose(got, tx.grad.numpy(), **TOL[dtype], err_msg=bwd.__name__)


# ----------------------------------------------------------------------------- Adam / AdamW
ADAM_CASES = [
    dict(),
    dict(weight_decay=0.1),
    dict(weight_decay=0.05, amsgrad=True),
    dict(maximize=True, lr=0.01, betas=(0.8, 0.99)),
    dict(betas=(0.3, 0.9)),  # 1 - beta1 >= 0.5: torch's lerp switches to its other form
    dict(weight_decay=0.1, maximize=True, amsgrad=True, eps=1e-6),
]


@pytest.mark.parametrize("decoupled", [False, True], ids=["Adam", "AdamW"])
@pytest.mark.parametrize("case", ADAM_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_update_tracks_torch_over_many_steps(decoupled, case, dtype):
    rng = np.random.default_rng(1)
    shape = (3, 5)
    p0 = rng.standard_normal(shape).astype(dtype)
    grads = [rng.standard_normal(shape).astype(dtype) for _ in range(25)]
    opts = dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False)
    opts.update(case)
    if decoupled and "weight_decay" not in case:
        opts["weight_decay"] = 1e-2  # AdamW's default

    tp = torch.tensor(p0.copy(), requires_grad=True)
    opt = (torch.optim.AdamW if decoupled else torch.optim.Adam)([tp], **opts)
    for g in grads:
        tp.grad = torch.tensor(g)
        opt.step()

    for fn in _both("adam_update"):
        p, m, v = p0.copy(), np.zeros(shape, dtype), np.zeros(shape, dtype)
        vmax = np.zeros(shape, dtype) if opts["amsgrad"] else None
        for step, g in enumerate(grads, 1):
            fn(
                p,
                g,
                m,
                v,
                vmax,
                step,
                opts["lr"],
                opts["betas"][0],
                opts["betas"][1],
                opts["eps"],
                opts["weight_decay"],
                decoupled,
                opts["maximize"],
            )
        assert p.dtype == dtype
        tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(p, tp.detach().numpy(), **tol, err_msg=fn.__name__)
        np.testing.assert_allclose(m, opt.state[tp]["exp_avg"].numpy(), **tol)
        np.testing.assert_allclose(v, opt.state[tp]["exp_avg_sq"].numpy(), **tol)


def test_adam_update_dispatch_in_place_and_fallbacks():
    rng = np.random.default_rng(2)
    for backend in _backends():
        with kernels.use(backend):
            p = rng.standard_normal((4, 3))
            g = rng.standard_normal((4, 3))
            m, v = np.zeros_like(p), np.zeros_like(p)
            before = p.copy()
            assert kernels.adam_update(p, g, m, v, step=1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8) is True
            # first Adam step moves every coordinate by lr against the sign of its gradient
            np.testing.assert_allclose(p, before - 0.1 * np.sign(g), rtol=1e-6)
            # a non-contiguous parameter view is still updated in place (through the NumPy path)
            big = rng.standard_normal((3, 4))
            view = big.T
            mv, vv = np.zeros_like(view), np.zeros_like(view)
            kernels.adam_update(view, np.ones_like(view), mv, vv, step=1, lr=0.5, beta1=0.9, beta2=0.999, eps=1e-8)
            np.testing.assert_allclose(big.T, view)
            assert not np.allclose(mv, 0)
            # mismatched dtypes are not handled: None, nothing changed
            p32 = p.astype(np.float32)
            assert kernels.adam_update(p32, g, m, v, step=2, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8) is None


# ----------------------------------------------------------------------------- col2im
def _im2col(xpad_t, k, stride, dilation, l_out):
    """(N, Lp, C) channels-last padded signal -> (N, L_out, K, C) columns, as Conv1d builds them."""
    return np.stack(
        [xpad_t[:, j * dilation : j * dilation + stride * (l_out - 1) + 1 : stride] for j in range(k)], axis=2
    )


@given(
    n=st.integers(0, 2),
    c=st.integers(1, 3),
    length=st.integers(1, 9),
    k=st.integers(1, 4),
    padding=st.integers(0, 3),
    stride=st.integers(1, 3),
    dilation=st.integers(1, 2),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from(DTYPES),
)
def test_col2im_is_the_adjoint_of_im2col_and_matches_torch(n, c, length, k, padding, stride, dilation, seed, dtype):
    lp = length + 2 * padding
    if lp < dilation * (k - 1) + 1:
        return  # no output positions: not a valid convolution
    l_out = (lp - dilation * (k - 1) - 1) // stride + 1
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, length)).astype(dtype)
    cols = rng.standard_normal((n, l_out, k, c)).astype(dtype)
    # torch: the input gradient of unfold (torch's im2col) for the same upstream columns
    tx = torch.tensor(x, requires_grad=True)
    t_cols = torch.nn.functional.unfold(
        tx[:, :, None, :], (1, k), dilation=(1, dilation), padding=(0, padding), stride=(1, stride)
    )  # (N, C*K, L_out), channel-major
    t_cols.backward(torch.tensor(cols.transpose(0, 3, 2, 1).reshape(n, c * k, l_out)))
    xpad_t = np.pad(x, ((0, 0), (0, 0), (padding, padding))).transpose(0, 2, 1)
    for fn in _both("col2im"):
        got = fn(cols, lp, stride, dilation)
        assert got.shape == (n, lp, c) and got.dtype == dtype
        inner = got[:, padding : padding + length].transpose(0, 2, 1)
        np.testing.assert_allclose(inner, tx.grad.numpy(), **TOL[dtype], err_msg=fn.__name__)
        # adjoint identity <im2col(x), cols> == <x, col2im(cols)> (padding rows included)
        np.testing.assert_allclose(
            np.vdot(_im2col(xpad_t, k, stride, dilation, l_out), cols), np.vdot(xpad_t, got), rtol=1e-4, atol=1e-5
        )


def test_col2im_rejects_columns_that_do_not_fit():
    with pytest.raises(ValueError, match="do not fit"):
        kernels.col2im(np.ones((1, 4, 3, 2)), 5)
    with pytest.raises(ValueError, match="out must be"):
        kernels.col2im(np.ones((1, 4, 3, 2)), 6, out=np.ones((1, 6, 3)))


def test_col2im_writes_into_out():
    cols = np.random.default_rng(0).standard_normal((2, 4, 3, 2))
    for backend in _backends():
        with kernels.use(backend):
            out = np.full((2, 6, 2), 7.0)  # stale contents must not leak into the result
            res = kernels.col2im(cols, 6, out=out)
            assert res is out
            np.testing.assert_allclose(out, cpu.col2im_numpy(cols, 6))


# ----------------------------------------------------------------------------- the switch
def _backends():
    return kernels.BACKENDS if cpu.HAVE_NUMBA else ("numpy",)


def test_set_backend_and_use_restore():
    start = kernels.get_backend()
    with kernels.use("numpy"):
        assert kernels.get_backend() == "numpy"
        with pytest.raises(ValueError, match="unknown backend"):
            kernels.set_backend("fortran")
        assert kernels.get_backend() == "numpy"
    assert kernels.get_backend() == start
    prev = kernels.set_backend("numpy")
    try:
        assert prev == start
    finally:
        kernels.set_backend(start)


@needs_numba
def test_dispatch_uses_the_chosen_implementation(monkeypatch):
    calls = []
    monkeypatch.setitem(cpu.NUMBA, "relu_backward", lambda g, o: calls.append("numba") or g * (o > 0))
    monkeypatch.setitem(cpu.NUMPY, "relu_backward", lambda g, o: calls.append("numpy") or g * (o > 0))
    a = np.ones((2, kernels.SMALL))
    with kernels.use("numba"):
        kernels.relu_backward(a, a)
        kernels.relu_backward(a[:, :2], a[:, :2])  # small: the NumPy twin, the compiled call costs more
    with kernels.use("numpy"):
        kernels.relu_backward(a, a)
    assert calls == ["numba", "numpy", "numpy"]


def test_non_numpy_arrays_are_declined():
    class NotNumpy(np.ndarray):  # e.g. the fake GPU's arrays: not exactly np.ndarray
        pass

    a = np.ones((2, 3)).view(NotNumpy)
    assert kernels.relu_backward(a, a) is None
    assert kernels.embedding_backward(np.array([0, 1]), a[:, :2].T.copy().view(NotNumpy), 3) is None
    assert kernels.masked_pool_backward(a, np.ones((2, 4))) is None
    assert kernels.col2im(np.ones((1, 2, 3)), 2) is None  # wrong rank
    assert kernels.embedding_backward(np.array([0.5]), np.ones((1, 2)), 3) is None  # float indices


@pytest.mark.parametrize("value,expected", [("numpy", "numpy"), ("NumPy", "numpy")])
def test_environment_variable_selects_backend(value, expected):
    env = dict(os.environ, MINIGRAD_KERNELS=value)
    code = "import minigrad.compute.fast.kernels as k; print(k.get_backend())"
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=_root())
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == expected


def test_environment_variable_rejects_unknown_backend():
    env = dict(os.environ, MINIGRAD_KERNELS="cuda-magic")
    res = subprocess.run(
        [sys.executable, "-c", "import minigrad.compute.fast.kernels"],
        env=env,
        capture_output=True,
        text=True,
        cwd=_root(),
    )
    assert res.returncode != 0 and "MINIGRAD_KERNELS" in res.stderr


@needs_numba
def test_warmup_compiles_and_reports_seconds():
    secs = kernels.warmup()
    assert isinstance(secs, float) and secs >= 0
    # after warm-up every kernel has at least one compiled signature
    for name in (
        "_embedding_backward_loop",
        "_relu_forward_loop",
        "_relu_backward_loop",
        "_masked_pool_backward_loop",
        "_adam_loop",
        "_amsgrad_loop",
        "_col2im_loop",
    ):
        assert getattr(cpu, name).signatures, name


def _root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ----------------------------------------------------------------------------- the ops that use the kernels
@pytest.mark.parametrize("dtype", DTYPES)
def test_wired_ops_agree_with_torch_under_both_backends(dtype):
    """Embedding backward, Conv1d backward (col2im) and Adam give torch's numbers with either backend."""
    import minigrad as mg

    rng = np.random.default_rng(3)
    idx = rng.integers(0, 5, (2, 7))
    idx[0, :2] = 0  # padding rows
    w0 = rng.standard_normal((5, 3)).astype(dtype)
    cw = rng.standard_normal((4, 3, 3)).astype(dtype)
    up = rng.standard_normal((2, 4, 7)).astype(dtype)
    tol = TOL[dtype]

    tw, tcw = torch.tensor(w0, requires_grad=True), torch.tensor(cw, requires_grad=True)
    topt = torch.optim.Adam([tw, tcw], lr=0.1)
    for _ in range(3):
        topt.zero_grad()
        h = torch.nn.functional.embedding(torch.tensor(idx), tw, padding_idx=0).transpose(1, 2)
        torch.nn.functional.conv1d(h, tcw, padding=1).backward(torch.tensor(up))
        topt.step()

    for backend in _backends():
        # im2col: its input gradient is the one that folds columns with col2im (Winograd's is tested apart)
        with kernels.use(backend), mg.backends.conv.use("im2col"):
            mw, mcw = mg.tensor(w0, requires_grad=True), mg.tensor(cw, requires_grad=True)
            mopt = mg.optim.Adam([mw, mcw], lr=0.1)
            for _ in range(3):
                mopt.zero_grad()
                h = mg.nn.functional.embedding(mg.tensor(idx), mw, padding_idx=0).transpose(1, 2)
                mg.nn.functional.conv1d(h, mcw, padding=1).backward(mg.tensor(up))
                mopt.step()
            np.testing.assert_allclose(mw.grad.numpy(), tw.grad.numpy(), **tol, err_msg=backend)
            np.testing.assert_allclose(mcw.grad.numpy(), tcw.grad.numpy(), **tol, err_msg=backend)
            np.testing.assert_allclose(mw.detach().numpy(), tw.detach().numpy(), **tol, err_msg=backend)
            np.testing.assert_allclose(mcw.detach().numpy(), tcw.detach().numpy(), **tol, err_msg=backend)
            assert mw.grad.numpy()[0].tolist() == [0, 0, 0]  # the padding row gets no gradient


def test_float16_takes_the_numpy_reference():
    """numba compiles no float16 loops: those arrays must go to the NumPy reference, not crash."""
    h = np.float16
    for backend in _backends():
        with kernels.use(backend):
            got = kernels.embedding_backward(np.array([0, 1, 1]), np.ones((3, 2), h), 3, 0)
            assert got.dtype == h and got.tolist() == [[0, 0], [2, 2], [0, 0]]
            got = kernels.col2im(np.ones((1, 3, 2, 2), h), 4)
            assert got.dtype == h and got[0, :, 0].tolist() == [1, 2, 2, 1]
            got = kernels.relu_backward(np.ones(3, h), np.array([1, 0, -1], h))
            assert got.dtype == h and got.tolist() == [1, 0, 0]
            got = kernels.masked_pool_backward(np.ones((1, 2), h), np.full((1, 3), 0.5, h))
            assert got.dtype == h and got.shape == (1, 2, 3)
            p = np.ones(3, h)
            assert kernels.adam_update(
                p, np.ones(3, h), np.zeros(3, h), np.zeros(3, h), step=1, lr=0.5, beta1=0.9, beta2=0.99, eps=1e-8
            )
            np.testing.assert_allclose(p, 0.5, rtol=1e-2)  # float16 arithmetic: ~3 significant digits


@pytest.mark.parametrize("budget", [1, 400, 1 << 22])  # one position per block, a few, the whole batch
def test_conv1d_gradients_in_blocks_match_torch_with_either_col2im(budget, monkeypatch):
    import minigrad as mg
    from minigrad.compute.fast import conv as conv_mod

    monkeypatch.setattr(conv_mod, "COLS_BLOCK_BYTES", budget)
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((5, 3, 9)), rng.standard_normal((2, 3, 3))
    up = rng.standard_normal((5, 2, 5))
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    torch.nn.functional.conv1d(tx, tw, padding=2, stride=2, dilation=2).backward(torch.tensor(up))
    for backend in _backends():
        with kernels.use(backend), mg.config.using(backend="fast"):  # the fast backend's blocks and col2im
            mx, mw = mg.tensor(x, requires_grad=True), mg.tensor(w, requires_grad=True)
            mg.nn.functional.conv1d(mx, mw, padding=2, stride=2, dilation=2).backward(mg.tensor(up))
            np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-13)
            np.testing.assert_allclose(mw.grad.numpy(), tw.grad.numpy(), rtol=1e-12, atol=1e-13)


def test_malloc_settings_are_opt_in_on_linux_glibc():
    import subprocess
    import sys

    code = "import minigrad, sys; sys.stdout.write(str(minigrad._malloc.tuned))"
    env = dict(os.environ)
    env.pop("MINIGRAD_MALLOC", None)
    on = subprocess.run(
        [sys.executable, "-c", code], env=env | {"MINIGRAD_MALLOC": "tuned"}, capture_output=True, text=True, check=True
    ).stdout
    off = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    switched = subprocess.run(
        [sys.executable, "-c", "import minigrad, sys; minigrad.config.malloc_tuning = True; " + code.split("; ", 1)[1]],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert off == "False"
    import ctypes

    try:
        _ = ctypes.CDLL("libc.so.6").mallopt
        glibc = sys.platform.startswith("linux")
    except (OSError, AttributeError):
        glibc = False
    assert on == str(glibc) and switched == str(glibc)
