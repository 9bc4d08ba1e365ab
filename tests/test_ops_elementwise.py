"""Element-wise ops against torch: forward values, dtypes, input gradients (random upstream gradient),
and float64 finite-difference gradchecks, on hypothesis-drawn shapes (0-d and size-0 included)."""

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from tests.opcheck import compare

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)


def floats(shape, lo=-3.0, hi=3.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(lo, hi, allow_nan=False, allow_infinity=False))


def away_from(x, points, gap=1e-2):
    """Move values off the kinks so that finite differences see a smooth function."""
    x = np.array(x, dtype=np.float64)
    for p in points:
        near = np.abs(x - p) < gap
        x[near] = p + 2 * gap
    return x


# name -> (lambda lib, x, domain transform, kinks)
UNARY = {
    "exp": (lambda t, x: t.exp(x), None, ()),
    "log": (lambda t, x: t.log(x), lambda x: np.abs(x) + 0.1, ()),
    "log1p": (lambda t, x: t.log1p(x), lambda x: np.abs(x) - 0.9, ()),
    "expm1": (lambda t, x: t.expm1(x), None, ()),
    "log2": (lambda t, x: t.log2(x), lambda x: np.abs(x) + 0.1, ()),
    "sqrt": (lambda t, x: t.sqrt(x), lambda x: np.abs(x) + 0.1, ()),
    "rsqrt": (lambda t, x: t.rsqrt(x), lambda x: np.abs(x) + 0.1, ()),
    "square": (lambda t, x: t.square(x), None, ()),
    "abs": (lambda t, x: t.abs(x), None, (0.0,)),
    "sin": (lambda t, x: t.sin(x), None, ()),
    "cos": (lambda t, x: t.cos(x), None, ()),
    "tanh": (lambda t, x: t.tanh(x), None, ()),
    "sigmoid": (lambda t, x: t.sigmoid(x), None, ()),
    "relu": (lambda t, x: t.relu(x), None, (0.0,)),
    "erf": (lambda t, x: t.erf(x), None, ()),
    "reciprocal": (lambda t, x: t.reciprocal(x), lambda x: np.sign(x + 1e-3) * (np.abs(x) + 0.2), ()),
    "sign": (lambda t, x: t.sign(x) * x, None, (0.0,)),
    "floor": (lambda t, x: t.floor(x) + x, None, (-3, -2, -1, 0, 1, 2, 3)),
    "ceil": (lambda t, x: t.ceil(x) * x, None, (-3, -2, -1, 0, 1, 2, 3)),
    "round": (lambda t, x: t.round(x) + x, None, (-2.5, -1.5, -0.5, 0.5, 1.5, 2.5)),
    "round_decimals": (lambda t, x: t.round(x, decimals=1) + x, lambda x: np.round(x, 1) + 0.02, ()),
    "trunc": (lambda t, x: t.trunc(x) + x, None, (-3, -2, -1, 0, 1, 2, 3)),
    "gelu": (lambda t, x: t.nn.functional.gelu(x), None, ()),
    "gelu_tanh": (lambda t, x: t.nn.functional.gelu(x, approximate="tanh"), None, ()),
    "silu": (lambda t, x: t.nn.functional.silu(x), None, ()),
    "softplus": (lambda t, x: t.nn.functional.softplus(x), None, ()),
    "softplus_beta": (lambda t, x: t.nn.functional.softplus(x, beta=2.0, threshold=3.0), None, (1.5,)),
    "leaky_relu": (lambda t, x: t.nn.functional.leaky_relu(x, 0.1), None, (0.0,)),
    "elu": (lambda t, x: t.nn.functional.elu(x, alpha=1.5), None, (0.0,)),
    "hardtanh": (lambda t, x: t.nn.functional.hardtanh(x, -0.5, 2.0), None, (-0.5, 2.0)),
    "relu6": (lambda t, x: t.nn.functional.relu6(x * 3), None, (0.0, 2.0)),
    "logsigmoid": (lambda t, x: t.nn.functional.logsigmoid(x), None, ()),
    "selu": (lambda t, x: t.nn.functional.selu(x), None, (0.0,)),
    "mish": (lambda t, x: t.nn.functional.mish(x), None, ()),
    "softsign": (lambda t, x: t.nn.functional.softsign(x), None, (0.0,)),
    "hardsigmoid": (lambda t, x: t.nn.functional.hardsigmoid(x * 2), None, (-1.5, 1.5)),
    "hardswish": (lambda t, x: t.nn.functional.hardswish(x * 2), None, (-1.5, 1.5)),
    "neg": (lambda t, x: t.neg(x), None, ()),
    "clamp": (lambda t, x: t.clamp(x, -1.0, 0.5), None, (-1.0, 0.5)),
    "clamp_min": (lambda t, x: t.clamp_min(x, -0.5), None, (-0.5,)),
    "clamp_max": (lambda t, x: x.clamp_max(0.25), None, (0.25,)),
    "clip_one_sided": (lambda t, x: t.clip(x, max=1.0), None, (1.0,)),
}


