"""minigrad.optim.lr_scheduler against torch.optim.lr_scheduler: the learning rates of 100 steps agree."""

import math
import warnings

import numpy as np
import pytest
import torch

import minigrad
from minigrad import optim
from minigrad.optim import lr_scheduler as mls

TLS = torch.optim.lr_scheduler


def _opts(lrs=(0.1, 0.02), cls="SGD", **kw):
    """A minigrad optimizer and a torch optimizer with one parameter group per entry of ``lrs``."""
    mg = [{"params": [minigrad.tensor(np.ones(2), requires_grad=True)], "lr": lr} for lr in lrs]
    th = [{"params": [torch.ones(2, dtype=torch.float64, requires_grad=True)], "lr": lr} for lr in lrs]
    return getattr(optim, cls)(mg, **kw), getattr(torch.optim, cls)(th, **kw)


def _compare(make, steps=100, cls="SGD", lrs=(0.1, 0.02), **kw):
    mg_opt, th_opt = _opts(lrs, cls, **kw)
    mg_s, th_s = make(mls, mg_opt), make(TLS, th_opt)
    seq_mg, seq_th = [mg_s.get_last_lr()], [th_s.get_last_lr()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(steps):
            mg_opt.step()
            th_opt.step()
            mg_s.step()
            th_s.step()
            seq_mg.append(mg_s.get_last_lr())
            seq_th.append(th_s.get_last_lr())
            assert [g["lr"] for g in mg_opt.param_groups] == seq_mg[-1]
    np.testing.assert_allclose(np.array(seq_mg), np.array(seq_th), rtol=1e-10, atol=0)
    assert getattr(mg_s, "last_epoch", None) == getattr(th_s, "last_epoch", None)
    return np.array(seq_mg)


SCHEDULES = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[10, 30, 30, 80], gamma=0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.97),
    "LinearLR": lambda m, o: m.LinearLR(o),
    "LinearLR-long": lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.6, total_iters=40),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=12),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=30, eta_min=1e-3),  # > 3 half-cycles
    "CosineAnnealingLR-100": lambda m, o: m.CosineAnnealingLR(o, T_max=100),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lr_lambda=lambda e: 1.0 / (1 + 0.1 * e)),
    "LambdaLR-per-group": lambda m, o: m.LambdaLR(o, lr_lambda=[lambda e: 0.95**e, lambda e: 1 + math.sin(e)]),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lr_lambda=lambda e: 0.98 if e % 3 else 1.01),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o,
        [
            m.LinearLR(o, start_factor=0.2, total_iters=5),
            m.CosineAnnealingLR(o, T_max=60),
            m.ExponentialLR(o, gamma=0.9),
        ],
        milestones=[5, 70],
    ),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=60, power=1.7),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.LinearLR(o, start_factor=0.3, total_iters=10), m.ExponentialLR(o, gamma=0.97)]
    ),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7, T_mult=2, eta_min=0.001),
    "CosineAnnealingWarmRestarts-1": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=9),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.1], total_steps=100),
    "OneCycleLR-3phase-linear": lambda m, o: m.OneCycleLR(
        o, max_lr=0.3, total_steps=120, three_phase=True, anneal_strategy="linear"
    ),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_lr_sequence_matches_torch(name):
    seq = _compare(SCHEDULES[name])
    assert len(set(seq[:, 0].tolist())) > 1  # the schedule really changes the rate


def test_onecycle_cycles_momentum_and_betas():
    mg_opt, th_opt = _opts(cls="SGD", momentum=0.9)
    a, b = mls.OneCycleLR(mg_opt, max_lr=0.4, total_steps=50), TLS.OneCycleLR(th_opt, max_lr=0.4, total_steps=50)
    ma, mb = _opts(cls="Adam")
    c, d = (
        mls.OneCycleLR(ma, max_lr=0.4, epochs=5, steps_per_epoch=10),
        TLS.OneCycleLR(mb, max_lr=0.4, epochs=5, steps_per_epoch=10),
    )
    for _ in range(49):
        for s in (a, b, c, d):
            s.optimizer.step()
            s.step()
        assert mg_opt.param_groups[0]["momentum"] == pytest.approx(th_opt.param_groups[0]["momentum"], rel=1e-12)
        assert ma.param_groups[1]["betas"][0] == pytest.approx(mb.param_groups[1]["betas"][0], rel=1e-12)
    with pytest.raises(ValueError, match="Tried to step 51 times"):
        a.step()
        a.step()
    with pytest.raises(ValueError, match="total_steps OR"):
        mls.OneCycleLR(mg_opt, max_lr=0.1)


