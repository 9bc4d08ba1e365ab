"""Lesson 05 (losses and numerical stability): stable losses from their formulas, on minigrad tensors.

The first three take minigrad tensors: use minigrad operations only (``amax``, ``exp``, ``log``, ``sum``, ``abs``,
``clamp``, ``log1p``, indexing), so that ``backward()`` works through your code. The last two are backward passes
on NumPy arrays, as an op's ``backward`` writes them. Grade your work with
``EXERCISES=exercises .venv/bin/pytest -q tests/test_exercises.py -k lesson05``.
"""


def logsumexp(x, dim):
    """``log(sum(exp(x), dim))`` for a minigrad tensor, finite even when ``x`` holds values like 1000 or -1000.

    Subtract the maximum along ``dim`` first (detached: it only shifts, its gradient cancels) and add it back.
    The result has ``dim`` removed, as ``torch.logsumexp(x, dim)``.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson05.py::logsumexp")


def bce_with_logits(logits, targets):
    """Mean binary cross-entropy of ``targets`` (0/1 floats) given raw scores ``logits`` (minigrad tensors).

    Use the stable form ``max(x, 0) - x * t + log(1 + exp(-|x|))`` so that logits of +-200 give finite
    losses and gradients; average over all elements, as ``torch.nn.functional.binary_cross_entropy_with_logits``.
    Mind the gradient at ``x = 0`` exactly, where ``max`` and ``|x|`` both have a kink: it must come out as
    ``sigmoid(0) - t``, as the fused loss's does.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson05.py::bce_with_logits")


def cross_entropy(logits, targets):
    """Mean cross-entropy of integer class ``targets`` (shape ``(n,)``) given ``logits`` of shape ``(n, c)``.

    Compute the log-probabilities as ``logits - logsumexp(logits, 1)`` (keep the class axis to broadcast),
    pick each row's target entry, negate and average: ``torch.nn.functional.cross_entropy`` without options.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson05.py::cross_entropy")


def softmax_backward(y, grad):
    """The gradient ``dL/dz`` of ``y = softmax(z)`` over the last axis, given the output ``y`` and ``grad = dL/dy``.

    NumPy arrays of the same shape ``(..., C)``. Do not build the ``(C, C)`` Jacobian ``diag(y) - y y^T``: its
    vector-Jacobian product is ``y * (grad - <grad, y>)``, with one dot product per row (keep it as ``(..., 1)``).
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson05.py::softmax_backward")


def amax_backward(x, grad, dim):
    """The gradient ``dL/dx`` of ``y = x.amax(dim)`` (``dim`` an int, not kept), given ``grad = dL/dy``.

    NumPy arrays: ``x`` of any shape, ``grad`` of ``x``'s shape without axis ``dim``. Each element equal to its
    slice's maximum receives an equal share of that slice's gradient (two tied maxima get half each, as in
    torch); every other element gets 0. Return an array of ``x``'s shape.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson05.py::amax_backward")
