"""The layers' array code: the affine map of ``nn.Linear``, embedding lookup and its scatter-add, dropout's mask.

``linear``: ``y = x @ W.T + b`` for ``x (*, in)``, ``W (out, in)``; backward, with ``x`` and ``grad`` seen as
``(M, in)`` and ``(M, out)`` matrices: ``dx = grad @ W``, ``dW = grad.T @ x``, ``db = grad`` summed over ``M``.

``embedding_lookup`` gathers rows of a table; ``embedding_backward`` adds every gradient row back into the
row it came from. The same index may appear many times (the padding token), so ``out[indices] += grad``
would be wrong: a fancy-index assignment keeps only one of the repeated writes. ``add.at`` adds them all.
"""

from __future__ import annotations

import math

import numpy as np

from ... import backend
from ...random import rng
from .arrays import array_module

__all__ = ["linear", "linear_backward", "embedding_lookup", "embedding_backward", "dropout_mask"]


def linear(x, w, b):
    """``x @ w.T + b`` (``b`` may be None)."""
    y = x @ w.T
    return y if b is None else y + b


def linear_backward(grad, x, w, needs):
    """``(grad_x, grad_w, grad_b)`` of :func:`linear` (None where ``needs`` says no; ``needs`` has 2 or 3 flags)."""
    grad2d = grad.reshape(-1, w.shape[0])  # (M, out)
    gx = grad @ w if needs[0] else None
    gw = grad2d.T @ x.reshape(-1, w.shape[1]) if needs[1] else None
    gb = grad2d.sum(axis=0) if len(needs) > 2 and needs[2] else None
    return gx, gw, gb


def embedding_lookup(weight, indices):
    """``weight[indices]``: one row of the table per index, shape ``indices.shape + (D,)``."""
    return weight[indices]


def embedding_backward(indices, grad2d, num_embeddings, padding_idx=None):
    """The scatter-add ``out[indices[i]] += grad2d[i]`` for every ``i``, repeats included.

    ``indices``: 1-D integers (M,); ``grad2d``: (M, D). Returns ``(num_embeddings, D)``; the row
    ``padding_idx`` (if not None) stays zero.
    """
    xp = array_module(grad2d)
    out = xp.zeros((num_embeddings, grad2d.shape[1]), dtype=grad2d.dtype)
    xp.add.at(out, indices, grad2d)
    if padding_idx is not None:
        out[padding_idx] = 0
    return out


def dropout_mask(shape, p, dtype, device, generator=None, like=None):
    """A keep-mask (1 = keep, probability ``1 - p``) of ``shape``, drawn on the host from minigrad's generator.

    Each element takes 32 raw random bits ``u`` and is kept when ``u >= ceil(p * 2**32)``, so
    ``P(keep) = 1 - p`` to within 2**-32 (half the cost of drawing float64 uniforms). ``like``: an array
    whose memory layout the mask copies (a channels-last activation gets a channels-last mask, so that
    ``x * mask`` walks both arrays in the same order). The numbers are drawn in that memory order, so one
    seed gives one mask for one layout; the fast backend's convolutions return channels-last results where
    the reference's are contiguous, so after a convolution the two backends draw different masks.
    """
    order = tuple(range(len(shape)))
    if like is not None and like.ndim == len(shape) and not like.flags.c_contiguous:
        order = backend.memory_order(like)
    phys = tuple(shape[i] for i in order)
    n = math.prod(phys)
    threshold = math.ceil(p * 2.0**32)
    if threshold >= 2**32:  # p == 1 (or within 2**-32 of it): nothing is kept
        keep = np.zeros(phys, dtype=bool)
    else:
        bits = rng(generator).bit_generator.random_raw((n + 1) // 2).view(np.uint32)[:n]
        keep = (bits >= np.uint32(threshold)).reshape(phys)
    keep = keep.astype(dtype).transpose(np.argsort(order))
    return backend.to_device(keep, device)
