"""Sums, means and reduction gradients: the fast backend's chunked, threaded, filled versions equal NumPy's.

float32 bounds: NumPy adds one slice after another along an axis that is not the contiguous one, so the
*reference* sum of thousands of float32 values along such an axis drifts from the exact sum, while the fast
one (64-wide chunks, or float64 accumulation) stays within ~1e-7 of it. Largest differences measured over
seeds 0-4, relative to the largest result: 1.4e-6 for 4096 values along one axis (sum and mean), 4.3e-6 for
8 x 4096 values over two axes, 5e-8 for 5 values; the bounds below leave ~2x room. Where both backends run
NumPy's own sum (along the contiguous axis, or over axes that include it) they agree exactly.
"""

import numpy as np
import pytest

from minigrad import config
from minigrad.compute import fast
from minigrad.compute.fast import kernels, parallel
from tests.compute.harness import Case, check_backends_agree

BIG = (8, 64, 4096)  # 2.1M elements: past parallel.MIN_SIZE, so a sum that keeps axis 0 runs on threads
assert np.prod(BIG) >= parallel.MIN_SIZE


def _channels_last(rng, dtype, shape=BIG):
    """An (N, C, L) array stored as (N, L, C), like a convolution's output: axis 2 is not the contiguous one."""
    n, c, length = shape
    return rng.standard_normal((n, length, c)).astype(dtype).transpose(0, 2, 1)


def _positions(rng, dtype):
    return (_channels_last(rng, dtype), (2,))  # one long non-contiguous axis: summed in 64-wide chunks


def _positions_odd(rng, dtype):
    x = _channels_last(rng, dtype, (8, 64, 4096 + 37))  # not a multiple of 64: the leftover is added apart
    return (x, (2,))


def _batch_and_positions(rng, dtype):
    return (_channels_last(rng, dtype), (0, 2))  # a conv bias gradient: one thread, float64 accumulation


def _two_axes(rng, dtype):
    return (_channels_last(rng, dtype), (1, 2))  # keeps axis 0: threads, float64 accumulation


def _contiguous(rng, dtype):
    return (rng.standard_normal(BIG).astype(dtype), (2,))  # NumPy's pairwise sum in both backends


def _everything(rng, dtype):
    return (_channels_last(rng, dtype), None)


def _small(rng, dtype):
    return (rng.standard_normal((3, 5, 7)).astype(dtype), (1,))


def _empty_axis(rng, dtype):
    return (np.zeros((3, 0, 4), dtype), (1,))  # the mean of nothing is NaN


def _gradient(shape):
    def make(rng, dtype):
        return rng.standard_normal((shape[0], 1, shape[2])).astype(dtype), shape

    return make


CASES = [
    Case("accurate_sum", _positions, rtol32=3e-6),  # measured 1.4e-6 (see the module docstring)
    Case("accurate_sum", _positions, kwargs={"keepdims": True}, rtol32=3e-6, label="keepdims"),
    Case("accurate_sum", _positions_odd, rtol32=3e-6, label="odd_length"),
    Case("accurate_sum", _batch_and_positions, rtol32=1e-5, label="batch_and_positions"),  # measured 4.3e-6,
    Case("accurate_sum", _two_axes, rtol32=0.0, label="two_axes"),  # includes the contiguous axis,
    Case("accurate_sum", _contiguous, rtol32=0.0, label="contiguous"),  # the same NumPy sum: exact
    Case("accurate_sum", _everything, rtol32=0.0, label="all_axes"),
    Case("accurate_sum", _small, rtol32=1e-7, label="small"),  # float64 accumulation: measured 5e-8,
    Case("accurate_mean", _positions, rtol32=3e-6),  # measured 1.5e-6,
    Case("accurate_mean", _two_axes, kwargs={"keepdims": True}, rtol32=0.0, label="keepdims"),
    Case("accurate_mean", _contiguous, rtol32=0.0, label="contiguous"),
    Case("accurate_mean", _empty_axis, rtol32=0.0, label="empty"),
    Case("broadcast_gradient", _gradient((4, 5, 6)), rtol32=0.0, label="small"),  # a filled array
    Case("broadcast_gradient", _gradient((64, 128, 6)), rtol32=0.0, label="large"),  # a view
]


@pytest.fixture(autouse=True)
def two_threads():
    with config.using(num_threads=2):  # the threaded paths run on any machine
        yield


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_fast_equals_reference(case, dtype):
    check_backends_agree(case, dtype)


def test_fast_float32_sum_is_as_accurate_as_float64_rounded():
    """The point of the fast sum: along a non-contiguous axis it stays within ~1e-7 of the exact sum."""
    x, axes = _positions(np.random.default_rng(0), np.dtype("float32"))
    exact = x.astype(np.float64).sum(axis=axes)
    err = np.abs(fast.TABLE["accurate_sum"](x, axes) - exact).max() / np.abs(exact).max()
    assert err < 3e-7, err


def test_small_gradients_are_filled_arrays_and_large_ones_views():
    g = np.ones((4, 1, 6), np.float32)
    small = fast.TABLE["broadcast_gradient"](g, (4, 5, 6))
    assert small.flags.writeable and small.flags.c_contiguous
    big_shape = (64, 128, 6)
    assert np.prod(big_shape) > kernels.SMALL
    big = fast.TABLE["broadcast_gradient"](np.ones((64, 1, 6), np.float32), big_shape)
    assert not big.flags.writeable  # a broadcast view: no copy
