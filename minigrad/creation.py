"""Tensor creation: ``tensor``, ``zeros``, ``ones``, ``arange``, ``randn``, ... with torch's dtype inference."""

from __future__ import annotations

import builtins
import numbers

import numpy as np

from . import backend
from . import dtypes as _dt
from .config import config
from .random import rng
from .tensor import Tensor


def _checked_device(value) -> str:
    return str(backend.Device(value))  # raises, naming the value, for a device minigrad does not know


config.define("default_device", "cpu", check=_checked_device)


def set_default_device(device) -> None:
    """The device creation functions use when none is given (torch's ``set_default_device``)."""
    config.default_device = "cpu" if device is None else device


def get_default_device() -> backend.Device:
    return backend.Device(config.default_device)


def _device(device) -> backend.Device:
    if device is not None:
        return backend.Device(device)
    default = config.default_device
    return backend.CPU if default == "cpu" else backend.Device(default)


def _finish(arr, dtype, device, requires_grad) -> Tensor:
    """Move a host array to ``device`` and wrap it; checks requires_grad like torch."""
    if dtype is not None:
        with np.errstate(over="ignore"):  # float16(1e300) is inf, as in torch
            arr = arr.astype(_dt.as_dtype(dtype).np, copy=False)
    dev = _device(device)
    if dev.type != "cpu":
        arr = backend.to_device(arr, dev)
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _size(size) -> tuple:
    """zeros(2, 3), zeros((2, 3)), zeros([2, 3]) and zeros(Size) all mean shape (2, 3)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.item()
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"size must be a sequence of ints, got {type(s).__name__} in {tuple(size)!r}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(int(s))
    return tuple(out)


def _infer_host_array(data, dtype=None) -> np.ndarray:
    """A NumPy array holding ``data``, with torch's dtype inference for Python values.

    With a requested ``dtype`` the values are kept at full precision (Python floats as float64,
    ints as int64) so that the caller converts them once, straight to that dtype: going through
    the default float32 first would turn 0.1 into 0.10000000149 and 1e300 into inf.
    """
    if isinstance(data, Tensor):
        return backend.to_device(data.array, backend.CPU)
    if isinstance(data, (np.ndarray, np.generic)):
        _dt.from_numpy_dtype(data.dtype)  # reject unsupported dtypes with a clear message
        return np.array(data)
    if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in _flat(data)):
        data = _detensor(data)
    try:
        arr = np.array(data)
    except ValueError as e:
        raise ValueError(f"tensor(): could not build a tensor from ragged nested sequences ({e})") from None
    kind = arr.dtype.kind
    if kind in "uO" and builtins.any(_too_big_int(x) for x in _flat([data])):
        if dtype is None or _dt.as_dtype(dtype).np.kind != "f":
            raise ValueError("tensor(): a Python int does not fit in int64 (Overflow when unpacking long long)")
        arr, kind = arr.astype(np.float64), "f"  # a float type was asked for: torch converts it
    if arr.size == 0 and kind in "fO":
        return arr.astype(_dt.get_default_dtype().np)
    if kind not in "fiub":
        raise TypeError(
            f"tensor(): could not infer a dtype for data of type {type(data).__name__} (numpy kind {kind!r})"
        )
    if dtype is not None:
        _check_fits(arr, _dt.as_dtype(dtype))
        return arr
    if kind == "b":
        return arr
    with np.errstate(over="ignore"):  # 1e300 in float32 is inf, as in torch
        return arr.astype(_sequence_dtype(data).np)


def _too_big_int(x) -> bool:
    """A Python int beyond int64 (NumPy would store it as uint64 or object; torch refuses it)."""
    return isinstance(x, int) and not isinstance(x, bool) and not -(2**63) <= x < 2**63


def _check_fits(arr: np.ndarray, target: _dt.dtype) -> None:
    """torch refuses Python numbers that overflow a requested integer type; NumPy would wrap them."""
    if target.np.kind not in "iu" or arr.dtype.kind not in "fiu" or arr.size == 0:
        return
    info = np.iinfo(target.np)
    lo, hi = arr.min(), arr.max()
    if target.np.kind == "u" and arr.dtype.kind != "f":
        lo = 0  # torch wraps negative Python ints into unsigned types (-1 -> 255)
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo <= info.min - 1 or hi >= info.max + 1:
        raise RuntimeError(f"value cannot be converted to type {target.np.name} without overflow")


def _sequence_dtype(data) -> _dt.dtype:
    """torch's inferred dtype for nested Python/NumPy scalars: NumPy scalars keep their own type,
    Python floats count as the default float and ints as int64; the highest category wins."""
    elements = _flat(data) if isinstance(data, (list, tuple)) else (data,)
    result = None
    # a few kinds, however long the list: NumPy values (scalars, arrays from tensors) by dtype, others by type
    kinds = {getattr(x, "dtype", None) or type(x) for x in elements}
    for kind in kinds:
        d = _dt.from_numpy_dtype(kind) if isinstance(kind, np.dtype) else _dt.scalar_dtype(kind())
        result = d if result is None else _dt.promote_types(result, d)
    return result


def _flat(seq):
    for s in seq:
        if isinstance(s, (list, tuple)):
            yield from _flat(s)
        else:
            yield s


def _detensor(seq):
    if isinstance(seq, (list, tuple)):
        return [_detensor(s) for s in seq]
    if isinstance(seq, Tensor):
        return backend.to_device(seq.array, backend.CPU)
    return seq


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """A new tensor copying ``data`` (floats -> float32, ints -> int64, bools -> bool, NumPy keeps its dtype)."""
    if device is None and isinstance(data, Tensor):
        device = data.device
    return _finish(_infer_host_array(data, dtype), dtype, device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor` but shares memory with a NumPy array or tensor when it can."""
    if isinstance(data, Tensor):
        out = data
        if dtype is not None or device is not None:
            out = data.to(dtype=dtype, device=device)
        return out
    if isinstance(data, np.ndarray) and device is None and (dtype is None or _dt.as_dtype(dtype).np == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """Wrap a NumPy array without copying; its dtype is kept."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(array).__name__})")
    _dt.from_numpy_dtype(array.dtype)
    return Tensor._make(array)


def _float(dtype):
    return _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()


def _create(fill, size, dtype, device, requires_grad):
    dev = _device(device)
    xp = backend.module_for(dev)
    with backend.using_device(dev):
        arr = fill(xp, _size(size), _float(dtype).np)
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None) -> Tensor:
    return _create(lambda xp, s, d: xp.zeros(s, d), size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _create(lambda xp, s, d: xp.ones(s, d), size, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    # zero-filled rather than uninitialised: reproducible, and the cost is negligible here
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    if dtype is None:
        dtype = _dt.scalar_dtype(fill_value.item() if isinstance(fill_value, Tensor) else fill_value)
    value = fill_value.item() if isinstance(fill_value, Tensor) else fill_value
    return _create(lambda xp, s, d: xp.full(s, value, d), (tuple(_size((size,))),), dtype, device, requires_grad)


def _like(x: Tensor, dtype, device):
    return (x.shape, dtype or x.dtype, device or x.device)


def zeros_like(input: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    s, d, dev = _like(input, dtype, device)
    return zeros(s, dtype=d, device=dev, requires_grad=requires_grad)


def ones_like(input: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    s, d, dev = _like(input, dtype, device)
    return ones(s, dtype=d, device=dev, requires_grad=requires_grad)


def empty_like(input: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    return zeros_like(input, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    s, d, dev = _like(input, dtype, device)
    return full(s, fill_value, dtype=d, device=dev, requires_grad=requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform samples on [0, 1)."""
    dt = _float(dtype)
    arr = rng(generator).random(_size(size), dtype=np.float64).astype(dt.np)
    return _finish(arr, None, device, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal samples."""
    dt = _float(dtype)
    arr = rng(generator).standard_normal(_size(size), dtype=np.float64).astype(dt.np)
    return _finish(arr, None, device, requires_grad)


def rand_like(input: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    s, d, dev = _like(input, dtype, device)
    return rand(s, dtype=d, device=dev, requires_grad=requires_grad)


def randn_like(input: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    s, d, dev = _like(input, dtype, device)
    return randn(s, dtype=d, device=dev, requires_grad=requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None) -> Tensor:
    """Integers drawn uniformly from [low, high); ``randint(high, size)`` starts at 0, like torch."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint: missing the 'size' argument, e.g. randint(0, 10, (3,))")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if high <= low:
        raise RuntimeError(f"randint: expected low < high, got low={low}, high={high}")
    arr = rng(generator).integers(low, high, _size((size,)), dtype=np.int64)
    return _finish(arr, dtype, device, False)


def randperm(n: int, *, generator=None, dtype=None, device=None) -> Tensor:
    return _finish(rng(generator).permutation(int(n)).astype(np.int64), dtype, device, False)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None) -> Tensor:
    m = mean.array if isinstance(mean, Tensor) else mean
    s = std.array if isinstance(std, Tensor) else std
    shape = _size((size,)) if size is not None else np.broadcast_shapes(np.shape(m), np.shape(s))
    arr = rng(generator).normal(m, s, shape).astype(_float(dtype).np)
    return _finish(arr, None, device, False)


