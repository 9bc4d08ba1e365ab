"""Higher-order gradients in the uses students meet, each run in minigrad and torch on the same weights.

Every example differentiates through a backward pass (``create_graph=True``): a gradient penalty on the
course CNN's input, a Hessian-vector product of its loss, Newton's method, one MAML step, and a loss that
contains d(output)/d(input). float64 throughout, so the two libraries agree to rounding.
"""

import numpy as np
import pytest
import torch

import minigrad as mg
from solubility.model import build_model

RTOL, ATOL = 1e-9, 1e-11


def _np(t):
    return t.detach().cpu().numpy()


def _close(a, b, what=""):
    np.testing.assert_allclose(_np(a), _np(b), rtol=RTOL, atol=ATOL, err_msg=what)


def _twin_cnns():
    """The course CNN (small sizes) in both libraries, with torch's weights copied into minigrad's."""
    torch.manual_seed(0)
    kw = dict(embed_dim=6, hidden_dim=5, dropout=0.0)
    tm = build_model(torch, dtype=torch.float64, **kw)
    mm = build_model(mg, dtype=mg.float64, **kw)
    mm.load_state_dict({k: mg.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    return mm.eval(), tm.eval()


def _after_embedding(lib, model, e):
    """The CNN's forward from its embedded input ``e (N, L, E)`` on (a differentiable input)."""
    F = lib.nn.functional
    h = F.relu(model.conv1(e.transpose(1, 2)))
    h = F.relu(model.conv2(h))
    return model.fc(h.mean(dim=2))


TOKENS = np.array([[3, 7, 1, 12, 5, 9, 2], [4, 4, 18, 6, 11, 0, 0]])
LABELS = np.array([1, 0])


def _embedded(lib, model):
    return model.embedding(lib.tensor(TOKENS)).detach().requires_grad_(True)


def test_gradient_penalty_on_the_course_cnn_input():
    """loss + lambda * |d loss / d input|^2, backpropagated to every weight (a WGAN-GP-style penalty)."""
    grads = {}
    for lib, model in zip((mg, torch), _twin_cnns()):
        e = _embedded(lib, model)
        loss = lib.nn.functional.cross_entropy(_after_embedding(lib, model, e), lib.tensor(LABELS))
        (g,) = lib.autograd.grad(loss, e, create_graph=True)
        total = loss + 0.7 * (g * g).sum()
        total.backward()
        grads[lib] = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert set(grads[mg]) == set(grads[torch])
    for name in grads[torch]:
        _close(grads[mg][name], grads[torch][name], name)


def test_hessian_vector_product_of_the_course_cnn_loss():
    """H v for the loss as a function of every weight: the gradient of <grad loss, v>."""
    rng = np.random.default_rng(1)
    results = {}
    for lib, model in zip((mg, torch), _twin_cnns()):
        params = [p for n, p in model.named_parameters() if not n.startswith("embedding")]
        vs = [lib.tensor(rng.standard_normal(tuple(p.shape))) for p in params] if lib is mg else results["v"]
        results["v"] = [torch.tensor(v.numpy()) for v in vs] if lib is mg else results["v"]
        loss = lib.nn.functional.cross_entropy(model(lib.tensor(TOKENS)), lib.tensor(LABELS))
        gs = lib.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * v).sum() for g, v in zip(gs, vs))
        results[lib] = lib.autograd.grad(dot, params)
    for k, (a, b) in enumerate(zip(results[mg], results[torch])):
        _close(a, b, f"Hv block {k}")


def _logistic_loss(lib, X, y):
    def loss(w):
        z = X @ w
        return lib.nn.functional.softplus(z).sum() - (y * z).sum() + 0.05 * (w * w).sum()

    return loss


def test_newtons_method_on_a_convex_problem():
    """Regularised logistic regression: w <- w - H^-1 grad, with H from autograd.functional.hessian."""
    rng = np.random.default_rng(2)
    X0, y0 = rng.standard_normal((20, 3)), (rng.random(20) > 0.5).astype(float)
    iterates = {}
    for lib in (mg, torch):
        f = _logistic_loss(lib, lib.tensor(X0), lib.tensor(y0))
        w = lib.zeros(3, dtype=lib.float64)
        path = []
        for _ in range(6):
            (g,) = lib.autograd.grad(f(w.requires_grad_(True)), w)
            H = lib.autograd.functional.hessian(f, w.detach())
            w = (w - lib.linalg.solve(H, g)).detach()
            path.append(w)
        iterates[lib] = path
    for k, (a, b) in enumerate(zip(iterates[mg], iterates[torch])):
        _close(a, b, f"Newton iterate {k}")
    # Newton converges quadratically: the last gradient is zero to rounding
    final = iterates[mg][-1].requires_grad_(True)
    (g,) = mg.autograd.grad(_logistic_loss(mg, mg.tensor(X0), mg.tensor(y0))(final), final)
    assert float(g.abs().max()) < 1e-10


def test_one_maml_step_differentiated_through():
    """Outer loss at w' = w - alpha * grad L_train(w): its gradient reaches w through the inner gradient."""
    rng = np.random.default_rng(3)
    data = [rng.standard_normal(s) for s in ((8, 2), (8, 1), (8, 2), (8, 1))]
    w_init = [rng.standard_normal(s) for s in ((4, 2), (4,), (1, 4), (1,))]
    outer = {}
    for lib in (mg, torch):
        xs, ys, xq, yq = (lib.tensor(a) for a in data)
        ws = [lib.tensor(a, requires_grad=True) for a in w_init]

        def net(x, w):
            F = lib.nn.functional
            return F.linear(lib.tanh(F.linear(x, w[0], w[1])), w[2], w[3])

        inner = ((net(xs, ws) - ys) ** 2).mean()
        gs = lib.autograd.grad(inner, ws, create_graph=True)
        adapted = [w - 0.1 * g for w, g in zip(ws, gs)]
        query = ((net(xq, adapted) - yq) ** 2).mean()
        query.backward()
        outer[lib] = [w.grad for w in ws]
    for k, (a, b) in enumerate(zip(outer[mg], outer[torch])):
        _close(a, b, f"meta-gradient {k}")


