"""Checks of lesson 03's exercises (see tests/test_exercises.py)."""

import numpy as np
import pytest
import torch

import minigrad
from tests.exercise_checks import _close, check


@check("lesson03", "numerical_gradient")
def check_numerical_gradient(ex):
    rng = np.random.default_rng(2)
    x0 = rng.normal(size=(2, 3))
    for f in (lambda t: (t.exp() * t).sum(), lambda t: (t[0] * t[1]).sin().sum() + (t**2).sum()):
        xt = torch.tensor(x0, requires_grad=True)
        f(xt).backward()
        before = x0.copy()
        got = ex.numerical_gradient(lambda v, f=f: f(torch.tensor(v)).item(), x0)
        np.testing.assert_array_equal(x0, before)  # the input is left as it was
        _close(got, xt.grad, rtol=1e-7, atol=1e-8)


@check("lesson03", "numerical_jacobian")
def check_numerical_jacobian(ex):
    rng = np.random.default_rng(3)
    x0 = rng.normal(size=(4,))
    w = torch.tensor(rng.normal(size=(3, 4)))
    for f in (lambda t: torch.softmax(t, 0), lambda t: torch.tanh(w @ t), lambda t: torch.outer(t, t)):
        want = torch.autograd.functional.jacobian(f, torch.tensor(x0))
        got = ex.numerical_jacobian(lambda v, f=f: f(torch.tensor(v)).numpy(), x0)
        _close(got, want.reshape(-1, x0.size), rtol=1e-7, atol=1e-8)


class _ZeroGradSoftmax(minigrad.autograd.Function):
    """Right forward, backward returning zeros: invisible to a check with upstream gradient 1."""

    @staticmethod
    def forward(ctx, x):
        return minigrad.softmax(x, dim=-1)

    @staticmethod
    def backward(ctx, grad):
        return grad * 0


@check("lesson03", "backward_error")
def check_backward_error(ex):
    rng = np.random.default_rng(4)
    x0 = rng.normal(size=(2, 5))
    # a correct backward: small error
    assert ex.backward_error(lambda t: minigrad.softmax(t, dim=-1), x0) < 1e-8
    assert ex.backward_error(lambda t: (t * t).tanh(), x0, seed=1) < 1e-8
    # a broken one: the error is as large as the gradient torch computes for the same u
    err = ex.backward_error(_ZeroGradSoftmax.apply, x0, seed=5)
    u = np.random.default_rng(5).normal(size=x0.shape)
    xt = torch.tensor(x0, requires_grad=True)
    (torch.softmax(xt, -1) * torch.tensor(u)).sum().backward()
    assert err == pytest.approx(np.abs(xt.grad.numpy()).max(), rel=1e-6)


@check("lesson03", "softmax_vjp")
def check_softmax_vjp(ex):
    rng = np.random.default_rng(6)
    for shape, dim in (((5,), 0), ((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1)):
        x = torch.tensor(rng.normal(size=shape), requires_grad=True)
        s = torch.softmax(x, dim)
        for u0 in (np.ones(shape), rng.normal(size=shape)):  # the sum's gradient (zero), then a random one
            (want,) = torch.autograd.grad(s, x, torch.tensor(u0), retain_graph=True)
            _close(ex.softmax_vjp(s.detach().numpy(), u0, dim), want)
