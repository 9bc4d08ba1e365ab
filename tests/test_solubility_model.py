"""The CNN is defined once; both libraries build the same network, and the padding leak is real."""

import numpy as np
import pytest
import torch

import minigrad
from parity.transfer import copy_weights, state_arrays
from solubility import ProteinDataset, build_model, make_collate
from solubility.model import is_torch
from solubility.readers import Record

NAMES = ["embedding.weight", "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc.weight", "fc.bias"]


@pytest.mark.parametrize("lib", [torch, minigrad])
def test_architecture(lib):
    lib.manual_seed(0)
    m = build_model(lib)
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    assert list(shapes) == NAMES
    assert shapes == {
        "embedding.weight": (21, 64),
        "conv1.weight": (128, 64, 5),
        "conv1.bias": (128,),
        "conv2.weight": (128, 128, 5),
        "conv2.bias": (128,),
        "fc.weight": (2, 128),
        "fc.bias": (2,),
    }
    assert sum(p.numel() for p in m.parameters()) == 124738
    assert np.all(state_arrays(m)["embedding.weight"][0] == 0)  # padding_idx row
    assert is_torch(lib) == (lib is torch)


def _batch(lib, seqs, dtype):
    ds = ProteinDataset([Record(str(i), s, 0) for i, s in enumerate(seqs)])
    return make_collate(lib, getattr(lib, dtype))([ds[i] for i in range(len(ds))])


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 1e-5)])
def test_same_weights_same_logits_in_eval_mode(dtype, tol):
    torch.manual_seed(1)
    tm = build_model(torch, dtype=getattr(torch, dtype)).eval()
    mm = build_model(minigrad, dtype=getattr(minigrad, dtype)).eval()
    copy_weights(tm, mm)
    seqs = ["MKVLAAGWERTY", "ACDEFGHIKLMNPQ", "MSTNPKPQRKTKRNTNRRPQDVKFPGG"]
    tb, mb = _batch(torch, seqs, dtype), _batch(minigrad, seqs, dtype)
    with torch.no_grad():
        t = tm(tb["sequence"], tb["mask"]).numpy()
    with minigrad.no_grad():
        m = mm(mb["sequence"], mb["mask"]).numpy()
    assert m.dtype == t.dtype
    np.testing.assert_allclose(m, t, rtol=tol, atol=tol * np.abs(t).max())
    with torch.no_grad():  # no mask: plain mean over all positions
        t2 = tm(tb["sequence"]).numpy()
    with minigrad.no_grad():
        m2 = mm(mb["sequence"]).numpy()
    np.testing.assert_allclose(m2, t2, rtol=tol, atol=tol * np.abs(t2).max())


@pytest.mark.parametrize("lib", [torch, minigrad])
def test_padding_leak_and_mask_after_conv(lib):
    """Course model: a protein's logits change with its batch-mates' length; masking after each conv fixes it."""
    seq = "MKVLAAGWERTYPLKD"
    for mask_after_conv, leaks in ((False, True), (True, False)):
        lib.manual_seed(2)
        m = build_model(lib, dtype=lib.float64, mask_after_conv=mask_after_conv).eval()
        with lib.no_grad():
            nb = m(*_pair(lib, [seq]))[0].numpy()
            with_long = m(*_pair(lib, [seq, seq * 3]))[0].numpy()
        diff = np.abs(nb - with_long).max()
        assert (diff > 1e-8) == leaks, (mask_after_conv, diff)


def _pair(lib, seqs):
    b = _batch(lib, seqs, "float64")
    return b["sequence"], b["mask"]


@pytest.mark.parametrize("lib", [torch, minigrad])
def test_explicit_dropout_mask(lib):
    lib.manual_seed(3)
    m = build_model(lib, dtype=lib.float64)
    seq, mask = _pair(lib, ["MKVLAAGWERTY", "ACDEF"])
    keep_all = lib.ones(2, 128, 12, dtype=lib.float64)
    out_keep = m(seq, mask, dropout_mask=keep_all)
    m.eval()
    with lib.no_grad():
        ref = m(seq, mask)
    # keeping every unit still rescales by 1/(1-p): different from eval mode
    assert np.abs(out_keep.detach().numpy() - ref.numpy()).max() > 1e-6
    m.train()
    zero = m(seq, mask, dropout_mask=lib.zeros(2, 128, 12, dtype=lib.float64))
    # every conv1 unit dropped: conv2 sees zeros, so all rows equal fc(mean ReLU(conv2 bias))
    z = zero.detach().numpy()
    np.testing.assert_allclose(z[0], z[1], rtol=1e-12)
