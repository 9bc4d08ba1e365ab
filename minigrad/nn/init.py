"""Weight initialisation (torch.nn.init): fill a tensor in place with values from a chosen distribution.

The point of the Xavier/Glorot and Kaiming/He schemes is to keep the variance of activations
(and of gradients) roughly constant from layer to layer. A layer computing ``sum_i w_i x_i``
over ``fan_in`` inputs multiplies the variance by ``fan_in * Var(w)``; choosing
``Var(w) = gain^2 / fan_in`` cancels that, where ``gain`` corrects for what the nonlinearity
does to the variance (``sqrt(2)`` for ReLU, which zeroes half of its inputs).

All values are drawn on the host from :mod:`minigrad.random` (so ``manual_seed`` makes them
reproducible), cast to the tensor's dtype and written into it without recording a graph.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import backend
from ..random import rng
from ..tensor import Tensor

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "ones_",
    "zeros_",
    "eye_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
]


def _fill(tensor: Tensor, values) -> Tensor:
    """Write host ``values`` into ``tensor`` in place (its dtype and device), outside autograd."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init expects a Tensor, got {type(tensor).__name__}")
    arr = np.asarray(values, dtype=tensor.array.dtype)
    tensor.array[...] = backend.to_device(arr, tensor.device)
    return tensor


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity (the factor by which to scale the std of the weights)."""
    linear_like = {
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "sigmoid",
    }
    if nonlinearity in linear_like:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor):
    """``fan_in = size(1) * k``, ``fan_out = size(0) * k`` where ``k`` is the product of the remaining dims
    (the kernel size of a convolution weight ``(out, in, k)``)."""
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with samples from U(a, b)."""
    return _fill(tensor, rng(generator).uniform(a, b, tuple(tensor.shape)))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with samples from N(mean, std^2)."""
    return _fill(tensor, rng(generator).normal(mean, std, tuple(tensor.shape)))


def trunc_normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, generator=None
) -> Tensor:
    """Fill with N(mean, std^2) samples restricted to [a, b] (by redrawing every sample that falls outside)."""
    if not a < b:
        raise ValueError(f"trunc_normal_: expected a < b, got a={a}, b={b}")
    g = rng(generator)
    shape = tuple(tensor.shape)
    vals = g.normal(mean, std, shape)
    bad = (vals < a) | (vals > b)
    for _ in range(1000):  # each round keeps a fixed fraction, so this ends quickly unless [a, b] is tiny
        n = int(bad.sum())
        if n == 0:
            break
        vals[bad] = g.normal(mean, std, n)
        bad = (vals < a) | (vals > b)
    else:  # the interval holds almost no probability mass: fall back to uniform inside it
        vals[bad] = g.uniform(a, b, int(bad.sum()))
    return _fill(tensor, vals)


def constant_(tensor: Tensor, val: float) -> Tensor:
    tensor.array[...] = val
    return tensor


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1)


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """U(-bound, bound) with ``bound = gain * sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std  # a uniform on [-c, c] has std c / sqrt(3)
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """N(0, std^2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    return calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))


def kaiming_uniform_(
    tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None
) -> Tensor:
    """U(-bound, bound) with ``bound = gain * sqrt(3 / fan)`` (He et al., 2015); ``a`` is the leaky-ReLU slope."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return uniform_(tensor, -math.sqrt(3.0) * std, math.sqrt(3.0) * std, generator)


def kaiming_normal_(
    tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None
) -> Tensor:
    """N(0, std^2) with ``std = gain / sqrt(fan)``."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def _default_layer_init_(weight: Tensor, bias: Tensor | None) -> None:
    """torch's default for Linear and Conv layers: kaiming_uniform_(a=sqrt(5)) on the weight, and the bias
    uniform on +-1/sqrt(fan_in) (so a layer's output variance does not grow with its width)."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in = _calculate_fan_in_and_fan_out(weight)[0]
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Fill with a (semi-)orthogonal matrix times ``gain``: the Q factor of a Gaussian matrix's QR decomposition.

    The tensor is viewed as ``(rows, cols)`` with ``cols`` the product of the trailing dims; the rows
    (if rows <= cols) or the columns (otherwise) come out orthonormal.
    """
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    a = rng(generator).standard_normal((rows, cols))
    if rows < cols:
        a = a.T
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # fix the signs so the result is uniformly distributed over orthogonal matrices
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tuple(tensor.shape)))
