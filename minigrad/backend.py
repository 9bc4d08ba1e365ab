"""Devices and array modules: the one place that knows about NumPy versus CuPy.

Op code never imports numpy or cupy: it calls ``minigrad.compute.B``, whose functions ask
``get_array_module(array)`` for ``numpy`` or ``cupy``, so the same code runs on the CPU and the GPU.
This is the only module that imports cupy. When ``MINIGRAD_FAKE_GPU=1`` is set (tests on
machines without a GPU), the 'cuda' device is served by a strict NumPy-backed stand-in
(:mod:`minigrad._fakegpu`) whose arrays refuse silent conversion to NumPy, as CuPy's do.
"""

from __future__ import annotations

import math
import os

import numpy as np

_gpu_module = None  # cupy, the fake GPU module, or False when neither is available


def gpu_module():
    """The array module that serves 'cuda' devices, or None when there is none."""
    global _gpu_module
    if _gpu_module is None:
        _gpu_module = False
        if os.environ.get("MINIGRAD_FAKE_GPU", "") not in ("", "0"):
            from . import _fakegpu

            _gpu_module = _fakegpu
        else:
            try:
                import cupy

                if cupy.cuda.runtime.getDeviceCount() > 0:
                    _gpu_module = cupy
            except Exception:  # no cupy, no driver, or no device
                _gpu_module = False
    return _gpu_module or None


class Device:
    """A torch-like device: ``Device('cpu')``, ``Device('cuda')``, ``Device('cuda:1')``."""

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index=None):
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        if isinstance(spec, int):
            spec, index = "cuda", spec
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string like 'cpu' or 'cuda:0', got {type(spec).__name__}")
        kind, _, idx = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(f"device: unknown device type {kind!r} in {spec!r}; use 'cpu' or 'cuda[:N]'")
        if idx:
            if not idx.isdigit():
                raise RuntimeError(f"device: invalid device index {idx!r} in {spec!r}")
            index = int(idx)
        self.type = kind
        self.index = (index or 0) if kind == "cuda" else None

    def __eq__(self, other):
        if isinstance(other, str):
            other = Device(other)
        return isinstance(other, Device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"


CPU = Device("cpu")
device = Device


def get_array_module(array):
    """``numpy`` for NumPy arrays (and Python numbers), the GPU module for GPU arrays."""
    if isinstance(array, (np.ndarray, np.generic)):
        return np
    gpu = gpu_module()
    if gpu is not None and isinstance(array, gpu.ndarray):
        return gpu
    return np


def memory_order(array) -> tuple:
    """The axes from the slowest to the fastest in memory (largest stride first): the identity for a
    C-contiguous array, ``(0, 2, 1)`` for a channels-last ``(N, C, L)`` view."""
    return tuple(sorted(range(array.ndim), key=lambda i: -array.strides[i]))


def device_of(array) -> Device:
    if isinstance(array, np.ndarray):
        return CPU
    gpu = gpu_module()
    if gpu is not None and isinstance(array, gpu.ndarray):
        return Device("cuda", int(getattr(getattr(array, "device", None), "id", 0) or 0))
    return CPU


def module_for(dev: Device):
    """The array module that creates arrays on ``dev``."""
    if dev.type == "cpu":
        return np
    gpu = gpu_module()
    if gpu is None:
        raise RuntimeError(
            f"device {dev} requested, but CUDA is not available (install the 'gpu' extra with CuPy on a "
            "machine with an NVIDIA GPU, or set MINIGRAD_FAKE_GPU=1 for the test stand-in)"
        )
    return gpu


def to_device(array, dev: Device):
    """Move an array to ``dev`` (a no-op when it is already there)."""
    src = device_of(array)
    if src == dev:
        return array
    if dev.type == "cpu":
        return gpu_module().asnumpy(array)
    gpu = module_for(dev)
    with gpu.cuda.Device(dev.index):
        if src.type == "cuda":  # GPU to GPU: asarray would return the array where it is; copy() allocates here
            return array.copy()
        return gpu.asarray(array)


def using_device(dev: Device):
    """Context manager that makes ``dev`` current for array creation (a no-op on the CPU)."""
    if dev.type == "cpu":
        return _Null()
    return module_for(dev).cuda.Device(dev.index)


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_cpu_erf = None


def erf(array):
    """The error function, element-wise. NumPy has none: SciPy's is used when installed, else a
    numba ufunc over ``math.erf``; CuPy arrays use ``cupyx.scipy.special.erf``."""
    global _cpu_erf
    xp = get_array_module(array)
    if xp is not np:
        if hasattr(xp, "erf"):  # a GPU stand-in may provide it directly
            return xp.erf(array)
        import cupyx.scipy.special

        return cupyx.scipy.special.erf(array)
    if _cpu_erf is None:
        try:
            from scipy.special import erf as _cpu_erf
        except ImportError:
            _cpu_erf = _numba_erf()
    src = array.astype(np.float32) if array.dtype == np.float16 else array
    return _cpu_erf(src).astype(array.dtype, copy=False)


def _erf_scalar(v):
    return math.erf(v)


def _numba_erf():
    """``math.erf`` compiled by numba into a NumPy ufunc (the fallback when SciPy is missing)."""
    import numba

    return numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)(_erf_scalar)
