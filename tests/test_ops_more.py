"""Functions students meet that minigrad added late: the shrink activations, CELU, threshold, fmax/fmin,
logdet, broadcast_shapes, Tensor.stride/storage_offset and as_strided, each against torch."""

import numpy as np
import pytest
import torch

import minigrad as mg
from tests.opcheck import compare

FLOATS = [np.float64, np.float32]


def _F(lib):
    return lib.nn.functional


def _points(dtype, shape=(3, 5), seed=0):
    """Random values plus the switch points of the functions below (0, +-0.5, +-1, 2)."""
    x = np.random.default_rng(seed).standard_normal(shape) * 2
    x.flat[:7] = [0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0]
    return x.astype(dtype)


ACTIVATIONS = {
    "celu": lambda lib, x: _F(lib).celu(x),
    "celu_alpha": lambda lib, x: _F(lib).celu(x, alpha=0.7),
    "celu_top": lambda lib, x: lib.celu(x, 2.0),
    "threshold": lambda lib, x: _F(lib).threshold(x, 0.5, -3.0),
    "threshold_top": lambda lib, x: lib.threshold(x, -1.0, 2.0),
    "hardshrink": lambda lib, x: _F(lib).hardshrink(x),
    "hardshrink_lambd": lambda lib, x: lib.hardshrink(x, 1.0),
    "hardshrink_method": lambda lib, x: x.hardshrink(lambd=2.0),
    "hardshrink_negative_lambd": lambda lib, x: _F(lib).hardshrink(x, -1.0),
    "softshrink": lambda lib, x: _F(lib).softshrink(x),
    "softshrink_lambd": lambda lib, x: _F(lib).softshrink(x, 1.0),
    "softshrink_zero": lambda lib, x: _F(lib).softshrink(x, 0.0),
    "tanhshrink": lambda lib, x: _F(lib).tanhshrink(x),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_follow_torch_including_switch_points(name, dtype):
    # at the switch points finite differences cross a jump or a kink: gradcheck (and the second-order checks
    # it gates) run on random points below; tests/test_double_backward_kinks.py checks second order at kinks
    compare(ACTIVATIONS[name], _points(dtype), gradcheck=False)
    compare(ACTIVATIONS[name], np.random.default_rng(1).standard_normal((4, 3)).astype(dtype) * 3)


MODULES = {
    "CELU": ((), {"alpha": 1.5}),
    "Threshold": ((0.1, 20.0), {}),
    "Hardshrink": ((), {"lambd": 0.3}),
    "Softshrink": ((0.8,), {}),
    "Tanhshrink": ((), {}),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_compute_and_print_like_torch(name):
    args, kwargs = MODULES[name]
    compare(lambda lib, x: getattr(lib.nn, name)(*args, **kwargs)(x), _points(np.float64), gradcheck=False)
    assert repr(getattr(mg.nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs))


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x: _F(lib).celu(x, 0.5, inplace=True),
        lambda lib, x: _F(lib).celu_(x, 0.5),
        lambda lib, x: lib.celu_(x),
        lambda lib, x: _F(lib).threshold(x, 0.0, 7.0, inplace=True),
        lambda lib, x: _F(lib).threshold_(x, 0.0, 7.0),
        lambda lib, x: lib.threshold_(x, 0.5, -1.0),
        lambda lib, x: lib.nn.CELU(inplace=True)(x),
        lambda lib, x: lib.nn.Threshold(0.0, 1.0, inplace=True)(x),
    ],
)
def test_inplace_variants_write_into_the_input_and_backpropagate(call):
    # the write is recorded: the gradient flows through it to the leaf, as torch's does
    a = _points(np.float64)
    results = []
    for lib in (torch, mg):
        leaf = lib.tensor(a, requires_grad=True)
        x = leaf * 1.5
        out = call(lib, x)
        assert out is x
        (out * lib.tensor(a)).sum().backward()
        results.append((out.detach().numpy(), leaf.grad.numpy()))
    # rtol 1e-10: torch's in-place CELU differentiates from its result, (y + alpha) / alpha, minigrad from x
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-10, atol=1e-12)


