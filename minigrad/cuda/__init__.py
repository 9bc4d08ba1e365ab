"""``minigrad.cuda``: torch.cuda's device queries, backed by CuPy (or the fake GPU stand-in).

CuPy is optional: without it (or without an NVIDIA driver and device) ``is_available()`` is
False, ``device_count()`` is 0, and asking for a 'cuda' tensor raises a clear error. With
``MINIGRAD_FAKE_GPU=1`` the NumPy-backed stand-in (:mod:`minigrad._fakegpu`, two devices)
counts as available, so device code can be tested on any machine.

Random numbers: minigrad draws every random tensor on the host from the generator that
:func:`minigrad.manual_seed` seeds, then moves it, so a seed gives the same values on the CPU
and on the GPU. :func:`manual_seed` and :func:`manual_seed_all` here only seed CuPy's own
generator (which minigrad does not use); they exist so torch code runs unchanged.
"""

from __future__ import annotations

from .. import backend
from .._legacy import CUDA_TYPES as _TYPED_TENSORS
from . import amp  # noqa: F401

globals().update(_TYPED_TENSORS)  # minigrad.cuda.FloatTensor, ... (old spellings tutorials use)


def _gpu():
    return backend.gpu_module()


def is_available() -> bool:
    """True when a CUDA device can be used (CuPy with a device, or the fake GPU stand-in)."""
    return _gpu() is not None


def device_count() -> int:
    gpu = _gpu()
    return 0 if gpu is None else int(gpu.cuda.runtime.getDeviceCount())


def _require(what: str):
    gpu = _gpu()
    if gpu is None:
        raise RuntimeError(
            f"minigrad.cuda.{what}: CUDA is not available (install the 'gpu' extra, cupy-cuda12x or cupy-cuda13x, "
            "on a machine with an NVIDIA GPU; or set MINIGRAD_FAKE_GPU=1 for the test stand-in)"
        )
    return gpu


def _index(device) -> int:
    if device is None:
        return current_device()
    if isinstance(device, int):
        return device
    dev = backend.Device(device)
    if dev.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {dev}")
    return dev.index


def current_device() -> int:
    """The index of the device new 'cuda' arrays go to when no index is given."""
    return int(_require("current_device").cuda.Device().id)


def set_device(device) -> None:
    """Make ``device`` (an index, 'cuda:N' or a device) current."""
    gpu = _require("set_device")
    idx = _index(device)
    if idx < 0:  # torch ignores negative indices
        return
    gpu.cuda.Device(idx).use()


class device:
    """Context manager that makes a device current, like ``torch.cuda.device``."""

    def __init__(self, device):
        self.idx = _index(device) if device is not None else -1
        self._ctx = None

    def __enter__(self):
        if self.idx >= 0:
            self._ctx = _require("device").cuda.Device(self.idx)
            self._ctx.__enter__()
        return self

    def __exit__(self, *exc):
        if self._ctx is not None:
            self._ctx.__exit__(*exc)
        return False


def get_device_name(device=None) -> str:
    gpu = _require("get_device_name")
    name = gpu.cuda.runtime.getDeviceProperties(_index(device))["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def synchronize(device=None) -> None:
    """Wait until every kernel queued on ``device`` has finished (do this before timing GPU code)."""
    gpu = _require("synchronize")
    with gpu.cuda.Device(_index(device)) as d:
        d.synchronize()


def empty_cache() -> None:
    """Give the memory CuPy's pool holds but does not use back to the driver (a no-op without CUDA)."""
    gpu = _gpu()
    if gpu is not None:
        gpu.get_default_memory_pool().free_all_blocks()
        gpu.get_default_pinned_memory_pool().free_all_blocks()


def memory_allocated(device=None) -> int:
    """Bytes in use in CuPy's memory pool (all devices share the count here)."""
    gpu = _gpu()
    return 0 if gpu is None else int(gpu.get_default_memory_pool().used_bytes())


def memory_reserved(device=None) -> int:
    gpu = _gpu()
    return 0 if gpu is None else int(gpu.get_default_memory_pool().total_bytes())


def max_memory_allocated(device=None) -> int:
    """The most bytes CuPy's pool has held (its total size: CuPy keeps freed blocks for reuse)."""
    return memory_reserved(device)


def reset_peak_memory_stats(device=None) -> None:
    """Accepted for torch compatibility (CuPy keeps no peak statistics)."""


def is_bf16_supported() -> bool:
    """False: minigrad has no bfloat16 dtype (NumPy has none)."""
    return False


def manual_seed(seed: int) -> None:
    """Seed CuPy's generator on the current device. minigrad's own random tensors use
    :func:`minigrad.manual_seed` (they are drawn on the host); nothing happens without CUDA, as in torch."""
    gpu = _gpu()
    if gpu is not None:
        gpu.random.seed(int(seed) % 2**32)


def manual_seed_all(seed: int) -> None:
    """Seed CuPy's generator on every device (see :func:`manual_seed`)."""
    gpu = _gpu()
    if gpu is None:
        return
    for i in range(device_count()):
        with gpu.cuda.Device(i):
            gpu.random.seed(int(seed) % 2**32)


def seed_all() -> None:
    gpu = _gpu()
    if gpu is not None:
        gpu.random.seed()


def is_initialized() -> bool:
    return is_available()


__all__ = [
    "is_available",
    "device_count",
    "current_device",
    "set_device",
    "device",
    "get_device_name",
    "synchronize",
    "empty_cache",
    "memory_allocated",
    "memory_reserved",
    "max_memory_allocated",
    "reset_peak_memory_stats",
    "is_bf16_supported",
    "manual_seed",
    "manual_seed_all",
    "seed_all",
    "is_initialized",
    "amp",
]
