"""2-d vision ops and layers against torch: conv2d, conv_transpose1d/2d, 2-d pools, interpolate, unfold/fold,
the non-constant padding modes and channel dropout. Each op: forward, the gradients of a random upstream
gradient, and (float64) minigrad's finite-difference gradcheck; each layer: a torch twin with copied weights."""

import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad.nn.modules import padding
from minigrad.nn.modules.fold import Fold, Unfold
from minigrad.nn.modules.upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from minigrad.ops.registry import REGISTRY
from minigrad.ops.vision import pad_nonconstant
from tests.nn.twin import check_twin
from tests.opcheck import DEVICE, compare

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


def F(lib):
    return torch.nn.functional if lib is torch else mg.nn.functional


def _pad(lib, x, pad, mode, value=None):
    """F.pad in torch; minigrad's non-constant modes (F.pad dispatches to pad_nonconstant)."""
    if lib is torch:
        return torch.nn.functional.pad(x, pad, mode=mode, value=value)
    return pad_nonconstant(x, pad, mode, value)


def rand(*shape, seed=0):
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape)


# ------------------------------------------------------------------ conv2d
CONV2D = [  # x shape, weight shape, bias, kwargs
    ((2, 4, 7, 6), (6, 2, 3, 2), True, dict(stride=(2, 1), padding=1, dilation=(1, 2), groups=2)),
    ((2, 3, 6, 6), (4, 3, 2, 4), False, dict(padding="same")),
    ((2, 3, 6, 5), (4, 3, 3, 3), True, dict(padding="same", dilation=2)),
    ((1, 2, 5, 5), (3, 2, 3, 3), True, dict(padding="valid", stride=2)),
    ((3, 5, 5), (2, 3, 1, 1), True, dict()),  # unbatched
    ((2, 2, 4, 4), (4, 1, 3, 3), False, dict(padding=(0, 1), groups=2, stride=(1, 3))),
    ((0, 2, 4, 4), (3, 2, 3, 3), True, dict()),  # empty batch
]


@pytest.mark.parametrize("xs, ws, bias, kw", CONV2D)
def test_conv2d_matches_torch(xs, ws, bias, kw):
    x, w = rand(*xs), rand(*ws, seed=1)
    if bias:
        compare(lambda L, x, w, b: F(L).conv2d(x, w, b, **kw), x, w, rand(ws[0], seed=2))
    else:
        compare(lambda L, x, w: F(L).conv2d(x, w, None, **kw), x, w)


def test_conv2d_float32_and_positional_args():
    x, w, b = rand(2, 3, 8, 8).astype(np.float32), rand(4, 3, 3, 3).astype(np.float32), rand(4).astype(np.float32)
    compare(lambda L, x, w, b: L.conv2d(x, w, b, 2, 1), x, w, b)


CONV_T = [  # x shape, weight shape, bias, kwargs
    ((2, 4, 3, 4), (4, 3, 3, 2), True, dict(stride=2, padding=(1, 0), output_padding=1, groups=2, dilation=(1, 2))),
    ((1, 2, 4, 3), (2, 3, 2, 2), False, dict()),
    ((2, 4, 4), (2, 2, 3, 3), True, dict(stride=(3, 1), padding=1, output_padding=(2, 0))),  # unbatched
]


@pytest.mark.parametrize("xs, ws, bias, kw", CONV_T)
def test_conv_transpose2d_matches_torch(xs, ws, bias, kw):
    x, w = rand(*xs), rand(*ws, seed=1)
    if bias:
        compare(lambda L, x, w, b: F(L).conv_transpose2d(x, w, b, **kw), x, w, rand(ws[1] * kw.get("groups", 1)))
    else:
        compare(lambda L, x, w: F(L).conv_transpose2d(x, w, **kw), x, w)


