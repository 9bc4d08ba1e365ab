"""The course note's five exercises, solved in lessons/solutions/, each checked for what it claims."""

import numpy as np
import pytest
from sklearn.metrics import matthews_corrcoef

import minigrad
from lessons.solutions import gradient_accumulation, mcc, optimizer_comparison, secondary_structure, warmup


def test_secondary_structure_learns_and_ignores_padding():
    x, y, lengths = secondary_structure.toy_dataset(n=8, seed=1)
    assert (y[0, lengths[0] :] == -100).all() and (y[0, : lengths[0]] >= 0).all()
    model = secondary_structure.ResidueMLP(hidden=16)
    logits = model(minigrad.tensor(x))
    assert tuple(logits.shape) == (8, x.shape[1], 3)
    a, b = secondary_structure.masked_loss_matches_ignore_index(logits, minigrad.tensor(y))
    assert abs(a.item() - b.item()) < 1e-6
    # padding cannot change the loss: perturb the logits at padded positions only
    noise = np.zeros(logits.shape, np.float32)
    noise[y == -100] = 50.0
    c, _ = secondary_structure.masked_loss_matches_ignore_index(logits + minigrad.tensor(noise), minigrad.tensor(y))
    assert abs(c.item() - a.item()) < 1e-6
    _, losses, acc = secondary_structure.train(epochs=40)
    assert losses[-1] < 0.8 * losses[0] and acc > 0.55


def test_warmup_schedule_and_manual_agree():
    lrs, manual = warmup.scheduled_lrs(), warmup.manual_lrs()
    np.testing.assert_allclose(lrs, manual, rtol=1e-9)
    assert lrs[0] == pytest.approx(1e-7) and lrs[-1] == pytest.approx(1e-3)
    assert all(b >= a for a, b in zip(lrs, lrs[1:]))
    np.testing.assert_allclose(
        warmup.train_with_warmup(manual=False), warmup.train_with_warmup(manual=True), rtol=1e-10, atol=1e-12
    )


def test_gradient_accumulation_equals_large_batch():
    assert gradient_accumulation.compare() < 1e-12
    # and the loop pattern steps once per 4 mini-batches
    model = gradient_accumulation.make_model()
    opt = minigrad.optim.SGD(model.parameters(), lr=0.1)
    steps = []
    opt.step = (lambda orig: lambda *a, **k: (steps.append(1), orig(*a, **k))[1])(opt.step)
    rng = np.random.default_rng(0)
    batches = [
        (minigrad.tensor(rng.standard_normal((4, 20))), minigrad.tensor(rng.integers(0, 2, 4))) for _ in range(8)
    ]
    gradient_accumulation.train_accumulating(batches, model, opt, accumulation_steps=4)
    assert len(steps) == 2


def test_optimizer_comparison_runs_and_plots(tmp_path):
    curves = optimizer_comparison.run(epochs=2, n=48, embed_dim=8, hidden_dim=8)
    assert set(curves) == set(optimizer_comparison.OPTIMIZERS)
    for h in curves.values():
        assert len(h["train"]) == 2 and all(np.isfinite(h["train"] + h["val"]))
    path = optimizer_comparison.plot(curves, tmp_path / "curves.png")
    assert path.stat().st_size > 5000


def test_mcc_matches_scikit_learn_on_imbalanced_data():
    y, preds = mcc.imbalanced_example()
    assert 0.85 < y.mean() < 0.95
    for p in preds.values():
        assert mcc.mcc(y, p) == pytest.approx(matthews_corrcoef(y, p), abs=1e-12)
    assert mcc.mcc(y, preds["always soluble"]) == 0.0
    assert mcc.mcc(y, preds["85 % correct"]) > 0.3
    assert mcc.mcc([1, 0, 1, 0], [1, 0, 1, 0]) == 1.0 and mcc.mcc([1, 0], [0, 1]) == -1.0
