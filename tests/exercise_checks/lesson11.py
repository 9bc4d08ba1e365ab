"""Checks of lesson 11's exercises (see tests/test_exercises.py)."""

import math

import numpy as np
import torch
from sklearn.metrics import matthews_corrcoef

import minigrad
from parity.transfer import copy_weights
from solubility.dataset import ProteinDataset, make_collate
from solubility.model import build_model
from solubility.synthetic import make_synthetic
from tests.exercise_checks import check


def scheduled_rates(make_scheduler, lib, lr, steps):
    """The rate each of ``steps`` batches is trained with, when ``scheduler.step()`` follows every step."""
    w = lib.zeros(1, requires_grad=True)
    opt = lib.optim.SGD([w], lr=lr)
    sched = make_scheduler(opt)
    rates = []
    for _ in range(steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(rates)


@check("lesson11", "linear_warmup")
def check_linear_warmup(ex):
    for lr, warmup, start, steps in ((1e-3, 1000, 1e-7, 1200), (0.1, 7, 0.02, 12)):
        mine = scheduled_rates(lambda opt: ex.linear_warmup(opt, warmup, start), minigrad, lr, steps)  # noqa: B023
        theirs = scheduled_rates(
            lambda opt: torch.optim.lr_scheduler.LinearLR(opt, start_factor=start / lr, total_iters=warmup),  # noqa: B023
            torch,
            lr,
            steps,
        )
        np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=0)
        assert abs(mine[0] - start) <= 1e-12 * start, f"first rate {mine[0]}, expected {start}"
        np.testing.assert_allclose(mine[warmup:], lr, rtol=1e-9)  # then held at the target


def _early_stopping_reference(losses, patience):
    best, best_epoch, bad = math.inf, None, 0
    for epoch, loss in enumerate(losses):
        if loss < best:
            best, best_epoch, bad = loss, epoch, 0
        else:
            bad += 1
            if bad >= patience:
                return best_epoch, epoch
    return best_epoch, None


@check("lesson11", "early_stopping")
def check_early_stopping(ex):
    cases = [
        ([0.9, 0.8, 0.7, 0.6], 2),  # always improving: runs to the end
        ([0.9, 0.8, 0.8, 0.85, 0.79, 0.8, 0.81, 0.82], 3),  # a tie is not an improvement; a late best
        ([0.9, 0.8, 0.85, 0.8, 0.86, 0.87], 3),  # equalling the best does not reset the count
        ([0.5, 0.6, 0.7, 0.8], 1),  # nothing after epoch 0
        ([0.5, 0.6, 0.4, 0.45, 0.46], 2),
        ([0.7], 3),
    ]
    rng = np.random.default_rng(11)
    cases += [(list(np.round(rng.uniform(0.4, 0.7, 12), 2)), int(p)) for p in rng.integers(1, 5, 6)]
    for losses, patience in cases:
        got = ex.early_stopping(losses, patience)
        want = _early_stopping_reference(losses, patience)
        assert tuple(got) == want, f"losses {losses}, patience {patience}: got {got}, expected {want}"


@check("lesson11", "snapshot")
def check_snapshot(ex):
    minigrad.manual_seed(0)
    model = minigrad.nn.Sequential(minigrad.nn.Linear(3, 4), minigrad.nn.ReLU(), minigrad.nn.Linear(4, 2))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    snap = ex.snapshot(model)
    opt = minigrad.optim.SGD(model.parameters(), lr=0.5)
    model(minigrad.randn(5, 3)).pow(2).sum().backward()
    opt.step()  # training goes on after the snapshot
    with minigrad.no_grad():
        model[0].bias.add_(1.0)  # and an in-place write as well
    assert set(snap) == set(before), f"names {sorted(snap)}, expected {sorted(before)}"
    for k, v in snap.items():
        v = v.detach().numpy() if isinstance(v, minigrad.Tensor) else np.asarray(v)
        np.testing.assert_array_equal(v, before[k], err_msg=f"the snapshot's {k} changed with the model")
    model.load_state_dict(snap)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=f"{k} not restored")


def _loader(seed):
    data = ProteinDataset(make_synthetic(n=50, seed=seed, median_length=45, max_length=70))
    collate = make_collate(minigrad, dtype=minigrad.float64)
    return minigrad.utils.data.DataLoader(data, batch_size=16, shuffle=False, collate_fn=collate)


def _torch_scores(t_model, loader):
    t_model.eval()
    logits, labels = [], []
    with torch.no_grad():
        for b in loader:
            seq, mask = (torch.from_numpy(b[k].numpy()) for k in ("sequence", "mask"))
            logits.append(t_model(seq, mask))
            labels.append(torch.from_numpy(b["label"].numpy()))
    logits, labels = torch.cat(logits), torch.cat(labels)
    pred = logits.argmax(1).numpy()
    loss = torch.nn.functional.cross_entropy(logits, labels).item()
    return loss, float((pred == labels.numpy()).mean()), float(matthews_corrcoef(labels.numpy(), pred))


@check("lesson11", "evaluate_mcc")
def check_evaluate_mcc(ex):
    for seed, constant in ((0, False), (1, False), (2, True)):
        torch.manual_seed(seed)
        t_model = build_model(torch, dtype=torch.float64, embed_dim=8, hidden_dim=8)
        if constant:  # a model that answers "soluble" for everyone: MCC 0, not NaN
            with torch.no_grad():
                t_model.fc.bias.copy_(torch.tensor([-50.0, 50.0], dtype=torch.float64))
        m_model = build_model(minigrad, dtype=minigrad.float64, embed_dim=8, hidden_dim=8)
        copy_weights(t_model, m_model)
        m_model.train()
        loader = _loader(seed)
        got = ex.evaluate_mcc(m_model, loader)
        loss, accuracy, mcc = _torch_scores(t_model, loader)
        assert m_model.training, "evaluate_mcc must leave the model in the mode it found it in"
        assert set(got) == {"loss", "accuracy", "mcc"}, sorted(got)
        np.testing.assert_allclose(float(got["loss"]), loss, rtol=1e-10, err_msg="loss (mean over proteins)")
        np.testing.assert_allclose(float(got["accuracy"]), accuracy, rtol=1e-12, err_msg="accuracy")
        np.testing.assert_allclose(float(got["mcc"]), mcc, rtol=1e-10, atol=1e-12, err_msg="MCC")
