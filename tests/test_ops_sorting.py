"""Sorting and selection against torch: values, int64 indices, gradients (random upstream gradient) and
float64 gradchecks; ties follow torch's rules (stable sorts, cummax's latest index, median's shared gradient)."""

import numpy as np
import pytest
import torch

import minigrad as mg
from tests.opcheck import compare

rng = np.random.default_rng(0)
X = rng.permutation(24).astype(np.float64).reshape(2, 3, 4) * 0.37 - 2  # distinct values: smooth gradients
TIES = np.array([[3.0, 1, 2, 1, 3], [0, 5, 5, 2, 5]])


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_and_argsort(dim, descending):
    compare(lambda lib, x: lib.sort(x, dim, descending), X)
    compare(lambda lib, x: lib.sort(x, dim=dim, descending=descending, stable=True), TIES.astype(np.float32))
    compare(lambda lib, x: lib.argsort(x, dim, descending), X, grad=False)
    compare(lambda lib, x: x.sort(dim, descending=descending), TIES, grad=False)


def test_sort_is_a_named_tuple_and_puts_nan_last():
    x = np.array([2.0, np.nan, -1.0, np.nan, 0.5])
    compare(lambda lib, t: lib.sort(t), x, grad=False)
    compare(lambda lib, t: lib.sort(t, descending=True), x, grad=False)
    out = mg.sort(mg.tensor(X), 1)
    assert out.indices.dtype is mg.int64 and out.values.shape == out.indices.shape == (2, 3, 4)
    compare(lambda lib, t: lib.sort(t), np.array(3.5))  # 0-d


@pytest.mark.parametrize("largest", [True, False])
def test_topk(largest):
    compare(lambda lib, x: lib.topk(x, 2, dim=1, largest=largest), X)
    compare(lambda lib, x: x.topk(3, largest=largest), X)
    compare(lambda lib, x: lib.topk(x, 0), X)
    with pytest.raises(RuntimeError, match="k out of range"):
        mg.topk(mg.tensor(X), 5)


@pytest.mark.parametrize("keepdim", [False, True])
def test_kthvalue_and_median_along_a_dim(keepdim):
    compare(lambda lib, x: lib.kthvalue(x, 2, 1, keepdim), X)
    compare(lambda lib, x: lib.median(x, -1, keepdim), X)
    compare(lambda lib, x: x.median(0, keepdim=keepdim), X)
    with pytest.raises(IndexError):
        mg.kthvalue(mg.tensor(X), 5)


def test_median_of_everything_shares_the_gradient_among_ties():
    compare(lambda lib, x: lib.median(x), X)
    compare(lambda lib, x: lib.median(x), np.array([1.0, 2, 2, 3, 2, 0]), gradcheck=False)  # ties: shared
    compare(lambda lib, x: lib.median(x), np.array([1.0, np.nan, 0]), grad=False)


def test_median_with_nan_along_a_dim():
    x = np.array([[1.0, np.nan, 0.0, 2.0], [3.0, 1.0, 2.0, 0.0]])
    compare(lambda lib, t: lib.median(t, 1), x, grad=False)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin(name):
    compare(lambda lib, x: getattr(lib, name)(x, 2), X)
    compare(lambda lib, x: getattr(lib, name)(x, 1), TIES, gradcheck=False)  # ties: torch's latest index
    compare(lambda lib, x: getattr(x, name)(0), np.array([1.0, np.nan, 3.0, 0.0]), grad=False)


def test_nonzero():
    x = np.array([[0, 1.5, 0], [2, 0, -1]])
    compare(lambda lib, t: lib.nonzero(t), x, grad=False)
    compare(lambda lib, t: lib.nonzero(t, as_tuple=True), x, grad=False)
    compare(lambda lib, t: t.nonzero(), np.array(2.0), grad=False)
    compare(lambda lib, t: lib.nonzero(t, as_tuple=True), np.array(0.0), grad=False)


def test_unique():
    x = np.array([[3, 1, 2], [1, 3, 3]])
    compare(lambda lib, t: lib.unique(t, return_inverse=True, return_counts=True), x, grad=False)
    compare(lambda lib, t: t.unique(), x, grad=False)


def test_float16_and_integers():
    compare(lambda lib, x: lib.sort(x, 1), X.astype(np.float16), grad=False)
    compare(lambda lib, x: lib.topk(x, 2), np.array([[4, 1, 7], [0, 2, 2]]), grad=False)
    compare(lambda lib, x: lib.cummax(x, 1), np.array([[4, 1, 7], [0, 2, 2]]), grad=False)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_mode_matches_torch(dim, keepdim, seed):
    """Ties in count go to the smallest value, the index is its last occurrence, the gradient goes there."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, (5, 7)).astype(np.float64)
    up = rng.standard_normal((5, 7)).sum(axis=dim, keepdims=keepdim)
    got, want = {}, {}
    for lib, out in ((mg, got), (torch, want)):
        t = lib.tensor(x, requires_grad=True)
        values, indices = lib.mode(t, dim, keepdim)
        (values * lib.tensor(up)).sum().backward()
        out.update(values=values.detach().numpy(), indices=indices.numpy(), grad=t.grad.numpy())
    for key in ("values", "indices", "grad"):
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)


def test_mode_of_integers_and_scalars_and_nan():
    for lib in (torch, mg):
        r = lib.mode(lib.tensor([[1, 2], [3, 4]]), 0, keepdim=True)
        assert r.values.tolist() == [[1, 2]] and r.indices.tolist() == [[0, 0]]
        assert lib.tensor(5.0).mode().values.item() == 5.0
    with pytest.raises(NotImplementedError, match="NaN"):
        mg.mode(mg.tensor([float("nan"), 1.0]))
