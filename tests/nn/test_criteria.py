"""The losses and similarity functions of ops/criteria.py against torch (every reduction, gradients for
every floating input with a random upstream gradient, float64 gradchecks), and their modules against a
torch twin."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import minigrad as mg
from minigrad.ops.registry import REGISTRY
from tests.nn.twin import check_twin
from tests.opcheck import compare

rng = np.random.default_rng(0)
X1, X2, X3 = (rng.standard_normal((4, 3)) for _ in range(3))
SIGNS = np.array([1.0, -1.0, -1.0, 1.0])
LOGP = np.log(rng.dirichlet(np.ones(3), 4))
PROBS = rng.dirichlet(np.ones(3), 4)
REDUCTIONS = ["mean", "sum", "none"]


def F(lib):
    """``nn.functional`` of torch, or minigrad's functions as the registry declares them for it."""
    if lib is torch:
        return TF

    class _Declared:
        def __getattr__(self, name):
            found = getattr(mg.nn.functional, name, None)
            return found if found is not None else REGISTRY[name].fn

    return _Declared()


@pytest.mark.parametrize("reduction", [*REDUCTIONS, "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    target = np.log(PROBS) if log_target else PROBS
    with pytest.warns(UserWarning) if reduction == "mean" else _nothing():
        compare(lambda lib, x, t: F(lib).kl_div(x, t, reduction=reduction, log_target=log_target), LOGP, target)


def test_kl_div_with_zero_target_probabilities():
    target = PROBS.copy()
    target[0, 1] = 0.0
    # the target's gradient at 0 is NaN in torch (log 0); minigrad's is finite: only the input's is compared
    compare(lambda lib, x, t: F(lib).kl_div(x, t, reduction="batchmean"), LOGP, target, grad_inputs=[0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_and_hinge_embedding(reduction):
    compare(
        lambda lib, a, b, y: F(lib).margin_ranking_loss(a, b, y, margin=0.3, reduction=reduction),
        X1[:, 0],
        X2[:, 0],
        SIGNS,
    )
    compare(lambda lib, x, y: F(lib).hinge_embedding_loss(x, y, margin=0.5, reduction=reduction), X1, np.sign(X2))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cosine_embedding_loss(reduction):
    compare(lambda lib, a, b, y: F(lib).cosine_embedding_loss(a, b, y, margin=0.1, reduction=reduction), X1, X2, SIGNS)
    compare(
        lambda lib, a, b, y: F(lib).cosine_embedding_loss(a, b, y, reduction=reduction),
        X1[0],
        X2[0],
        SIGNS[:1].reshape(()),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_losses(reduction):
    compare(lambda lib, x, y: F(lib).soft_margin_loss(x, y, reduction=reduction), X1, np.sign(X2), grad_inputs=[0])
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'target'"):
        F(mg).soft_margin_loss(mg.tensor(X1), mg.tensor(X2, requires_grad=True))
    labels = (X2 > 0).astype(np.float64)
    compare(lambda lib, x, y: F(lib).multilabel_soft_margin_loss(x, y, reduction=reduction), X1, labels)
    weight = np.array([0.5, 2.0, 1.0])
    compare(
        lambda lib, x, y, w: F(lib).multilabel_soft_margin_loss(x, y, weight=w, reduction=reduction),
        X1,
        labels,
        weight,
        grad_inputs=[0],
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("log_input", "full"), [(True, False), (False, True), (True, True)])
def test_poisson_nll_loss(reduction, log_input, full):
    x = X1 if log_input else np.abs(X1) + 0.1
    counts = np.abs(X2) * 3  # some below 1 (no Stirling term), some above
    compare(
        lambda lib, i, t: F(lib).poisson_nll_loss(i, t, log_input=log_input, full=full, reduction=reduction), x, counts
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("var_shape", [(4, 3), (4,), (4, 1)])
def test_gaussian_nll_loss(reduction, var_shape):
    var = np.abs(rng.standard_normal(var_shape)) + 0.1
    compare(lambda lib, x, t, v: F(lib).gaussian_nll_loss(x, t, v, full=True, reduction=reduction), X1, X2, var)


def test_gaussian_nll_loss_clamps_the_variance_but_passes_its_gradient():
    var = np.array([1e-9, 0.5, 2.0, 1e-8])
    compare(lambda lib, x, t, v: F(lib).gaussian_nll_loss(x, t, v, eps=1e-3), X1[:, 0], X2[:, 0], var, gradcheck=False)
    with pytest.raises(ValueError, match="negative"):
        F(mg).gaussian_nll_loss(mg.tensor(X1), mg.tensor(X2), mg.tensor(-np.ones((4, 3))))
    with pytest.raises(ValueError, match="incorrect size"):
        F(mg).gaussian_nll_loss(mg.tensor(X1), mg.tensor(X2), mg.tensor(np.ones((3,))))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("p", "swap"), [(2, False), (1, True), (3, True)])
def test_triplet_margin_loss(reduction, p, swap):
    compare(
        lambda lib, a, b, c: F(lib).triplet_margin_loss(a, b, c, margin=2.0, p=p, swap=swap, reduction=reduction),
        X1,
        X2,
        X3,
    )


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cosine_similarity_and_pairwise_distance(dim):
    compare(lambda lib, a, b: F(lib).cosine_similarity(a, b, dim), X1, X2)
    # norms below eps: torch clamps them without a gradient of the clamp, so gradcheck does not apply
    compare(lambda lib, a, b: F(lib).cosine_similarity(a, b, dim, eps=0.5), X1 * 0.1, X2, gradcheck=False)
    compare(lambda lib, a, b: F(lib).pairwise_distance(a, b, p=abs(dim) + 1, keepdim=dim == 0), X1, X2)
    compare(lambda lib, a, b: F(lib).pairwise_distance(a, b), X1[0], X2)  # broadcast
    compare(lambda lib, a, b: lib.cosine_similarity(a, b), X1, X2)  # top-level names too
    compare(lambda lib, a, b: lib.pairwise_distance(a, b), X1, X2)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_normalize(p):
    compare(lambda lib, x: F(lib).normalize(x, p, dim=0), X1)
    compare(lambda lib, x: F(lib).normalize(x, p), X1 * 1e-14, gradcheck=False)  # below eps: divided by eps


@pytest.mark.parametrize("dim", [0, -1])
def test_glu(dim):
    compare(lambda lib, x: F(lib).glu(x, dim), rng.standard_normal((4, 6)))
    with pytest.raises(RuntimeError, match="Halving dimension must be even"):
        F(mg).glu(mg.tensor(X1))


def test_bilinear():
    w, b = rng.standard_normal((5, 3, 2)), rng.standard_normal(5)
    compare(lambda lib, a, c, w, b: F(lib).bilinear(a, c, w, b), X1, X2[:, :2], w, b)
    compare(
        lambda lib, a, c, w: F(lib).bilinear(a, c, w), rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 2)), w
    )


def test_float16_and_float32_losses():
    half = [a.astype(np.float16) for a in (X1, X2, X3)]
    compare(lambda lib, a, b, c: F(lib).triplet_margin_loss(a, b, c), *half, rtol=2e-3, atol=2e-3)
    compare(lambda lib, x, y: F(lib).soft_margin_loss(x, y), half[0], np.sign(half[1]), grad_inputs=[0])
    compare(lambda lib, x, t: F(lib).kl_div(x, t, reduction="sum"), LOGP.astype(np.float32), PROBS.astype(np.float32))


def test_invalid_reduction():
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F(mg).soft_margin_loss(mg.tensor(X1), mg.tensor(X2), reduction="average")


# ------------------------------------------------------------------ modules against torch
MODULES = [
    ("KLDivLoss", dict(reduction="batchmean", log_target=False), (LOGP, PROBS), [0, 1]),
    ("MarginRankingLoss", dict(margin=0.2), (X1[:, 0], X2[:, 0], SIGNS), [0, 1, 2]),
    ("HingeEmbeddingLoss", dict(margin=0.4, reduction="sum"), (X1, np.sign(X2)), [0]),
    ("CosineEmbeddingLoss", dict(margin=0.1), (X1, X2, SIGNS), [0, 1]),
    ("SoftMarginLoss", dict(reduction="none"), (X1, np.sign(X2)), [0]),
    ("MultiLabelSoftMarginLoss", dict(weight=None), (X1, (X2 > 0) * 1.0), [0, 1]),
    ("PoissonNLLLoss", dict(log_input=False, full=True), (np.abs(X1) + 0.1, np.abs(X2) * 3), [0, 1]),
    ("GaussianNLLLoss", dict(full=True, eps=1e-4), (X1, X2, np.abs(X3) + 0.1), [0, 1, 2]),
    ("TripletMarginLoss", dict(margin=1.5, p=1.0, swap=True), (X1, X2, X3), [0, 1, 2]),
    ("CosineSimilarity", dict(dim=0, eps=1e-6), (X1, X2), [0, 1]),
    ("PairwiseDistance", dict(p=3.0, keepdim=True), (X1, X2), [0, 1]),
    ("GLU", dict(dim=0), (X1,), [0]),
]


def _module_class(lib, name):
    found = getattr(lib.nn, name, None)
    if found is None:  # distance.py's layers, until nn/modules/__init__.py star-imports it
        from minigrad.nn.modules import distance

        found = getattr(distance, name)
    return found


@pytest.mark.parametrize(("name", "kwargs", "inputs", "grads"), MODULES, ids=[m[0] for m in MODULES])
def test_module_matches_torch(name, kwargs, inputs, grads):
    """The loss and distance modules hold no parameters: the module applied to the same inputs agrees."""
    compare(lambda lib, *xs: _module_class(lib, name)(**kwargs)(*xs), *inputs, grad_inputs=grads)
    assert repr(_module_class(mg, name)(**kwargs)) == repr(getattr(torch.nn, name)(**kwargs))


def test_module_with_class_weights_is_a_buffer():
    weight = np.array([0.5, 2.0, 1.0])
    t_mod = torch.nn.MultiLabelSoftMarginLoss(weight=torch.tensor(weight))
    m_mod = mg.nn.MultiLabelSoftMarginLoss(weight=mg.tensor(weight))
    assert list(m_mod.state_dict()) == list(t_mod.state_dict()) == ["weight"]
    check_twin(t_mod, m_mod, X1, (X2 > 0) * 1.0)


def test_bilinear_module():
    torch.manual_seed(0)
    t_mod = torch.nn.Bilinear(3, 2, 4).double()
    m_mod = mg.nn.Bilinear(3, 2, 4, dtype=mg.float64)
    assert m_mod.weight.shape == (4, 3, 2) and m_mod.bias.shape == (4,)
    assert float(m_mod.weight.abs().max()) <= 1 / np.sqrt(3)
    check_twin(t_mod, m_mod, X1, X2[:, :2])
    check_twin(
        torch.nn.Bilinear(3, 2, 4, bias=False).double(),
        mg.nn.Bilinear(3, 2, 4, bias=False, dtype=mg.float64),
        X1,
        X2[:, :2],
    )
    assert repr(m_mod) == repr(t_mod)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
