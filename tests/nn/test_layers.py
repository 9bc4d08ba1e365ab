"""Linear, Embedding, Dropout and the activation modules against torch twins with copied weights."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from tests.nn.twin import check_twin
from tests.opcheck import compare


def _c(lib, a, like):
    return lib.tensor(a, device=like.device)


DTYPES = [np.float64, np.float32]


def _tmod(mod, dtype):
    return mod.double() if dtype == np.float64 else mod.float()


# ------------------------------------------------------------------ Linear
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@settings(max_examples=6)
@given(
    lead=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3), fin=st.integers(1, 4), fout=st.integers(1, 4)
)
def test_linear_twin(dtype, bias, lead, fin, fout):
    t = _tmod(torch.nn.Linear(fin, fout, bias=bias), dtype)
    m = _tmod(nn.Linear(fin, fout, bias=bias), dtype)
    x = np.random.default_rng(1).standard_normal(lead + (fin,)).astype(dtype)
    check_twin(t, m, x)


@settings(max_examples=6)
@given(
    lead=hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3), fin=st.integers(1, 3), fout=st.integers(1, 3)
)
def test_linear_functional_gradcheck(lead, fin, fout):
    r = np.random.default_rng(2)
    x, w, b = r.standard_normal(lead + (fin,)), r.standard_normal((fout, fin)), r.standard_normal(fout)
    compare(lambda lib, x, w, b: lib.nn.functional.linear(x, w, b), x, w, b)  # float64: includes gradcheck
    compare(lambda lib, x, w: lib.nn.functional.linear(x, w), x, w)


def test_linear_errors():
    lin = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(4x5 and 3x2\)"):
        lin(mg.zeros(4, 5))
    with pytest.raises(RuntimeError, match="same dtype"):
        lin(mg.zeros(4, 3, dtype=mg.float64))
    with pytest.raises(RuntimeError, match="2-D"):
        F.linear(mg.zeros(3), mg.zeros(3))
    with pytest.raises(RuntimeError, match="bias"):
        F.linear(mg.zeros(2, 3), mg.zeros(2, 3), mg.zeros(3))


def test_linear_default_init_distribution():
    """kaiming_uniform(a=sqrt(5)) on the weight and U(+-1/sqrt(fan_in)) on the bias: both U(+-1/sqrt(fan_in))."""
    mg.manual_seed(0)
    fan_in = 400
    lin = nn.Linear(fan_in, 500)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    bound = 1 / math.sqrt(fan_in)
    assert lin.weight.dtype == mg.float32 and tuple(w.shape) == (500, 400)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.01)  # U(-c, c) has std c/sqrt(3)
    assert abs(w.mean()) < 0.01 * bound
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.95 * bound
    assert abs(b.mean()) < 0.1 * bound
    # torch's layer has the same distribution
    tw = torch.nn.Linear(fan_in, 500).weight.detach().numpy()
    np.testing.assert_allclose(w.std(), tw.std(), rtol=0.02)


def test_linear_reproducible_under_manual_seed():
    mg.manual_seed(123)
    a = nn.Linear(3, 4).weight.detach().numpy().copy()
    mg.manual_seed(123)
    b = nn.Linear(3, 4).weight.detach().numpy()
    np.testing.assert_array_equal(a, b)


def test_linear_dtype_option():
    lin = nn.Linear(2, 3, dtype=mg.float64)
    assert lin.weight.dtype == mg.float64 and lin.bias.dtype == mg.float64
    assert nn.Linear(2, 3, bias=False).bias is None


# ------------------------------------------------------------------ Embedding
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx", [None, 0, 2, -1])
@settings(max_examples=5)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
def test_embedding_twin(dtype, padding_idx, shape):
    t = _tmod(torch.nn.Embedding(6, 3, padding_idx=padding_idx), dtype)
    m = _tmod(nn.Embedding(6, 3, padding_idx=padding_idx), dtype)
    idx = np.random.default_rng(3).integers(0, 6, shape)
    t_out, m_out = check_twin(t, m, idx)
    if padding_idx is not None:
        assert not m.weight.grad.cpu().numpy()[padding_idx].any()


def test_embedding_repeated_indices_accumulate():
    m = nn.Embedding(4, 2).double()
    idx = mg.tensor([[1, 1, 1], [2, 1, 3]])
    up = np.arange(12, dtype=np.float64).reshape(2, 3, 2)
    m(idx).backward(mg.tensor(up))
    g = m.weight.grad.numpy()
    np.testing.assert_array_equal(g[1], up[0, 0] + up[0, 1] + up[0, 2] + up[1, 1])
    np.testing.assert_array_equal(g[0], [0, 0])
    # the plain NumPy reference path gives the same as whatever path ran above
    from minigrad.compute.reference.nn import embedding_backward as scatter_add_rows

    ref = scatter_add_rows(idx.numpy().reshape(-1), up.reshape(-1, 2), 4)
    np.testing.assert_array_equal(g, ref)


def test_embedding_gradcheck():
    r = np.random.default_rng(4)
    w = r.standard_normal((5, 3))
    idx = np.array([[0, 4, 4], [2, 0, 1]])
    compare(lambda lib, w: lib.nn.functional.embedding(_c(lib, idx, w), w), w)
    # the padding row's gradient is zero by design (not the true derivative): compare with torch, no gradcheck
    compare(lambda lib, w: lib.nn.functional.embedding(_c(lib, idx, w), w, padding_idx=4), w, gradcheck=False)


def test_embedding_padding_row_initialised_to_zero_and_default_init():
    mg.manual_seed(0)
    m = nn.Embedding(300, 200, padding_idx=-2)
    assert m.padding_idx == 298
    w = m.weight.detach().numpy()
    assert not w[298].any()
    rest = np.delete(w, 298, axis=0)
    assert abs(rest.mean()) < 0.01 and abs(rest.std() - 1) < 0.01  # N(0, 1)


def test_embedding_errors():
    m = nn.Embedding(5, 2)
    with pytest.raises(IndexError, match=r"index 7 .*num_embeddings=5"):
        m(mg.tensor([1, 7]))
    with pytest.raises(IndexError, match=r"index -1 .*num_embeddings=5"):
        m(mg.tensor([-1, 2]))
    with pytest.raises(RuntimeError, match="integer"):
        m(mg.tensor([1.0]))
    with pytest.raises(AssertionError):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(AssertionError):
        nn.Embedding(5, 2, padding_idx=-6)


def test_embedding_from_pretrained():
    w = mg.randn(3, 2)
    e = nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad
    np.testing.assert_array_equal(e(mg.tensor([2])).numpy()[0], w.numpy()[2])
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad


# ------------------------------------------------------------------ Dropout
def test_dropout_train_eval_and_scaling():
    mg.manual_seed(0)
    d = nn.Dropout(0.25)
    x = mg.ones(400, 500, requires_grad=True)
    y = d(x)
    vals = np.unique(y.detach().numpy())
    np.testing.assert_allclose(vals, [0.0, 1 / 0.75], rtol=1e-6)
    keep = (y.detach().numpy() != 0).mean()
    assert abs(keep - 0.75) < 0.005  # 200k Bernoulli draws: std ~0.001
    up = np.random.default_rng(0).standard_normal((400, 500)).astype(np.float32)
    y.backward(mg.tensor(up))
    np.testing.assert_allclose(x.grad.numpy(), up * (y.detach().numpy() != 0) / np.float32(0.75), rtol=1e-6)
    d.eval()
    x2 = mg.randn(3, 4)
    assert d(x2) is x2
    assert F.dropout(x2, 0.5, training=False) is x2
    assert F.dropout(x2, 0.0) is x2


def test_dropout_reproducible_under_manual_seed():
    x = mg.ones(50)
    mg.manual_seed(7)
    a = F.dropout(x, 0.5).numpy().copy()
    mg.manual_seed(7)
    b = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert (a == 0).any() and (a != 0).any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_dropout_explicit_mask_matches_torch(dtype, p):
    r = np.random.default_rng(5)
    x = r.standard_normal((3, 4, 5)).astype(dtype)
    mask = (r.random((3, 4, 5)) >= 0.3).astype(dtype)

    def fn(lib, x):
        if lib is torch:  # torch cannot take a mask: apply it the way inverted dropout does
            return x * torch.tensor(mask) * (1.0 / (1.0 - p)) if p < 1 else x * 0.0
        return lib.nn.functional.dropout(x, p, training=True, mask=mask)

    compare(fn, x)


def test_dropout_p_validation_and_extremes():
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(bad)
        with pytest.raises(ValueError, match="between 0 and 1"):
            F.dropout(mg.ones(2), bad)
    x = mg.ones(10, requires_grad=True)
    y = F.dropout(x, 1.0)
    assert not y.detach().numpy().any()
    with pytest.raises(RuntimeError, match="mask of shape"):
        F.dropout(mg.ones(3), 0.5, mask=np.ones(4))


def test_dropout_module_mask_argument_and_dtype():
    d = nn.Dropout(0.5)
    x = mg.ones(4, dtype=mg.float64)
    y = d(x, mask=mg.tensor([1, 0, 1, 0]))
    np.testing.assert_array_equal(y.numpy(), [2, 0, 2, 0])
    assert y.dtype == mg.float64


# ------------------------------------------------------------------ activations
ACTIVATIONS = [
    lambda n: n.ReLU(),
    lambda n: n.GELU(),
    lambda n: n.GELU(approximate="tanh"),
    lambda n: n.Sigmoid(),
    lambda n: n.Tanh(),
    lambda n: n.SiLU(),
    lambda n: n.Softmax(dim=1),
    lambda n: n.LogSoftmax(dim=-1),
    lambda n: n.LeakyReLU(0.2),
    lambda n: n.Softplus(beta=2.0, threshold=5.0),
    lambda n: n.ELU(alpha=0.7),
    lambda n: n.Hardtanh(-0.5, 0.5),
    lambda n: n.Identity(),
    lambda n: n.Flatten(),
    lambda n: n.ReLU6(),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", range(len(ACTIVATIONS)))
def test_activation_modules_twin(dtype, k):
    x = np.random.default_rng(6).standard_normal((3, 4, 2)).astype(dtype) * 3
    t, m = ACTIVATIONS[k](torch.nn), ACTIVATIONS[k](nn)
    assert repr(m) == repr(t)
    check_twin(t, m, x, copy=False)


def test_softmax_legacy_dim_warns():
    x = np.random.default_rng(7).standard_normal((2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = nn.Softmax()(mg.tensor(x))
    np.testing.assert_allclose(out.numpy(), torch.nn.functional.softmax(torch.tensor(x), dim=1).numpy(), rtol=1e-12)


def test_gelu_validates_approximate():
    with pytest.raises(ValueError):
        nn.GELU("fast")


# ------------------------------------------------------------------ a small model end to end
@pytest.mark.parametrize("dtype", DTYPES)
def test_small_model_twin(dtype):
    def build(lib):
        n = lib.nn
        return n.Sequential(n.Linear(5, 8), n.GELU(), n.Dropout(0.3), n.Linear(8, 8), n.Tanh(), n.Linear(8, 3))

    t, m = _tmod(build(torch), dtype), _tmod(build(mg), dtype)
    t.eval()
    m.eval()
    x = np.random.default_rng(8).standard_normal((4, 5)).astype(dtype)
    check_twin(t, m, x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p,dim", [(2.0, 1), (1.0, -1), (3.0, 0)])
def test_normalize(dtype, p, dim):
    x = np.random.default_rng(9).standard_normal((3, 4)).astype(dtype)
    x[1] = 0  # an all-zero row: the norm is clamped at eps
    compare(lambda lib, x: lib.nn.functional.normalize(x, p, dim), x, gradcheck=False)
    compare(lambda lib, x: lib.nn.functional.normalize(x, p, dim), np.random.default_rng(10).standard_normal((3, 4)))