def test_threshold_keeps_integer_dtype_and_nan_like_torch():
    compare(lambda lib, x: lib.threshold(x, 1.5, 7.9), np.array([1, 2, 3, -4]), grad=False)
    nan = np.array([np.nan, 0.5, -2.0, 2.0, 0.0])
    for fn in ("threshold", "hardshrink", "softshrink", "tanhshrink", "celu"):
        args = {"threshold": (0.5, -1.0)}.get(fn, ())
        compare(lambda lib, x, fn=fn, args=args: getattr(_F(lib), fn)(x, *args), nan, gradcheck=False)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda lib, x: _F(lib).softshrink(x, -1.0), RuntimeError),
        (lambda lib, x: _F(lib).softshrink(x.float(), -0.5), RuntimeError),
        (lambda lib, x: _F(lib).celu(x, alpha=0.0), RuntimeError),
        (lambda lib, x: lib.celu([1.0]), TypeError),
        (lambda lib, x: _F(lib).softshrink(x.half(), -1.0), RuntimeError),
        (lambda lib, x: lib.hardshrink(x.long()), NotImplementedError),
        (lambda lib, x: _F(lib).softshrink(x.long()), NotImplementedError),
        (lambda lib, x: _F(lib).celu(x.int()), NotImplementedError),
        (lambda lib, x: lib.threshold(x > 0, 0.5, 0.0), NotImplementedError),
    ],
)
def test_activation_errors_are_torchs(call, error):
    messages = []
    for lib in (torch, mg):
        with pytest.raises(error) as info:
            call(lib, lib.tensor([1.0, -2.0], dtype=lib.float64))
        messages.append(str(info.value))
    if error is RuntimeError:
        assert messages[1] == messages[0]


# ------------------------------------------------------------------ fmax / fmin
def _with_nans_and_ties(dtype, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((4, 3)).astype(dtype), rng.standard_normal((4, 3)).astype(dtype)
    a[0, 0] = np.nan  # NaN against a number, each way, and NaN against NaN
    b[1, 1] = np.nan
    a[2, 2] = b[2, 2] = np.nan
    b[3] = a[3]  # ties: torch gives the whole gradient to input
    return a, b


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("fn", ["fmax", "fmin"])
def test_fmax_fmin_ignore_nan_and_give_ties_to_input(fn, dtype):
    a, b = _with_nans_and_ties(dtype, 0)
    # gradcheck: finite differences through NaN inputs are NaN; it runs on the NaN-free case below
    compare(lambda lib, x, y: getattr(lib, fn)(x, y), a, b, gradcheck=False)
    compare(lambda lib, x, y: getattr(x, fn)(y), a[3:], b[3:], gradcheck=False)  # a tie is a kink
    x, y = np.random.default_rng(1).standard_normal((2, 4, 3)).astype(dtype)
    compare(lambda lib, x, y: getattr(lib, fn)(x, y), x, y[:1])  # broadcast


def test_fmax_promotes_and_keeps_integers_like_torch():
    ints, floats = np.array([[1, 5, -2]]), np.array([[0.5], [np.nan]], dtype=np.float32)
    compare(lambda lib, x, y: lib.fmax(x, y), ints, floats, grad=False)
    compare(lambda lib, x, y: lib.fmin(x, y), ints, ints[:, ::-1].copy(), grad=False)
    with pytest.raises(TypeError):
        mg.fmax(mg.ones(2), 1.0)
    with pytest.raises(TypeError):
        torch.fmax(torch.ones(2), 1.0)


# ------------------------------------------------------------------ logdet
@pytest.mark.parametrize("dtype", FLOATS)
def test_logdet_follows_torch_for_batches_and_negative_determinants(dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 3, 3)) + 3 * np.eye(3)
    a[1] = -a[1]  # a negative determinant: NaN, and no gradient (torch's choice)
    a = a.astype(dtype)
    rtol = 1e-4 if dtype is np.float32 else None
    compare(lambda lib, x: lib.logdet(x), a, rtol=rtol, atol=1e-5 if rtol else None)
    compare(lambda lib, x: x.logdet(), a[0], rtol=rtol, atol=1e-5 if rtol else None)


def test_logdet_of_a_large_matrix_does_not_overflow():
    a = np.eye(400) * 10.0  # det = 1e400, beyond float64; its log is 921.03...
    compare(lambda lib, x: lib.logdet(x), a, gradcheck=False)


def test_logdet_of_a_singular_matrix_is_minus_infinity():
    compare(lambda lib, x: lib.logdet(x), np.ones((2, 2)), grad=False)
    # torch's gradient there is infinities from its LU; minigrad refuses in one clear line
    a = mg.ones(2, 2, dtype=mg.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="logdet backward: a matrix is singular"):
        mg.logdet(a).backward()


