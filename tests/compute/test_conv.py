"""1-d convolution: the fast backend's blocked, threaded, Winograd code equals the reference's im2col.

The inputs are large enough for the fast path's machinery: several cache-sized blocks (columns over
``COLS_BLOCK_BYTES``) spread over the threads, and one case with samples so long that each is cut along
its length (blocks sharing halo rows, whose gradients are added). float64 runs im2col in both backends
(the default ``conv_algorithm="auto"`` keeps Winograd to float32).

float32 bounds: float32 convolutions with stride 1, dilation 1, groups 1 and 2-7 taps take Winograd in the
fast backend, which rounds differently from im2col (its transforms mix up to 8 inputs per tile).
Largest differences measured over seeds 0-4, relative to the largest value of each result (the harness's
``atol``): with Winograd, forward 1.4e-6, input gradient 1.8e-6, weight gradient 3.6e-6 (channels-last
input); where both run im2col, 3.1e-7 forward and 1.7e-6 for the weight gradient (a sum over N * L_out
products, added in another order: per block, then the blocks' shares). The bounds leave ~3x room.
"""

import numpy as np
import pytest

from minigrad.compute.fast import conv as fast_conv
from tests.compute.harness import Case, check_backends_agree


def _conv(n, c, length, c_out, k, groups=1, bias=True, channels_last=False):
    """``make(rng, dtype)`` for ``conv1d``'s arguments, without its geometry (given in the Case's kwargs)."""

    def make(rng, dtype):
        if channels_last:  # a previous convolution's output: (N, C, L) stored as (N, L, C)
            x = rng.standard_normal((n, length, c)).astype(dtype).transpose(0, 2, 1)
        else:
            x = rng.standard_normal((n, c, length)).astype(dtype)
        w = (rng.standard_normal((c_out, c // groups, k)) / np.sqrt(c * k / groups)).astype(dtype)
        b = rng.standard_normal(c_out).astype(dtype) if bias else None
        return x, w, b

    return make


def _backward(make, stride, padding, dilation):
    """``make`` for ``conv1d_backward``: the output gradient of the right length, the input, the weight."""

    def make_backward(rng, dtype):
        x, w, _ = make(rng, dtype)
        l_out = (x.shape[2] + sum(padding) - dilation * (w.shape[2] - 1) - 1) // stride + 1
        grad = rng.standard_normal((x.shape[0], w.shape[0], l_out)).astype(dtype)
        return grad, x, w

    return make_backward


# (label, make, stride, padding, dilation, groups, float32 bound)
_GEOMETRIES = [
    # the course CNN's second layer at batch 16: several blocks of the batch, Winograd in float32
    ("cnn", _conv(16, 64, 300, 64, 5), 1, (2, 2), 1, 1, 1e-5),
    ("channels_last", _conv(16, 64, 300, 64, 5, channels_last=True), 1, (2, 2), 1, 1, 1e-5),
    ("strided_dilated_groups", _conv(16, 64, 301, 32, 3, groups=4), 2, (3, 1), 2, 4, 5e-6),  # im2col
    ("no_bias_even_taps", _conv(16, 32, 257, 48, 4, bias=False), 1, (1, 2), 1, 1, 1e-5),
    # samples too long for one block: each cut along its length, halo rows shared between blocks
    ("long_samples", _conv(2, 16, 40000, 16, 5), 1, (2, 2), 1, 1, 1e-5),
    ("long_samples_strided", _conv(2, 16, 40000, 16, 3), 3, (1, 1), 1, 1, 5e-6),  # im2col
]

CASES = []
for label, make, stride, padding, dilation, groups, rtol32 in _GEOMETRIES:
    geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    CASES.append(Case("conv1d", make, kwargs=geometry, rtol32=rtol32, label=label))
    for needs in ((True, True), (True, False), (False, True)):
        CASES.append(
            Case(
                "conv1d_backward",
                _backward(make, stride, padding, dilation),
                kwargs={**geometry, "needs": needs},
                rtol32=rtol32,
                label=f"{label}-{'x' * needs[0]}{'w' * needs[1]}",
            )
        )


def test_the_cases_take_several_blocks():
    """The case inputs exceed one cache-sized block, so the blocking and the threads are exercised."""
    blocks = list(fast_conv._blocks(16, 300, 5 * 64 * 8, fast_conv.COLS_BLOCK_BYTES))
    assert len(blocks) > 2
    long_blocks = list(fast_conv._blocks(2, 40000, 5 * 16 * 8, fast_conv.COLS_BLOCK_BYTES))
    assert any(b[2] > 0 for b in long_blocks)  # a sample cut along its length


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_fast_equals_reference(case, dtype):
    check_backends_agree(case, dtype)
