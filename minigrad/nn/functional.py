"""Functional forms of the layers (torch.nn.functional): stateless functions on tensors.

A layer module (``nn.Linear``) owns its parameters and calls one of these functions
(``F.linear(x, self.weight, self.bias)``). Everything here is implemented once, as an op in
:mod:`minigrad.ops`; this module only gathers the names under torch's ``F.`` namespace.
"""

from __future__ import annotations

from .. import ops as _ops
from ..ops import (  # noqa: F401
    adaptive_avg_pool1d,
    adaptive_max_pool1d,
    avg_pool1d,
    batch_norm,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    clamp_min,
    conv1d,
    cross_entropy,
    embedding,
    gelu,
    group_norm,
    huber_loss,
    l1_loss,
    layer_norm,
    linear,
    log_softmax,
    max_pool1d,
    mse_loss,
    nll_loss,
    norm,
    one_hot,
    pad,
    sigmoid,
    smooth_l1_loss,
    softmax,
    softplus,
    tanh,
)
from ..ops.inplace import apply_inplace
from ._attention_functional import scaled_dot_product_attention

__all__ = [
    "linear",
    "embedding",
    "dropout",
    "one_hot",
    "pad",
    "relu",
    "relu6",
    "gelu",
    "sigmoid",
    "tanh",
    "silu",
    "softplus",
    "leaky_relu",
    "elu",
    "hardtanh",
    "softmax",
    "log_softmax",
    "selu",
    "mish",
    "hardsigmoid",
    "hardswish",
    "logsigmoid",
    "softsign",
    "conv1d",
    "max_pool1d",
    "avg_pool1d",
    "adaptive_avg_pool1d",
    "adaptive_max_pool1d",
    "layer_norm",
    "batch_norm",
    "group_norm",
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "nll_loss",
    "normalize",
    "scaled_dot_product_attention",
]


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None):
    """Divide ``input`` by its ``p``-norm along ``dim`` (kept at least ``eps``), e.g. unit-length rows."""
    return input / clamp_min(norm(input, p, dim, keepdim=True), eps)


# ------------------------------------------------------------------ activations with torch's ``inplace``
# ``inplace=True`` overwrites ``input`` with the result and returns it, as torch does; autograd follows
# torch's rules for in-place ops (minigrad.ops.inplace): a leaf that requires grad raises, and a node
# that saved ``input`` raises in backward. ``keep=False`` where the op's backward does not read ``input``.
def _activation(name: str, input, inplace: bool, compute, keep: bool = True):
    if not inplace:
        return compute(input)
    return apply_inplace(name + "_", input, compute, keep=keep)


def relu(input, inplace: bool = False):
    """``max(x, 0)``."""
    return _activation("relu", input, inplace, _ops.relu, keep=False)  # its backward reads the output


def relu6(input, inplace: bool = False):
    """``min(max(x, 0), 6)``."""
    return _activation("relu6", input, inplace, _ops.relu6)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """``x`` for positive inputs, ``negative_slope * x`` otherwise."""
    return _activation("leaky_relu", input, inplace, lambda t: _ops.leaky_relu(t, negative_slope))


def elu(input, alpha: float = 1.0, inplace: bool = False):
    """``x`` for positive inputs, ``alpha * (exp(x) - 1)`` otherwise."""
    return _activation("elu", input, inplace, lambda t: _ops.elu(t, alpha))


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    """``x`` clipped to ``[min_val, max_val]``."""
    return _activation("hardtanh", input, inplace, lambda t: _ops.hardtanh(t, min_val, max_val))


def silu(input, inplace: bool = False):
    """``x * sigmoid(x)``."""
    return _activation("silu", input, inplace, _ops.silu)


def selu(input, inplace: bool = False):
    """``scale * elu(x, alpha)`` with the fixed constants of self-normalising networks."""
    return _activation("selu", input, inplace, _ops.selu)


def mish(input, inplace: bool = False):
    """``x * tanh(softplus(x))``."""
    return _activation("mish", input, inplace, _ops.mish)


def hardsigmoid(input, inplace: bool = False):
    """``relu6(x + 3) / 6``: a piecewise-linear sigmoid."""
    return _activation("hardsigmoid", input, inplace, _ops.hardsigmoid)


def hardswish(input, inplace: bool = False):
    """``x * relu6(x + 3) / 6``: a piecewise-linear SiLU."""
    return _activation("hardswish", input, inplace, _ops.hardswish)


def logsigmoid(input):
    """``log(sigmoid(x))``, computed without overflow."""
    return _ops.logsigmoid(input)


def softsign(input):
    """``x / (1 + |x|)``."""
    return _ops.softsign(input)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False, *, mask=None, generator=None):
    """torch.nn.functional.dropout (``mask``: minigrad's explicit keep-mask, see :func:`minigrad.ops.dropout`)."""
    return _ops.dropout(input, p, training, inplace, mask=mask, generator=generator)
