"""Lockstep parity, torch vs minigrad: loss, logits, ReLU inputs, every gradient, every parameter and Adam's
state after every step (float64: pure lockstep; float32: teacher forcing, see parity/lockstep.py)."""

import importlib
import math
import re

import numpy as np
import pytest

import minigrad
from parity.lockstep import KINDS, TOLERANCES, bounds_for, compare_arrays, device_available, run_lockstep
from parity.report import lockstep_table
from solubility import ProteinDataset, make_synthetic, read_records


@pytest.fixture(scope="module")
def embedded():
    # the embedded default data, kept short so the test runs in seconds
    return ProteinDataset(make_synthetic(48, seed=0, median_length=60), max_len=80)


def _check(res, steps):
    assert res.ok, str(res.first_divergence)
    assert len(res.history) == steps
    for h in res.history:
        # every step compared something real: the loss values are those of a 2-class CE
        assert 0.0 < h["loss_ref"] < 5.0 and math.isfinite(h["loss_cand"])
        for kind in KINDS:
            assert h[f"{kind}_rel"] <= res.bounds[kind], (kind, h)
        assert h["grad_worst"].startswith("grad:") and h["relu_in_worst"].startswith("relu_in:")


def _patch_backward(monkeypatch, module, cls_name, scale):
    """Scale every input gradient of one op class's backward: a wrong gradient, forward untouched."""
    cls = getattr(importlib.import_module(module), cls_name)  # the op class (the function shadows it)
    backward = cls.backward
    monkeypatch.setattr(
        cls, "backward", lambda self, g: tuple(None if x is None else scale * x for x in backward(self, g))
    )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lockstep_embedded_default(embedded, dtype):
    res = run_lockstep(embedded, steps=6, batch_size=4, dtype=dtype, seed=1)
    _check(res, 6)
    assert res.teacher_forcing is (dtype == "float32")
    if dtype == "float64":
        assert res.max_rel() < 1e-11
    # both sides changed their parameters: Adam really stepped
    assert res.history[-1]["loss_ref"] != res.history[0]["loss_ref"]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lockstep_shared_sample(shared_data, dtype):
    ds = ProteinDataset(read_records(shared_data / "sample.csv")[:40], max_len=64)
    res = run_lockstep(ds, steps=4, batch_size=4, dtype=dtype, seed=2, mask_after_conv=(dtype == "float32"))
    _check(res, 4)


def test_lockstep_detects_a_wrong_forward(embedded, monkeypatch):
    relu = minigrad.nn.functional.relu
    monkeypatch.setattr(minigrad.nn.functional, "relu", lambda x: relu(x) * 1.0001)
    res = run_lockstep(embedded, steps=3, batch_size=4, dtype="float64")
    assert not res.ok and len(res.history) == 1
    d = res.first_divergence
    assert d.step == 1 and d.tensor == "loss" and d.rel_err > 1e-9
    assert "step 1: loss diverged" in str(d)


def test_lockstep_detects_a_wrong_gradient_only(embedded, monkeypatch):
    """A backward bug that leaves the forward exact: found at the first gradient it touches."""
    _patch_backward(monkeypatch, "minigrad.ops.embedding", "Embedding", 1.01)
    res = run_lockstep(embedded, steps=3, batch_size=4, dtype="float64")
    d = res.first_divergence
    assert d is not None and d.step == 1 and d.tensor == "grad:embedding"
    assert res.history[0]["logits_rel"] < 1e-12  # the forward still agreed


def test_tolerances_are_the_documented_values():
    assert TOLERANCES["float64"] == dict.fromkeys(KINDS, 1e-9)
    assert TOLERANCES["float32"] == {
        "loss": 1e-6,
        "logits": 1e-5,
        "relu_in": 1e-5,
        "grad": 1e-4,
        "param": 1e-4,
        "adam": 1e-4,
    }
    assert bounds_for("float32", 1e-3) == dict.fromkeys(KINDS, 1e-3)
    assert bounds_for("float32", {"grad": 1e-2})["grad"] == 1e-2
    with pytest.raises(ValueError, match="unknown kinds in tolerance: \\['grads'\\]"):
        bounds_for("float32", {"grads": 1e-2})


@pytest.mark.parametrize(
    "module,cls,scale", [("minigrad.ops.embedding", "Embedding", 1.01), ("minigrad.ops.conv", "Conv1d", 1.001)]
)
def test_float32_wrong_gradient_fails_at_step_1(embedded, monkeypatch, module, cls, scale):
    """A gradient 1 % (embedding) or 0.1 % (both convolutions) off fails the float32 rule at once."""
    _patch_backward(monkeypatch, module, cls, scale)
    d = run_lockstep(embedded, steps=2, batch_size=4, dtype="float32", seed=1).first_divergence
    assert d is not None and d.step == 1 and d.tensor.startswith("grad:")
    assert d.rel_err > 5 * TOLERANCES["float32"]["grad"]