def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    probs = backend.to_device(input.array, backend.CPU) if p is None else np.full(input.shape, p)
    arr = (rng(generator).random(input.shape) < probs).astype(input.array.dtype)
    return _finish(arr, None, input.device, False)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive): int64 for integer arguments, else the default float."""
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in vals)
        dtype = _dt.int64 if is_int else _dt.get_default_dtype()
    dtype = _dt.as_dtype(dtype)
    if dtype.is_floating_point:
        # count like torch: ceil((end - start) / step), computed in double precision
        n = int(np.ceil((vals[1] - vals[0]) / vals[2]))
        arr = (vals[0] + np.arange(max(n, 0), dtype=np.float64) * vals[2]).astype(dtype.np)
    else:
        arr = np.arange(*vals, dtype=np.int64).astype(dtype.np)
    return _finish(arr, None, device, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    if not isinstance(steps, numbers.Integral) or steps < 0:
        raise RuntimeError(f"linspace: number of steps must be a non-negative integer, got {steps!r}")
    arr = np.linspace(float(start), float(end), int(steps), dtype=np.float64).astype(_float(dtype).np)
    return _finish(arr, None, device, requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None) -> Tensor:
    arr = np.power(float(base), np.linspace(float(start), float(end), int(steps)))
    return _finish(arr.astype(_float(dtype).np), None, device, False)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _finish(np.eye(n, m, dtype=_float(dtype).np), None, device, requires_grad)


# ------------------------------------------------------------------ Tensor's own constructors
def _tensor_init(self, *data, dtype=None, device=None, requires_grad=False):
    """``Tensor(data)`` or ``Tensor(*sizes)``, torch's legacy constructor: the default float dtype."""
    dtype = dtype or _dt.get_default_dtype()
    if data and all(isinstance(d, int) and not isinstance(d, bool) for d in data):
        t = zeros(*data, dtype=dtype, device=device)  # Tensor(2, 3): a new (2, 3) tensor
    else:
        t = tensor(data[0] if data else [], dtype=dtype, device=device)
    self.array, self.grad, self.grad_fn = t.array, None, None
    self.requires_grad, self._hooks, self._vc, self._view, self._views = bool(requires_grad), None, None, None, None


def _new(make, name=None):
    def method(self, *args, dtype=None, device=None, requires_grad=False, **kwargs):
        return make(
            *args, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad, **kwargs
        )

    method.__name__ = method.__qualname__ = f"new_{name or make.__name__}"
    method.__doc__ = f"``minigrad.{make.__name__}(...)`` with this tensor's dtype and device unless given."
    return method


Tensor.__init__ = _tensor_init
Tensor.new_tensor = _new(tensor)
Tensor.new_zeros, Tensor.new_ones, Tensor.new_full = _new(zeros), _new(ones), _new(full)
Tensor.new_empty = _new(zeros, "empty")  # an "uninitialized" tensor: zeros are one valid content

__all__ = [
    "set_default_device",
    "get_default_device",
    "tensor",
    "as_tensor",
    "from_numpy",
    "zeros",
    "ones",
    "empty",
    "full",
    "zeros_like",
    "ones_like",
    "empty_like",
    "full_like",
    "rand",
    "randn",
    "rand_like",
    "randn_like",
    "randint",
    "randperm",
    "normal",
    "bernoulli",
    "arange",
    "linspace",
    "logspace",
    "eye",
]