def test_a_loss_that_contains_d_output_d_input():
    """A physics-informed loss: fit u' = cos(x) with u(0) = 0, the derivative taken by autograd."""
    rng = np.random.default_rng(4)
    x0 = np.linspace(-2, 2, 9).reshape(-1, 1)
    w_init = [rng.standard_normal(s) for s in ((6, 1), (6,), (1, 6), (1,))]
    grads = {}
    for lib in (mg, torch):
        x = lib.tensor(x0, requires_grad=True)
        ws = [lib.tensor(a, requires_grad=True) for a in w_init]

        def u(x):
            F = lib.nn.functional
            return F.linear(lib.sigmoid(F.linear(x, ws[0], ws[1])), ws[2], ws[3])

        out = u(x)
        (du,) = lib.autograd.grad(out.sum(), x, create_graph=True)
        loss = ((du - lib.cos(x)) ** 2).mean() + u(lib.zeros(1, 1, dtype=lib.float64)).pow(2).sum()
        loss.backward()
        grads[lib] = [w.grad for w in ws] + [x.grad]
    for k, (a, b) in enumerate(zip(grads[mg], grads[torch])):
        _close(a, b, f"gradient {k}")


def test_third_order_and_backward_create_graph_match_torch():
    """d^3/dx^3 of a smooth function, by three nested grads, and .backward(create_graph=True) on .grad."""
    x0 = np.array([0.3, -1.2, 2.0])
    got = {}
    for lib in (mg, torch):
        x = lib.tensor(x0, requires_grad=True)
        y = (lib.tanh(x) * lib.exp(-x * x)).sum()
        (g1,) = lib.autograd.grad(y, x, create_graph=True)
        (g2,) = lib.autograd.grad(g1.sum(), x, create_graph=True)
        (g3,) = lib.autograd.grad(g2.sum(), x)
        z = lib.tensor(x0, requires_grad=True)
        (z.sin() * z).sum().backward(create_graph=True)
        z.grad.sum().backward()  # accumulates the second derivative into z.grad, as torch does
        got[lib] = (g1, g2, g3, z.grad)
    for k, (a, b) in enumerate(zip(got[mg], got[torch])):
        _close(a, b, f"result {k}")


def test_what_cannot_be_recorded_raises_instead_of_answering_wrongly():
    """The spectral norm (an SVD) has no recorded backward yet: create_graph=True says so, naming the node."""
    x = mg.tensor([[1.0, 0.5, 2.0], [3.0, 4.0, 5.0]], dtype=mg.float64, requires_grad=True)
    y = mg.linalg.matrix_norm(x, ord=2)
    with pytest.raises(mg.autograd.recorded.NotRecordable, match="SpectralNormBackward0 cannot be differentiated"):
        mg.autograd.grad(y, x, create_graph=True)


def test_a_product_over_zeros_is_differentiated_twice_like_torch():
    """Prod's backward treats zeros apart (exact to first order only); recorded, it multiplies the others."""
    x0 = np.array([[1.5, 0.0, 2.0, -1.0], [3.0, 0.0, 0.0, 5.0], [0.7, 1.1, -2.0, 0.3]])
    got = {}
    for lib in (mg, torch):
        x = lib.tensor(x0, requires_grad=True)
        (g,) = lib.autograd.grad((x.prod(1) * lib.tensor([1.0, 2.0, 3.0])).sum(), x, create_graph=True)
        (h,) = lib.autograd.grad((g * lib.tensor(x0 + 1)).sum(), x)
        got[lib] = (g, h)
    _close(got[mg][0], got[torch][0])
    _close(got[mg][1], got[torch][1])


def test_gradgradcheck_catches_a_wrong_double_backward(monkeypatch):
    """A second derivative made wrong (a recorded slice's backward off by 10%) fails gradgradcheck, while
    the first derivatives it differentiates stay right (gradcheck still passes)."""
    x = mg.randn(5, dtype=mg.float64, requires_grad=True)

    def fn(t):
        return (t[1:] * t[:-1]).exp()

    assert mg.autograd.gradgradcheck(fn, (x,))
    from minigrad.autograd import recorded

    right = recorded.LinearMap.backward
    monkeypatch.setattr(recorded.LinearMap, "backward", lambda self, g: right(self, g) * 1.1)
    assert mg.autograd.gradcheck(fn, (x,))
    with pytest.raises(mg.autograd.GradcheckError):
        mg.autograd.gradgradcheck(fn, (x,))


def test_viz_draws_the_graph_of_a_double_backward():
    """The gradient's own graph is an ordinary graph: viz draws it, with the recorded backward's nodes."""
    x = mg.tensor([0.5, -1.0], dtype=mg.float64, requires_grad=True)
    (g,) = mg.autograd.grad((x * x.exp()).sum(), x, create_graph=True)
    from minigrad.viz import to_mermaid

    drawing = to_mermaid(g, names={id(x): "x"})
    assert '("Mul")' in drawing and '("Exp")' in drawing and '("Add")' in drawing
    assert "requires_grad" in drawing  # the gradient's graph leads back to the input, a leaf
