"""Matrix-shaped ops against torch: values, dtypes, gradients (random upstream gradient), float64 gradchecks
and torch's errors for the common mistakes."""

import numpy as np
import pytest
import torch

import minigrad as mg
from tests.opcheck import compare

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4))
A3 = rng.standard_normal((2, 3, 4))
SQ = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)


@pytest.mark.parametrize("diagonal", [-1, 0, 2])
def test_tril_triu(diagonal):
    compare(lambda lib, x: lib.tril(x, diagonal), A3)
    compare(lambda lib, x: x.triu(diagonal), A)
    compare(lambda lib, x: lib.tril(x * 1, diagonal=diagonal), np.arange(12).reshape(3, 4), grad=False)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        mg.tril(mg.tensor([1.0, 2.0]))


def test_tril_triu_in_place():
    compare(lambda lib, x: (x * 1).tril_(1), A)
    compare(lambda lib, x: (x * 1).triu_(), A3)


@pytest.mark.parametrize(("offset", "dim1", "dim2"), [(0, 0, 1), (1, 1, 2), (-1, -1, 0), (2, 2, 0)])
def test_diagonal(offset, dim1, dim2):
    compare(lambda lib, x: lib.diagonal(x, offset, dim1, dim2), A3)
    with pytest.raises(RuntimeError, match="cannot be identical"):
        mg.diagonal(mg.tensor(A3), 0, 1, -2)


@pytest.mark.parametrize(("offset", "dim1", "dim2"), [(0, -2, -1), (1, 0, 2), (-2, 2, 1)])
def test_diag_embed(offset, dim1, dim2):
    compare(lambda lib, x: lib.diag_embed(x, offset, dim1, dim2), A)


@pytest.mark.parametrize("k", [-1, 0, 1])
def test_diag_and_trace(k):
    compare(lambda lib, x: lib.diag(x, k), A)
    compare(lambda lib, x: lib.diag(x, k), A[0])
    compare(lambda lib, x: lib.trace(x), A)
    compare(lambda lib, x: x.trace(), np.arange(9).reshape(3, 3), grad=False)  # int64 sum
    with pytest.raises(RuntimeError, match="1D or 2D"):
        mg.diag(mg.tensor(A3))


@pytest.mark.parametrize(("shifts", "dims"), [(1, 0), (-2, 2), ((1, 3), (0, -1)), (5, None)])
def test_roll(shifts, dims):
    compare(lambda lib, x: lib.roll(x, shifts, dims), A3)
    with pytest.raises(RuntimeError, match="must align"):
        mg.roll(mg.tensor(A3), (1, 2), 0)


def test_repeat_interleave():
    compare(lambda lib, x: lib.repeat_interleave(x, 2), A)
    compare(lambda lib, x: x.repeat_interleave(3, dim=1), A3)
    compare(lambda lib, x, r: lib.repeat_interleave(x, r, dim=0), A, np.array([1, 0, 2]))
    compare(lambda lib, r: lib.repeat_interleave(r), np.array([2, 0, 3]), grad=False)
    with pytest.raises(RuntimeError, match="negative"):
        mg.repeat_interleave(mg.tensor(A), -1)


@pytest.mark.parametrize("dims", [(2,), (2, 1), (1, 2, 2), (2, 1, 1, 2)])
def test_tile(dims):
    compare(lambda lib, x: lib.tile(x, dims), A)
    compare(lambda lib, x: x.tile(dims), A3)


def test_cumprod():
    compare(lambda lib, x: lib.cumprod(x, 1), A3)
    compare(lambda lib, x: x.cumprod(-1), A)
    with_zeros = np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 3.0, 0.0, 2.0], [2.0, -1.0, 0.5, 0.0]])
    compare(lambda lib, x: lib.cumprod(x, 1), with_zeros)
    compare(lambda lib, x: lib.cumprod(x, 0), with_zeros)
    compare(lambda lib, x: lib.cumprod(x, 0), np.array([[1, 2], [3, 4]]), grad=False)  # int64
    compare(lambda lib, x: (x * 1).cumprod_(1), A)


