"""Arithmetic and the array-module plumbing every family uses.

``array_module(x)`` is NumPy for host arrays and CuPy for GPU arrays: the reference code is the same
text on both. The four arithmetic operators are here as functions so that an op reads ``B.mul(a, b)``
and the fast backend can put threads and memory layout behind the same name.
"""

from __future__ import annotations

import numpy as np

from ... import backend

__all__ = ["array_module", "add", "sub", "mul", "div", "mul_like"]


def array_module(x):
    """``numpy`` or ``cupy``: the module whose functions take ``x``."""
    return backend.get_array_module(x)


def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def mul(a, b):
    return a * b


def div(a, b):
    return a / b


def mul_like(a, b, like):
    """``a * b``; the fast backend also lays the result out in memory like ``like`` (a gradient like its input)."""
    return a * b


# ---------------------------------------------------------------- NumPy's own names, on the right module
def _module_of_args(args):
    if backend.gpu_module() is None:  # no GPU module loaded: everything is NumPy
        return np
    for a in args:
        if isinstance(a, (list, tuple)) and a:
            a = a[0]
        if hasattr(a, "dtype") and hasattr(a, "shape"):
            return backend.get_array_module(a)
    return np


def numpy_function(name: str):
    """``B.<name>`` for a NumPy name neither backend defines: NumPy's or CuPy's function, whichever
    module the arguments (or ``like=``) belong to; constants and dtypes are returned as they are."""
    attr = getattr(np, name, None)
    if attr is None or name.startswith("_"):
        raise AttributeError(f"minigrad.compute.B has no {name!r}: neither backend defines it and NumPy has none")
    if isinstance(attr, type) or not callable(attr):
        return attr

    def call(*args, like=None, **kwargs):
        xp = _module_of_args(args) if like is None else backend.get_array_module(like)
        return getattr(xp, name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``{name}`` of NumPy, or of CuPy for GPU arrays."
    return call
