"""The solubility models of solubility/models.py against their torch twins (float64, copied weights).

Each model: forward output, input-independent parameter gradients under a random upstream gradient;
masking (a protein's prediction does not depend on how much padding its batch adds); a float64
lockstep of each of the default ensemble's members (AdamW, a few steps) within 1e-9; the head selection and the
masked-residue pretraining step run in both libraries alike. ``multicnn-kmax`` is ``multicnn`` with
k-max pooling, whose pooling is also checked on its own (torch's topk, finite differences).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad as mg
from solubility import models
from solubility.encoding import encode
from solubility.features import FEATURE_NAMES, NUM_FEATURES, feature_matrix, sequence_features
from solubility.pretrain import IGNORE, MASK_TOKEN, mask_tokens
from solubility.synthetic import make_synthetic
from solubility.train import head_logits, train_config
from tests.nn.twin import check_parameter_grads

# small architectures keep the test fast; the code paths are those of the full-size defaults
SMALL = {
    "multicnn": {"embed_dim": 8, "widths": [3, 5, 9], "channels": 6, "hidden": 10},
    "transformer": {"embed_dim": 8, "layers": 2, "nhead": 2, "ff": 16, "max_len": 64},
    "course": {"embed_dim": 8, "hidden_dim": 6},
    "kmer": {"ks": [1, 3]},
}
SMALL["multicnn-kmax"] = {**SMALL["multicnn"], "pool": "kmax", "pool_k": 3}
VARIANTS = (*models.MODEL_NAMES, "multicnn-kmax")  # a variant is a model name, "-" and what differs


def _batch(rng, lengths, width=None):
    """Tokens (with 0 after each length), float64 mask and standardised-looking features."""
    L = width or max(lengths)
    x = np.zeros((len(lengths), L), dtype=np.int64)
    mask = np.zeros((len(lengths), L))
    for i, n in enumerate(lengths):
        x[i, :n] = rng.integers(1, 21, n)
        mask[i, :n] = 1
    return x, mask, rng.standard_normal((len(lengths), NUM_FEATURES))


def _twins(variant, heads=2, dropout=None):
    name = variant.split("-")[0]
    nf = 0 if name in ("course", "kmer") else NUM_FEATURES
    heads = 1 if name == "course" else heads
    arch = dict(SMALL[variant])
    if dropout is not None:
        arch["dropout"] = dropout
    torch.manual_seed(0)
    t = models.build(torch, name, num_features=nf, heads=heads, dtype=torch.float64, **arch)
    if name == "kmer":  # its weights start at zero, which would make every comparison trivial
        with torch.no_grad():
            for p in t.parameters():
                p.normal_()
    m = models.build(mg, name, num_features=nf, heads=heads, dtype=mg.float64, **arch)
    res = m.load_state_dict(t.state_dict())
    assert not res.missing_keys and not res.unexpected_keys
    return t, m


@pytest.mark.parametrize("name", VARIANTS)
def test_forward_and_gradients_match_torch(name):
    rng = np.random.default_rng(1)
    x, mask, f = _batch(rng, [23, 17, 9, 4] + ([2, 1] if name == "multicnn-kmax" else []))  # kmax: shorter than k
    t, m = _twins(name)
    t.eval(), m.eval()  # dropout off: the comparison is of the deterministic computation
    t_out = t(torch.tensor(x), torch.tensor(mask), torch.tensor(f))
    m_out = m(mg.tensor(x), mg.tensor(mask), mg.tensor(f))
    np.testing.assert_allclose(m_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    up = rng.standard_normal(tuple(t_out.shape))
    t_out.backward(torch.tensor(up))
    m_out.backward(mg.tensor(up))
    check_parameter_grads(t, m, 1e-9, 1e-11)


@pytest.mark.parametrize("name", VARIANTS)
def test_prediction_does_not_depend_on_padding(name):
    rng = np.random.default_rng(2)
    x, mask, f = _batch(rng, [12, 30, 7])
    wide_x, wide_mask, _ = _batch(np.random.default_rng(2), [12, 30, 7], width=55)
    _, m = _twins(name)
    m.eval()
    with mg.no_grad():
        short = m(mg.tensor(x), mg.tensor(mask), mg.tensor(f)).numpy()
        long = m(mg.tensor(wide_x), mg.tensor(wide_mask), mg.tensor(f)).numpy()
        alone = m(mg.tensor(x[2:3, :7]), mg.tensor(mask[2:3, :7]), mg.tensor(f[2:3])).numpy()
    np.testing.assert_allclose(long, short, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(alone, short[2:3], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["multicnn", "multicnn-kmax", "kmer"])  # the default ensemble's three members
def test_lockstep_float64_default_members(name):
    """AdamW training of each member of the default recipe in both libraries: same losses and weights."""
    rng = np.random.default_rng(3)
    t, m = _twins(name, heads=2, dropout=None if name == "kmer" else 0.0)  # dropout draws differ per library
    nf = 0 if name == "kmer" else NUM_FEATURES
    t.train(), m.train()
    t_opt = torch.optim.AdamW(t.parameters(), lr=1e-2, weight_decay=1e-2)
    m_opt = mg.optim.AdamW(m.parameters(), lr=1e-2, weight_decay=1e-2)
    for step in range(4):
        x, mask, f = _batch(rng, rng.integers(5, 40, 6).tolist())
        f = f[:, :nf] if nf else None
        y = rng.integers(0, 2, 6).astype(np.float64)
        src = rng.integers(0, 2, 6)
        losses = []
        for lib, model, opt in ((torch, t, t_opt), (mg, m, m_opt)):
            out = model(lib.tensor(x), lib.tensor(mask), None if f is None else lib.tensor(f))
            loss = lib.nn.functional.binary_cross_entropy_with_logits(head_logits(lib, out, src), lib.tensor(y))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert abs(losses[1] - losses[0]) <= 1e-9 * abs(losses[0]), f"step {step}: loss {losses}"
        t_params = dict(t.named_parameters())
        for pname, p in m.named_parameters():
            ref = t_params[pname].detach().numpy()
            rel = np.linalg.norm(p.detach().numpy() - ref) / np.linalg.norm(ref)
            assert rel <= 1e-9, f"step {step}: parameter {pname} rel {rel:.2e}"


def _kmer_reference(model, x):
    """The definition in NumPy: per k, the weights of every k-mer of real residues over sqrt(their count)."""
    out = np.tile(model.bias.detach().numpy(), (len(x), 1))
    for k, table in zip(model.ks, model.tables):
        w = table.weight.detach().numpy()
        for i, row in enumerate(x):
            windows = [row[j : j + k] for j in range(len(row) - k + 1)]
            ids = [int(sum(t * 21 ** (k - 1 - d) for d, t in enumerate(win))) for win in windows if (win > 0).all()]
            if ids:
                out[i] += w[ids].sum(axis=0) / np.sqrt(len(ids))
    return out


def test_kmer_model_is_its_definition():
    """Repeated k-mers, an unknown residue (token 0 inside the protein), proteins shorter than k, an empty one."""
    x = np.array([[1, 2, 1, 2, 1, 2, 3], [5, 6, 0, 7, 8, 9, 0], [4, 4, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0]])
    mask = np.array([[1] * 7, [1] * 6 + [0], [1, 1] + [0] * 5, [0] * 7], dtype=np.float64)
    _, m = _twins("kmer", heads=2)
    with mg.no_grad():
        got = m(mg.tensor(x), mg.tensor(mask)).numpy()
    np.testing.assert_allclose(got, _kmer_reference(m, x), rtol=1e-12, atol=1e-12)


def test_kmer_model_refuses_features_and_bad_k():
    with pytest.raises(ValueError, match="kmer: the k-mer model takes no features"):
        models.build(mg, "kmer", num_features=3)
    with pytest.raises(ValueError, match="kmer: ks must be ints from 1 to 5"):
        models.build(mg, "kmer", ks=[3, 6])


def _kmax_reference(h, mask, k):
    """The definition in NumPy: per channel, the mean of the min(n, k) largest of the n real values."""
    out = np.zeros(h.shape[:2])
    for i, n in enumerate(mask.sum(axis=1).astype(int)):
        if n:
            out[i] = -np.sort(-h[i, :, :n], axis=1)[:, : min(n, k)].mean(axis=1)
    return out


@pytest.mark.parametrize("k", [1, 3])
def test_kmax_pooling_matches_torch_topk_and_its_definition(k):
    """Values of both signs, padding that would win if it were not masked, proteins shorter than k and an empty one."""
    rng = np.random.default_rng(5)
    lengths = [9, 5, 3, 2, 1, 0]
    h = rng.standard_normal((len(lengths), 4, 11))
    mask = (np.arange(11) < np.array(lengths)[:, None]).astype(np.float64)
    h[mask[:, None, :].repeat(4, axis=1) == 0] = 100.0  # padding larger than every real value
    up = rng.standard_normal((len(lengths), 4))
    grads = []
    for lib in (torch, mg):
        ht = lib.tensor(h, requires_grad=True)
        out = models._masked_kmax_mean(lib, ht, lib.tensor(mask).unsqueeze(1), k)
        np.testing.assert_allclose(out.detach().numpy(), _kmax_reference(h, mask, k), rtol=1e-12, atol=1e-12)
        out.backward(lib.tensor(up))
        grads.append(ht.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12, atol=1e-12)
    assert not grads[1][mask[:, None, :].repeat(4, axis=1) == 0].any()  # padding gets no gradient
    # torch's own topk over the real residues, for the proteins with at least k of them
    for i, n in enumerate(lengths):
        if n >= k:
            want = torch.tensor(h[i, :, :n]).topk(k, dim=1).values.mean(dim=1).numpy()
            np.testing.assert_allclose(_kmax_reference(h, mask, k)[i], want, rtol=1e-12)


def test_kmax_pooling_gradcheck():
    rng = np.random.default_rng(6)
    lengths = [8, 4, 2]
    mask = (np.arange(8) < np.array(lengths)[:, None]).astype(np.float64)
    h = rng.standard_normal((3, 5, 8))
    for lib in (torch, mg):
        m = lib.tensor(mask).unsqueeze(1)
        ht = lib.tensor(h, requires_grad=True)
        assert lib.autograd.gradcheck(lambda t, m=m, lib=lib: models._masked_kmax_mean(lib, t, m, 3), (ht,))


def test_kmax_recipe_differs_from_the_default_only_in_pooling():
    kmax, default = train_config("multicnn-kmax"), train_config("multicnn")
    assert kmax["arch"] == {"pool": "kmax", "pool_k": 3} and default["arch"] == {}
    assert {k: v for k, v in kmax.items() if k not in ("recipe", "arch")} == {
        k: v for k, v in default.items() if k not in ("recipe", "arch")
    }
    assert models.build(mg, kmax["model"], **kmax["arch"]).pool == "kmax"
    assert models.build(mg, default["model"], **default["arch"]).pool == "max"


@pytest.mark.parametrize(("arch", "message"), [({"pool": "avg"}, "pool must be"), ({"pool_k": 0}, "pool_k must be")])
def test_bad_pooling_option_is_refused(arch, message):
    with pytest.raises(ValueError, match=f"multicnn: {message}"):
        models.build(mg, "multicnn", **arch)


def test_head_logits_picks_each_proteins_head():
    out = np.array([[1.0, -2.0], [3.0, 4.0], [5.0, 6.0]])
    src = np.array([1, 0, 1])
    for lib in (torch, mg):
        got = head_logits(lib, lib.tensor(out), src).numpy()
        np.testing.assert_array_equal(got, [-2.0, 3.0, 6.0])


def test_masked_residue_pretraining_step_matches_torch():
    rng = np.random.default_rng(4)
    x, mask, _ = _batch(rng, [20, 13, 6])
    inputs, targets = mask_tokens(x, np.random.default_rng(0), mask_rate=0.3)
    assert (targets[x == 0] == IGNORE).all() and (inputs[x == 0] == 0).all()  # padding never hidden
    assert (inputs == MASK_TOKEN).any()
    t, m = _twins("transformer")
    t.eval(), m.eval()
    losses = []
    for lib, model in ((torch, t), (mg, m)):
        logits = model.mlm_logits(lib.tensor(inputs), lib.tensor(mask))
        loss = lib.nn.functional.cross_entropy(logits.reshape(-1, 21), lib.tensor(targets).reshape(-1))
        loss.backward()
        losses.append(loss.item())
    assert abs(losses[0] - losses[1]) <= 1e-10
    check_parameter_grads(t, m, 1e-9, 1e-11)


def test_features_follow_their_definitions():
    seq = "MKKDEWFAAC"
    v = dict(zip(FEATURE_NAMES, sequence_features(encode(seq))))
    assert v["log_length"] == pytest.approx(np.log(10))
    assert v["frac_K"] == pytest.approx(0.2)
    assert v["net_charge"] == pytest.approx(0.0)  # K, K against D, E
    assert v["aromaticity"] == pytest.approx(0.2)  # W, F
    assert 0 < v["pI"] < 1
    basic = feature_matrix(["KKKKRRRKKK", "DDDEEEDDEE"])
    assert basic[0, list(v).index("pI")] > basic[1, list(v).index("pI")]  # basic protein, higher pI
    assert feature_matrix([r.sequence for r in make_synthetic(5)]).shape == (5, NUM_FEATURES)


def test_unknown_model_name_is_refused():
    with pytest.raises(ValueError, match="unknown model 'cnn9'"):
        models.build(mg, "cnn9")
