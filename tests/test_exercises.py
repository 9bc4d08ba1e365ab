"""The lessons' exercises grade themselves (lessons/exercises/, answers in lessons/answers/).

Every check below takes the module of one lesson's exercises and compares its functions with torch (or
minigrad's own op) on the same inputs. By default the checks run against ``lessons.answers`` (they must
pass), and each check also runs against the untouched stubs in ``lessons.exercises`` (it must fail: a
check that a stub passes checks nothing). A student grades their own work with

    EXERCISES=exercises .venv/bin/pytest -q tests/test_exercises.py

which runs the checks against ``lessons.exercises`` and skips the stub test.
"""

import importlib
import inspect
import os

import numpy as np
import pytest
import torch

import minigrad
from lessons.tiny.scalar import Scalar, backward

PACKAGE = os.environ.get("EXERCISES", "answers")
CHECKS: dict = {}  # "lessonNN.function" -> check(module)


def check(lesson, name):
    def register(fn):
        CHECKS[f"{lesson}.{name}"] = fn
        return fn

    return register


def exercises_of(lesson, package=PACKAGE):
    return importlib.import_module(f"lessons.{package}.{lesson}")


def _t(a, grad=False):
    """The same float64 array as a minigrad tensor and as a torch tensor."""
    a = np.asarray(a, dtype=np.float64)
    return minigrad.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def _close(mine, theirs, rtol=1e-10, atol=1e-12):
    mine = mine.detach().numpy() if isinstance(mine, minigrad.Tensor) else np.asarray(mine)
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert mine.shape == theirs.shape, f"shape {mine.shape}, expected {theirs.shape}"
    np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=atol)


# ------------------------------------------------------------------------------------- lesson 02
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


# ------------------------------------------------------------------------------------- lesson 03
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


# ------------------------------------------------------------------------------------- lesson 05
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


# ------------------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_exercise(name):
    """Run one check against the package EXERCISES names (default: the answers)."""
    lesson, _ = name.split(".")
    CHECKS[name](exercises_of(lesson))


@pytest.mark.skipif(PACKAGE != "answers", reason="grading your own exercises: the stubs are no longer stubs")
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_untouched_stub_fails(name):
    """The stub as shipped fails its check: the check can fail, and a student starts from red."""
    lesson, _ = name.split(".")
    with pytest.raises((NotImplementedError, AssertionError)):
        CHECKS[name](exercises_of(lesson, "exercises"))


@pytest.mark.parametrize("lesson", sorted({name.split(".")[0] for name in CHECKS}))
def test_exercises_and_answers_match_and_are_checked(lesson):
    """Stubs and answers define the same functions, each stub has a docstring and raises, and each is checked."""
    ex, ans = exercises_of(lesson, "exercises"), exercises_of(lesson, "answers")

    def functions(module):
        return {n for n, f in vars(module).items() if inspect.isfunction(f) and f.__module__ == module.__name__}

    assert functions(ex) == functions(ans), f"{lesson}: exercises and answers define different functions"
    assert functions(ex) == {n.split(".")[1] for n in CHECKS if n.startswith(lesson + ".")}, f"{lesson}: unchecked"
    for name in functions(ex):
        stub = getattr(ex, name)
        assert inspect.getdoc(stub), f"{lesson}.{name} has no docstring stating the task"
        assert 'raise NotImplementedError("exercise: ' in inspect.getsource(stub)