@pytest.mark.parametrize(
    "xs, ws, kw",
    [
        ((2, 4, 5), (4, 3, 3), dict(stride=3, padding=1, output_padding=2)),
        ((2, 4, 5), (4, 1, 2), dict(groups=2, dilation=3)),
        ((4, 6), (4, 2, 4), dict(stride=2, padding=2, output_padding=1)),  # unbatched
    ],
)
def test_conv_transpose1d_matches_torch(xs, ws, kw):
    b = rand(ws[1] * kw.get("groups", 1), seed=3)
    compare(lambda L, x, w, b: F(L).conv_transpose1d(x, w, b, **kw), rand(*xs), rand(*ws, seed=1), b)


def test_top_level_names_follow_torch():
    for name in ("conv2d", "conv_transpose1d", "conv_transpose2d", "max_pool2d", "instance_norm", "rms_norm"):
        assert hasattr(mg, name) and hasattr(torch, name)
    for name in ("avg_pool2d", "interpolate", "fold", "dropout2d", "adaptive_avg_pool2d"):
        assert not hasattr(torch, name) and REGISTRY[name].functional and not REGISTRY[name].top_level


# ------------------------------------------------------------------ pools
@pytest.mark.parametrize(
    "shape, args",
    [
        ((2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
        ((2, 3, 7, 6), dict(kernel_size=(2, 3), stride=1, dilation=2)),
        ((2, 3, 6, 6), dict(kernel_size=2)),
        ((3, 5, 7), dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 1), ceil_mode=True)),  # unbatched
    ],
)
def test_max_pool2d_values_indices_and_grads(shape, args):
    compare(lambda L, x: F(L).max_pool2d(x, **args, return_indices=True), rand(*shape))
    compare(lambda L, x: L.max_pool2d(x, **args), rand(*shape).astype(np.float32))


def test_max_pool2d_nan_wins_and_ties_take_the_first():
    x = np.array([[[[1.0, 1.0, np.nan], [0.0, 2.0, 2.0], [3.0, -np.inf, 5.0]]]])
    compare(lambda L, x: F(L).max_pool2d(x, 2, 1, return_indices=True), x, gradcheck=False)


