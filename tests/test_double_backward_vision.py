"""create_graph=True through the 2-d vision ops, the pools and pad_sequence: second and third derivatives
against torch's (tests/nn/test_vision2d.py and test_pooling.py check every op's second derivatives by
opcheck.compare; these go one order further, through layers combined, and through the functional API)."""

import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad.autograd.recorded import Traced
from minigrad.autograd.recorded_vision import _pad
from tests.opcheck import assert_close

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


def F(lib):
    return torch.nn.functional if lib is torch else mg.nn.functional


def rand(*shape, seed=0):
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape)


def _numpy(t):
    return None if t is None else t.detach().numpy()


def _derivatives(lib, fn, arrays, order, seed=0):
    """The ``order``-th derivatives of ``fn`` w.r.t. all its inputs, each order contracted with random
    vectors: ``d/dx <v_k, d/dx <... <u, fn(x)>>>`` (the same vectors in both libraries)."""
    rng = np.random.default_rng(seed)
    xs = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = fn(lib, *xs)
    total = (out * lib.tensor(rng.standard_normal(tuple(out.shape)))).sum()
    for k in range(order):
        grads = lib.autograd.grad(total, xs, create_graph=k < order - 1, allow_unused=True)
        vs = [lib.tensor(rng.standard_normal(a.shape)) for a in arrays]
        terms = [(g * v).sum() for g, v in zip(grads, vs) if g is not None and g.requires_grad]
        if k == order - 1 or not terms:
            return [_numpy(g) for g in grads]
        total = terms[0]
        for t in terms[1:]:
            total = total + t
    raise AssertionError("unreachable")


def check(fn, *arrays, order=3):
    """minigrad's derivatives of orders 2..``order`` against torch's."""
    for k in range(2, order + 1):
        want = _derivatives(torch, fn, arrays, k)
        got = _derivatives(mg, fn, arrays, k)
        for i, (g, w) in enumerate(zip(got, want)):
            if w is None or not np.any(w):
                assert g is None or not np.any(g), f"order {k}, input {i}: torch has none, minigrad has one"
                continue
            assert g is not None, f"order {k}, input {i}: minigrad computed none"
            assert_close(g, w, 1e-9, 1e-10, f"order {k} derivative, input {i}")


CONV2D = [
    ((2, 4, 5, 6), (6, 2, 3, 2), dict(stride=(2, 1), padding=1, dilation=(1, 2), groups=2)),
    ((1, 2, 5, 4), (3, 2, 2, 3), dict(padding="same")),  # even kernel: more padding after than before
]


@pytest.mark.parametrize("xs, ws, kw", CONV2D)
def test_conv2d_third_order(xs, ws, kw):
    check(lambda L, x, w, b: F(L).conv2d(x, w, b, **kw).tanh(), rand(*xs), rand(*ws, seed=1), rand(ws[0], seed=2))


def test_conv2d_second_order_weight_only():
    """Only the weight requires grad: the input stays a constant array in the recorded backward."""
    x = mg.tensor(rand(2, 3, 5, 5))
    want_x = torch.tensor(x.numpy())

    def second(lib, xin):
        w = lib.tensor(rand(4, 3, 3, 3, seed=1), requires_grad=True)
        y = F(lib).conv2d(xin, w, padding=1).sin().sum()
        (gw,) = lib.autograd.grad(y, [w], create_graph=True)
        return _numpy(lib.autograd.grad((gw * gw).sum(), [w])[0])

    assert_close(second(mg, x), second(torch, want_x), 1e-9, 1e-10, "d/dw |dy/dw|^2")


@pytest.mark.parametrize(
    "kw, order",
    [
        (dict(stride=2, padding=(1, 0), groups=2, dilation=(1, 2)), 3),
        # torch's own third derivative refuses output_padding ("not supported for non-transposed convolutions")
        (dict(stride=2, padding=(1, 0), output_padding=1, groups=2, dilation=(1, 2)), 2),
    ],
)
def test_conv_transpose2d_higher_order(kw, order):
    check(
        lambda L, x, w, b: F(L).conv_transpose2d(x, w, b, **kw).tanh(),
        rand(1, 4, 3, 3),
        rand(4, 3, 3, 2, seed=1),
        rand(6, seed=2),
        order=order,
    )


