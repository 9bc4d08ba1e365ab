"""The gradient of a matrix shared by a batch: one folded product (fast) equals the per-entry sum (reference).

float32: both sum ``batch * n`` products per output element, in different orders (BLAS over the folded
rows against a per-entry product then a sum over the batch). Measured on these inputs: the largest
difference is 6.4e-7, 3.9e-7 and 7.6e-7 of the largest value (the harness's ``atol``), so the bound is 1e-5.
"""

import pytest

from tests.compute.harness import Case, check_backends_agree


def _linear(rng, dtype):
    """A Linear layer on a (batch, length, features) input: a (8, 50, 64), grad (8, 50, 32)."""
    return rng.standard_normal((8, 50, 64)).astype(dtype), rng.standard_normal((8, 50, 32)).astype(dtype)


def _two_batch_dims(rng, dtype):
    return rng.standard_normal((2, 3, 40, 16)).astype(dtype), rng.standard_normal((2, 3, 40, 24)).astype(dtype)


def _strided(rng, dtype):
    """``a`` a transposed view (not contiguous: the fast path's reshape copies it)."""
    a, g = _linear(rng, dtype)
    return a.transpose(1, 0, 2), g.transpose(1, 0, 2)


CASES = [
    Case("shared_matrix_grad", _linear, rtol32=1e-5),  # measured 6.4e-7 (see the module docstring)
    Case("shared_matrix_grad", _two_batch_dims, rtol32=1e-5, label="two_batch_dims"),
    Case("shared_matrix_grad", _strided, rtol32=1e-5, label="strided"),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_fast_equals_reference(case, dtype):
    check_backends_agree(case, dtype)
