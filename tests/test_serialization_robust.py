"""minigrad.save / minigrad.load at the edges: targets that are not regular files, permissions, deep nesting,
archives that lie about their sizes, and a fuzz test that load never escapes with anything but CheckpointError."""

import io
import json
import os
import random
import stat
import struct
import sys
import threading
import zipfile

import numpy as np
import pytest
import torch

import minigrad
from minigrad import serialization
from minigrad.serialization import CheckpointError


def _both_save(tmp_path, prepare, name="target"):
    """Run ``prepare(dir)`` -> path in two fresh directories, torch.save into one and minigrad.save into the other."""
    out = {}
    for lib, save in (
        ("torch", lambda p: torch.save(torch.ones(3), p)),
        ("minigrad", lambda p: minigrad.save(minigrad.ones(3), p)),
    ):
        d = tmp_path / lib
        d.mkdir()
        path = prepare(d)
        save(path)
        out[lib] = path
    return out["torch"], out["minigrad"]


@pytest.fixture
def no_rename_over(monkeypatch):
    """Makes renaming onto the given paths fail the test instead of destroying them (e.g. /dev/null as root)."""
    protected = set()
    real_replace, real_rename = os.replace, os.rename

    def guard(real):
        def guarded(src, dst, *args, **kwargs):
            assert os.path.realpath(dst) not in protected, f"a file was renamed over {dst}"
            return real(src, dst, *args, **kwargs)

        return guarded

    monkeypatch.setattr(os, "replace", guard(real_replace))
    monkeypatch.setattr(os, "rename", guard(real_rename))
    return lambda path: protected.add(os.path.realpath(path))


# ------------------------------------------------------------------------------------ targets that are not files
def _read_fifo_while(save, fifo):
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()), daemon=True)
    reader.start()
    try:
        save(fifo)
    finally:
        try:  # if save never opened the FIFO, open it once so that the reader stops waiting
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
        reader.join(timeout=30)
    assert not reader.is_alive()
    return got[0]


def test_save_streams_into_a_fifo_like_torch(tmp_path, no_rename_over):
    fifo = str(tmp_path / "pipe")
    os.mkfifo(fifo)
    no_rename_over(fifo)
    data = _read_fifo_while(lambda p: torch.save(torch.arange(4.0), p), fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    expected = torch.load(io.BytesIO(data))
    data = _read_fifo_while(lambda p: minigrad.save(minigrad.arange(4.0), p), fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still a FIFO, not a regular file
    np.testing.assert_array_equal(minigrad.load(io.BytesIO(data)).array, expected.numpy())
    assert os.listdir(tmp_path) == ["pipe"]  # no temporary file left beside it


def test_load_reads_from_a_fifo(tmp_path):
    fifo = str(tmp_path / "pipe")
    os.mkfifo(fifo)
    buf = io.BytesIO()
    minigrad.save({"w": minigrad.arange(3)}, buf)
    writer = threading.Thread(target=lambda: open(fifo, "wb").write(buf.getvalue()))
    writer.start()
    out = minigrad.load(fifo)
    writer.join(timeout=30)
    np.testing.assert_array_equal(out["w"].array, np.arange(3))


def _null_devices(tmp_path):
    devices = ["/dev/null"]
    try:  # a private null device too, so the test means the same as root and as a user
        os.mknod(tmp_path / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        devices.append(str(tmp_path / "null"))
    except (PermissionError, AttributeError, OSError):
        pass
    return devices


def test_save_writes_through_dev_null_like_torch(tmp_path, no_rename_over):
    for dev in _null_devices(tmp_path):
        no_rename_over(dev)
        before = os.stat(dev)
        torch.save(torch.ones(2), dev)
        minigrad.save(minigrad.ones(2), dev)
        after = os.stat(dev)
        assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino
        assert stat.S_IMODE(after.st_mode) == stat.S_IMODE(before.st_mode)
        with pytest.raises(CheckpointError, match="the file is empty"):
            minigrad.load(dev)
    assert sorted(os.listdir(tmp_path)) in ([], ["null"])  # no temporary files


def test_save_into_device_and_fifo_file_objects(tmp_path):
    with open("/dev/null", "wb") as fh:  # its position stays 0 whatever is written: zipfile must not seek
        torch.save(torch.ones(2), fh)
        minigrad.save(minigrad.ones(2), fh)
    fifo = str(tmp_path / "pipe")
    os.mkfifo(fifo)

    def save(p):
        with open(p, "wb") as fh:
            minigrad.save({"w": minigrad.arange(3)}, fh)

    data = _read_fifo_while(save, fifo)
    np.testing.assert_array_equal(minigrad.load(io.BytesIO(data))["w"].array, np.arange(3))


def test_save_through_a_symlink_replaces_its_target_like_torch(tmp_path):
    def prepare(d):
        (d / "real").mkdir()
        (d / "real" / "model.pt").write_bytes(b"old")
        os.symlink(os.path.join("real", "model.pt"), d / "link.pt")
        return d / "link.pt"

    t_path, m_path = _both_save(tmp_path, prepare)
    for path in (t_path, m_path):
        assert path.is_symlink() and os.readlink(path) == os.path.join("real", "model.pt")
    np.testing.assert_array_equal(minigrad.load(m_path).array, torch.load(t_path).numpy())
    assert sorted(os.listdir(m_path.parent / "real")) == ["model.pt"]  # temp file went beside the target


def test_save_through_a_dangling_symlink_creates_its_target_like_torch(tmp_path):
    def prepare(d):
        os.symlink("made.pt", d / "link.pt")
        return d / "link.pt"

    t_path, m_path = _both_save(tmp_path, prepare)
    assert (t_path.parent / "made.pt").is_file() and (m_path.parent / "made.pt").is_file()
    assert m_path.is_symlink()
    np.testing.assert_array_equal(minigrad.load(m_path).array, torch.load(t_path).numpy())


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o666, 0o604])
def test_save_keeps_the_permission_bits_of_an_existing_file_like_torch(mode, tmp_path):
    def prepare(d):
        path = d / "model.pt"
        path.write_bytes(b"old")
        os.chmod(path, mode)
        return path

    old = os.umask(0o022)
    try:
        t_path, m_path = _both_save(tmp_path, prepare)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(m_path).st_mode) == stat.S_IMODE(os.stat(t_path).st_mode) == mode


