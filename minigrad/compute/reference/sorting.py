"""Sorting and scans: running maxima and minima (what ``cummax`` / ``cummin`` read)."""

from __future__ import annotations

from .arrays import array_module

__all__ = ["running_max", "running_min", "mode_index"]


def running_max(a, axis: int):
    """``out[i] = max(a[0], ..., a[i])`` along ``axis`` (a NaN, once seen, stays)."""
    return array_module(a).maximum.accumulate(a, axis=axis)


def running_min(a, axis: int):
    """``out[i] = min(a[0], ..., a[i])`` along ``axis`` (a NaN, once seen, stays)."""
    return array_module(a).minimum.accumulate(a, axis=axis)


def mode_index(a, axis: int):
    """Along ``axis``: the index of the most frequent value (the smallest of those tied in count), at its
    last occurrence, as torch.mode picks it. One slice at a time: ``unique`` counts, ``nonzero`` finds it."""
    xp = array_module(a)
    rows = xp.moveaxis(a, axis, -1)
    flat = rows.reshape(-1, rows.shape[-1])
    out = xp.empty(flat.shape[0], dtype=xp.int64)
    for r in range(flat.shape[0]):
        values, counts = xp.unique(flat[r], return_counts=True)  # sorted: argmax finds the smallest tied
        out[r] = xp.nonzero(flat[r] == values[int(xp.argmax(counts))])[0][-1]
    return xp.expand_dims(out.reshape(rows.shape[:-1]), axis)
