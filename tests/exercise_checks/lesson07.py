"""Checks of lesson 07's exercises (see tests/test_exercises.py)."""

import numpy as np
import torch

import minigrad
from tests.exercise_checks import _close, _t, check


@check("lesson07", "pad_collate")
def check_pad_collate(ex):
    rng = np.random.default_rng(7)
    lengths = [5, 1, 9, 3]
    items = [{"sequence": rng.integers(1, 21, n).astype(np.int64), "label": int(i % 2)} for i, n in enumerate(lengths)]
    got = ex.pad_collate(items)
    assert set(got) == {"sequence", "mask", "label", "lengths"}, sorted(got)
    want = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(it["sequence"]) for it in items], batch_first=True)
    want_mask = (torch.arange(want.shape[1]) < torch.tensor(lengths)[:, None]).float()
    for key, expected in (
        ("sequence", want),
        ("mask", want_mask),
        ("label", torch.tensor([it["label"] for it in items])),
        ("lengths", torch.tensor(lengths)),
    ):
        value = got[key]
        assert isinstance(value, minigrad.Tensor), f"{key}: a {type(value).__name__}, expected a minigrad tensor"
        assert str(value.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1], f"{key}: dtype {value.dtype}"
        _close(value, expected, rtol=0, atol=0)


@check("lesson07", "masked_mean")
def check_masked_mean(ex):
    rng = np.random.default_rng(8)
    h0 = rng.normal(size=(3, 4, 6))
    mask0 = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]], dtype=np.float64)
    h, ht = _t(h0, grad=True)
    mask, maskt = _t(mask0)
    out = ex.masked_mean(h, mask)
    m = maskt.unsqueeze(1)
    want = (ht * m).sum(dim=2) / m.sum(dim=2).clamp(min=1)
    _close(out, want)
    u = rng.normal(size=(3, 4))
    (out * minigrad.tensor(u)).sum().backward()
    (want * torch.tensor(u)).sum().backward()
    _close(h.grad, ht.grad)


@check("lesson07", "stratified_split")
def check_stratified_split(ex):
    rng = np.random.default_rng(9)
    for n, share, fractions in ((200, 0.45, (0.8, 0.1, 0.1)), (101, 0.9, (0.7, 0.3)), (57, 0.3, (0.5, 0.25, 0.25))):
        labels = (rng.random(n) < share).astype(int)
        parts = ex.stratified_split(labels, fractions, seed=3)
        assert len(parts) == len(fractions)
        joined = np.concatenate(parts)
        assert len(joined) == n and set(joined.tolist()) == set(range(n)), "parts must be disjoint and cover all"
        for part, f in zip(parts, fractions):
            assert list(part) == sorted(part), "each part must be sorted"
            for cls in (0, 1):
                have, exact = int((labels[part] == cls).sum()), f * (labels == cls).sum()
                assert abs(have - exact) < 1, f"fraction {f}, label {cls}: {have} proteins, exactly {exact:.2f}"
        again = ex.stratified_split(labels, fractions, seed=3)
        assert all(np.array_equal(a, b) for a, b in zip(parts, again)), "the same seed must give the same split"
        other = ex.stratified_split(labels, fractions, seed=4)
        assert not all(np.array_equal(a, b) for a, b in zip(parts, other)), "the split must depend on the seed"
