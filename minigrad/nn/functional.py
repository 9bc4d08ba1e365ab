"""Functional forms of the layers (torch.nn.functional): stateless functions on tensors.

A layer module (``nn.Linear``) owns its parameters and calls one of these functions
(``F.linear(x, self.weight, self.bias)``). Everything here is implemented once, as an op in
:mod:`minigrad.ops`; this module only gathers the names under torch's ``F.`` namespace.
"""
from __future__ import annotations

from ..ops import (  # noqa: F401
    adaptive_avg_pool1d,
    adaptive_max_pool1d,
    avg_pool1d,
    batch_norm,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    conv1d,
    cross_entropy,
    dropout,
    elu,
    embedding,
    gelu,
    hardtanh,
    huber_loss,
    l1_loss,
    layer_norm,
    leaky_relu,
    linear,
    log_softmax,
    max_pool1d,
    mse_loss,
    nll_loss,
    one_hot,
    pad,
    relu,
    relu6,
    sigmoid,
    silu,
    smooth_l1_loss,
    softmax,
    softplus,
    tanh,
)
from ..ops import clamp_min, group_norm, norm

__all__ = [
    "linear", "embedding", "dropout", "one_hot", "pad",
    "relu", "relu6", "gelu", "sigmoid", "tanh", "silu", "softplus", "leaky_relu", "elu", "hardtanh", "softmax",
    "log_softmax",
    "conv1d", "max_pool1d", "avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d",
    "layer_norm", "batch_norm", "group_norm",
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "normalize",
]


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None):
    """Divide ``input`` by its ``p``-norm along ``dim`` (kept at least ``eps``), e.g. unit-length rows."""
    return input / clamp_min(norm(input, p, dim, keepdim=True), eps)