def test_scheduler_drives_adam_trajectory():
    """A scheduled Adam run lands on torch's parameters (the scheduler writes the lr that step() reads)."""
    p = minigrad.tensor(np.linspace(-1, 1, 5), requires_grad=True)
    q = torch.tensor(np.linspace(-1, 1, 5), requires_grad=True)
    o1, o2 = optim.Adam([p], lr=0.05), torch.optim.Adam([q], lr=0.05)
    s1, s2 = mls.CosineAnnealingLR(o1, T_max=20), TLS.CosineAnnealingLR(o2, T_max=20)
    for _ in range(40):
        g = np.sin(3 * p.array) + p.array
        p.grad, q.grad = minigrad.tensor(g), torch.tensor(g)
        o1.step()
        o2.step()
        s1.step()
        s2.step()
    np.testing.assert_allclose(p.array, q.detach().numpy(), rtol=1e-10)


def _plateau(metrics, **kw):
    mg_opt, th_opt = _opts(lrs=(1.0, 0.5))
    a, b = mls.ReduceLROnPlateau(mg_opt, **kw), TLS.ReduceLROnPlateau(th_opt, **kw)
    out = []
    for m in metrics:
        a.step(m)
        b.step(m)
        assert a.get_last_lr() == pytest.approx(b.get_last_lr(), rel=1e-12, abs=0)
        assert (a.num_bad_epochs, a.cooldown_counter, a.best) == (b.num_bad_epochs, b.cooldown_counter, b.best)
        out.append(a.get_last_lr()[0])
    return out


METRIC_RNG = np.random.default_rng(3)
NOISY = (1.0 / np.arange(1, 101) + 0.02 * METRIC_RNG.standard_normal(100)).tolist()


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(patience=2, factor=0.5),
        dict(patience=3, factor=0.5, cooldown=4),
        dict(patience=1, factor=0.3, threshold=0.05, threshold_mode="abs"),
        dict(patience=2, factor=0.2, min_lr=[0.01, 0.2]),
        dict(patience=0, factor=0.5, min_lr=0.3, eps=1e-3),
        dict(mode="max", patience=2, factor=0.5, threshold=0.01),
        dict(mode="max", patience=1, threshold_mode="abs", threshold=0.1, cooldown=2),
    ],
)
def test_reduce_lr_on_plateau_matches_torch(kw):
    metrics = NOISY if kw.get("mode", "min") == "min" else [-m for m in NOISY]
    lrs = _plateau(metrics + [float(torch.tensor(5.0))] * 30, **kw)
    assert lrs[-1] < 1.0  # the rate was reduced at least once


def test_reduce_lr_on_plateau_scripted():
    # min mode, patience 2: improvements at epochs 1-3, then 3 bad epochs -> reduce on the third
    lrs = _plateau([5, 4, 3, 3, 3, 3, 3, 3, 3], patience=2, factor=0.5)
    assert lrs == [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    sched = mls.ReduceLROnPlateau(_opts()[0], mode="max")
    sched.step(minigrad.tensor(2.0))  # a 0-d tensor metric is accepted
    assert sched.best == 2.0


def test_reduce_lr_on_plateau_errors_and_state():
    o = _opts()[0]
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        mls.ReduceLROnPlateau(o, factor=1.5)
    with pytest.raises(ValueError, match="mode 'up' is unknown"):
        mls.ReduceLROnPlateau(o, mode="up")
    with pytest.raises(ValueError, match="threshold mode 'x' is unknown"):
        mls.ReduceLROnPlateau(o, threshold_mode="x")
    with pytest.raises(ValueError, match="expected 2 min_lrs, got 3"):
        mls.ReduceLROnPlateau(o, min_lr=[0, 0, 0])
    with pytest.raises(TypeError, match="is not an Optimizer"):
        mls.ReduceLROnPlateau(object())
    s = mls.ReduceLROnPlateau(o, patience=1)
    for m in (3, 2, 2):
        s.step(m)
    s2 = mls.ReduceLROnPlateau(_opts()[0], patience=1)
    s2.load_state_dict(s.state_dict())
    assert (s2.best, s2.num_bad_epochs, s2.last_epoch) == (2, 1, 3)


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "SequentialLR", "LambdaLR"])
def test_state_dict_resume(name):
    """Stop after 37 steps, rebuild optimizer and scheduler, load both states, continue: same rates."""
    full = _compare(SCHEDULES[name], steps=80)
    mg_opt, _ = _opts()
    s = SCHEDULES[name](mls, mg_opt)
    for _ in range(37):
        mg_opt.step()
        s.step()
    osd, ssd = mg_opt.state_dict(), s.state_dict()
    assert "optimizer" not in ssd
    o2, _ = _opts()
    o2.load_state_dict(osd)
    s2 = SCHEDULES[name](mls, o2)
    s2.load_state_dict(ssd)
    o2.load_state_dict(osd)  # building the scheduler reset the lrs; restore them, as torch users do
    seq = []
    for _ in range(80 - 37):
        o2.step()
        s2.step()
        seq.append(s2.get_last_lr())
    np.testing.assert_allclose(np.array(seq), full[38:], rtol=1e-12)


