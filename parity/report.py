"""Reports of a parity run: a table in the terminal, Markdown and JSON files, PNG plots.

Every file is first written to a temporary name in the same folder and then renamed over the target
(``os.replace`` is atomic), so an interrupted run never leaves a half-written report behind.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import tempfile

import numpy as np

from solubility.metrics import METRIC_NAMES

__all__ = [
    "atomic_write_text",
    "lockstep_rows",
    "lockstep_table",
    "lockstep_notes",
    "training_table",
    "render_markdown",
    "write_report",
    "plot_all",
]


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _fmt(x) -> str:
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        return f"{x:.2e}" if (x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e4)) else f"{x:.4f}"
    return str(x)


def _table(header, rows, markdown=False) -> str:
    cells = [[_fmt(c) for c in r] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in cells]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(out)


def _fmt_up(x: float) -> str:
    """``x`` to 3 significant digits, rounded *up*: the printed value is never below the measured one, so a
    printed max is <= a printed (3-digit) bound exactly when the measured max is."""
    if not (isinstance(x, float) and math.isfinite(x) and x > 0):
        return _fmt(x)
    s = f"{x:.2e}"
    if float(s) < x:
        mantissa, exponent = s.split("e")
        s = f"{float(f'{float(mantissa) + 0.01:.2f}e{exponent}'):.2e}"
    return s


def lockstep_rows(summary: dict) -> list[list]:
    """One row per compared kind of one lockstep run: measured max, bound, worst tensor and the verdict."""
    from .lockstep import KINDS

    rows = []
    for kind in KINDS:
        measured, bound = summary[f"{kind}_max_rel"], summary["bounds"][kind]
        rows.append(
            [
                summary["dtype"],
                summary["device"],
                summary.get("conv", "-"),
                summary["mode"],
                summary["steps_run"],
                kind,
                _fmt_up(float(measured)),
                f"{bound:.2e}",
                summary[f"{kind}_worst"],
                "PASS" if measured <= bound else "FAIL",
            ]
        )
    return rows


def lockstep_table(summaries, markdown=False) -> str:
    """Per lockstep run and compared kind: the largest ``||minigrad - torch|| / ||torch||``, its bound and
    the verdict, PASS iff max <= bound (the max is printed rounded up, so the two never disagree)."""
    header = [
        "dtype",
        "device",
        "conv",
        "mode",
        "steps",
        "compared",
        "max rel",
        "bound",
        "worst tensor (step)",
        "verdict",
    ]
    return _table(header, [row for s in summaries for row in lockstep_rows(s)], markdown)


def lockstep_notes(summaries) -> str:
    """Information beside the verdict: trajectory drift and the ReLU decisions torch took from minigrad."""
    lines = []
    for s in summaries:
        drift = f"minigrad's parameters are {_fmt(float(s['drift']))} (rel) from " + (
            "an untouched torch run" if s["mode"] == "teacher forcing" else "torch's"
        )
        lines.append(
            f"{s['dtype']}: after {s['steps_run']} steps {drift} (trajectory drift, information only)"
            + (
                f"; ReLU units whose sign differed and took minigrad's decision: {s['relu_flips']}"
                if s["mode"] == "teacher forcing"
                else ""
            )
        )
    return "\n".join(lines)


def training_table(train, markdown=False) -> str:
    """Final test metrics of the independently trained torch and minigrad models, side by side."""
    t, m = train["torch"], train["minigrad"]
    rows = [
        [k, t["test_metrics"][k], m["test_metrics"][k], abs(t["test_metrics"][k] - m["test_metrics"][k])]
        for k in METRIC_NAMES
    ]
    rows.append(
        ["epochs (best)", f"{len(t['history'])} ({t['best_epoch']})", f"{len(m['history'])} ({m['best_epoch']})", ""]
    )
    rows.append(
        [
            "final val loss",
            t["history"][-1]["val_loss"],
            m["history"][-1]["val_loss"],
            abs(t["history"][-1]["val_loss"] - m["history"][-1]["val_loss"]),
        ]
    )
    rows.append(["train seconds", t["seconds"], m["seconds"], ""])
    rows.append(
        ["confusion [[TN,FP],[FN,TP]]", str(t["test_metrics"]["confusion"]), str(m["test_metrics"]["confusion"]), ""]
    )
    return _table(["metric (test set)", "torch", "minigrad", "|diff|"], rows, markdown)


def render_markdown(report: dict) -> str:
    cfg = report["config"]
    parts = [
        "# minigrad vs torch: parity report",
        "",
        f"Data: {report['data']['description']} ({report['data']['n']} proteins; split train/val/test "
        f"{report['data']['split_sizes']}, {report['data']['split']}).",
        "",
        "Settings: " + ", ".join(f"`{k}={v}`" for k, v in cfg.items()),
        "",
    ]
    if report.get("lockstep"):
        parts += [
            "## Lockstep (same batches and dropout masks; largest relative error over all steps)",
            "",
            lockstep_table(report["lockstep"], markdown=True),
            "",
            "max rel: the largest ||minigrad - torch|| / ||torch|| of any tensor of that kind at any step "
            "(printed rounded up); PASS iff it is <= the bound. float64 runs in pure lockstep; float32 by "
            "teacher forcing: before every step torch takes minigrad's weights, Adam state and (at units "
            "whose ReLU input sits on the other side of zero by rounding) minigrad's ReLU decision, so each "
            "step is compared from the same numbers (the bounds and their measurements: "
            "parity/lockstep.py).",
            "",
            lockstep_notes(report["lockstep"]).replace("\n", "  \n"),
            "",
        ]
        for s in report["lockstep"]:
            if s["first_divergence"]:
                parts += [f"**Diverged ({s['dtype']}):** {s['first_divergence']}", ""]
    if report.get("train"):
        parts += [
            "## Independent training (same initial weights and data order)",
            "",
            training_table(report["train"], markdown=True),
            "",
        ]
    if report.get("plots"):
        parts += ["## Plots", ""] + [f"![{p}]({p})" for p in report["plots"]] + [""]
    parts += [f"Verdict: **{'PASS' if report['ok'] else 'FAIL'}**", ""]
    return "\n".join(parts)


def plot_all(report: dict, out_dir) -> list[str]:
    """Write the PNG plots; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = pathlib.Path(out_dir)
    written = []

    def save(fig, name):
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".png", dir=out_dir)
        os.close(fd)
        try:
            fig.savefig(tmp, dpi=110, bbox_inches="tight")
            os.replace(tmp, out_dir / name)
        finally:
            plt.close(fig)
            if os.path.exists(tmp):
                os.unlink(tmp)
        written.append(name)

    lock = report.get("lockstep") or []
    train = report.get("train")
    if lock or train:
        ncols = (1 if lock else 0) + (1 if train else 0)
        fig, axes = plt.subplots(1, ncols, figsize=(6 * ncols, 4), squeeze=False)
        ax_i = 0
        if lock:
            ax = axes[0][ax_i]
            ax_i += 1
            for s in lock:
                steps = [h["step"] for h in s["history"]]
                ax.plot(steps, [h["loss_ref"] for h in s["history"]], label=f"torch {s['dtype']}", lw=2, alpha=0.6)
                ax.plot(steps, [h["loss_cand"] for h in s["history"]], "--", label=f"minigrad {s['dtype']}", lw=1)
            ax.set(title="Lockstep training loss", xlabel="step", ylabel="cross-entropy")
            ax.legend()
        if train:
            ax = axes[0][ax_i]
            for lib, style in (("torch", "-"), ("minigrad", "--")):
                h = train[lib]["history"]
                ep = [e["epoch"] for e in h]
                ax.plot(ep, [e["train_loss"] for e in h], style, marker="o", label=f"{lib} train")
                ax.plot(ep, [e["val_loss"] for e in h], style, marker="s", label=f"{lib} val")
            ax.set(title="Independent training", xlabel="epoch", ylabel="cross-entropy")
            ax.legend()
        save(fig, "loss_curves.png")
    if lock:
        from .lockstep import KINDS

        fig, (ax, ax_drift) = plt.subplots(1, 2, figsize=(12, 4))
        for s in lock:
            steps = [h["step"] for h in s["history"]]
            for kind in KINDS:  # each kind as a fraction of its own bound: above 1 fails
                ax.semilogy(
                    steps,
                    [max(h[f"{kind}_rel"] / s["bounds"][kind], 1e-12) for h in s["history"]],
                    "--" if s["dtype"] == "float64" else "-",
                    lw=1,
                    label=f"{s['dtype']} {kind}",
                )
            ax_drift.semilogy(steps, [max(h["drift"], 1e-18) for h in s["history"]], label=s["dtype"])
        ax.axhline(1.0, color="gray", lw=0.8)
        ax.set(
            title="Largest rel / bound per step (above 1 fails)",
            xlabel="step",
            ylabel="||minigrad - torch|| / ||torch|| / bound",
        )
        ax.legend(fontsize=7, ncol=2)
        ax_drift.set(
            title="Trajectory drift (information only)",
            xlabel="step",
            ylabel="parameters: ||minigrad - untouched torch|| / ||torch||",
        )
        ax_drift.legend()
        save(fig, "divergence.png")
    if train and train["torch"].get("test_probs") is not None:
        from sklearn.metrics import roc_curve

        fig, ax = plt.subplots(figsize=(5, 5))
        for lib, style in (("torch", "-"), ("minigrad", "--")):
            y, p = np.asarray(train[lib]["test_labels"]), np.asarray(train[lib]["test_probs"])
            if len(np.unique(y)) == 2:
                fpr, tpr, _ = roc_curve(y, p)
                ax.plot(fpr, tpr, style, label=f"{lib} (AUC {train[lib]['test_metrics']['roc_auc']:.3f})")
        ax.plot([0, 1], [0, 1], color="gray", lw=0.8)
        ax.set(title="ROC on the test set", xlabel="false positive rate", ylabel="true positive rate")
        ax.legend()
        save(fig, "roc.png")
    return written


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else str(v)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def write_report(report: dict, out_dir, plots: bool = True) -> list[str]:
    """Write ``report.json``, ``report.md`` and (optionally) the PNG plots into ``out_dir``."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = dict(report)
    report["plots"] = plot_all(report, out_dir) if plots else []
    atomic_write_text(out_dir / "report.json", json.dumps(_jsonable(report), indent=1) + "\n")
    atomic_write_text(out_dir / "report.md", render_markdown(report))
    return ["report.json", "report.md", *report["plots"]]
