"""``minigrad.save`` and ``minigrad.load``: checkpoints that never run code when they are read.

``torch.save`` pickles, and unpickling a file can execute arbitrary code. minigrad's format cannot: a
checkpoint is a zip archive holding

* ``minigrad.json``: a JSON *manifest* describing the saved object's structure (dicts, lists, tuples,
  numbers, strings...), with a placeholder ``{"t": "tensor", "i": 3, ...}`` for every tensor;
* ``arrays/3.npy``: each tensor's values as a ``.npy`` file, read back with ``allow_pickle=False``.

What can be saved: tensors (and ``nn.Parameter``), NumPy arrays and scalars, ``None``, bools, ints, floats,
strings, bytes, minigrad dtypes, and dicts (``OrderedDict`` too), lists and tuples nesting them: everything
a model's or an optimizer's ``state_dict()`` holds. Anything else is a ``TypeError`` naming where it was.
A tensor that appears twice (tied weights) is stored once and comes back as one tensor.

Saving writes a temporary file next to the target and renames it over the target only once it is
complete (``os.replace`` is atomic), so a crash or an error never leaves a half-written checkpoint, and
the previous file survives intact.
"""
from __future__ import annotations

import base64
import io
import json
import os
import secrets
import zipfile
from collections import OrderedDict

import numpy as np

from . import backend
from . import dtypes as _dt
from .tensor import Tensor

__all__ = ["save", "load", "CheckpointError"]

_MANIFEST = "minigrad.json"
_FORMAT = "minigrad-checkpoint"
_VERSION = 1


class CheckpointError(RuntimeError):
    """A file that ``minigrad.load`` cannot read: not a minigrad checkpoint, truncated, or corrupted."""


# ---------------------------------------------------------------------------------------------- saving
class _Encoder:
    """Turns an object into a JSON-able manifest node, collecting the arrays to store beside it."""

    def __init__(self):
        self.arrays: list[np.ndarray] = []
        self.memo: dict[int, int] = {}  # id(tensor) -> index of its array, so shared tensors are stored once
        self.active: set[int] = set()  # containers on the current path, to refuse cycles

    def _array(self, key, arr) -> int:
        if key is not None and key in self.memo:
            return self.memo[key]
        self.arrays.append(arr)
        idx = len(self.arrays) - 1
        if key is not None:
            self.memo[key] = idx
        return idx

    def encode(self, obj, path: str):
        if obj is None:
            return {"t": "none"}
        if isinstance(obj, bool):
            return {"t": "bool", "v": obj}
        if isinstance(obj, int):
            return {"t": "int", "v": obj}
        if isinstance(obj, float):
            return {"t": "float", "v": obj.hex()}  # exact, and works for inf and nan
        if isinstance(obj, str):
            return {"t": "str", "v": obj}
        if isinstance(obj, bytes):
            return {"t": "bytes", "v": base64.b64encode(obj).decode("ascii")}
        if isinstance(obj, Tensor):
            return self._tensor(obj)
        if isinstance(obj, np.ndarray):
            self._check_dtype(obj.dtype, path)
            return {"t": "ndarray", "i": self._array(None, obj)}
        if isinstance(obj, np.generic):
            self._check_dtype(obj.dtype, path)
            return {"t": "npscalar", "i": self._array(None, np.asarray(obj))}
        if isinstance(obj, _dt.dtype):
            return {"t": "dtype", "v": obj.name}
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in self.active:
                raise ValueError(f"minigrad.save: circular reference at {path}: the object contains itself")
            self.active.add(id(obj))
            try:
                return self._container(obj, path)
            finally:
                self.active.discard(id(obj))
        raise TypeError(
            f"minigrad.save: cannot save an object of type {type(obj).__module__}.{type(obj).__qualname__} at "
            f"{path}; supported are tensors, NumPy arrays, None, bool, int, float, str, bytes, dtypes, and "
            "dicts/lists/tuples of them (save model.state_dict(), not the model)"
        )

    def _container(self, obj, path):
        if isinstance(obj, dict):
            items = []  # a dict subclass (e.g. defaultdict) comes back as a plain dict
            for k, v in obj.items():
                if not isinstance(k, (str, int, float, bool, type(None))):
                    raise TypeError(f"minigrad.save: dict key {k!r} of type {type(k).__name__} at {path} is not "
                                    "supported; keys must be str, int, float, bool or None")
                items.append([self.encode(k, path), self.encode(v, f"{path}[{k!r}]")])
            return {"t": "odict" if isinstance(obj, OrderedDict) else "dict", "items": items}
        if isinstance(obj, tuple) and hasattr(obj, "_fields"):
            raise TypeError(f"minigrad.save: cannot save the namedtuple {type(obj).__name__} at {path}; convert it "
                            "with ._asdict() or tuple()")
        kind = "list" if isinstance(obj, list) else "tuple"
        return {"t": kind, "items": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]}

    def _tensor(self, t: Tensor):
        from .nn.parameter import Parameter

        host = backend.to_device(t.array, backend.CPU)
        return {
            "t": "tensor", "i": self._array(id(t), host), "dtype": t.dtype.name, "shape": list(host.shape),
            "device": str(t.device), "requires_grad": bool(t.requires_grad),
            "parameter": isinstance(t, Parameter),
        }

    @staticmethod
    def _check_dtype(dtype, path):
        if dtype.kind not in "biuf":
            raise TypeError(f"minigrad.save: cannot save a NumPy array of dtype {dtype} at {path}; only bool, "
                            "integer and floating-point arrays are supported")


