"""The fast backend: the reference's functions, with the ones that matter for speed replaced.

Everything minigrad does only to be fast lives in this folder: the thread pool (``parallel``), the numba
kernels (``kernels``), Winograd's convolution (``winograd``), and the families' fast functions. Each family
module lists in ``__all__`` the names it overrides; a name the reference does not define is an error, so
the two backends always offer the same interface.
"""

from __future__ import annotations

import importlib
import pkgutil

from .. import reference

# the modules that override reference functions: every module of this package except the machinery
_MACHINERY = {"kernels", "parallel", "winograd"}
FAMILIES = tuple(
    importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__) if m.name not in _MACHINERY
)


def _overlay(base: dict, modules) -> dict:
    table = dict(base)
    for mod in modules:
        for name in mod.__all__:
            if name not in base:
                raise RuntimeError(f"minigrad.compute.fast: {name!r} has no reference version ({mod.__name__})")
            table[name] = getattr(mod, name)
    return table


TABLE = _overlay(reference.TABLE, FAMILIES)
