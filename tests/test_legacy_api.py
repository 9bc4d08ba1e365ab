"""Older torch spellings still common in tutorials behave as in torch: Variable, FloatTensor(...),
Tensor.type(...), torch.functional, set_default_device, out=."""

import numpy as np
import pytest
import torch

import minigrad as mg


@pytest.mark.parametrize("lib", [torch, mg], ids=["torch", "minigrad"])
def test_variable_is_a_tensor_sharing_memory(lib):
    t = lib.ones(2)
    v = lib.autograd.Variable(t, requires_grad=True)
    assert v is not t and v.requires_grad and not t.requires_grad
    assert isinstance(t, lib.autograd.Variable) and isinstance(v, lib.Tensor)
    with lib.no_grad():
        t.add_(1)
    assert v.tolist() == [2.0, 2.0]  # the same memory


@pytest.mark.parametrize(
    "name, data",
    [
        ("FloatTensor", [1, 2]),
        ("DoubleTensor", [[1.5, 2.0]]),
        ("LongTensor", [1.7, -2.9]),
        ("IntTensor", [3]),
        ("BoolTensor", [1, 0]),
        ("ByteTensor", [1, 255]),
        ("FloatTensor", []),
    ],
)
def test_typed_constructors_match_torch(name, data):
    want = getattr(torch, name)(data)
    got = getattr(mg, name)(data)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert got.tolist() == want.tolist()


def test_typed_constructor_with_sizes_and_isinstance():
    assert tuple(mg.FloatTensor(2, 3).shape) == tuple(torch.FloatTensor(2, 3).shape) == (2, 3)
    for dtype, name in [("float32", "FloatTensor"), ("float64", "DoubleTensor"), ("int64", "LongTensor")]:
        for other in ["FloatTensor", "DoubleTensor", "LongTensor"]:
            t, m = torch.zeros(1, dtype=getattr(torch, dtype)), mg.zeros(1, dtype=getattr(mg, dtype))
            assert isinstance(m, getattr(mg, other)) == isinstance(t, getattr(torch, other)), (name, other)


@pytest.mark.parametrize("target", ["torch.LongTensor", "torch.DoubleTensor", "LongTensor-class", "int32"])
def test_tensor_type_converts_as_torch(target):
    def convert(lib, x):
        if target.endswith("-class"):
            return x.type(getattr(lib, target.split("-")[0]))
        if "." in target:
            return x.type(target)
        return x.type(getattr(lib, target))

    x = np.array([1.5, -2.5, 3.0])
    got, want = convert(mg, mg.tensor(x)), convert(torch, torch.tensor(x))
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert got.tolist() == want.tolist()


def test_tensor_type_names_and_bad_names():
    assert mg.ones(1).type() == "minigrad.FloatTensor" and torch.ones(1).type() == "torch.FloatTensor"
    assert mg.ones(1, dtype=mg.int64).type() == "minigrad.LongTensor"
    with pytest.raises(ValueError, match="invalid type"):
        mg.ones(1).type("torch.NoSuchTensor")


def test_torch_functional_module_holds_the_same_functions():
    import torch.functional as tf

    import minigrad.functional as mf

    assert mf.F is mg.nn.functional
    for name in mf.__all__:
        assert hasattr(tf, name) and getattr(mf, name) is getattr(mg, name)


def test_default_device_is_used_by_creation_functions():
    assert str(mg.get_default_device()) == str(torch.get_default_device()) == "cpu"
    mg.set_default_device("cpu")
    try:
        assert mg.zeros(2).device.type == "cpu"
        with pytest.raises((ValueError, RuntimeError)):
            mg.set_default_device("tpu")
    finally:
        mg.set_default_device(None)
    assert str(mg.get_default_device()) == "cpu"


@pytest.mark.parametrize(
    "name, make_args",
    [
        ("matmul", lambda lib: (lib.ones(2, 3), lib.ones(3, 2))),
        ("add", lambda lib: (lib.ones(2), lib.tensor([1.0, 2.0]))),
        ("mul", lambda lib: (lib.ones(2), lib.tensor([3.0, 2.0]))),
        ("exp", lambda lib: (lib.tensor([0.0, 1.0]),)),
        ("cat", lambda lib: ([lib.ones(1), lib.zeros(2)],)),
    ],
)
@pytest.mark.parametrize("out_shape", [(0,), "same"])
def test_out_argument_writes_into_the_given_tensor(name, make_args, out_shape):
    results = []
    for lib in (torch, mg):
        args = make_args(lib)
        want_shape = tuple(getattr(lib, name)(*args).shape)
        out = lib.empty(want_shape if out_shape == "same" else out_shape)
        got = getattr(lib, name)(*args, out=out)
        assert got is out and tuple(out.shape) == want_shape
        results.append(out.tolist())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6)  # float32: exp may differ in the last bit


def test_out_argument_errors_match_torch():
    for lib in (torch, mg):
        a = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            lib.add(a, a, out=lib.empty(2))
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
            lib.add(lib.ones(2), lib.ones(2), out=lib.empty(2, dtype=lib.int64))
