"""Arithmetic: the fast backend's threaded, layout-following versions equal NumPy's operators."""

import pytest

from tests.compute.harness import Case, check_backends_agree

BIG = (600, 4000)  # 2.4M elements: past the threshold where the fast backend uses threads


def _two(rng, dtype):
    return rng.standard_normal(BIG).astype(dtype), rng.standard_normal(BIG[1]).astype(dtype)


def _like(rng, dtype):
    a, b = _two(rng, dtype)
    return a, b, a.T.copy().T  # a Fortran-ordered array of the result's shape: the layout asked for


CASES = [
    Case("add", _two),
    Case("sub", _two),
    Case("mul", _two),
    Case("div", lambda rng, dtype: (_two(rng, dtype)[0], rng.uniform(1, 2, BIG).astype(dtype))),
    Case("mul_like", _like),
    Case("add", lambda rng, dtype: (rng.standard_normal((3, 4)).astype(dtype),) * 2, label="small"),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_fast_equals_reference(case, dtype):
    check_backends_agree(case, dtype)
