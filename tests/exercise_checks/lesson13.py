"""Checks of lesson 13's exercises (see tests/test_exercises.py): dual numbers against torch's forward-mode AD,
a Hessian-vector product against ``torch.autograd.functional.hvp``, Newton's method against torch's iterates."""

import numpy as np
import torch

import minigrad
from tests.exercise_checks import _close, check

X0 = np.array([0.3, -1.2, 2.0, 0.0])
V0 = np.array([1.0, 0.5, -2.0, 0.7])


def _torch_jvp(fn, x0, v0):
    """``(fn(x0), J v0)`` by torch's forward-mode AD, for ``fn`` over torch tensors."""
    fwad = torch.autograd.forward_ad
    with fwad.dual_level():
        out = fn(fwad.make_dual(torch.tensor(x0), torch.tensor(v0)))
        primal, tangent = fwad.unpack_dual(out)
        return primal.detach().numpy(), tangent.numpy()


def _agree_with_torch(ex, dual_fn, torch_fn):
    """``dual_fn`` over the student's Duals and ``torch_fn`` over torch give the same value and tangent."""
    for x0, v0 in ((X0, V0), (np.array(0.8), np.array(1.0))):
        got = dual_fn(ex.Dual(x0, v0))
        value, tangent = _torch_jvp(torch_fn, x0, v0)
        assert isinstance(got, ex.Dual), f"expected a Dual, got {type(got).__name__}"
        _close(got.value, value)
        _close(got.tangent, tangent)


@check("lesson13", "dual_exp")
def check_dual_exp(ex):
    _agree_with_torch(ex, ex.dual_exp, torch.exp)
    _agree_with_torch(ex, lambda x: ex.dual_exp(x * x + 1.0) * x, lambda x: torch.exp(x * x + 1.0) * x)


@check("lesson13", "dual_sin")
def check_dual_sin(ex):
    _agree_with_torch(ex, ex.dual_sin, torch.sin)
    _agree_with_torch(ex, lambda x: ex.dual_sin(x * x) * x + 2.0, lambda x: torch.sin(x * x) * x + 2.0)


def _functions(lib):
    """Scalar functions of one tensor, each paired with an input shape."""
    w = lib.tensor([1.0, 3.0, -2.0, 0.5], dtype=lib.float64)
    m = lib.tensor([[0.5, -1.0, 2.0], [1.5, 0.2, -0.3]], dtype=lib.float64)
    return (
        (lambda x: (x.sin() * x.exp()).sum(), (4,)),
        (lambda x: (w * lib.softmax(2.0 * x, dim=0)).sum(), (4,)),  # a saved output, differentiated twice
        (lambda x: (x.tanh() @ m).pow(2).sum(), (3, 2)),
    )


@check("lesson13", "hvp")
def check_hvp(ex):
    rng = np.random.default_rng(13)
    for (f_mg, shape), (f_pt, _) in zip(_functions(minigrad), _functions(torch)):
        x0, v0 = rng.standard_normal(shape), rng.standard_normal(shape)
        got = ex.hvp(f_mg, minigrad.tensor(x0), minigrad.tensor(v0))
        _, want = torch.autograd.functional.hvp(f_pt, torch.tensor(x0), torch.tensor(v0))
        assert isinstance(got, minigrad.Tensor) and not got.requires_grad, "return H v as a tensor without a graph"
        _close(got, want)


def _convex(lib):
    """A smooth convex function of two variables (a sum of exponentials), minimal near (-0.35, 0)."""

    def f(x):
        return (x[0] + 3 * x[1] - 0.1).exp() + (x[0] - 3 * x[1] - 0.1).exp() + (-x[0] - 0.1).exp()

    return f


def _torch_newton(f, x0, steps):
    x, path = torch.tensor(x0), []
    for _ in range(steps):
        g = torch.func.grad(f)(x)
        x = x - torch.linalg.solve(torch.autograd.functional.hessian(f, x), g)
        path.append(x)
    return path


@check("lesson13", "newton")
def check_newton(ex):
    for x0 in (np.array([1.0, 0.5]), np.array([-2.0, -0.3])):
        got = ex.newton(_convex(minigrad), minigrad.tensor(x0), 6)
        want = _torch_newton(_convex(torch), x0, 6)
        assert len(got) == len(want), f"{len(got)} iterates, expected {len(want)}"
        for k, (a, b) in enumerate(zip(got, want)):
            assert not a.requires_grad, f"iterate {k} still has a graph"
            _close(a, b, rtol=1e-9, atol=1e-11)
