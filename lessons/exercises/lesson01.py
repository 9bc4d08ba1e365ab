"""Lesson 01 (tensors and the backend): broadcasting and strided views, on shapes and NumPy arrays.

Grade your work with ``EXERCISES=exercises .venv/bin/pytest -q tests/test_exercises.py -k lesson01``.
"""


def broadcast_shape(*shapes):
    """The shape that broadcasting the tuples ``shapes`` together gives, as a tuple of ints.

    Line the shapes up from the right; missing leading dimensions count as 1. In each position the sizes
    must be equal or 1, and the result takes the size that is not 1 (a 1 against a 0 gives 0). When two
    sizes clash, raise ``RuntimeError`` with a message that names both sizes. No shapes at all give ``()``.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson01.py::broadcast_shape")


def sliding_windows(a, size, step):
    """Every window of ``size`` consecutive elements along the last axis of the NumPy array ``a``, taken every
    ``step`` elements, as a *view* of ``a`` (no copy): the result has shape ``a.shape[:-1] + (n, size)``
    with ``n = (a.shape[-1] - size) // step + 1``, and ``result[..., i, j] == a[..., i * step + j]``.

    Build it with ``numpy.lib.stride_tricks.as_strided(a, shape, strides)``: the window axis steps
    ``step`` elements of the last axis, the axis inside a window steps one. Use ``a.strides`` (in bytes),
    so that the answer also holds for a transposed or sliced ``a``. Raise ``RuntimeError`` when
    ``size`` is larger than the last axis or ``step`` is not positive, as torch's ``Tensor.unfold`` does.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson01.py::sliding_windows")
