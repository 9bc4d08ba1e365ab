"""minigrad.save / minigrad.load: round trips, atomic writes, and clear errors for files that are not ours."""

import io
import math
import os
import pickle
from collections import OrderedDict, namedtuple

import numpy as np
import pytest
import torch

import minigrad
from minigrad import backend
from minigrad.serialization import CheckpointError

DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.bool_]


def _roundtrip(obj, tmp_path=None):
    if tmp_path is None:
        buf = io.BytesIO()
        minigrad.save(obj, buf)
        buf.seek(0)
        return minigrad.load(buf)
    path = tmp_path / "ckpt.pt"
    minigrad.save(obj, path)
    return minigrad.load(str(path))


@pytest.mark.parametrize("dtype", DTYPES, ids=[np.dtype(d).name for d in DTYPES])
@pytest.mark.parametrize("shape", [(2, 3), (), (0, 4), (1, 2, 3)])
def test_tensor_round_trip_keeps_dtype_shape_values(dtype, shape, tmp_path):
    rng = np.random.default_rng(0)
    arr = np.asarray(rng.standard_normal(shape) * 50).astype(dtype)
    t = minigrad.from_numpy(arr)
    for out in (_roundtrip(t), _roundtrip(t, tmp_path)):
        assert isinstance(out, minigrad.Tensor)
        assert out.dtype == t.dtype and out.shape == t.shape
        np.testing.assert_array_equal(out.array, arr)
        assert out.array is not arr
        assert out.array.flags.writeable  # loaded tensors can be trained in place


def test_non_contiguous_tensor_saves_its_values():
    arr = np.arange(12.0).reshape(3, 4).T
    out = _roundtrip(minigrad.from_numpy(arr))
    np.testing.assert_array_equal(out.array, arr)


def test_nested_structure_round_trip():
    w = minigrad.tensor(np.ones((2, 2), np.float32), requires_grad=True)
    obj = {
        "model": OrderedDict([("w", w), ("b", minigrad.zeros(2))]),
        "step": 7,
        "big": 2**70,
        "lr": 0.1,
        "specials": [math.inf, -math.inf, -0.0, 1e-310],
        "name": "net",
        "raw": b"\x00\x01",
        "flag": False,
        "none": None,
        "tuple": (1, (2.5, "x")),
        3: [np.arange(3), np.float32(1.5), np.int64(4)],
        "dtype": minigrad.float16,
        "tied": w,
    }
    out = _roundtrip(obj)
    assert type(out) is dict and list(out) == list(obj)
    assert type(out["model"]) is OrderedDict and list(out["model"]) == ["w", "b"]
    assert out["tied"] is out["model"]["w"]  # a tensor saved twice comes back as one tensor
    assert out["model"]["w"].requires_grad and not out["model"]["b"].requires_grad
    assert out["model"]["w"].dtype == minigrad.float32
    assert out["step"] == 7 and out["big"] == 2**70 and out["lr"] == 0.1
    assert out["specials"][:2] == [math.inf, -math.inf] and math.copysign(1, out["specials"][2]) == -1
    assert out["specials"][3] == 1e-310
    assert out["name"] == "net" and out["raw"] == b"\x00\x01" and out["flag"] is False and out["none"] is None
    assert out["tuple"] == (1, (2.5, "x")) and isinstance(out["tuple"][1], tuple)
    arr, f32, i64 = out[3]
    np.testing.assert_array_equal(arr, np.arange(3))
    assert isinstance(f32, np.float32) and f32 == 1.5 and isinstance(i64, np.int64)
    assert out["dtype"] is minigrad.float16
    nan = _roundtrip([math.nan])[0]
    assert math.isnan(nan)


def test_parameter_round_trip():
    from minigrad.nn.parameter import Parameter

    p = Parameter(minigrad.tensor(np.ones(3)))
    out = _roundtrip({"p": p})["p"]
    assert isinstance(out, Parameter) and out.requires_grad
    np.testing.assert_array_equal(out.array, np.ones(3))


def test_optimizer_state_dict_round_trip(tmp_path):
    params = [minigrad.tensor(np.linspace(0, 1, 4), requires_grad=True)]
    opt = minigrad.optim.AdamW(params, lr=0.01, amsgrad=True)
    params[0].grad = minigrad.tensor(np.ones(4))
    opt.step()
    sd = opt.state_dict()
    out = _roundtrip(sd, tmp_path)
    assert out["param_groups"] == sd["param_groups"]
    assert sorted(out["state"]) == [0] and out["state"][0]["step"].dtype == minigrad.float32
    for k, v in sd["state"][0].items():
        np.testing.assert_array_equal(out["state"][0][k].array, v.array)