def test_a_read_only_file_is_not_replaced_unless_torch_would_write_it(tmp_path):
    paths = {}
    for lib in ("torch", "minigrad"):
        paths[lib] = tmp_path / f"{lib}.pt"
        paths[lib].write_bytes(b"keep me")
        os.chmod(paths[lib], 0o444)
    try:  # as root torch writes into it; as a user open() refuses it
        torch.save(torch.ones(1), paths["torch"])
    except PermissionError:
        with pytest.raises(PermissionError, match="not writable"):
            minigrad.save(minigrad.ones(1), paths["minigrad"])
        assert paths["minigrad"].read_bytes() == b"keep me"
    else:
        minigrad.save(minigrad.ones(1), paths["minigrad"])
        np.testing.assert_array_equal(minigrad.load(paths["minigrad"]).array, np.ones(1))
    assert stat.S_IMODE(os.stat(paths["minigrad"]).st_mode) == 0o444


def test_a_read_only_file_is_refused_where_open_would_refuse_it(tmp_path, monkeypatch):
    path = tmp_path / "ro.pt"
    path.write_bytes(b"keep me")
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False)  # what a non-root user sees for a 0444 file
    with pytest.raises(PermissionError, match="ro.pt"):
        minigrad.save(minigrad.ones(1), path)
    assert path.read_bytes() == b"keep me"


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_umask_default_like_torch(umask, tmp_path):
    old = os.umask(umask)
    try:
        t_path, m_path = _both_save(tmp_path, lambda d: d / "new.pt")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(m_path).st_mode) == stat.S_IMODE(os.stat(t_path).st_mode) == 0o666 & ~umask


def test_the_temporary_file_is_never_wider_than_the_target(tmp_path, monkeypatch):
    path = tmp_path / "secret.pt"
    path.write_bytes(b"old")
    os.chmod(path, 0o600)
    seen = []
    real = serialization._write

    def spy(fileobj, *args):
        seen.append(stat.S_IMODE(os.fstat(fileobj.fileno()).st_mode))
        return real(fileobj, *args)

    monkeypatch.setattr(serialization, "_write", spy)
    old = os.umask(0)  # the most permissive umask: only the explicit mode protects the data
    try:
        minigrad.save(minigrad.ones(2), path)
    finally:
        os.umask(old)
    assert seen == [0o600]


