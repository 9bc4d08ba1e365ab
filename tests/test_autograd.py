"""The graph walk itself: accumulation, freeing, hooks, user Functions, autograd.grad, grad mode, errors."""

import gc
import tracemalloc

import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad.autograd import Function, GradcheckError, gradcheck
from minigrad.autograd.graph import Op


def test_shared_subexpression_accumulates():
    x = mg.tensor([1.5, -2.0], requires_grad=True)
    y = x * x
    z = y * y + y  # y used twice: both paths must add up
    z.backward(mg.tensor([1.0, 1.0]))
    xv = np.array([1.5, -2.0])
    np.testing.assert_allclose(x.grad.numpy(), 4 * xv**3 + 2 * xv, rtol=1e-6)


def test_grad_accumulates_across_backward_calls_and_matches_torch():
    a = np.array([0.3, -1.2, 2.0])
    xm, xt = mg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    for lib, x in ((mg, xm), (torch, xt)):
        for k in range(3):
            (lib.exp(x * (k + 1)) * x).backward(lib.ones(3, dtype=lib.float64))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_same_leaf_twice_in_one_op():
    x = mg.tensor([3.0], requires_grad=True)
    (x * x).backward(mg.ones(1))
    assert x.grad.item() == 6.0
    x.grad = None
    (x + x).backward(mg.ones(1))
    assert x.grad.item() == 2.0


def test_leaf_grad_is_an_independent_buffer():
    # add's backward hands the same array to both inputs: each leaf must still own its .grad
    a, b = mg.ones(3, requires_grad=True), mg.ones(3, requires_grad=True)
    (a + b).backward(mg.ones(3))
    a.grad.array *= 5
    assert b.grad.tolist() == [1.0, 1.0, 1.0]


def test_broadcast_gradients_are_reduced_to_input_shape():
    x = mg.tensor(np.ones((3, 1)), requires_grad=True)
    y = mg.tensor(np.arange(4.0), requires_grad=True)
    (x * y).backward(mg.ones(3, 4, dtype=mg.float64))
    assert x.grad.shape == (3, 1) and y.grad.shape == (4,)
    np.testing.assert_allclose(x.grad.numpy().ravel(), [6.0] * 3)
    np.testing.assert_allclose(y.grad.numpy(), [3.0] * 4)


def test_backward_on_non_scalar_needs_gradient():
    x = mg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        (x * 2).backward()


def test_gradient_shape_mismatch_is_an_error():
    x = mg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="shape"):
        (x * 2).backward(mg.ones(4))


def test_backward_twice_needs_retain_graph():
    x = mg.tensor([2.0], requires_grad=True)
    y = mg.exp(x) * x
    y.backward(retain_graph=True)
    y.backward()  # allowed: the first call retained the graph
    assert np.isclose(x.grad.item(), 2 * 3 * np.exp(2.0))
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_backward_without_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (mg.ones(2) * 2).backward(mg.ones(2))


def test_numpy_on_requires_grad_is_an_error_like_torch():
    x = mg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    assert x.detach().numpy().tolist() == [1.0, 1.0]


def test_long_chain_backpropagates_without_recursion():
    x = mg.tensor([1.0], dtype=mg.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0000001
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.0000001**100_000, rtol=1e-9)


def test_saved_arrays_are_freed_and_memory_stays_flat():
    w = mg.tensor(np.random.default_rng(0).standard_normal((16, 16)), requires_grad=True)

    def step():
        h = mg.exp(w * 0.01) * w + w
        (h * h).backward(mg.ones(16, 16, dtype=mg.float64))

    for _ in range(50):
        step()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(10_000):
        step()
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 1_000_000, f"memory grew by {grown} bytes over 10,000 iterations"


def test_graph_is_released_after_backward():
    x = mg.ones(4, requires_grad=True)
    y = x * 3
    z = y * y
    node = y.grad_fn
    z.backward(mg.ones(4))
    assert node.inputs is None  # freed: nothing kept alive by the loss tensor


def test_no_grad_context_and_decorator():
    x = mg.ones(2, requires_grad=True)
    with mg.no_grad():
        assert not (x * 2).requires_grad
        with mg.enable_grad():
            assert (x * 2).requires_grad

    @mg.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad and mg.is_grad_enabled()
    with mg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert mg.is_grad_enabled()
    mg.set_grad_enabled(False)
    assert not mg.is_grad_enabled()
    mg.set_grad_enabled(True)


def test_retain_grad_and_hooks():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    seen = []
    y.register_hook(lambda g: seen.append(g.tolist()))
    x.register_hook(lambda g: g * 10)  # replaces the leaf's gradient
    (y * y).backward(mg.ones(2))
    assert seen == [[6.0, 12.0]]
    assert y.grad.tolist() == [6.0, 12.0]
    assert x.grad.tolist() == [180.0, 360.0]
    assert not (x * 1).is_leaf and x.is_leaf


def test_hook_handle_remove():
    x = mg.tensor([1.0], requires_grad=True)
    h = x.register_hook(lambda g: g * 0)
    h.remove()
    (x * 2).backward()
    assert x.grad.item() == 2.0


def test_autograd_grad_leaves_dot_grad_alone():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    (gx,) = mg.autograd.grad(y, x, grad_outputs=mg.ones(2), retain_graph=True)
    assert gx.tolist() == [2.0, 4.0] and x.grad is None
    (gy,) = mg.autograd.grad(y * 3, y, grad_outputs=mg.ones(2))
    assert gy.tolist() == [3.0, 3.0]
    z = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="not used"):
        mg.autograd.grad(x * 2, [x, z], grad_outputs=mg.ones(2))


def test_user_function_torch_style():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x * x * x * k

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x * x * ctx.k, None

    x = mg.tensor(np.array([0.5, -1.5, 2.0]), requires_grad=True)
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward"
    gradcheck(lambda t: Cube.apply(t, 2.0), [x])


def test_gradcheck_catches_a_wrong_backward_and_names_it():
    class BadSquare(Op):
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, grad):
            return grad * self.x  # should be 2 * x

    x = mg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 0 .* element \(0,\)"):
        gradcheck(lambda t: BadSquare()(t), [x])


def test_in_place_on_leaf_requiring_grad_is_refused():
    x = mg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x.add_(1)
    with mg.no_grad():
        x.add_(1)
    assert x.tolist() == [2.0, 2.0]