# ------------------------------------------------------------------ det at singular matrices
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_det_gradient_at_singular_matrices_follows_torch(dtype):
    """det exactly 0 (rank n - 1 and lower, in a batch with an invertible one): torch's gradient is 0 there."""
    rng = np.random.default_rng(0)
    rank_two = np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 0.0], [5.0, 6.0, 0.0]])
    a = np.stack([rank_two, np.ones((3, 3)), np.zeros((3, 3)), rng.standard_normal((3, 3))]).astype(dtype)
    up = rng.standard_normal(4).astype(dtype)
    grads = []
    for lib in (torch, mg):
        x = lib.tensor(a, requires_grad=True)
        lib.linalg.det(x).backward(lib.tensor(up))
        grads.append(x.grad.numpy())
    assert grads[1].dtype == dtype and not grads[1][:3].any()
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_det_second_derivative_at_a_singular_matrix_is_refused():
    """torch's double backward there is the adjugate's derivative; minigrad refuses rather than differ."""
    x = mg.ones(2, 2, dtype=mg.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="cannot be differentiated twice .* a matrix is singular"):
        mg.autograd.grad(mg.linalg.det(x), x, create_graph=True)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (np.ones(3), RuntimeError),
        (np.ones((2, 3)), RuntimeError),
        (np.ones((2, 2), dtype=np.int64), RuntimeError),
        (np.ones((2, 2), dtype=np.float16), RuntimeError),
    ],
)
def test_logdet_errors_are_torchs(value, error):
    messages = []
    for lib in (torch, mg):
        with pytest.raises(error) as info:
            lib.logdet(lib.tensor(value))
        messages.append(str(info.value))
    assert messages[1] == messages[0]


# ------------------------------------------------------------------ broadcast_shapes
@pytest.mark.parametrize(
    "shapes",
    [((2, 1), (3,)), (3, (2, 1)), (), ((0,), (1,)), ([2, 3],), ((1, 4), (5, 1, 1), ()), (torch.Size([2]), 2)],
)
def test_broadcast_shapes_is_torchs(shapes):
    got = mg.broadcast_shapes(*shapes)
    assert got == torch.broadcast_shapes(*shapes)
    assert isinstance(got, mg.Size)
    assert mg.functional.broadcast_shapes is mg.broadcast_shapes


@pytest.mark.parametrize(
    ("shapes", "error"),
    [
        (((2,), (3,)), RuntimeError),
        (((3, 2), (4, 1, 3)), RuntimeError),
        (((-1,), (1,)), ValueError),
        (((2.0,),), TypeError),
    ],
)
def test_broadcast_shapes_errors_are_torchs(shapes, error):
    messages = []
    for lib in (torch, mg):
        with pytest.raises(error) as info:
            lib.broadcast_shapes(*shapes)
        messages.append(str(info.value))
    assert messages[1] == messages[0]


