"""conv1d and nn.Conv1d against torch: forward, input/weight/bias gradients, gradcheck, errors, init."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.compute.fast import conv as conv_mod
from tests.opcheck import compare

# torch warns that its own 'same' padding with an even kernel copies the input; not our concern here
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


def F(lib):
    return torch.nn.functional if lib is torch else lib.nn.functional


@st.composite
def conv_case(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    k = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3))
    dilation = draw(st.integers(1, 2))
    padding = draw(
        st.one_of(st.integers(0, 3), st.sampled_from(["valid", "same"]) if stride == 1 else st.just("valid"))
    )
    span = dilation * (k - 1) + 1
    pad_total = 0 if padding == "valid" else span - 1 if padding == "same" else 2 * padding
    length = draw(st.integers(max(1, span - pad_total), span + 5))
    n = draw(st.sampled_from([None, 0, 1, 2]))  # None: unbatched (C_in, L)
    shape = (c_in, length) if n is None else (n, c_in, length)
    elems = st.floats(-2, 2, allow_nan=False, width=64)
    x = draw(hnp.arrays(np.float64, shape, elements=elems))
    w = draw(hnp.arrays(np.float64, (c_out, c_in // groups, k), elements=elems))
    b = draw(st.one_of(st.none(), hnp.arrays(np.float64, (c_out,), elements=elems)))
    return x, w, b, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


# float32 stride-1 convolutions take Winograd (minigrad.compute.fast.winograd), whose rounding error is relative
# to the largest output, not to each entry: ~2e-6 of it against im2col's ~4e-7. So float32 comparisons
# allow an absolute error of F32_ATOL (the outputs here are at most ~10 in size).
F32_ATOL = 2e-5


def _run(x, w, b, kw, dtype):
    x, w = x.astype(dtype), w.astype(dtype)
    tol = dict(atol=F32_ATOL) if dtype == np.float32 else {}
    if b is None:
        compare(lambda lib, x, w: F(lib).conv1d(x, w, None, **kw), x, w, **tol)
    else:
        compare(lambda lib, x, w, b: F(lib).conv1d(x, w, b, **kw), x, w, b.astype(dtype), **tol)


@settings(max_examples=30)
@given(conv_case())
def test_conv1d_matches_torch_and_gradcheck_float64(case):
    _run(*case, np.float64)


@given(conv_case())
def test_conv1d_matches_torch_float32(case):
    _run(*case, np.float32)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("dilation", [1, 2])
def test_same_padding_even_and_odd_kernels(k, dilation):
    rng = np.random.default_rng(k)
    x, w, b = rng.standard_normal((2, 3, 7)), rng.standard_normal((4, 3, k)), rng.standard_normal(4)
    compare(lambda lib, x, w, b: F(lib).conv1d(x, w, b, padding="same", dilation=dilation), x, w, b)
    out = mg.nn.functional.conv1d(mg.tensor(x), mg.tensor(w), padding="same", dilation=dilation)
    assert out.shape == (2, 4, 7)


@pytest.mark.parametrize(
    "stride,padding,dilation,groups",
    [
        (1, 0, 1, 1),
        (2, 1, 1, 1),
        (3, 2, 2, 1),
        (1, 2, 3, 1),
        (2, 0, 1, 2),
        (1, 1, 2, 4),
        (2, "valid", 1, 1),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv1d_options(stride, padding, dilation, groups, dtype):
    rng = np.random.default_rng(stride * 10 + dilation)
    x = rng.standard_normal((3, 4, 11)).astype(dtype)
    w = rng.standard_normal((8, 4 // groups, 3)).astype(dtype)
    b = rng.standard_normal(8).astype(dtype)
    compare(
        lambda lib, x, w, b: F(lib).conv1d(x, w, b, stride, padding, dilation, groups),
        x,
        w,
        b,
        **(dict(atol=F32_ATOL) if dtype == np.float32 else {}),
    )


@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_conv1d_keeps_float32_and_returns_a_channels_last_view(backend):
    x = mg.randn(2, 3, 9)
    w = mg.randn(5, 3, 3, requires_grad=True)
    with mg.config.using(backend=backend):
        out = mg.nn.functional.conv1d(x, w, padding=1)
    assert out.dtype == mg.float32 and out.shape == (2, 5, 9)
    if backend == "fast":
        # computed as (N, L, C_out) and returned transposed: the next layer reads its input channels last
        assert not out.is_contiguous() and out.transpose(1, 2).is_contiguous()
    flat = out.view(2, -1)  # minigrad's view copies a layout torch would refuse to view
    np.testing.assert_array_equal(flat.detach().numpy(), out.detach().contiguous().numpy().reshape(2, -1))
    out.backward(mg.ones_like(out))
    assert w.grad.dtype == mg.float32


def test_conv1d_weight_only_and_input_only_gradients():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3, 8)), rng.standard_normal((4, 3, 3))
    compare(lambda lib, x, w: F(lib).conv1d(x, w, stride=2), x, w, grad_inputs=[0])
    compare(lambda lib, x, w: F(lib).conv1d(x, w, padding=1), x, w, grad_inputs=[1])


@pytest.mark.parametrize("budget", [1, 150, 2000])  # bytes of columns per block: one position, a few, some samples
@settings(max_examples=20)
@given(case=conv_case())
def test_conv1d_in_cache_sized_blocks_matches_torch(budget, case):
    """The batch is cut into blocks (whole samples, or stretches of one sample sharing halo rows); every
    cut must give torch's values and gradients, including the positions whose taps reach the padding."""
    old = conv_mod.COLS_BLOCK_BYTES
    conv_mod.COLS_BLOCK_BYTES = budget
    try:
        with mg.config.using(backend="fast"):  # the blocks are the fast backend's
            _run(*case, np.float64)
    finally:
        conv_mod.COLS_BLOCK_BYTES = old


