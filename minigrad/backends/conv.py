"""``minigrad.backends.conv``: the algorithm of minigrad's CPU convolutions (a minigrad setting; torch has none).

``algorithm`` is read at every call, so it can be set at any time (or for a block with ``use``):

* ``"auto"`` (the default): Winograd (:mod:`minigrad.compute.fast.winograd`) for float32 on the CPU, where it
  applies (stride 1, dilation 1, groups 1, 2 to 7 taps); im2col otherwise, and always for float64,
  whose results then stay within ~1e-16 of the exact answer, as gradient checks and parity expect.
* ``"winograd"``: Winograd for float64 too (wherever it applies).
* ``"im2col"``: never Winograd: every result is im2col + matrix product, as close to torch's bits as
  minigrad gets, at about 1.5x the time of a float32 convolution.

The environment variable ``MINIGRAD_CONV`` sets the starting value. The GPU always uses im2col.
"""

from __future__ import annotations

import contextlib
import os

ALGORITHMS = ("auto", "winograd", "im2col")

algorithm = os.environ.get("MINIGRAD_CONV", "auto").strip().lower() or "auto"


def current() -> str:
    """The algorithm setting, checked (a typo raises here, at the first convolution, naming the value)."""
    if algorithm not in ALGORITHMS:
        raise ValueError(
            f"minigrad.backends.conv.algorithm (or MINIGRAD_CONV) is {algorithm!r}; choose one of {ALGORITHMS}"
        )
    return algorithm


@contextlib.contextmanager
def use(name: str):
    """``with minigrad.backends.conv.use("im2col"): ...`` runs a block with another algorithm."""
    global algorithm
    if name not in ALGORITHMS:
        raise ValueError(f"minigrad.backends.conv.use: unknown algorithm {name!r}; choose one of {ALGORITHMS}")
    prev, algorithm = algorithm, name
    try:
        yield
    finally:
        algorithm = prev
