"""A strict stand-in for CuPy, so device discipline can be tested on a machine without a GPU.

Set ``MINIGRAD_FAKE_GPU=1`` and :mod:`minigrad.backend` serves the 'cuda' device with this
module instead of CuPy. Its arrays (:class:`ndarray`) hold a NumPy array inside, so every
result is computed by NumPy and matches the CPU bit for bit, but at the *type boundary* they
behave like CuPy's:

* they are a distinct type, and they refuse implicit conversion to NumPy: ``np.asarray(a)``,
  ``np.array(a)`` and anything else that calls ``__array__`` raise ``TypeError``, as CuPy does;
* an operation that mixes a device array with a raw NumPy array (``a + host``, ``xp.add(a, host)``,
  ``a[...] = host``) raises ``TypeError`` instead of silently computing on the host;
* reductions and scalar indexing return 0-d device arrays, not NumPy scalars;
* ``flags`` has only ``c_contiguous``, ``f_contiguous`` and ``owndata`` (CuPy has no
  ``writeable``); ``add.at`` refuses the dtypes CuPy's scatter-add refuses (int64 among them);
* there is no ``errstate`` (CuPy has none; GPU kernels never warn), and NumPy's floating-point
  warnings are silenced inside every call, as on a GPU;
* there are two fake devices, so ``'cuda:1'`` works; arrays remember their device and mixing
  devices in one call raises ``ValueError``.

Moving data is explicit, as with CuPy: ``asarray(host)`` copies to the current device,
``asnumpy(a)`` and ``a.get()`` copy back. ``minigrad.cuda.is_available()`` is True under the
stand-in. Code that wants to know can test ``getattr(xp, "is_fake", False)`` (e.g. to skip a raw
CUDA kernel, which the stand-in cannot run: ``ElementwiseKernel`` and ``RawKernel`` raise).
"""

from __future__ import annotations

import contextlib
import operator
import sys
import threading
import types

import numpy as np

is_fake = True
DEVICE_COUNT = 2

_IMPLICIT_MSG = (
    "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy array explicitly."
)

# --------------------------------------------------------------------------- devices
_local = threading.local()


def _current_id() -> int:
    return getattr(_local, "device", 0)


class Device:
    """``cupy.cuda.Device``: a device id; as a context manager it makes the device current."""

    def __init__(self, device=None):
        if device is None:
            device = _current_id()
        device = int(getattr(device, "id", device))
        if not 0 <= device < DEVICE_COUNT:
            raise RuntimeError(
                f"cudaErrorInvalidDevice: invalid device ordinal {device} (the fake GPU has {DEVICE_COUNT} devices)"
            )
        self.id = device
        self._prev = []

    def __enter__(self):
        self._prev.append(_current_id())
        _local.device = self.id
        return self

    def __exit__(self, *exc):
        _local.device = self._prev.pop()
        return False

    def use(self):
        _local.device = self.id

    def synchronize(self):
        pass

    @property
    def compute_capability(self):
        return "90"

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


class _Runtime:
    @staticmethod
    def getDeviceCount():
        return DEVICE_COUNT

    @staticmethod
    def deviceSynchronize():
        pass

    @staticmethod
    def getDeviceProperties(i):
        Device(i)  # validates the index
        return {"name": b"minigrad fake GPU (NumPy stand-in)", "totalGlobalMem": 0, "major": 9, "minor": 0}

    @staticmethod
    def runtimeGetVersion():
        return 12000


class _MemoryPool:
    def free_all_blocks(self):
        pass

    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0


_pool = _MemoryPool()


def get_default_memory_pool():
    return _pool


def get_default_pinned_memory_pool():
    return _pool


cuda = types.SimpleNamespace(
    Device=Device,
    runtime=_Runtime(),
    is_available=lambda: True,
    get_device_id=_current_id,
    get_current_stream=lambda: None,
)


