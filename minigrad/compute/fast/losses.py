"""Cross-entropy's softmax rows on several threads, written into preallocated arrays.

Every row of ``(M, C)`` logits is on its own, so a large batch is done a slab of rows per thread
(:mod:`.parallel`; the ``exp`` is most of the time), with the same result as one thread. Each slab
writes ``z``, ``exp(z)`` and the row sums into arrays allocated once, with ``out=``.
"""

from __future__ import annotations

import numpy as np

from ... import backend
from . import parallel

__all__ = ["shifted_exp_rows"]


def shifted_exp_rows(x):
    """``z = x - rowmax``, ``e = exp(z)`` and ``s = e.sum(1)`` (a column): ``log_softmax = z - log(s)``,
    ``softmax = e / s``. A row whose max is not finite is shifted by 0 instead (as torch does)."""
    xp = backend.get_array_module(x)
    z, e, s = xp.empty_like(x), xp.empty_like(x), xp.empty((x.shape[0], 1), x.dtype)

    def slab(i, j):
        xs = x[i:j]
        m = xs.max(axis=1, keepdims=True)
        if xs.shape[1] and not bool(xp.isfinite(m).all()):
            m = xp.where(xp.isfinite(m), m, 0)
        xp.subtract(xs, m, out=z[i:j])
        xp.exp(z[i:j], out=e[i:j])
        e[i:j].sum(axis=1, keepdims=True, out=s[i:j])

    if xp is np and parallel.worth_it(x.size, cost=10):
        parallel.rows(slab, x.shape[0])
    else:
        slab(0, x.shape[0])
    return z, e, s