@pytest.mark.parametrize(
    "shape, args",
    [
        ((2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
        ((2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
        ((2, 3, 6, 5), dict(kernel_size=(2, 3), divisor_override=4)),
        ((3, 5, 7), dict(kernel_size=2, stride=(1, 2), padding=(1, 0))),  # unbatched
    ],
)
def test_avg_pool2d_matches_torch(shape, args):
    compare(lambda L, x: F(L).avg_pool2d(x, **args), rand(*shape))


@pytest.mark.parametrize("size", [(3, 4), 1, (None, 2), (7, 6), 5])
def test_adaptive_pools_match_torch(size):
    x = rand(2, 3, 7, 6)
    compare(lambda L, x: F(L).adaptive_avg_pool2d(x, size), x)
    compare(lambda L, x: F(L).adaptive_max_pool2d(x, size, return_indices=True), x)
    compare(lambda L, x: F(L).adaptive_max_pool2d(x, size), x[0])  # unbatched


# ------------------------------------------------------------------ interpolate
@pytest.mark.parametrize(
    "mode, align",
    [
        ("nearest", None),
        ("nearest-exact", None),
        ("bilinear", False),
        ("bilinear", True),
        ("bicubic", False),
        ("bicubic", True),
        ("area", None),
    ],
)
@pytest.mark.parametrize(
    "kw",
    [
        dict(size=(5, 9)),
        dict(scale_factor=1.7),
        dict(scale_factor=(0.5, 2.0)),
        dict(scale_factor=2.5, recompute_scale_factor=True),
    ],
)
def test_interpolate_2d_matches_torch(mode, align, kw):
    compare(lambda L, x: F(L).interpolate(x, mode=mode, align_corners=align, **kw), rand(2, 2, 4, 6))


@pytest.mark.parametrize("mode, align", [("nearest", None), ("linear", False), ("linear", True), ("area", None)])
def test_interpolate_1d_and_3d(mode, align):
    compare(lambda L, x: F(L).interpolate(x, size=9, mode=mode, align_corners=align), rand(2, 3, 5))
    if mode == "nearest":
        compare(lambda L, x: F(L).interpolate(x, scale_factor=(2, 0.5, 1.5), mode=mode), rand(1, 2, 3, 4, 2))
    compare(lambda L, x: F(L).interpolate(x, scale_factor=2, mode="trilinear"), rand(1, 2, 3, 2, 2))


def test_interpolate_uint8_nearest_and_size_errors():
    x = np.arange(48, dtype=np.uint8).reshape(1, 3, 4, 4)
    compare(lambda L, x: F(L).interpolate(x, scale_factor=1.5), x)
    for fn in (
        lambda L: F(L).interpolate(L.ones(1, 1, 4, 4), size=3, recompute_scale_factor=True),
        lambda L: F(L).interpolate(L.ones(1, 1, 4, 4), scale_factor=0.1),
    ):
        with pytest.raises(Exception) as t_err:
            fn(torch)
        with pytest.raises(type(t_err.value)):
            fn(mg)


def test_interpolate_float32_and_inf_stay_local():
    x = rand(1, 2, 5, 4).astype(np.float32)
    compare(lambda L, x: F(L).interpolate(x, scale_factor=3, mode="bilinear"), x)
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 0, 0] = np.inf  # nearest upsampling must copy the inf, not spread nan over the image
    compare(lambda L, x: F(L).interpolate(x, scale_factor=2), x, gradcheck=False)


# ------------------------------------------------------------------ unfold / fold
@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(1, 2)),
        dict(kernel_size=2),
        dict(kernel_size=3, stride=2),
    ],
)
def test_unfold_and_fold_match_torch(kw):
    x = rand(2, 3, 6, 5)
    compare(lambda L, x: F(L).unfold(x, **kw), x)
    compare(lambda L, x: F(L).unfold(x, **kw), x[0])  # unbatched
    cols = torch.nn.functional.unfold(torch.tensor(x), **kw).numpy()
    compare(lambda L, c: F(L).fold(c, (6, 5), **kw), rand(*cols.shape, seed=4))
    compare(lambda L, c: F(L).fold(c, (6, 5), **kw), rand(*cols.shape[1:], seed=4))  # unbatched


# ------------------------------------------------------------------ padding modes
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad", [(1, 2), (2, -1), (-1, 2), (2, 1, -1, 2), (0, 3, 2, 0), (1, 1, 1, 1, 1, 0)])
def test_pad_nonconstant_matches_torch(mode, pad):
    x = rand(*{2: (2, 3, 5), 4: (2, 3, 4, 5), 6: (1, 2, 3, 4, 5)}[len(pad)])
    compare(lambda L, x: _pad(L, x, pad, mode), x)
    compare(lambda L, x: _pad(L, x, pad, mode), x[0])  # unbatched


# ------------------------------------------------------------------ integer images
def test_integer_convolutions_and_pools_follow_torch():
    x = np.round(rand(2, 3, 6, 5) * 5).astype(np.int64)
    w = np.round(rand(4, 3, 2, 2, seed=1) * 3).astype(np.int64)
    compare(lambda L, x, w: F(L).conv2d(x, w, stride=2, padding=1), x, w)
    compare(lambda L, x, w: F(L).conv_transpose2d(x, w, stride=2), x, w.transpose(1, 0, 2, 3).copy())
    compare(lambda L, x: F(L).max_pool2d(x, 3, 2, 1, return_indices=True), x)
    compare(lambda L, x: F(L).max_pool2d(x, 2, ceil_mode=True), (x + 10).astype(np.uint8))
    compare(lambda L, x: F(L).avg_pool2d(x, 3, 2, 1, ceil_mode=True), x)  # truncated toward zero, as torch
    compare(lambda L, x: F(L).avg_pool2d(x, 2, count_include_pad=False, divisor_override=3), x)


