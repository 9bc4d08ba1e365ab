"""Results as a terminal table, Markdown, JSON and a PNG bar chart of the minigrad/torch ratios."""

from __future__ import annotations

import json
import math
import os

# the targets of issue 5: minigrad time (or memory) divided by torch's must not exceed these
TARGETS = {
    "CNN training step": 1.0,
    "CNN inference (no_grad)": 1.0,
    "dispatch: 20 ops fwd+bwd": 1.0,
    "CNN training peak memory": 1.5,
}


def _fmt(x, digits=2):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.{digits}f}"


def _ratio(a, b):
    if a is None or b is None or not b or math.isnan(a) or math.isnan(b):
        return None
    return a / b


def make_row(case, timings: dict, unit="ms", stat="median") -> dict:
    ms = {k: getattr(t, stat) * 1e3 for k, t in timings.items()}
    iqr = {k: [x * 1e3 for x in t.spread] for k, t in timings.items()}
    return {
        "group": case.group,
        "name": case.name,
        "size": case.size,
        "unit": unit,
        "value": ms,
        "iqr": iqr,
        "median": {k: t.median * 1e3 for k, t in timings.items()},
        "min": {k: t.min * 1e3 for k, t in timings.items()},
        "calls": {k: len(t.seconds) for k, t in timings.items()},
    }


def finish_row(row: dict) -> dict:
    v = row["value"]
    row["ratio"] = _ratio(v.get("minigrad"), v.get("torch"))
    row["kernels_speedup"] = _ratio(v.get("minigrad[numpy]"), v.get("minigrad"))
    target = TARGETS.get(row["name"])
    row["target"] = target
    row["meets_target"] = None if target is None or row["ratio"] is None else row["ratio"] <= target
    return row


COLUMNS = [
    "group",
    "benchmark",
    "size",
    "torch",
    "minigrad",
    "minigrad[numpy]",
    "minigrad/torch",
    "target",
    "numpy/numba",
]


def _cells(row):
    v = row["value"]
    unit = row.get("unit", "ms")
    tgt = "-" if row["target"] is None else f"<= {row['target']:g} " + ("ok" if row["meets_target"] else "MISSED")
    return [
        row["group"],
        row["name"],
        row["size"],
        *(
            f"{_fmt(v.get(k))} {unit}" if v.get(k) is not None else "-"
            for k in ("torch", "minigrad", "minigrad[numpy]")
        ),
        _fmt(row["ratio"]),
        tgt,
        _fmt(row["kernels_speedup"]),
    ]


def table(rows) -> str:
    cells = [COLUMNS] + [_cells(r) for r in rows]
    widths = [max(len(str(c[i])) for c in cells) for i in range(len(COLUMNS))]
    lines = []
    for k, c in enumerate(cells):
        lines.append("  ".join(str(x).ljust(w) for x, w in zip(c, widths)))
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(rows, info: dict, notes: list) -> str:
    out = ["# minigrad vs torch", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    out += ["| " + " | ".join(str(c) for c in _cells(r)) + " |" for r in rows]
    out += [
        "",
        "ratio = minigrad / torch (lower is better; below 1 minigrad is faster). numpy/numba = minigrad with "
        "its compiled kernels switched off divided by minigrad with them on.",
        "",
        "## Notes",
        "",
    ]
    out += [f"- {n}" for n in notes]
    out += ["", "## Machine", "", "```", json.dumps(info, indent=2, default=str), "```", ""]
    return "\n".join(out)


def bar_chart(rows, path: str) -> bool:
    """A horizontal bar per benchmark: minigrad/torch on a log axis, a line at 1. False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    data = [(f"{r['name']}", r["ratio"]) for r in rows if r["ratio"]]
    if not data:
        return False
    labels, ratios = zip(*data)
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(data) + 1.2))
    colors = ["tab:green" if x <= 1 else "tab:orange" if x <= 2 else "tab:red" for x in ratios]
    ax.barh(range(len(data)), ratios, color=colors)
    ax.set_yticks(range(len(data)), labels)
    ax.invert_yaxis()
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("minigrad / torch (time or memory; < 1 means minigrad is better)")
    for i, x in enumerate(ratios):
        ax.text(x, i, f" {x:.2f}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write(out_dir: str, rows, info: dict, notes: list, extra: dict) -> list:
    """Write results.json, results.md and ratios.png under ``out_dir``; returns the paths written."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    p = os.path.join(out_dir, "results.json")
    with open(p, "w") as f:
        json.dump({"machine": info, "rows": rows, "notes": notes, **extra}, f, indent=2, default=str)
    paths.append(p)
    p = os.path.join(out_dir, "results.md")
    with open(p, "w") as f:
        f.write(markdown(rows, info, notes))
    paths.append(p)
    p = os.path.join(out_dir, "ratios.png")
    if bar_chart(rows, p):
        paths.append(p)
    return paths
