"""The checks of the lessons' exercises, one module per lesson (``lessonNN.py``).

Each check takes the module of one lesson's exercises (the stubs or the answers) and compares its functions
with torch, or with minigrad's own op, on the same inputs; :mod:`tests.test_exercises` runs them.
"""

import numpy as np
import torch

import minigrad

CHECKS: dict = {}  # "lessonNN.function" -> check(module)


def check(lesson, name):
    """Register ``fn(module)`` as the check of exercise ``name`` of ``lesson`` ("lesson05")."""

    def register(fn):
        CHECKS[f"{lesson}.{name}"] = fn
        return fn

    return register


def _t(a, grad=False):
    """The same float64 array as a minigrad tensor and as a torch tensor."""
    a = np.asarray(a, dtype=np.float64)
    return minigrad.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def _close(mine, theirs, rtol=1e-10, atol=1e-12):
    mine = mine.detach().numpy() if isinstance(mine, minigrad.Tensor) else np.asarray(mine)
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert mine.shape == theirs.shape, f"shape {mine.shape}, expected {theirs.shape}"
    np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=atol)
