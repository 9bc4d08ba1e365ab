"""nn utilities: gradient clipping, sequence padding, flattening parameters into one vector."""

from __future__ import annotations

from . import rnn  # noqa: F401
from .clip_grad import clip_grad_norm_, clip_grad_value_, get_total_norm  # noqa: F401

__all__ = [
    "clip_grad_norm_",
    "clip_grad_value_",
    "get_total_norm",
    "parameters_to_vector",
    "vector_to_parameters",
    "rnn",
]


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one 1-D tensor (differentiable)."""
    from ... import ops

    return ops.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into ``parameters`` (in place, outside autograd)."""
    from ...tensor import Tensor

    if not isinstance(vec, Tensor) or vec.ndim != 1:
        raise TypeError("vector_to_parameters: expected a 1-D Tensor")
    offset = 0
    for p in parameters:
        n = p.numel()
        if offset + n > vec.numel():
            raise RuntimeError(f"vector_to_parameters: vector of length {vec.numel()} is too short for the parameters")
        p.array[...] = vec.array[offset : offset + n].reshape(p.array.shape)
        offset += n