def _fn(name):
    return UNARY[name][0]


def _input(name, x):
    _, dom, kinks = UNARY[name]
    if dom is not None:
        x = dom(x)
    return away_from(x, kinks)


@pytest.mark.parametrize("name", sorted(UNARY))
@settings(max_examples=6)
@given(x=floats(SHAPES))
def test_unary_float64_gradcheck_and_torch(name, x):
    compare(_fn(name), _input(name, x))


@pytest.mark.parametrize("name", sorted(UNARY))
@settings(max_examples=4)
@given(x=floats(SHAPES))
def test_unary_float32_agrees_with_torch(name, x):
    compare(_fn(name), _input(name, x).astype(np.float32))


@pytest.mark.parametrize(
    "name",
    ["exp", "log", "log1p", "expm1", "log2", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "erf", "reciprocal"],
)
def test_integer_inputs_promote_to_default_float(name):
    x = np.array([[1, 2], [3, 4]], dtype=np.int64)
    compare(_fn(name), x, grad=False, rtol=1e-6, atol=1e-6)
    assert _fn(name)(mg, mg.tensor(x)).dtype is mg.float32


@pytest.mark.parametrize("name", ["abs", "square", "relu", "sign", "floor", "ceil", "round", "trunc", "neg"])
def test_integer_preserving_ops_keep_integer_dtype(name):
    x = np.array([[-3, 0], [2, 5]], dtype=np.int32)
    fn = UNARY[name][0]
    compare(lambda t, a: fn(t, a) if name in ("abs", "square", "relu", "neg") else getattr(t, name)(a), x, grad=False)


KINKS = {
    "relu": (lambda t, x: t.relu(x), [-1.0, 0.0, 1.0]),
    "abs": (lambda t, x: t.abs(x), [-1.0, 0.0, 1.0]),
    "leaky_relu": (lambda t, x: t.nn.functional.leaky_relu(x, 0.2), [-1.0, 0.0, 1.0]),
    "elu": (lambda t, x: t.nn.functional.elu(x, 2.0), [-1.0, 0.0, 1.0]),
    "hardtanh": (lambda t, x: t.nn.functional.hardtanh(x), [-2.0, -1.0, 0.0, 1.0, 2.0]),
    "clamp": (lambda t, x: t.clamp(x, -1.0, 1.0), [-2.0, -1.0, 0.0, 1.0, 2.0]),
    "clamp_equal_bounds": (lambda t, x: t.clamp(x, 0.5, 0.5), [0.0, 0.5, 1.0]),
    "clamp_min_above_max": (lambda t, x: t.clamp(x, 1.0, -1.0), [-2.0, -1.0, 0.0, 1.0, 2.0]),
    "sqrt_at_zero": (lambda t, x: t.sqrt(x), [0.0, 1.0]),
    "sign": (lambda t, x: t.sign(x), [-1.0, 0.0, 1.0]),
    "round_half_even": (lambda t, x: t.round(x), [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]),
    "gelu_at_zero": (lambda t, x: t.nn.functional.gelu(x), [0.0]),
    "selu": (lambda t, x: t.nn.functional.selu(x), [-1.0, 0.0, 1.0]),
    "hardsigmoid": (lambda t, x: t.nn.functional.hardsigmoid(x), [-4.0, -3.0, 0.0, 3.0, 4.0]),
    "hardswish": (lambda t, x: t.nn.functional.hardswish(x), [-4.0, -3.0, 0.0, 3.0, 4.0]),
}