def test_save_fsyncs_the_file_and_its_directory(tmp_path, monkeypatch):
    kinds = []
    real = os.fsync

    def spy(fd):
        kinds.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        return real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    minigrad.save(minigrad.ones(2), tmp_path / "m.pt")
    assert kinds == ["file", "dir"]


def test_save_over_a_directory_and_load_of_a_directory_or_missing_path(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError, match="over a directory"):  # (torch raises a RuntimeError here)
        minigrad.save(minigrad.ones(1), tmp_path / "d")
    for path in (tmp_path / "d", tmp_path / "missing.pt"):
        with pytest.raises(OSError) as expected:
            torch.load(path)
        with pytest.raises(type(expected.value)) as got:
            minigrad.load(path)
        assert str(path) in str(got.value)


def test_long_file_names_leave_room_for_the_temporary_name(tmp_path):
    path = tmp_path / ("m" * 250)
    minigrad.save(minigrad.ones(1), path)
    np.testing.assert_array_equal(minigrad.load(path).array, np.ones(1))


# ------------------------------------------------------------------------------------------------ file objects
def test_file_objects_work_like_torch(tmp_path):
    with open(tmp_path / "a.pt", "wb") as fh:
        minigrad.save({"w": minigrad.arange(3)}, fh)
    with open(tmp_path / "a.pt", "rb") as fh:
        np.testing.assert_array_equal(minigrad.load(fh)["w"].array, np.arange(3))
    with zipfile.ZipFile(tmp_path / "outer.zip", "w") as zf:  # a member of another archive (ZipExtFile, mode 'r')
        zf.write(tmp_path / "a.pt", "a.pt")
    with zipfile.ZipFile(tmp_path / "outer.zip") as zf, zf.open("a.pt") as fh:
        np.testing.assert_array_equal(minigrad.load(fh)["w"].array, np.arange(3))
    buf = io.BytesIO(b"prefix")  # a checkpoint written after other data in the same stream
    buf.seek(6)
    minigrad.save(minigrad.arange(2), buf)
    buf.seek(6)
    np.testing.assert_array_equal(minigrad.load(buf).array, np.arange(2))


def test_text_mode_files_give_one_clear_line(tmp_path):
    path = tmp_path / "t.pt"
    with open(path, "w") as fh, pytest.raises(TypeError):
        torch.save(torch.ones(1), fh)  # torch raises a TypeError too, from deep inside
    with open(path, "w") as fh, pytest.raises(TypeError, match=r"TextIOWrapper \('.*t\.pt'\) was opened in text mode"):
        minigrad.save(minigrad.ones(1), fh)
    minigrad.save(minigrad.ones(1), path)
    with open(path) as fh, pytest.raises(TypeError, match="t.pt'\\) was opened in text mode; open it with 'rb'"):
        minigrad.load(fh)


# ------------------------------------------------------------------------------------------------ deep nesting
def _nested(depth):
    obj = minigrad.ones(1)
    for i in range(depth):
        obj = [obj] if i % 2 else {"k": obj}
    return obj


def test_nesting_limit_on_save_and_load(tmp_path, monkeypatch):
    assert serialization.MAX_DEPTH == 100
    minigrad.save(_nested(100), io.BytesIO())
    with pytest.raises(ValueError, match=r"nested more than max_depth=100 containers deep; pass a larger max_depth"):
        minigrad.save(_nested(101), io.BytesIO())
    path = tmp_path / "deep.pt"
    minigrad.save(_nested(150), path, max_depth=150)
    with pytest.raises(CheckpointError, match=r"deep.pt' nests containers more than max_depth=100 deep"):
        minigrad.load(path)
    out = minigrad.load(path, max_depth=150)
    for i in reversed(range(150)):
        out = out[0] if i % 2 else out["k"]
    np.testing.assert_array_equal(out.array, np.ones(1))
    monkeypatch.setattr(serialization, "MAX_DEPTH", 150)  # the module-level setting
    minigrad.load(path)


def _zip_with(manifest, members=()):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("minigrad.json", manifest if isinstance(manifest, str) else json.dumps(manifest))
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def test_hand_made_deep_manifests_are_refused(tmp_path):
    root = {"t": "none"}
    for _ in range(450):
        root = {"t": "list", "items": [root]}
    path = tmp_path / "deep.pt"
    path.write_bytes(_zip_with({"format": "minigrad-checkpoint", "version": 1, "root": root}))
    with pytest.raises(CheckpointError, match="max_depth=100"):
        minigrad.load(path)
    text = '{"format": "minigrad-checkpoint", "version": 1, "root": ' + "[" * 100000 + "]" * 100000 + "}"
    path.write_bytes(_zip_with(text))
    with pytest.raises(CheckpointError, match="deep.pt' is corrupted: the manifest is nested too deeply to parse"):
        minigrad.load(path)


