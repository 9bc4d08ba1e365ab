"""Forward mode (``autograd.forward_ad``) and ``minigrad.func``, each against torch on the same inputs.

Every op's tangent rule is also checked by ``tests/opcheck.py::compare_forward_ad`` (against torch's
forward mode and central differences); these tests cover the API's behaviour and whole models.
"""

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfwd

import minigrad as mg
from solubility.model import build_model

fwd = mg.autograd.forward_ad


def _close(a, b, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol)


def _jvp(lib, F, fn, primals, tangents):
    with F.dual_level():
        duals = [F.make_dual(lib.tensor(p), lib.tensor(t)) for p, t in zip(primals, tangents)]
        out = F.unpack_dual(fn(lib, *duals))
        return out.primal, out.tangent


def test_tangent_of_a_composite_function_matches_torch_and_differences():
    rng = np.random.default_rng(0)
    x0, w0, tx, tw = (rng.standard_normal(s) for s in ((4, 3), (2, 3), (4, 3), (2, 3)))

    def fn(lib, x, w):
        return lib.nn.functional.softplus(lib.nn.functional.linear(lib.sin(x), w)).pow(2).sum(1)

    p, t = _jvp(mg, fwd, fn, (x0, w0), (tx, tw))
    pt, tt = _jvp(torch, tfwd, fn, (x0, w0), (tx, tw))
    _close(p, pt)
    _close(t, tt)
    eps = 1e-6
    with torch.no_grad():
        up = fn(torch, torch.tensor(x0 + eps * tx), torch.tensor(w0 + eps * tw))
        down = fn(torch, torch.tensor(x0 - eps * tx), torch.tensor(w0 - eps * tw))
    np.testing.assert_allclose(t.numpy(), ((up - down) / (2 * eps)).numpy(), rtol=1e-6, atol=1e-8)


def test_jvp_of_the_course_cnn_through_its_weights_matches_torch():
    """One forward pass with dual weights gives J v for the CNN's logits, as torch's forward mode."""
    torch.manual_seed(0)
    tm = build_model(torch, dtype=torch.float64, embed_dim=6, hidden_dim=5, dropout=0.0).eval()
    mm = build_model(mg, dtype=mg.float64, embed_dim=6, hidden_dim=5, dropout=0.0).eval()
    mm.load_state_dict({k: mg.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(1)
    tangents = {n: rng.standard_normal(tuple(p.shape)) for n, p in tm.named_parameters()}
    tokens = np.array([[3, 7, 1, 12, 5, 9], [4, 4, 18, 6, 0, 0]])
    out = {}
    for lib, F, model in ((mg, fwd, mm), (torch, tfwd, tm)):
        with F.dual_level():
            params = {n: F.make_dual(p.detach(), lib.tensor(tangents[n])) for n, p in model.named_parameters()}
            logits = lib.func.functional_call(model, params, (lib.tensor(tokens),))
            out[lib] = F.unpack_dual(logits)
    _close(out[mg].primal, out[torch].primal)
    _close(out[mg].tangent, out[torch].tangent, rtol=1e-9)


def test_dual_api_behaves_like_torchs():
    x = mg.randn(3, dtype=mg.float64)
    t = mg.randn(3, dtype=mg.float64)
    with pytest.raises(RuntimeError, match="forward AD level must be open"):
        fwd.make_dual(x, t)
    assert fwd.unpack_dual(x).tangent is None  # outside a level: no tangent, as torch
    with fwd.dual_level():
        dual = fwd.make_dual(x, t)
        assert fwd.unpack_dual(dual).tangent is t  # laid out like the primal: the tangent itself
        assert fwd.unpack_dual(fwd.make_dual(x, mg.randn(3, 1, dtype=mg.float64).T[0])).tangent is not None
        assert fwd.unpack_dual(x).tangent is None  # the primal itself stays plain
        y = dual * 2
        with pytest.raises(RuntimeError, match="Nested forward mode AD is not supported"), fwd.dual_level():
            pass
        with pytest.raises(RuntimeError, match="different size"):
            fwd.make_dual(x, mg.randn(4, dtype=mg.float64))
        with mg.no_grad():  # forward mode does not need autograd's recording
            z = dual.exp()
        _close(fwd.unpack_dual(z).tangent, (x.exp() * t))
    assert fwd.unpack_dual(y).tangent is None  # exiting the level drops every tangent


def test_in_place_ops_and_writes_through_views_carry_tangents_like_torch():
    rng = np.random.default_rng(2)
    x0, t0 = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    got = {}
    for lib, F in ((mg, fwd), (torch, tfwd)):
        with F.dual_level():
            d = F.make_dual(lib.tensor(x0), lib.tensor(t0))
            y = d * 1
            y.mul_(d).add_(1.0)  # (not y.mul_(y): torch's tangent then reads the overwritten y)
            y[1:, :2].exp_()  # a write through a view reaches the base's tangent
            got[lib] = F.unpack_dual(y).tangent
    _close(got[mg], got[torch])


def test_an_autograd_function_gives_its_own_jvp():
    class Cube(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.x = x
            return x**3

        @staticmethod
        def jvp(ctx, t):
            return 3 * ctx.x**2 * t

    class WrongCube(Cube):  # forward mode follows the Function's jvp, not the ops inside its forward
        @staticmethod
        def jvp(ctx, t):
            return 2 * t

    class NoJvp(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    x, t = mg.tensor([0.5, -2.0], dtype=mg.float64), mg.tensor([1.0, 3.0], dtype=mg.float64)
    with fwd.dual_level():
        out = fwd.unpack_dual(Cube.apply(fwd.make_dual(x, t)))
        wrong = fwd.unpack_dual(WrongCube.apply(fwd.make_dual(x, t)))
        with pytest.raises(NotImplementedError, match="You must implement the jvp function"):
            NoJvp.apply(fwd.make_dual(x, t))
        assert fwd.unpack_dual(NoJvp.apply(x)).tangent is None  # no dual input: jvp is not needed
    np.testing.assert_allclose(out.tangent.numpy(), [0.75, 36.0])
    np.testing.assert_allclose(wrong.tangent.numpy(), [2.0, 6.0])


def test_func_jvp_vjp_grad_match_torch():
    rng = np.random.default_rng(3)
    a0, t0 = rng.standard_normal(5), rng.standard_normal(5)

    def f(x):
        return (x.tanh() * x).cumsum(0)

    for lib in (mg, torch):
        out, tan = lib.func.jvp(f, (lib.tensor(a0),), (lib.tensor(t0),))
        _, vjp_fn = lib.func.vjp(f, lib.tensor(a0))
        (v,) = vjp_fn(lib.tensor(t0))
        g = lib.func.grad(lambda x: f(x).sum())(lib.tensor(a0))
        if lib is mg:
            mine = (out, tan, v, g)
        else:
            for m, w in zip(mine, (out, tan, v, g)):
                _close(m, w)
