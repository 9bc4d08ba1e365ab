"""Inverse and hyperbolic trigonometric functions, atan2, hypot and logaddexp against torch: values,
dtypes (integers promote to float), gradients with a random upstream gradient, float64 gradchecks."""

import numpy as np
import pytest

import minigrad as mg
from tests.opcheck import compare

rng = np.random.default_rng(0)
INSIDE = rng.uniform(-0.9, 0.9, (3, 4))  # the domain of asin, acos, atanh
ANY = rng.standard_normal((3, 4)) * 2
ABOVE_ONE = 1.1 + rng.uniform(0, 3, (3, 4))  # acosh's domain

UNARY = {
    "asin": INSIDE,
    "acos": INSIDE,
    "atan": ANY,
    "sinh": ANY,
    "cosh": ANY,
    "asinh": ANY,
    "acosh": ABOVE_ONE,
    "atanh": INSIDE,
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name):
    x = UNARY[name]
    ints = np.array([1, 2, 0]) if name == "acosh" else np.array([0, 1])  # promoted to float32
    compare(lambda lib, t: getattr(lib, name)(t), x)
    compare(lambda lib, t: getattr(t, name)(), x.astype(np.float32))
    compare(lambda lib, t: getattr(lib, name)(t), x.astype(np.float16), grad=False)
    compare(lambda lib, t: getattr(lib, name)(t), ints, grad=False, rtol=1e-6)
    # torch has no gradient for asinh_, acosh_, atanh_ (minigrad has one: its out-of-place op's)
    compare(lambda lib, t: getattr(t * 1, name + "_")(), x, grad=name not in ("asinh", "acosh", "atanh"))


@pytest.mark.parametrize("name", ["arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "arctan2"])
def test_numpy_style_aliases(name):
    assert getattr(mg, name) is getattr(mg, {"arctan2": "atan2"}.get(name, name.replace("arc", "a")))
    assert hasattr(mg.Tensor, name)


def test_outside_the_domain_is_nan():
    compare(lambda lib, t: lib.asin(t), np.array([2.0, -1.5]), grad=False)
    compare(lambda lib, t: lib.acosh(t), np.array([0.5]), grad=False)
    compare(lambda lib, t: lib.atanh(t), np.array([1.0, -1.0, 2.0]), grad=False)


@pytest.mark.parametrize("name", ["atan2", "hypot", "logaddexp", "logaddexp2"])
def test_binary(name):
    b = rng.standard_normal((1, 4))
    compare(lambda lib, x, y: getattr(lib, name)(x, y), ANY, b)  # broadcast: the gradient of y is summed
    compare(lambda lib, x, y: getattr(x, name)(y), ANY.astype(np.float32), b.astype(np.float32))
    with pytest.raises(TypeError, match="must be Tensor"):  # torch takes no number here
        getattr(mg, name)(mg.tensor(ANY), 2.0)


def test_binary_in_place_and_integers():
    compare(lambda lib, x, y: (x * 1).atan2_(y), ANY, INSIDE)
    compare(lambda lib, x, y: (x * 1).hypot_(y), ANY, INSIDE)
    compare(lambda lib, x, y: lib.atan2(x, y), np.array([1, -2, 0]), np.array([3, 4, -1]), grad=False, rtol=1e-6)
    compare(lambda lib, x, y: lib.logaddexp(x, y), np.array([1, -2]), np.array([3.0, 4.0]), grad=False)
    compare(lambda lib, x, y: lib.hypot(x, y), np.array([1, 2]), np.array([3.0, 4.0]), grad=False)
    with pytest.raises(NotImplementedError):
        mg.hypot(mg.tensor([1, 2]), mg.tensor([3, 4]))


def test_logaddexp_does_not_overflow():
    big = np.array([1000.0, -1000.0, 5.0, -np.inf])
    compare(lambda lib, x, y: lib.logaddexp(x, y), big, np.array([1000.0, -999.0, -800.0, -np.inf]), gradcheck=False)
    compare(lambda lib, x, y: lib.logaddexp2(x, y), big[:3], np.array([999.0, -1000.0, 7.0]))
