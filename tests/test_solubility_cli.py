"""``python -m solubility``: one-line usage errors with exit status 2, and a train -> predict -> evaluate
round trip on tiny synthetic data (1 epoch; no file from ../shared is needed)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from solubility.cli import main, read_sequences
from solubility.synthetic import make_synthetic


def _write_csv(path, records):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "sequence", "label"])
        for r in records:
            w.writerow([r.id, r.sequence, r.label])
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("sol")
    recs = make_synthetic(120, seed=3, median_length=50, max_length=90)
    aux = make_synthetic(40, seed=4, median_length=50, max_length=90)
    for r in aux:
        r.id = "aux_" + r.id
    fasta = d / "query.fasta"
    fasta.write_text("".join(f">{r.id} some description\n{r.sequence[:30]}\n{r.sequence[30:]}\n" for r in recs[:7]))
    return {"target": _write_csv(d / "target.csv", recs), "aux": _write_csv(d / "aux.csv", aux), "fasta": fasta,
            "dir": d}  # fmt: skip


@pytest.fixture(scope="module")
def run_dir(data):
    out = data["dir"] / "run"
    rc = main(["train", "--data", f"{data['target']},{data['aux']}", "--out", str(out), "--epochs", "1"])
    assert rc == 0
    return out


def _one_error_line(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    assert err[0].startswith("error: ")
    return err[0]


@pytest.mark.parametrize(
    "argv, words",
    [
        (["train", "--out", "X"], ["--data"]),
        (["train", "--data", "missing.csv", "--out", "X"], ["--data", "no such file", "missing.csv"]),
        (["train", "--data", "{target}", "--out", "X", "--epochs", "0"], ["--epochs", ">= 1"]),
        (["train", "--data", "{target}", "--out", "X", "--epochs", "two"], ["--epochs", "whole number"]),
        (["train", "--data", "{target}", "--out", "X", "--model", "cnn9"], ["--model", "cnn9"]),
        (["train", "--data", "{target}", "--out", "{dir}"], ["--out", "not empty"]),
        (["train", "--data", "{target}", "--out", "X", "--heldout-fraction", "0.7"], ["--heldout-fraction"]),
        (["train", "--data", "{fasta}", "--out", "X"], ["--data", "query.fasta", "no label"]),
        (["predict", "--checkpoint", "{dir}", "--data", "{fasta}", "--out", "p.csv"], ["--checkpoint", "config.json"]),
        (["evaluate", "--checkpoint", "nowhere", "--data", "{target}"], ["--checkpoint", "nowhere"]),
        (["frobnicate"], ["frobnicate"]),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(data, capsys, argv, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [a.format(**{k: str(v) for k, v in data.items()}) for a in argv]
    assert main(argv) == 2
    line = _one_error_line(capsys)
    for w in words:
        assert w in line, line


def test_bad_sequence_names_file_and_line(data, run_dir, capsys, tmp_path):
    bad = tmp_path / "bad.fasta"
    bad.write_text(">ok\nMKV\n>broken\nMK1V\n")
    assert main(["predict", "--checkpoint", str(run_dir), "--data", str(bad), "--out", str(tmp_path / "p.csv")]) == 2
    line = _one_error_line(capsys)
    assert "bad.fasta:3" in line and "broken" in line and "'1'" in line


def test_train_writes_checkpoint_config_report(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.json", "model_0.mgt", "model_2.mgt", "report.json", "curves.png", "heldout.csv"} <= names
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["recipe"] == "ensemble" and cfg["ensemble"] == 3 and cfg["heads"] == 2 and cfg["epochs"] == 1
    # the default's three members: multicnn with max pooling, with k-max pooling, the k-mer model
    members = [(m["model"], m["arch"].get("pool"), m["seed"], m["epochs"]) for m in cfg["members"]]
    assert members == [("multicnn", "max", 0, 1), ("multicnn", "kmax", 1, 1), ("kmer", None, 2, 1)]
    report = json.loads((run_dir / "report.json").read_text())
    assert report["heldout_n"] == 24 and len(report["history"]) == 3  # 20 % of 120, one history per member
    heldout_ids = {r.id for r in read_sequences(run_dir / "heldout.csv")}
    assert len(heldout_ids) == 24 and not any(i.startswith("aux_") for i in heldout_ids)


def test_predict_writes_id_probability_label(run_dir, data, tmp_path):
    out = tmp_path / "preds.csv"
    assert main(["predict", "--checkpoint", str(run_dir), "--data", str(data["fasta"]), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["id", "probability", "label"]
    assert [r["id"] for r in rows] == [f"synth_{i:05d}" for i in range(1, 8)]
    p = np.array([float(r["probability"]) for r in rows])
    assert ((p > 0) & (p < 1)).all()
    threshold = json.loads((run_dir / "config.json").read_text())["threshold"]  # chosen on the validation part
    assert 0.2 <= threshold <= 0.8
    assert [int(r["label"]) for r in rows] == (p >= threshold).astype(int).tolist()
    # the same proteins from a CSV (with labels, which predict ignores) give the same probabilities
    out2 = tmp_path / "preds2.csv"
    assert main(["predict", "--checkpoint", str(run_dir), "--data", str(data["target"]), "--out", str(out2)]) == 0
    p2 = np.array([float(r["probability"]) for r in csv.DictReader(out2.open())][:7])
    np.testing.assert_allclose(p2, p, atol=2e-6)


def test_a_run_written_before_member_kinds_still_loads(run_dir, tmp_path):
    """Older config.json files have no ``members``: every member is the recipe's model."""
    import shutil

    from solubility.cli import load_run

    old = tmp_path / "old_run"
    shutil.copytree(run_dir, old)
    cfg = json.loads((old / "config.json").read_text())
    first = cfg.pop("members")[0]
    cfg.update(ensemble=1, arch=first["arch"])  # a one-member multicnn run, as the CLI used to write it
    (old / "config.json").write_text(json.dumps(cfg))
    _, (model,) = load_run(str(old))
    _, models = load_run(str(run_dir))  # the new kind: each member rebuilt from its own config
    assert [type(m).__name__ for m in models] == ["MultiKernelCNN", "MultiKernelCNN", "KmerBag"]
    assert (models[0].pool, models[1].pool) == ("max", "kmax")
    assert type(model).__name__ == "MultiKernelCNN" and model.pool == "max"
    for (name, a), (_, b) in zip(model.state_dict().items(), models[0].state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


def test_evaluate_reports_metrics_with_intervals(run_dir, tmp_path, capsys):
    out = tmp_path / "eval"
    argv = ["evaluate", "--checkpoint", str(run_dir), "--data", str(run_dir / "heldout.csv"), "--out", str(out)]
    assert main([*argv, "--bootstrap", "50"]) == 0
    printed = capsys.readouterr().out
    for k in ("accuracy", "precision", "recall", "f1", "mcc", "roc_auc", "pr_auc"):
        assert k in printed
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    for v in metrics.values():
        assert v["low"] <= v["value"] <= v["high"]
    assert {"roc.png", "pr.png", "predictions.csv"} <= {p.name for p in out.iterdir()}
    # train's report used the same held-out proteins and the same ensemble: same accuracy
    report = json.loads((run_dir / "report.json").read_text())
    assert metrics["accuracy"]["value"] == pytest.approx(report["heldout"]["accuracy"]["value"])


def test_module_entry_point_exits_2_on_usage_error():
    r = subprocess.run([sys.executable, "-m", "solubility", "train"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "--data" in r.stderr


def test_splits_hold_out_a_fixed_part_of_the_first_file_only():
    from solubility.train import make_splits

    target = make_synthetic(200, seed=5)
    aux = make_synthetic(30, seed=6)
    aux[0].sequence = target[0].sequence  # an auxiliary copy of a target protein
    a, b = make_splits([target, aux]), make_splits([target, aux[1:]])
    np.testing.assert_array_equal(a.heldout, b.heldout)  # the same proteins whatever else is given
    assert len(a.heldout) == 40 and len(a.valid) == 20
    assert not set(a.train) & set(a.heldout) and not set(a.train) & set(a.valid) and not set(a.valid) & set(a.heldout)
    assert a.source[a.heldout].max() == 0 and a.source[a.valid].max() == 0
    kept_out = {a.records[i].sequence for i in np.concatenate([a.heldout, a.valid])}
    assert not any(a.records[i].sequence in kept_out for i in a.train if a.source[i] == 1)
    assert a.dropped_aux == (1 if target[0].sequence in kept_out else 0)
    labels = np.array([r.label for r in target])
    assert abs(labels[a.heldout].mean() - labels.mean()) < 0.03  # stratified


def test_threshold_is_chosen_on_validation_accuracy_nearest_half_on_ties():
    from solubility.train import choose_threshold

    y = np.array([0, 0, 1, 1])
    assert choose_threshold(y, np.array([0.1, 0.2, 0.3, 0.4])) == pytest.approx(0.3)  # 0.21..0.30 tie: take 0.30
    assert choose_threshold(y, np.array([0.1, 0.2, 0.8, 0.9])) == pytest.approx(0.5)


def test_member_configs_cycle_through_a_recipes_kinds(monkeypatch):
    from solubility.models import DEFAULTS
    from solubility.train import _KMER as KMER_KIND
    from solubility.train import RECIPES, member_configs, train_config

    recipe = {"recipe": "r", "model": "multicnn", "arch": {"pool": "kmax"}, "features": True, "epochs": 6,
              "lr": 2e-3, "seed": 4, "ensemble": 3, "max_len": 100, "batch_size": 8,
              "members": [{}, {"model": "kmer", "features": False, "lr": 1e-2}]}  # fmt: skip
    cnn, kmer, cnn_again = member_configs(recipe)
    assert [m["seed"] for m in (cnn, kmer, cnn_again)] == [4, 5, 6]
    assert cnn["arch"] == {**DEFAULTS["multicnn"], "pool": "kmax"} and cnn["features"] and cnn["lr"] == 2e-3
    # another model starts from its own defaults, not the recipe's multicnn options
    assert kmer["model"] == "kmer" and kmer["arch"] == DEFAULTS["kmer"] and not kmer["features"] and kmer["lr"] == 1e-2
    assert cnn_again == {**cnn, "seed": 6} and "members" not in cnn and "ensemble" not in cnn
    with pytest.raises(ValueError, match="may not set max_len"):
        member_configs({**recipe, "members": [{"max_len": 50}]})
    # a command-line override reaches every member, also one whose kind sets the value itself
    monkeypatch.setitem(RECIPES, "mixed", {**RECIPES["ensemble"], "members": [{}, {**KMER_KIND, "epochs": 9}]})
    assert [m["epochs"] for m in member_configs(train_config("mixed"))] == [6, 9, 6]
    assert [m["epochs"] for m in member_configs(train_config("mixed", epochs=2))] == [2, 2, 2]
