"""Keep large host arrays in the C heap between steps (glibc on Linux), instead of fresh pages each time.

glibc's ``malloc`` serves blocks above a threshold (128 KiB at start, raised as the program frees
larger blocks, up to 32 MiB) with ``mmap``: new pages from the operating system, which are zeroed
and page-faulted in on first touch, and handed back on ``free``. A training or inference step makes
and frees tens of activation arrays of a few to ~30 MB each, so every step pays those faults again:
measured on the course CNN's inference step (batch 64, 2 cores) about 25 % of the step, most of it
in the ReLU and convolution outputs. Two ``mallopt`` settings fix it for arrays up to 32 MiB:

* ``M_MMAP_THRESHOLD`` = 32 MiB (glibc's largest): such blocks come from the heap;
* ``M_TRIM_THRESHOLD`` = 256 MiB: freed heap memory is kept for the next step (up to that much at
  the top of the heap) rather than returned to the system at once.

This is process-wide: every library in the process (torch included, whose CPU tensors use the same
``malloc``) gets the same behaviour, which keeps side-by-side comparisons fair. So it is opt-in:
``minigrad.config.malloc_tuning = True`` (or ``MINIGRAD_MALLOC=tuned``); the benchmarks and the parity
run switch it on; False restores glibc's starting thresholds. Elsewhere (macOS, Windows, musl) nothing
is done. The same settings can be given to any program as ``MALLOC_MMAP_THRESHOLD_=33554432
MALLOC_TRIM_THRESHOLD_=268435456`` in its environment.
"""

from __future__ import annotations

import ctypes
import sys

from .config import config, env

_M_TRIM_THRESHOLD = -1  # glibc's <malloc.h> parameter numbers
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 256 << 20

tuned = False  # whether the settings above are in force (set by _apply)


_M_DEFAULT = 128 << 10  # glibc's starting value of both thresholds


def _mallopt():
    if not sys.platform.startswith("linux"):
        return None
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        return None
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt


def _apply(on: bool) -> None:
    """Put ``config.malloc_tuning`` into force (nothing happens where malloc is not glibc's)."""
    global tuned
    mallopt = _mallopt()
    if mallopt is None:
        tuned = False
        return
    mmap, trim = (MMAP_THRESHOLD, TRIM_THRESHOLD) if on else (_M_DEFAULT, _M_DEFAULT)
    ok = bool(mallopt(_M_MMAP_THRESHOLD, mmap)) and bool(mallopt(_M_TRIM_THRESHOLD, trim))
    tuned = on and ok


config.define("malloc_tuning", env("MINIGRAD_MALLOC", "system") == "tuned", _apply, apply_initial=False)
if config.malloc_tuning:
    _apply(True)
