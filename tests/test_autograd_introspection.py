"""Walking and hooking the graph as torch allows: next_functions, name(), node hooks, metadata."""

import numpy as np
import torch

import minigrad as mg


def _build(lib, x):
    """A small graph whose node names are the same in both libraries."""
    return ((x * 2).exp() + x).sum()


def _walk(node, seen=None):
    """The graph under ``node`` as nested (name, [children]) tuples, leaves as 'AccumulateGrad'."""
    if node is None:
        return None
    if not hasattr(node, "next_functions") or not node.next_functions:
        return "AccumulateGrad" if hasattr(node, "variable") else node.name()
    return (node.name(), [_walk(f) for f, _ in node.next_functions])


def test_next_functions_walk_the_same_graph_as_torch():
    x = np.array([0.5, -1.0, 2.0])
    tx = torch.tensor(x, requires_grad=True)
    mx = mg.tensor(x, requires_grad=True)
    assert _walk(_build(mg, mx).grad_fn) == _walk(_build(torch, tx).grad_fn)


def test_accumulate_grad_holds_the_leaf_and_is_one_object():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    node = (x * 3).grad_fn
    (acc, index), (const, _) = node.next_functions
    assert acc.variable is x and index == 0 and const is None
    assert node.next_functions[0][0] is acc
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    assert acc.name() == (tx * 3).grad_fn.next_functions[0][0].name()


def _hooked_grads(lib, x, pre, post):
    t = lib.tensor(x, requires_grad=True)
    y = t * t
    h1 = y.grad_fn.register_prehook(pre)
    h2 = y.grad_fn.register_hook(post)
    y.sum().backward()
    first = t.grad.numpy().copy()
    h1.remove()
    h2.remove()
    t.grad = None
    y2 = t * t
    y2.sum().backward()
    return first, t.grad.numpy()


def test_node_hooks_see_and_replace_gradients_as_in_torch():
    x = np.array([1.0, -2.0, 3.0])
    seen = {}

    def pre(grad_outputs):
        seen.setdefault("pre", []).append(len(grad_outputs))
        return (grad_outputs[0] * 10,)

    def post(grad_inputs, grad_outputs):
        seen.setdefault("post", []).append((len(grad_inputs), len(grad_outputs)))
        return tuple(None if g is None else g + 1 for g in grad_inputs)

    got = _hooked_grads(mg, x, pre, post)
    want = _hooked_grads(torch, x, pre, post)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)
    assert seen["pre"][0] == seen["pre"][1] and seen["post"][0] == seen["post"][1]


def test_a_hook_that_returns_none_changes_nothing_and_metadata_persists():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.grad_fn.metadata["note"] = "sum of squares"
    calls = []
    y.grad_fn.register_hook(lambda gi, go: calls.append(len(gi)))
    y.backward()
    assert calls == [1] and y.grad_fn.metadata == {"note": "sum of squares"}
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


# ------------------------------------------------------------------ autograd.Function, torch's other styles
def _functions(lib):
    Function = lib.autograd.Function

    class AddOne(Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 3

    class ArgMax(Function):
        @staticmethod
        def forward(ctx, x):
            out = x.argmax()
            ctx.mark_non_differentiable(out)
            return out

        @staticmethod
        def backward(ctx, g):
            return None

    class Scale(Function):
        @staticmethod
        def forward(x, k):
            return x * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.k = inputs[1]

        @staticmethod
        @lib.autograd.function.once_differentiable
        def backward(ctx, g):
            return g * ctx.k, None

    return AddOne, ArgMax, Scale


def _run_functions(lib):
    AddOne, ArgMax, Scale = _functions(lib)
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    c = AddOne.apply(b)
    assert c is b
    (c.sum() + Scale.apply(a, 3.0).sum()).backward()
    try:
        AddOne.apply(lib.tensor([1.0], requires_grad=True))
        leaf_error = None
    except RuntimeError as e:
        leaf_error = str(e)
    return a.grad.numpy(), ArgMax.apply(a).requires_grad, leaf_error


def test_function_styles_match_torch():
    got, want = _run_functions(mg), _run_functions(torch)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    assert got[1:] == want[1:]
