"""Checks of lesson 01's exercises (see tests/test_exercises.py)."""

import numpy as np
import pytest
import torch

from tests.exercise_checks import check

FITS = [((3, 4), (4,)), ((2, 1, 5), (3, 1)), ((1,), (0,)), ((), (2, 3)), ((6, 1, 2), (1, 7, 1), (7, 2)), ((5,),)]
CLASHES = [((3, 4), (3,)), ((2, 3), (4, 2, 2)), ((0,), (2,))]


@check("lesson01", "broadcast_shape")
def check_broadcast_shape(ex):
    assert tuple(ex.broadcast_shape()) == tuple(torch.broadcast_shapes())
    for shapes in FITS:
        got = ex.broadcast_shape(*shapes)
        assert tuple(got) == tuple(torch.broadcast_shapes(*shapes)), f"broadcast_shape{shapes} gave {got}"
    for shapes in CLASHES:
        with pytest.raises(RuntimeError):
            torch.broadcast_shapes(*shapes)  # torch refuses them too
        with pytest.raises(RuntimeError):
            ex.broadcast_shape(*shapes)


def _arrays():
    """Contiguous, transposed and sliced arrays: strides that are not the textbook ones."""
    base = np.arange(60.0).reshape(3, 20)
    yield base[0]  # 1-d
    yield base
    yield base.T.copy().T  # same values, column-major memory
    yield base[:, ::2]  # every other column: a stride of two elements
    yield np.arange(48, dtype=np.float32).reshape(2, 3, 8).transpose(1, 0, 2)


@check("lesson01", "sliding_windows")
def check_sliding_windows(ex):
    for a in _arrays():
        for size, step in ((1, 1), (3, 1), (3, 2), (4, 3), (a.shape[-1], 1)):
            got = ex.sliding_windows(a, size, step)
            want = torch.from_numpy(np.ascontiguousarray(a)).unfold(-1, size, step).numpy()
            assert got.shape == want.shape, f"shape {got.shape}, expected {want.shape} (size={size}, step={step})"
            np.testing.assert_array_equal(got, want)
            assert np.shares_memory(got, a), "sliding_windows copied: it must return a view of its input"
    a = np.arange(5.0)
    for size, step in ((6, 1), (2, 0)):
        with pytest.raises(RuntimeError):
            torch.from_numpy(a).unfold(0, size, step)
        with pytest.raises(RuntimeError):
            ex.sliding_windows(a, size, step)
