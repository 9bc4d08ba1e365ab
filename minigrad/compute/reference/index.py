"""Indexing: the scatter-add that gradients of gathers need.

``a[index] += values`` is wrong when ``index`` names a position twice: NumPy's fancy assignment reads
``a[index]`` once, adds, and writes each position once, so only one of the repeats counts. ``add.at``
is the unbuffered version: every occurrence adds.
"""

from __future__ import annotations

from .arrays import array_module

__all__ = ["add_at"]


def add_at(a, index, values) -> None:
    """``a[index] += values`` in place, where every repeat of a position in ``index`` adds its value."""
    array_module(a).add.at(a, index, values)
