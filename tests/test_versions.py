"""torch's version-counter rule: in-place writes bump a counter shared with views; backward raises when a
tensor it reads was modified since it was saved. Every case runs the same code on torch and on minigrad
and expects the same outcome: the same error, or the same forward values and gradients."""

import numpy as np
import pytest
import torch

import minigrad as mg
from tests.opcheck import DEVICE

_MODIFIED = "modified by an inplace operation"


def _t(lib, values, requires_grad=False):
    dev = DEVICE if lib is mg else None
    return lib.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad, device=dev)


def _np(x):
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return [_np(v) for v in x]
    if isinstance(x, (torch.Tensor, mg.Tensor)):
        x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else mg.Tensor.cpu(x.detach()).numpy()
    return np.asarray(x)


def _run(fn, lib):
    try:
        return "ok", _np(fn(lib))
    except RuntimeError as e:
        return "raise", str(e)


def same_as_torch(fn, match=_MODIFIED):
    """``fn(lib)`` must raise RuntimeError (containing ``match``) in both libraries, or return the same values."""
    kind_t, res_t = _run(fn, torch)
    kind_m, res_m = _run(fn, mg)
    assert kind_t == kind_m, f"torch: {kind_t} {res_t!s:.200}; minigrad: {kind_m} {res_m!s:.200}"
    if kind_t == "raise":
        assert match in res_t and match in res_m, (res_t, res_m)
        return
    assert len(res_t) == len(res_m)
    for a, b in zip(res_t, res_m):
        if a is None or b is None:
            assert a is None and b is None
        else:
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ saved tensors modified: both raise
def test_leaf_modified_under_no_grad_after_use():
    def fn(lib):
        w = _t(lib, [1.0, 2.0, 3.0], True)
        z = w * w
        with lib.no_grad():
            w.add_(1)
        z.sum().backward()
        return [w.grad]

    same_as_torch(fn)


def test_optimizer_step_between_forward_and_backward():
    def fn(lib):
        w = _t(lib, [1.0, -2.0, 3.0], True)
        x = _t(lib, [0.5, 0.25, 2.0], True)
        opt = lib.optim.SGD([w], lr=0.1)
        (w * x).sum().backward()
        loss = (w * x).sum()
        opt.step()
        loss.backward()
        return [w.grad]

    same_as_torch(fn)


@pytest.mark.parametrize("opt", ["Adam", "RMSprop", "AdamW"])
def test_other_optimizers_bump_the_version(opt):
    for lib in (torch, mg):
        w = _t(lib, [1.0, -2.0], True)
        (w * w).sum().backward()
        v0 = w._version
        getattr(lib.optim, opt)([w], lr=0.1).step()
        assert w._version > v0, (lib.__name__, opt)


def test_exp_output_modified():
    def fn(lib):
        x = _t(lib, [0.1, 0.2, 0.3], True)
        y = x.exp()
        y.mul_(2)
        y.sum().backward()
        return [x.grad]

    same_as_torch(fn)


def test_exp_output_modified_under_no_grad():
    def fn(lib):
        x = _t(lib, [0.1, 0.2, 0.3], True)
        y = x.exp()
        with lib.no_grad():
            y[0] = 5.0
        y.sum().backward()
        return [x.grad]

    same_as_torch(fn)


@pytest.mark.parametrize("use", ["square", "mul_self", "sigmoid", "exp", "add", "tanh"])
def test_nonleaf_saved_then_relu_(use):
    # raises where the use saved h (h*h); sigmoid, exp, tanh save their output and add saves nothing: torch computes
    uses = {
        "square": lambda h: h * h,
        "mul_self": lambda h: h.mul(h),
        "sigmoid": lambda h: h.sigmoid(),
        "exp": lambda h: h.exp(),
        "add": lambda h: h + 1,
        "tanh": lambda h: h.tanh(),
    }

    def fn(lib):
        a = _t(lib, [1.0, -2.0, 0.5], True)
        h = a * 2
        g = uses[use](h)
        h.relu_()
        (g * _t(lib, [1.0, 2.0, 3.0])).sum().add(h.sum()).backward()
        return [a.grad, h]

    same_as_torch(fn)


def test_input_without_grad_saved_for_weight_grad():
    def fn(lib):
        w = _t(lib, [1.0, 2.0, 3.0], True)
        x = _t(lib, [4.0, 5.0, 6.0])
        y = w * x
        x.add_(1)
        y.sum().backward()
        return [w.grad]

    same_as_torch(fn)


