"""Mixed precision: autocast's dtypes per op, and GradScaler step for step against torch's GradScaler
(minigrad's runs on 'cuda' under the fake GPU stand-in; torch's on the CPU, where it has the same arithmetic)."""

import warnings

import numpy as np
import pytest
import torch

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import _fakegpu as fg
from minigrad import backend


@pytest.fixture
def fake_gpu(monkeypatch):
    monkeypatch.setattr(backend, "_gpu_module", fg)
    yield fg


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(backend, "_gpu_module", False)


# ----------------------------------------------------------------------------- autocast
def test_autocast_on_cpu_warns_and_does_nothing():
    x = mg.randn(3, 4)
    with pytest.warns(UserWarning, match="CPU autocast"):
        ctx = mg.autocast("cpu")
    with ctx:
        assert (x @ x.T).dtype == mg.float32 and not mg.amp.is_autocast_enabled("cpu")


def test_autocast_cuda_without_cuda_warns_and_is_off(no_gpu):
    with pytest.warns(UserWarning, match="CUDA is not available"):
        ctx = mg.autocast("cuda")
    with ctx:
        assert not mg.amp.is_autocast_enabled("cuda")
    with pytest.warns(UserWarning, match="CUDA is not available"):
        mg.cuda.amp.autocast()


def test_autocast_argument_errors(fake_gpu):
    with pytest.raises(ValueError, match="device_type"):
        mg.autocast(0)
    with pytest.raises(RuntimeError, match="float16"):
        mg.autocast("cuda", dtype=mg.float64)


def test_autocast_dtypes_per_op_on_the_gpu(fake_gpu):
    mg.manual_seed(0)
    lin = mg.nn.Linear(4, 3).cuda()
    conv = mg.nn.Conv1d(2, 3, 3).cuda()
    x = mg.randn(5, 4, device="cuda")
    seq = mg.randn(2, 2, 6, device="cuda")
    t = mg.tensor([0, 2, 1, 1, 0], device="cuda")
    with mg.autocast("cuda"):
        assert mg.amp.is_autocast_enabled("cuda") and mg.amp.get_autocast_dtype("cuda") is mg.float16
        y = lin(x)
        half = {
            "linear": y,
            "matmul": x @ x.T,
            "mm": mg.mm(x, x.T),
            "bmm": mg.bmm(x[None], x.T[None]),
            "conv1d": conv(seq),
        }
        full = {
            "sum": y.sum(),
            "softmax": y.softmax(1),
            "log_softmax": F.log_softmax(y, 1),
            "cross_entropy": F.cross_entropy(y, t),
            "mse": F.mse_loss(y, y.detach() * 0.5),
            "layer_norm": F.layer_norm(y, (3,)),
            "bce_logits": F.binary_cross_entropy_with_logits(y, y.sigmoid()),
            "nll": F.nll_loss(F.log_softmax(y, 1), t),
            "add_promotes": y + x[:, :3],
        }
        with mg.autocast("cuda", enabled=False):  # a nested disabled region runs in the inputs' dtype
            assert (x @ x.T).dtype == mg.float32 and not mg.amp.is_autocast_enabled("cuda")
        assert mg.amp.is_autocast_enabled("cuda")
    assert not mg.amp.is_autocast_enabled("cuda") and (x @ x.T).dtype == mg.float32
    with mg.autocast("cuda"):  # float64 tensors are not autocast (torch's "eligible" rule)
        x64 = x.double()
        assert (x64 @ x64.T).dtype == mg.float64 and x64.sum().dtype == mg.float64
    for name, v in half.items():
        assert v.dtype == mg.float16 and v.is_cuda, name
    for name, v in full.items():
        assert v.dtype == mg.float32 and v.is_cuda, name
    # the parameters stay float32 and so do their gradients (the casts are graph ops)
    full["cross_entropy"].backward()
    assert lin.weight.dtype == mg.float32 and lin.weight.grad.dtype == mg.float32 and lin.weight.grad.is_cuda


def test_autocast_values_match_torch_half_precision(fake_gpu):
    """float16 matmul under autocast gives torch's float16 result (same inputs, float32 accumulation rounded)."""
    r = np.random.default_rng(0)
    a, b = r.standard_normal((4, 8)).astype(np.float32), r.standard_normal((8, 3)).astype(np.float32)
    with mg.autocast("cuda"):
        m = mg.tensor(a, device="cuda") @ mg.tensor(b, device="cuda")
    t = torch.tensor(a).half().float() @ torch.tensor(b).half().float()
    np.testing.assert_allclose(m.float().cpu().numpy(), t.numpy(), rtol=2e-3, atol=2e-3)


