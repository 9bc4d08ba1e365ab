"""Checks of lesson 05's exercises (see tests/test_exercises.py)."""

import numpy as np
import torch

import minigrad
from tests.exercise_checks import _close, _t, check

EXTREME = np.array([[1000.0, -1000.0, 0.5, 2.0], [-3.0, 0.1, 800.0, 799.0], [-700.0, -701.0, -702.0, -699.5]])


@check("lesson05", "logsumexp")
def check_logsumexp(ex):
    rng = np.random.default_rng(5)
    for x0, dim in ((EXTREME, 1), (EXTREME, 0), (rng.normal(size=(3, 4, 2)), 1)):
        x, xt = _t(x0, grad=True)
        out, want = ex.logsumexp(x, dim), torch.logsumexp(xt, dim)
        _close(out, want)
        u = rng.normal(size=tuple(want.shape))
        (out * minigrad.tensor(u)).sum().backward()
        (want * torch.tensor(u)).sum().backward()
        _close(x.grad, xt.grad)


@check("lesson05", "bce_with_logits")
def check_bce_with_logits(ex):
    logits0 = np.array([[200.0, -200.0, 0.0], [3.5, -0.2, 40.0]])
    targets0 = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    x, xt = _t(logits0, grad=True)
    t, tt = _t(targets0)
    out = ex.bce_with_logits(x, t)
    want = torch.nn.functional.binary_cross_entropy_with_logits(xt, tt)
    _close(out, want)
    out.backward()
    want.backward()
    _close(x.grad, xt.grad)


@check("lesson05", "cross_entropy")
def check_cross_entropy(ex):
    x, xt = _t(EXTREME, grad=True)
    targets = np.array([1, 3, 2])
    out = ex.cross_entropy(x, minigrad.tensor(targets))
    want = torch.nn.functional.cross_entropy(xt, torch.tensor(targets))
    _close(out, want)
    out.backward()
    want.backward()
    _close(x.grad, xt.grad)


@check("lesson05", "softmax_backward")
def check_softmax_backward(ex):
    rng = np.random.default_rng(51)
    for z0 in (rng.normal(size=(4, 5)), rng.normal(size=(2, 3, 6)) * 5, EXTREME):
        _, zt = _t(z0, grad=True)
        yt = torch.softmax(zt, dim=-1)
        upstream = rng.normal(size=z0.shape)
        yt.backward(torch.tensor(upstream))
        _close(ex.softmax_backward(yt.detach().numpy(), upstream), zt.grad)
    ones = np.ones(5)  # the gradient of a sum of probabilities is zero
    _close(ex.softmax_backward(np.full(5, 0.2), ones), np.zeros(5))


@check("lesson05", "amax_backward")
def check_amax_backward(ex):
    rng = np.random.default_rng(52)
    tied = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [5.0, -1.0, 4.0, 5.0]])
    for x0, dim in ((tied, 1), (tied, 0), (rng.integers(0, 3, size=(3, 4, 5)).astype(float), 2)):
        _, xt = _t(x0, grad=True)
        upstream = rng.normal(size=tuple(torch.amax(xt, dim).shape))
        torch.amax(xt, dim).backward(torch.tensor(upstream))
        _close(ex.amax_backward(x0, upstream, dim), xt.grad)