def test_a_max_depth_beyond_the_recursion_limit_gives_a_clear_error():
    depth = sys.getrecursionlimit() + 10
    with pytest.raises(ValueError, match="too deeply for Python's recursion limit"):
        minigrad.save(_nested(depth), io.BytesIO(), max_depth=depth)


# ------------------------------------------------------------------------------------- sizes the archive declares
def _npy(arr=None, *, header_shape=None, descr="<f8", data=b""):
    buf = io.BytesIO()
    if arr is not None:
        np.lib.format.write_array(buf, arr)
        return buf.getvalue()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": header_shape})
    return buf.getvalue() + data


def _ckpt(root, arrays):
    return _zip_with(
        {"format": "minigrad-checkpoint", "version": 1, "root": root},
        [(f"arrays/{i}.npy", data) for i, data in enumerate(arrays)],
    )


def test_a_huge_declared_array_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.pt"
    path.write_bytes(_ckpt({"t": "ndarray", "i": 0}, [_npy(header_shape=(2**50,))]))  # 8 PiB of float64
    with pytest.raises(CheckpointError, match=r"huge.pt' is corrupted: arrays/0.npy declares shape \(1125899906842624"):
        minigrad.load(path)
    path.write_bytes(_ckpt({"t": "ndarray", "i": 0}, [_npy(header_shape=(4,), data=bytes(16))]))
    with pytest.raises(CheckpointError, match=r"\(32 bytes\) but stores 16 bytes"):
        minigrad.load(path)


def test_declared_sizes_in_the_zip_directory_are_checked(tmp_path):
    good = io.BytesIO()
    minigrad.save(minigrad.zeros(1000, dtype=minigrad.float64), good)
    data = bytearray(good.getvalue())
    central = data.rindex(b"PK\x01\x02")  # the last central-directory entry is arrays/0.npy
    struct.pack_into("<I", data, central + 24, 0xFFFFFFF0)  # its uncompressed size: 4 GiB, for 8 KB stored
    path = tmp_path / "lies.pt"
    path.write_bytes(bytes(data))
    with pytest.raises(
        CheckpointError,
        match=r"lies.pt' is corrupted: arrays/0.npy is stored uncompressed but "
        r"declares 4294967280 bytes",
    ):
        minigrad.load(path)


def test_a_recompressed_checkpoint_still_loads(tmp_path):
    good = io.BytesIO()
    minigrad.save({"w": minigrad.zeros(1000, dtype=minigrad.float64)}, good)
    path = tmp_path / "deflated.pt"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
    np.testing.assert_array_equal(minigrad.load(path)["w"].array, np.zeros(1000))
    with pytest.raises(CheckpointError, match="max_bytes=1000"):  # what it inflates to counts, not what it stores
        minigrad.load(path, max_bytes=1000)


def test_the_overall_size_limit_has_overrides(tmp_path, monkeypatch):
    path = tmp_path / "m.pt"
    minigrad.save(minigrad.zeros(1000, dtype=minigrad.float64), path)
    with pytest.raises(CheckpointError, match=r"m.pt' declares \d+ bytes of data, more than max_bytes=4000"):
        minigrad.load(path, max_bytes=4000)
    assert minigrad.load(path, max_bytes=100_000).shape == (1000,)
    monkeypatch.setattr(serialization, "MAX_BYTES", 4000)
    with pytest.raises(CheckpointError, match="max_bytes=4000"):
        minigrad.load(path)
    assert minigrad.load(path, max_bytes=10**6).shape == (1000,)
    monkeypatch.setattr(serialization, "MAX_BYTES", None)  # the default: this machine's memory
    monkeypatch.setattr(serialization, "_memory_size", lambda: 5000)
    with pytest.raises(CheckpointError, match="max_bytes=5000"):
        minigrad.load(path)


# ------------------------------------------------------------------------------------------------- zip oddities
def _patch_members(data: bytes, *, method=None, flags=None) -> bytes:
    """Sets the compression method or flag bits of every member, in local headers and the central directory."""
    data = bytearray(data)
    for sig, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        at = data.find(sig)
        while at >= 0:
            if flags is not None:
                struct.pack_into("<H", data, at + flag_at, struct.unpack_from("<H", data, at + flag_at)[0] | flags)
            if method is not None:
                struct.pack_into("<H", data, at + method_at, method)
            at = data.find(sig, at + 4)
    return bytes(data)