DTYPE_ERRORS = [
    lambda L: F(L).max_pool2d(L.ones(1, 1, 4, 4, dtype=L.bool), 2),
    lambda L: F(L).avg_pool2d(L.ones(1, 1, 4, 4, dtype=L.bool), 2),
    lambda L: F(L).adaptive_avg_pool2d(L.ones(1, 1, 4, 4, dtype=L.int64), 2),
    lambda L: F(L).adaptive_max_pool2d(L.ones(1, 1, 4, 4, dtype=L.int64), 2),
    lambda L: F(L).interpolate(L.ones(1, 1, 4, 4, dtype=L.int64), scale_factor=2),
    lambda L: F(L).unfold(L.ones(1, 1, 4, 4, dtype=L.int64), 2),
    lambda L: F(L).fold(L.ones(1, 4, 1, dtype=L.int64), (2, 2), 2),
    lambda L: F(L).rms_norm(L.ones(1, 4, dtype=L.int64), [4]),
    lambda L: F(L).instance_norm(L.ones(1, 2, 4, dtype=L.int64)),
    lambda L: F(L).dropout2d(L.ones(1, 2, 4, 4, dtype=L.int64)),
    lambda L: _pad(L, L.ones(1, 2, 4, dtype=L.bool), (1, 1), "replicate"),
]


@pytest.mark.parametrize("fn", DTYPE_ERRORS)
def test_dtype_errors_match_torch(fn):
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(type(t_err.value)):
        fn(mg)


# ------------------------------------------------------------------ errors: where torch raises, minigrad raises
ERRORS = [
    ("conv2d", lambda L: F(L).conv2d(L.ones(1, 2, 5, 5), L.ones(3, 3, 3, 3))),
    ("conv2d", lambda L: F(L).conv2d(L.ones(1, 2, 2, 2), L.ones(3, 2, 3, 3))),
    ("conv2d", lambda L: F(L).conv2d(L.ones(1, 2, 5, 5), L.ones(3, 2, 3, 3), stride=(1, 2, 3))),
    ("conv2d", lambda L: F(L).conv2d(L.ones(1, 2, 5, 5), L.ones(3, 2, 3, 3), stride=2, padding="same")),
    ("conv2d", lambda L: F(L).conv2d(L.ones(2, 5, 5), L.ones(3, 3, 3))),
    ("conv_t", lambda L: F(L).conv_transpose2d(L.ones(1, 2, 5, 5), L.ones(2, 3, 3, 3), stride=2, output_padding=2)),
    ("conv_t", lambda L: F(L).conv_transpose2d(L.ones(1, 3, 5, 5), L.ones(2, 3, 3, 3))),
    ("pool", lambda L: F(L).max_pool2d(L.ones(1, 1, 2, 2), 3)),
    ("pool", lambda L: F(L).max_pool2d(L.ones(1, 1, 5, 5), 3, padding=2)),
    ("pool", lambda L: F(L).avg_pool2d(L.ones(1, 1, 5, 5), 3, padding=2)),
    ("pool", lambda L: F(L).adaptive_avg_pool2d(L.ones(2, 2, 2, 2, 2), 2)),
    ("pad", lambda L: _pad(L, L.ones(1, 1, 3), (3, 3), "reflect")),
    ("pad", lambda L: _pad(L, L.ones(1, 1, 3, 3), (4, 4, 1, 1), "circular")),
    ("pad", lambda L: _pad(L, L.ones(1, 1, 1, 3), (1, 1), "reflect")),
    ("pad", lambda L: _pad(L, L.ones(3), (1, 1), "replicate")),
    ("pad", lambda L: _pad(L, L.ones(2, 3), (1, 1), "reflect", value=1.0)),
    ("interp", lambda L: F(L).interpolate(L.ones(1, 1, 4, 4), size=2, mode="linear")),
    ("interp", lambda L: F(L).interpolate(L.ones(1, 1, 4, 4), size=(2,), mode="bilinear")),
    ("interp", lambda L: F(L).interpolate(L.ones(1, 1, 4, 4), size=2, scale_factor=2.0)),
    ("interp", lambda L: F(L).interpolate(L.ones(1, 1, 4, 4))),
    ("interp", lambda L: F(L).interpolate(L.ones(1, 1, 4, 4), size=2, align_corners=True)),
    ("fold", lambda L: F(L).fold(L.ones(1, 5, 9), (4, 4), 2)),
    ("unfold", lambda L: F(L).unfold(L.ones(1, 2, 6, 6), (2,))),
    ("pool", lambda L: F(L).max_pool2d(L.ones(1, 2, 6, 6), 2.0)),
    ("conv2d", lambda L: F(L).conv2d(L.ones(1, 2, 6, 6), L.ones(3, 2, 3, 3), stride=2.0)),
    ("fold", lambda L: F(L).fold(L.ones(1, 8, 8), (4, 4), 2)),
    ("dropout", lambda L: F(L).dropout1d(L.ones(2, 2, 2, 2))),
]