def test_autocast_as_decorator_and_cuda_amp_spelling(fake_gpu):
    @mg.autocast("cuda")
    def f(x):
        return x @ x.T

    x = mg.randn(2, 3, device="cuda")
    assert f(x).dtype == mg.float16
    with mg.cuda.amp.autocast():
        assert (x @ x.T).dtype == mg.float16
    with mg.cuda.amp.autocast(enabled=False):
        assert (x @ x.T).dtype == mg.float32


# ----------------------------------------------------------------------------- GradScaler
FACTORS = [2.0, 3.0, float("inf"), 1.0, float("nan"), 0.5, 2.0, 1.5]


def _torch_run(kw, factors, opt_cls, opt_kw):
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
    opt = opt_cls([p], **opt_kw)
    s = torch.amp.GradScaler("cpu", **kw)
    scales, params = [], []
    for f in factors:
        opt.zero_grad()
        loss = (p * p * f).sum()
        s.scale(loss).backward()
        s.step(opt)
        s.update()
        scales.append(s.get_scale())
        params.append(p.detach().numpy().copy())
    return scales, params, s.state_dict()


def _mg_run(kw, factors, opt_cls, opt_kw):
    p = mg.nn.Parameter(mg.tensor([1.0, -2.0, 0.5], device="cuda"))
    opt = opt_cls([p], **opt_kw)
    s = mg.amp.GradScaler("cuda", **kw)
    scales, params = [], []
    for f in factors:
        opt.zero_grad()
        loss = (p * p * f).sum()
        s.scale(loss).backward()
        s.step(opt)
        s.update()
        assert p.is_cuda and p.grad.is_cuda
        scales.append(s.get_scale())
        params.append(p.detach().cpu().numpy())
    return scales, params, s.state_dict()


@pytest.mark.parametrize(
    "kw",
    [
        dict(init_scale=8.0, growth_interval=2),
        dict(init_scale=2.0**16, growth_factor=4.0, backoff_factor=0.25, growth_interval=3),
        dict(init_scale=1.0, growth_interval=1),
    ],
)
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_grad_scaler_matches_torch_step_for_step(fake_gpu, kw, opt):
    t_opt, m_opt = ((torch.optim.SGD, mg.optim.SGD), (torch.optim.Adam, mg.optim.Adam))[opt == "adam"]
    opt_kw = dict(lr=0.1, momentum=0.9) if opt == "sgd" else dict(lr=0.05)
    t_scales, t_params, t_sd = _torch_run(kw, FACTORS, t_opt, opt_kw)
    m_scales, m_params, m_sd = _mg_run(kw, FACTORS, m_opt, opt_kw)
    assert m_scales == t_scales
    np.testing.assert_allclose(np.array(m_params), np.array(t_params), rtol=1e-6, atol=1e-7)
    assert m_sd == {k: (v.item() if hasattr(v, "item") else v) for k, v in t_sd.items()}