def test_path_like_and_file_objects(tmp_path):
    t = minigrad.arange(5)
    minigrad.save(t, tmp_path / "a.bin")  # pathlib.Path
    with open(tmp_path / "a.bin", "rb") as fh:
        np.testing.assert_array_equal(minigrad.load(fh).array, np.arange(5))
    with open(tmp_path / "b.bin", "wb") as fh:
        minigrad.save({"t": t}, fh)
    np.testing.assert_array_equal(minigrad.load(tmp_path / "b.bin", weights_only=False)["t"].array, np.arange(5))
    with pytest.raises(TypeError, match="writable binary file"):
        minigrad.save(t, 42)
    with open(tmp_path / "b.bin", encoding="latin-1") as fh, pytest.raises(TypeError, match="text mode"):
        minigrad.load(fh)


def test_map_location(tmp_path):
    t = minigrad.tensor([1.0, 2.0])
    path = tmp_path / "m.pt"
    minigrad.save(t, path)
    assert minigrad.load(path, map_location="cpu").device == backend.CPU
    assert minigrad.load(path, map_location={"cuda:0": "cpu"}).device == backend.CPU
    seen = []
    out = minigrad.load(path, map_location=lambda storage, loc: seen.append(loc) or storage)
    assert seen == ["cpu"] and out.device == backend.CPU
    if backend.gpu_module() is None:
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            minigrad.load(path, map_location="cuda")


