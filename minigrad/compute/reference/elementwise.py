"""Element-wise math that NumPy does not name: ReLU and its gradient, the logistic sigmoid, the error function.

Everything else an element-wise op needs is NumPy's own (``B.exp``, ``B.where``, ...).
"""

from __future__ import annotations

from ... import backend
from .arrays import array_module

__all__ = ["relu", "relu_backward", "sigmoid", "erf"]


def relu(x):
    """``max(x, 0)``; NaN stays NaN (``maximum`` propagates it), integers stay integers."""
    return array_module(x).maximum(x, x.dtype.type(0))


def relu_backward(grad, out):
    """ReLU's input gradient from its *output*: 0 where ``out <= 0``, else ``grad`` (torch's threshold_backward).

    The value is selected, not multiplied by a 0/1 mask: a NaN or infinite gradient at a zeroed unit gives 0,
    and a NaN output (NaN <= 0 is False) passes its gradient, as in torch.
    """
    return array_module(grad).where(out <= 0, grad.dtype.type(0), grad)


def sigmoid(x):
    """``1 / (1 + e^-x)`` without overflow: ``e^-|x|`` never exceeds 1."""
    xp = array_module(x)
    e = xp.exp(-xp.abs(x))
    d = 1 + e
    return xp.where(x >= 0, 1 / d, e / d)


def erf(x):
    """The error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt``, element-wise (NumPy has none:
    SciPy's, or ``math.erf`` compiled by numba, on the CPU; CuPy's on a GPU)."""
    return backend.erf(x)