# ------------------------------------------------------------------ stride, storage_offset, as_strided
LAYOUTS = {
    "contiguous": lambda x: x,
    "transposed": lambda x: x.t(),
    "sliced": lambda x: x[:, 1:3],
    "stepped": lambda x: x[::2],
    "corner": lambda x: x[1:, 2:],
    "expanded": lambda x: x[:1].expand(5, 3, 4),
    "unsqueezed": lambda x: x.unsqueeze(1),
    "none_index": lambda x: x[:, None],
    "permuted_size1": lambda x: x.reshape(3, 1, 4).permute(1, 0, 2),
    "squeezed": lambda x: x[:, :1].squeeze(),
    "reshaped": lambda x: x.reshape(2, 6),
    "flipped": lambda x: x.flip(0),
    "row": lambda x: x[:, 0],
    "new_leading": lambda x: x[None],
    "empty": lambda x: x[:0],
    "empty_cols": lambda x: x[:, :0],
    "scalar": lambda x: x[1, 1],
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_stride_and_storage_offset_are_torchs(name):
    a = np.arange(12.0).reshape(3, 4)
    t, m = LAYOUTS[name](torch.tensor(a)), LAYOUTS[name](mg.tensor(a))
    assert m.stride() == t.stride()
    assert m.storage_offset() == t.storage_offset()
    for d in range(-t.ndim, t.ndim):
        assert m.stride(d) == t.stride(d)


def test_stride_errors_are_torchs():
    for bad in (lambda lib: lib.zeros(3, 4).stride(2), lambda lib: lib.zeros(()).stride(0)):
        with pytest.raises(IndexError):
            bad(torch)
        with pytest.raises(IndexError):
            bad(mg)


STRIDED = {
    "windows": lambda lib, x: x.reshape(-1).as_strided((4, 3), (2, 1)),
    "overlapping_2d": lambda lib, x: lib.as_strided(x, (2, 2, 2, 2), (4, 1, 4, 1)),
    "offset": lambda lib, x: x.as_strided((3,), (4,), 2),
    "every_other": lambda lib, x: x.as_strided((6,), (2,)),
    "on_a_slice": lambda lib, x: x[1:].as_strided((2, 3), (1, 2)),
    "on_a_transpose": lambda lib, x: x.t().as_strided((3, 2), (1, 4), 1),
    "on_an_expand": lambda lib, x: x[:1].expand(4, 4).as_strided((2, 3), (0, 1)),
    "scalar": lambda lib, x: x.as_strided((), (), 5),
    "empty": lambda lib, x: x.as_strided((0, 3), (1, 1)),
    "twice": lambda lib, x: x.as_strided((3, 3), (2, 1)).as_strided((2,), (3,), 1),
    "then_ops": lambda lib, x: (x.as_strided((3, 3), (1, 1)) ** 2).sum(0),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(STRIDED))
def test_as_strided_reads_and_differentiates_like_torch(name, dtype):
    compare(STRIDED[name], np.random.default_rng(0).standard_normal((3, 4)).astype(dtype))


def test_as_strided_is_a_view_of_the_input():
    for lib in (torch, mg):
        x = lib.arange(10.0)
        y = x.as_strided((3, 3), (1, 1))
        assert y.stride() == (1, 1) and y.storage_offset() == 0
        assert x.as_strided((2,), (1,), 4).storage_offset() == 4
        x.add_(100)  # a later write to the input shows through the view
        np.testing.assert_array_equal(y.numpy(), 100 + np.add.outer(np.arange(3.0), np.arange(3.0)))


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (((3,), (-1,)), RuntimeError),
        (((3, 3), (1,)), RuntimeError),
        (((11,), (1,)), RuntimeError),
        (((4,), (1,), 8), RuntimeError),
        (((-1,), (1,)), RuntimeError),
        (((2,), (1,), -1), RuntimeError),
        (((2, 2), (1.5, 1)), TypeError),
        ((2, (1,)), TypeError),
    ],
)
def test_as_strided_errors_are_torchs(args, error):
    messages = []
    for lib in (torch, mg):
        with pytest.raises(error) as info:
            lib.arange(10.0).as_strided(*args)
        messages.append(str(info.value))
    assert messages[1] == messages[0]


def test_as_strided_refuses_what_minigrad_does_not_support():
    # reading storage outside the input (torch reads its base's memory): refused rather than guessed
    assert torch.arange(10.0)[2:].as_strided((2,), (1,), 0).tolist() == [0.0, 1.0]
    with pytest.raises(RuntimeError, match="reads only elements of the input"):
        mg.arange(10.0)[2:].as_strided((2,), (1,), 0)
    # writes through the view (torch allows them): refused, saying why (not the expanded-view message)
    y = mg.arange(10.0).as_strided((3,), (2,))
    with pytest.raises(RuntimeError, match="add_: the written-to tensor's memory is read-only: it is an as_strided"):
        y.add_(1)
    with pytest.raises(RuntimeError, match="setitem: the written-to tensor's memory is read-only: it is an as_strided"):
        y[0] = 5.0
    with pytest.raises(RuntimeError, match=r"mul_: unsupported operation: .*\(it is an expanded, read-only view\)"):
        mg.zeros(1).expand(3).mul_(2)


def test_as_strided_follows_a_recorded_write_into_its_input_like_torch():
    # the view shares the input's version counter and is rebuilt on the input's new history after a write
    results = []
    for lib in (torch, mg):
        leaf = lib.tensor(np.arange(10.0), requires_grad=True)
        x = leaf * 1
        y = x.as_strided((3, 3), (2, 1))
        x.mul_(2)
        (y * lib.tensor(np.arange(9.0).reshape(3, 3))).sum().backward()
        results.append((y.detach().numpy(), leaf.grad.numpy()))
    np.testing.assert_array_equal(results[1][0], results[0][0])
    np.testing.assert_array_equal(results[1][1], results[0][1])