@pytest.mark.parametrize(("dim", "size", "step"), [(0, 2, 1), (1, 2, 2), (-1, 4, 1), (2, 3, 2)])
def test_tensor_unfold(dim, size, step):
    compare(lambda lib, x: x.unfold(dim, size, step), A3)
    with pytest.raises(RuntimeError, match="maximum size"):
        mg.tensor(A3).unfold(0, 3, 1)


def test_unfold_is_only_a_method():
    assert "unfold_windows" not in dir(mg)


@pytest.mark.parametrize("alpha", [1, -2.5])
def test_index_add(alpha):
    index = np.array([2, 0, 2, 1, 0])
    src = rng.standard_normal((3, 5, 4))
    compare(lambda lib, x, i, s: lib.index_add(x, 1, i, s, alpha=alpha), rng.standard_normal((3, 3, 4)), index, src)
    compare(lambda lib, x, i, s: (x * 1).index_add_(0, i, s), A, np.array([1, 1]), A[:2] * 2)
    with pytest.raises(RuntimeError, match="source"):
        mg.index_add(mg.tensor(A), 0, mg.tensor([0, 1]), mg.tensor(A))


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put(accumulate):
    rows, cols = np.array([0, 2, 1]), np.array([3, 0, 1])
    compare(lambda lib, x, r, c, v: lib.index_put(x, (r, c), v, accumulate), A, rows, cols, np.array([1.0, 2, 3]))
    compare(lambda lib, x, r, v: x.index_put((r,), v, accumulate=accumulate), A, np.array([2, 0]), A[:1] + 1)
    mask = A > 0
    compare(lambda lib, x, m, v: lib.index_put(x, (m,), v, accumulate), A, mask, np.array(7.0))
    repeated = np.array([1, 1] if accumulate else [1, 2])  # a repeat without accumulate: which write wins is unset
    compare(lambda lib, x, r, v: (x * 1).index_put_((r,), v, accumulate), A, repeated, np.array(0.5))


@pytest.mark.parametrize(("beta", "alpha"), [(1, 1), (0.5, -2), (0, 1)])
def test_addmm_baddbmm_addmv(beta, alpha):
    m1, m2 = rng.standard_normal((3, 5)), rng.standard_normal((5, 4))
    compare(lambda lib, x, a, b: lib.addmm(x, a, b, beta=beta, alpha=alpha), A, m1, m2)
    compare(lambda lib, x, a, b: x.addmm(a, b, beta=beta, alpha=alpha), A[0], m1, m2)  # broadcast input
    b1, b2 = rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 5, 4))
    compare(lambda lib, x, a, b: lib.baddbmm(x, a, b, beta=beta, alpha=alpha), A3, b1, b2)
    compare(lambda lib, x, a, v: lib.addmv(x, a, v, beta=beta, alpha=alpha), A[:, 0], m1, m1[0])
    compare(lambda lib, x, a, b: (x * 1).addmm_(a, b, beta=beta, alpha=alpha), A, m1, m2)
    compare(lambda lib, x, a, b: (x * 1).baddbmm_(a, b, alpha=alpha), A3, b1, b2)
    compare(lambda lib, x, a, v: (x * 1).addmv_(a, v, beta=beta), A[:, 0], m1, m1[0])


def test_addmm_ignores_nan_input_when_beta_is_zero():
    x = np.full((3, 4), np.nan)
    compare(lambda lib, t, a, b: lib.addmm(t, a, b, beta=0), x, A[:, :3], A[:3], gradcheck=False)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
def test_cdist(p):
    x1, x2 = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5, 3))
    compare(lambda lib, a, b: lib.cdist(a, b, p), x1, x2)
    with pytest.raises(RuntimeError, match="same number of columns"):
        mg.cdist(mg.tensor(x1), mg.tensor(x2[..., :2]))


def test_cdist_of_equal_points_has_a_zero_gradient():
    compare(lambda lib, a: lib.cdist(a, a), A, gradcheck=False)


def test_float16_and_float32():
    compare(lambda lib, x: lib.tril(x), A.astype(np.float32))
    compare(lambda lib, x: lib.roll(x, 1, 0), A.astype(np.float16))
    compare(lambda lib, x: lib.cumprod(x, 1), A.astype(np.float32))