@pytest.mark.parametrize("what, fn", ERRORS)
def test_errors_match_torch(what, fn):
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(type(t_err.value)):
        fn(mg)


# ------------------------------------------------------------------ channel dropout
@pytest.mark.parametrize("name, shape", [("dropout1d", (8, 6, 5)), ("dropout1d", (6, 5)), ("dropout2d", (8, 6, 3, 4))])
def test_channel_dropout_zeros_whole_channels(name, shape):
    x = mg.tensor(rand(*shape) + 10.0, requires_grad=True, device=DEVICE)  # no zero by chance
    mg.manual_seed(0)
    y = getattr(F(mg), name)(x, p=0.5)
    y.backward(mg.ones_like(y))
    lead = 2 if len(shape) > 2 else 1  # (N, C, ...) or unbatched (C, L)
    ratio = (y / x).detach().cpu().numpy().reshape(*shape[:lead], -1)
    assert set(np.round(np.unique(ratio), 12)) <= {0.0, 2.0}  # kept (scaled by 1/(1-p)) or dropped
    assert np.all(ratio.min(axis=-1) == ratio.max(axis=-1))  # a whole channel at once
    assert 0 < (ratio[..., 0] == 0).mean() < 1
    np.testing.assert_allclose(x.grad.cpu().numpy(), (y / x).detach().cpu().numpy())
    for lib in (torch, mg):  # eval mode: the input's values; p=1: zeros
        t = lib.ones(*shape)
        assert float((getattr(F(lib), name)(t, 0.5, training=False) - t).abs().sum()) == 0
        assert float(getattr(F(lib), name)(t, 1.0).abs().sum()) == 0


# ------------------------------------------------------------------ layers: twins with copied weights
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=(2, 3), padding="same", dilation=(2, 1), groups=2),
        dict(kernel_size=3, padding=2, padding_mode="reflect", bias=False),
        dict(kernel_size=(3, 2), padding=(1, 2), padding_mode="circular"),
        dict(kernel_size=2, padding="same", padding_mode="replicate"),
    ],
)
def test_conv2d_layer_twin(kw, dtype):
    t = torch.nn.Conv2d(4, 6, **kw).to(torch.float64 if dtype == np.float64 else torch.float32)
    m = mg.nn.Conv2d(4, 6, **kw, dtype=mg.float64 if dtype == np.float64 else mg.float32)
    # float32: a weight gradient sums 2*6*7 products of size ~10, so its error is ~1e-6 absolute
    check_twin(t, m, rand(2, 4, 6, 7).astype(dtype), atol=1e-5 if dtype == np.float32 else None)
    assert repr(m) == repr(t)


