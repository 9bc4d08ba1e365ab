"""Tensor attributes, conversions and creation ops, against torch where torch defines the answer."""

import numpy as np
import pytest
import torch

import minigrad as mg


def _name(dt):
    return str(dt).split(".")[-1]


@pytest.mark.parametrize(
    "data",
    [
        1.5,
        3,
        True,
        [1, 2],
        [1.0, 2],
        [[True, False]],
        [],
        np.float64(2.0),
        np.arange(3, dtype=np.int32),
        np.ones(2, dtype=np.float16),
    ],
)
def test_tensor_dtype_inference_matches_torch(data):
    assert _name(mg.tensor(data).dtype) == _name(torch.tensor(data).dtype)
    assert mg.tensor(data).shape == tuple(torch.tensor(data).shape)


@pytest.mark.parametrize(
    "fn, args, kwargs",
    [
        ("zeros", (2, 3), {}),
        ("ones", ((4,),), {}),
        ("full", ((2, 2), 7), {}),
        ("full", ((2,), 1.5), {}),
        ("full", ((2,), True), {}),
        ("arange", (5,), {}),
        ("arange", (1, 4, 0.5), {}),
        ("arange", (0.0, 1.0, 0.1), {}),
        ("arange", (10, 0, -3), {}),
        ("linspace", (0, 1, 7), {}),
        ("eye", (3,), {}),
        ("eye", (2, 4), {}),
        ("zeros", (2,), {"dtype": "float64"}),
        ("ones", (3,), {"dtype": "int32"}),
        ("empty", (0, 2), {}),
    ],
)
def test_deterministic_creation_matches_torch(fn, args, kwargs):
    kw_m = {k: getattr(mg, v) for k, v in kwargs.items()}
    kw_t = {k: getattr(torch, v) for k, v in kwargs.items()}
    m, t = getattr(mg, fn)(*args, **kw_m), getattr(torch, fn)(*args, **kw_t)
    assert _name(m.dtype) == _name(t.dtype)
    assert m.shape == tuple(t.shape)
    if fn != "empty":
        np.testing.assert_allclose(m.numpy(), t.numpy(), rtol=1e-6)


def test_like_creation_and_random_shapes():
    x = mg.zeros(2, 3, dtype=mg.float64)
    assert mg.ones_like(x).dtype == mg.float64 and mg.full_like(x, 2).tolist() == [[2.0] * 3] * 2
    assert mg.zeros_like(x).shape == (2, 3) and mg.empty_like(x).shape == (2, 3)
    assert mg.rand(3, 4).dtype == mg.float32 and mg.randn((2,)).shape == (2,)
    r = mg.randint(0, 5, (1000,))
    assert r.dtype == mg.int64 and r.numpy().min() >= 0 and r.numpy().max() <= 4
    u = mg.rand(20000).numpy()
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    n = mg.randn(20000).numpy()
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1) < 0.03
    assert sorted(mg.randperm(6).tolist()) == list(range(6))


def test_manual_seed_reproduces():
    mg.manual_seed(123)
    a = mg.randn(5).tolist()
    mg.manual_seed(123)
    assert mg.randn(5).tolist() == a
    g = mg.Generator().manual_seed(7)
    b = mg.rand(3, generator=g).tolist()
    assert mg.rand(3, generator=mg.Generator().manual_seed(7)).tolist() == b


def test_from_numpy_shares_memory_and_keeps_dtype():
    a = np.arange(4, dtype=np.int32)
    t = mg.from_numpy(a)
    a[0] = 9
    assert t.dtype == mg.int32 and t.tolist()[0] == 9
    with pytest.raises(TypeError, match="complex"):
        mg.from_numpy(np.ones(2, dtype=np.complex64))


def test_attributes():
    x = mg.zeros(2, 3, 4, requires_grad=True)
    assert x.shape == (2, 3, 4) and x.size() == mg.Size([2, 3, 4]) and x.size(-1) == 4
    assert x.ndim == 3 and x.dim() == 3 and x.numel() == 24 and len(x) == 2
    assert x.is_leaf and x.grad is None and x.grad_fn is None and x.requires_grad
    assert x.device == mg.device("cpu") and str(x.device) == "cpu" and x.dtype.is_floating_point
    assert repr(x.shape) == "minigrad.Size([2, 3, 4])"
    y = x * 2
    assert not y.is_leaf and y.grad_fn is not None


def test_item_tolist_and_scalar_conversions():
    assert mg.tensor(2.5).item() == 2.5 and isinstance(mg.tensor(3).item(), int)
    assert float(mg.tensor([1.5])) == 1.5 and int(mg.tensor(7)) == 7 and bool(mg.tensor(True))
    assert mg.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    with pytest.raises(RuntimeError, match="4 elements"):
        mg.ones(4).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(mg.ones(2))


def test_to_and_casts_are_differentiable():
    x = mg.tensor([1.25, 2.5], dtype=mg.float32, requires_grad=True)
    y = x.double()
    assert y.dtype == mg.float64 and y.requires_grad
    (y * y).backward(mg.ones(2, dtype=mg.float64))
    assert x.grad.dtype == mg.float32 and x.grad.tolist() == [2.5, 5.0]
    assert x.to(mg.float64).dtype == mg.float64 and x.to("cpu") is x
    assert mg.tensor([1.7, -1.7]).long().tolist() == [1, -1]  # truncation, like torch
    assert mg.tensor([0, 2]).bool().tolist() == [False, True] and x.int().dtype == mg.int32


def test_requires_grad_rules():
    with pytest.raises(RuntimeError, match="floating point"):
        mg.tensor([1, 2], requires_grad=True)
    x = mg.ones(2).requires_grad_()
    assert x.requires_grad
    with pytest.raises(RuntimeError, match="leaf"):
        (x * 2).requires_grad_(False)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf


@pytest.mark.parametrize("data", [[1.0, 2.5], [[1, 2], [3, 4]], [True, False], 3.0, [0.1, 123.456]])
def test_repr_looks_like_torch(data):
    expected = repr(torch.tensor(data)).replace("torch.", "minigrad.")
    assert repr(mg.tensor(data)) == expected


def test_repr_shows_grad_state_and_dtype():
    assert repr(mg.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert repr(mg.tensor([1.0], dtype=mg.float64)) == "tensor([1.], dtype=minigrad.float64)"
    assert "grad_fn=<MulBackward0>" in repr(mg.tensor([1.0], requires_grad=True) * 2)


def test_bad_device_strings():
    with pytest.raises(RuntimeError, match="unknown device type"):
        mg.device("tpu")
    assert mg.device("cuda:1").index == 1 and repr(mg.device("cpu")) == "device(type='cpu')"


def test_negative_size_is_an_error():
    with pytest.raises(RuntimeError, match="negative dimension"):
        mg.zeros(2, -1)


def test_operator_type_errors_name_the_op():
    with pytest.raises(TypeError, match="add"):
        mg.ones(2) + "a"