# --------------------------------------------------------------------------- the array type
class _Flags:
    """CuPy's flags: no ``writeable`` (GPU arrays are always writable)."""

    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, a: np.ndarray):
        self.c_contiguous = bool(a.flags.c_contiguous)
        self.f_contiguous = bool(a.flags.f_contiguous)
        self.owndata = bool(a.flags.owndata)

    def __getitem__(self, name):
        key = {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous", "OWNDATA": "owndata"}.get(name)
        if key is None:
            raise KeyError(f"{name} is not defined for cupy.ndarray.flags")
        return getattr(self, key)


def _mix_error(x) -> TypeError:
    return TypeError(
        f"Unsupported type {type(x)!r}: a host (NumPy) array was mixed with a device array. Move it explicitly "
        "(xp.asarray(host) to the device, or .get()/asnumpy() to the host); minigrad tensors: .to(device)."
    )


def _device_error(a, b) -> ValueError:
    return ValueError(f"Array device must be same: got arrays on device {a} and device {b}")


def _is_scalar(x) -> bool:
    return isinstance(x, (int, float, complex, bool, np.generic))


class ndarray:
    """A device array of the stand-in GPU (wraps a NumPy array that it never hands out implicitly)."""

    __slots__ = ("_a", "_dev")
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        self._a = np.zeros(shape, dtype=dtype, order=order)
        self._dev = _current_id()

    # ---- conversion guards
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_IMPLICIT_MSG)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """``np.exp(a)`` on device arrays runs "on the device" (as CuPy allows); host arrays mixed in raise."""
        return _call(getattr(ufunc, method), inputs, kwargs)

    def __array_function__(self, func, types_, args, kwargs):
        return _call(func, args, kwargs)

    @property
    def __cuda_array_interface__(self):
        """CuPy's description of the memory (shape, type, address of the first element, strides)."""
        host = self._a.__array_interface__
        return {
            "shape": host["shape"],
            "typestr": host["typestr"],
            "data": host["data"],
            "strides": host["strides"],
            "version": 3,
        }

    def get(self, stream=None, order="C", out=None, blocking=True):
        """Copy to the host (the explicit way out, as in CuPy)."""
        host = self._a.copy(order=order if order != "A" else "K")
        if out is not None:
            out[...] = host
            return out
        return host

    def set(self, arr, stream=None):
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"set: expected a numpy.ndarray, got {type(arr).__name__}")
        self._a[...] = arr

    # ---- attributes
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    flags = property(lambda self: _Flags(self._a))
    device = property(lambda self: Device(self._dev))
    T = property(lambda self: _new(self._a.T, self._dev))
    mT = property(lambda self: _new(np.swapaxes(self._a, -1, -2), self._dev))
    real = property(lambda self: _new(self._a.real, self._dev))
    imag = property(lambda self: _new(self._a.imag, self._dev))

    @property
    def base(self):
        return None if self._a.base is None else _new(self._a.base, self._dev)

    # ---- host values (explicit synchronisation, allowed by CuPy)
    def item(self, *args):
        return self._a.item(*args)

    def tolist(self):
        return self._a.tolist()

    def __bool__(self):
        return bool(self._a)

    def __int__(self):
        return int(self._a)

    def __float__(self):
        return float(self._a)

    def __complex__(self):
        return complex(self._a)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self._a.shape[0]))

    def __repr__(self):
        return repr(self._a)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        return format(self._a, spec) if self._a.ndim == 0 else format(str(self), spec)

    def copy(self, order="C"):
        """A copy on the *current* device (CuPy's rule, even when this array lives on another one)."""
        return _new(self._a.copy(order=order), _current_id())

    def __copy__(self):
        return _new(self._a.copy(), self._dev)

    def __deepcopy__(self, memo):
        return _new(self._a.copy(), self._dev)

    def __reduce__(self):
        return (_from_host, (self._a.copy(), self._dev))

    # ---- indexing
    def __getitem__(self, key):
        return _wrap(self._a[_index(key, self._dev)], self._dev)

    def __setitem__(self, key, value):
        with _quiet():
            self._a[_index(key, self._dev)] = _operand(value, self._dev, strict=True)

    def __dlpack__(self, *args, **kwargs):
        raise TypeError("the fake GPU does not export DLPack capsules")


def _new(a: np.ndarray, dev: int) -> ndarray:
    out = object.__new__(ndarray)
    out._a = a
    out._dev = dev
    return out


def _from_host(a, dev):
    return _new(a, dev)


def _wrap(x, dev):
    """NumPy results -> device arrays (NumPy scalars become 0-d arrays, as CuPy returns)."""
    if isinstance(x, np.ndarray):
        return _new(x, dev)
    if isinstance(x, np.generic):
        return _new(np.asarray(x), dev)
    if isinstance(x, tuple):
        return tuple(_wrap(v, dev) for v in x)
    if isinstance(x, list):
        return [_wrap(v, dev) for v in x]
    return x


