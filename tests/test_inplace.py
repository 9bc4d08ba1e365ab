"""In-place ops: true writes (views stay linked), torch's errors, and recorded writes in grad mode."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from tests.opcheck import assert_close, compare

DTYPES = [np.float64, np.float32]


def _arr(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# each entry: name, and fn(lib, x, other) applying the in-place op to x
OPS = {
    "add_": lambda lib, x, o: x.add_(o),
    "add_alpha": lambda lib, x, o: x.add_(o, alpha=-0.5),
    "sub_": lambda lib, x, o: x.sub_(o, alpha=2),
    "mul_": lambda lib, x, o: x.mul_(o),
    "div_": lambda lib, x, o: x.div_(o),
    "iadd": lambda lib, x, o: x.__iadd__(o),
    "imul": lambda lib, x, o: x.__imul__(o),
    "add_scalar": lambda lib, x, o: x.add_(1.5),
    "clamp_": lambda lib, x, o: x.clamp_(-0.3, 0.4),
    "clamp_tensor": lambda lib, x, o: x.clamp_(min=o),
    "clamp_max": lambda lib, x, o: x.clamp_(max=0.1),
    "masked_fill_": lambda lib, x, o: x.masked_fill_(o > 0, -2.0),
    "exp_": lambda lib, x, o: x.exp_(),
    "relu_": lambda lib, x, o: x.relu_(),
    "zero_": lambda lib, x, o: x.zero_(),
    "fill_": lambda lib, x, o: x.fill_(3.0),
    "copy_": lambda lib, x, o: x.copy_(o),
}


@pytest.mark.parametrize("name", list(OPS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_no_grad_writes_in_place_like_torch(name, dtype):
    fn = OPS[name]
    x, o = _arr((2, 3), dtype), _arr((3,), dtype, seed=1)
    t, tbase = torch.tensor(x, requires_grad=True), None
    m = mg.tensor(x, requires_grad=True)
    with torch.no_grad():
        tbase = t.detach()[0]  # a view of the first row
        out_t = fn(torch, t, torch.tensor(o))
    with mg.no_grad():
        mview = m.detach()[0]
        before, version = m.array, m._version
        out_m = fn(mg, m, mg.tensor(o))
    assert out_m is m and m.array is before and m._version > version
    assert m.is_leaf and m.requires_grad and m.dtype == mg.tensor(x).dtype
    tol = 1e-12 if dtype is np.float64 else 1e-6
    assert_close(m.detach().numpy(), out_t.detach().numpy(), tol, tol, name)
    assert_close(mview.numpy(), tbase.numpy(), tol, tol, name + " (view)")


@pytest.mark.parametrize("name", list(OPS))
def test_leaf_requiring_grad_errors_like_torch(name):
    fn = OPS[name]
    o = _arr((3,), seed=1)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        fn(torch, torch.zeros(2, 3, dtype=torch.float64, requires_grad=True), torch.tensor(o))
    w = mg.zeros(2, 3, dtype=mg.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        fn(mg, w, mg.tensor(o))
    assert w.is_leaf and w._version == 0 and not w.array.any()


def test_writes_through_views_without_grad():
    x = mg.zeros(2, 3)
    row = x[1]
    col = x.T[0]  # column 0, through a transposed view
    row.add_(1)
    col.fill_(5.0)
    x.view(6)[2:4].mul_(3)  # a reshape view of a contiguous tensor writes into x too
    assert x.tolist() == [[5, 0, 0], [15, 1, 1]]
    assert row.tolist() == [15, 1, 1]
    y = mg.ones(4)
    y += 1
    y *= mg.tensor([1.0, 2.0, 3.0, 4.0])
    y -= 1
    y /= 2
    assert y.tolist() == [0.5, 1.5, 2.5, 3.5]


NONLEAF = {
    "add_": lambda lib, a, b: (a * 1).add_(b, alpha=2),
    "sub_": lambda lib, a, b: (a * 1).sub_(b),
    "mul_": lambda lib, a, b: (a + 1).mul_(b),
    "div_": lambda lib, a, b: (a + 1).div_(b.exp()),
    "chain": lambda lib, a, b: (a * 2).add_(1).mul_(b).sub_(a),
    "clamp_": lambda lib, a, b: (a * 1).clamp_(-0.5, 0.5),
    "clamp_tensor": lambda lib, a, b: (a * 1).clamp_(min=b * 0.5),
    "exp_": lambda lib, a, b: (a * 1).exp_(),
    "relu_": lambda lib, a, b: (a * 1).relu_(),
    "masked_fill_": lambda lib, a, b: (a * 1).masked_fill_(b > 0, 0.25),
    "zero_": lambda lib, a, b: (a * 1).zero_() + b,
    "fill_": lambda lib, a, b: (a * 1).fill_(2.0) * b,
    "fill_tensor": lambda lib, a, b: (a * 1).fill_(b.sum()),
    "copy_": lambda lib, a, b: (a * 1).copy_(b) * a,
    "copy_broadcast": lambda lib, a, b: (a * 1).copy_(b[0]),
    "into_plain": lambda lib, a, b: lib.zeros(3, 4, dtype=a.dtype, device=a.device).add_(a).mul_(b),
}


@pytest.mark.parametrize("name", list(NONLEAF))
@pytest.mark.parametrize("dtype", DTYPES)
def test_non_leaf_write_is_recorded(name, dtype):
    compare(NONLEAF[name], _arr((3, 4), dtype), _arr((3, 4), dtype, seed=1))


@settings(max_examples=10)
@given(
    shapes=hnp.mutually_broadcastable_shapes(
        num_shapes=1, base_shape=(), min_dims=0, max_dims=3, min_side=0, max_side=3
    ),
    op=st.sampled_from(["add_", "mul_", "div_", "sub_"]),
    data=st.data(),
)
def test_recorded_binary_inplace_with_broadcast_other(shapes, op, data):
    shape = shapes.result_shape
    # other has a shape that broadcasts to self's shape
    other = tuple(data.draw(st.sampled_from([1, s])) for s in shape)[data.draw(st.integers(0, len(shape))) :]
    compare(lambda lib, a, b: getattr(a * 1, op)(b.abs() + 1 if op == "div_" else b), _arr(shape), _arr(other, seed=1))


def test_recorded_write_keeps_identity_memory_and_bumps_version():
    a = mg.randn(3, requires_grad=True)
    h = a * 2
    v0, memory = h._version, h.array
    out = h.mul_(3)
    assert out is h and h.array is memory and h._version == v0 + 1 and h.grad_fn is not None and not h.is_leaf
    h.sum().backward()
    assert np.allclose(a.grad.numpy(), 6.0)


def test_dtype_rules_like_torch():
    for fn in (
        lambda lib: lib.zeros(3, dtype=lib.int64).add_(0.5),
        lambda lib: lib.zeros(3, dtype=lib.int64).div_(2),
        lambda lib: lib.zeros(3, dtype=lib.int64).exp_(),
    ):
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
            fn(torch)
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
            fn(mg)
    with pytest.raises(RuntimeError, match="result type Long can't be cast to the desired output type Bool"):
        mg.zeros(2, dtype=mg.bool).add_(1)
    # same-category results are cast back to self's dtype
    x = mg.ones(3)
    x.add_(mg.ones(3, dtype=mg.float64))
    assert x.dtype == mg.float32 and x.tolist() == [2, 2, 2]
    i = mg.tensor([5, 7])
    i.div_(2, rounding_mode="floor")
    assert i.dtype == mg.int64 and i.tolist() == [2, 3]
    i.mul_(mg.tensor([True, False]))
    assert i.tolist() == [2, 0]
    f = mg.tensor([1.5, 2.5]).to(mg.float64)
    f.copy_(mg.tensor([1, 2]))
    assert f.dtype == mg.float64 and f.tolist() == [1.0, 2.0]
    n = mg.zeros(3, dtype=mg.int64)
    n.copy_(mg.tensor([1.7, -1.7, 2.2]))  # copy_ casts like torch (truncation)
    assert n.tolist() == torch.zeros(3, dtype=torch.long).copy_(torch.tensor([1.7, -1.7, 2.2])).tolist()


def test_shape_and_argument_errors():
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        mg.zeros(3).add_(mg.zeros(2, 3))
    with pytest.raises(RuntimeError, match="size of tensor a"):
        mg.zeros(3).mul_(mg.zeros(2))
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max' must not be None"):
        mg.zeros(3).clamp_()
    with pytest.raises(RuntimeError, match="masked_fill_ only supports boolean masks"):
        mg.zeros(3).masked_fill_(mg.tensor([1, 0, 1]), 1.0)
    with pytest.raises(RuntimeError, match="broadcastable"):
        mg.zeros(3).copy_(mg.zeros(2))
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        mg.zeros(3, 1).expand(3, 4).add_(1)
    with pytest.raises(RuntimeError, match="fill_ only supports 0-dimension value tensor"):
        mg.zeros(3).fill_(mg.zeros(3))


@pytest.mark.parametrize("dtype", [mg.float32, mg.float64])
def test_random_fills(dtype):
    w = mg.zeros(2000, dtype=dtype, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        w.uniform_()
    with mg.no_grad():
        base = w.array
        w.uniform_(-2, 3)
    assert w.array is base and w.dtype == dtype
    vals = w.detach().numpy()
    assert vals.min() >= -2 and vals.max() < 3 and abs(vals.mean() - 0.5) < 0.15
    with mg.no_grad():
        w.normal_(1.0, 0.5)
    vals = w.detach().numpy()
    assert abs(vals.mean() - 1.0) < 0.05 and abs(vals.std() - 0.5) < 0.05
    # the same generator seed gives the same draws
    g1, g2 = mg.Generator().manual_seed(3), mg.Generator().manual_seed(3)
    a, b = mg.empty(5, dtype=dtype).normal_(generator=g1), mg.empty(5, dtype=dtype).normal_(generator=g2)
    assert a.tolist() == b.tolist()
    mg.manual_seed(7)
    c = mg.empty(4).uniform_()
    mg.manual_seed(7)
    assert mg.empty(4).uniform_().tolist() == c.tolist()


def test_random_fill_on_non_leaf_blocks_gradient():
    a = mg.randn(3, requires_grad=True)
    h = a * 2
    h.uniform_()
    (h * a).sum().backward()
    assert np.allclose(a.grad.numpy(), h.detach().numpy())  # only the direct use of a contributes


@pytest.mark.parametrize("dtype", DTYPES)
def test_write_does_not_reroute_earlier_uses(dtype):
    # z used h before h was written: its gradient must reach h's *old* history (graph.py fixes a node's
    # edges when it is recorded; exp and add read no saved h, so torch allows it)
    def fn(lib, a, b):
        h = a * 2
        z = h.exp() + (h + b)
        h.mul_(3)
        h[0] = b[0].sum()
        return z, h

    compare(fn, _arr((2, 3), dtype), _arr((2, 3), dtype, seed=1))


EXTRA = {
    "neg_": lambda lib, x, o: x.neg_(),
    "abs_": lambda lib, x, o: x.abs_(),
    "sqrt_": lambda lib, x, o: x.abs_().sqrt_(),
    "log_": lambda lib, x, o: x.abs_().add_(0.5).log_(),
    "sigmoid_": lambda lib, x, o: x.sigmoid_(),
    "tanh_": lambda lib, x, o: x.tanh_(),
    "sin_": lambda lib, x, o: x.sin_(),
    "cos_": lambda lib, x, o: x.cos_(),
    "square_": lambda lib, x, o: x.square_(),
    "reciprocal_": lambda lib, x, o: x.add_(3.0).reciprocal_(),
    "floor_": lambda lib, x, o: x.floor_(),
    "ceil_": lambda lib, x, o: x.ceil_(),
    "trunc_": lambda lib, x, o: x.trunc_(),
    "pow_": lambda lib, x, o: x.pow_(2),
    "clip_": lambda lib, x, o: x.clip_(-0.2, 0.2),
    "clamp_min_": lambda lib, x, o: x.clamp_min_(0.1),
    "clamp_max_": lambda lib, x, o: x.clamp_max_(o),
    "lerp_": lambda lib, x, o: x.lerp_(o, 0.3),
    "addcmul_": lambda lib, x, o: x.addcmul_(o, o, value=-0.5),
    "addcdiv_": lambda lib, x, o: x.addcdiv_(o, o.abs() + 1, value=2),
    "scatter_": lambda lib, x, o: x.scatter_(1, lib.tensor([[2, 0], [1, 1]], device=x.device), 7.0),
    "scatter_add_": lambda lib, x, o: x.scatter_add_(
        1, lib.tensor([[2, 0, 2], [1, 1, 0]], device=x.device), o.expand(2, 3).contiguous()
    ),
}


@pytest.mark.parametrize("name", list(EXTRA))
@pytest.mark.parametrize("dtype", DTYPES)
def test_more_inplace_ops_no_grad_and_recorded(name, dtype):
    fn = EXTRA[name]
    x, o = _arr((2, 3), dtype), _arr((3,), dtype, seed=1)
    t, m = torch.tensor(x), mg.tensor(x)
    view = m[0]
    base = m.array
    assert fn(mg, m, mg.tensor(o)) is m and m.array is base
    fn(torch, t, torch.tensor(o))
    tol = 1e-12 if dtype is np.float64 else 1e-6
    assert_close(m.numpy(), t.numpy(), tol, tol, name)
    assert_close(view.numpy(), t[0].numpy(), tol, tol, name + " (view)")
    # on a non-leaf the op is recorded: forward and gradients as torch
    compare(lambda lib, a, b: fn(lib, a * 1, b), x, o)


@pytest.mark.parametrize(
    "write",
    [
        lambda lib, w: w[0].mul_(2),
        lambda lib, w: w.view(6).add_(1),
        lambda lib, w: w.t()[1:].zero_(),
        lambda lib, w: w[1][2:].__setitem__(0, 5.0),
    ],
)
def test_writing_into_a_view_of_a_leaf_errors_like_torch(write):
    for lib in (torch, mg):
        w = lib.ones(2, 3, requires_grad=True)
        with pytest.raises(
            RuntimeError, match="a view of a leaf Variable that requires grad is being used in an in-place operation."
        ):
            write(lib, w)
        with lib.no_grad():
            write(lib, w)  # allowed without recording, and it writes into w
        assert not bool((w.detach() == 1).all())


def test_writing_into_a_copy_of_a_leaf_is_allowed():
    for lib in (torch, mg):
        w = lib.ones(2, 3, requires_grad=True)
        c = w[[0, 1]]  # advanced indexing copies: not a view
        c.mul_(2)
        c.sum().backward()
        assert w.grad.tolist() == [[2.0] * 3] * 2


def test_random_fills_need_floating_point():
    for lib in (torch, mg):
        with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
            lib.zeros(3, dtype=lib.int64).uniform_()
        with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
            lib.zeros(3, dtype=lib.int64).normal_()


def _through_views(lib, a, b):
    h = a * 2
    h[0].mul_(3)  # a row view: h changes too
    h.t()[1:].add_(b[:, 1:].t())  # a view of a view
    h.view(-1)[2:4].zero_()  # through a reshape
    h[1][0] = b[1].sum()  # setitem on a view
    h.flip(0).narrow(1, 3, 1).fill_(0.5)
    h.unsqueeze(0).squeeze(0).permute(1, 0)[0].clamp_(max=0.1)
    return h.exp()


@pytest.mark.parametrize("dtype", DTYPES)
def test_recorded_writes_through_views_reach_the_base(dtype):
    compare(_through_views, _arr((3, 4), dtype), _arr((3, 4), dtype, seed=1))


def test_write_through_view_of_unrecorded_base_stays_in_place():
    h = mg.zeros(2, 3)
    h[0].add_(1)
    h.t()[2].fill_(7.0)
    assert h.tolist() == [[1, 1, 7], [0, 0, 7]] and h.grad_fn is None


def test_writes_into_copies_do_not_reach_the_base_like_torch():
    def fn(lib, a):
        h = a * 2
        h.t().reshape(-1)[0].fill_(5.0)  # reshape of a transposed tensor copies: h is unchanged
        h.flip(1)[0].zero_()  # flip copies in torch
        h[[0, 1]].mul_(0)  # advanced indexing copies
        e = h.expand(2, 3, 4)
        return h, e.exp()

    compare(fn, _arr((3, 4)))


def test_element_of_a_tensor_is_a_view():
    x = mg.zeros(3)
    x[1].fill_(2.0)
    x[2].add_(5)
    m = mg.zeros(2, 2)
    m[1, 0].sub_(1)
    assert x.tolist() == [0, 2, 5] and m.tolist() == [[0, 0], [-1, 0]]


# ------------------------------------------------------------------ the declarations (minigrad.ops.registry)
def test_every_hand_written_inplace_function_is_declared_as_in_torch():
    from minigrad.ops import inplace
    from minigrad.ops.registry import REGISTRY

    assert len(inplace.__all__) >= 35
    for name in inplace.__all__:
        d = REGISTRY[name]
        assert d.module == "minigrad.ops.inplace" and d.method == name, name
        assert hasattr(torch.Tensor, name), f"torch.Tensor has no {name}"
        assert d.top_level == hasattr(torch, name), f"top_level of {name}"  # torch.exp_ exists, torch.add_ does not
        assert getattr(mg, name) is d.fn and getattr(mg.Tensor, name) is d.fn  # the method is the function


def test_clip_is_clamp_in_place():
    compare(lambda t, a: (a * 1).clip_(-0.3, 0.4) * a, _arr((3, 4)))


@pytest.mark.parametrize("name", ["clamp_", "clip_", "exp_", "relu_", "zero_", "neg_", "sqrt_"])
def test_top_level_inplace_functions_take_torchs_input_keyword(name):
    kwargs = {"min": -0.5} if name in ("clamp_", "clip_") else {}
    compare(lambda t, a: getattr(t, name)(input=a.abs() + 0.5, **kwargs), _arr((2, 3)))