def test_conv1d_blocks_cover_the_batch_exactly_once():
    for n, l_out, row_bytes, budget in [
        (5, 7, 10, 1),
        (5, 7, 10, 150),
        (5, 7, 10, 10**6),
        (3, 100, 8, 50),
        (0, 4, 8, 10),
        (4, 1, 8, 1),
        (7, 9, 16, None),
    ]:
        seen = np.zeros((n, l_out), int)
        for n0, n1, l0, l1 in conv_mod._blocks(n, l_out, row_bytes, budget):
            assert n1 == n0 + 1 or (l0, l1) == (0, l_out)  # whole samples, or a stretch of one sample
            seen[n0:n1, l0:l1] += 1
        assert (seen == 1).all(), (n, l_out, row_bytes, budget)


def test_conv1d_keeps_only_the_input_for_backward_not_the_columns():
    x = mg.randn(4, 8, 50, requires_grad=True)
    conv = mg.nn.Conv1d(8, 16, 5, padding=2)
    out = conv(x)
    saved = [v for v in vars(out.grad_fn).values() if hasattr(v, "nbytes") and hasattr(v, "strides")]
    assert saved, "the op saved no arrays at all?"
    assert sum(v.nbytes for v in saved) <= x.array.nbytes + conv.weight.array.nbytes  # nothing K times larger
    out.sum().backward()
    assert x.grad.shape == x.shape


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: (mg.zeros(2, 3, 4, 5), mg.zeros(4, 3, 3)), "Expected 2D \\(unbatched\\) or 3D"),
        (lambda: (mg.zeros(3), mg.zeros(4, 3, 3)), "Expected 2D \\(unbatched\\) or 3D"),
        (lambda: (mg.zeros(2, 3, 10), mg.zeros(4, 2, 3)), "expected input\\[2, 3, 10\\] to have 2 channels, but got 3"),
        (lambda: (mg.zeros(2, 3, 2), mg.zeros(4, 3, 3)), "Kernel size can't be greater than actual input size"),
        (lambda: (mg.zeros(2, 3, 10), mg.zeros(4, 3)), "weight should have three dimensions"),
    ],
)
def test_conv1d_shape_errors(make, match):
    x, w = make()
    with pytest.raises(RuntimeError, match=match):
        mg.nn.functional.conv1d(x, w)


