"""`python -m parity` (the main job) end to end on tiny settings, and the report writers."""

import json
import pathlib

import pytest

from parity.__main__ import main
from parity.report import atomic_write_text, lockstep_table

TINY = [
    "--n-synthetic",
    "48",
    "--max-len",
    "48",
    "--steps",
    "3",
    "--steps32",
    "2",
    "--lockstep-batch-size",
    "4",
    "--batch-size",
    "16",
    "--quiet",
]


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


@pytest.mark.parametrize("flag,expect", [([], ["winograd", "auto"]), (["--conv", "im2col"], ["im2col", "im2col"])])
def test_conv_algorithm_per_run(flag, expect, tmp_path, monkeypatch):
    """By default the float64 lockstep checks Winograd exactly and the float32 one and training keep the
    library's default; ``--conv`` sets one algorithm for all. Each run is reported."""
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
    code = main([*TINY, "--no-train", "--dtype", "float32", "--tol32", "1e-15", "--no-plots", "--out", str(tmp_path)])
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
    code = main(
        [
            "--data",
            str(shared_data / "sample.csv"),
            "--limit",
            "40",
            "--max-len",
            "48",
            "--no-train",
            "--steps",
            "2",
            "--dtype",
            "float64",
            "--lockstep-batch-size",
            "4",
            "--no-plots",
            "--quiet",
            "--out",
            str(tmp_path),
        ]
    )
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
    from parity.lockstep import KINDS

    row = {
        "dtype": "float64",
        "device": "cpu",
        "mode": "lockstep",
        "steps_run": 5,
        "bounds": dict.fromkeys(KINDS, 1e-9),
        **{f"{k}_max_rel": 1e-16 for k in KINDS},
        **{f"{k}_worst": f"{k} (1)" for k in KINDS},
        "param_max_rel": 4e-14,
        "param_worst": "param:fc (4)",
    }
    table = lockstep_table([row])
    assert "param:fc (4)" in table and "PASS" in table and "4.00e-14" in table


def test_splits_and_fasta_input(tmp_path, capsys):
    from solubility import make_synthetic

    recs = make_synthetic(40, seed=3, median_length=50, max_length=60)
    quick = [
        "--no-train",
        "--steps",
        "1",
        "--dtype",
        "float64",
        "--lockstep-batch-size",
        "4",
        "--no-plots",
        "--quiet",
        "--out",
        str(tmp_path / "o"),
    ]
    assert main([*TINY, "--split", "homology", *quick]) == 0
    assert "homology-aware" in capsys.readouterr().out
    csv = tmp_path / "parts.csv"
    csv.write_text(
        "id,sequence,label,partition\n"
        + "".join(f"{r.id},{r.sequence},{r.label},{i % 5}\n" for i, r in enumerate(recs))
    )
    assert main(["--data", str(csv), *quick]) == 0
    assert "by the data's partition column" in capsys.readouterr().out
    fasta, labels = tmp_path / "p.fasta", tmp_path / "labels.csv"
    fasta.write_text("".join(f">{r.id}\n{r.sequence}\n" for r in recs))
    labels.write_text("".join(f"{r.id},{r.label}\n" for r in recs))
    assert main(["--data", str(fasta), "--labels", str(labels), "--split", "stratified", *quick]) == 0
    assert "40 proteins, split stratified" in capsys.readouterr().out
    assert main(["--data", str(fasta), *quick]) == 2  # no labels anywhere
    assert "has no label" in capsys.readouterr().err


