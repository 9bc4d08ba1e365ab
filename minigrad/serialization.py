"""``minigrad.save`` and ``minigrad.load``: checkpoints that never run code when they are read.

``torch.save`` pickles, and unpickling a file can execute arbitrary code. minigrad's format cannot: a
checkpoint is a zip archive (members stored uncompressed) holding

* ``minigrad.json``: a JSON *manifest* describing the saved object's structure (dicts, lists, tuples,
  numbers, strings...), with a placeholder ``{"t": "tensor", "i": 3, ...}`` for every tensor;
* ``arrays/3.npy``: each tensor's values as a ``.npy`` file, read back with ``allow_pickle=False``.

What can be saved: tensors (and ``nn.Parameter``), NumPy arrays and scalars, ``None``, bools, ints, floats,
strings, bytes, minigrad dtypes, and dicts (``OrderedDict`` too), lists and tuples nesting them: everything
a model's or an optimizer's ``state_dict()`` holds. Anything else is a ``TypeError`` naming where it was.
A tensor that appears twice (tied weights) is stored once and comes back as one tensor.

Saving to a path writes a temporary file next to the target (created with the target's final permission
bits), fsyncs it and renames it over the target (``os.replace`` is atomic), so a crash or an error never
leaves a half-written checkpoint and the previous file survives intact. A symlink is followed (its target
is replaced, the link stays); a FIFO or a device such as ``/dev/null`` is written through, as ``torch.save``
does. Unlike ``torch.save``, a file with several hard links gets a new inode: the other links keep the old data.

Loading checks what the file declares before trusting it: containers nested deeper than ``MAX_DEPTH`` and
archives declaring more than ``MAX_BYTES`` of data are refused (both have keyword overrides), each ``.npy``
header must match the bytes stored behind it, and every problem is one ``CheckpointError`` line naming the file.
"""

from __future__ import annotations

import base64
import binascii
import errno
import io
import json
import math
import os
import secrets
import stat
import sys
import tokenize
import zipfile
import zlib
from collections import OrderedDict

import numpy as np

from . import backend
from . import dtypes as _dt
from .tensor import Tensor

__all__ = ["save", "load", "CheckpointError", "MAX_DEPTH", "MAX_BYTES"]

_MANIFEST = "minigrad.json"
_FORMAT = "minigrad-checkpoint"
_VERSION = 1

#: Deepest nesting of dicts/lists/tuples that ``save`` writes and ``load`` reads (override: ``max_depth=``).
#: Real checkpoints nest a handful of levels (an optimizer's state_dict inside a training checkpoint is ~5);
#: 100 leaves a wide margin while the manifest's JSON (up to 4 levels per container) and the recursive
#: encoder/decoder stay far inside Python's default recursion limit of 1000, even from a deep call stack.
MAX_DEPTH = 100
#: Most bytes (all members, uncompressed, as the archive declares them) that ``load`` accepts; ``None`` means
#: this machine's physical memory, since a larger checkpoint could not be held anyway (override: ``max_bytes=``).
MAX_BYTES = None

try:  # zipfile reads LZMA and bzip2 members when Python was built with them; their errors are corrupt data too
    from lzma import LZMAError as _LZMAError
except ImportError:  # pragma: no cover
    _LZMAError = zlib.error
# what reading a damaged archive member can raise (RuntimeError is left out: CheckpointError is one)
# (SyntaxError and TokenError come from NumPy parsing a damaged .npy header as a Python literal)
_READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    _LZMAError,
    OSError,
    EOFError,
    ValueError,
    NotImplementedError,
    OverflowError,
    SyntaxError,
    tokenize.TokenError,
)


class CheckpointError(RuntimeError):
    """A file that ``minigrad.load`` cannot read: not a minigrad checkpoint, truncated, or corrupted."""


def _describe(f) -> str:
    if isinstance(f, (str, os.PathLike)):
        return repr(os.fspath(f))
    name = getattr(f, "name", None)
    named = f" ({name!r})" if isinstance(name, str) else ""
    return f"the file object {type(f).__name__}{named}"


