"""Lesson 02 (the computation graph): extend and rebuild parts of the tiny engine in lessons/tiny/.

Grade your work with ``EXERCISES=exercises .venv/bin/pytest -q tests/test_exercises.py -k lesson02``.
"""

from lessons.tiny.scalar import Scalar  # noqa: F401  (the type tanh takes and returns)


def tanh(x):
    """Return ``tanh(x)`` for a ``Scalar`` ``x`` as a new ``Scalar`` that the tiny engine can differentiate.

    Build it like ``Scalar.exp``: compute the value with ``math.tanh`` and give the result ``inputs=(x,)``
    and a ``vjp`` that maps the upstream gradient ``g`` to a one-element tuple (d tanh(x)/dx = 1 - tanh(x)^2).
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson02.py::tanh")


def unbroadcast(grad, shape):
    """Sum the NumPy array ``grad`` back to ``shape``, the shape of an input that broadcasting stretched.

    Leading axes that broadcasting added are summed away; axes where ``shape`` has 1 and ``grad`` has more
    are summed with ``keepdims=True``. Return an array of exactly ``shape`` (``()`` for a 0-d input).
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson02.py::unbroadcast")


def matmul_vjp(g, a, b):
    """The two vector-Jacobian products of ``y = a @ b`` for 2-D arrays: return ``(dL/da, dL/db)``.

    ``g`` is ``dL/dy`` (shape ``(n, m)`` for ``a`` of shape ``(n, k)`` and ``b`` of shape ``(k, m)``).
    Do not build a Jacobian: each result is one matrix product.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson02.py::matmul_vjp")