def test_no_temp_files_and_old_file_survives_a_failed_write(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    minigrad.save({"w": minigrad.ones(3)}, path)
    minigrad.save({"w": minigrad.ones(4)}, path)  # overwrite
    assert os.listdir(tmp_path) == ["model.pt"]
    assert minigrad.load(path)["w"].shape == (4,)
    before = path.read_bytes()

    calls = []
    real = np.lib.format.write_array

    def crash(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        return real(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", crash)
    with pytest.raises(OSError, match="disk full"):
        minigrad.save({"a": minigrad.zeros(100), "b": minigrad.zeros(100)}, path)
    monkeypatch.undo()
    assert len(calls) == 2  # the crash really happened mid-write
    assert os.listdir(tmp_path) == ["model.pt"]  # the temporary file was removed
    assert path.read_bytes() == before
    assert minigrad.load(path)["w"].shape == (4,)


def test_unsupported_objects_name_the_key_path(tmp_path):
    path = tmp_path / "x.pt"
    minigrad.save([1], path)
    with pytest.raises(TypeError, match=r"object of type builtins.object at obj\['layers'\]\[1\]\['w'\]"):
        minigrad.save({"layers": [{}, {"w": object()}]}, path)
    assert minigrad.load(path) == [1]  # nothing was written
    with pytest.raises(TypeError, match=r"dict key \(1, 2\)"):
        minigrad.save({(1, 2): 3}, io.BytesIO())
    with pytest.raises(TypeError, match="namedtuple Point"):
        minigrad.save({"p": namedtuple("Point", "x y")(1, 2)}, io.BytesIO())
    with pytest.raises(TypeError, match="dtype <U1"):
        minigrad.save(np.array(["a"]), io.BytesIO())
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match=r"circular reference at obj\[0\]"):
        minigrad.save(loop, io.BytesIO())
    assert os.listdir(tmp_path) == ["x.pt"]


def _checkpoint_bytes():
    buf = io.BytesIO()
    minigrad.save({"w": minigrad.tensor(np.arange(2000, dtype=np.float64))}, buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    "kind,match",
    [
        ("text", "not a minigrad checkpoint: it is not a zip archive"),
        ("empty", "the file is empty"),
        ("truncated", "truncated or corrupted"),
        ("corrupted", "is corrupted: could not read arrays/0.npy"),
        ("torch", "PyTorch checkpoint"),
        ("torch-legacy", "pickle file"),
        ("pickle", "pickle file"),
        ("npz", "NumPy .npz"),
        ("npy", "NumPy .npy"),
    ],
)
def test_bad_files_give_clear_errors(kind, match, tmp_path):
    path = tmp_path / f"bad-{kind}.pt"
    if kind == "text":
        path.write_text("hello, I am not a checkpoint\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(_checkpoint_bytes()[:5000])
    elif kind == "corrupted":
        data = bytearray(_checkpoint_bytes())
        data[len(data) // 2] ^= 0xFF  # flips bits inside the array's data: the CRC check catches it
        path.write_bytes(bytes(data))
    elif kind == "torch":
        torch.save({"w": torch.ones(2)}, path)
    elif kind == "torch-legacy":
        torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    elif kind == "pickle":
        path.write_bytes(pickle.dumps({"a": 1}))
    elif kind == "npz":
        np.savez(path, a=np.ones(2))
        path = tmp_path / f"bad-{kind}.pt.npz"
    elif kind == "npy":
        with open(path, "wb") as fh:
            np.save(fh, np.ones(3))
    with pytest.raises(CheckpointError, match=match) as info:
        minigrad.load(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, RuntimeError)


def test_manifest_problems_are_reported(tmp_path):
    import json
    import zipfile

    def write(manifest, arrays=()):
        path = tmp_path / "m.pt"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("minigrad.json", manifest if isinstance(manifest, str) else json.dumps(manifest))
            for name, arr in arrays:
                with zf.open(name, "w") as fh:
                    np.lib.format.write_array(fh, arr)
        return path

    with pytest.raises(CheckpointError, match="could not read the manifest"):
        minigrad.load(write("{not json"))
    with pytest.raises(CheckpointError, match="newer minigrad"):
        minigrad.load(write({"format": "minigrad-checkpoint", "version": 99, "root": {"t": "none"}}))
    root = {"t": "tensor", "i": 0, "dtype": "float32", "shape": [2]}
    with pytest.raises(CheckpointError, match="arrays/0.npy, which is missing"):
        minigrad.load(write({"format": "minigrad-checkpoint", "version": 1, "root": root}))
    with pytest.raises(CheckpointError, match="manifest says float32"):
        minigrad.load(
            write({"format": "minigrad-checkpoint", "version": 1, "root": root}, [("arrays/0.npy", np.ones(2))])
        )
    with pytest.raises(CheckpointError, match="unknown manifest entry type 'pickle'"):
        minigrad.load(write({"format": "minigrad-checkpoint", "version": 1, "root": {"t": "pickle"}}))
    with pytest.raises(CheckpointError, match="arrays/0.npy holds dtype object"):  # object arrays are never unpickled
        minigrad.load(
            write(
                {"format": "minigrad-checkpoint", "version": 1, "root": {"t": "ndarray", "i": 0}},
                [("arrays/0.npy", np.array([{"a": 1}], dtype=object))],
            )
        )


def test_gpu_tensors_round_trip_and_map_location(monkeypatch):
    from minigrad import _fakegpu

    monkeypatch.setattr(backend, "_gpu_module", _fakegpu)
    t = minigrad.tensor(np.arange(4.0), device="cuda:1")
    buf = io.BytesIO()
    minigrad.save({"t": t, "c": minigrad.ones(2)}, buf)
    buf.seek(0)
    out = minigrad.load(buf)
    assert str(out["t"].device) == "cuda:1" and out["c"].device == backend.CPU
    np.testing.assert_array_equal(out["t"].cpu().array, np.arange(4.0))
    buf.seek(0)
    assert minigrad.load(buf, map_location="cpu")["t"].device == backend.CPU
    buf.seek(0)
    moved = minigrad.load(buf, map_location={"cuda:1": "cuda:0", "cpu": "cuda:0"})
    assert str(moved["t"].device) == "cuda:0" and str(moved["c"].device) == "cuda:0"


def test_save_into_missing_directory_and_file_mode(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        minigrad.save(minigrad.ones(1), tmp_path / "no" / "such" / "dir.pt")
    old = os.umask(0o022)
    try:
        minigrad.save(minigrad.ones(1), tmp_path / "m.pt")
    finally:
        os.umask(old)
    assert (tmp_path / "m.pt").stat().st_mode & 0o777 == 0o644  # like any new file, not mkstemp's 0600


def test_model_state_dict_round_trip(tmp_path):
    nn = minigrad.nn
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    path = tmp_path / "best_model.pt"
    minigrad.save(model.state_dict(), path)
    other = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    other.load_state_dict(minigrad.load(path))
    for (k, a), (k2, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert k == k2 and a.dtype == b.dtype
        np.testing.assert_array_equal(a.array, b.array)


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.binary(max_size=5),
    hnp.arrays(
        st.sampled_from([np.float32, np.float64, np.int64, np.int8, np.bool_, np.float16]),
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
    ).map(minigrad.from_numpy),
)
_tree = st.recursive(
    _leaf,
    lambda kids: st.one_of(
        st.lists(kids, max_size=3),
        st.lists(kids, max_size=3).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=4), st.integers(-5, 5)), kids, max_size=3),
        st.dictionaries(st.text(max_size=4), kids, max_size=3).map(OrderedDict),
    ),
    max_leaves=10,
)


def _same(a, b):
    assert type(a) is type(b)
    if isinstance(a, minigrad.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a.array, b.array)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    else:
        assert a == b


@given(_tree)
def test_round_trip_of_arbitrary_nested_objects(obj):
    _same(_roundtrip(obj), obj)