def _start_minigrad_off_torch(monkeypatch, rel=1e-3):
    """Copy the weights as usual, then nudge minigrad's conv2 weights: the two trajectories start apart."""
    import parity.lockstep as ls
    from parity.transfer import library_of

    copy = ls.copy_weights

    def copy_then_nudge(src, dst):
        copy(src, dst)
        if library_of(dst) is minigrad:  # not the untouched torch twin that measures the drift
            with minigrad.no_grad():
                w = dst.conv2.weight
                w.mul_(
                    1 + rel * minigrad.from_numpy(np.random.default_rng(0).standard_normal(w.shape).astype(np.float32))
                )

    monkeypatch.setattr(ls, "copy_weights", copy_then_nudge)


def test_float32_teacher_forcing_keeps_drift_out_of_the_verdict(embedded, monkeypatch):
    """minigrad starts 1e-3 off torch's weights: the compared torch step starts from minigrad's weights, so the
    verdict is unaffected; the distance from the untouched torch run is reported as drift."""
    _start_minigrad_off_torch(monkeypatch)
    res = run_lockstep(embedded, steps=3, batch_size=4, dtype="float32", seed=1)
    _check(res, 3)
    assert all(h["drift"] > 1e-4 for h in res.history)  # an untouched float32 torch run really is elsewhere
    assert res.summary()["drift"] == res.history[-1]["drift"]


def test_float32_wrong_gradient_is_caught_even_from_drifted_weights(embedded, monkeypatch):
    _start_minigrad_off_torch(monkeypatch)
    _patch_backward(monkeypatch, "minigrad.ops.conv", "Conv1d", 1.001)
    d = run_lockstep(embedded, steps=2, batch_size=4, dtype="float32", seed=1).first_divergence
    assert d is not None and d.step == 1 and d.tensor.startswith("grad:")


@pytest.mark.parametrize("bad_steps", [(1,), (3,), (2, 4)])
def test_float32_a_bad_step_fails_where_it_happens(embedded, monkeypatch, bad_steps):
    """No step is excused: a conv1 weight gradient 1 % off on one chosen step fails that step."""
    cls = importlib.import_module("minigrad.ops.conv").Conv1d
    backward = cls.backward
    calls = []

    def flaky(self, g):
        res = backward(self, g)
        calls.append(1)
        step = (len(calls) + 1) // 2  # two convolutions per step; conv2 runs its backward first
        if step in bad_steps and len(calls) % 2 == 0:
            res = (res[0], 1.01 * res[1]) + tuple(res[2:])
        return res

    monkeypatch.setattr(cls, "backward", flaky)
    res = run_lockstep(embedded, steps=5, batch_size=4, dtype="float32", seed=2)
    d = res.first_divergence
    assert d is not None and d.step == bad_steps[0] and d.tensor == "grad:conv1", str(d)
    assert len(res.history) == bad_steps[0]


def test_float32_relu_replay_takes_the_candidates_decision():
    """torch's ReLU keeps a unit exactly where minigrad's ReLU input was > 0, and its backward follows."""
    import torch

    from parity.lockstep import _replaying

    decisions = [np.array([2e-7, -1e-7, 3.0, -3.0], dtype=np.float32)]  # minigrad's inputs
    inputs = []
    relu = _replaying(torch, decisions, inputs)(torch.nn.functional.relu)
    x = torch.tensor([-1e-7, 2e-7, 3.0, -3.0], requires_grad=True)  # torch's: units 0 and 1 flipped
    y = relu(x)
    y.sum().backward()
    assert y.tolist() == pytest.approx([-1e-7, 0.0, 3.0, 0.0]) and x.grad.tolist() == [1.0, 0.0, 1.0, 0.0]
    np.testing.assert_array_equal(inputs[0], x.detach().numpy())
    with pytest.raises(RuntimeError, match="called relu more often than the candidate"):
        relu(x)


def test_float32_a_relu_bug_is_not_replayed_into_torch(embedded, monkeypatch):
    """The replayed decision is minigrad's ReLU *input* > 0, not its output: a ReLU that lets small negatives
    through still differs from torch in its forward and backward."""
    monkeypatch.setattr(minigrad.nn.functional, "relu", lambda x: minigrad.where(x > -0.05, x, minigrad.zeros_like(x)))
    d = run_lockstep(embedded, steps=2, batch_size=4, dtype="float32", seed=1).first_divergence
    assert d is not None and d.step == 1 and d.tensor in ("loss", "logits")