def test_scale_unscale_and_skip(fake_gpu):
    p = mg.nn.Parameter(mg.tensor([1.0, 2.0], device="cuda"))
    opt = mg.optim.SGD([p], lr=1.0)
    s = mg.cuda.amp.GradScaler(init_scale=4.0)
    assert s.is_enabled() and s.get_scale() == 4.0
    loss = (p * 3).sum()
    scaled = s.scale(loss)
    assert scaled.item() == 36.0 and scaled.is_cuda
    a, (b, c) = s.scale([loss, (loss, loss * 2)])
    assert a.item() == 36.0 and c.item() == 72.0
    scaled.backward()
    np.testing.assert_array_equal(p.grad.cpu().numpy(), [12.0, 12.0])
    s.unscale_(opt)  # e.g. before clip_grad_norm_
    np.testing.assert_array_equal(p.grad.cpu().numpy(), [3.0, 3.0])
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        s.unscale_(opt)
    s.step(opt)  # does not unscale twice
    np.testing.assert_array_equal(p.detach().cpu().numpy(), [-2.0, -1.0])
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        s.step(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step\\(\\)"):
        s.unscale_(opt)
    s.update()
    # an inf gradient: the step is skipped and the scale backs off
    opt.zero_grad()
    s.scale((p * float("inf")).sum()).backward()
    before = p.detach().cpu().numpy()
    s.step(opt)
    s.update()
    np.testing.assert_array_equal(p.detach().cpu().numpy(), before)
    assert s.get_scale() == 2.0
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        s.step(opt, closure=lambda: None)
    with pytest.raises(AssertionError, match="No inf checks were recorded prior to update"):
        s.update()
    s.update(new_scale=128.0)
    assert s.get_scale() == 128.0


def test_grad_scaler_errors_and_state(fake_gpu):
    with pytest.raises(ValueError, match="growth factor"):
        mg.amp.GradScaler(growth_factor=1.0)
    with pytest.raises(ValueError, match="backoff factor"):
        mg.amp.GradScaler(backoff_factor=1.0)
    p = mg.nn.Parameter(mg.tensor([1.0], device="cuda"))
    opt = mg.optim.SGD([p], lr=0.1)
    s = mg.amp.GradScaler()
    with pytest.raises(RuntimeError, match="did not use scaler.scale"):
        s.unscale_(opt)
    s.scale(p.sum())
    with pytest.raises(AssertionError, match="No inf checks were recorded for this optimizer"):
        s.step(opt)  # no parameter has a gradient
    h = mg.nn.Parameter(mg.tensor([1.0], dtype=mg.float16, device="cuda"))
    h.grad = mg.ones(1, dtype=mg.float16, device="cuda")
    s3 = mg.amp.GradScaler()
    s3.scale(h.sum())
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients"):
        s3.unscale_(mg.optim.SGD([h], lr=0.1))
    s2 = mg.amp.GradScaler(init_scale=3.0, growth_interval=7)
    s2.load_state_dict(
        {"scale": 5.0, "growth_factor": 3.0, "backoff_factor": 0.25, "growth_interval": 9, "_growth_tracker": 2}
    )
    assert s2.get_scale() == 5.0 and s2.get_growth_interval() == 9 and s2.state_dict()["_growth_tracker"] == 2
    with pytest.raises(RuntimeError, match="source state dict is empty"):
        s2.load_state_dict({})


def test_grad_scaler_without_cuda_is_disabled(no_gpu):
    with pytest.warns(UserWarning, match="CUDA is not available"):
        s = mg.amp.GradScaler()
    with pytest.warns(UserWarning, match="CUDA is not available"):
        mg.cuda.amp.GradScaler()
    with pytest.warns(UserWarning, match="cpu"):
        mg.amp.GradScaler("cpu")
    assert not s.is_enabled() and s.get_scale() == 1.0 and s.state_dict() == {}
    p = mg.nn.Parameter(mg.tensor([1.0, 2.0]))
    opt = mg.optim.SGD([p], lr=0.5)
    loss = (p * 2).sum()
    assert s.scale(loss) is loss
    loss.backward()
    s.unscale_(opt)
    s.step(opt)
    s.update()
    np.testing.assert_array_equal(p.detach().numpy(), [0.0, 1.0])


def test_no_warning_when_explicitly_disabled(no_gpu):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = mg.amp.GradScaler(enabled=False)
        with mg.autocast("cuda", enabled=False):
            pass
    assert not s.is_enabled()


def test_mixed_precision_training_loop_on_the_gpu(fake_gpu):
    """autocast + GradScaler: the loss goes down, parameters and their gradients stay float32 on the GPU."""
    mg.manual_seed(0)
    model = mg.nn.Sequential(mg.nn.Linear(6, 16), mg.nn.ReLU(), mg.nn.Linear(16, 3)).cuda()
    opt = mg.optim.Adam(model.parameters(), lr=1e-2)
    scaler = mg.amp.GradScaler(init_scale=2.0**10)
    r = np.random.default_rng(0)
    x = mg.tensor(r.standard_normal((32, 6)).astype(np.float32), device="cuda")
    y = mg.tensor((r.standard_normal(32) > 0).astype(np.int64) + (r.standard_normal(32) > 1), device="cuda")
    losses = []
    for _ in range(30):
        opt.zero_grad()
        with mg.autocast("cuda"):
            out = model(x)
            loss = F.cross_entropy(out, y)
        assert out.dtype == mg.float16 and loss.dtype == mg.float32
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        mg.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        scaler.step(opt)
        scaler.update()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
    for p in model.parameters():
        assert p.dtype == mg.float32 and p.is_cuda and p.grad.dtype == mg.float32 and p.grad.is_cuda
