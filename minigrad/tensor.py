"""The Tensor: an array, plus what autograd needs (``requires_grad``, ``grad``, ``grad_fn``).

``Tensor.array`` is the raw NumPy (CPU) or CuPy (GPU) array. Every operation lives in
:mod:`minigrad.ops` as an :class:`~minigrad.autograd.graph.Op`; the methods below only
delegate to those functions, so ``x.exp()`` and ``minigrad.exp(x)`` are the same call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend
from . import dtypes as _dt
from .autograd import graph as _graph
from .autograd.grad_mode import is_grad_enabled


class Size(tuple):
    """The shape of a tensor: a tuple that prints like torch's ``Size``."""

    def __repr__(self):
        return f"minigrad.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


class Tensor:
    """An N-dimensional array that can record the operations applied to it.

    This class holds what a tensor *is* (an array, ``requires_grad``, ``grad``, ``grad_fn``, versions and
    hooks). What a tensor can *compute* (``x.sum()``, ``x + y``, ``x.to(...)``) is attached by the
    declaration of each op (minigrad/ops/registry.py), so this module imports nothing from the ops.
    """

    if TYPE_CHECKING:  # for type checkers only: those attached methods exist at run time

        def __getattr__(self, name: str) -> Any: ...

        def __getitem__(self, index) -> Tensor: ...

    # _vc: the version counter, a one-element list shared with every view of the same memory (None until
    # first needed: version 0); _view: (root, view ops) when this tensor views another's memory; _views:
    # weak references to the live views of this root (see minigrad.ops.inplace)
    __slots__ = ("array", "requires_grad", "grad", "grad_fn", "_hooks", "_vc", "_view", "_views", "__weakref__")
    array: Any  # a NumPy or CuPy array
    requires_grad: bool
    grad: Tensor | None
    grad_fn: Any  # the Op that made this tensor, None for a leaf
    _hooks: list | None
    _vc: list | None
    _view: tuple | None
    _views: list | None
    __array_priority__ = 1000  # numpy scalars defer to our reflected operators

    # Tensor(data) and the new_* constructors are defined in creation.py, beside every other way to make
    # a tensor (this module is the ground floor: it imports neither creation nor ops)

    @classmethod
    def _make(cls, array, requires_grad=False, grad_fn=None):
        """Fast internal constructor around an existing array (no copy, no checks)."""
        if isinstance(array, np.generic):
            array = np.asarray(array)
        t = object.__new__(cls)
        t.array = array
        t.requires_grad = requires_grad
        t.grad = None
        t.grad_fn = grad_fn
        t._hooks = None
        t._vc = t._view = t._views = None
        return t

    # ----------------------------------------------------------------- attributes
    @property
    def shape(self) -> Size:
        return Size(self.array.shape)

    @property
    def dtype(self) -> _dt.dtype:
        return _dt.from_numpy_dtype(self.array.dtype)

    @property
    def device(self) -> backend.Device:
        return backend.device_of(self.array)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's memory has seen (shared with its views, as torch's)."""
        vc = getattr(self, "_vc", None)
        return 0 if vc is None else vc[0]

    @_version.setter
    def _version(self, value: int) -> None:
        vc = getattr(self, "_vc", None)
        if vc is None:
            self._vc = [value]
        else:
            vc[0] = value
        _graph.writes[0] += 1

    def _bump_version(self) -> None:
        """Count one in-place write into this tensor's memory (seen by its views and by saved copies of it)."""
        self._shared_vc()[0] += 1
        _graph.writes[0] += 1

    def __getstate__(self):
        # pickle and deepcopy keep the data and the autograd fields, not the links to other tensors' memory
        # (the version counter, the view's root, the root's views): the copy owns its memory
        return {k: getattr(self, k, None) for k in ("array", "requires_grad", "grad", "grad_fn", "_hooks")}

    def __setstate__(self, state):
        for k, v in state.items():
            setattr(self, k, v)
        self._vc = self._view = self._views = None

    def _shared_vc(self) -> list:
        """This tensor's version cell, created on first use, to share with a view of it."""
        vc = getattr(self, "_vc", None)
        if vc is None:
            vc = self._vc = [0]
        return vc

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def data(self) -> Tensor:
        """A tensor sharing this one's storage, outside the graph (torch's ``.data``)."""
        return Tensor._make(self.array)

    @data.setter
    def data(self, value: Tensor):
        self.array = value.array if isinstance(value, Tensor) else value

    @property
    def T(self) -> Tensor:
        return self.permute(tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    def dim(self) -> int:
        return self.array.ndim

    def numel(self) -> int:
        return int(self.array.size)

    nelement = numel

    def size(self, dim=None):
        if dim is None:
            return Size(self.array.shape)
        return self.array.shape[dim]

    def element_size(self) -> int:
        return self.array.dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self.array.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return int(self.array.nbytes)

    def is_floating_point(self) -> bool:
        return self.array.dtype.kind == "f"

    def is_contiguous(self) -> bool:
        return bool(self.array.flags.c_contiguous)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.array.shape[0]))

    def __hash__(self):
        return id(self)

    # ----------------------------------------------------------------- conversion
    def item(self):
        if self.array.size != 1:
            raise RuntimeError(
                f"a Tensor with {self.array.size} elements cannot be converted to Scalar (item() needs exactly one)"
            )
        return self.array.reshape(()).item()

    def tolist(self):
        return backend.to_device(self.array, backend.CPU).tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if self.device.type != "cpu":
            if force:
                return backend.to_device(self.array, backend.CPU)
            raise TypeError(
                f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to copy the tensor to "
                "host memory first."
            )
        return self.array

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    def __bool__(self):
        if self.array.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self.array.size} elements is ambiguous")
        return bool(self.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.array.dtype.kind not in "iub" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __format__(self, spec):
        if self.ndim == 0 and spec:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __repr__(self):
        return _repr(self)

    # ----------------------------------------------------------------- autograd
    def detach(self) -> Tensor:
        """Same memory, outside the graph; shares the version counter, as torch's (``.data`` does not)."""
        t = Tensor._make(self.array)
        t._vc = self._shared_vc()
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if not self.is_leaf:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. Use detach() for a non-leaf tensor."
                )
            return self
        if requires_grad and self.array.dtype.kind != "f":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients, got {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            _graph.attach_retain(self.grad_fn, self)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            self._hooks = (self._hooks or []) + [hook]
        else:
            self.grad_fn._hooks = (self.grad_fn._hooks or []) + [hook]
        return _HookHandle(self, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        from .autograd.engine import backward

        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    # ----------------------------------------------------------------- dtype/device
    # to(): in ops/convert.py (a cast or a move is a graph node); the shorthands below call it

    # type(): in _legacy.py, with the typed tensor classes it names

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def float(self):
        return self.to(_dt.float32)

    def double(self):
        return self.to(_dt.float64)

    def half(self):
        return self.to(_dt.float16)

    def long(self):
        return self.to(_dt.int64)

    def int(self):
        return self.to(_dt.int32)

    def bool(self):
        return self.to(_dt.bool_)

    def cpu(self):
        return self.to(backend.CPU)

    def cuda(self, device=None, non_blocking=False):
        return self.to(backend.Device("cuda" if device is None else device))

    def pin_memory(self):
        return self

    # ----------------------------------------------------------------- operators
    # +, -, *, /, //, %, **, @, comparisons, &, |, ^, ~, [] and their in-place forms are attached by the
    # declarations of the ops behind them (minigrad/ops/registry.py); only the two that compute nothing are here

    def __pos__(self):
        return self


class _HookHandle:
    def __init__(self, tensor, hook):
        self._tensor, self._hook = tensor, hook

    def remove(self):
        t = self._tensor
        owner = t if t.grad_fn is None else t.grad_fn
        if owner._hooks and self._hook in owner._hooks:
            owner._hooks = [h for h in owner._hooks if h is not self._hook] or None


def _repr(t: Tensor) -> str:
    arr = backend.to_device(t.array, backend.CPU)
    prefix = "tensor("
    kind = arr.dtype.kind
    if kind == "f":
        finite = arr[np.isfinite(arr)]
        integral = finite.size == 0 or bool(np.all(finite == np.round(finite)))
        body = np.array2string(
            arr,
            separator=", ",
            prefix=prefix,
            precision=4,
            floatmode="maxprec" if integral else "fixed",
            threshold=1000,
            edgeitems=3,
        )
    else:
        body = np.array2string(arr, separator=", ", prefix=prefix, threshold=1000, edgeitems=3)
    extras = []
    if t.device.type != "cpu":
        extras.append(f"device='{t.device}'")
    unusual = t.dtype not in (_dt.float32, _dt.int64, _dt.bool_) or arr.size == 0
    if unusual and not (arr.size == 0 and t.dtype is _dt.float32):
        extras.append(f"dtype={t.dtype!r}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return prefix + body + "".join(", " + e for e in extras) + ")"


__all__ = ["Tensor", "Size", "is_grad_enabled"]
