"""The course note's five exercises, solved in lessons/solutions/, each checked for what it claims; and the
training loop of lesson 11 (lessons/solutions/training_loop.py) that three of them reuse."""

import numpy as np
import pytest
import torch
from sklearn.metrics import matthews_corrcoef

import minigrad
from lessons.solutions import (
    gradient_accumulation,
    mcc,
    optimizer_comparison,
    secondary_structure,
    training_loop,
    warmup,
)
from solubility.metrics import classification_metrics
from tests.exercise_checks.lesson11 import scheduled_rates


def _quiet(*args, **kwargs):
    pass


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


def test_training_loop_stops_early_and_restores_the_best_checkpoint(tmp_path):
    history, test_loss, scores = training_loop.main(checkpoint=tmp_path / "best.pt")
    assert len(history) < 30, "the validation loss never stalled: early stopping untested"
    best = min(history, key=lambda h: h["val_loss"])
    assert all(h["val_loss"] >= best["val_loss"] for h in history[best["epoch"] + 1 :])
    assert len(history) == best["epoch"] + 1 + 4  # stopped after patience=4 epochs without a new best
    lrs = [h["lr"] for h in history]
    assert lrs[-1] < lrs[0], "ReduceLROnPlateau never lowered the rate"
    # the weights in the model at the end are those of the best epoch: the validation loss is that epoch's
    minigrad.manual_seed(0)
    _, val_loader, _ = training_loop.make_loaders(seed=0)
    model = training_loop.build_model(minigrad, dtype=minigrad.float64, embed_dim=16, hidden_dim=32)
    model.load_state_dict(minigrad.load(tmp_path / "best.pt"))
    val_loss, _, _ = training_loop.evaluate(model, val_loader, minigrad.nn.CrossEntropyLoss())
    assert val_loss == pytest.approx(best["val_loss"], rel=1e-12)
    assert 0 < scores["accuracy"] <= 1 and np.isfinite(test_loss)


def test_evaluate_records_no_graph_and_leaves_grad_mode_on():
    minigrad.manual_seed(0)
    _, val_loader, _ = training_loop.make_loaders(n=60, seed=1)
    model = training_loop.build_model(minigrad, dtype=minigrad.float64, embed_dim=8, hidden_dim=8)
    loss, probs, labels = training_loop.evaluate(model, val_loader, minigrad.nn.CrossEntropyLoss())
    assert minigrad.is_grad_enabled() and not model.training
    assert probs.shape == labels.shape and ((probs > 0) & (probs < 1)).all()


def _torch_linear_lr(steps, target=warmup.TARGET_LR, start=warmup.START_LR, total=warmup.WARMUP_STEPS):
    def linear_lr(opt):
        return torch.optim.lr_scheduler.LinearLR(opt, start_factor=start / target, total_iters=total)

    return scheduled_rates(linear_lr, torch, target, steps)


def test_warmup_is_1000_steps_from_1e7_to_1e3_inside_the_loop_both_ways():
    small = {"n": 200, "batch_size": 4, "model_kwargs": {"embed_dim": 8, "hidden_dim": 8}, "log": _quiet}
    model_a, rates_a, history_a = warmup.train_with_warmup("LinearLR", **small)  # 40 steps per epoch
    model_b, rates_b, history_b = warmup.train_with_warmup("by hand", **small)
    rates_a, rates_b = np.array(rates_a), np.array(rates_b)
    assert len(rates_a) > 1000, "training ended before the warm-up did"
    np.testing.assert_allclose(rates_a[:1001], np.linspace(1e-7, 1e-3, 1001), rtol=1e-9)
    np.testing.assert_allclose(rates_a[:1001], _torch_linear_lr(1001), rtol=1e-9)  # as torch's LinearLR
    np.testing.assert_allclose(rates_b, rates_a, rtol=1e-9)
    assert (np.diff(rates_a[:1001]) > 0).all(), "the plateau schedule lowered the rate during the warm-up"
    assert [h["val_loss"] for h in history_a] == pytest.approx([h["val_loss"] for h in history_b], rel=1e-9)
    for (name, p), q in zip(model_a.named_parameters(), model_b.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-8, atol=1e-10, err_msg=name)


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