def _write(fileobj, manifest: dict, arrays) -> None:
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(_MANIFEST, json.dumps(manifest, allow_nan=False))
        for i, arr in enumerate(arrays):
            if not arr.flags.c_contiguous:  # (np.ascontiguousarray would turn 0-d arrays into 1-d ones)
                arr = arr.copy(order="C")
            with zf.open(f"arrays/{i}.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, arr, allow_pickle=False)


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True) -> None:
    """Save ``obj`` (a tensor, a ``state_dict()``, an optimizer state dict, nested containers...) to ``f``.

    ``f`` is a path (str or ``os.PathLike``) or a writable binary file object such as ``io.BytesIO``.
    A path is written atomically: the data go to a temporary file in the same directory, which then
    replaces ``f``. The pickle arguments of ``torch.save`` are accepted and ignored (nothing is pickled).
    """
    enc = _Encoder()
    manifest = {"format": _FORMAT, "version": _VERSION, "root": enc.encode(obj, "obj")}  # errors before any I/O
    if not isinstance(f, (str, os.PathLike)):
        if not hasattr(f, "write"):
            raise TypeError(f"minigrad.save: f must be a path or a writable binary file object, got "
                            f"{type(f).__name__}")
        _write(f, manifest, enc.arrays)
        return
    path = os.fspath(f)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"minigrad.save: cannot write {path!r}: directory {directory!r} does not exist")
    # the temporary file sits beside the target (os.replace is only atomic within one file system); creating
    # it with mode 0o666 lets the umask decide its permissions, as for any ordinary new file
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write(fh, manifest, enc.arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ---------------------------------------------------------------------------------------------- loading
class _Decoder:
    def __init__(self, zf: zipfile.ZipFile, where: str, map_location):
        self.zf, self.where, self.map_location = zf, where, map_location
        self.tensors: dict[int, Tensor] = {}

    def fail(self, reason: str):
        raise CheckpointError(f"minigrad.load: {self.where} is corrupted: {reason}")

    def array(self, i) -> np.ndarray:
        name = f"arrays/{i}.npy"
        try:
            with self.zf.open(name) as fh:
                arr = np.lib.format.read_array(fh, allow_pickle=False)
                fh.read()  # read to the end so that zipfile verifies the CRC of what was read
        except KeyError:
            self.fail(f"the manifest refers to {name}, which is missing")
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
            self.fail(f"could not read {name} ({e})")
        return arr

    def decode(self, node):
        try:
            t = node["t"]
        except (TypeError, KeyError):
            self.fail(f"unexpected manifest entry {str(node)[:80]!r}")
        if t == "none":
            return None
        if t in ("bool", "int", "str"):
            return node["v"]
        if t == "float":
            return float.fromhex(node["v"])
        if t == "bytes":
            return base64.b64decode(node["v"])
        if t == "list":
            return [self.decode(v) for v in node["items"]]
        if t == "tuple":
            return tuple(self.decode(v) for v in node["items"])
        if t in ("dict", "odict"):
            out = OrderedDict() if t == "odict" else {}
            for k, v in node["items"]:
                out[self.decode(k)] = self.decode(v)
            return out
        if t == "ndarray":
            return self.array(node["i"])
        if t == "npscalar":
            return self.array(node["i"])[()]
        if t == "dtype":
            return _dt.as_dtype(node["v"])
        if t == "tensor":
            return self.tensor(node)
        self.fail(f"unknown manifest entry type {t!r}")

    def tensor(self, node) -> Tensor:
        i = node["i"]
        if i in self.tensors:
            return self.tensors[i]
        arr = self.array(i)
        if arr.dtype.name != node["dtype"] or list(arr.shape) != list(node["shape"]):
            self.fail(f"array {i} has dtype {arr.dtype} and shape {tuple(arr.shape)}, but the manifest says "
                      f"{node['dtype']} and {tuple(node['shape'])}")
        t = Tensor._make(arr)
        t = self.place(t, node.get("device", "cpu"))
        if node.get("parameter"):
            from .nn.parameter import Parameter

            t = Parameter(t, requires_grad=bool(node.get("requires_grad")))
        elif node.get("requires_grad"):
            t.requires_grad = True
        self.tensors[i] = t
        return t

    def place(self, t: Tensor, location: str) -> Tensor:
        ml = self.map_location
        if callable(ml) and not isinstance(ml, (str, backend.Device)):
            out = ml(t, location)  # torch's idiom: lambda storage, loc: storage
            return out if isinstance(out, Tensor) else t
        if isinstance(ml, dict):
            target = ml.get(location, location)
        elif ml is None:
            target = location
        else:
            target = ml
        dev = backend.Device(target)
        if dev.type != "cpu" and backend.gpu_module() is None:
            raise RuntimeError(
                f"minigrad.load: {self.where} holds tensors saved on {location}, but CUDA is not available here; "
                "pass map_location='cpu' to load them onto the CPU"
            )
        if dev.type != "cpu":
            t = Tensor._make(backend.to_device(t.array, dev))
        return t


def _describe(f) -> str:
    if isinstance(f, (str, os.PathLike)):
        return repr(os.fspath(f))
    return f"the file object {type(f).__name__}"


def _not_a_checkpoint(where: str, head: bytes, names=None) -> CheckpointError:
    if names is not None:
        if any(n.endswith("data.pkl") for n in names):
            why = ("it looks like a PyTorch checkpoint (torch.save); load it with torch.load and convert the "
                   "tensors with minigrad.tensor(t.numpy())")
        elif names and all(n.endswith(".npy") for n in names):
            why = "it looks like a NumPy .npz archive; read it with numpy.load"
        else:
            why = f"it is a zip archive without {_MANIFEST}"
    elif head[:1] == b"\x80":
        why = "it looks like a pickle file (for example a legacy torch.save); minigrad never unpickles"
    elif head.startswith(b"\x93NUMPY"):
        why = "it looks like a NumPy .npy file; read it with numpy.load"
    elif head.startswith(b"PK"):
        why = "it starts like a zip archive but is truncated or corrupted"
    elif not head:
        why = "the file is empty"
    else:
        why = f"it is not a zip archive (it starts with {head[:16]!r})"
    return CheckpointError(f"minigrad.load: {where} is not a minigrad checkpoint: {why}")


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **pickle_load_args):
    """Load an object saved by :func:`save` from a path or a readable binary file object.

    ``map_location`` moves tensors: a device (``'cpu'``, ``'cuda:0'``), a dict mapping saved locations to
    new ones (``{'cuda:0': 'cpu'}``), or a function ``fn(tensor, location)``. ``weights_only`` is accepted
    for torch compatibility; loading is always weights-only, since nothing in the file is ever executed.
    Raises :class:`CheckpointError` (a ``RuntimeError``) naming the file when it is not a readable
    minigrad checkpoint.
    """
    where = _describe(f)
    if isinstance(f, (str, os.PathLike)):
        with open(os.fspath(f), "rb") as fh:
            return _load_from(fh, where, map_location)
    if not hasattr(f, "read"):
        raise TypeError(f"minigrad.load: f must be a path or a readable binary file object, got {type(f).__name__}")
    if not (hasattr(f, "seekable") and f.seekable()):
        f = io.BytesIO(f.read())
    return _load_from(f, where, map_location)


def _load_from(fh, where: str, map_location):
    start = fh.tell()
    head = fh.read(64)
    if isinstance(head, str):
        raise TypeError(f"minigrad.load: {where} was opened in text mode; open it with 'rb'")
    fh.seek(start)
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _not_a_checkpoint(where, head) from None
    with zf:
        names = zf.namelist()
        if _MANIFEST not in names:
            raise _not_a_checkpoint(where, head, names)
        dec = _Decoder(zf, where, map_location)
        try:
            manifest = json.loads(zf.read(_MANIFEST).decode("utf-8"))
        except (zipfile.BadZipFile, ValueError, UnicodeDecodeError, OSError) as e:
            dec.fail(f"could not read the manifest ({e})")
        if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT or "root" not in manifest:
            dec.fail("the manifest is not a minigrad manifest")
        if manifest.get("version") != _VERSION:
            raise CheckpointError(f"minigrad.load: {where} was written by a newer minigrad (format version "
                                  f"{manifest.get('version')}; this minigrad reads version {_VERSION})")
        try:
            return dec.decode(manifest["root"])
        except (KeyError, TypeError, ValueError) as e:
            dec.fail(f"malformed manifest ({type(e).__name__}: {e})")
