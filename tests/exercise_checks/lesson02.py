"""Checks of lesson 02's exercises (see tests/test_exercises.py)."""

import numpy as np
import pytest
import torch

from lessons.tiny.scalar import Scalar, backward
from tests.exercise_checks import _close, check


@check("lesson02", "tanh")
def check_tanh(ex):
    for v in (-2.5, -0.3, 0.0, 0.8, 4.0):
        x = Scalar(v)
        y = ex.tanh(x) * x + ex.tanh(x * 2.0)  # x used three times: gradients must add up
        backward(y)
        xt = torch.tensor(v, dtype=torch.float64, requires_grad=True)
        yt = torch.tanh(xt) * xt + torch.tanh(xt * 2.0)
        yt.backward()
        assert y.data == pytest.approx(yt.item(), rel=1e-12, abs=1e-15)
        assert x.grad == pytest.approx(xt.grad.item(), rel=1e-12, abs=1e-15)


@check("lesson02", "unbroadcast")
def check_unbroadcast(ex):
    rng = np.random.default_rng(0)
    for grad_shape, shape in [((2, 3, 4), (3, 1)), ((2, 3, 4), (1, 3, 4)), ((5, 1), (1,)), ((4, 3), (4, 3)),
                              ((6,), ()), ((2, 1, 3), (2, 1, 1))]:  # fmt: skip
        g = rng.normal(size=grad_shape)
        xt = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
        xt.expand(grad_shape).backward(torch.tensor(g))  # torch's gradient of a broadcast input
        _close(ex.unbroadcast(g, shape), xt.grad)


@check("lesson02", "matmul_vjp")
def check_matmul_vjp(ex):
    rng = np.random.default_rng(1)
    for n, k, m in [(2, 3, 4), (1, 5, 1), (4, 1, 3)]:
        at = torch.tensor(rng.normal(size=(n, k)), requires_grad=True)
        bt = torch.tensor(rng.normal(size=(k, m)), requires_grad=True)
        g = rng.normal(size=(n, m))
        (at @ bt).backward(torch.tensor(g))
        ga, gb = ex.matmul_vjp(g, at.detach().numpy(), bt.detach().numpy())
        _close(ga, at.grad)
        _close(gb, bt.grad)