def test_matmul_vector_zeroed():
    def fn(lib):
        A = _t(lib, [[1.0, 2.0], [3.0, 4.0]], True)
        x = _t(lib, [1.0, -1.0])
        y = A @ x
        x.zero_()
        y.sum().backward()
        return [A.grad]

    same_as_torch(fn)


def test_write_through_a_view_of_a_saved_tensor():
    def fn(lib):
        w = _t(lib, [[1.0, 2.0], [3.0, 4.0]], True)
        x = _t(lib, [[1.0, -1.0], [2.0, 0.5]])
        y = w * x
        x[0].mul_(3)  # x's version is shared with its view x[0]
        y.sum().backward()
        return [w.grad]

    same_as_torch(fn)


def test_write_to_detached_alias_is_seen():
    def fn(lib):
        w = _t(lib, [1.0, 2.0], True)
        x = _t(lib, [3.0, 4.0], True)
        y = w * x
        x.detach().add_(1)  # detach() shares the version counter
        y.sum().backward()
        return [w.grad]

    same_as_torch(fn)


def test_version_counter_shared_with_views():
    for lib in (torch, mg):
        x = _t(lib, [[1.0, 2.0], [3.0, 4.0]])
        v = x[0]
        t = x.t()
        e = x.unsqueeze(0).expand(3, 2, 2)
        v0 = x._version
        v.add_(1)
        t[1, 1] = 7.0
        assert x._version == v._version == t._version == e._version == v0 + 2, lib.__name__


# ------------------------------------------------------------------ writes that torch computes: same values
def test_view_sees_write_to_base_and_grads_follow():
    def fn(lib):
        x = _t(lib, [1.0, 2.0, 3.0], True)
        h = x * 2
        v = h[0:2]
        h.mul_(3)
        h.add_(1)
        (v * _t(lib, [1.0, 10.0])).sum().backward()
        return [v, h, x.grad]

    same_as_torch(fn)


def test_copy_into_row_of_zeros():
    def fn(lib):
        x = _t(lib, [1.0, 2.0], True)
        buf = lib.zeros(3, 2, dtype=lib.float64, device=DEVICE if lib is mg else None)
        buf[0].copy_(x)
        assert buf.requires_grad and not buf.is_leaf
        (buf * _t(lib, [[2.0, 3.0], [4.0, 5.0], [6.0, 7.0]])).sum().backward()
        return [buf, x.grad]

    same_as_torch(fn)


def test_copy_into_row_sum_backward_gives_ones():
    def fn(lib):
        x = _t(lib, [1.0, 2.0], True)
        buf = lib.zeros(3, 2, dtype=lib.float64, device=DEVICE if lib is mg else None)
        buf[0].copy_(x)
        buf.sum().backward()
        return [x.grad]

    same_as_torch(fn)


def test_view_taken_before_setitem_on_base():
    def fn(lib):
        x = _t(lib, [1.0, 2.0], True)
        buf = lib.zeros(3, 2, dtype=lib.float64, device=DEVICE if lib is mg else None)
        row = buf[1]
        buf[1] = x * 3
        (row * _t(lib, [5.0, 7.0])).sum().backward()
        return [row, buf, x.grad]

    same_as_torch(fn)


def test_chained_views_write_reaches_base():
    def fn(lib):
        a = _t(lib, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], True)
        h = a * 1
        h.t()[1:].add_(1)
        h.t()[1:].mul_(_t(lib, [[2.0, 3.0], [4.0, 5.0]]))
        (h * h).sum().backward()
        return [h, a.grad]

    same_as_torch(fn)


def test_write_through_view_with_grad_value_and_old_view():
    def fn(lib):
        a = _t(lib, [[1.0, 2.0], [3.0, 4.0]], True)
        b = _t(lib, [9.0, 8.0], True)
        h = a * 2
        col = h[:, 1]
        h[0].mul_(b)
        (col * _t(lib, [3.0, 5.0])).sum().add((h * h).sum()).backward()
        return [h, col, a.grad, b.grad]

    same_as_torch(fn)


def test_mul_exp_chain_on_nonleaf():
    def fn(lib):
        a = _t(lib, [0.5, -1.0, 2.0], True)
        w = _t(lib, [2.0, 3.0, 4.0], True)
        h = a * 1
        h.mul_(w).sigmoid_().add_(w).clamp_(0.0, 3.0)
        (h * h).sum().backward()
        return [h, a.grad, w.grad]

    same_as_torch(fn)


def test_exp_then_mul_in_place_raises():
    def fn(lib):
        a = _t(lib, [0.5, -1.0], True)
        h = a * 1
        h.exp_().mul_(2)
        h.sum().backward()
        return [a.grad]

    same_as_torch(fn)


