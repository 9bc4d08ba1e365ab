"""The benchmark suite runs end to end at tiny sizes and its bookkeeping is right (no timing is asserted)."""

from __future__ import annotations

import json
import math
import os

import pytest

from benchmarks import memory, report
from benchmarks.__main__ import parse_args
from benchmarks.cases import Case, Context
from benchmarks.env import restart_without_openblas_overrides
from benchmarks.run import run
from benchmarks.timing import Impl, Timing, run_interleaved


def test_run_interleaved_alternates_order_and_excludes_warmup():
    log = []
    calls = {name: (lambda i, name=name: log.append((name, i))) for name in ("a", "b")}
    hooks = []
    impls = [
        Impl("a", None, enter=lambda: hooks.append("enter a"), exit=lambda: hooks.append("exit a")),
        Impl("b", None),
        Impl("c", None),
    ]  # "c" has no call: skipped
    res = run_interleaved(calls, impls, rounds=3, reps=2, warmup=1, pause=0.0)
    assert set(res) == {"a", "b"}
    assert all(len(t.seconds) == 6 for t in res.values())  # warm-up calls are not in the timings
    # blocks: warm-up once per implementation, then the order alternates a,b / b,a / a,b
    assert log == [
        ("a", 0),
        ("a", 0),
        ("a", 1),
        ("b", 0),
        ("b", 0),
        ("b", 1),
        ("b", 0),
        ("b", 1),
        ("a", 0),
        ("a", 1),
        ("a", 0),
        ("a", 1),
        ("b", 0),
        ("b", 1),
    ]
    assert hooks == ["enter a", "exit a"] * 3


def test_report_rows_ratios_and_targets(tmp_path):
    case = Case("cnn", "CNN training step", "tiny", None)
    timings = {
        "torch": Timing([0.002, 0.004, 0.003]),
        "minigrad": Timing([0.0015, 0.0015, 0.009]),
        "minigrad[numpy]": Timing([0.003]),
    }
    row = report.finish_row(report.make_row(case, timings))
    assert row["value"]["torch"] == pytest.approx(3.0) and row["value"]["minigrad"] == pytest.approx(1.5)
    assert row["ratio"] == pytest.approx(0.5) and row["meets_target"] is True and row["target"] == 1.0
    assert row["kernels_speedup"] == pytest.approx(2.0)
    slow = report.finish_row(
        report.make_row(
            Case("cnn", "CNN inference (no_grad)", "", None), {"torch": Timing([1.0]), "minigrad": Timing([1.5])}
        )
    )
    assert slow["meets_target"] is False and slow["kernels_speedup"] is None
    text = report.table([row, slow])
    assert "MISSED" in text and "0.50" in text
    paths = report.write(str(tmp_path), [row, slow], {"cpu": "x"}, ["a note"], {"settings": {}})
    data = json.loads((tmp_path / "results.json").read_text())
    assert [r["name"] for r in data["rows"]] == ["CNN training step", "CNN inference (no_grad)"]
    md = (tmp_path / "results.md").read_text()
    assert "| cnn | CNN training step |" in md and "a note" in md
    assert str(tmp_path / "results.md") in paths


def test_openblas_restart_refuses_after_numpy_import(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.delenv("_MINIGRAD_BENCH_REEXEC", raising=False)
    with pytest.raises(RuntimeError, match="before numpy"):
        restart_without_openblas_overrides([])
    monkeypatch.delenv("OPENBLAS_CORETYPE")
    monkeypatch.delenv("OPENBLAS_L2_SIZE", raising=False)
    restart_without_openblas_overrides([])  # nothing to remove: returns


def test_quick_run_end_to_end(tmp_path, shared_data, capsys):
    args = parse_args(
        [
            "--quick",
            "--out",
            str(tmp_path),
            "--no-memory",
            "--threads",
            "1",
            "--reps",
            "1",
            "--data",
            str(shared_data / "sample.csv"),
            "--max-len",
            "24",
            "--clock",
            "cpu",
        ]
    )
    assert run(args) == 0
    out = capsys.readouterr().out
    assert "minigrad/torch" in out and "numba warm-up" in out and "blocks:" in out
    data = json.loads((tmp_path / "results.json").read_text())
    names = {r["name"] for r in data["rows"]}
    for expected in (
        "dispatch: 20 ops fwd+bwd",
        "conv1d fwd+bwd",
        "embedding fwd+bwd",
        "Adam step (CNN params)",
        "CNN training step",
        "CNN inference (no_grad)",
        "DataLoader epoch, bucketed batches",
    ):
        assert expected in names, (expected, data["notes"])
    assert "adam_update" in names and "col2im (conv1d backward)" in names  # the kernels on their own
    for r in data["rows"]:
        for lib in ("torch", "minigrad", "minigrad[numpy]")[(r["group"] == "kernel") :]:  # kernels: minigrad only
            v = r["value"].get(lib)
            assert v is not None and v > 0 and math.isfinite(v), (r["name"], lib, data["notes"])
    assert data["machine"]["threads"]["torch.get_num_threads()"] == 1
    buck = data["bucketing"]
    assert buck["bucketed"]["padded_positions"] <= buck["random"]["padded_positions"]
    assert buck["random"]["real_residues"] == buck["bucketed"]["real_residues"]
    assert (tmp_path / "results.md").exists()


def test_missing_data_file_is_reported(tmp_path, capsys):
    args = parse_args(["--quick", "--data", str(tmp_path / "nope.csv")])
    assert run(args) == 2
    assert "not found" in capsys.readouterr().out


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="peak memory needs Linux /proc")
def test_memory_measure_in_process(shared_data):
    ctx = Context(batch=2, n_batches=1, max_len=16, data=str(shared_data / "sample.csv"))
    res = memory.measure("minigrad", ctx, steps=1)
    assert res["lib"] == "minigrad" and res["padded_length"] <= 16
    assert res["peak_extra_mib"] is not None and res["peak_extra_mib"] >= 0