@pytest.mark.parametrize("dims", [1, 2])
def test_conv_transpose_layer_twins(dims):
    shape = (2, 4, 5) if dims == 1 else (2, 4, 5, 3)
    t_cls, m_cls = getattr(torch.nn, f"ConvTranspose{dims}d"), getattr(mg.nn, f"ConvTranspose{dims}d")
    kw = dict(kernel_size=3, stride=2, padding=1, output_padding=1, groups=2, dilation=1)
    t, m = t_cls(4, 6, **kw).double(), m_cls(4, 6, **kw, dtype=mg.float64)
    check_twin(t, m, rand(*shape))
    assert repr(m) == repr(t)
    out_size = [s * 2 for s in shape[2:]]  # output_size picks output_padding, as torch's forward(input, output_size)
    t2, m2 = t_cls(4, 6, 3, stride=2, padding=1).double(), m_cls(4, 6, 3, stride=2, padding=1, dtype=mg.float64)
    m2.load_state_dict(t2.state_dict())
    if DEVICE:
        m2.to(DEVICE)
    x = rand(*shape)
    ref = t2(torch.tensor(x), output_size=out_size).detach().numpy()
    got = m2(mg.tensor(x, device=DEVICE), output_size=out_size).detach().cpu().numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


def test_conv_layer_init_and_state_dict_both_ways():
    mg.manual_seed(0)
    for t_cls, m_cls, args, fan_in in [
        (torch.nn.Conv2d, mg.nn.Conv2d, (3, 8, (3, 5)), 3 * 15),
        (torch.nn.ConvTranspose2d, mg.nn.ConvTranspose2d, (3, 8, 3), 8 * 9),  # fan_in from weight dim 1
        (torch.nn.ConvTranspose1d, mg.nn.ConvTranspose1d, (4, 6, 5, 1, 0, 0, 2), 3 * 5),
    ]:
        t, m = t_cls(*args), m_cls(*args)
        bound = 1 / fan_in**0.5  # torch's kaiming_uniform_(a=sqrt(5)) and bias bound, both 1/sqrt(fan_in)
        for (tn, tp), (mn, mp) in zip(t.state_dict().items(), m.state_dict().items()):
            assert tn == mn and tuple(tp.shape) == tuple(mp.shape)
            assert float(tp.abs().max()) <= bound
            assert bound / 2 < float(mp.abs().max()) <= bound
        t.load_state_dict({k: torch.tensor(v.detach().cpu().numpy()) for k, v in m.state_dict().items()})
        m.load_state_dict(t.state_dict())


