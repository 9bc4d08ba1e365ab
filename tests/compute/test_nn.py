"""The layers' array code: the fast linear map, threaded embedding lookup and compiled scatter-add equal
the reference's plain NumPy.

float32 bounds: ``linear`` and ``linear_backward`` multiply the same matrices, the fast backend as one
``(M, in)`` product where the reference lets NumPy batch them. Measured over seeds 0-4 (one BLAS thread):
no difference at all; the bound, 1e-6 of the largest value, allows BLAS to block the sums differently on
another machine or thread count. The embedding lookup copies rows, and the compiled scatter-add adds the
rows in the reference's order: both exact (measured 0, bound 0).
"""

import numpy as np
import pytest

from minigrad.compute.fast import parallel
from tests.compute.harness import Case, check_backends_agree

LOOKUP = (64, 600, 64)  # indices (64, 600) into a table of 64-wide rows: 2.4M values, over parallel.MIN_SIZE
assert np.prod(LOOKUP) >= parallel.MIN_SIZE


def _linear(rng, dtype, bias=True):
    """A (batch, length, features) input: one folded (400, 64) product in the fast backend."""
    x = rng.standard_normal((8, 50, 64)).astype(dtype)
    w = rng.standard_normal((32, 64)).astype(dtype)
    return x, w, rng.standard_normal(32).astype(dtype) if bias else None


def _linear_no_bias(rng, dtype):
    return _linear(rng, dtype, bias=False)


def _linear_strided(rng, dtype):
    x, w, b = _linear(rng, dtype)
    return x.transpose(1, 0, 2), w, b  # not contiguous: the fast backend's batched product


def _linear_2d(rng, dtype):
    return rng.standard_normal((100, 64)).astype(dtype), rng.standard_normal((32, 64)).astype(dtype), None


def _linear_backward(needs):
    def make(rng, dtype):
        x, w, _ = _linear(rng, dtype)
        return rng.standard_normal((8, 50, 32)).astype(dtype), x, w, needs

    return make


def _lookup(rng, dtype):
    n, length, d = LOOKUP
    return rng.standard_normal((1000, d)).astype(dtype), rng.integers(0, 1000, (n, length))


def _lookup_small(rng, dtype):
    return rng.standard_normal((10, 4)).astype(dtype), rng.integers(0, 10, (3, 5))


def _scatter(padding_idx):
    def make(rng, dtype):
        indices = rng.integers(0, 100, 20000)  # each row ~200 times: the repeats must all be added
        return indices, rng.standard_normal((20000, 64)).astype(dtype), 100, padding_idx

    return make


CASES = [
    Case("linear", _linear, rtol32=1e-6),  # measured 0 (see the module docstring)
    Case("linear", _linear_no_bias, rtol32=1e-6, label="no_bias"),
    Case("linear", _linear_strided, rtol32=1e-6, label="strided"),
    Case("linear", _linear_2d, rtol32=1e-6, label="2d"),
    Case("linear_backward", _linear_backward((True, True, True)), rtol32=1e-6, label="all"),
    Case("linear_backward", _linear_backward((True, False)), rtol32=1e-6, label="input_only"),
    Case("linear_backward", _linear_backward((False, True, False)), rtol32=1e-6, label="weight_only"),
    Case("embedding_lookup", _lookup, rtol32=0.0),  # copies: exact
    Case("embedding_lookup", _lookup_small, rtol32=0.0, label="small"),
    Case("embedding_backward", _scatter(None), rtol32=0.0),  # the same additions in the same order: exact
    Case("embedding_backward", _scatter(3), rtol32=0.0, label="padding_idx"),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_fast_equals_reference(case, dtype):
    check_backends_agree(case, dtype)
