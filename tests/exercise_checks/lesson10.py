"""Checks of lesson 10's exercises (see tests/test_exercises.py)."""

import numpy as np
import pytest
import torch

import minigrad
from tests.exercise_checks import check


def _twins(seed=0, hidden=7):
    """The same small network in both libraries (float64, minigrad's weights copied into torch's)."""
    minigrad.manual_seed(seed)
    nn = minigrad.nn
    mine = nn.Sequential(nn.Linear(5, hidden), nn.Tanh(), nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU()),
                         nn.Linear(hidden, 3)).double()  # fmt: skip
    tn = torch.nn
    theirs = tn.Sequential(tn.Linear(5, hidden), tn.Tanh(), tn.Sequential(tn.Linear(hidden, hidden), tn.ReLU()),
                           tn.Linear(hidden, 3)).double()  # fmt: skip
    with torch.no_grad():
        for (name, p), (tname, tp) in zip(mine.named_parameters(), theirs.named_parameters()):
            assert name == tname
            tp.copy_(torch.from_numpy(p.detach().numpy().copy()))
    return mine, theirs


@check("lesson10", "gradient_norms")
def check_gradient_norms(ex):
    mine, theirs = _twins()
    for model in (mine, theirs):
        model[0].bias.requires_grad_(False)  # a frozen parameter has no gradient: it is left out
    x = np.random.default_rng(1).normal(size=(6, 5))
    (mine(minigrad.tensor(x)) ** 2).mean().backward()
    (theirs(torch.tensor(x)) ** 2).mean().backward()
    before = {name: p.grad.numpy().copy() for name, p in mine.named_parameters() if p.grad is not None}
    per_parameter, total = ex.gradient_norms(mine)
    want = {name: p.grad.norm().item() for name, p in theirs.named_parameters() if p.grad is not None}
    assert set(per_parameter) == set(want), f"names {sorted(per_parameter)}, expected {sorted(want)}"
    for name, norm in want.items():
        assert per_parameter[name] == pytest.approx(norm, rel=1e-12), name
    assert total == pytest.approx(torch.nn.utils.get_total_norm([p.grad for p in theirs.parameters()
                                                                 if p.grad is not None]).item(), rel=1e-12)  # fmt: skip
    for name, grad in before.items():
        np.testing.assert_array_equal(dict(mine.named_parameters())[name].grad.numpy(), grad, err_msg=name)
    assert ex.gradient_norms(minigrad.nn.Linear(2, 2)) == ({}, 0.0)  # no backward yet: nothing to report


def _torch_first_nonfinite(model, x):
    """The answer, from torch: forward hooks on the twin, in the order they fire."""
    bad = []

    def watch(name):
        def hook(module, args, output):
            if not torch.isfinite(output).all():
                bad.append(name)

        return hook

    handles = [m.register_forward_hook(watch(name)) for name, m in model.named_modules()]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return bad[0] if bad else None


def _hooks_left(model):
    return sum(len(m._forward_hooks) for m in model.modules())


@check("lesson10", "first_nonfinite_module")
def check_first_nonfinite_module(ex):
    x = np.random.default_rng(2).normal(size=(4, 5))
    for plant in (None, "2.0", "3", "input"):
        mine, theirs = _twins()
        xm = x.copy()
        if plant == "input":
            xm[1, 2] = np.nan
        elif plant is not None:  # an infinite weight: the layer's output is inf or nan, whatever the order of the sum
            for model in (mine, theirs):
                layer = dict(model.named_modules())[plant]
                with (minigrad if model is mine else torch).no_grad():
                    layer.weight.fill_(float("inf"))
        with np.errstate(invalid="ignore", over="ignore"):  # NumPy warns about inf * 0 (torch does not)
            got = ex.first_nonfinite_module(mine, minigrad.tensor(xm))
        want = _torch_first_nonfinite(theirs, torch.tensor(xm))
        assert got == want, f"first non-finite module {got!r}, expected {want!r} (planted: {plant})"
        assert _hooks_left(mine) == 0, "the hooks must be removed before returning"
    broken = minigrad.nn.Sequential(minigrad.nn.Linear(5, 3), minigrad.nn.Linear(4, 2))  # shapes do not chain
    with pytest.raises(RuntimeError):
        ex.first_nonfinite_module(broken, minigrad.randn(2, 5))
    assert _hooks_left(broken) == 0, "the hooks must be removed even when forward raises"
