"""The environment of a benchmark run: thread pinning, OpenBLAS overrides, machine and library versions."""

from __future__ import annotations

import os
import platform
import sys

OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_REEXEC_FLAG = "_MINIGRAD_BENCH_REEXEC"

_limits = None  # the threadpoolctl limiter, kept alive for the whole run


def restart_without_openblas_overrides(argv) -> None:
    """Restart this Python process without ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE``.

    OpenBLAS reads them once, when the library loads, so removing them from ``os.environ`` later has
    no effect: the process must start again without them. Must run before numpy is imported.
    Does nothing when neither is set.
    """
    present = {k: os.environ[k] for k in OPENBLAS_VARS if k in os.environ}
    if not present or os.environ.get(_REEXEC_FLAG):
        return
    if "numpy" in sys.modules:
        raise RuntimeError("restart_without_openblas_overrides() must run before numpy is imported")
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_VARS}
    env[_REEXEC_FLAG] = ";".join(f"{k}={v}" for k, v in present.items())
    os.execve(sys.executable, [sys.executable, "-m", "benchmarks", *argv], env)


def removed_openblas_overrides() -> str:
    """The overrides this run removed (``"NAME=value;..."``), or ``""``."""
    return os.environ.get(_REEXEC_FLAG, "")


def pin_threads(n: int) -> dict:
    """Use ``n`` threads everywhere: NumPy's BLAS and any OpenMP pool (threadpoolctl), torch, numba, and
    minigrad's own pool (:mod:`minigrad.compute.fast.parallel`)."""
    global _limits
    import torch
    from threadpoolctl import threadpool_limits

    import minigrad  # noqa: F401  (threadpoolctl only limits libraries already loaded: load everything first)
    import solubility  # noqa: F401  (its metrics pull in scikit-learn and scipy, with their own BLAS)

    _limits = threadpool_limits(limits=n)
    torch.set_num_threads(n)
    minigrad.set_num_threads(n)
    out = {
        "blas/openmp (threadpoolctl)": n,
        "torch.get_num_threads()": torch.get_num_threads(),
        "minigrad.get_num_threads()": minigrad.get_num_threads(),
    }
    try:
        import numba

        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
        out["numba.get_num_threads()"] = numba.get_num_threads()
    except ImportError:
        pass
    return out


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(threads: dict, device: str) -> dict:
    """Everything needed to read the numbers later: machine, load, versions, BLAS kernel, threads."""
    import numpy as np
    import torch
    from threadpoolctl import threadpool_info

    import minigrad
    from minigrad.compute.fast import kernels

    try:
        import numba

        numba_version = numba.__version__
    except ImportError:
        numba_version = "not installed"
    blas = []
    for pool in threadpool_info():
        blas.append(
            {k: pool.get(k) for k in ("user_api", "internal_api", "version", "architecture", "num_threads")}
            | {"library": os.path.basename(pool.get("filepath", ""))}
        )
    info = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "numpy": np.__version__,
        "torch": torch.__version__,
        "numba": numba_version,
        "minigrad": minigrad.__version__,
        "minigrad_kernels": kernels.get_backend(),
        # process-wide glibc malloc settings made on importing minigrad; torch's CPU tensors get them too
        "malloc": (
            f"large blocks kept in the heap (mmap threshold {minigrad._malloc.MMAP_THRESHOLD >> 20} MiB, "
            f"trim threshold {minigrad._malloc.TRIM_THRESHOLD >> 20} MiB), for both libraries"
            if minigrad._malloc.tuned
            else "glibc defaults"
        ),
        "threads": threads,
        "threadpools": blas,
        "openblas_overrides_removed": removed_openblas_overrides() or "none were set",
        "openblas_overrides_present": {k: os.environ[k] for k in OPENBLAS_VARS if k in os.environ},
        "device": device,
    }
    if device == "cuda":
        try:
            info["gpu"] = torch.cuda.get_device_name(0)
        except Exception as exc:  # torch without CUDA
            info["gpu"] = f"torch cannot see a GPU ({exc})"
    return info