@pytest.mark.parametrize("name", sorted(KINKS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradient_conventions_at_kinks_match_torch(name, dtype):
    fn, vals = KINKS[name]
    compare(fn, np.array(vals, dtype=dtype), gradcheck=False)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "name",
    [
        "sigmoid",
        "softplus",
        "silu",
        "tanh",
        "gelu",
        "elu",
        "softplus_beta",
        "erf",
        "gelu_tanh",
        "logsigmoid",
        "mish",
        "selu",
        "softsign",
        "hardswish",
    ],
)
def test_stable_for_large_inputs(name, dtype):
    x = np.array([-1e4, -800.0, -100.0, -30.0, 0.0, 30.0, 100.0, 800.0, 1e4], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = _fn(name)(mg, mg.tensor(x, requires_grad=True))
        out.backward(mg.ones_like(out))
    assert np.all(np.isfinite(out.detach().numpy()))
    compare(_fn(name), x, gradcheck=False)


def test_sigmoid_saturates_exactly():
    out = mg.sigmoid(mg.tensor([-1e4, 1e4], dtype=mg.float64)).numpy()
    assert out[0] == 0.0 and out[1] == 1.0


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        mg.nn.functional.gelu(mg.ones(2), approximate="fast")


# ------------------------------------------------------------------ binary ops with broadcasting
def pair(min_dims=0, lo=-3.0, hi=3.0, dtype=np.float64):
    @st.composite
    def strat(draw):
        shapes = draw(
            hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=min_dims, max_dims=3, min_side=0, max_side=3)
        )
        el = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
        a = draw(hnp.arrays(dtype, shapes.input_shapes[0], elements=el))
        b = draw(hnp.arrays(dtype, shapes.input_shapes[1], elements=el))
        return a, b

    return strat()


BINARY = {
    "add": (lambda t, a, b: t.add(a, b), None),
    "add_alpha": (lambda t, a, b: t.add(a, b, alpha=2.5), None),
    "sub": (lambda t, a, b: a - b, None),
    "mul": (lambda t, a, b: a * b, None),
    "div": (lambda t, a, b: a / b, "nonzero_b"),
    "pow": (lambda t, a, b: t.pow(a, b), "positive_a"),
    "maximum": (lambda t, a, b: t.maximum(a, b), "distinct"),
    "minimum": (lambda t, a, b: t.minimum(a, b), "distinct"),
    "max_binary": (lambda t, a, b: t.max(a, b), "distinct"),
    "remainder": (lambda t, a, b: t.remainder(a, b), "remainder"),
    "mod_operator": (lambda t, a, b: a % b, "remainder"),
    "lerp_tensor_weight": (lambda t, a, b: t.lerp(a, b, t.sigmoid(b)), None),
    "clamp_tensor_min": (lambda t, a, b: t.clamp(a, min=b), "distinct"),
    "clamp_tensor_max": (lambda t, a, b: t.clamp(a, max=b), "distinct"),
    "clamp_tensor_both": (lambda t, a, b: t.clamp(a, min=b - 1, max=b + 1), "distinct"),
    "where": (lambda t, a, b: t.where(a > b, a, b * 2), "distinct"),
    "masked_fill": (lambda t, a, b: t.masked_fill(a * b, b > 0.5, -2.0), "off_threshold"),
}


def _binary_inputs(kind, a, b):
    if kind == "nonzero_b":
        b = np.sign(b + 1e-3) * (np.abs(b) + 0.5)
    elif kind == "positive_a":
        a = np.abs(a) + 0.5
    elif kind == "distinct":  # keep a, b, b-1, b+1 apart so finite differences don't cross a switch point
        a = np.round(a, 1) + 0.05 - 0.02 * np.round(b, 1)
        b = np.round(b, 1)
        gap = np.subtract(a, b)  # near a whole number (either side: -4e-16 counts) -> move b off it
        b = b + 0.13 * (np.abs(gap - np.round(gap)) < 0.1)
    elif kind == "off_threshold":  # b == 0.5 exactly would put the mask's switch inside the finite difference
        b = np.where(np.abs(np.asarray(b) - 0.5) < 0.01, np.asarray(b) + 0.1, b)
    elif kind == "remainder":
        b = np.sign(b + 1e-3) * (np.abs(b) + 0.5)
        q = a / b
        a = np.where(np.abs(q - np.round(q)) < 0.05, a + 0.1 * b, a)
    return np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)