def test_conv1d_argument_errors():
    x, w = mg.zeros(2, 3, 10), mg.zeros(4, 3, 3)
    f = mg.nn.functional.conv1d
    with pytest.raises(RuntimeError, match="padding='same' is not supported for strided convolutions"):
        f(x, w, padding="same", stride=2)
    with pytest.raises(RuntimeError, match="invalid padding string 'foo'"):
        f(x, w, padding="foo")
    with pytest.raises(RuntimeError, match="expected bias to be 1-dimensional with 4 elements"):
        f(x, w, mg.zeros(3))
    with pytest.raises(RuntimeError, match="same dtype"):
        f(x, w.double())
    with pytest.raises(RuntimeError, match="non-positive stride"):
        f(x, w, stride=0)
    with pytest.raises(RuntimeError, match="negative padding"):
        f(x, w, padding=-1)
    with pytest.raises(RuntimeError, match="floating-point input"):
        f(x.long(), w.long())
    with pytest.raises(RuntimeError, match="Given groups=2.*to have 6 channels"):
        f(x, w, groups=2)


# ------------------------------------------------------------------ the layer
def _copy_conv(m, t):
    with torch.no_grad():
        t.weight.copy_(torch.tensor(m.weight.detach().numpy()))
        if m.bias is not None:
            t.bias.copy_(torch.tensor(m.bias.detach().numpy()))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=3),
        dict(kernel_size=5, padding=2),
        dict(kernel_size=4, padding="same"),
        dict(kernel_size=3, stride=2, dilation=2, bias=False),
        dict(kernel_size=3, groups=2, padding=1),
        dict(kernel_size=3, padding=2, padding_mode="reflect"),
        dict(kernel_size=2, padding="same", padding_mode="circular"),
        dict(kernel_size=3, padding=1, padding_mode="replicate"),
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv1d_layer_matches_torch(kwargs, dtype):
    mg.manual_seed(0)
    m = mg.nn.Conv1d(4, 6, **kwargs).to(getattr(mg, dtype))
    t = torch.nn.Conv1d(4, 6, **kwargs).to(getattr(torch, dtype))
    _copy_conv(m, t)
    assert repr(m) == repr(t)
    x = np.random.default_rng(3).standard_normal((2, 4, 9)).astype(dtype)
    xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ym, yt = m(xm), t(xt)
    tol = dict(rtol=1e-5, atol=F32_ATOL) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ym.detach().numpy(), yt.detach().numpy(), **tol)
    up = np.random.default_rng(4).standard_normal(tuple(yt.shape)).astype(dtype)
    ym.backward(mg.tensor(up))
    yt.backward(torch.tensor(up))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), **tol)
    np.testing.assert_allclose(m.weight.grad.numpy(), t.weight.grad.numpy(), **tol)
    if m.bias is not None:
        np.testing.assert_allclose(m.bias.grad.numpy(), t.bias.grad.numpy(), **tol)


def test_conv1d_layer_unbatched_and_parameters():
    m = mg.nn.Conv1d(3, 5, 3, padding=1)
    assert m.weight.shape == (5, 3, 3) and m.bias.shape == (5,)
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    assert m.kernel_size == (3,) and m.stride == (1,) and m.padding == (1,) and m.dilation == (1,)
    out = m(mg.randn(3, 7))
    assert out.shape == (5, 7)
    assert mg.nn.Conv1d(4, 6, 3, groups=2).weight.shape == (6, 2, 3)
    assert mg.nn.Conv1d(3, 5, 3, bias=False).bias is None


def test_conv1d_init_is_torch_distribution():
    """kaiming_uniform(a=sqrt(5)) on the weight and U(+-1/sqrt(fan_in)) on the bias: both U(+-1/sqrt(fan_in))."""
    mg.manual_seed(0)
    m = mg.nn.Conv1d(16, 64, 5, groups=2)
    bound = 1 / math.sqrt(8 * 5)
    for p in (m.weight, m.bias):
        a = p.detach().numpy()
        assert np.abs(a).max() <= bound and np.abs(a).max() > 0.9 * bound
    w = m.weight.detach().numpy()
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound  # a uniform's standard deviation
    assert abs(w.mean()) < 0.05 * bound


