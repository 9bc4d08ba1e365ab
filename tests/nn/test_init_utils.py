"""nn.init distributions (checked statistically against the formulas and torch) and nn.utils."""

import math

import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad import nn
from minigrad.nn import init
from tests.opcheck import assert_close, compare

SHAPE = (300, 200, 3)  # conv-like weight: fan_in = 600, fan_out = 900


@pytest.mark.parametrize(
    "name,param",
    [
        ("linear", None),
        ("conv1d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("selu", None),
    ],
)
def test_calculate_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param), rel=1e-15)


def test_calculate_gain_rejects_unknown():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "x")


def _pair(shape=SHAPE, dtype=np.float32):
    return mg.zeros(shape, dtype=dtype), torch.zeros(shape, dtype=getattr(torch, np.dtype(dtype).name))


def _stats_agree(m, t, bound=None, std=None, mean=0.0):
    a, b = m.numpy(), t.numpy()
    assert m.dtype == mg.float32 or m.dtype == mg.float64
    if bound is not None:
        assert np.abs(a).max() <= bound * (1 + 1e-6) and np.abs(a).max() > 0.99 * bound
    if std is not None:
        np.testing.assert_allclose(a.std(), std, rtol=0.01)
        np.testing.assert_allclose(a.std(), b.std(), rtol=0.02)
    assert abs(a.mean() - mean) < 0.01 * (std or 1.0) + 1e-3


def test_uniform_normal_constant():
    m, t = _pair()
    init.uniform_(m, -2.0, 3.0)
    torch.nn.init.uniform_(t, -2.0, 3.0)
    a = m.numpy()
    assert a.min() >= -2.0 and a.max() < 3.0 and a.min() < -1.99 and a.max() > 2.99
    np.testing.assert_allclose(a.mean(), 0.5, atol=0.01)
    m, t = _pair(dtype=np.float64)
    out = init.normal_(m, 1.5, 0.5)
    assert out is m and m.dtype == mg.float64
    torch.nn.init.normal_(t, 1.5, 0.5)
    _stats_agree(m, t, std=0.5, mean=1.5)
    assert np.all(init.constant_(mg.zeros(3), 2.5).numpy() == 2.5)
    assert np.all(init.ones_(mg.zeros(3)).numpy() == 1) and not init.zeros_(mg.ones(3)).numpy().any()
    np.testing.assert_array_equal(init.eye_(mg.zeros(2, 3)).numpy(), np.eye(2, 3))


def test_xavier():
    fan_in, fan_out = 600, 900
    std = math.sqrt(2.0 / (fan_in + fan_out))
    m, t = _pair()
    init.xavier_uniform_(m, gain=2.0)
    torch.nn.init.xavier_uniform_(t, gain=2.0)
    _stats_agree(m, t, bound=2.0 * math.sqrt(3) * std, std=2.0 * std)
    m, t = _pair()
    init.xavier_normal_(m)
    torch.nn.init.xavier_normal_(t)
    _stats_agree(m, t, std=std)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a", [("relu", 0), ("leaky_relu", math.sqrt(5)), ("leaky_relu", 0.1)])
def test_kaiming(mode, nonlinearity, a):
    fan = 600 if mode == "fan_in" else 900
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    m, t = _pair()
    init.kaiming_uniform_(m, a=a, mode=mode, nonlinearity=nonlinearity)
    torch.nn.init.kaiming_uniform_(t, a=a, mode=mode, nonlinearity=nonlinearity)
    _stats_agree(m, t, bound=math.sqrt(3) * std, std=std)
    m, t = _pair()
    init.kaiming_normal_(m, a=a, mode=mode, nonlinearity=nonlinearity)
    torch.nn.init.kaiming_normal_(t, a=a, mode=mode, nonlinearity=nonlinearity)
    _stats_agree(m, t, std=std)


def test_trunc_normal():
    m, t = _pair()
    init.trunc_normal_(m, mean=0.5, std=1.0, a=-1.0, b=1.5)
    torch.nn.init.trunc_normal_(t, mean=0.5, std=1.0, a=-1.0, b=1.5)
    a, b = m.numpy(), t.numpy()
    assert a.min() >= -1.0 and a.max() <= 1.5
    np.testing.assert_allclose(a.std(), b.std(), rtol=0.01)
    np.testing.assert_allclose(a.mean(), b.mean(), atol=0.01)
    with pytest.raises(ValueError):
        init.trunc_normal_(m, a=1.0, b=0.0)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 2, 3)])
def test_orthogonal(shape):
    w = init.orthogonal_(mg.zeros(shape, dtype=mg.float64), gain=2.0).numpy().reshape(shape[0], -1)
    small = min(w.shape)
    gram = w @ w.T if w.shape[0] == small else w.T @ w
    np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-12)
    with pytest.raises(ValueError):
        init.orthogonal_(mg.zeros(3))


