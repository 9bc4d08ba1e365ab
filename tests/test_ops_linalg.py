"""matmul, mm, bmm, dot, outer, einsum against torch (forward, backward, gradcheck)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from tests.opcheck import compare

DTYPES = [np.float64, np.float32]


def _arr(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@settings(max_examples=12)
@given(
    batch=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, min_side=0, max_side=3),
    n=st.integers(0, 3),
    k=st.integers(0, 3),
    m=st.integers(0, 3),
    vec=st.sampled_from(["", "a", "b", "ab"]),
    dtype=st.sampled_from(DTYPES),
)
def test_matmul_shapes_with_broadcast_batches(batch, n, k, m, vec, dtype):
    ba, bb = batch.input_shapes
    sa = (k,) if "a" in vec else ba + (n, k)
    sb = (k,) if "b" in vec else bb + (k, m)
    compare(lambda lib, a, b: lib.matmul(a, b), _arr(sa, dtype), _arr(sb, dtype, seed=1))
    compare(lambda lib, a, b: a @ b, _arr(sa, dtype), _arr(sb, dtype, seed=1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_cases(dtype):
    compare(lambda lib, a, b: a @ b, _arr((3,), dtype), _arr((3,), dtype, 1))  # dot
    compare(lambda lib, a, b: a @ b, _arr((3,), dtype), _arr((2, 3, 4), dtype, 1))  # vector @ batch
    compare(lambda lib, a, b: a @ b, _arr((2, 5, 3), dtype), _arr((3,), dtype, 1))  # batch @ vector
    compare(lambda lib, a, b: a @ b, _arr((4, 2, 5, 3), dtype), _arr((3, 2), dtype, 1))  # Linear-style shared weight
    compare(lambda lib, a, b: a @ b, _arr((5, 3), dtype), _arr((4, 1, 3, 2), dtype, 1))  # shared left matrix
    compare(lambda lib, a, b: a.matmul(b), _arr((2, 1, 5, 3), dtype), _arr((1, 4, 3, 2), dtype, 1))
    # only one input requires grad
    compare(lambda lib, a, b: a @ b, _arr((2, 3), dtype), _arr((3, 2), dtype, 1), grad_inputs=[1])


def test_matmul_keeps_float32():
    a, b = mg.randn(2, 3, requires_grad=True), mg.randn(3, 4, requires_grad=True)
    out = a @ b
    out.backward(mg.ones(2, 4))
    assert out.dtype == a.grad.dtype == b.grad.dtype == mg.float32


def test_matmul_errors_name_shapes():
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"):
        mg.zeros(2, 3) @ mg.zeros(4, 5)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"):
        mg.mm(mg.zeros(2, 3), mg.zeros(4, 5))
    with pytest.raises(RuntimeError, match="inconsistent tensor size"):
        mg.zeros(3) @ mg.zeros(4)
    with pytest.raises(RuntimeError, match="at least 1D"):
        mg.zeros(()) @ mg.zeros(3)
    with pytest.raises(RuntimeError, match="batch dims"):
        mg.zeros(2, 2, 3) @ mg.zeros(3, 3, 4)
    with pytest.raises(RuntimeError, match="same dtype"):
        mg.zeros(2, 3) @ mg.zeros(3, 4, dtype=mg.float64)
    with pytest.raises(RuntimeError, match=r"mm: expected 2-D tensors.*\[2, 3, 4\]"):
        mg.mm(mg.zeros(2, 3, 4), mg.zeros(4, 5))
    with pytest.raises(RuntimeError, match="batch1 and batch2 must be 3D"):
        mg.bmm(mg.zeros(3, 4), mg.zeros(4, 5))
    with pytest.raises(
        RuntimeError,
        match=r"Expected size for first two dimensions of batch2 tensor to be: "
        r"\[2, 4\] but got: \[3, 4\]",
    ):
        mg.bmm(mg.zeros(2, 3, 4), mg.zeros(3, 4, 5))
    with pytest.raises(RuntimeError, match="1D tensors expected, but got 2D and 1D tensors"):
        mg.dot(mg.zeros(2, 2), mg.zeros(2))


@pytest.mark.parametrize("dtype", DTYPES)
def test_mm_bmm_dot_outer(dtype):
    compare(lambda lib, a, b: lib.mm(a, b), _arr((2, 3), dtype), _arr((3, 4), dtype, 1))
    compare(lambda lib, a, b: a.mm(b), _arr((0, 3), dtype), _arr((3, 4), dtype, 1))
    compare(lambda lib, a, b: lib.bmm(a, b), _arr((2, 3, 4), dtype), _arr((2, 4, 1), dtype, 1))
    compare(lambda lib, a, b: lib.dot(a, b), _arr((4,), dtype), _arr((4,), dtype, 1))
    compare(lambda lib, a, b: a.dot(b), _arr((0,), dtype), _arr((0,), dtype, 1))
    compare(lambda lib, a, b: lib.outer(a, b), _arr((3,), dtype), _arr((2,), dtype, 1))
    compare(lambda lib, a, b: lib.inner(a, b), _arr((2, 3), dtype), _arr((4, 3), dtype, 1))


EQUATIONS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ii->i", [(3, 3)]),  # diagonal
    ("ii", [(3, 3)]),  # trace (implicit output)
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("i,j", [(2,), (3,)]),  # implicit: outer product 'ij'
    ("ba,cb", [(2, 3), (4, 2)]),  # implicit output sorted alphabetically: 'ac'
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]),  # broadcast batch dims
    ("i...->...", [(3, 2, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("bi,bj->b", [(3, 2), (3, 4)]),  # letters summed out of each operand on its own
    ("iij,jk->ik", [(2, 2, 3), (3, 2)]),
    ("i,i->", [(0,), (0,)]),
]


@pytest.mark.parametrize("eq,shapes", EQUATIONS, ids=[e for e, _ in EQUATIONS])
@pytest.mark.parametrize("dtype", DTYPES)
def test_einsum(eq, shapes, dtype):
    arrs = [_arr(s, dtype, seed=i) for i, s in enumerate(shapes)]
    compare(lambda lib, *ts: lib.einsum(eq, *ts), *arrs)


def test_einsum_list_form_and_errors():
    compare(lambda lib, a, b: lib.einsum("ij,jk", [a, b]), _arr((2, 3)), _arr((3, 2), seed=1))
    with pytest.raises(RuntimeError, match="number of subscripts"):
        mg.einsum("ijk->i", mg.zeros(2, 3))
    with pytest.raises(RuntimeError, match="subscript 'j' has sizes 3 and 4"):
        mg.einsum("ij,jk->ik", mg.zeros(2, 3), mg.zeros(4, 5))
    with pytest.raises(RuntimeError, match="output subscript k does not appear"):
        mg.einsum("ij->k", mg.zeros(2, 3))


def test_a_matrix_shared_by_a_batch_gets_the_summed_gradient():
    # a Linear-style a @ w with a 3-d or 4-d a: w's gradient is summed over every batch entry
    # (the fast backend folds the batch into one product; the reference sums the per-entry products)
    rng = np.random.default_rng(0)
    for a_shape in [(4, 5, 6), (2, 3, 5, 6)]:
        compare(lambda t, a, w: t.matmul(a, w), rng.standard_normal(a_shape), rng.standard_normal((6, 3)))
        compare(lambda t, a, w: a @ w, rng.standard_normal(a_shape), rng.standard_normal((6,)))


def test_matmul_operators_and_aliases_match_torch():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    compare(lambda t, x, y: x.__rmatmul__(y), b, a)  # y @ x
    u, v = rng.standard_normal(4), rng.standard_normal(3)
    compare(lambda t, x, y: x.ger(y), u, v)
    compare(lambda t, x, y: t.ger(x, y), u, v)
    compare(lambda t, x, y: x.vdot(y), u, rng.standard_normal(4))


def test_dot_and_vdot_take_torchs_keywords():
    u, v = np.arange(3.0), np.arange(3.0) + 1
    compare(lambda t, a, b: t.dot(a, tensor=b), u, v)
    compare(lambda t, a, b: t.vdot(a, other=b), u, v)
    compare(lambda t, a, b: a.dot(tensor=b), u, v)
