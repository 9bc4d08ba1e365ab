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

import sys
import types

from ..config import config, env

ALGORITHMS = ("auto", "winograd", "im2col")

config.define("conv_algorithm", env("MINIGRAD_CONV", "auto"))


def current() -> str:
    """The algorithm setting (``minigrad.config.conv_algorithm``)."""
    return config.conv_algorithm


def use(name: str):
    """``with minigrad.backends.conv.use("im2col"): ...``: ``minigrad.config.using(conv_algorithm=...)``."""
    if name not in ALGORITHMS:
        raise ValueError(f"minigrad.backends.conv.use: unknown algorithm {name!r}; choose one of {ALGORITHMS}")
    return config.using(conv_algorithm=name)


class _Module(types.ModuleType):
    """``backends.conv.algorithm`` reads and writes ``minigrad.config.conv_algorithm`` (torch-style attribute)."""

    @property
    def algorithm(self) -> str:
        return config.conv_algorithm

    @algorithm.setter
    def algorithm(self, value) -> None:
        config.conv_algorithm = value


sys.modules[__name__].__class__ = _Module