def test_base_attributes_and_errors():
    o, _ = _opts()
    s = mls.StepLR(o, step_size=2)
    assert s.base_lrs == [0.1, 0.02] and s.last_epoch == 0 and s.get_last_lr() == [0.1, 0.02]
    assert o.param_groups[0]["initial_lr"] == 0.1
    o.step()
    s.step(epoch=6)  # closed form jump
    assert s.get_last_lr() == pytest.approx([0.1 * 0.1**3, 0.02 * 0.1**3])
    with pytest.raises(TypeError, match="is not an Optimizer"):
        mls.StepLR("sgd", step_size=2)
    o2, _ = _opts()
    with pytest.raises(KeyError, match="initial_lr"):
        mls.ExponentialLR(o2, gamma=0.9, last_epoch=3)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        mls.LambdaLR(o2, lr_lambda=[lambda e: 1.0])
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        mls.LinearLR(o2, start_factor=0)
    with pytest.raises(ValueError, match="number of milestone points"):
        mls.SequentialLR(o2, [mls.StepLR(o2, 3), mls.StepLR(o2, 4)], milestones=[])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        mls.SequentialLR(o2, [mls.StepLR(o2, 3), mls.ReduceLROnPlateau(o2)], milestones=[2])
    with pytest.raises(ValueError, match="same optimizer"):
        mls.SequentialLR(o2, [mls.StepLR(o2, 3), mls.StepLR(_opts()[0], 3)], milestones=[2])


def test_lambda_state_dict_keeps_callable_objects():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, e):
            return self.rate**e

    o, _ = _opts()
    s = mls.LambdaLR(o, [Decay(), lambda e: 1.0])
    sd = s.state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.5}, None]
    sd["lr_lambdas"][0]["rate"] = 0.25
    s.load_state_dict(sd)
    assert s.lr_lambdas[0].rate == 0.25 and "lr_lambdas" in sd


def test_warns_when_scheduler_steps_before_optimizer():
    o, _ = _opts()
    s = mls.StepLR(o, step_size=2)
    with pytest.warns(UserWarning, match=r"before `optimizer.step\(\)`"):
        s.step()
    o2, _ = _opts()
    s2 = mls.StepLR(o2, step_size=2)
    o2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s2.step()  # the right order: no warning
        o2.step()
        s2.step()


def test_warm_restarts_fractional_epochs():
    mg_opt, th_opt = _opts()
    a = mls.CosineAnnealingWarmRestarts(mg_opt, T_0=3, T_mult=2)
    b = TLS.CosineAnnealingWarmRestarts(th_opt, T_0=3, T_mult=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in range(12):
            for i in range(4):
                a.step(epoch + i / 4)
                b.step(epoch + i / 4)
                assert a.get_last_lr() == pytest.approx(b.get_last_lr(), rel=1e-12)
    with pytest.raises(ValueError, match="Expected positive integer T_0"):
        mls.CosineAnnealingWarmRestarts(mg_opt, T_0=0)
    with pytest.raises(ValueError, match="non-negative epoch"):
        a.step(-1)
