"""Cross-entropy's softmax rows: the fast backend's threaded slabs equal the reference's whole-array code.

Both do the same arithmetic on each row (subtract the row max, exp, sum along the contiguous axis), so
float32 must agree exactly too (``rtol32=0``).
"""

import numpy as np
import pytest

from minigrad import config
from minigrad.compute.fast import parallel
from tests.compute.harness import Case, check_backends_agree

ROWS, CLASSES = 4096, 64  # 262,144 logits; an exp costs ~10 adds, so this is past parallel.worth_it(cost=10)
assert ROWS * CLASSES * 10 >= parallel.MIN_SIZE


def _logits(rng, dtype, rows=ROWS):
    x = (rng.standard_normal((rows, CLASSES)) * 5).astype(dtype)
    x[1, :] = -np.inf  # a row with no finite max: shifted by 0 (its softmax is NaN, as in torch)
    x[2, 3] = np.inf  # a +inf logit: also shifted by 0
    x[3, ::2] = -np.inf  # some impossible classes: exp gives 0
    x[4, :] = 1e4  # large logits: exp(x) alone would overflow
    return (x,)


CASES = [
    Case("shifted_exp_rows", _logits, rtol32=0.0),
    Case("shifted_exp_rows", lambda rng, dtype: _logits(rng, dtype, rows=16), rtol32=0.0, label="small"),
    Case("shifted_exp_rows", lambda rng, dtype: (np.zeros((0, CLASSES), dtype),), rtol32=0.0, label="empty"),
]


@pytest.fixture(autouse=True)
def two_threads():
    with config.using(num_threads=2):  # the threaded path runs on any machine
        yield


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_fast_equals_reference(case, dtype):
    with np.errstate(invalid="ignore"):  # -inf - -inf in the row of -inf: NaN, in both backends
        check_backends_agree(case, dtype)
