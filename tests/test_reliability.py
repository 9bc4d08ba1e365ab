"""Findings of the red-team pass: each case once silently differed from torch or crashed badly.

Every test runs the same code on torch and on minigrad and demands the same answer, or the same
refusal (both raise).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import minigrad as mg
from tests.opcheck import DEVICE


def _run(lib, fn):
    """``fn(lib)`` as a NumPy value, or the exception type it raised."""
    try:
        out = fn(lib)
    except Exception as exc:  # noqa: BLE001 - the type is what we compare
        return type(exc)
    if isinstance(out, (torch.Tensor, mg.Tensor)):
        return out.detach().cpu().numpy()
    return out


def same_as_torch(fn, rtol=0.0, atol=0.0):
    """Run ``fn`` on both libraries: both raise (any error), or both give equal values and dtypes."""
    want, got = _run(torch, fn), _run(mg, fn)
    if isinstance(want, type) or isinstance(got, type):
        assert isinstance(want, type) and isinstance(got, type), f"torch gave {want!r}, minigrad {got!r}"
        return
    want, got = np.asarray(want), np.asarray(got)
    assert got.dtype == want.dtype, f"dtype {got.dtype}, torch {want.dtype}"
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)


# ------------------------------------------------------------------ creation: no detour through float32
@pytest.mark.parametrize("values", [[0.1], [1e300], [1e-300], [1.7, -1.7], [2**40], [[0.1, 2.0], [3.0, 1e-310]]])
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int64", "int32", "uint8", "bool"])
def test_tensor_from_python_values_goes_straight_to_the_requested_dtype(values, dtype):
    same_as_torch(lambda L: L.tensor(values, dtype=getattr(L, dtype)))


@pytest.mark.parametrize("values", [[-1], [-200], [256], [-1.5], [float("nan")], [2**63 - 1], [2.5e9]])
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_integer_overflow_from_python_values_is_refused_as_in_torch(values, dtype):
    same_as_torch(lambda L: L.tensor(values, dtype=getattr(L, dtype)))


@pytest.mark.parametrize(
    "build",
    [
        lambda L: L.tensor([0.1, 1e300], dtype=L.float64, requires_grad=True),
        lambda L: L.as_tensor([0.1, 1e-300], dtype=L.float64),
        lambda L: L.zeros(2, dtype=L.float64).new_tensor([0.1, 1e300]),
        lambda L: L.tensor([np.float64(0.1), np.float64(1e300)]),
        lambda L: L.tensor([[np.float64(0.1)], [0.2]]),
        lambda L: L.tensor([np.float16(1.0), 0.1]),
        lambda L: L.tensor([np.float32(0.1), np.float16(2.0)]),
        lambda L: L.tensor([np.int32(3)]),
        lambda L: L.tensor([np.int32(3), 2]),
        lambda L: L.tensor([True, np.float64(0.1)]),
        lambda L: L.tensor(np.float64(0.1)),
        lambda L: L.tensor([1e300]),
        lambda L: L.tensor([L.tensor(0.1, dtype=L.float64), 2.0]),
    ],
)
def test_inferred_and_requested_dtypes_match_torch(build):
    same_as_torch(build)


# ------------------------------------------------------------------ float16 accumulates in float32
H = "float16"
HALF_CASES = {
    "mean of 70000 ones": lambda L: L.ones(70000, dtype=L.float16).mean(),
    "mean of 1000 x 100": lambda L: L.full((1000,), 100.0, dtype=L.float16).mean(),
    "sum of 3000 ones": lambda L: L.ones(3000, dtype=L.float16).sum(),
    "sum overflows to inf": lambda L: L.ones(70000, dtype=L.float16).sum(),
    "var": lambda L: L.full((1000,), 100.0, dtype=L.float16).var(),
    "std rows": lambda L: L.full((3, 70000), 3.0, dtype=L.float16).std(1),
    "cumsum of 3000 ones": lambda L: L.ones(3000, dtype=L.float16).cumsum(0),
    "norm": lambda L: L.ones(70000, dtype=L.float16).norm(),
    "softmax": lambda L: L.ones(70000, dtype=L.float16).softmax(0),
    "log_softmax": lambda L: L.linspace(0, 1, 3000, dtype=L.float16).log_softmax(0),
    "logsumexp (torch rounds the sum)": lambda L: L.ones(70000, dtype=L.float16).logsumexp(0),
    "mse_loss": lambda L: L.nn.functional.mse_loss(
        L.full((70000,), 2.0, dtype=L.float16), L.zeros(70000, dtype=L.float16)
    ),
    "mse_loss sum": lambda L: L.nn.functional.mse_loss(
        L.full((7000,), 2.0, dtype=L.float16), L.zeros(7000, dtype=L.float16), reduction="sum"
    ),
    "l1_loss": lambda L: L.nn.functional.l1_loss(
        L.full((70000,), 2.0, dtype=L.float16), L.zeros(70000, dtype=L.float16)
    ),
    "bce with logits": lambda L: L.nn.functional.binary_cross_entropy_with_logits(
        L.full((70000,), 2.0, dtype=L.float16), L.zeros(70000, dtype=L.float16)
    ),
}


@pytest.mark.parametrize("name", list(HALF_CASES))
def test_float16_reductions_accumulate_as_torch(name):
    same_as_torch(HALF_CASES[name], rtol=1e-3)


@pytest.mark.parametrize("loss", ["mean", "mse", "softmax", "var"])
def test_float16_reduction_gradients_as_torch(loss):
    def fn(L):
        x = L.linspace(0, 1, 3000, dtype=L.float16).requires_grad_()
        w = L.arange(3000, dtype=L.float16).flip(0) / 3000
        y = {
            "mean": lambda: x.mean(),
            "mse": lambda: L.nn.functional.mse_loss(x, w),
            "softmax": lambda: (x.softmax(0) * w).sum(),
            "var": lambda: x.var(),
        }[loss]()
        y.backward()
        return x.grad

    # elements that cancel to within float16's rounding may differ by an ulp of the largest gradient
    scale = float(np.abs(_run(torch, fn)).max())
    same_as_torch(fn, rtol=2e-3, atol=2e-3 * scale)


def test_float16_on_the_device_under_test():
    x = mg.ones(70000, dtype=mg.float16, device=DEVICE)
    assert x.mean().item() == 1.0 and math.isinf(x.sum().item())


# ------------------------------------------------------------------ in-place writes after an op saved its values
# op name -> the op applied to a non-leaf h; then either its input h or its output is modified in place and
# backward runs: torch raises exactly when the op saved the modified tensor, and so must minigrad
SAVING_OPS = {
    "softmax": lambda h: h.softmax(-1),
    "log_softmax": lambda h: h.log_softmax(-1),
    "logsumexp": lambda h: h.logsumexp(-1),
    "prod": lambda h: h.prod(-1),
    "norm": lambda h: h.norm(dim=-1),
    "var": lambda h: h.var(-1),
    "std": lambda h: h.std(-1),
    "pow": lambda h: h.abs().pow(h),
    "expm1": lambda h: h.expm1(),
    "exp": lambda h: h.exp(),
    "tanh": lambda h: h.tanh(),
    "mul": lambda h: h * h,
    "sum": lambda h: h.sum(-1),
}


@pytest.mark.parametrize("written", ["input", "output"])
@pytest.mark.parametrize("name", list(SAVING_OPS))
def test_write_after_save_raises_exactly_when_torch_does(name, written):
    def fn(L):
        gen = np.random.default_rng(0)
        x = L.tensor(gen.standard_normal((3, 4)), requires_grad=True)
        h = x * 1.5
        y = SAVING_OPS[name](h)
        (h if written == "input" else y).mul_(2)
        y.sum().backward()
        return x.grad

    same_as_torch(fn, rtol=1e-12)


# ------------------------------------------------------------------ activations: F names, modules, inplace
ACTIVATIONS = ["relu", "relu6", "leaky_relu", "elu", "hardtanh", "silu", "selu", "mish", "hardsigmoid", "hardswish"]
MODULES = {
    "relu": "ReLU",
    "relu6": "ReLU6",
    "leaky_relu": "LeakyReLU",
    "elu": "ELU",
    "hardtanh": "Hardtanh",
    "silu": "SiLU",
    "selu": "SELU",
    "mish": "Mish",
    "hardsigmoid": "Hardsigmoid",
    "hardswish": "Hardswish",
}


@pytest.mark.parametrize("via", ["functional", "module"])
@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_inplace_flag_as_torch(name, inplace, via):
    def fn(L):
        x = L.tensor(np.linspace(-4, 4, 12).reshape(3, 4), requires_grad=True)
        h = x * 1.0  # a non-leaf: writing into it is allowed
        act = getattr(L.nn.functional, name) if via == "functional" else getattr(L.nn, MODULES[name])(inplace=inplace)
        y = act(h, inplace=inplace) if via == "functional" else act(h)
        assert (y is h) == inplace, "inplace=True must return the input itself"
        (y * L.arange(12.0, dtype=y.dtype).reshape(3, 4)).sum().backward()
        return np.concatenate([h.detach().numpy().ravel(), x.grad.numpy().ravel()])

    same_as_torch(fn, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_inplace_on_a_leaf_that_requires_grad_raises(name):
    same_as_torch(lambda L: getattr(L.nn.functional, name)(L.ones(3, requires_grad=True), inplace=True))


@pytest.mark.parametrize("name", ["logsigmoid", "softsign"])
def test_activations_without_inplace(name):
    def fn(L):
        x = L.tensor(np.linspace(-4, 4, 9), requires_grad=True)
        y = getattr(L.nn.functional, name)(x)
        module = {"logsigmoid": L.nn.LogSigmoid, "softsign": L.nn.Softsign}[name]()
        (y * module(x)).sum().backward()
        return x.grad

    same_as_torch(fn, rtol=1e-12)


def test_dropout_inplace_overwrites_its_input():
    x = mg.ones(1000, dtype=mg.float64, requires_grad=True)
    h = x * 1.0
    y = mg.nn.functional.dropout(h, 0.5, training=True, inplace=True)
    assert y is h
    y.sum().backward()
    kept = h.detach().numpy() != 0
    np.testing.assert_array_equal(x.grad.numpy(), np.where(kept, 2.0, 0.0))
    assert 400 < kept.sum() < 600


# ------------------------------------------------------------------ results that must be new tensors, not the input
@pytest.mark.parametrize(
    "make", [lambda L, x: x.t(), lambda L, x: L.nn.functional.pad(x, (0, 0)), lambda L, x: x[None].t()]
)
def test_a_hook_on_a_no_op_result_scales_only_that_path(make):
    def fn(L):
        x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
        y = make(L, x)
        assert y is not x
        y.register_hook(lambda g: g * 2)
        (x + y).sum().backward()
        return x.grad

    same_as_torch(fn)


@pytest.mark.parametrize("reduce", ["amax", "amin", "max", "min", "amax_dim", "max_dim"])
def test_writing_into_a_max_result_before_backward_as_torch(reduce):
    def fn(L):
        x = L.tensor([[1.0, 3.0], [2.0, 0.5]], dtype=L.float64, requires_grad=True)
        y = {
            "amax": x.amax,
            "amin": x.amin,
            "max": x.max,
            "min": x.min,
            "amax_dim": lambda: x.amax(1),
            "max_dim": lambda: x.max(1).values,
        }[reduce]()
        y.mul_(2)
        y.sum().backward()
        return x.grad

    same_as_torch(fn)


@pytest.mark.parametrize("values", [[1.18e-203], [[1e-200], [3.0]], [1e-200, 1e-200], [1e200, 1e200]])
@pytest.mark.parametrize("p", [2, 3, 1])
def test_norm_of_tiny_and_huge_values_as_torch(values, p):
    # torch returns |x| for a one-element slice and otherwise squares without rescaling (0 and inf here)
    same_as_torch(lambda L: L.tensor(values, dtype=L.float64).norm(p=p, dim=-1), rtol=1e-12)


# ------------------------------------------------------------------ autograd.grad and leaf flags, found by the fuzzer
def _grad_only_below_y(L):
    x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
    y = x.exp()
    z = y * 3
    y.sum().backward()  # frees exp's saved result; autograd.grad(z, [y]) must not need it
    return L.autograd.grad(z, [y], L.ones(2, dtype=L.float64))[0]


def _retain_grad_under_autograd_grad(L):
    x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
    y = x * 3
    y.retain_grad()
    L.autograd.grad((y * y).sum(), [x])
    return y.grad


def _leaf_that_stopped_requiring_grad(L):
    x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.sum().item()))
    y = x.clone()
    x.requires_grad_(False)
    y.sum().backward()
    return [float(x.grad is None)] + seen


@pytest.mark.parametrize(
    "case", [_grad_only_below_y, _retain_grad_under_autograd_grad, _leaf_that_stopped_requiring_grad]
)
def test_autograd_edges_as_torch(case):
    same_as_torch(case)


@pytest.mark.parametrize(
    "write",
    [
        lambda x: x.add_(x[0]),
        lambda x: x.add_(x),
        lambda x: x[::2].add_(x[1::2]),
        lambda x: x[1:].mul_(x[:-1]),
        lambda x: x[:2].sub_(x[2:]),
        lambda x: x.div_(x.flip(0)[0]),
    ],
)
def test_in_place_arithmetic_on_overlapping_memory_as_torch(write):
    # torch refuses an operand that partly overlaps the written tensor; identical or disjoint memory is fine
    same_as_torch(lambda L: write(L.arange(1.0, 5.0, dtype=L.float64)))


@pytest.mark.parametrize("write", ["whole", "through a view"])
def test_retain_grad_follows_the_tensor_through_an_inplace_write(write):
    def fn(L):
        x = L.tensor([0.5, 1.0], dtype=L.float64, requires_grad=True)
        h = x * 2
        h.retain_grad()
        (h.mul_(3) if write == "whole" else h[0].mul_(3))
        (h * h).sum().backward()
        return np.concatenate([h.grad.numpy(), x.grad.numpy()])

    same_as_torch(fn)


def test_hooks_and_retained_grads_survive_a_freed_graph():
    def fn(L):
        x = L.zeros(2, 2, dtype=L.float64, requires_grad=True)
        y = L.nn.functional.softplus(x)
        y.retain_grad()
        calls = []
        y.register_hook(lambda g: calls.append(g.sum().item()))
        y.backward(L.ones(2, 2, dtype=L.float64))
        with pytest.raises(RuntimeError):  # softplus's saved input is freed; its hooks still run first
            y.sum().backward()
        return np.concatenate([y.grad.numpy().ravel(), calls])

    same_as_torch(fn)


@pytest.mark.parametrize("write", ["setitem", "copy_", "copy_ through a view", "fill_ through a view"])
def test_second_autograd_grad_through_a_written_region_as_torch(write):
    def fn(L):
        x = L.ones(2, 3, dtype=L.float64, requires_grad=True)
        buf = L.zeros(2, 3, dtype=L.float64)
        {
            "setitem": lambda: buf.__setitem__(0, x[0]),
            "copy_": lambda: buf.copy_(x),
            "copy_ through a view": lambda: buf[0].copy_(x[0]),
            "fill_ through a view": lambda: buf[0].fill_(x[0].sum()),
        }[write]()
        first = L.autograd.grad(buf.sum(), [x])[0]
        second = L.autograd.grad(buf.sum(), [x])[0]  # torch refuses where a CopySlices node was freed
        return np.concatenate([first.numpy().ravel(), second.numpy().ravel()])

    same_as_torch(fn)