def _is_text_stream(f) -> bool:
    if isinstance(f, io.TextIOBase):
        return True
    if isinstance(f, (io.RawIOBase, io.BufferedIOBase)):  # binary whatever their mode says (ZipExtFile's is 'r')
        return False
    mode = getattr(f, "mode", "b")  # other duck-typed files: trust the mode (gzip.GzipFile's is an int)
    return isinstance(mode, str) and "b" not in mode


def _short(path: str) -> str:
    return path if len(path) <= 60 else f"{path[:30]}...{path[-25:]}"


# ---------------------------------------------------------------------------------------------- saving
class _Encoder:
    """Turns an object into a JSON-able manifest node, collecting the arrays to store beside it."""

    def __init__(self, max_depth: int):
        self.max_depth = max_depth
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

    def encode(self, obj, path: str, depth: int = 0):
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
            if depth >= self.max_depth:
                raise ValueError(
                    f"minigrad.save: {_short(path)} is nested more than max_depth={self.max_depth} "
                    "containers deep; pass a larger max_depth to save and load (or set "
                    "minigrad.serialization.MAX_DEPTH)"
                )
            self.active.add(id(obj))
            try:
                return self._container(obj, path, depth + 1)
            finally:
                self.active.discard(id(obj))
        raise TypeError(
            f"minigrad.save: cannot save an object of type {type(obj).__module__}.{type(obj).__qualname__} at "
            f"{path}; supported are tensors, NumPy arrays, None, bool, int, float, str, bytes, dtypes, and "
            "dicts/lists/tuples of them (save model.state_dict(), not the model)"
        )

    def _container(self, obj, path, depth):
        if isinstance(obj, dict):
            items = []  # a dict subclass (e.g. defaultdict) comes back as a plain dict
            for k, v in obj.items():
                if not isinstance(k, (str, int, float, bool, type(None))):
                    raise TypeError(
                        f"minigrad.save: dict key {k!r} of type {type(k).__name__} at {path} is not "
                        "supported; keys must be str, int, float, bool or None"
                    )
                items.append([self.encode(k, path), self.encode(v, f"{path}[{k!r}]", depth)])
            return {"t": "odict" if isinstance(obj, OrderedDict) else "dict", "items": items}
        if isinstance(obj, tuple) and hasattr(obj, "_fields"):
            raise TypeError(
                f"minigrad.save: cannot save the namedtuple {type(obj).__name__} at {path}; convert it "
                "with ._asdict() or tuple()"
            )
        kind = "list" if isinstance(obj, list) else "tuple"
        return {"t": kind, "items": [self.encode(v, f"{path}[{i}]", depth) for i, v in enumerate(obj)]}

    def _tensor(self, t: Tensor):
        from .nn.parameter import Parameter

        host = backend.to_device(t.array, backend.CPU)
        return {
            "t": "tensor",
            "i": self._array(id(t), host),
            "dtype": t.dtype.name,
            "shape": list(host.shape),
            "device": str(t.device),
            "requires_grad": bool(t.requires_grad),
            "parameter": isinstance(t, Parameter),
        }

    @staticmethod
    def _check_dtype(dtype, path):
        if dtype.kind not in "biuf":
            raise TypeError(
                f"minigrad.save: cannot save a NumPy array of dtype {dtype} at {path}; only bool, "
                "integer and floating-point arrays are supported"
            )


def _manifest_text(obj, max_depth: int) -> tuple[str, list]:
    """The manifest as JSON text and the arrays it refers to; every error is raised here, before any I/O."""
    enc = _Encoder(max_depth)
    try:
        manifest = {"format": _FORMAT, "version": _VERSION, "root": enc.encode(obj, "obj")}
        return json.dumps(manifest, allow_nan=False), enc.arrays
    except RecursionError:  # only when max_depth was raised past what Python's recursion limit allows
        raise ValueError(
            f"minigrad.save: the object is nested too deeply for Python's recursion limit "
            f"({sys.getrecursionlimit()}); lower max_depth or raise sys.setrecursionlimit"
        ) from None


class _StreamOnly:
    """A file seen without seek/tell, so zipfile writes it front to back (sizes after each member's data)."""

    def __init__(self, fh):
        self.write, self.flush = fh.write, fh.flush


