"""Optimizer updates: the fast Adam (one compiled pass, torch's order of operations) equals the reference
(torch's documented formulas as array expressions).

``adam_update`` returns nothing: it updates the parameter and its moments in place, so the test here runs
both backends on copies of the same arrays and compares every array afterwards.

float32 bounds: the two round differently (the fast one computes the first moment as a lerp and divides
``sqrt(v)`` by ``sqrt(1 - beta2**t)``; the reference writes ``beta1 * m + (1 - beta1) * g`` and
``sqrt(v / (1 - beta2**t))``). Largest difference measured over seeds 0-4, relative to each array's largest
value: 1.1e-7 (the parameter; the first moment 7.9e-8, the second 2.8e-8); the bound is 5e-7. float64
differs by 3e-16 at most.
"""

import numpy as np
import pytest

from minigrad.compute import fast, reference
from tests.compute.harness import RTOL, Case, _compare, _copy

SIZE = (64, 1000)


def _state(layout="C"):
    """``make`` for Adam's arrays: param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, a few steps in."""

    def make(rng, dtype):
        param, grad, exp_avg = (rng.standard_normal(SIZE).astype(dtype) for _ in range(3))
        exp_avg_sq = (rng.standard_normal(SIZE) ** 2).astype(dtype)
        max_exp_avg_sq = exp_avg_sq * dtype.type(1.5)
        arrays = (param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq)
        if layout == "F":  # not C-contiguous: the fast backend's array-module path instead of the compiled one
            arrays = tuple(np.asfortranarray(a) for a in arrays)
        return arrays

    return make


def _options(**kwargs):
    base = dict(step=3, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0)
    return {**base, "amsgrad": False, "maximize": False, "decoupled": False, **kwargs}


CASES = [
    Case("adam_update", _state(), kwargs=_options(), rtol32=5e-7),  # measured 1.1e-7 (see the module docstring)
    Case("adam_update", _state(), kwargs=_options(amsgrad=True, weight_decay=0.1), rtol32=5e-7, label="amsgrad_l2"),
    Case(
        "adam_update",
        _state(),
        kwargs=_options(decoupled=True, weight_decay=0.1, maximize=True, beta1=0.3, beta2=0.5),
        rtol32=5e-7,
        label="adamw_maximize",
    ),
    Case("adam_update", _state("F"), kwargs=_options(amsgrad=True), rtol32=5e-7, label="not_contiguous"),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_fast_equals_reference(case, dtype):
    """Both backends update copies of the same arrays; every array must agree afterwards."""
    arrays = case.make(np.random.default_rng(0), np.dtype(dtype))
    want = [_copy(a) for a in arrays]
    got = [_copy(a) for a in arrays]
    assert reference.TABLE[case.name](*want, **case.kwargs) is None
    assert fast.TABLE[case.name](*got, **case.kwargs) is None
    assert not np.array_equal(want[0], arrays[0])  # the parameter moved
    _compare(got, want, RTOL["float64"] if dtype == "float64" else case.rtol32, f"{case} ({dtype})")
