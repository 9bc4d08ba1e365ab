"""Checks of lesson 00's exercises (see tests/test_exercises.py)."""

import inspect
from collections import Counter

import numpy as np
import torch

import minigrad
from tests.exercise_checks import check


def _expression(lib):
    x = lib.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    w = lib.tensor(np.array([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]]), requires_grad=True)
    h = lib.tanh(w @ x)
    return (h * h + x.mean()).sum()  # every node but the leaves' has its own name


def _edges(t):
    """Every (sender, receiver) pair of node names reachable from ``t.grad_fn``."""
    pairs, seen, stack = [], {id(t.grad_fn)}, [t.grad_fn]
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if nxt is not None:
                pairs.append((node.name(), nxt.name()))
                if id(nxt) not in seen:
                    seen.add(id(nxt))
                    stack.append(nxt)
    return pairs


@check("lesson00", "graph_names")
def check_graph_names(ex):
    for lib in (minigrad, torch):
        t = _expression(lib)
        got = ex.graph_names(t)
        assert isinstance(got, list), "return a list of names"
        want = Counter(n.name() for n in _nodes(t))
        assert Counter(got) == want, f"{lib.__name__}: expected each node once: {sorted(want.elements())}"
        position = {name: i for i, name in enumerate(got)}
        for sender, receiver in _edges(t):
            if want[receiver] == 1:  # the two leaves' AccumulateGrad share a name: their order is free
                assert position[sender] < position[receiver], f"{sender} must come before {receiver}"


def _nodes(t):
    seen, stack = {id(t.grad_fn): t.grad_fn}, [t.grad_fn]
    while stack:
        for nxt, _ in stack.pop().next_functions:
            if nxt is not None and id(nxt) not in seen:
                seen[id(nxt)] = nxt
                stack.append(nxt)
    return list(seen.values())


@check("lesson00", "defining_file")
def check_defining_file(ex):
    for obj, path in (
        (minigrad.softmax, "minigrad/ops/reduce.py"),
        (minigrad.nn.Linear, "minigrad/nn/modules/linear.py"),
        (minigrad.autograd.grad, "minigrad/autograd/engine.py"),
        (minigrad.nn.functional.cross_entropy, "minigrad/ops/losses.py"),
        (minigrad.Tensor.backward, "minigrad/tensor.py"),
    ):
        want = inspect.getsourcefile(inspect.unwrap(obj)).replace("\\", "/")
        assert want.endswith(path), f"the check's own map is stale for {obj}"
        assert ex.defining_file(obj) == path, f"{obj.__qualname__}: expected {path}"
