"""Exercise 5: the Matthews correlation coefficient, by hand, added to ``evaluate_classifier`` and to the loop.

    MCC = (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)),

defined as 0 when a factor of the denominator is 0 (a model that gives one answer for everyone), as
scikit-learn does. :func:`classifier_metrics` computes the note's five metrics plus this MCC from labels and
P(soluble); :func:`evaluate_classifier` is the note's function with the MCC added; lesson 11's loop
(``lessons/solutions/training_loop.py::train_model``) takes ``classifier_metrics`` as its ``metrics`` and
logs the validation MCC every epoch.

Compared with accuracy on a dataset where 90 % of proteins are soluble (:func:`compare`: lesson 11's model
trained on 1,000 synthetic proteins, 90 % labelled soluble, scored on its 100 test proteins), measured with
the default seed and the default (fast) backend:

    model                 accuracy   MCC     ROC-AUC
    always "soluble"        0.900   +0.000   0.500
    trained CNN             0.890   +0.300   0.877

By accuracy the trained model is *worse* than answering "soluble" for everyone. MCC says the opposite, and
rightly: the constant answer has learnt nothing (MCC 0), while the model finds 3 of the 10 insoluble test
proteins, at the price of calling 4 soluble ones insoluble, and ranks the classes well (ROC-AUC 0.88). On
such data accuracy is dominated by the large class and hides the difference that MCC measures.
:func:`imbalanced_example` shows the same with three made-up predictors.

Run: ``python -m lessons.solutions.mcc``
"""

from __future__ import annotations

import math
import os
import tempfile

import numpy as np

import minigrad as torch
from solubility.model import build_model

from .training_loop import make_loaders, train_model


def confusion(y_true, y_pred):
    """``(TP, TN, FP, FN)`` with label 1 (soluble) as the positive class."""
    y_true, y_pred = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    tp = int(np.sum(y_true & y_pred))
    tn = int(np.sum(~y_true & ~y_pred))
    fp = int(np.sum(~y_true & y_pred))
    fn = int(np.sum(y_true & ~y_pred))
    return tp, tn, fp, fn


def mcc(y_true, y_pred) -> float:
    tp, tn, fp, fn = confusion(y_true, y_pred)
    den = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
    if den == 0:
        return 0.0
    return (tp * tn - fp * fn) / math.sqrt(den)


def classifier_metrics(labels, probs, threshold=0.5) -> dict:
    """Accuracy, precision, recall, F1 (scikit-learn), ROC-AUC, and the MCC computed above."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

    labels = np.asarray(labels).astype(int)
    preds = (np.asarray(probs) >= threshold).astype(int)
    precision, recall, f1, _ = precision_recall_fscore_support(labels, preds, average="binary", zero_division=0)
    return {
        "accuracy": float(accuracy_score(labels, preds)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "auc": float(roc_auc_score(labels, probs)) if len(set(labels.tolist())) == 2 else math.nan,
        "mcc": mcc(labels, preds),
    }


@torch.no_grad()
def evaluate_classifier(model, loader) -> dict:
    """The note's ``evaluate_classifier`` for a ``model(sequence, mask)``, with the MCC added."""
    model.eval()
    probs, labels = [], []
    for batch in loader:
        logits = model(batch["sequence"], batch["mask"])
        probs.append(torch.softmax(logits, dim=-1)[:, 1])
        labels.append(batch["label"])
    return classifier_metrics(torch.cat(labels).numpy(), torch.cat(probs).numpy())


class AlwaysSoluble(torch.nn.Module):
    """A "model" that gives every protein the logits (0, 1): P(soluble) = 0.73 for all."""

    def forward(self, sequence, mask=None):
        return torch.tensor([[0.0, 1.0]], dtype=torch.float64).expand(sequence.shape[0], 2)


def compare(n=1000, soluble=0.9, seed=0, log=print):
    """Train lesson 11's model on data ``soluble`` soluble; score it and :class:`AlwaysSoluble` on the test set.

    Returns ``(scores, history)``: the test metrics of both, and the loop's history (with the MCC per epoch).
    """
    torch.manual_seed(seed)
    train_loader, val_loader, test_loader = make_loaders(n=n, seed=seed, soluble_fraction=soluble)
    model = build_model(torch, dtype=torch.float64, embed_dim=16, hidden_dim=32)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    with tempfile.TemporaryDirectory() as tmp:
        history = train_model(
            model,
            train_loader,
            val_loader,
            optimizer=optimizer,
            metrics=classifier_metrics,  # the loop logs the validation MCC every epoch
            checkpoint=os.path.join(tmp, "best_model.pt"),
            log=log,
        )
    scores = {
        'always "soluble"': evaluate_classifier(AlwaysSoluble(), test_loader),
        "trained CNN": evaluate_classifier(model, test_loader),
    }
    return scores, history


def imbalanced_example(n=1000, soluble=0.9, seed=0):
    """Labels with 90 % positives, and three predictors: always-soluble, random, and a decent model."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < soluble).astype(int)
    always = np.ones(n, int)
    coin = (rng.random(n) < soluble).astype(int)
    decent = np.where(rng.random(n) < 0.85, y, 1 - y)
    return y, {"always soluble": always, "random (90/10)": coin, "85 % correct": decent}


if __name__ == "__main__":
    scores, _ = compare()
    print(f"{'model':20s} accuracy   MCC     ROC-AUC")
    for name, m in scores.items():
        print(f"{name:20s} {m['accuracy']:8.3f}  {m['mcc']:+.3f}  {m['auc']:.3f}")
