"""What a benchmark is: a name, a description of its sizes, and a builder run once per library."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Case:
    """``make(lib, ctx)`` builds the inputs with ``lib`` (torch or minigrad) and returns ``fn(i)``, one timed call.

    ``ctx`` is the run's :class:`Context` (sizes, device). ``make`` may return None when a library
    cannot run the case; the report then shows a gap.

    ``inner`` > 1: each timed sample is ``inner`` calls in a row, reported per call. For cases of a few
    hundred microseconds, where one call timed alone after the pause measures how cold the caches are
    more than the per-op cost a training loop pays.
    """

    group: str
    name: str
    size: str
    make: Callable
    inner: int = 1


@dataclass
class Context:
    device: str = "cpu"
    quick: bool = False
    batch: int = 32
    infer_batch: int = 64
    n_batches: int = 6
    max_len: int | None = None  # truncate sequences (quick runs use short ones)
    seed: int = 0
    data: str = ""


def tensor(lib, array, ctx, requires_grad=False):
    """``array`` (NumPy) as a ``lib`` tensor on the run's device."""
    t = lib.from_numpy(array)
    if ctx.device != "cpu":
        t = t.to(ctx.device)
    if requires_grad:
        t.requires_grad_(True)
    return t