def _operand(x, dev, strict=False):
    """A raw NumPy array for a device array on ``dev``; scalars pass; host arrays raise."""
    if isinstance(x, ndarray):
        if x._dev != dev:
            raise _device_error(x._dev, dev)
        return x._a
    if isinstance(x, np.ndarray):
        raise _mix_error(x)
    if _is_scalar(x):
        return x
    if strict:
        raise TypeError(f"Unsupported type {type(x)!r} for a device array operation")
    return NotImplemented


def _index(key, dev):
    """Index keys may hold device arrays, ints, slices, lists and (like CuPy) host index arrays."""
    if isinstance(key, tuple):
        return tuple(_index(k, dev) for k in key)
    if isinstance(key, ndarray):
        if key._dev != dev:
            raise _device_error(key._dev, dev)
        return key._a
    return key


@contextlib.contextmanager
def _quiet():
    # GPU kernels do not raise floating-point warnings; neither does the stand-in
    with np.errstate(all="ignore"):
        yield


# ---- operators
def _binary(op, reflected=False):
    def method(self, other):
        o = _operand(other, self._dev)
        if o is NotImplemented:
            return NotImplemented
        with _quiet():
            r = op(o, self._a) if reflected else op(self._a, o)
        return _wrap(r, self._dev)

    return method


def _inplace(op):
    def method(self, other):
        o = _operand(other, self._dev)
        if o is NotImplemented:
            return NotImplemented
        with _quiet():
            op(self._a, o)
        return self

    return method


def _unary(op):
    def method(self):
        with _quiet():
            return _wrap(op(self._a), self._dev)

    return method


for _name, _op in [
    ("add", operator.add),
    ("sub", operator.sub),
    ("mul", operator.mul),
    ("truediv", operator.truediv),
    ("floordiv", operator.floordiv),
    ("mod", operator.mod),
    ("pow", operator.pow),
    ("matmul", operator.matmul),
    ("and", operator.and_),
    ("or", operator.or_),
    ("xor", operator.xor),
    ("lshift", operator.lshift),
    ("rshift", operator.rshift),
    ("divmod", divmod),
]:
    setattr(ndarray, f"__{_name}__", _binary(_op))
    setattr(ndarray, f"__r{_name}__", _binary(_op, reflected=True))
for _name, _op in [
    ("add", operator.iadd),
    ("sub", operator.isub),
    ("mul", operator.imul),
    ("truediv", operator.itruediv),
    ("floordiv", operator.ifloordiv),
    ("mod", operator.imod),
    ("pow", operator.ipow),
    ("and", operator.iand),
    ("or", operator.ior),
    ("xor", operator.ixor),
    ("lshift", operator.ilshift),
    ("rshift", operator.irshift),
]:
    setattr(ndarray, f"__i{_name}__", _inplace(_op))
for _name, _op in [
    ("eq", operator.eq),
    ("ne", operator.ne),
    ("lt", operator.lt),
    ("le", operator.le),
    ("gt", operator.gt),
    ("ge", operator.ge),
]:
    setattr(ndarray, f"__{_name}__", _binary(_op))
for _name, _op in [("neg", operator.neg), ("pos", operator.pos), ("abs", operator.abs), ("invert", operator.invert)]:
    setattr(ndarray, f"__{_name}__", _unary(_op))


# ---- methods: the ones CuPy's ndarray has, computed by NumPy
def _method(name):
    def method(self, *args, **kwargs):
        args = tuple(_operand_any(a, self._dev) for a in args)
        kwargs = {k: _operand_any(v, self._dev) for k, v in kwargs.items()}
        with _quiet():
            r = getattr(self._a, name)(*args, **kwargs)
        if name in ("fill", "sort", "put", "partition"):
            return None
        return _wrap(r, self._dev)

    method.__name__ = name
    return method


_METHODS = """all any argmax argmin argpartition argsort astype choose clip compress conj conjugate cumprod cumsum
diagonal dot fill flatten max mean min nonzero partition prod put ravel repeat reshape round sort squeeze std sum
swapaxes take tobytes trace transpose var view""".split()
for _name in _METHODS:
    setattr(ndarray, _name, _method(_name))


