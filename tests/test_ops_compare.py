"""Comparison and logical ops against torch: bool results, broadcasting, scalars, promotion, no gradient."""

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from tests.opcheck import compare

DTYPES = [np.bool_, np.int32, np.int64, np.float32, np.float64]


@st.composite
def two_arrays(draw, dtypes=DTYPES):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0, max_side=3))
    arrs = []
    for shape in shapes.input_shapes:
        dt = draw(st.sampled_from(dtypes))
        # small integers in every dtype, so that equal values across dtypes happen often
        vals = draw(hnp.arrays(np.int64, shape, elements=st.integers(-2, 2)))
        scale = 0.5 if dt in (np.float32, np.float64) else 1
        arrs.append(np.asarray(vals > 0) if dt is np.bool_ else np.asarray(vals.astype(dt) * scale, dtype=dt))
    return arrs


COMPARISONS = {
    "eq": lambda t, a, b: t.eq(a, b),
    "ne": lambda t, a, b: a != b,
    "lt": lambda t, a, b: t.lt(a, b),
    "le": lambda t, a, b: a <= b,
    "gt": lambda t, a, b: a > b,
    "ge": lambda t, a, b: t.ge(a, b),
    "eq_op": lambda t, a, b: a == b,
    "greater": lambda t, a, b: a.greater(b),
    "aliases": lambda t, a, b: (a.less(b), a.less_equal(b), a.greater_equal(b), a.not_equal(b), t.less(a, b)),
}


@pytest.mark.parametrize("name", sorted(COMPARISONS))
@settings(max_examples=10)
@given(ab=two_arrays())
def test_comparisons_broadcast_and_promote_like_torch(name, ab):
    compare(COMPARISONS[name], *ab, grad=False)


@pytest.mark.parametrize("name", sorted(COMPARISONS))
@pytest.mark.parametrize("scalar", [0, 1, 0.5, -1.5, True])
def test_comparisons_with_python_scalars(name, scalar):
    x = np.array([[-1.5, 0.0, 0.5], [1.0, 2.0, np.nan]])
    compare(lambda t, a: COMPARISONS[name](t, a, scalar), x, grad=False)
    compare(
        lambda t, a: COMPARISONS[name](t, a.long() if hasattr(a, "long") else a, scalar), np.nan_to_num(x), grad=False
    )


@pytest.mark.parametrize("scalar", [1, 0.5, True])
def test_reflected_comparisons_with_scalar_on_the_left(scalar):
    x = np.array([[-1.5, 0.0, 0.5], [1.0, 2.0, np.nan]])
    compare(lambda t, a: (scalar < a, scalar <= a, scalar > a, scalar >= a, scalar == a, scalar != a), x, grad=False)


def test_comparison_results_are_bool_and_outside_the_graph():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for out in (x > 1, x == x, mg.isnan(x), mg.logical_not(x), x.isfinite()):
        assert out.dtype is mg.bool and not out.requires_grad and out.grad_fn is None


@settings(max_examples=10)
@given(ab=two_arrays())
def test_logical_ops_like_torch(ab):
    compare(
        lambda t, a, b: (
            t.logical_and(a, b),
            t.logical_or(a, b),
            t.logical_xor(a, b),
            t.logical_not(a),
            a.logical_not(),
        ),
        *ab,
        grad=False,
    )


def test_logical_ops_with_scalars_and_operators():
    x = np.array([0.0, 1.5, -2.0, 0.0])
    y = np.array([1, 0, 3, 0], dtype=np.int32)
    compare(lambda t, a, b: (t.logical_and(a, b), t.logical_or(a, b[0]), t.logical_xor(a, b > 0)), x, y, grad=False)
    m = np.array([True, False, True, False])
    n = np.array([True, True, False, False])
    compare(lambda t, a, b: (a & b, a | b, a ^ b, ~a), m, n, grad=False)


def test_isnan_isinf_isfinite():
    x = np.array([[0.0, np.nan, np.inf], [-np.inf, -1.0, 6e4]])
    for dt in (np.float64, np.float32, np.float16):
        compare(lambda t, a: (t.isnan(a), t.isinf(a), t.isfinite(a), a.isnan()), x.astype(dt), grad=False)
    compare(lambda t, a: (t.isnan(a), t.isinf(a), t.isfinite(a)), np.array([1, 2], dtype=np.int64), grad=False)
    compare(lambda t, a: (t.isnan(a), t.isinf(a), t.isfinite(a)), np.array([True, False]), grad=False)


def test_bitwise_not():
    compare(lambda t, a: t.bitwise_not(a), np.array([0, 1, -5, 7], dtype=np.int64), grad=False)
    compare(lambda t, a: (~a, a.bitwise_not()), np.array([1, -2], dtype=np.int32), grad=False)
    compare(lambda t, a: ~a, np.array([True, False]), grad=False)
    with pytest.raises(TypeError, match="bitwise_not.*floating"):
        mg.bitwise_not(mg.ones(2))


def test_allclose_isclose_equal():
    a = np.array([1.0, 2.0, np.nan])
    b = np.array([1.0 + 1e-9, 2.0001, np.nan])
    for lib in (torch, mg):
        ta, tb = lib.tensor(a), lib.tensor(b)
        results = (
            lib.allclose(ta, tb),
            lib.allclose(ta, tb, rtol=1e-3, equal_nan=True),
            lib.allclose(ta[:1], tb[:1]),
            lib.equal(ta, ta),
            lib.equal(ta[:2], ta[:2]),
            lib.equal(ta[:2], tb[:2]),
            lib.equal(ta[:2], ta[:1]),
            ta[:1].allclose(tb[:1]),
        )
        if lib is torch:
            expected = results
        else:
            assert results == expected and all(type(r) is bool for r in results)
    compare(lambda t, x, y: (t.isclose(x, y), t.isclose(x, y, rtol=1e-3, equal_nan=True)), a, b, grad=False)
    with pytest.raises(RuntimeError, match="allclose.*dtype"):
        mg.allclose(mg.ones(2), mg.ones(2, dtype=mg.float64))


def test_broadcast_error_names_the_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"lt.*size of tensor a \(2\) must match the size of tensor b \(3\)"):
        mg.lt(mg.ones(2), mg.ones(3))
    with pytest.raises(RuntimeError):
        torch.lt(torch.ones(2), torch.ones(3))
    with pytest.raises(RuntimeError, match="logical_and"):
        mg.logical_and(mg.ones(2), mg.ones(3))
    with pytest.raises(TypeError, match="eq.*str"):
        mg.eq(mg.ones(2), "a")


def test_method_forms():
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 2.5, 2.0])
    compare(
        lambda t, a, b: (
            a.greater_equal(b),
            a.less_equal(b),
            a.not_equal(b),
            a.isclose(b),
            a.less(b),
            a.eq(b),
            a.logical_xor(b),
        ),
        x,
        y,
        grad=False,
    )