def test_conv1d_layer_errors():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        mg.nn.Conv1d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        mg.nn.Conv1d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
        mg.nn.Conv1d(3, 4, 3, padding="same", stride=2)
    with pytest.raises(ValueError, match="Invalid padding string"):
        mg.nn.Conv1d(3, 4, 3, padding="full")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        mg.nn.Conv1d(3, 4, 3, padding_mode="mirror")


# ------------------------------------------------------------------ the same ops on the (fake) GPU
def test_conv_pool_norm_on_fake_gpu_match_cpu(monkeypatch):
    """Every op of this family runs unchanged on 'cuda' (the strict CuPy stand-in, which refuses silent host
    arrays) and gives the CPU's values and gradients; outputs stay on the device."""
    from minigrad import _fakegpu, backend

    monkeypatch.setattr(backend, "_gpu_module", _fakegpu)
    f = mg.nn.functional
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 4, 11)), rng.standard_normal((6, 2, 3)), rng.standard_normal(6)

    def run(dev):
        xs = [mg.tensor(a, device=dev, requires_grad=True) for a in (x, w, b)]
        outs = [
            f.conv1d(xs[0], xs[1], xs[2], stride=2, padding=1, groups=2),
            f.conv1d(xs[0], xs[1], None, padding="same", groups=2),
            f.max_pool1d(xs[0], 3, 2, 1, ceil_mode=True),
            f.avg_pool1d(xs[0], 3, 2, 1, count_include_pad=False),
            f.adaptive_avg_pool1d(xs[0], 4),
            f.adaptive_max_pool1d(xs[0], 5),
            f.adaptive_max_pool1d(xs[0], 15),
            f.layer_norm(xs[0], (11,)),
            f.batch_norm(xs[0], None, None, training=True),
            f.group_norm(xs[0], 2),
        ]
        ups = np.random.default_rng(1)
        res = []
        for o in outs:
            assert o.device == mg.device(dev)
            for t in xs:
                t.grad = None
            o.backward(mg.tensor(ups.standard_normal(tuple(o.shape)), device=dev))
            res.append([o.detach().cpu().numpy()] + [None if t.grad is None else t.grad.cpu().numpy() for t in xs])
        bn = mg.nn.BatchNorm1d(4).double().to(dev)
        bn(xs[0])
        bn.eval()
        res.append([bn(xs[0]).detach().cpu().numpy(), bn.running_var.cpu().numpy()])
        return res

    for on_cpu, on_gpu in zip(run("cpu"), run("cuda")):
        for a, g in zip(on_cpu, on_gpu):
            assert (a is None) == (g is None)
            if a is not None:
                np.testing.assert_allclose(g, a, rtol=1e-12, atol=1e-14)


def test_declarations_follow_torchs_namespaces():
    """conv1d, the pools, embedding, dropout and linear are declared where torch has them: torch.<name>,
    torch.nn.functional.<name>, never a Tensor method; convolutions and linear autocast to the lower dtype."""
    import torch.nn.functional as tF

    from minigrad.ops.registry import REGISTRY

    families = ("conv", "pooling", "embedding", "dropout", "linear")
    mine = {n: d for n, d in REGISTRY.items() if d.module in {f"minigrad.ops.{f}" for f in families}}
    assert set(mine) == {
        "conv1d",
        "max_pool1d",
        "avg_pool1d",
        "adaptive_avg_pool1d",
        "adaptive_max_pool1d",
        "embedding",
        "dropout",
        "linear",
    }
    for name, d in mine.items():
        # torch.embedding exists but takes (weight, input): minigrad offers only F.embedding's order
        assert d.top_level == (hasattr(torch, name) and name != "embedding"), f"top_level of {name}"
        assert d.functional and hasattr(tF, name), f"functional of {name}"
        assert d.method is None and not hasattr(torch.Tensor, name), f"Tensor.{name}"
        assert d.autocast == ("lower" if name in ("conv1d", "linear") else None), f"autocast of {name}"
        assert getattr(mg.nn.functional, name) is d.fn