@pytest.mark.parametrize(
    "patch,match",
    [
        (dict(method=99), "compression method"),
        (dict(flags=0x1), "minigrad.json is encrypted"),
    ],
)
def test_unreadable_members_name_the_checkpoint(patch, match, tmp_path):
    buf = io.BytesIO()
    minigrad.save({"w": minigrad.ones(2)}, buf)
    path = tmp_path / "odd.pt"
    path.write_bytes(_patch_members(buf.getvalue(), **patch))
    with pytest.raises(CheckpointError, match=match) as info:
        minigrad.load(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(CheckpointError, match=f"the file object BytesIO.*{match}"):
        minigrad.load(io.BytesIO(path.read_bytes()))


_T = {"t": "tensor", "i": 0, "dtype": "float64", "shape": [2]}


@pytest.mark.parametrize(
    "root,arrays,match",
    [
        ({"t": "int", "v": "7"}, [], "the 'int' entry has v='7', expected an int"),
        ({"t": "int", "v": True}, [], "expected an int"),
        ({"t": "bool", "v": 1}, [], "expected a bool"),
        ({"t": "str", "v": 5}, [], "expected a string"),
        ({"t": "float", "v": 1.5}, [], "expected a hex float"),
        ({"t": "float", "v": "nope"}, [], "bad float 'nope'"),
        ({"t": "bytes", "v": "!!"}, [], "bad base64"),
        ({"t": "list", "items": {}}, [], "expected a list"),
        ({"t": "dict", "items": [[{"t": "none"}]]}, [], "expected a \\[key, value\\] pair"),
        ({"t": "dict", "items": [[{"t": "list", "items": []}, {"t": "none"}]]}, [], "a dict key is a list"),
        ({"t": "dtype", "v": "complex64"}, [], "unsupported dtype 'complex64'"),
        ([1, 2], [], "unexpected manifest entry"),
        ({"t": 3}, [], "unexpected manifest entry"),
        ({**_T, "i": -1}, [], "negative array index -1"),
        ({**_T, "i": "0"}, [], "expected an array index"),
        ({**_T, "i": 5}, [], "arrays/5.npy, which is missing"),
        ({**_T, "dtype": "complex128"}, [_npy(np.ones(2, np.complex128))], "unsupported dtype 'complex128'"),
        ({**_T, "shape": [-2]}, [], "bad tensor shape"),
        ({**_T, "shape": "2"}, [], "expected a shape"),
        ({**_T, "shape": [3]}, [_npy(np.ones(2))], "manifest says float64 and \\(3,\\)"),
        ({**_T, "device": "tpu"}, [_npy(np.ones(2))], "unknown device 'tpu'"),
        ({**_T, "requires_grad": "yes"}, [_npy(np.ones(2))], "expected a bool"),
        ({**_T, "dtype": "int64", "requires_grad": True}, [_npy(np.ones(2, np.int64))], "int64 tensor is marked"),
        ({"t": "list", "items": [_T, {**_T, "shape": [1, 2]}]}, [_npy(np.ones(2))], "described twice"),
        ({"t": "ndarray", "i": 0}, [_npy(np.array([{"a": 1}], dtype=object))], "holds dtype object"),
        ({"t": "ndarray", "i": 0}, [_npy(np.array(["ab"]))], "holds dtype <U2"),
        ({"t": "ndarray", "i": 0}, [_npy(header_shape=(-3,))], "negative shape"),
        ({"t": "ndarray", "i": 0}, [b"\x93NUMPY\x09\x00" + bytes(20)], "format version \\(9, 0\\)"),
        ({"t": "ndarray", "i": 0}, [b"garbage"], "could not read arrays/0.npy"),
        ({"t": "npscalar", "i": 0}, [_npy(np.ones(2))], "NumPy scalar is stored as an array of shape \\(2,\\)"),
    ],
)
def test_malformed_manifests_and_arrays_are_checkpoint_errors(root, arrays, match, tmp_path):
    path = tmp_path / "bad.pt"
    path.write_bytes(_ckpt(root, arrays))
    with pytest.raises(CheckpointError, match=match) as info:
        minigrad.load(path)
    assert f"{str(path)!r} is corrupted: " in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "manifest,match",
    [
        ("[1]", "not a minigrad manifest"),
        ('"text"', "not a minigrad manifest"),
        ({"format": "minigrad-checkpoint", "version": "1", "root": {"t": "none"}}, "unknown format version '1'"),
        ({"format": "minigrad-checkpoint", "version": 2, "root": {"t": "none"}}, "newer minigrad"),
        ("\xff\xfe", "could not read the manifest"),
    ],
)
def test_manifests_that_are_not_ours(manifest, match, tmp_path):
    path = tmp_path / "bad.pt"
    path.write_bytes(_zip_with(manifest) if isinstance(manifest, (str, dict)) else manifest)
    with pytest.raises(CheckpointError, match=match):
        minigrad.load(path)


