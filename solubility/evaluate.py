"""Evaluation of predicted probabilities: metrics with bootstrap confidence intervals, ROC and PR plots.

The point estimates come from :func:`solubility.metrics.classification_metrics` plus PR-AUC (average
precision, scikit-learn). The intervals are percentile bootstrap intervals: resample the proteins with
replacement ``n_boot`` times (seeded), recompute every metric, take the 2.5 % and 97.5 % quantiles. With
~1,400 held-out proteins an accuracy interval is about +-0.025 wide, so differences between models
smaller than that are not evidence of anything.
"""

from __future__ import annotations

import math
import pathlib

import numpy as np
from sklearn import metrics as skm

from .metrics import classification_metrics

__all__ = ["REPORTED", "scores", "bootstrap_metrics", "plot_curves", "format_table"]

REPORTED = ("accuracy", "precision", "recall", "f1", "mcc", "roc_auc", "pr_auc")


def scores(y_true, y_prob, threshold: float = 0.5) -> dict:
    """The :data:`REPORTED` metrics (floats) of one set of predictions."""
    m = classification_metrics(y_true, y_prob, threshold)
    two = len(np.unique(y_true)) == 2
    m["pr_auc"] = float(skm.average_precision_score(y_true, y_prob)) if two else math.nan
    return {k: m[k] for k in REPORTED}


def bootstrap_metrics(y_true, y_prob, threshold=0.5, n_boot=1000, seed=0, level=0.95) -> dict:
    """``{metric: {"value", "low", "high"}}``: point estimate and percentile bootstrap interval."""
    y_true = np.asarray(y_true).astype(int)
    y_prob = np.asarray(y_prob, dtype=np.float64)
    point = scores(y_true, y_prob, threshold)
    rng = np.random.default_rng(seed)
    samples = {k: [] for k in REPORTED}
    for _ in range(n_boot):
        idx = rng.integers(0, len(y_true), len(y_true))
        if len(np.unique(y_true[idx])) < 2:
            continue  # a resample with one class has no AUC; skip it (vanishingly rare at realistic sizes)
        for k, v in scores(y_true[idx], y_prob[idx], threshold).items():
            samples[k].append(v)
    tail = (1 - level) / 2 * 100
    out = {}
    for k in REPORTED:
        s = np.asarray(samples[k])
        low, high = np.percentile(s, [tail, 100 - tail]) if s.size else (math.nan, math.nan)
        out[k] = {"value": point[k], "low": float(low), "high": float(high)}
    return out


def format_table(result: dict) -> str:
    """The bootstrap result as aligned text lines: ``metric  value  [low, high]``."""
    lines = [f"{'metric':<10} {'value':>7}  95% CI"]
    for k, v in result.items():
        lines.append(f"{k:<10} {v['value']:7.4f}  [{v['low']:.4f}, {v['high']:.4f}]")
    return "\n".join(lines)


def plot_curves(y_true, y_prob, out_dir, title: str = "") -> list[pathlib.Path]:
    """Write ``roc.png`` and ``pr.png`` into ``out_dir``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = pathlib.Path(out_dir)
    fpr, tpr, _ = skm.roc_curve(y_true, y_prob)
    prec, rec, _ = skm.precision_recall_curve(y_true, y_prob)
    paths = []
    for name, (x, y, xl, yl, ref) in {
        "roc": (fpr, tpr, "false positive rate", "true positive rate", ([0, 1], [0, 1])),
        "pr": (rec, prec, "recall", "precision", ([0, 1], [np.mean(y_true)] * 2)),
    }.items():
        fig, ax = plt.subplots(figsize=(4.5, 4))
        ax.plot(x, y, lw=1.5)
        ax.plot(*ref, ls="--", c="grey", lw=1)
        ax.set(xlabel=xl, ylabel=yl, title=f"{title} {name.upper()}".strip(), xlim=(0, 1), ylim=(0, 1.02))
        fig.tight_layout()
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


def plot_history(histories: list[list[dict]], path) -> pathlib.Path:
    """Training curves (train loss, validation ROC-AUC per epoch, one line per ensemble member) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    for i, hist in enumerate(histories):
        ep = [h["epoch"] for h in hist]
        a.plot(ep, [h["train_loss"] for h in hist], marker="o", label=f"member {i}")
        b.plot(ep, [h["valid_auc"] for h in hist], marker="o", label=f"member {i}")
    a.set(xlabel="epoch", ylabel="train loss (BCE)")
    b.set(xlabel="epoch", ylabel="validation ROC-AUC")
    a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return pathlib.Path(path)