def test_init_errors_and_no_graph():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(mg.zeros(5))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.kaiming_normal_(mg.zeros(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(mg.zeros(2, 2), mode="fan_avg")
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(mg.zeros(0, 3))
    p = nn.Parameter(mg.zeros(3, 4))
    init.normal_(p)
    assert p.is_leaf and p.requires_grad and p.grad_fn is None and p.detach().numpy().any()


def test_init_reproducible_under_manual_seed():
    mg.manual_seed(5)
    a = init.xavier_normal_(mg.zeros(4, 5)).numpy().copy()
    mg.manual_seed(5)
    np.testing.assert_array_equal(init.xavier_normal_(mg.zeros(4, 5)).numpy(), a)


# ------------------------------------------------------------------ clip_grad
def _twin_params(seed, scale):
    r = np.random.default_rng(seed)
    grads = [r.standard_normal(s) * scale for s in [(3, 4), (4,), (2, 2, 2)]]
    tp = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    mp = [nn.Parameter(mg.zeros(g.shape, dtype=mg.float64)) for g in grads]
    for t, m, g in zip(tp, mp, grads):
        t.grad = torch.tensor(g)
        m.grad = mg.tensor(g)
    return tp, mp


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf"), "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    tp, mp = _twin_params(0, 2.0)
    tn = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type=norm_type)
    mn = nn.utils.clip_grad_norm_(mp, max_norm, norm_type=norm_type)
    assert isinstance(mn, mg.Tensor) and mn.ndim == 0 and mn.dtype == mg.float64
    assert_close(mn.numpy(), tn.numpy(), 1e-12, 1e-14, "total norm")
    for t, m in zip(tp, mp):
        assert_close(m.grad.numpy(), t.grad.numpy(), 1e-12, 1e-14, "clipped gradient")


def test_clip_grad_norm_details():
    p = nn.Parameter(mg.zeros(2))
    assert nn.utils.clip_grad_norm_([p], 1.0).item() == 0.0  # no gradients at all
    p.grad = mg.tensor([3.0, 4.0])
    total = nn.utils.clip_grad_norm_(p, 1.0)  # a single tensor is accepted too
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-5)
    assert p.grad.dtype == mg.float32
    p.grad = mg.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


def test_clip_grad_value_matches_torch():
    tp, mp = _twin_params(1, 3.0)
    torch.nn.utils.clip_grad_value_(tp, 0.7)
    assert nn.utils.clip_grad_value_(mp, 0.7) is None
    for t, m in zip(tp, mp):
        np.testing.assert_array_equal(m.grad.numpy(), t.grad.numpy())


# ------------------------------------------------------------------ pad_sequence, parameters_to_vector
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pad_sequence_matches_torch(batch_first, side, dtype):
    r = np.random.default_rng(2)
    a, b, c = (r.standard_normal((n, 2)).astype(dtype) for n in (3, 1, 4))

    def fn(lib, a, b, c):
        return lib.nn.utils.rnn.pad_sequence([a, b, c], batch_first=batch_first, padding_value=-1.5, padding_side=side)

    compare(fn, a, b, c)
    compare(lambda lib, a, b: lib.nn.utils.rnn.pad_sequence([a, b]), a[:, 0].copy(), b[:, 0].copy())


def test_pad_sequence_integer_and_errors():
    out = nn.utils.rnn.pad_sequence([mg.tensor([1, 2, 3]), mg.tensor([4])], batch_first=True)
    np.testing.assert_array_equal(out.numpy(), [[1, 2, 3], [4, 0, 0]])
    assert out.dtype == mg.int64
    with pytest.raises(RuntimeError, match="trailing shape"):
        nn.utils.rnn.pad_sequence([mg.zeros(2, 3), mg.zeros(2, 4)])
    with pytest.raises(RuntimeError, match="empty"):
        nn.utils.rnn.pad_sequence([])


def test_parameters_to_vector_roundtrip():
    m = nn.Linear(3, 2)
    v = nn.utils.parameters_to_vector(m.parameters())
    assert tuple(v.shape) == (8,)
    np.testing.assert_array_equal(v.detach().numpy()[:6], m.weight.detach().numpy().reshape(-1))
    nn.utils.vector_to_parameters(mg.arange(8.0), m.parameters())
    np.testing.assert_array_equal(m.bias.detach().numpy(), [6.0, 7.0])
    v = nn.utils.parameters_to_vector(m.parameters())
    (v * mg.arange(8.0)).sum().backward()
    np.testing.assert_array_equal(m.bias.grad.numpy(), [6.0, 7.0])
