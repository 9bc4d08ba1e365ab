"""Embedding lookup: a gather forward and a scatter-add backward.

Forward picks rows of the table: ``out[..., :] = weight[indices[...], :]``. Backward must add
every upstream row back into the row it came from. The same index can appear many times in a
batch (think of the padding token), so ``grad_weight[indices] += grad`` is wrong: NumPy's
fancy-index assignment keeps only *one* of the repeated writes. A real scatter-add sums them all
(``B.embedding_backward``: ``add.at`` in :mod:`minigrad.compute.reference.nn`).
"""

from __future__ import annotations

from ..autograd.graph import Op
from ..compute import B
from ..tensor import Tensor
from .registry import declare, exports


class Embedding(Op):
    """Rows of ``weight`` (num_embeddings, D) selected by integer ``indices`` (any shape)."""

    linear = True  # create_graph records its backward as a LinearMap

    def __init__(self, padding_idx=None):
        self.padding_idx = padding_idx

    def forward(self, weight, indices):
        self.indices = indices
        self.num = weight.shape[0]
        return B.embedding_lookup(weight, indices)  # a fresh (indices.shape + (D,)) array

    def backward(self, grad):
        if not self.needs_input_grad[0]:
            return None, None
        flat = self.indices.reshape(-1)
        g2 = grad.reshape(flat.shape[0], grad.shape[-1])
        return B.embedding_backward(flat, g2, self.num, self.padding_idx), None


@declare(method=False, functional=True, top_level=False)  # torch.embedding takes (weight, input): not this
def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx=None,
    max_norm=None,
    norm_type=2.0,
    scale_grad_by_freq=False,
    sparse=False,
) -> Tensor:
    """Look up rows of ``weight`` for the integer tensor ``input`` (torch.nn.functional.embedding).

    The row ``padding_idx`` receives no gradient (a negative value counts from the end).
    """
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError("embedding(): input and weight must be Tensors")
    if input.array.dtype.kind == "f" and weight.array.dtype.kind in "iu":
        input, weight = weight, input  # torch.embedding(weight, indices) takes them the other way round
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding(): max_norm, scale_grad_by_freq and sparse are not supported in minigrad")
    if weight.ndim != 2:
        raise RuntimeError(
            f"embedding(): weight must be 2-D (num_embeddings, embedding_dim), got {tuple(weight.shape)}"
        )
    if input.array.dtype.kind not in "iu":
        raise RuntimeError(
            f"embedding(): expected the indices to be an integer tensor (Long or Int), got {input.dtype}"
        )
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise AssertionError(f"embedding(): padding_idx {padding_idx} must be within num_embeddings ({num})")
        padding_idx %= num
    idx = input.array
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= num:
            bad = lo if lo < 0 else hi
            raise IndexError(
                f"embedding(): index {bad} is out of range for an embedding table with num_embeddings={num} "
                f"(valid indices are 0..{num - 1})"
            )
    if type(idx) is not type(weight.array):
        raise RuntimeError(f"embedding(): indices are on {input.device} but weight is on {weight.device}")
    return Embedding(padding_idx)(weight, input)


__all__ = exports(__name__)