def _sequential_unless_regular(fileobj):
    # a device's position means nothing (/dev/null says 0 forever, which corrupts zipfile's offsets) and a
    # FIFO has none: only a regular file (or an in-memory stream) may be written with seeks
    try:
        mode = os.fstat(fileobj.fileno()).st_mode
    except (AttributeError, OSError, ValueError):  # (io.UnsupportedOperation is both of the last two)
        return fileobj
    return fileobj if stat.S_ISREG(mode) else _StreamOnly(fileobj)


def _write(fileobj, manifest_text: str, arrays) -> None:
    with zipfile.ZipFile(_sequential_unless_regular(fileobj), "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(_MANIFEST, manifest_text)
        for i, arr in enumerate(arrays):
            if not arr.flags.c_contiguous:  # (np.ascontiguousarray would turn 0-d arrays into 1-d ones)
                arr = arr.copy(order="C")
            with zf.open(f"arrays/{i}.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, arr, allow_pickle=False)


def save(
    obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True, *, max_depth=None
) -> None:
    """Save ``obj`` (a tensor, a ``state_dict()``, an optimizer state dict, nested containers...) to ``f``.

    ``f`` is a path (str or ``os.PathLike``) or a writable binary file object such as ``io.BytesIO``.
    A regular file is replaced atomically, keeping its permission bits; a symlink's target is replaced;
    a FIFO or a device (``/dev/null``) is written through. ``max_depth`` (default ``MAX_DEPTH``, 100) bounds
    how deeply dicts/lists/tuples may nest. The pickle arguments of ``torch.save`` are accepted and ignored.
    """
    text, arrays = _manifest_text(obj, MAX_DEPTH if max_depth is None else max_depth)
    if isinstance(f, (str, os.PathLike)):
        _save_to_path(os.fspath(f), text, arrays)
        return
    if not hasattr(f, "write"):
        raise TypeError(f"minigrad.save: f must be a path or a writable binary file object, got {type(f).__name__}")
    if _is_text_stream(f):
        raise TypeError(f"minigrad.save: {_describe(f)} was opened in text mode; open it with 'wb'")
    _write(f, text, arrays)


def _save_to_path(path: str, text: str, arrays) -> None:
    target = os.path.realpath(path)  # a symlink is followed: its target is replaced and the link stays
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"minigrad.save: cannot write {path!r}: directory {directory!r} does not exist")
    try:
        old = os.stat(target)
    except FileNotFoundError:
        old = None
    if old is not None and stat.S_ISDIR(old.st_mode):
        raise IsADirectoryError(errno.EISDIR, "minigrad.save: cannot write a checkpoint over a directory", path)
    if old is not None and not os.access(target, os.W_OK):
        # renaming would get past a read-only checkpoint (only the directory's permission counts); open() would not
        raise PermissionError(errno.EACCES, "minigrad.save: permission denied (the file is not writable)", path)
    if old is not None and not stat.S_ISREG(old.st_mode):
        # a FIFO or a device: renaming a file over it would destroy it, so stream into it as torch.save does
        with open(target, "wb") as fh:
            _write(fh, text, arrays)
        return
    _replace_atomically(target, old, text, arrays)


def _replace_atomically(target: str, old, text: str, arrays) -> None:
    """Write to a temporary file beside ``target`` (same file system, so ``os.replace`` is atomic), then rename."""
    directory, name = os.path.split(target)
    tmp = os.path.join(directory, f".{name[:120]}.{os.getpid()}.{secrets.token_hex(4)}.tmp")  # stays < NAME_MAX
    # created with the final mode, never wider: 0o666 for a new file lets the umask decide, as open() does
    mode = 0o666 if old is None else stat.S_IMODE(old.st_mode)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            if old is not None:
                _keep_owner_and_mode(fh.fileno(), old)
            _write(fh, text, arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)  # makes the rename itself durable


def _keep_owner_and_mode(fd: int, old) -> None:
    if not hasattr(os, "fchmod"):  # pragma: no cover - Windows has no POSIX modes to keep
        return
    now = os.fstat(fd)
    if (now.st_uid, now.st_gid) != (old.st_uid, old.st_gid):
        try:
            os.fchown(fd, old.st_uid, old.st_gid)
        except PermissionError:  # only root may give a file away; like cp, the new file is then ours
            pass
    os.fchmod(fd, stat.S_IMODE(old.st_mode))  # exact bits (the umask narrowed them), set after chown clears suid


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open a directory
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on a directory
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------- loading
_NPY_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


class _Decoder:
    """Rebuilds the saved object from the manifest, checking every entry against what the archive holds."""

    def __init__(self, zf: zipfile.ZipFile, where: str, map_location, max_depth: int):
        self.zf, self.where, self.map_location, self.max_depth = zf, where, map_location, max_depth
        self.tensors: dict[int, Tensor] = {}

    def fail(self, reason: str):
        raise CheckpointError(f"minigrad.load: {self.where} is corrupted: {reason}")

    def member(self, name: str) -> zipfile.ZipInfo:
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            self.fail(f"the manifest refers to {name}, which is missing")
        if info.flag_bits & 0x1:
            self.fail(f"{name} is encrypted")
        return info

    def read_manifest(self) -> dict:
        info = self.member(_MANIFEST)
        try:
            manifest = json.loads(self.zf.read(info).decode("utf-8"))
        except RecursionError:
            self.fail("the manifest is nested too deeply to parse")
        except _READ_ERRORS as e:
            self.fail(f"could not read the manifest ({type(e).__name__}: {e})")
        if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT or "root" not in manifest:
            self.fail("the manifest is not a minigrad manifest")
        version = manifest.get("version")
        if type(version) is int and version > _VERSION:
            raise CheckpointError(
                f"minigrad.load: {self.where} was written by a newer minigrad (format version "
                f"{version}; this minigrad reads version {_VERSION})"
            )
        if version != _VERSION:
            self.fail(f"unknown format version {version!r}")
        return manifest

    # -- arrays
    def array(self, i, dtype: str | None = None, shape: list | None = None) -> np.ndarray:
        """Array ``i``, once its .npy header is a numeric dtype agreeing with the manifest and the stored size."""
        name = f"arrays/{i}.npy"
        info = self.member(name)
        try:
            with self.zf.open(info) as fh:
                self.check_npy_header(fh, info, dtype, shape)
                fh.seek(0)
                arr = np.lib.format.read_array(fh, allow_pickle=False)
                fh.read()  # read to the end so that zipfile verifies the CRC of what was read
        except _READ_ERRORS as e:
            self.fail(f"could not read {name} ({type(e).__name__}: {e})")
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        return arr

    def check_npy_header(self, fh, info: zipfile.ZipInfo, dtype, shape) -> None:
        version = np.lib.format.read_magic(fh)
        if version not in _NPY_HEADER_READERS:
            self.fail(f"{info.filename} has .npy format version {version}, which minigrad does not write")
        got_shape, _, got_dtype = _NPY_HEADER_READERS[version](fh)
        if got_dtype.kind not in "biuf" or got_dtype.hasobject:
            self.fail(f"{info.filename} holds dtype {got_dtype}; minigrad stores only bool, integer and float arrays")
        if any(n < 0 for n in got_shape):
            self.fail(f"{info.filename} declares the negative shape {got_shape}")
        if dtype is not None and (got_dtype.name != dtype or list(got_shape) != shape):
            self.fail(
                f"{info.filename} has dtype {got_dtype} and shape {got_shape}, but the manifest says "
                f"{dtype} and {tuple(shape)}"
            )
        declared = math.prod(got_shape) * got_dtype.itemsize  # Python ints: no overflow for absurd shapes
        stored = info.file_size - fh.tell()
        if declared != stored:
            self.fail(
                f"{info.filename} declares shape {got_shape} of {got_dtype} ({declared} bytes) but stores "
                f"{stored} bytes"
            )

    # -- manifest nodes
    def value(self, node: dict, key: str, kind, what: str, default=None):
        v = node.get(key, default)
        if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
            self.fail(f"the {node['t']!r} entry has {key}={str(v)[:40]!r}, expected {what}")
        return v

    def index(self, node: dict) -> int:
        i = self.value(node, "i", int, "an array index")
        if i < 0:
            self.fail(f"negative array index {i}")
        return i

    def decode(self, node, depth: int = 0):
        if not isinstance(node, dict) or not isinstance(node.get("t"), str):
            self.fail(f"unexpected manifest entry {str(node)[:80]!r}")
        t = node["t"]
        if t in ("list", "tuple", "dict", "odict"):
            if depth >= self.max_depth:
                raise CheckpointError(
                    f"minigrad.load: {self.where} nests containers more than max_depth="
                    f"{self.max_depth} deep; pass a larger max_depth to load (or set "
                    "minigrad.serialization.MAX_DEPTH) if you trust it"
                )
            return self.container(node, depth + 1)
        if t == "none":
            return None
        if t == "bool":
            return self.value(node, "v", bool, "a bool")
        if t == "int":
            return self.value(node, "v", int, "an int")
        if t == "str":
            return self.value(node, "v", str, "a string")
        if t == "float":
            try:
                return float.fromhex(self.value(node, "v", str, "a hex float"))
            except ValueError:
                self.fail(f"bad float {node['v'][:40]!r}")
        if t == "bytes":
            try:
                return base64.b64decode(self.value(node, "v", str, "base64 text"), validate=True)
            except binascii.Error:
                self.fail("bad base64 data in a bytes entry")
        if t == "ndarray":
            return self.array(self.index(node))
        if t == "npscalar":
            arr = self.array(self.index(node))
            if arr.ndim != 0:
                self.fail(f"a NumPy scalar is stored as an array of shape {arr.shape}")
            return arr[()]
        if t == "dtype":
            return self.dtype(self.value(node, "v", str, "a dtype name"))
        if t == "tensor":
            return self.tensor(node)
        self.fail(f"unknown manifest entry type {t!r}")

    def container(self, node: dict, depth: int):
        items = self.value(node, "items", list, "a list")
        if node["t"] == "list":
            return [self.decode(v, depth) for v in items]
        if node["t"] == "tuple":
            return tuple(self.decode(v, depth) for v in items)
        out = OrderedDict() if node["t"] == "odict" else {}
        for pair in items:
            if not (isinstance(pair, list) and len(pair) == 2):
                self.fail(f"a dict item is {str(pair)[:40]!r}, expected a [key, value] pair")
            key = self.decode(pair[0], depth)
            if not isinstance(key, (str, int, float, bool, type(None))):
                self.fail(f"a dict key is a {type(key).__name__}")
            out[key] = self.decode(pair[1], depth)
        return out

    def dtype(self, name: str):
        try:
            return _dt.as_dtype(name)
        except (TypeError, ValueError, KeyError):
            self.fail(f"unsupported dtype {name[:40]!r}")

    def tensor(self, node: dict) -> Tensor:
        i = self.index(node)
        dtype = self.dtype(self.value(node, "dtype", str, "a dtype name"))
        shape = self.value(node, "shape", list, "a shape")
        if not all(type(n) is int and n >= 0 for n in shape):
            self.fail(f"bad tensor shape {str(shape)[:40]}")
        location = self.value(node, "device", str, "a device name", default="cpu")
        requires_grad = self.value(node, "requires_grad", bool, "a bool", default=False)
        parameter = self.value(node, "parameter", bool, "a bool", default=False)
        if i in self.tensors:  # a tensor saved twice (tied weights) comes back as one tensor
            t = self.tensors[i]
            if t.dtype.name != dtype.name or list(t.shape) != shape:
                self.fail(f"array {i} is described twice with different dtypes or shapes")
            return t
        if requires_grad and not dtype.is_floating_point:
            self.fail(f"a {dtype.name} tensor is marked requires_grad")
        try:
            backend.Device(location)
        except (RuntimeError, ValueError, TypeError):
            self.fail(f"unknown device {location[:40]!r}")
        t = self.place(Tensor._make(self.array(i, dtype.name, shape)), location)
        if parameter:
            from .nn.parameter import Parameter

            t = Parameter(t, requires_grad=requires_grad)
        elif requires_grad:
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


def _not_a_checkpoint(where: str, head: bytes, names=None) -> CheckpointError:
    if names is not None:
        if any(n.endswith("data.pkl") for n in names):
            why = (
                "it looks like a PyTorch checkpoint (torch.save); load it with torch.load and convert the "
                "tensors with minigrad.tensor(t.numpy())"
            )
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


def _memory_size() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not a POSIX system
        return None


def load(
    f,
    map_location=None,
    pickle_module=None,
    *,
    weights_only=True,
    mmap=None,
    max_depth=None,
    max_bytes=None,
    **pickle_load_args,
):
    """Load an object saved by :func:`save` from a path or a readable binary file object.

    ``map_location`` moves tensors: a device (``'cpu'``, ``'cuda:0'``), a dict mapping saved locations to
    new ones (``{'cuda:0': 'cpu'}``), or a function ``fn(tensor, location)``. ``weights_only`` is accepted
    for torch compatibility; loading is always weights-only, since nothing in the file is ever executed.
    ``max_depth`` (default ``MAX_DEPTH``, 100) bounds container nesting and ``max_bytes`` (default ``MAX_BYTES``:
    the machine's memory) the data an archive may declare. Raises :class:`CheckpointError` (a ``RuntimeError``)
    naming the file when it is not a readable minigrad checkpoint; a missing path is a ``FileNotFoundError``.
    """
    where = _describe(f)
    limits = (
        MAX_DEPTH if max_depth is None else max_depth,
        max_bytes if max_bytes is not None else MAX_BYTES if MAX_BYTES is not None else _memory_size(),
    )
    if isinstance(f, (str, os.PathLike)):
        with open(os.fspath(f), "rb") as fh:
            return _load_from(fh if fh.seekable() else io.BytesIO(fh.read()), where, map_location, limits)
    if not hasattr(f, "read"):
        raise TypeError(f"minigrad.load: f must be a path or a readable binary file object, got {type(f).__name__}")
    if _is_text_stream(f):
        raise TypeError(f"minigrad.load: {where} was opened in text mode; open it with 'rb'")
    if not (hasattr(f, "seekable") and f.seekable()):
        f = io.BytesIO(f.read())
    return _load_from(f, where, map_location, limits)


def _load_from(fh, where: str, map_location, limits):
    start = fh.tell()
    try:
        head = fh.read(64)
    except UnicodeDecodeError:
        head = ""
    if isinstance(head, str):
        raise TypeError(f"minigrad.load: {where} was opened in text mode; open it with 'rb'")
    end = fh.seek(0, io.SEEK_END)  # zipfile's member offsets are positions in fh, not from start
    fh.seek(start)
    try:
        zf = zipfile.ZipFile(fh)
    except _READ_ERRORS:
        raise _not_a_checkpoint(where, head) from None
    with zf:
        names = zf.namelist()
        if _MANIFEST not in names:
            raise _not_a_checkpoint(where, head, names)
        max_depth, max_bytes = limits
        dec = _Decoder(zf, where, map_location, max_depth)
        _check_sizes(dec, zf.infolist(), end, max_bytes)
        manifest = dec.read_manifest()
        try:
            return dec.decode(manifest["root"])
        except RecursionError:  # only when max_depth was raised past what Python's recursion limit allows
            dec.fail("the manifest is nested too deeply for Python's recursion limit")


def _check_sizes(dec: _Decoder, infos, end: int, max_bytes) -> None:
    """Refuse what the archive's directory declares before anything is allocated from it."""
    for info in infos:
        if info.header_offset + info.compress_size > end:
            dec.fail(f"{info.filename} extends past the end of the file (truncated?)")
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            dec.fail(
                f"{info.filename} is stored uncompressed but declares {info.file_size} bytes for "
                f"{info.compress_size} stored"
            )
    total = sum(info.file_size for info in infos)
    if max_bytes is not None and total > max_bytes:
        raise CheckpointError(
            f"minigrad.load: {dec.where} declares {total} bytes of data, more than max_bytes="
            f"{max_bytes}; pass a larger max_bytes to load (or set minigrad.serialization."
            "MAX_BYTES) if you trust it"
        )