def test_square_helpers_in_torch_namespace():
    for name in ["tril", "triu", "diagonal", "diag", "diag_embed", "trace", "roll", "repeat_interleave", "tile"]:
        assert hasattr(mg, name) and hasattr(torch, name)
    assert hasattr(mg, "cdist") and not hasattr(mg.Tensor, "cdist")


# ------------------------------------------------------------------ minigrad.linalg
@pytest.mark.parametrize(("ord", "dim"), [(2, None), (1, 1), (float("inf"), (0, 2)), (3.5, -1), (0, 2)])
def test_linalg_vector_norm(ord, dim):
    compare(lambda lib, x: lib.linalg.vector_norm(x, ord, dim), A3)
    compare(lambda lib, x: lib.linalg.vector_norm(x, ord, dim, keepdim=True), A3.astype(np.float32))
    with pytest.raises(RuntimeError, match="floating point"):
        mg.linalg.vector_norm(mg.tensor([1, 2]))


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, float("inf"), float("-inf")])
def test_linalg_matrix_norm_and_norm(ord):
    compare(lambda lib, x: lib.linalg.matrix_norm(x, ord), A3)
    compare(lambda lib, x: lib.linalg.matrix_norm(x, ord, dim=(2, 0), keepdim=True), A3)
    compare(lambda lib, x: lib.linalg.norm(x, ord), A)
    compare(lambda lib, x: lib.linalg.norm(x), A3)
    compare(lambda lib, x: lib.linalg.norm(x, 3, dim=1), A3)


def test_linalg_inv_det_solve():
    compare(lambda lib, x: lib.linalg.inv(x), SQ)
    compare(lambda lib, x: lib.linalg.det(x), SQ)
    b = rng.standard_normal((2, 3))
    compare(lambda lib, a, v: lib.linalg.solve(a, v), SQ, b)  # a batch of vectors
    compare(lambda lib, a, m: lib.linalg.solve(a, m), SQ, rng.standard_normal((2, 3, 2)))
    compare(lambda lib, a, m: lib.linalg.solve(a, m), SQ[0], rng.standard_normal((4, 3, 2)))  # broadcast A
    with pytest.raises(RuntimeError, match="square"):
        mg.linalg.inv(mg.tensor(A))
    with pytest.raises(RuntimeError, match="singular"):
        mg.linalg.inv(mg.zeros(3, 3))
    assert issubclass(mg.linalg.LinAlgError, RuntimeError)
    with pytest.raises(RuntimeError, match="ord=3"):
        mg.linalg.matrix_norm(mg.tensor(A), 3)


@pytest.mark.parametrize("indexing", ["ij", "xy"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_meshgrid_matches_torch(indexing, n):
    rng = np.random.default_rng(n)
    arrays = [rng.standard_normal(k + 2) for k in range(n)]
    up = None
    results = {}
    for lib in (torch, mg):
        ts = [lib.tensor(a, requires_grad=True) for a in arrays]
        grids = lib.meshgrid(*ts, indexing=indexing)
        if up is None:
            up = [rng.standard_normal(tuple(g.shape)) for g in grids]
        sum(((g * lib.tensor(u)).sum() for g, u in zip(grids, up)), lib.tensor(0.0, dtype=lib.float64)).backward()
        results[lib] = ([g.detach().numpy() for g in grids], [t.grad.numpy() for t in ts])
    for got, want in zip(results[mg], results[torch]):
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-12)


def test_parameter_list_registers_its_parameters_like_torch():
    for lib in (torch, mg):
        pl = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2)), lib.zeros(3)])
        assert len(pl) == 2 and type(pl[1]).__name__ == "Parameter"
        assert [n for n, _ in pl.named_parameters()] == ["0", "1"]


@pytest.mark.parametrize("dim", [1, -2, None])
def test_cross_matches_torch(dim):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    if dim is None:
        compare(lambda lib, x, y: lib.linalg.cross(x.transpose(1, 2), y.transpose(1, 2)), a, b)
    else:
        compare(lambda lib, x, y: lib.cross(x, y, dim=dim), a, b)


def test_cross_needs_length_three():
    for lib in (torch, mg):
        with pytest.raises(RuntimeError, match="must have length 3"):
            lib.cross(lib.ones(2, 3), lib.ones(2, 3), dim=0)