def test_masked_fill_and_scatter_in_a_graph():
    def fn(lib):
        a = _t(lib, [[0.5, -1.0, 2.0], [1.5, -0.5, 0.25]], True)
        h = a * 3
        h.masked_fill_(h < 0, 0.0)
        idx = lib.tensor([[2, 0], [1, 1]]) if lib is torch else mg.tensor([[2, 0], [1, 1]], device=DEVICE)
        h.scatter_(1, idx, 1.0)
        (h * h).sum().backward()
        return [h, a.grad]

    same_as_torch(fn)


# ------------------------------------------------------------------ torch's errors for forbidden writes
def test_view_of_leaf_written_raises():
    def fn(lib):
        w = _t(lib, [1.0, 2.0], True)
        w[0].add_(1)
        return [w]

    same_as_torch(fn, match="leaf Variable that requires grad")


def test_view_made_under_no_grad_written_in_grad_mode_raises():
    def fn(lib):
        a = _t(lib, [1.0, 2.0], True)
        h = a * 2
        with lib.no_grad():
            v = h[0]
        v.mul_(3)
        return [h]

    same_as_torch(fn, match="no_grad mode")


# ------------------------------------------------------------------ a second backward with nothing saved
def test_second_backward_through_sum_accumulates():
    def fn(lib):
        x = _t(lib, [1.0, 2.0, 3.0], True)
        y = x.sum()
        y.backward()
        y.backward()
        return [x.grad]

    same_as_torch(fn)


def test_second_backward_through_add_and_views():
    def fn(lib):
        x = _t(lib, [[1.0, 2.0], [3.0, 4.0]], True)
        y = (x + 1).t().reshape(4).mean()
        y.backward()
        y.backward()
        return [x.grad]

    same_as_torch(fn)


def test_second_backward_through_saved_tensors_raises():
    def fn(lib):
        x = _t(lib, [1.0, 2.0, 3.0], True)
        y = (x * x).sum()
        y.backward()
        y.backward()
        return [x.grad]

    same_as_torch(fn, match="backward through the graph a second time")


# ------------------------------------------------------------------ inplace=True activations and dropout
ACTIVATIONS = {
    "relu": (lambda F, x, ip: F.relu(x, inplace=ip)),
    "leaky_relu": (lambda F, x, ip: F.leaky_relu(x, 0.2, inplace=ip)),
    "elu": (lambda F, x, ip: F.elu(x, 0.7, inplace=ip)),
    "hardtanh": (lambda F, x, ip: F.hardtanh(x, -0.5, 0.5, inplace=ip)),
    "relu6": (lambda F, x, ip: F.relu6(x, inplace=ip)),
    "silu": (lambda F, x, ip: F.silu(x, inplace=ip)),
}
MODULES = {
    "ReLU": lambda nn: nn.ReLU(inplace=True),
    "LeakyReLU": lambda nn: nn.LeakyReLU(0.1, inplace=True),
    "ELU": lambda nn: nn.ELU(inplace=True),
    "Hardtanh": lambda nn: nn.Hardtanh(inplace=True),
    "ReLU6": lambda nn: nn.ReLU6(inplace=True),
    "SiLU": lambda nn: nn.SiLU(inplace=True),
}