def _operand_any(x, dev):
    """Arguments of methods/functions: device arrays unwrap, host arrays raise, the rest passes."""
    if isinstance(x, ndarray):
        if dev is not None and x._dev != dev:
            raise _device_error(x._dev, dev)
        return x._a
    if isinstance(x, np.ndarray):
        raise _mix_error(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_operand_any(v, dev) for v in x)
    return x


def _devices(obj, found):
    if isinstance(obj, ndarray):
        found.add(obj._dev)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _devices(v, found)
    elif isinstance(obj, dict):
        for v in obj.values():
            _devices(v, found)


def _call(fn, args, kwargs):
    """Run a NumPy function on device arrays: unwrap (refusing host arrays), call, wrap the result."""
    found = set()
    _devices(args, found)
    _devices(kwargs, found)
    if len(found) > 1:
        a, b = sorted(found)[:2]
        raise _device_error(a, b)
    dev = found.pop() if found else _current_id()
    args = tuple(_operand_any(a, dev) for a in args)
    kwargs = {k: _operand_any(v, dev) for k, v in kwargs.items()}
    with _quiet():
        return _wrap(fn(*args, **kwargs), dev)


def _function(fn, name=None):
    def wrapper(*args, **kwargs):
        return _call(fn, args, kwargs)

    wrapper.__name__ = name or getattr(fn, "__name__", "function")
    wrapper.__doc__ = f"Device version of numpy.{wrapper.__name__} (computed by NumPy on the wrapped arrays)."
    return wrapper


class ufunc:
    """A NumPy ufunc over device arrays, with ``reduce``, ``accumulate``, ``outer``, ``reduceat`` and ``at``."""

    # CuPy's scatter kernels (behind ufunc.at) only support these dtypes
    _AT_DTYPES = {
        "add": {"float16", "float32", "float64", "int32", "uint32", "uint64"},
        "subtract": {"float16", "float32", "float64", "int32", "uint32", "uint64"},
        "maximum": {"float32", "float64", "int32", "uint32", "uint64"},
        "minimum": {"float32", "float64", "int32", "uint32", "uint64"},
    }

    def __init__(self, uf: np.ufunc):
        self._uf = uf
        self.__name__ = uf.__name__
        self.nin, self.nout, self.nargs = uf.nin, uf.nout, uf.nargs

    def __call__(self, *args, **kwargs):
        return _call(self._uf, args, kwargs)

    def reduce(self, *args, **kwargs):
        return _call(self._uf.reduce, args, kwargs)

    def accumulate(self, *args, **kwargs):
        return _call(self._uf.accumulate, args, kwargs)

    def reduceat(self, *args, **kwargs):
        return _call(self._uf.reduceat, args, kwargs)

    def outer(self, *args, **kwargs):
        return _call(self._uf.outer, args, kwargs)

    def at(self, a, indices, b=None):
        if not isinstance(a, ndarray):
            raise TypeError(f"{self.__name__}.at: the target must be a device array, got {type(a).__name__}")
        allowed = self._AT_DTYPES.get(self.__name__)
        if allowed is not None and a.dtype.name not in allowed:
            raise TypeError(
                f"{self.__name__}.at (scatter) does not support dtype {a.dtype.name} on the GPU; "
                f"supported: {', '.join(sorted(allowed))}"
            )
        idx = _index(indices, a._dev)
        with _quiet():
            if b is None:
                self._uf.at(a._a, idx)
            else:
                self._uf.at(a._a, idx, _operand(b, a._dev, strict=True))

    def __repr__(self):
        return f"<fake-GPU ufunc '{self.__name__}'>"


# --------------------------------------------------------------------------- module-level functions
def get_array_module(*args):
    for a in args:
        if isinstance(a, ndarray):
            return sys.modules[__name__]
    return np


def asarray(a, dtype=None, order=None, *, blocking=False):
    """Device array from ``a``: device arrays pass through (cast if asked); host data is copied over."""
    if isinstance(a, ndarray):
        return a if dtype is None or a.dtype == np.dtype(dtype) else a.astype(dtype)
    return _new(np.array(a, dtype=dtype, order=order or "K", copy=True), _current_id())


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if isinstance(obj, ndarray):
        if obj._dev != _current_id() or copy:
            return _new(np.array(obj._a, dtype=dtype, copy=True, order=order, ndmin=ndmin), _current_id())
        return asarray(obj, dtype)
    if isinstance(obj, (list, tuple)) and any(isinstance(v, ndarray) for v in obj):
        out = _call(np.stack, ([asarray(v) for v in obj],), {})
        return out if dtype is None else out.astype(dtype)
    return _new(np.array(obj, dtype=dtype, copy=True, order=order, ndmin=ndmin), _current_id())


