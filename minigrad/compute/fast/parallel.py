"""The CPU's cores for ops whose work falls into independent pieces: a small pool of threads.

NumPy's BLAS already spreads one matrix product over every core. At the course CNN's sizes, though
(a convolution block is a product of a few hundred rows), its threads spend much of their time waiting
for each other: on a 2-core machine one such product on two BLAS threads runs at ~125 GFLOP/s, while
two independent products side by side, on one BLAS thread each, reach ~165. So an op whose work splits
into pieces (the blocks of a convolution, the chunks of a long element-wise pass) hands the pieces to
:func:`run`, which spreads them over a few threads and keeps BLAS to one thread inside each.

Python threads really run side by side here because the work inside them releases the GIL: NumPy's
copies and ufunc loops, BLAS, and minigrad's compiled kernels (numba ``nogil``) all do.

How many threads: ``minigrad.set_num_threads(n)`` / ``minigrad.get_num_threads()`` (torch's names).
They set this pool and NumPy's BLAS together. The default is ``OMP_NUM_THREADS`` when it is set (as
torch does), otherwise the number of cores this process may run on. With one thread every op runs
exactly as it would without this module.

While a parallel region runs, the BLAS libraries of the process are limited to one thread (through
threadpoolctl), then restored. That limit is process-wide: a matrix product that another thread of
the program computes at the same moment also runs on one thread.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

from ...config import config

__all__ = ["get_num_threads", "set_num_threads", "run", "chunks", "MIN_SIZE", "worth_it", "rows"]

# element-wise passes over at least this many elements are cut into chunks for the threads. Handing a
# piece to a sleeping thread and waiting for it costs ~0.1 ms on the development VM: a 1M-element
# multiply (0.2 ms) breaks even, a 2M one gains 30 %, a 4M one 35 %
MIN_SIZE = 1 << 21

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_local = threading.local()  # .inside: this thread is one of the pool's, or runs a region already
_blas = None  # threadpoolctl controller of the process's BLAS libraries; False when there is none
_regions = 0  # parallel regions running now (BLAS is limited while there is one)
_limiter = None


def _default() -> int:
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass  # an OMP_NUM_THREADS like "4,2" (nested levels): fall back to the cores
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def get_num_threads() -> int:
    """The number of threads minigrad's CPU ops use (torch's ``get_num_threads``; ``minigrad.config.num_threads``)."""
    return config.num_threads


def _blas_controller():
    """threadpoolctl's handle on the process's BLAS libraries, or False when it cannot find one."""
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController

            ctl = ThreadpoolController().select(user_api="blas")
            _blas = ctl if len(ctl.lib_controllers) else False
        except ImportError:
            _blas = False
    return _blas


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in minigrad's CPU ops and in NumPy's BLAS (torch's ``set_num_threads``)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    config.num_threads = n


def _apply_num_threads(n: int) -> None:
    """Put a new ``config.num_threads`` into force: a new pool, BLAS limited to ``n``."""
    global _pool
    with _lock:
        if _regions:
            raise RuntimeError("set_num_threads: cannot change the number of threads while an op runs in parallel")
        if _pool is not None:
            _pool.shutdown(wait=True)
            _pool = None
    ctl = _blas_controller()
    if ctl:
        ctl.limit(limits=n)


config.define("num_threads", _default(), _apply_num_threads, apply_initial=False)


def chunks(n_items: int, n_parts: int) -> list:
    """``n_items`` split into at most ``n_parts`` contiguous ``(start, stop)`` ranges of near-equal size."""
    n_parts = max(1, min(n_parts, n_items))
    bounds = [n_items * i // n_parts for i in range(n_parts + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(n_parts)]


def worth_it(size: int, cost: float = 1) -> bool:
    """True when an element-wise pass over ``size`` elements is long enough to split over the threads.

    ``cost``: the work per element relative to an add or a multiply; an ``exp`` or a ``log`` is ~10,
    so a pass of those pays off from a tenth of the size.
    """
    return size * cost >= MIN_SIZE and get_num_threads() > 1


def rows(fn, n: int) -> None:
    """``fn(start, stop)`` for slabs of ``range(n)`` (a leading axis), one slab per thread; no BLAS inside."""
    run(lambda r: fn(*r), chunks(n, get_num_threads()), blas=False)


def _enter(blas: bool):
    global _regions, _limiter
    with _lock:
        _regions += 1
        if blas and _limiter is None and _blas:
            _limiter = _blas.limit(limits=1)


def _leave():
    global _regions, _limiter
    with _lock:
        _regions -= 1
        if _regions == 0 and _limiter is not None:
            _limiter.restore_original_limits()
            _limiter = None


def _after_fork_in_child():
    """A forked child has none of the parent's pool threads: start from scratch (a new pool on first use)."""
    global _lock, _pool, _regions, _limiter
    _lock, _pool, _regions, _limiter = threading.Lock(), None, 0, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _mark_inside():  # the pool's threads only ever run parts
    _local.inside = True


def run(fn, parts, *, blas: bool = True) -> list:
    """``[fn(part) for part in parts]``, the calls spread over :func:`get_num_threads` threads.

    Pass about :func:`get_num_threads` parts: the calling thread computes the first and the pool's
    ``threads - 1`` workers the others. The parts must be independent (no two write the same memory).
    The results come back in the order of ``parts``; an exception in any call is raised here.

    Runs serially when there is one thread or one part, when called from inside another parallel
    region, and, for work that calls BLAS (``blas=True``), when BLAS cannot be limited to one thread
    (threadpoolctl missing or unaware of this BLAS): two threads each running a multi-threaded BLAS
    would fight over the cores.
    """
    parts = list(parts)
    threads = get_num_threads()
    if threads <= 1 or len(parts) <= 1 or getattr(_local, "inside", False) or (blas and not _blas_controller()):
        return [fn(part) for part in parts]
    global _pool
    _enter(blas)
    try:
        with _lock:
            if _pool is None:  # the calling thread works too: the pool adds threads - 1
                _pool = ThreadPoolExecutor(threads - 1, thread_name_prefix="minigrad", initializer=_mark_inside)
            pool = _pool
        futures = [pool.submit(fn, part) for part in parts[1:]]
        _local.inside = True
        try:
            first = fn(parts[0])
        finally:
            _local.inside = False
            wait(futures)  # even when fn raised: no part may outlive the region (and its BLAS limit)
        return [first] + [f.result() for f in futures]
    finally:
        _leave()
