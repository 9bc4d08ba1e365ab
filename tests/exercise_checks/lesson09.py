"""Checks of lesson 09's exercises (see tests/test_exercises.py)."""

import numpy as np
import torch

from minigrad.compute.reference.conv import conv1d as reference_conv1d
from tests.exercise_checks import _close, check


@check("lesson09", "conv1d_im2col")
def check_conv1d_im2col(ex):
    rng = np.random.default_rng(9)
    for (n, c, length), (c_out, k), padding, bias in (
        ((2, 3, 11), (4, 3), 1, True),
        ((1, 1, 7), (2, 5), 0, False),
        ((3, 4, 9), (5, 1), 2, True),
        ((2, 2, 4), (3, 4), 3, False),
    ):
        x, w = rng.normal(size=(n, c, length)), rng.normal(size=(c_out, c, k))
        b = rng.normal(size=c_out) if bias else None
        got = ex.conv1d_im2col(x, w, b, padding)
        _close(got, reference_conv1d(x, w, b, 1, (padding, padding), 1, 1))
        bt = None if b is None else torch.tensor(b)
        _close(got, torch.nn.functional.conv1d(torch.tensor(x), torch.tensor(w), bt, padding=padding))


def _error(total, exact):
    return float(np.abs(total.astype(np.float64) - exact).max() / np.abs(exact).max())


@check("lesson09", "chunked_sum")
def check_chunked_sum(ex):
    rng = np.random.default_rng(10)
    eps = float(np.finfo(np.float32).eps)
    for shape, axis, chunk in (((6, 50_000, 8), 1, 64), ((8, 30_001), 1, 64), ((4, 9_999, 3), -2, 32), ((5, 7), 1, 64)):
        x = rng.random(shape).astype(np.float32)
        if x.ndim == 2:
            x = np.asfortranarray(x)  # axis 1 is then the slow axis, as in the others
        exact = x.astype(np.float64).sum(axis=axis)
        got = ex.chunked_sum(x, axis, chunk)
        assert isinstance(got, np.ndarray) and got.dtype == np.float32, "return a float32 array"
        assert got.shape == exact.shape, f"shape {got.shape}, expected {exact.shape}"
        n = x.shape[axis]
        bound = (chunk + n / chunk + 2) * eps  # each value passes through about chunk + n / chunk additions
        assert _error(got, exact) <= bound, f"error {_error(got, exact):.1e} over the bound {bound:.1e} for {shape}"
        naive = x.sum(axis=axis)
        if n >= 4 * chunk:  # long enough for the slice-by-slice sum to drift: the chunked one must do better
            assert _error(got, exact) < _error(naive, exact) / 3, "no more accurate than NumPy's own sum"