def test_optimizer_comparison_runs_answers_and_plots(tmp_path):
    curves = optimizer_comparison.run(seeds=(0,), epochs=2, n=48, model_kwargs={"embed_dim": 8, "hidden_dim": 8})
    assert set(curves) == set(optimizer_comparison.OPTIMIZERS)
    for h in curves.values():
        assert len(h["train"]) == len(h["val"]) == 2 and np.isfinite(h["train"] + h["val"]).all()
    # the same start and the same batches: Adam and AdamW differ only by a tiny weight decay after epoch 1
    adam, adamw, sgd = (curves[k]["train"][0] for k in ("Adam", "AdamW (wd 0.01)", "SGD + momentum 0.9"))
    assert adam == pytest.approx(adamw, rel=1e-3) and adam != sgd
    result = optimizer_comparison.answer(curves)
    assert set(result["fastest"]) <= set(curves) and result["lowest_final_val"] in curves
    assert "fastest:" in optimizer_comparison.report(result)
    path = optimizer_comparison.plot(curves, tmp_path / "curves.png")
    assert path.stat().st_size > 5000


def test_optimizer_comparison_answer_reads_the_curves():
    curves = {
        "slow": {"train": [0.69, 0.65, 0.58, 0.50], "val": [0.69, 0.66, 0.60, 0.55]},
        "fast": {"train": [0.62, 0.55, 0.45, 0.35], "val": [0.65, 0.60, 0.62, 0.70]},
        "never": {"train": [0.69, 0.68, 0.67, 0.66], "val": [0.69, 0.68, 0.67, 0.66]},
    }
    result = optimizer_comparison.answer(curves, threshold=0.6)
    assert result["fastest"] == ["fast"] and result["lowest_final_val"] == "slow"
    curves["also fast"] = {"train": [0.7, 0.59, 0.5, 0.4], "val": [0.7, 0.6, 0.6, 0.6]}
    assert optimizer_comparison.answer(curves, threshold=0.6)["fastest"] == ["fast", "also fast"]
    assert result["stats"]["never"]["epochs_to_threshold"] is None
    assert result["stats"]["fast"]["best_val_epoch"] == 2


def test_mcc_matches_scikit_learn_on_imbalanced_data():
    y, preds = mcc.imbalanced_example()
    assert 0.85 < y.mean() < 0.95
    for p in preds.values():
        assert mcc.mcc(y, p) == pytest.approx(matthews_corrcoef(y, p), abs=1e-12)
    assert mcc.mcc(y, preds["always soluble"]) == 0.0
    assert mcc.mcc(y, preds["85 % correct"]) > 0.3
    assert mcc.mcc([1, 0, 1, 0], [1, 0, 1, 0]) == 1.0 and mcc.mcc([1, 0], [0, 1]) == -1.0


def test_mcc_is_wired_into_evaluate_classifier_and_the_loop():
    rng = np.random.default_rng(3)
    labels, probs = rng.integers(0, 2, 200), rng.random(200)
    mine, theirs = mcc.classifier_metrics(labels, probs), classification_metrics(labels, probs)
    for key in ("accuracy", "precision", "recall", "f1", "mcc"):
        assert mine[key] == pytest.approx(theirs[key], abs=1e-12), key
    assert mine["auc"] == pytest.approx(theirs["roc_auc"], abs=1e-12)
    scores, history = mcc.compare(n=300, log=_quiet)
    assert all("auc" in h and "mcc" in h for h in history), "the loop did not use classifier_metrics"
    always = scores['always "soluble"']
    assert always["mcc"] == 0.0 and 0.85 <= always["accuracy"] <= 0.95  # 90 % soluble
    assert -1 <= scores["trained CNN"]["mcc"] <= 1
