"""Holding the fast backend equal to the reference one, function by function.

A family's test module (``tests/compute/test_<family>.py``) lists ``CASES``: for each function the fast
backend overrides, inputs big enough to take its fast path. :func:`check_backends_agree` runs both
versions on the same inputs and compares: float64 to ~1e-12 relative, float32 within the case's bound
(measured, and stated in the case). ``test_coverage.py`` fails when a fast function has no case.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from minigrad.compute import fast, reference

RTOL = {"float64": 1e-12, "float32": 1e-5}


@dataclass
class Case:
    """``name``: the backend function; ``make(rng, dtype)`` returns its positional arguments."""

    name: str
    make: object
    kwargs: dict = field(default_factory=dict)
    rtol32: float = RTOL["float32"]  # the float32 bound for this function (fast and reference sum differently)
    label: str = ""

    def __str__(self):
        return f"{self.name}{'-' + self.label if self.label else ''}"


def _copy(a):
    return a.copy(order="K") if isinstance(a, np.ndarray) else a  # "K": a channels-last input stays channels-last


def _compare(got, want, rtol, where):
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want), f"{where}: {type(got)} vs {type(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            _compare(g, w, rtol, f"{where}[{i}]")
        return
    if want is None or np.isscalar(want):
        assert (got is None) == (want is None), f"{where}: {got!r} vs {want!r}"
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=rtol, err_msg=where)
        return
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{where}: shape {got.shape} vs {want.shape}"
    assert got.dtype == want.dtype, f"{where}: dtype {got.dtype} vs {want.dtype}"
    scale = float(np.max(np.abs(want[np.isfinite(want)]), initial=0.0)) if want.dtype.kind in "fc" else 0.0
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale, err_msg=where, equal_nan=True)


def check_backends_agree(case: Case, dtype: str, seed: int = 0):
    """Run ``case`` through both backends on the same inputs and compare the results."""
    args = case.make(np.random.default_rng(seed), np.dtype(dtype))
    want = reference.TABLE[case.name](*[_copy(a) for a in args], **case.kwargs)
    got = fast.TABLE[case.name](*[_copy(a) for a in args], **case.kwargs)
    rtol = RTOL["float64"] if dtype == "float64" else case.rtol32
    _compare(got, want, rtol, f"{case} ({dtype})")
