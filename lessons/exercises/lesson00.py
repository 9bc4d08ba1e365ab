"""Lesson 00 (how to read this repository): find your way from a result to the code that made it.

Grade your work with ``EXERCISES=exercises .venv/bin/pytest -q tests/test_exercises.py -k lesson00``.
"""


def graph_names(t):
    """The names of the nodes that made tensor ``t``, in an order the backward pass could run them.

    Start at ``t.grad_fn``; every node lists where its inputs' gradients go in ``next_functions`` (pairs
    ``(node, index)``, where ``node`` may be None, or an ``AccumulateGrad`` for a leaf). Return the ``name()``
    of every node reachable from ``t.grad_fn``, each node once (leaves' ``AccumulateGrad`` nodes included),
    so that a node comes after every node that sends it a gradient (a topological order). The same function
    must work on torch tensors: use only ``grad_fn``, ``next_functions`` and ``name()``.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson00.py::graph_names")


def defining_file(fn):
    """The path, relative to the repository root and with forward slashes (``minigrad/ops/reduce.py``), of the
    file that defines the minigrad function or class ``fn`` (``minigrad.softmax``, ``minigrad.nn.Linear``).

    Several names are made by decorators or re-exported by packages: follow ``__wrapped__`` to the function
    written in the source (``inspect.unwrap``) before asking ``inspect`` for its file.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson00.py::defining_file")