@pytest.mark.parametrize("name", sorted(BINARY))
@settings(max_examples=6)
@given(ab=pair())
def test_binary_broadcasting_float64(name, ab):
    fn, kind = BINARY[name]
    a, b = _binary_inputs(kind, *ab)
    compare(fn, a, b)


@pytest.mark.parametrize("name", sorted(BINARY))
@settings(max_examples=3)
@given(ab=pair())
def test_binary_broadcasting_float32(name, ab):
    fn, kind = BINARY[name]
    a, b = _binary_inputs(kind, *ab)
    compare(fn, a.astype(np.float32), b.astype(np.float32))


@pytest.mark.parametrize(
    "fn",
    [
        lambda t, a, b: t.maximum(a, b),
        lambda t, a, b: t.minimum(a, b),
        lambda t, a, b: t.clamp(a, min=b),
        lambda t, a, b: t.clamp(a, max=b),
        lambda t, a, b: t.clamp(a, min=b, max=b + 1),
        lambda t, a, b: t.clamp(a, min=b + 1, max=b),
    ],
)
def test_tie_gradients_match_torch(fn):
    a = np.array([1.0, 2.0, 3.0, -1.0, 0.5])
    b = np.array([1.0, 0.0, 3.0, -1.0, 0.7])
    compare(fn, a, b, gradcheck=False)


def test_scalar_operands_and_where_scalars():
    x = np.array([[1.5, -2.0], [0.3, 4.0]])
    compare(lambda t, a: t.where(a > 0, a, 0.0), x)
    compare(lambda t, a: t.where(a > 0, 1.0, a), x)
    compare(lambda t, a: t.where(a > 0, 1.0, -1.0), x, grad=False)
    compare(lambda t, a: t.where(a > 0, 1, 0), x, grad=False)
    compare(lambda t, a: t.clamp(a, min=0), x)
    compare(lambda t, a: t.clamp(a.long(), min=0.5), x, grad=False)
    compare(lambda t, a: t.lerp(a, a * 3, 0.25), x)
    compare(lambda t, a: t.lerp(a, a * 3, 0.75), x)
    compare(lambda t, a: 2.0**a + 3 % (a.detach() + 5.5) + (a + 5.5) % 3 - 1.5 ** (a * 0.5), x)
    compare(lambda t, a: t.masked_fill(a, a > 1, 7), x)


def test_where_without_values_gives_indices():
    for lib in (torch, mg):
        c = lib.tensor([[True, False], [False, True]])
        rows, cols = lib.where(c)
        assert rows.tolist() == [0, 1] and cols.tolist() == [0, 1]


def test_masked_fill_with_tensor_value_gets_gradient():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    v = np.array(0.5)
    compare(lambda t, a, val: t.masked_fill(a, a > 2.5, val * 2), x, v)


def test_masked_fill_broadcasts_mask():
    x = np.arange(6.0).reshape(2, 3)
    compare(lambda t, a: a.masked_fill(t.tensor([True, False, True], device=a.device), -1.0), x)


def test_integer_remainder_and_pow_match_torch():
    a = np.array([-7, -3, 0, 3, 7], dtype=np.int64)
    b = np.array([2, -2, 5, 3, -4], dtype=np.int64)
    compare(lambda t, x, y: (t.remainder(x, y), x % 3, x**2, t.maximum(x, y), t.where(x > y, x, y)), a, b)


def test_error_messages():
    with pytest.raises(RuntimeError, match="clamp"):
        mg.clamp(mg.ones(2))
    with pytest.raises(RuntimeError, match="bool"):
        mg.ones(2, dtype=mg.bool) - mg.ones(2, dtype=mg.bool)
    with pytest.raises(RuntimeError, match="bool"):
        mg.ones(2) - mg.ones(2, dtype=mg.bool)
    with pytest.raises(RuntimeError, match="where.*bool"):
        mg.where(mg.ones(2), mg.ones(2), mg.zeros(2))
    with pytest.raises(RuntimeError, match="masked_fill.*bool"):
        mg.masked_fill(mg.ones(2), mg.ones(2), 0.0)
    with pytest.raises(RuntimeError, match="maximum.*size of tensor a \\(2\\).*tensor b \\(3\\)"):
        mg.maximum(mg.ones(2), mg.ones(3))
    with pytest.raises(RuntimeError, match="where.*broadcast"):
        mg.where(mg.ones(2, dtype=mg.bool), mg.ones(3), mg.ones(3))
    with pytest.raises(RuntimeError, match="masked_fill.*only supports a 0-dimensional"):
        mg.masked_fill(mg.ones(2), mg.ones(2, dtype=mg.bool), mg.ones(2))
    with pytest.raises(TypeError, match="exp.*Tensor"):
        mg.exp([1.0, 2.0])
    with pytest.raises(TypeError, match="maximum.*Tensors"):
        mg.maximum(mg.ones(2), 1.0)
    with pytest.raises(RuntimeError, match="lerp.*dtype"):
        mg.lerp(mg.ones(2), mg.ones(2, dtype=mg.float64), 0.5)


