"""Checks of lesson 08's exercises (see tests/test_exercises.py)."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

import minigrad
from solubility.model import build_model
from tests.exercise_checks import check

TOKENS = np.array([[1, 5, 9, 3, 0, 0], [2, 2, 7, 4, 11, 20], [20, 19, 18, 0, 0, 0]])


def _outputs(lib, model):
    model.eval()
    mask = (TOKENS != 0).astype(np.float64)
    out = model(lib.tensor(TOKENS), lib.tensor(mask))
    return out.detach().numpy()


def _state(model):
    return {k: np.array(v.detach().numpy()) for k, v in model.state_dict().items()}


@check("lesson08", "copy_state")
def check_copy_state(ex):
    for src_lib, dst_lib, seed in ((torch, minigrad, 0), (minigrad, torch, 1)):
        src_lib.manual_seed(seed)
        src = build_model(src_lib, dtype=src_lib.float64, embed_dim=8, hidden_dim=16)
        dst = build_model(dst_lib, dtype=dst_lib.float64, embed_dim=8, hidden_dim=16)
        ex.copy_state(src, dst)
        np.testing.assert_allclose(_outputs(dst_lib, dst), _outputs(src_lib, src), rtol=1e-12, atol=1e-14)
    # mismatches: every one is named, and the destination is left as it was
    torch.manual_seed(2)
    src = build_model(torch, dtype=torch.float64, embed_dim=8, hidden_dim=16)
    wider = build_model(minigrad, dtype=minigrad.float64, embed_dim=8, hidden_dim=12)
    before = _state(wider)
    with pytest.raises(ValueError) as err:
        ex.copy_state(src, wider)
    for name in ("conv1.weight", "conv2.weight", "fc.weight"):
        assert name in str(err.value), f"the error does not name {name}: {err.value}"
    assert all(np.array_equal(before[k], v) for k, v in _state(wider).items()), "dst changed despite the error"
    extra = torch.nn.Sequential(torch.nn.Linear(3, 2))
    with pytest.raises(ValueError) as err:
        ex.copy_state(extra, minigrad.nn.Sequential(minigrad.nn.Linear(3, 2), minigrad.nn.Linear(2, 2)))
    assert "1.weight" in str(err.value) and "1.bias" in str(err.value), str(err.value)


@check("lesson08", "roc_auc")
def check_roc_auc(ex):
    rng = np.random.default_rng(8)
    for n, decimals in ((50, 6), (200, 1), (31, 0)):  # rounding makes ties, many of them
        labels = rng.integers(0, 2, n)
        scores = np.round(rng.random(n) * 3 + labels, decimals)
        got = ex.roc_auc(labels, scores)
        assert isinstance(got, float), type(got).__name__
        assert got == pytest.approx(roc_auc_score(labels, scores), abs=1e-12), (n, decimals)
    assert ex.roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert ex.roc_auc([0, 1], [0.5, 0.5]) == 0.5
