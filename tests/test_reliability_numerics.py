"""Numerics found wrong by a red-team pass, each checked against torch on the same inputs.

1. Python numbers given with a ``dtype`` go straight to that dtype (0.1 as float64 is 0.1, not float32's 0.1).
2. float16 reductions, scans, softmax, norms and losses accumulate in float32, as torch does on the CPU.
3. Empty batches: BatchNorm1d in training, adaptive pooling of an empty length.
4. BatchNorm state dicts without ``num_batches_tracked`` (written by torch before 0.4.1) load.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import minigrad as mg
import minigrad.nn.functional as MF
from tests.opcheck import DEVICE


def _np(t):
    return t.detach().cpu().numpy()


def _dtype_name(t):
    return str(t.dtype).split(".")[-1]


def _outcome(lib, expr):
    """(dtype name, values) of ``expr`` evaluated with ``L`` = torch or minigrad, or the exception type."""
    try:
        t = eval(expr, {"L": lib, "np": np, "dev": DEVICE if lib is mg else None})
    except Exception as e:  # noqa: BLE001 - the exception type is what is compared
        return type(e).__name__
    return _dtype_name(t), t.tolist()


# ------------------------------------------------------------------ 1. creation dtypes
CREATION = [
    "L.tensor([0.1], dtype=L.float64, device=dev)",
    "L.tensor([1e300], dtype=L.float64)",
    "L.tensor([1e-300], dtype=L.float64)",
    "L.tensor([1e300])",
    "L.tensor(1e300)",
    "L.tensor([0.1])",
    "L.tensor([1e300], dtype=L.float16)",
    "L.as_tensor([0.1], dtype=L.float64, device=dev)",
    "L.as_tensor([1e-300], dtype=L.float64)",
    "L.tensor([0.0]).new_tensor([0.1], dtype=L.float64)",
    "L.tensor([0.0], dtype=L.float64).new_tensor([0.1, 1e300])",
    "L.tensor([0.1], dtype=L.float64, requires_grad=True).detach()",
    "L.tensor([[np.float64(0.1)], [np.float64(1e-300)]], dtype=L.float64)",
    "L.tensor([np.float64(0.1)])",
    "L.tensor([np.float64(0.1), 1.0])",
    "L.tensor([np.float32(0.1), 1.0])",
    "L.tensor([np.float16(0.1), 0.2])",
    "L.tensor([np.float64(0.1), np.float32(1)])",
    "L.tensor([np.int32(3)])",
    "L.tensor([np.int32(3), 2])",
    "L.tensor([np.int32(3), 2.5])",
    "L.tensor([True, 2])",
    "L.tensor([0.1, True], dtype=L.float64)",
    "L.tensor([1.5, 0.0], dtype=L.bool)",
    "L.tensor(np.float64(0.1))",
    "L.tensor([2**40], dtype=L.int64)",
    "L.tensor([2**53 + 1], dtype=L.int64)",
    "L.tensor([2**53 + 1], dtype=L.float64)",
    "L.tensor([1.7, -1.7], dtype=L.int64)",
    "L.tensor([[1, 2.5]], dtype=L.int32)",
    "L.tensor([2**63])",
    "L.tensor([2**63], dtype=L.int64)",
    "L.tensor([2**64], dtype=L.float64)",
    "L.tensor([300], dtype=L.uint8)",
    "L.tensor([-1], dtype=L.uint8)",
    "L.tensor([1e10], dtype=L.int32)",
    "L.tensor([float('nan')], dtype=L.int64)",
    "L.Tensor([0.1])",
]


@pytest.mark.parametrize("expr", CREATION)
def test_creation_converts_python_numbers_like_torch(expr):
    assert _outcome(mg, expr) == _outcome(torch, expr)


def test_requires_grad_leaf_keeps_float64_value():
    t = torch.tensor([0.1, 1e-300], dtype=torch.float64, requires_grad=True)
    m = mg.tensor([0.1, 1e-300], dtype=mg.float64, requires_grad=True, device=DEVICE)
    assert m.requires_grad and m.is_leaf
    assert _np(m).tolist() == _np(t).tolist()


# ------------------------------------------------------------------ 2. float16 accumulation
def _fn(lib):
    return TF if lib is torch else MF


def _normal(n, shift=0.0, scale=1.0):
    return (np.random.default_rng(0).standard_normal(n) * scale + shift).astype(np.float16)


def _labels(lib, x):
    return lib.arange(x.shape[0] // 10, device=x.device) % 10


# name -> (function of (library, x), input of length n); the input is float16
F16_CASES = {
    "sum": (lambda L, x: L.sum(x), lambda n: np.ones(n, np.float16)),
    "sum_dim": (lambda L, x: x.reshape(10, -1).sum(1), lambda n: np.ones(n, np.float16)),
    "mean_ones": (lambda L, x: L.mean(x), lambda n: np.ones(n, np.float16)),
    "mean_100": (lambda L, x: L.mean(x), lambda n: np.full(n, 100, np.float16)),
    "mean_dim": (lambda L, x: x.reshape(10, -1).mean(1), lambda n: _normal(n, 100, 3)),
    "var": (lambda L, x: L.var(x), lambda n: _normal(n, 100, 3)),
    "std": (lambda L, x: L.std(x), lambda n: _normal(n, 100, 3)),
    "norm": (lambda L, x: L.norm(x), lambda n: np.ones(n, np.float16)),
    "norm_p1": (lambda L, x: L.norm(x, 1), lambda n: _normal(n)),
    "norm_p3": (lambda L, x: L.norm(x, 3), lambda n: _normal(n)),
    "logsumexp": (lambda L, x: L.logsumexp(x, 0), lambda n: _normal(n)),
    "softmax": (lambda L, x: L.softmax(x, 0), lambda n: _normal(n)),
    "log_softmax": (lambda L, x: L.log_softmax(x, 0), lambda n: _normal(n)),
    "cumsum": (lambda L, x: L.cumsum(x, 0), lambda n: np.ones(n, np.float16)),
    "prod": (lambda L, x: L.prod(x), lambda n: np.full(n, 1.001, np.float16)),
    "mse_loss": (lambda L, x: _fn(L).mse_loss(x, x.detach() * 0 + 1), lambda n: _normal(n)),
    "l1_loss": (lambda L, x: _fn(L).l1_loss(x, x.detach() * 0 + 1), lambda n: _normal(n)),
    "smooth_l1_loss": (lambda L, x: _fn(L).smooth_l1_loss(x, x.detach() * 0 + 1), lambda n: _normal(n)),
    "huber_loss": (lambda L, x: _fn(L).huber_loss(x, x.detach() * 0 + 1), lambda n: _normal(n)),
    "bce_with_logits": (
        lambda L, x: _fn(L).binary_cross_entropy_with_logits(x, x.detach() * 0 + 1),
        lambda n: _normal(n),
    ),
    "bce": (lambda L, x: _fn(L).binary_cross_entropy(L.sigmoid(x), x.detach() * 0 + 1), lambda n: _normal(n)),
    "cross_entropy": (lambda L, x: _fn(L).cross_entropy(x.reshape(-1, 10), _labels(L, x)), lambda n: _normal(n)),
    "nll_loss": (lambda L, x: _fn(L).nll_loss(x.reshape(-1, 10), _labels(L, x)), lambda n: _normal(n)),
    "layer_norm": (lambda L, x: _fn(L).layer_norm(x, (x.shape[0],)), lambda n: _normal(n, 100, 3)),
    "batch_norm": (
        lambda L, x: _fn(L).batch_norm(x.reshape(-1, 10), None, None, training=True),
        lambda n: _normal(n, 100, 3),
    ),
    "group_norm": (lambda L, x: _fn(L).group_norm(x.reshape(1, 10, -1), 2), lambda n: _normal(n, 100, 3)),
}
# where torch's float16 result is the float32 result rounded once, minigrad must give the same bits
EXACT = {"sum", "sum_dim", "mean_ones", "mean_100", "norm", "cumsum"}
EXACT_GRAD = EXACT - {"norm"}  # torch divides by the norm rounded to float16; minigrad by the float32 norm


def _run(lib, fn, a, device=None):
    """Forward and input gradient (with a fixed random upstream gradient) as float64 arrays."""
    x = lib.tensor(a, requires_grad=True, device=device)
    y = fn(lib, x)
    up = np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(np.float16).astype(a.dtype)
    y.backward(lib.tensor(up, device=device))
    return y, _np(y).astype(np.float64), _np(x.grad).astype(np.float64)


def _error(got, exact):
    """Largest deviation from the float64 result, relative to its largest finite magnitude."""
    finite = np.isfinite(exact) & np.isfinite(got)
    if not finite.any():
        return 0.0
    scale = np.max(np.abs(exact[finite])) or 1.0
    return float(np.max(np.abs(got[finite] - exact[finite]))) / scale


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # prod of 70000 x 1.001 is inf
@pytest.mark.parametrize("n", [70000, 3000])
@pytest.mark.parametrize("name", sorted(F16_CASES))
def test_float16_accumulates_in_float32_like_torch(name, n):
    fn, make = F16_CASES[name]
    a = make(n)
    t_out, t_y, t_g = _run(torch, fn, a)
    m_out, m_y, m_g = _run(mg, fn, a, DEVICE)
    _, e_y, e_g = _run(torch, fn, a.astype(np.float64))
    assert _dtype_name(m_out) == _dtype_name(t_out) == "float16"
    for got, ref, exact in ((m_y, t_y, e_y), (m_g, t_g, e_g)):
        # non-finite values (a float16 sum of 70000 ones is inf) land where torch puts them
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
        np.testing.assert_array_equal(np.isposinf(got), np.isposinf(ref))
        np.testing.assert_array_equal(np.isneginf(got), np.isneginf(ref))
        # at most one float16 rounding (2**-11 relative) less accurate than torch; where torch rounds its
        # float16 intermediates more often (prod, loss gradients), minigrad may be closer to the exact value
        assert _error(got, exact) <= _error(ref, exact) + 2.0**-11
    if name in EXACT:
        np.testing.assert_array_equal(m_y, t_y)
    if name in EXACT_GRAD:
        np.testing.assert_array_equal(m_g, t_g)


def test_float16_headline_values():
    """The red-team's reproducers, against torch's answers."""
    for expr in [
        "L.ones(70000, dtype=L.float16).mean()",
        "L.full((1000,), 100., dtype=L.float16).mean()",
        "L.ones(70000, dtype=L.float16).sum()",
        "L.ones(3000, dtype=L.float16).cumsum(0)[-1]",
        "L.full((1000,), 100., dtype=L.float16).var()",
        "L.full((1000,), 100., dtype=L.float16).std()",
    ]:
        assert _outcome(mg, expr) == _outcome(torch, expr), expr


def test_float32_reductions_unchanged_by_the_float16_path():
    """float32 still computes in float32 (the float16 path is separate): same dtype and values as torch."""
    a = np.random.default_rng(0).standard_normal((64, 300)).astype(np.float32)
    for name in ("sum", "mean", "var", "std", "norm", "logsumexp"):
        args = (1,) if name == "logsumexp" else ()
        t = getattr(torch, name)(torch.tensor(a), *args)
        m = getattr(mg, name)(mg.tensor(a, device=DEVICE), *args)
        assert _dtype_name(m) == "float32"
        np.testing.assert_allclose(_np(m), _np(t), rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ 3. empty inputs
@pytest.mark.parametrize("shape", [(0, 4), (0, 4, 5), (2, 4, 0)])
def test_batchnorm_training_on_an_empty_batch(shape):
    t_bn, m_bn = torch.nn.BatchNorm1d(4), mg.nn.BatchNorm1d(4, device=DEVICE)
    for bn in (t_bn, m_bn):
        bn.running_mean.fill_(2.0)
        bn.running_var.fill_(3.0)
    t_x = torch.zeros(shape, requires_grad=True)
    m_x = mg.zeros(shape, requires_grad=True, device=DEVICE)
    t_y, m_y = t_bn(t_x), m_bn(m_x)
    assert tuple(m_y.shape) == tuple(t_y.shape)
    t_y.sum().backward()
    m_y.sum().backward()
    assert tuple(m_x.grad.shape) == tuple(t_x.grad.shape)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_array_equal(_np(getattr(m_bn, name)), _np(getattr(t_bn, name)), err_msg=name)
    for name in ("weight", "bias"):
        np.testing.assert_array_equal(_np(getattr(m_bn, name).grad), _np(getattr(t_bn, name).grad), err_msg=name)


def test_batchnorm_training_with_one_value_per_channel_still_raises():
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        torch.nn.BatchNorm1d(4)(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        mg.nn.BatchNorm1d(4, device=DEVICE)(mg.zeros(1, 4, device=DEVICE))


@pytest.mark.parametrize("layer", ["AdaptiveAvgPool1d", "AdaptiveMaxPool1d"])
@pytest.mark.parametrize("shape", [(2, 4, 0), (4, 0), (2, 0, 5), (0, 4, 5), (0, 5)])
def test_adaptive_pooling_of_empty_inputs(layer, shape):
    def outcome(lib, x):
        try:
            return tuple(getattr(lib.nn, layer)(3)(x).shape)
        except Exception as e:  # noqa: BLE001 - compared with torch's
            return type(e).__name__

    t = outcome(torch, torch.zeros(shape))
    assert outcome(mg, mg.zeros(shape, device=DEVICE)) == t


# ------------------------------------------------------------------ 4. old BatchNorm state dicts
def _trained_torch_bn():
    torch.manual_seed(0)
    bn = torch.nn.BatchNorm1d(3)
    for _ in range(3):
        bn(torch.randn(8, 3))
    return bn


def _without_count(state, prefix=""):
    """An old-style checkpoint: no num_batches_tracked and no version metadata (a plain dict)."""
    return {k: v for k, v in state.items() if k != prefix + "num_batches_tracked"}


@pytest.mark.parametrize("strict", [True, False])
def test_torch_state_dict_without_num_batches_tracked_loads(strict):
    t_bn = _trained_torch_bn()
    old = _without_count(t_bn.state_dict())
    t_new, m_new = torch.nn.BatchNorm1d(3), mg.nn.BatchNorm1d(3, device=DEVICE)
    for bn in (t_new, m_new):
        bn.num_batches_tracked.fill_(5)
    t_res, m_res = t_new.load_state_dict(old, strict=strict), m_new.load_state_dict(old, strict=strict)
    assert (m_res.missing_keys, m_res.unexpected_keys) == (t_res.missing_keys, t_res.unexpected_keys) == ([], [])
    for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_array_equal(_np(getattr(m_new, name)), _np(getattr(t_new, name)), err_msg=name)
    assert "num_batches_tracked" not in old  # the caller's dict is not modified


def test_nested_old_state_dict_loads_and_a_versioned_one_still_reports_the_key():
    t_seq = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3))
    m_seq = mg.nn.Sequential(mg.nn.Linear(3, 3), mg.nn.BatchNorm1d(3))
    old = _without_count(t_seq.state_dict(), "1.")
    t_seq.load_state_dict(old)
    m_seq.load_state_dict(old)
    np.testing.assert_array_equal(_np(m_seq[1].running_var), _np(t_seq[1].running_var))
    # torch's own current state dict carries version 2 in its metadata: a missing count is then an error
    current = t_seq.state_dict()
    del current["1.num_batches_tracked"]
    with pytest.raises(RuntimeError, match='Missing key.*"1.num_batches_tracked"'):
        t_seq.load_state_dict(current)
    with pytest.raises(RuntimeError, match='Missing key.*"1.num_batches_tracked"'):
        m_seq.load_state_dict(current)


def test_minigrad_state_dict_without_num_batches_tracked_loads_into_torch():
    m_bn = mg.nn.BatchNorm1d(3)
    m_bn(mg.randn(8, 3))
    old = {k: torch.tensor(_np(v)) for k, v in m_bn.state_dict().items() if k != "num_batches_tracked"}
    t_bn, m_new = torch.nn.BatchNorm1d(3), mg.nn.BatchNorm1d(3)
    t_bn.load_state_dict(old)
    m_new.load_state_dict(old)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_array_equal(_np(getattr(m_new, name)), _np(getattr(t_bn, name)), err_msg=name)


def test_untracked_batchnorm_still_rejects_running_stats():
    state = collections.OrderedDict(_without_count(_trained_torch_bn().state_dict()))
    with pytest.raises(RuntimeError, match="Unexpected key"):
        torch.nn.BatchNorm1d(3, track_running_stats=False).load_state_dict(state)
    with pytest.raises(RuntimeError, match="Unexpected key"):
        mg.nn.BatchNorm1d(3, track_running_stats=False).load_state_dict(state)