def test_float32_adam_state_is_compared(embedded, monkeypatch):
    """A bookkeeping bug in Adam (the step count never advances) fails at step 1, though torch takes
    minigrad's Adam state before every step."""
    step = minigrad.optim.Adam.step

    def step_without_counting(self, closure=None):
        out = step(self, closure)
        for st in self.state.values():
            st["step"].array -= 1
        return out

    monkeypatch.setattr(minigrad.optim.Adam, "step", step_without_counting)
    d = run_lockstep(embedded, steps=2, batch_size=4, dtype="float32", seed=1).first_divergence
    assert d is not None and d.step == 1 and d.tensor.startswith("adam:") and d.tensor.endswith(".step")


def test_a_float64_leak_in_float32_is_reported(embedded, monkeypatch):
    ce = minigrad.nn.functional.cross_entropy
    monkeypatch.setattr(minigrad.nn.functional, "cross_entropy", lambda x, y: ce(x.double(), y))
    res = run_lockstep(embedded, steps=1, batch_size=4, dtype="float32")
    d = res.first_divergence
    assert d is not None and d.tensor == "loss (minigrad gave float64, not float32)"
    assert res.summary()["loss_max_rel"] == math.inf  # the table shows it as a failure too


def _table_rows(text):
    """(max rel, bound, verdict) of every row of a printed lockstep table."""
    rows = []
    for line in text.splitlines()[2:]:
        cells = line.split()
        rows.append((float(cells[-5]), float(cells[-4]), cells[-1]))  # ... max, bound, tensor, (step), verdict
    return rows


def test_printed_verdict_never_contradicts_printed_numbers(embedded):
    """Each row prints the measured max (rounded up) and the bound; PASS iff max <= bound, as printed."""
    runs = [
        run_lockstep(embedded, steps=2, batch_size=4, dtype=dt, seed=3, tolerance=tol)
        for dt, tol in (("float64", None), ("float32", None), ("float32", 1e-6))
    ]
    summaries = [r.summary() for r in runs]
    # measured values a hair above and at the bound: rounding must not hide the difference
    edge = dict(summaries[1], grad_max_rel=1e-4 * (1 + 1e-12), param_max_rel=1e-4, adam_max_rel=9.9951e-5)
    summaries.append(edge)
    text = lockstep_table(summaries)
    rows = _table_rows(text)
    assert len(rows) == len(summaries) * len(KINDS)
    for measured, bound, verdict in rows:
        assert (verdict == "PASS") is (measured <= bound), text
    assert {v for *_, v in rows[: 2 * len(KINDS)]} == {"PASS"} and runs[0].ok and runs[1].ok
    assert "FAIL" in {v for *_, v in rows[2 * len(KINDS) : 3 * len(KINDS)]} and not runs[2].ok
    assert [v for *_, v in rows[3 * len(KINDS) :]][KINDS.index("grad") :] == ["FAIL", "PASS", "PASS"]
    assert re.search(r"grad +1\.01e-04 +1\.00e-04", text)


def test_compare_arrays():
    assert compare_arrays(np.array([1.0, -4.0]), np.array([1.0, -4.0])) == (0.0, 0.0)
    a, r = compare_arrays(np.array([1.0, -4.1]), np.array([1.0, -4.0]))
    assert a == pytest.approx(0.1) and r == pytest.approx(0.1 / math.sqrt(17))  # ||a - b|| / ||b||
    assert compare_arrays(np.array([np.nan]), np.array([1.0])) == (math.inf, math.inf)
    assert compare_arrays(np.zeros(2), np.zeros(2)) == (0.0, 0.0)
    assert compare_arrays(np.ones(2), np.zeros(2))[1] == math.inf
    with pytest.raises(ValueError, match="shapes differ"):
        compare_arrays(np.zeros(2), np.zeros(3))


def test_bad_dtype_and_unavailable_device(embedded):
    with pytest.raises(ValueError, match="dtype must be one of"):
        run_lockstep(embedded, steps=1, dtype="float16")
    import torch

    ok, why = device_available("cuda")
    if not torch.cuda.is_available():
        assert not ok and "torch.cuda is not available" in why
        with pytest.raises(RuntimeError, match="lockstep on cuda: torch.cuda is not available"):
            run_lockstep(embedded, steps=1, device="cuda")


@pytest.mark.gpu
def test_lockstep_gpu(embedded):
    ok, why = device_available("cuda")
    if not ok:
        pytest.skip(why)
    for dtype in ("float64", "float32"):
        _check(run_lockstep(embedded, steps=4, batch_size=4, dtype=dtype, device="cuda"), 4)
