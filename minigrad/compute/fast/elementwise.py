"""Fast ReLU: one compiled pass over the array in its own memory layout.

NumPy's ``maximum`` spends extra work on NaN handling and ``where`` makes two passes; the numba kernels
(:func:`.kernels.relu_forward`, :func:`.kernels.relu_backward`) do one pass, in the arrays' common memory
order, so a channels-last input (a convolution's output) gives a channels-last result and the next
backward steps stay on same-layout operands. Arrays the kernels do not take (CuPy or fake-GPU arrays,
integer dtypes, mixed shapes or dtypes) get the reference code.
"""

from __future__ import annotations

from ..reference import elementwise as reference
from . import kernels

__all__ = ["relu", "relu_backward"]


def relu(x):
    out = kernels.relu_forward(x)  # None for non-NumPy or non-float arrays
    return reference.relu(x) if out is None else out


def relu_backward(grad, out):
    res = kernels.relu_backward(grad, out)  # None for non-NumPy arrays, or shapes or dtypes that differ
    return reference.relu_backward(grad, out) if res is None else res
