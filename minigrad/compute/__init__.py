"""The array code that ops compute with: ``B``, one namespace, two backends behind it.

An op states its math against ``B``: ``Mul.forward`` returns ``B.mul(a, b)``. Which code that runs is
``minigrad.config.backend``:

* ``"reference"`` (:mod:`minigrad.compute.reference`): textbook NumPy/CuPy, one short function per
  name, what the lessons quote and a debugger steps into;
* ``"fast"`` (the default, :mod:`minigrad.compute.fast`): the same names, with everything that exists
  only for speed (threads, layout-following results, numba kernels, Winograd, cache-sized convolution
  blocks, accurate float32 sums). Names it does not override are the reference's.

Besides the names the two backends define, ``B`` answers NumPy's own names (``B.exp``, ``B.where``,
``B.float32``, ...), run by the array module of the arrays passed (NumPy on the CPU, CuPy on a GPU);
``like=array`` picks the module when no array is passed (``B.arange(n, like=x)``). The tests hold the
two backends equal (tests/compute/).
"""

from __future__ import annotations

from ..config import config, env
from . import fast, reference
from .reference.arrays import numpy_function

__all__ = ["B", "backend_names", "table"]


class _Namespace:
    """``B``: its attributes are the active backend's functions (swapped whole when the setting changes)."""

    fallback = staticmethod(numpy_function)  # recording a backward (autograd.recorded) guards these

    def __getattr__(self, name):  # only for names neither backend defines: NumPy's own
        fn = self.fallback(name)
        self.__dict__[name] = fn  # cached until the next switch
        return fn

    def __repr__(self):
        return f"<minigrad.compute.B: the {config.backend!r} backend>"


B = _Namespace()


def table(name: str) -> dict:
    """The functions of backend ``name`` ("reference" or "fast"), by name."""
    return reference.TABLE if name == "reference" else fast.TABLE


def backend_names() -> tuple:
    """The names both backends define (the array interface beyond NumPy's names)."""
    return tuple(sorted(reference.TABLE))


def _select(name: str) -> None:
    B.__dict__.clear()
    B.__dict__.update(table(name))


config.define("backend", env("MINIGRAD_BACKEND", "fast"), _select)