def ascontiguousarray(a, dtype=None):
    if not isinstance(a, ndarray):
        raise (
            _mix_error(a)
            if isinstance(a, np.ndarray)
            else TypeError(f"ascontiguousarray: expected a device array, got {type(a).__name__}")
        )
    return _new(np.ascontiguousarray(a._a, dtype=dtype), a._dev)


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    """Copy a device array to the host (host arrays and scalars come back as NumPy arrays)."""
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    return np.asarray(a, order=order)


def fuse(*args, **kwargs):
    """``cupy.fuse`` compiles a Python function into one kernel; here the function runs as it is."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda fn: fn


def _no_kernels(*args, **kwargs):
    raise NotImplementedError(
        "the fake GPU cannot compile CUDA source (ElementwiseKernel/ReductionKernel/RawKernel); give the kernel a "
        "NumPy-shaped fallback used when getattr(xp, 'is_fake', False)"
    )


ElementwiseKernel = ReductionKernel = RawKernel = RawModule = _no_kernels


def erf(x):
    """The error function (``cupyx.scipy.special.erf`` on a real GPU), here through the CPU implementation."""
    from . import backend

    if not isinstance(x, ndarray):
        raise _mix_error(x) if isinstance(x, np.ndarray) else TypeError("erf: expected a device array")
    with _quiet():
        return _new(backend.erf(x._a), x._dev)


class _Namespace:
    """A NumPy submodule (``linalg``, ``random``, ``fft``) whose functions take and return device arrays."""

    def __init__(self, module, names=None):
        self._module, self._names = module, names

    def __getattr__(self, name):
        if self._names is not None and name not in self._names:
            raise AttributeError(f"fake GPU: {self._module.__name__}.{name} is not provided")
        obj = getattr(self._module, name)
        if callable(obj) and not isinstance(obj, type):
            obj = _function(obj, name)
        setattr(self, name, obj)
        return obj


linalg = _Namespace(np.linalg)
fft = _Namespace(np.fft)
random = _Namespace(
    np.random,
    {
        "seed",
        "rand",
        "randn",
        "random",
        "random_sample",
        "uniform",
        "normal",
        "standard_normal",
        "randint",
        "permutation",
        "shuffle",
        "choice",
        "binomial",
    },
)
lib = types.SimpleNamespace(
    stride_tricks=types.SimpleNamespace(
        as_strided=lambda x, shape=None, strides=None: _new(
            np.lib.stride_tricks.as_strided(_operand(x, x._dev, strict=True), shape, strides), x._dev
        ),
        sliding_window_view=_function(np.lib.stride_tricks.sliding_window_view, "sliding_window_view"),
    )
)

# names NumPy has but CuPy does not: using them would break on a real GPU, so the stand-in refuses them too
_NOT_IN_CUPY = {
    "errstate",
    "seterr",
    "geterr",
    "asmatrix",
    "matrix",
    "memmap",
    "recarray",
    "char",
    "rec",
    "ma",
    "frompyfunc",
    "vectorize",
    "save",
    "savez",
    "load",
    "fromfile",
    "loadtxt",
    "genfromtxt",
}


def __getattr__(name):
    """Everything else mirrors NumPy: ufuncs and functions wrapped for device arrays, types and constants as is."""
    if name.startswith("__") or name in _NOT_IN_CUPY:
        raise AttributeError(
            f"module 'cupy' (fake GPU stand-in) has no attribute {name!r}"
            + (" (CuPy has no such function)" if name in _NOT_IN_CUPY else "")
        )
    try:
        obj = getattr(np, name)
    except AttributeError:
        raise AttributeError(f"module 'cupy' (fake GPU stand-in) has no attribute {name!r}") from None
    if isinstance(obj, np.ufunc):
        obj = ufunc(obj)
    elif isinstance(obj, types.ModuleType):
        obj = _Namespace(obj)
    elif callable(obj) and not isinstance(obj, type):
        obj = _function(obj, name)
    globals()[name] = obj  # cache
    return obj
