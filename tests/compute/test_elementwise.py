"""ReLU: the fast backend's compiled passes equal the reference's ``maximum`` / ``where``.

ReLU selects values and does no arithmetic, so float32 must agree exactly too (``rtol32=0``).
"""

import numpy as np
import pytest

from minigrad.compute.fast import kernels
from tests.compute.harness import Case, check_backends_agree

BIG = (8, 64, 300)  # 153,600 elements, far past kernels.SMALL: the compiled kernel runs
assert np.prod(BIG) > kernels.SMALL


def _x(rng, dtype):
    x = rng.standard_normal(BIG).astype(dtype)
    x.flat[::97] = 0.0  # exact zeros: the gradient there is 0, as in torch
    x.flat[::101] = np.nan  # NaN passes through relu and passes its gradient
    return x


def _channels_last(rng, dtype):
    """An (N, C, L) array stored as (N, L, C), like a convolution's output: the result keeps that layout."""
    return (_x(rng, dtype).transpose(0, 2, 1).copy().transpose(0, 2, 1),)


def _grad_out(rng, dtype):
    x = _x(rng, dtype)
    grad = rng.standard_normal(BIG).astype(dtype)
    grad.flat[::89] = np.inf  # an infinite gradient at a zeroed unit gives 0, not NaN
    return grad, np.maximum(x, 0)


def _grad_out_channels_last(rng, dtype):
    return tuple(a.transpose(0, 2, 1).copy().transpose(0, 2, 1) for a in _grad_out(rng, dtype))


def _int(rng, dtype):
    return (rng.integers(-5, 5, BIG),)  # integers: not a compiled dtype, the reference code runs


CASES = [
    Case("relu", lambda rng, dtype: (_x(rng, dtype),), rtol32=0.0),  # a selection: exact
    Case("relu", _channels_last, rtol32=0.0, label="channels_last"),
    Case("relu", _int, rtol32=0.0, label="int64"),
    Case("relu", lambda rng, dtype: (_x(rng, dtype)[:, :, :5],), rtol32=0.0, label="small"),
    Case("relu_backward", _grad_out, rtol32=0.0),
    Case("relu_backward", _grad_out_channels_last, rtol32=0.0, label="channels_last"),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_fast_equals_reference(case, dtype):
    check_backends_agree(case, dtype)


@pytest.mark.parametrize("make", [_channels_last, _grad_out_channels_last], ids=["relu", "relu_backward"])
def test_fast_relu_keeps_the_channels_last_layout(make):
    from minigrad.compute import fast

    args = make(np.random.default_rng(0), np.dtype("float32"))
    name = "relu" if len(args) == 1 else "relu_backward"
    out = fast.TABLE[name](*args)
    assert out.transpose(0, 2, 1).flags.c_contiguous  # stored as (N, L, C), like its input
