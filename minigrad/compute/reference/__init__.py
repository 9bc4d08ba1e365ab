"""The reference backend: plain NumPy/CuPy, written to be read.

Each module here (found by name: no list to keep) holds the functions of one family of ops and
lists them in ``__all__``; ``TABLE`` gathers them by name. Nothing here is tuned: no threads, no
compiled kernels, no memory-layout tricks.
"""

from __future__ import annotations

import importlib
import pkgutil

# every module of this package is a family (arrays, elementwise, reduce, conv, ...)
FAMILIES = tuple(importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__))


def _gather(modules) -> dict:
    table = {}
    for mod in modules:
        for name in mod.__all__:
            if name in table:
                raise RuntimeError(f"minigrad.compute: {name!r} is defined twice ({mod.__name__})")
            table[name] = getattr(mod, name)
    return table


TABLE = _gather(FAMILIES)
