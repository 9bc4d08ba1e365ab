"""Exercise 5: the Matthews correlation coefficient, by hand, on a 90 %-soluble dataset.

MCC = (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)), defined as 0 when a factor of the
denominator is 0 (as scikit-learn does). Accuracy rewards a model that always answers "soluble"
with 0.9 on such data; MCC gives it 0.

Run: ``python -m lessons.solutions.mcc``
"""

from __future__ import annotations

import math

import numpy as np


def confusion(y_true, y_pred):
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


def imbalanced_example(n=1000, soluble=0.9, seed=0):
    """Labels with 90 % positives, and three predictors: always-soluble, random, and a decent model."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < soluble).astype(int)
    always = np.ones(n, int)
    coin = (rng.random(n) < soluble).astype(int)
    decent = np.where(rng.random(n) < 0.85, y, 1 - y)
    return y, {"always soluble": always, "random (90/10)": coin, "85 % correct": decent}


if __name__ == "__main__":
    from sklearn.metrics import accuracy_score, matthews_corrcoef

    y, preds = imbalanced_example()
    for name, p in preds.items():
        print(
            f"{name:16s} accuracy {accuracy_score(y, p):.3f}  MCC {mcc(y, p):+.3f}  "
            f"(scikit-learn {matthews_corrcoef(y, p):+.3f})"
        )
