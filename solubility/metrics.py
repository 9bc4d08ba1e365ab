"""Classification metrics for the solubility task, computed with scikit-learn.

Accuracy alone misleads on unbalanced data (NetSolP is 67 % soluble: always answering "soluble"
scores 0.67), so we also report precision, recall, F1 (of the soluble class, label 1), ROC-AUC
(threshold-free ranking quality), the Matthews correlation coefficient (MCC: 0 for a constant or
random predictor, 1 for a perfect one, fair under class imbalance) and the confusion matrix.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn import metrics as skm

__all__ = ["classification_metrics", "METRIC_NAMES"]

METRIC_NAMES = ("accuracy", "precision", "recall", "f1", "roc_auc", "mcc")


def classification_metrics(y_true, y_prob, threshold: float = 0.5) -> dict:
    """Metrics for binary labels ``y_true`` and predicted P(label 1) ``y_prob``.

    A protein is predicted soluble when ``y_prob >= threshold``. Returns a dict with the six
    :data:`METRIC_NAMES` (floats; ``roc_auc`` is NaN when only one class is present), ``confusion``
    ``[[TN, FP], [FN, TP]]`` and ``n``.
    """
    y_true = np.asarray(y_true).astype(int).ravel()
    y_prob = np.asarray(y_prob, dtype=np.float64).ravel()
    if y_true.shape != y_prob.shape:
        raise ValueError(f"classification_metrics: {y_true.size} labels but {y_prob.size} probabilities")
    if y_true.size == 0:
        raise ValueError("classification_metrics: no predictions")
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError("classification_metrics: labels must be 0 or 1")
    y_pred = (y_prob >= threshold).astype(int)
    prec, rec, f1, _ = skm.precision_recall_fscore_support(
        y_true, y_pred, average="binary", pos_label=1, zero_division=0
    )
    two_classes = len(np.unique(y_true)) == 2
    return {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "precision": float(prec),
        "recall": float(rec),
        "f1": float(f1),
        "roc_auc": float(skm.roc_auc_score(y_true, y_prob)) if two_classes else math.nan,
        "mcc": float(skm.matthews_corrcoef(y_true, y_pred)),
        "confusion": skm.confusion_matrix(y_true, y_pred, labels=[0, 1]).tolist(),
        "n": int(y_true.size),
    }
