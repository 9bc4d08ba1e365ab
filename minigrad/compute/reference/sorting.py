"""Sorting and scans: running maxima and minima (what ``cummax`` / ``cummin`` read)."""

from __future__ import annotations

from .arrays import array_module

__all__ = ["running_max", "running_min"]


def running_max(a, axis: int):
    """``out[i] = max(a[0], ..., a[i])`` along ``axis`` (a NaN, once seen, stays)."""
    return array_module(a).maximum.accumulate(a, axis=axis)


def running_min(a, axis: int):
    """``out[i] = min(a[0], ..., a[i])`` along ``axis`` (a NaN, once seen, stays)."""
    return array_module(a).minimum.accumulate(a, axis=axis)
