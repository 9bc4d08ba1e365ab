"""The small engine of lesson 02 (lessons/tiny/) against torch, and the lesson's copy of it against its source."""

import inspect
from pathlib import Path

import numpy as np
import pytest
import torch

from lessons.tiny import scalar, tensor
from lessons.tiny.scalar import Scalar
from lessons.tiny.tensor import Tensor

LESSON = Path(__file__).resolve().parents[1] / "lessons" / "02-the-computation-graph.md"

SCALAR_EXPRESSIONS = {
    "reuse": lambda x, y: x * x + x * y,
    "shared_node": lambda x, y: (lambda a: a + a * y)(x * 2.0),  # one node, two users of different depth
    "exp_log": lambda x, y: (x * y).exp() + (x * x + 1.0).log(),
    "pow_sub": lambda x, y: x**3 - y * x - 4.0 * y**2,
}


@pytest.mark.parametrize("name", sorted(SCALAR_EXPRESSIONS))
def test_scalar_gradients_match_torch(name):
    f = SCALAR_EXPRESSIONS[name]
    x, y = Scalar(0.7), Scalar(-1.3)
    out = f(x, y)
    scalar.backward(out)
    xt = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(-1.3, dtype=torch.float64, requires_grad=True)
    ot = f(xt, yt)
    ot.backward()
    assert out.data == pytest.approx(ot.item(), rel=1e-12)
    assert (x.grad, y.grad) == pytest.approx((xt.grad.item(), yt.grad.item()), rel=1e-12)


def test_scalar_long_chain_needs_no_recursion():
    x = Scalar(1.0)
    y = x
    for _ in range(50_000):
        y = y * 1.0001
    scalar.backward(y)
    assert x.grad == pytest.approx(1.0001**50_000, rel=1e-9)


def _pair(shape, rng):
    a = rng.normal(size=shape)
    return Tensor(a), torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize("bias_shape", [(1,), (4,), (1, 4), (3, 1), ()])
def test_tensor_broadcast_bias_matches_torch(bias_shape):
    rng = np.random.default_rng(0)
    x, xt = _pair((3, 2), rng)
    w, wt = _pair((2, 4), rng)
    b, bt = _pair(bias_shape, rng)
    out = ((x @ w + b) * (x @ w) - b * 2.0).exp().mean()
    tensor.backward(out)
    (((xt @ wt + bt) * (xt @ wt) - bt * 2.0).exp().mean()).backward()
    for mine, theirs in ((x, xt), (w, wt), (b, bt)):
        assert mine.grad.shape == tuple(theirs.shape)
        np.testing.assert_allclose(mine.grad, theirs.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize(("grad_shape", "shape"), [((2, 3, 4), (3, 1)), ((5, 1), (1,)), ((2, 3), (2, 3)), ((4,), ())])
def test_unbroadcast_matches_torch(grad_shape, shape):
    rng = np.random.default_rng(1)
    g = rng.normal(size=grad_shape)
    xt = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
    xt.expand(grad_shape).backward(torch.tensor(g))
    np.testing.assert_allclose(tensor.unbroadcast(g, shape), xt.grad.numpy(), rtol=1e-12)


def test_lesson_02_shows_the_tiny_engine_as_it_is():
    """Lesson 02's code blocks are lessons/tiny's source: each class and function appears verbatim."""
    text = LESSON.read_text()
    for module in (scalar, tensor):
        for name, obj in vars(module).items():
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module.__name__:
                assert inspect.getsource(obj) in text, f"lesson 02 does not show {module.__name__}.{name} as it is"
