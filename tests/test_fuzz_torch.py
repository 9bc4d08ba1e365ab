"""Differential fuzzing of minigrad against torch (the machine lives in tests/fuzz_support.py).

The default budget is small and derandomized so the suite stays fast and repeatable: FUZZ_EXAMPLES
programs (default 100, about 5 s) of up to FUZZ_STEPS steps (default 20). ``make fuzz`` runs a long,
randomized budget. FUZZ_INPLACE=0 leaves out the in-place rules; FUZZ_OFF (see fuzz_support.OPEN_FINDINGS)
the divergences already reported.
"""

import os

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings

import minigrad as mg
from tests import fuzz_support

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 100))
STEPS = int(os.environ.get("FUZZ_STEPS", 20))
RANDOM = os.environ.get("FUZZ_RANDOM", "0") == "1"  # make fuzz: a new seed every run

TestDifferentialFuzz = fuzz_support.DifferentialMachine.TestCase
TestDifferentialFuzz.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    derandomize=not RANDOM,
    database=None if not RANDOM else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def teardown_module():
    """Exception-type mismatches are soft findings (both libraries raised): list them, never fail on them."""
    print("\nfuzz:", ", ".join(f"{count} {what}" for what, count in fuzz_support.STATS.items()))
    for (template, torch_type, mg_type), count in sorted(fuzz_support.SOFT_FINDINGS.items()):
        print(f"soft finding x{count}: {template!r}: torch raised {torch_type}, minigrad {mg_type}")


# ---- divergences the fuzzer found, fixed, and kept fixed -------------------------------------------------------


@pytest.mark.parametrize("op", ["add", "sub"])
@pytest.mark.parametrize("float_other", [True, False])
def test_add_sub_with_alpha_save_nothing_so_backward_runs_twice(op, float_other):
    """torch's add/sub with ``alpha`` keep the number on the op and save no tensor, so a second backward
    (without retain_graph) runs; minigrad used to multiply first and free the saved factor."""
    grads = {}
    for lib in (torch, mg):
        x = lib.tensor([1.0, -2.0, 3.0], dtype=lib.float64, requires_grad=True)
        other = x * 2 if float_other else lib.tensor([0.5, 1.5, -1.0], dtype=lib.float64, requires_grad=True)
        y = getattr(lib, op)(lib.ones(3, dtype=lib.float64), other, alpha=0.75)
        upstream = lib.tensor([0.3, -1.1, 2.0], dtype=lib.float64)
        if float_other:  # other = x * 2 saved x: the second backward raises in both
            y.backward(upstream)
            with pytest.raises(RuntimeError, match="second time"):
                y.backward(upstream)
        else:
            y.backward(upstream)
            y.backward(upstream)
        grads[lib.__name__] = (y.detach().numpy(), (x if float_other else other).grad.numpy())
    for got, want in zip(grads["minigrad"], grads["torch"]):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("exponent", [2, 0.5, 0, -1.5])
def test_pow_with_a_number_exponent_does_not_save_its_result(exponent):
    """torch's ``x ** number`` saves ``x`` only, so writing into the result before backward is allowed;
    minigrad used to save the result and raise "modified by an inplace operation"."""
    grads = {}
    for lib in (torch, mg):
        x = lib.tensor([0.5, 1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = x**exponent
        y[0] = x[1] * 3
        y.backward(lib.tensor([0.3, -1.1, 2.0], dtype=lib.float64))
        grads[lib.__name__] = (y.detach().numpy(), x.grad.numpy())
    for got, want in zip(grads["minigrad"], grads["torch"]):
        np.testing.assert_allclose(got, want, rtol=1e-12)