POOL_LAYERS = [
    ("MaxPool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("AvgPool2d", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ("AvgPool2d", dict(kernel_size=2, divisor_override=3)),
    ("AdaptiveAvgPool2d", dict(output_size=(3, 2))),
    ("AdaptiveMaxPool2d", dict(output_size=(2, None))),
]


@pytest.mark.parametrize("name, kw", POOL_LAYERS)
def test_pool_layer_twins(name, kw):
    t, m = getattr(torch.nn, name)(**kw), getattr(mg.nn, name)(**kw)
    check_twin(t, m, rand(2, 3, 7, 6))
    check_twin(t, m, rand(3, 7, 6))
    assert repr(m) == repr(t)


@pytest.mark.parametrize(
    "t_mod, m_mod",
    [
        (torch.nn.Upsample(scale_factor=2), Upsample(scale_factor=2)),
        (torch.nn.Upsample(size=(5, 4), mode="bilinear"), Upsample(size=(5, 4), mode="bilinear")),
        (torch.nn.UpsamplingNearest2d(scale_factor=1.5), UpsamplingNearest2d(scale_factor=1.5)),
        (torch.nn.UpsamplingBilinear2d(size=7), UpsamplingBilinear2d(size=7)),
        (torch.nn.Unfold(2, padding=1), Unfold(2, padding=1)),
    ],
)
def test_resampling_and_unfold_layer_twins(t_mod, m_mod):
    check_twin(t_mod, m_mod, rand(2, 3, 4, 6))
    assert repr(m_mod) == repr(t_mod)


def test_fold_layer_twin():
    t, m = torch.nn.Fold((4, 5), 2), Fold((4, 5), 2)
    check_twin(t, m, rand(2, 12, 12))
    assert repr(m) == repr(t)


@pytest.mark.parametrize("name", ["Dropout1d", "Dropout2d"])
def test_dropout_layers_are_the_identity_in_eval_mode(name):
    t, m = getattr(torch.nn, name)(0.3), getattr(mg.nn, name)(0.3)
    assert repr(m) == repr(t)
    m.eval()
    x = mg.tensor(rand(2, 3, 4, 4)[..., 0] if name == "Dropout1d" else rand(2, 3, 4, 4), device=DEVICE)
    assert m(x) is x
    with pytest.raises(ValueError):
        getattr(mg.nn, name)(1.5)


PAD_LAYERS = [
    ("ReflectionPad1d", (2,), (2, 3, 5)),
    ("ReflectionPad2d", ((1, 2, 0, 3),), (2, 3, 4, 5)),
    ("ReplicationPad1d", ((3, 1),), (3, 5)),
    ("ReplicationPad2d", (2,), (2, 3, 4, 5)),
    ("CircularPad1d", ((1, 2),), (2, 3, 5)),
    ("CircularPad2d", (1,), (3, 4, 5)),
    ("ConstantPad1d", (2, 1.5), (2, 3, 5)),
    ("ConstantPad2d", ((1, 0, 2, 1), -2.0), (2, 3, 4, 5)),
    ("ZeroPad1d", ((0, 2),), (2, 3, 5)),
    ("ZeroPad2d", ((1, 2, 3, 0),), (3, 4, 5)),
]


@pytest.mark.parametrize("name, args, shape", PAD_LAYERS)
def test_padding_layer_twins(name, args, shape):
    t, m = getattr(torch.nn, name)(*args), getattr(padding, name)(*args)
    check_twin(t, m, rand(*shape))
    assert repr(m) == repr(t)


def _small_cnn(nn, **kw):
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, **kw),
        nn.BatchNorm2d(8, **kw),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 6, 3, padding="same", padding_mode="reflect", **kw),
        nn.Dropout2d(0.25),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d((2, 2)),
        nn.Flatten(),
        nn.Linear(24, 5, **kw),
    )


def test_a_tutorial_cnn_agrees_with_torch():
    """The layers together, as a tutorial's image classifier uses them (dropout off: eval mode for it only)."""
    torch.manual_seed(0)
    t = _small_cnn(torch.nn, dtype=torch.float64)
    m = _small_cnn(mg.nn, dtype=mg.float64)
    t[5].eval(), m[5].eval()
    check_twin(t, m, rand(4, 3, 8, 8))


def test_conv2d_saves_what_its_backward_reads():
    """As torch: changing the bias in place after the forward is fine; changing the weight is not when the
    input needs a gradient."""
    x = mg.randn(1, 2, 5, 5, requires_grad=True, device=DEVICE)
    w = mg.randn(3, 2, 3, 3, requires_grad=True, device=DEVICE)
    b = mg.randn(3, requires_grad=True, device=DEVICE)
    y = F(mg).conv2d(x, w, b)
    with mg.no_grad():
        b.add_(1.0)
    y.sum().backward()
    assert x.grad is not None and b.grad is not None
    y = F(mg).conv2d(x, w, b)
    with mg.no_grad():
        w.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_channel_dropout_in_place_writes_the_input():
    a = mg.randn(4, 6, 3, 3, requires_grad=True, device=DEVICE)
    x = a * 1.0
    y = F(mg).dropout2d(x, 0.5, True, True)
    assert y is x
    y.sum().backward()
    kept = a.grad.cpu().numpy().reshape(4, 6, -1)
    assert set(np.unique(kept)) <= {0.0, 2.0} and np.all(kept.min(-1) == kept.max(-1))
    with pytest.raises(RuntimeError):  # a leaf that requires grad cannot be written in place, as in torch
        F(mg).dropout1d(mg.randn(2, 3, 4, requires_grad=True, device=DEVICE), 0.5, True, True)