@pytest.mark.parametrize(
    "args",
    [dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), dict(kernel_size=(2, 3), stride=1, dilation=2)],
)
def test_max_pool2d_third_order(args):
    check(lambda L, x: F(L).max_pool2d(x.sin(), **args).exp(), rand(2, 2, 7, 6))


def test_avg_pool2d_third_order():
    kw = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
    check(lambda L, x: F(L).avg_pool2d(x.sin(), **kw).exp(), rand(2, 2, 7, 6))


@pytest.mark.parametrize("size", [(3, 4), (7, 2)])
def test_adaptive_max_pool2d_third_order(size):
    check(lambda L, x: F(L).adaptive_max_pool2d(x.sin(), size).exp(), rand(2, 2, 5, 4))


@pytest.mark.parametrize("out", [3, 9])  # 9 bins over 4 elements: several bins share one maximum
def test_adaptive_max_pool1d_third_order(out):
    check(lambda L, x: F(L).adaptive_max_pool1d(x.sin(), out).exp(), rand(2, 3, 4))


def test_unfold_fold_third_order():
    kw = dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1))
    check(lambda L, x: F(L).fold(F(L).unfold(x, **kw).tanh(), (5, 6), **kw).sin(), rand(1, 2, 5, 6))


@pytest.mark.parametrize("batch_first, side", [(False, "right"), (True, "left")])
def test_pad_sequence_third_order(batch_first, side):
    def fn(L, a, b):
        return L.nn.utils.rnn.pad_sequence([a, b], batch_first, -1.5, side).tanh()

    check(fn, rand(4, 3), rand(2, 3, seed=1))


def _cnn(L, x, w1, b1, w2, b2):
    """A small image model through every op above: conv, relu, max pool, transposed conv, adaptive pools."""
    h = F(L).max_pool2d(F(L).conv2d(x, w1, b1, padding=1).relu(), 2)
    h = F(L).conv_transpose2d(h, w2, b2, stride=2).tanh()
    return F(L).adaptive_max_pool2d(h, 3) + F(L).adaptive_avg_pool2d(h, 2).mean()


def test_gradient_penalty_through_a_2d_cnn():
    """WGAN-GP style: the weights' gradients of |d out / d input|^2, as torch computes them."""
    arrays = [rand(2, 2, 6, 6), rand(3, 2, 3, 3, seed=1), rand(3, seed=2), rand(3, 2, 2, 2, seed=3), rand(2, seed=4)]

    def grads(lib):
        x, *ws = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = _cnn(lib, x, *ws)
        (gx,) = lib.autograd.grad(out.sum(), [x], create_graph=True)
        penalty = (gx * gx).sum()
        return [_numpy(g) for g in lib.autograd.grad(penalty, ws)]

    for i, (g, w) in enumerate(zip(grads(mg), grads(torch))):
        assert_close(g, w, 1e-9, 1e-10, f"penalty gradient of weight {i}")


def test_hessian_of_a_conv_loss():
    """autograd.functional.hessian through conv2d and max_pool2d, against torch's."""
    x, w = rand(1, 1, 4, 4), rand(2, 1, 2, 2, seed=1)

    def loss_of(lib):
        xt = lib.tensor(x)
        return lambda wt: F(lib).max_pool2d(F(lib).conv2d(xt, wt).tanh(), 2).pow(2).sum()

    got = mg.autograd.functional.hessian(loss_of(mg), mg.tensor(w))
    want = torch.autograd.functional.hessian(loss_of(torch), torch.tensor(w))
    assert_close(_numpy(got), _numpy(want), 1e-9, 1e-10, "hessian")


def test_recorded_pad_with_a_fill_keeps_the_gradient():
    """B.pad's recorded form with a non-zero fill: the values of np.pad, the gradient of torch's F.pad."""
    x = rand(2, 3)
    with mg.enable_grad():
        t = mg.tensor(x, requires_grad=True)
        out = _pad(Traced(t), ((1, 0), (2, 1)), constant_values=-2.5).t
    np.testing.assert_array_equal(out.detach().numpy(), np.pad(x, ((1, 0), (2, 1)), constant_values=-2.5))
    u = rand(3, 6, seed=1)
    (got,) = mg.autograd.grad((out * out * mg.tensor(u)).sum(), [t])
    xt = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.pad(xt, (2, 1, 1, 0), value=-2.5)
    (want,) = torch.autograd.grad((ref * ref * torch.tensor(u)).sum(), [xt])
    assert_close(_numpy(got), _numpy(want), 1e-12, 1e-12, "gradient through the padding")
