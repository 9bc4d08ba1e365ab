"""Checks of lesson 04's exercises (see tests/test_exercises.py): each layer against torch, on NumPy arrays."""

import numpy as np
import torch

from tests.exercise_checks import _close, check


def _torch_grads(fn, arrays, upstream):
    """The output of ``fn`` on float64 torch copies of ``arrays``, and their gradients for ``upstream``."""
    leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*leaves)
    out.backward(torch.tensor(upstream))
    return [t.grad for t in leaves]


@check("lesson04", "linear_backward")
def check_linear_backward(ex):
    rng = np.random.default_rng(4)
    for x_shape in ((5, 3), (2, 4, 3), (3,)):  # a batch, two batch dims, and a single sample
        x, w, b = rng.normal(size=x_shape), rng.normal(size=(2, 3)), rng.normal(size=2)
        grad = rng.normal(size=x_shape[:-1] + (2,))
        want = _torch_grads(torch.nn.functional.linear, (x, w, b), grad)
        got = ex.linear_backward(x, w, grad)
        assert len(got) == 3, "return (dx, dw, db)"
        for name, mine, theirs in zip(("dx", "dw", "db"), got, want):
            assert mine is not None, f"{name} is None"
            _close(mine, theirs)


@check("lesson04", "layer_norm_backward")
def check_layer_norm_backward(ex):
    rng = np.random.default_rng(40)
    for shape, eps in (((4, 6), 1e-5), ((2, 3, 5), 1e-3), ((7,), 1e-5)):
        x, gamma, beta = rng.normal(size=shape) * 3 + 1, rng.normal(size=shape[-1]), rng.normal(size=shape[-1])
        grad = rng.normal(size=shape)

        def ln(x, g, b, d=shape[-1], eps=eps):
            return torch.nn.functional.layer_norm(x, (d,), g, b, eps)

        want = _torch_grads(ln, (x, gamma, beta), grad)
        got = ex.layer_norm_backward(x, gamma, grad, eps)
        assert len(got) == 3, "return (dx, dgamma, dbeta)"
        for name, mine, theirs in zip(("dx", "dgamma", "dbeta"), got, want):
            assert mine is not None, f"{name} is None"
            _close(mine, theirs, rtol=1e-9, atol=1e-11)


@check("lesson04", "conv1d_im2col")
def check_conv1d_im2col(ex):
    rng = np.random.default_rng(41)
    for stride, padding, dilation in ((1, 0, 1), (1, 2, 1), (2, 1, 2), (3, 0, 1)):
        x, w = rng.normal(size=(2, 3, 13)), rng.normal(size=(4, 3, 3))
        want = torch.nn.functional.conv1d(
            torch.tensor(x), torch.tensor(w), stride=stride, padding=padding, dilation=dilation
        )
        _close(ex.conv1d_im2col(x, w, stride, padding, dilation), want)
