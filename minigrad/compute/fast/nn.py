"""Fast layer code: one big matrix product for ``linear``, threaded embedding lookups, a compiled scatter-add.

``linear`` on a C-contiguous ``x (*, in)`` with several leading axes reshapes it to one ``(M, in)`` matrix:
one large matrix product instead of NumPy's batch of small ones. ``embedding_lookup`` takes rows with
``np.take`` (~3x faster than ``weight[indices]``), a slab of index rows per thread when the result is
large (:mod:`.parallel`). ``embedding_backward`` is the compiled loop of :mod:`.kernels` (NumPy's
``add.at`` is slow), falling back to the reference for CuPy arrays.
"""

from __future__ import annotations

import numpy as np

from ... import backend
from ..reference.nn import embedding_backward as _reference_embedding_backward
from . import kernels, parallel

__all__ = ["linear", "linear_backward", "embedding_lookup", "embedding_backward"]


def linear(x, w, b):
    if x.ndim > 2 and x.flags.c_contiguous:
        # one (M, in) x (in, out) matrix product instead of a batch of small ones
        y = (x.reshape(-1, x.shape[-1]) @ w.T).reshape(x.shape[:-1] + (w.shape[0],))
    else:
        y = x @ w.T
    if b is not None:
        y += b  # y is a fresh array, so adding in place saves a copy
    return y


def linear_backward(grad, x, w, needs):
    gx = gw = gb = None
    if needs[0]:
        if grad.ndim > 2 and grad.flags.c_contiguous:
            gx = (grad.reshape(-1, w.shape[0]) @ w).reshape(grad.shape[:-1] + (w.shape[1],))
        else:
            gx = grad @ w
    if needs[1] or (len(needs) > 2 and needs[2]):
        g2 = grad.reshape(-1, w.shape[0])  # (M, out)
        if needs[1]:
            gw = g2.T @ x.reshape(-1, w.shape[1])  # (out, in)
        if len(needs) > 2 and needs[2]:
            gb = g2.sum(axis=0)
    return gx, gw, gb


def embedding_lookup(weight, indices):
    xp = backend.get_array_module(weight)
    if xp is np and indices.ndim and indices.shape[0] > 1 and parallel.worth_it(indices.size * weight.shape[1]):
        # a slab of index rows per thread; embedding() checked the range, so mode="clip" (unlike the
        # default "raise") writes straight into `out` without a buffer
        out = np.empty(indices.shape + weight.shape[1:], weight.dtype)
        parallel.rows(lambda i, j: np.take(weight, indices[i:j], axis=0, out=out[i:j], mode="clip"), indices.shape[0])
        return out
    return xp.take(weight, indices, axis=0)


def embedding_backward(indices, grad2d, num_embeddings, padding_idx=None):
    res = kernels.embedding_backward(indices, grad2d, num_embeddings, padding_idx)
    if res is None:  # CuPy arrays, or dtypes the kernel does not take
        res = _reference_embedding_backward(indices, grad2d, num_embeddings, padding_idx)
    return res