def _exit_code_and_stderr(argv, capsys):
    """main(argv)'s exit status (argparse errors exit through SystemExit) and what it wrote to stderr."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


def _assert_one_line_error(code, err, *expected, prefix="parity: error: "):
    assert code == 2, err
    assert err.startswith(prefix) and err.count("\n") == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in err, err


BAD_OPTIONS = [  # (arguments, what the message must name)
    (["--epochs", "0"], "argument --epochs: must be >= 1, got 0"),
    (["--epochs", "-2"], "argument --epochs: must be >= 1, got -2"),
    (["--epochs", "two"], "argument --epochs: must be a whole number, got 'two'"),
    (["--batch-size", "0"], "argument --batch-size: must be >= 1"),
    (["--batch-size", "-1"], "argument --batch-size: must be >= 1"),
    (["--lockstep-batch-size", "0"], "argument --lockstep-batch-size: must be >= 1"),
    (["--lockstep-batch-size", "-4"], "argument --lockstep-batch-size: must be >= 1"),
    # 0 lockstep steps would compare nothing and still say PASS; --no-lockstep is the way to skip it
    (["--steps", "0"], "argument --steps: must be >= 1, got 0"),
    (["--steps", "-1"], "argument --steps: must be >= 1, got -1"),
    (["--steps32", "0"], "argument --steps32: must be >= 1, got 0"),
    (["--max-len", "0"], "argument --max-len: must be >= 1, got 0"),
    (["--max-len", "-5"], "argument --max-len: must be >= 1"),
    (["--lockstep-max-len", "-1"], "argument --lockstep-max-len: must be >= 0, got -1"),
    (["--patience", "-1"], "argument --patience: must be >= 0"),
    (["--n-synthetic", "0"], "argument --n-synthetic: must be >= 1, got 0"),
    (
        ["--n-synthetic", "5"],
        "argument --n-synthetic: 5 proteins are too few to split into train/val/test; need at least 12",
    ),
    (["--seed", "-1"], "argument --seed: must be in [0, 4294967295], got -1"),
    (["--identity", "2"], "argument --identity: must be in (0, 1], got 2"),
    (["--identity", "0"], "argument --identity: must be in (0, 1], got 0"),
    (["--lr", "-1"], "argument --lr: must be >= 0, got -1"),
    (["--lr", "nan"], "argument --lr: must be a finite number, got 'nan'"),
    (["--tol64", "0"], "argument --tol64: must be > 0, got 0"),
    (["--threshold", "nan"], "argument --threshold: must be a finite number, got 'nan'"),
    (["--threshold", "0.5"], "--threshold applies to a --data file"),
    (["--labels", "l.csv"], "--labels applies to a --data file"),
    (["--limit", "20"], "--limit applies to a --data file"),
    (["--no-such-option"], "unrecognized arguments: --no-such-option"),
    (["--data", ""], "argument --data: empty file name"),
    (["--data", "x.csv", "--labels", ""], "argument --labels: empty file name"),
]


@pytest.mark.parametrize("argv, expected", BAD_OPTIONS, ids=[" ".join(a) for a, _ in BAD_OPTIONS])
def test_bad_option_is_one_line_exit_2(argv, expected, tmp_path, capsys):
    code, err = _exit_code_and_stderr([*argv, "--out", str(tmp_path)], capsys)
    _assert_one_line_error(code, err, expected)


def test_out_must_be_a_writable_folder(tmp_path, capsys):
    a_file = tmp_path / "report.txt"
    a_file.write_text("not a folder")
    code, err = _exit_code_and_stderr(["--out", str(a_file)], capsys)
    _assert_one_line_error(code, err, f"argument --out: {a_file} is a file, not a folder")
    code, err = _exit_code_and_stderr(["--out", str(a_file / "sub")], capsys)
    _assert_one_line_error(code, err, f"argument --out: {a_file} (in {a_file / 'sub'}) is not a folder")
    code, err = _exit_code_and_stderr(["--out", ""], capsys)  # not the current folder
    _assert_one_line_error(code, err, "argument --out: empty file name")


def test_out_in_a_read_only_folder(tmp_path, capsys, monkeypatch):
    import os

    import parity.__main__ as cli

    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.geteuid() == 0:  # root may write anywhere: make the permission check answer as for a user
        monkeypatch.setattr(cli.os, "access", lambda path, mode: pathlib.Path(path) != locked)
    code, err = _exit_code_and_stderr(["--out", str(locked / "rep")], capsys)
    _assert_one_line_error(code, err, f"argument --out: cannot write in {locked}")


def _rows(labels):
    return "id,sequence,label\n" + "".join(f"p{i},MKVLLAGW{'ACDE'[i % 4]},{y}\n" for i, y in enumerate(labels))


# should a check regress, the run these tests expect to be refused stays short
CHEAP = ["--steps", "1", "--steps32", "1", "--epochs", "1", "--no-plots", "--quiet"]

BAD_FILES = [  # (file name, content, what the message must name)
    ("random.csv", bytes(range(128, 256)) * 3, "random.csv:1: the data file is not UTF-8 text"),
    ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "image.csv:1: the data file is not UTF-8 text"),
    ("utf16.csv", _rows([0, 1] * 8).encode("utf-16"), "utf16.csv: the data file is UTF-16 text, not UTF-8"),
    (
        "latin1.csv",
        _rows([0, 1] * 8).replace("p3,", "\u00e93,").encode("latin-1"),
        "latin1.csv:5: the data file is not UTF-8 text (byte 0xe9",
    ),
    ("empty.csv", b"", "empty.csv:1: empty file"),
    ("noseq.csv", b"id,protein,label\nx,MKV,1\n", "noseq.csv:1: no 'sequence' column"),
    (
        "two.csv",
        _rows([0, 1]).encode(),
        "two.csv: 2 proteins are too few to split into train/val/test; need at least 12",
    ),
    ("oneclass.csv", _rows([1] * 30).encode(), "the dataset has label 1 only (30 proteins)"),
    (
        "nanlabel.csv",
        _rows([0, 1, 0, 1, 0, "nan"] + [0, 1] * 6).encode(),
        "nanlabel.csv:7: label must be 0 or 1, got 'nan'",
    ),
    (
        "dup.csv",
        (_rows([0, 1] * 8) + "p2,MKV,1\n").encode(),
        "dup.csv:18: duplicate id 'p2' (first at line 4, with label 0 there and 1 here)",
    ),
]


@pytest.mark.parametrize("name, content, expected", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_data_file_is_one_line_exit_2(name, content, expected, tmp_path, capsys):
    path = tmp_path / name
    path.write_bytes(content)
    code, err = _exit_code_and_stderr(["--data", str(path), *CHEAP, "--out", str(tmp_path / "o")], capsys)
    _assert_one_line_error(code, err, expected)


def test_data_directory_limit_and_threshold(tmp_path, capsys):
    code, err = _exit_code_and_stderr(["--data", str(tmp_path), "--out", str(tmp_path / "o")], capsys)
    _assert_one_line_error(code, err, f"{tmp_path}: is a directory, not a data file")
    data = tmp_path / "d.csv"
    data.write_text(_rows([0, 1] * 10))
    code, err = _exit_code_and_stderr(["--data", str(data), "--limit", "1", "--out", str(tmp_path / "o")], capsys)
    _assert_one_line_error(code, err, "argument --limit: 1 proteins are too few", "need at least 12")
    scored = tmp_path / "s.csv"
    scored.write_text(_rows([0.2, 0.8, 0.2, 0.8, "inf"] + [0.2, 0.8] * 8))
    code, err = _exit_code_and_stderr(
        ["--data", str(scored), "--threshold", "0.5", *CHEAP, "--out", str(tmp_path)], capsys
    )
    _assert_one_line_error(code, err, "s.csv:6: label 'inf' is not a finite number")


def test_a_part_with_one_class_is_refused_before_training(tmp_path, capsys):
    """One positive among 14 proteins: a stratified split cannot give every part both classes."""
    data = tmp_path / "rare.csv"
    data.write_text(_rows([0] * 13 + [1]))
    code, err = _exit_code_and_stderr(["--data", str(data), *CHEAP, "--out", str(tmp_path / "o")], capsys)
    _assert_one_line_error(code, err, "--split stratified: the ", " part has label 0 only")


def test_fasta_and_labels_with_byte_order_mark_load(tmp_path):
    from parity.__main__ import _parser, load_dataset
    from solubility import make_synthetic

    recs = make_synthetic(24, seed=1, median_length=50, max_length=60)
    fasta, labels = tmp_path / "bom.fasta", tmp_path / "bom_labels.csv"
    fasta.write_text("".join(f">{r.id}\n{r.sequence}\n" for r in recs), encoding="utf-8-sig")
    labels.write_text("id,label\n" + "".join(f"{r.id},{r.label}\n" for r in recs), encoding="utf-8-sig")
    args = _parser().parse_args(["--data", str(fasta), "--labels", str(labels)])
    ds, (tr, va, te), info = load_dataset(args)
    assert [r.id for r in ds.records] == [r.id for r in recs] and ds.labels.tolist() == [r.label for r in recs]
    assert info["n"] == 24 and len(tr) + len(va) + len(te) == 24


@pytest.mark.parametrize("lr", ["-1", "-1e-9", "0", "1e-3"])
def test_lr_is_accepted_exactly_when_torch_adam_accepts_it(lr):
    import torch

    from parity.__main__ import _parser

    try:
        torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=float(lr))
        torch_accepts = True
    except ValueError:
        torch_accepts = False
    try:
        _parser().parse_args(["--lr", lr])
        we_accept = True
    except SystemExit:
        we_accept = False
    assert we_accept == torch_accepts


def test_command_line_errors_in_a_real_process(tmp_path):
    """What a user sees: exit status 2 and exactly one line on stderr, nothing on stdout."""
    import os
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    for argv, expected in (
        (["--epochs", "0"], "parity: error: argument --epochs: must be >= 1, got 0"),
        (["--data", str(tmp_path)], f"parity: error: {tmp_path}: is a directory"),
        (["swap", str(tmp_path)], f"parity swap: error: {tmp_path} is a directory"),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "parity", *argv, "--out", str(tmp_path / "o")],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 2 and proc.stdout == "", proc
        assert proc.stderr.startswith(expected) and proc.stderr.count("\n") == 1, proc.stderr