def test_big_endian_arrays_load_as_native(tmp_path):
    path = tmp_path / "be.pt"
    arr = np.arange(3.0).astype(">f8")
    path.write_bytes(_ckpt({**_T, "shape": [3]}, [_npy(arr)]))
    out = minigrad.load(path)
    assert out.dtype == minigrad.float64 and out.array.dtype.isnative
    np.testing.assert_array_equal(out.array, np.arange(3.0))


# ----------------------------------------------------------------------------------------------------------- fuzz
def _sample_checkpoint() -> bytes:
    buf = io.BytesIO()
    w = minigrad.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    minigrad.save(
        {
            "model": {"w": w, "b": minigrad.zeros(3, dtype=minigrad.float16), "tied": w},
            "step": 3,
            "lr": 0.5,
            "name": "x",
            "raw": b"\x01",
            "ids": minigrad.arange(4),
            "mask": minigrad.ones(2, dtype=minigrad.bool),
            "np": np.int32(7),
            "arr": np.ones((2, 2)),
            "dtype": minigrad.float64,
            "tuple": (None, True, [1, 2]),
        },
        buf,
    )
    return buf.getvalue()


def _load_or_checkpoint_error(data: bytes):
    try:
        minigrad.load(io.BytesIO(data))
    except (CheckpointError, FileNotFoundError):
        pass  # anything else (KeyError, MemoryError, RecursionError, ...) fails the test with its traceback


def test_fuzz_byte_mutations_only_raise_checkpoint_error():
    base = _sample_checkpoint()
    rng = random.Random(1234)
    for _ in range(400):
        data = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            how = rng.random()
            if how < 0.5:
                data[at] = rng.randrange(256)
            elif how < 0.7:
                data[at : at + 4] = struct.pack("<I", rng.choice([0, 1, 0xFFFFFFFF, 2**31, rng.randrange(2**32)]))
            elif how < 0.85:
                del data[at : at + rng.randint(1, 64)]
            else:
                data = data[:at]
                break
        _load_or_checkpoint_error(bytes(data))


def _mutate_json(node, rng):
    """Replaces one random value somewhere in a JSON tree by something of another kind."""
    if isinstance(node, dict) and node:
        key = rng.choice(list(node))
    elif isinstance(node, list) and node:
        key = rng.randrange(len(node))
    else:
        return rng.choice([None, -1, 2**80, "float64", [], {}, 1.5, "!", True, [-1], {"t": "tensor"}])
    if rng.random() < 0.3:
        node[key] = rng.choice([None, -1, 0, 2**63, "int64", [], {}, 0.5, "x", False, [3, -1], {"t": "list"}])
    else:
        node[key] = _mutate_json(node[key], rng)
    return node


def test_fuzz_manifest_and_header_mutations_only_raise_checkpoint_error():
    with zipfile.ZipFile(io.BytesIO(_sample_checkpoint())) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    rng = random.Random(99)
    for _ in range(300):
        mutated = dict(members)
        if rng.random() < 0.6:
            manifest = _mutate_json(json.loads(mutated["minigrad.json"]), rng)
            mutated["minigrad.json"] = json.dumps(manifest).encode()
        else:  # a .npy member with a rewritten header or data, under a valid CRC
            name = rng.choice([n for n in mutated if n.endswith(".npy")])
            data = bytearray(mutated[name])
            at = rng.randrange(min(len(data), 128))
            data[at] = rng.randrange(32, 127)
            if rng.random() < 0.3:
                data = data[: rng.randrange(len(data))]
            mutated[name] = bytes(data)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data in mutated.items():
                zf.writestr(name, data)
        _load_or_checkpoint_error(buf.getvalue())
