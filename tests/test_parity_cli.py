"""`python -m parity` (the main job) end to end on tiny settings, and the report writers."""
import json

import pytest

from parity.__main__ import main
from parity.report import atomic_write_text, lockstep_table

TINY = ["--n-synthetic", "48", "--max-len", "48", "--steps", "3", "--steps32", "2", "--lockstep-batch-size", "4",
        "--batch-size", "16", "--quiet"]


def test_main_job_writes_tables_report_and_plots(tmp_path, capsys):
    out = tmp_path / "rep"
    assert main([*TINY, "--epochs", "2", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "Lockstep" in stdout and "Independent training" in stdout and "parity: PASS" in stdout
    for name in ("report.json", "report.md", "loss_curves.png", "divergence.png", "roc.png"):
        assert (out / name).stat().st_size > 0, name
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left
    rep = json.loads((out / "report.json").read_text())
    assert rep["ok"] is True
    assert [s["dtype"] for s in rep["lockstep"]] == ["float64", "float32"]
    assert [s["steps_run"] for s in rep["lockstep"]] == [3, 2]
    assert rep["lockstep"][0]["max_rel"] <= 1e-9
    for lib in ("torch", "minigrad"):
        m = rep["train"][lib]["test_metrics"]
        assert set(m) >= {"accuracy", "precision", "recall", "f1", "roc_auc", "mcc", "confusion"}
        assert 1 <= len(rep["train"][lib]["history"]) <= 2
    md = (out / "report.md").read_text()
    assert "| dtype |" in md and "![roc.png](roc.png)" in md and "Verdict: **PASS**" in md


@pytest.mark.parametrize("flag,expect", [([], ["winograd", "im2col"]), (["--conv", "auto"], ["auto", "auto"])])
def test_conv_algorithm_per_run(flag, expect, tmp_path, monkeypatch):
    """By default the float64 lockstep checks Winograd exactly and the float32 one runs im2col; training
    keeps the library's default; ``--conv`` sets one algorithm for all. Each run is reported."""
    import minigrad
    from parity import train as train_mod

    real, seen = train_mod.train_both, []

    def spy(*args, **kwargs):
        seen.append(minigrad.backends.conv.algorithm)
        return real(*args, **kwargs)

    monkeypatch.setattr(train_mod, "train_both", spy)
    before = minigrad.backends.conv.algorithm
    assert main([*TINY, *flag, "--epochs", "1", "--no-plots", "--out", str(tmp_path)]) == 0
    rep = json.loads((tmp_path / "report.json").read_text())
    assert [s["conv"] for s in rep["lockstep"]] == expect
    assert seen == [flag[1] if flag else "auto"]
    assert minigrad.backends.conv.algorithm == before


def test_divergence_exits_nonzero_naming_step_and_tensor(tmp_path, capsys):
    code = main([*TINY, "--no-train", "--dtype", "float32", "--tol32", "1e-15", "--no-shadow", "--no-plots", "--out",
                 str(tmp_path)])
    assert code == 1
    err = capsys.readouterr().err
    assert "parity: FAIL: float32: step 1: " in err and "diverged" in err
    rep = json.loads((tmp_path / "report.json").read_text())
    assert rep["ok"] is False and rep["lockstep"][0]["first_divergence"].startswith("step 1: ")


def test_bad_data_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,sequence,label\nx,MKV,1\ny,MK*,0\n")
    assert main(["--data", str(bad), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "bad.csv:3: record y: position 3" in capsys.readouterr().err


def test_real_data_with_limit(shared_data, tmp_path, capsys):
    code = main(["--data", str(shared_data / "sample.csv"), "--limit", "40", "--max-len", "48", "--no-train",
                 "--steps", "2", "--dtype", "float64", "--lockstep-batch-size", "4", "--no-plots", "--quiet",
                 "--out", str(tmp_path)])
    assert code == 0
    assert "sample.csv (stratified subset of 40)" in capsys.readouterr().out


def test_cuda_is_skipped_with_a_message_when_absent(tmp_path, capsys):
    from parity.lockstep import device_available

    ok, why = device_available("cuda")
    if ok:
        pytest.skip("a GPU is present; the GPU path is covered by the gpu-marked lockstep test")
    assert main(["--device", "cuda", "--out", str(tmp_path)]) == 0
    assert "SKIPPED --device cuda" in capsys.readouterr().out


def test_atomic_write_and_table(tmp_path):
    target = tmp_path / "sub" / "x.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two" and [p.name for p in target.parent.iterdir()] == ["x.txt"]
    row = {"dtype": "float64", "device": "cpu", "steps_run": 5, "loss_max_rel": 1e-16, "logits_max_rel": 2e-15,
           "grad_max_rel": 3e-15, "param_max_rel": 4e-14, "worst_tensor": "param:fc.bias", "worst_step": 4,
           "tolerance": 1e-9, "ok": True}
    table = lockstep_table([row])
    assert "param:fc.bias (4)" in table and "PASS" in table and "4.00e-14" in table


def test_splits_and_fasta_input(tmp_path, capsys):
    from solubility import make_synthetic

    recs = make_synthetic(40, seed=3, median_length=50, max_length=60)
    quick = ["--no-train", "--steps", "1", "--dtype", "float64", "--lockstep-batch-size", "4", "--no-plots",
             "--quiet", "--out", str(tmp_path / "o")]
    assert main([*TINY, "--split", "homology", *quick]) == 0
    assert "homology-aware" in capsys.readouterr().out
    csv = tmp_path / "parts.csv"
    csv.write_text("id,sequence,label,partition\n" + "".join(f"{r.id},{r.sequence},{r.label},{i % 5}\n"
                                                              for i, r in enumerate(recs)))
    assert main(["--data", str(csv), *quick]) == 0
    assert "by the data's partition column" in capsys.readouterr().out
    fasta, labels = tmp_path / "p.fasta", tmp_path / "labels.csv"
    fasta.write_text("".join(f">{r.id}\n{r.sequence}\n" for r in recs))
    labels.write_text("".join(f"{r.id},{r.label}\n" for r in recs))
    assert main(["--data", str(fasta), "--labels", str(labels), "--split", "stratified", *quick]) == 0
    assert "40 proteins, split stratified" in capsys.readouterr().out
    assert main(["--data", str(fasta), *quick]) == 2  # no labels anywhere
    assert "has no label" in capsys.readouterr().err