def _F(lib):
    return lib.nn.functional


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_inplace_activation_modifies_and_returns_input(name):
    act = ACTIVATIONS[name]

    def fn(lib):
        a = _t(lib, [[-1.5, 0.25, 2.0], [0.75, -0.1, 7.0]], True)
        h = a * 2
        out = act(_F(lib), h, True)
        assert out is h
        (h * _t(lib, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
        return [h, a.grad]

    same_as_torch(fn)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_inplace_activation_on_plain_tensor(name):
    act = ACTIVATIONS[name]

    def fn(lib):
        x = _t(lib, [-1.5, 0.25, 2.0, 7.0])
        memory = x.data_ptr() if lib is torch else x.array
        out = act(_F(lib), x, True)
        assert out is x and (x.data_ptr() if lib is torch else x.array) is memory or lib is torch
        return [x]

    same_as_torch(fn)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_inplace_activation_on_leaf_raises(name):
    act = ACTIVATIONS[name]
    same_as_torch(lambda lib: [act(_F(lib), _t(lib, [1.0, -1.0], True), True)], match="leaf Variable")


def test_inplace_relu_on_saved_input_raises():
    def fn(lib):
        a = _t(lib, [1.0, -2.0], True)
        h = a * 2
        g = h * h
        _F(lib).relu(h, inplace=True)
        g.sum().backward()
        return [a.grad]

    same_as_torch(fn)


@pytest.mark.parametrize("name", list(MODULES))
def test_inplace_modules(name):
    def fn(lib):
        a = _t(lib, [[-1.5, 0.25, 2.0], [0.75, -0.1, 7.0]], True)
        h = a * 2
        out = MODULES[name](lib.nn)(h)
        assert out is h
        (h * h).sum().backward()
        return [h, a.grad]

    same_as_torch(fn)


def test_inplace_dropout():
    mask = np.array([[1, 0, 1], [0, 1, 1]], dtype=np.float64)

    def fn(lib):
        a = _t(lib, [[-1.5, 0.25, 2.0], [0.75, -0.1, 7.0]], True)
        h = a * 2
        if lib is torch:  # torch draws its own mask: apply the same one by hand, in place, as dropout does
            out = h.mul_(torch.tensor(mask / 0.5))
        else:
            out = mg.nn.Dropout(0.5, inplace=True)(h, mask=mg.tensor(mask, device=DEVICE))
        assert out is h
        (h * h).sum().backward()
        return [h, a.grad]

    same_as_torch(fn)


def test_inplace_dropout_on_leaf_raises():
    same_as_torch(lambda lib: [_F(lib).dropout(_t(lib, [1.0, 2.0], True), 0.5, True, True)], match="leaf Variable")


def test_inplace_dropout_eval_returns_input():
    for lib in (torch, mg):
        x = _t(lib, [1.0, 2.0], True)
        assert _F(lib).dropout(x, 0.5, False, True) is x


def test_exp_output_written_through_detached_alias():
    def fn(lib):
        x = _t(lib, [0.1, 0.2], True)
        y = x.exp()
        y.detach().mul_(2)  # shares y's memory and version counter
        y.sum().backward()
        return [x.grad]

    same_as_torch(fn)


def test_message_names_the_versions_like_torch():
    msgs = []
    for lib in (torch, mg):
        w = _t(lib, [1.0, 2.0, 3.0], True)
        x = _t(lib, [4.0, 5.0, 6.0])
        y = w * x
        x.add_(1)
        x.mul_(2)
        with pytest.raises(RuntimeError) as e:
            y.sum().backward()
        msgs.append(str(e.value))
    for m in msgs:
        assert "[" in m and "Tensor [3]]" in m and "is at version 2; expected version 0 instead" in m, m


# ------------------------------------------------------------------ a saved input matters only where it is read
def test_setitem_from_a_scaled_column_of_itself():
    def fn(lib):
        a = _t(lib, [[1.0, 2.0], [3.0, 4.0]], True)
        h = a * 1
        h[:, 0] = h[:, 1] * 3  # the product reads h[:, 1] only for the gradient of the constant
        (h * h).sum().backward()
        return [h, a.grad]

    same_as_torch(fn)


@pytest.mark.parametrize("written", ["factor_without_grad", "factor_with_grad"])
def test_product_with_a_constant_factor(written):
    def fn(lib):
        a = _t(lib, [1.0, -2.0, 3.0], True)
        c = _t(lib, [4.0, 5.0, 6.0])
        h = a * 2
        y = c * h  # c is read for h's gradient; h only for c's, which nobody needs
        (c if written == "factor_without_grad" else h).add_(1)
        y.sum().backward()
        return [a.grad]

    same_as_torch(fn)


@pytest.mark.parametrize("op", ["matmul", "div"])
def test_written_operand_read_only_for_a_gradient_nobody_needs(op):
    def fn(lib):
        x = _t(lib, [1.0, -2.0], True)
        A = _t(lib, [[1.0, 2.0], [3.0, 4.0]])
        h = x * 3
        y = A @ h if op == "matmul" else h / _t(lib, [2.0, 4.0])
        h.mul_(5)  # read by matmul only for A's gradient, by div only for the divisor's
        y.sum().backward()
        return [x.grad]

    same_as_torch(fn)


@pytest.mark.parametrize("op", ["matmul", "div"])
def test_written_operand_read_for_a_needed_gradient(op):
    def fn(lib):
        x = _t(lib, [1.0, -2.0], True)
        A = _t(lib, [[1.0, 2.0], [3.0, 4.0]], True)
        b = _t(lib, [2.0, 4.0], True)
        h = x * 3
        y = A @ h if op == "matmul" else h / b
        h.mul_(5)
        y.sum().backward()
        return [x.grad]

    same_as_torch(fn)