def test_float32_stays_float32_with_python_scalars():
    x = mg.ones(3)
    for y in (
        x.exp(),
        x * 2.5,
        x.clamp(0, 1),
        mg.where(x > 0, x, 0.0),
        x.masked_fill(x > 0, 2),
        mg.nn.functional.gelu(x),
        mg.nn.functional.softplus(x, beta=2),
        x.lerp(x, 0.3),
        x % 0.7,
    ):
        assert y.dtype is mg.float32


def test_gradient_of_shared_input_accumulates():
    # x feeds two branches of where and a maximum: each gets its own part of the gradient
    compare(lambda t, a: t.where(a > 0, a * a, -a) + t.maximum(a, a * 0.5) * t.sigmoid(a), np.array([-1.5, 0.3, 2.0]))


def test_erf_numba_fallback_matches_torch():
    # used when SciPy is not installed: math.erf compiled into a ufunc by numba
    from minigrad import backend

    x = np.linspace(-4, 4, 17)
    np.testing.assert_allclose(backend._numba_erf()(x), torch.erf(torch.tensor(x)).numpy(), rtol=1e-14, atol=1e-16)


def test_float16_activations_stay_float16():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=np.float16)
    compare(lambda t, a: (t.erf(a), t.sigmoid(a), t.tanh(a), t.exp(a), t.relu(a)), x, grad=False)


def test_top_level_relu_has_no_inplace_flag_as_in_torch():
    # torch.relu takes no ``inplace``: silently ignoring it would leave the input unchanged
    for lib in (torch, mg):
        with pytest.raises(TypeError):
            lib.relu(lib.tensor([-1.0, 2.0]), inplace=True)


NAN_CASES = {
    "maximum": lambda t, a: t.maximum(a, a * 0 + 2),
    "minimum": lambda t, a: t.minimum(a * 0 + 2, a),
    "relu": lambda t, a: t.relu(a),
    "abs": lambda t, a: t.abs(a),
    "sign": lambda t, a: t.sign(a) * a,
    "elu": lambda t, a: t.nn.functional.elu(a),
    "hardtanh": lambda t, a: t.nn.functional.hardtanh(a),
    "leaky_relu": lambda t, a: t.nn.functional.leaky_relu(a),
    "clamp": lambda t, a: t.clamp(a, 0, 2),
    "where": lambda t, a: t.where(a > 2, a, -a),
    "sigmoid": lambda t, a: t.sigmoid(a),
    "gelu": lambda t, a: t.nn.functional.gelu(a),
}


@pytest.mark.parametrize("name", sorted(NAN_CASES))
def test_nan_inputs_propagate_and_route_gradients_like_torch(name):
    x = np.array([[1.0, np.nan, 3.0], [2.0, 5.0, -1.0]])
    with np.errstate(invalid="ignore"):
        compare(NAN_CASES[name], x, gradcheck=False)


# ------------------------------------------------------------------ the names the registry generates
def test_tensor_where_takes_self_as_the_first_choice():
    # torch: x.where(condition, y) is where(condition, x, y)
    compare(lambda t, a, b: a.where(a > 0, b), np.array([1.0, -2.0, 3.0]), np.array([0.5, 0.25, 0.125]))
    # a bool self was once taken as the condition: a silently wrong answer
    compare(lambda t, a, c: a.where(c, ~a), np.array([True, False, True]), np.array([False, False, True]))


