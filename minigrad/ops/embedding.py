"""Embedding lookup: a gather forward and a scatter-add backward.

Forward picks rows of the table: ``out[..., :] = weight[indices[...], :]``. Backward must add
every upstream row back into the row it came from. The same index can appear many times in a
batch (think of the padding token), so ``grad_weight[indices] += grad`` is wrong: NumPy's
fancy-index assignment keeps only *one* of the repeated writes. A real scatter-add
(``xp.add.at``, or a compiled loop from :mod:`minigrad.compute.fast.kernels` when one is available) sums them all.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd.graph import Op
from ..compute.fast import parallel
from ..tensor import Tensor

__all__ = ["embedding"]


def scatter_add_rows(indices, grad2d, num_embeddings: int, padding_idx=None):
    """Reference scatter-add: ``out[indices[i]] += grad2d[i]`` for every ``i``, repeats included.

    ``indices``: 1-D integer array of length M; ``grad2d``: ``(M, D)``. Returns ``(num_embeddings, D)``;
    the row ``padding_idx`` (if given) stays zero.
    """
    xp = backend.get_array_module(grad2d)
    out = xp.zeros((num_embeddings, grad2d.shape[1]), dtype=grad2d.dtype)
    xp.add.at(out, indices, grad2d)
    if padding_idx is not None:
        out[padding_idx] = 0
    return out


def _scatter_add(indices, grad2d, num_embeddings, padding_idx):
    """Use a compiled kernel when minigrad.compute.fast.kernels provides one for these arrays, else the reference."""
    try:
        from ..compute.fast import kernels
    except ImportError:
        kernels = None
    fn = getattr(kernels, "embedding_backward", None) if kernels is not None else None
    if fn is not None:
        res = fn(indices, grad2d, num_embeddings, padding_idx)
        if res is not None:
            return res
    return scatter_add_rows(indices, grad2d, num_embeddings, padding_idx)


class Embedding(Op):
    """Rows of ``weight`` (num_embeddings, D) selected by integer ``indices`` (any shape)."""

    def __init__(self, padding_idx=None):
        self.padding_idx = padding_idx

    def forward(self, weight, indices):
        self.indices = indices
        self.num = weight.shape[0]
        # rows gathered into a fresh (indices.shape + (D,)) array; take is ~3x faster than weight[indices]
        xp = backend.get_array_module(weight)
        if xp is np and indices.ndim and indices.shape[0] > 1 and parallel.worth_it(indices.size * weight.shape[1]):
            # a slab of index rows per thread; embedding() checked the range, so mode="clip" (unlike the
            # default "raise") writes straight into `out` without a buffer
            out = np.empty(indices.shape + weight.shape[1:], weight.dtype)
            parallel.rows(
                lambda i, j: np.take(weight, indices[i:j], axis=0, out=out[i:j], mode="clip"), indices.shape[0]
            )
            return out
        return xp.take(weight, indices, axis=0)

    def backward(self, grad):
        if not self.needs_input_grad[0]:
            return None, None
        flat = self.indices.reshape(-1)
        g2 = grad.reshape(flat.shape[0], grad.shape[-1])
        return _scatter_add(flat, g2, self.num, self.padding_idx), None


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
