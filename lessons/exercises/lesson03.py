"""Lesson 03 (checking gradients): finite differences, a check that ``sum()`` cannot fool, softmax's backward.

Grade your work with ``EXERCISES=exercises .venv/bin/pytest -q tests/test_exercises.py -k lesson03``.
"""


def numerical_gradient(f, x, eps=1e-6):
    """The gradient of the scalar function ``f`` at the float64 NumPy array ``x``, by central differences.

    ``f`` takes an array shaped like ``x`` and returns a float. Return an array shaped like ``x`` whose
    element ``i`` is ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``. Do not modify ``x`` itself.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson03.py::numerical_gradient")


def numerical_jacobian(f, x, eps=1e-6):
    """The Jacobian of ``f`` (array in, array out) at the float64 array ``x``, by central differences.

    Return a 2-D array of shape ``(f(x).size, x.size)``: row ``j`` is the gradient of output element ``j``
    (both arrays flattened in C order), column ``i`` the effect of input element ``i``.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson03.py::numerical_jacobian")


def backward_error(fn, x, seed=0, eps=1e-6):
    """How far minigrad's backward of ``fn`` is from finite differences, with a *random* upstream gradient.

    ``fn`` maps a minigrad tensor to a minigrad tensor; ``x`` is a float64 NumPy array. Draw ``u`` of
    ``fn``'s output shape from ``numpy.random.default_rng(seed).normal``, get minigrad's gradient of
    ``(fn(x) * u).sum()`` with respect to ``x`` by ``backward()``, compare it with the finite-difference
    gradient of the same scalar, and return the largest absolute difference (a float). With ``u = 1``
    a softmax whose backward returns zeros would pass; with a random ``u`` it cannot.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson03.py::backward_error")


def softmax_vjp(s, u, dim=-1):
    """The backward of softmax along ``dim``: given the probabilities ``s = softmax(x, dim)`` and an upstream
    gradient ``u`` of the same shape (NumPy arrays), return ``uᵀJ``, the gradient with respect to ``x``.

    Derive it from ``∂s_i/∂x_j = s_i (δ_ij - s_j)`` (lesson 03): the result is ``s * (u - (u * s).sum(dim))``,
    the sum kept as an axis of size one so that it broadcasts. Work on any number of dimensions.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson03.py::softmax_vjp")