INPLACE = {  # in-place variants generated from the declarations (not hand-written in ops/inplace.py)
    "log1p_": (lambda x: x.log1p_(), lambda x: np.abs(x)),
    "expm1_": (lambda x: x.expm1_(), None),
    "log2_": (lambda x: x.log2_(), lambda x: np.abs(x) + 0.1),
    "rsqrt_": (lambda x: x.rsqrt_(), lambda x: np.abs(x) + 0.1),
    "erf_": (lambda x: x.erf_(), None),
    "sign_": (lambda x: x.sign_(), lambda x: away_from(x, (0.0,))),
    "round_": (lambda x: x.round_(), lambda x: away_from(x, (-2.5, -1.5, -0.5, 0.5, 1.5, 2.5))),
    "round_decimals": (lambda x: x.round_(decimals=1), lambda x: np.round(x, 1) + 0.02),
    "remainder_": (lambda x: x.remainder_(1.25), lambda x: away_from(x, (-2.5, -1.25, 0.0, 1.25, 2.5))),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_generated_inplace_variants_match_torch(name):
    write, domain = INPLACE[name]
    x = np.random.default_rng(0).uniform(-3, 3, (2, 5))
    x = domain(x) if domain else x
    # on a non-leaf (a leaf that requires grad refuses in-place writes): values and gradient through the write
    compare(lambda t, a: write(a * 1.5) * a, x, gradcheck=False)


@pytest.mark.parametrize("name", ["log1p_", "expm1_", "log2_", "rsqrt_", "erf_"])
def test_generated_inplace_refuses_a_float_result_in_an_integer_tensor(name):
    for lib in (torch, mg):
        with pytest.raises(RuntimeError, match="can't be cast"):
            getattr(lib.tensor([1, 2, 3]), name)()


def test_alias_methods_match_torch():
    x = away_from(np.random.default_rng(1).uniform(-3, 3, 6), (0.0,))
    compare(lambda t, a: a.negative() + a.fix() * a + a.absolute(), x)
    compare(
        lambda t, a, b: (a.true_divide(b), a.divide(b), a.subtract(b), a.multiply(b), a.clip(-1, 1), t.clip(b, max=0)),
        x,
        x[::-1] + 5,
    )


def test_declarations_follow_torchs_namespaces():
    import torch.nn.functional as F

    from minigrad.ops.registry import REGISTRY

    mine = [d for d in REGISTRY.values() if d.module in ("minigrad.ops.elementwise", "minigrad.ops.compare")]
    assert len(mine) > 80
    for d in mine:
        in_place = d.name.endswith("_")  # the registry gives an in-place variant its function's top_level
        assert in_place or d.top_level == hasattr(torch, d.name), f"top_level of {d.name}"
        assert d.functional == hasattr(F, d.name), f"functional of {d.name}"
        if d.method:
            assert hasattr(torch.Tensor, d.method), f"Tensor.{d.method}"
        elif d.name != "where":  # Tensor.where exists, with self second (see elementwise.py)
            assert not hasattr(torch.Tensor, d.name), f"Tensor.{d.name} exists in torch: declare method=True"


INPLACE_ACTIVATIONS = {  # torch.nn.functional's activations with ``inplace=`` (declared functional=True)
    "silu": (),
    "leaky_relu": (0.2,),
    "elu": (0.5,),
    "hardtanh": (-0.5, 2.0),
    "relu6": (),
    "mish": (),
    "hardsigmoid": (),
    "hardswish": (),
}


@pytest.mark.parametrize("name", sorted(INPLACE_ACTIVATIONS))
def test_declared_activation_writes_in_place_like_torch(name):
    from minigrad.ops.registry import REGISTRY

    args = INPLACE_ACTIVATIONS[name]
    x = away_from(np.random.default_rng(2).uniform(-4, 4, (3, 4)), (-3.0, -0.5, 0.0, 2.0, 3.0, 6.0))

    def run(t, a):
        fn = getattr(torch.nn.functional, name) if t is torch else REGISTRY[name].fn  # what F.<name> is made from
        h = a * 2  # a non-leaf: a leaf that requires grad refuses in-place writes
        out = fn(h, *args, inplace=True)
        assert out is h
        return out * a

    compare(run, x, gradcheck=False)
    for fn, lib in ((getattr(torch.nn.functional, name), torch), (REGISTRY[name].fn, mg)):
        with pytest.raises(RuntimeError, match="leaf"):  # torch's rule, as for any in-place write
            fn(lib.tensor(x, requires_grad=True), *args, inplace=True)
