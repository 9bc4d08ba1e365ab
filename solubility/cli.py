"""``python -m solubility train|predict|evaluate``: train a solubility model, predict, evaluate.

    python -m solubility train --data val.csv,netsolp_psi_biology.csv --out runs/default
    python -m solubility predict --checkpoint runs/default --data my_proteins.fasta --out preds.csv
    python -m solubility evaluate --checkpoint runs/default --data runs/default/heldout.csv --out runs/default/eval

A run directory holds ``config.json`` (everything needed to rebuild the model and its features),
``model_<i>.mgt`` (one checkpoint per ensemble member, minigrad's safe format), ``report.json`` and
``curves.png`` (training history and the held-out figures) and ``heldout.csv`` (the proteins never
trained on). Usage errors (a bad option, a missing or malformed file) print one line naming the
option or the file and exit with status 2.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pathlib
import sys
import time

import numpy as np

from .encoding import SequenceError, encode
from .readers import DataFormatError, Record, _read_text, read_records

__all__ = ["main", "UsageError", "read_sequences", "load_run"]

PRED_THRESHOLD = 0.5


class UsageError(Exception):
    """A bad option or input file: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of argparse's usage block
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _positive_int(name):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be >= 1, got {value}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    from .train import DEFAULT_RECIPE, RECIPES

    p = _Parser(prog="python -m solubility", description="Protein solubility (E. coli) with minigrad.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    t = sub.add_parser("train", help="train a model; the first --data file is the target distribution")
    t.add_argument("--data", required=True, help="A.csv[,B.csv|.fasta]: the first file's labels are predicted")
    t.add_argument("--out", required=True, help="run directory to create (or reuse with --overwrite)")
    t.add_argument("--model", default=DEFAULT_RECIPE, choices=sorted(RECIPES), help=f"default {DEFAULT_RECIPE}")
    t.add_argument("--epochs", type=_positive_int("--epochs"), help="default: the recipe's")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--ensemble", type=_positive_int("--ensemble"),
                   help="members to average, seeds --seed, --seed + 1, ...; a mixed recipe cycles through its "
                        "kinds (default: the recipe's)")  # fmt: skip
    t.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    t.add_argument("--library", default="minigrad", choices=["minigrad", "torch"], help="torch: the twin check")
    t.add_argument("--threads", type=_positive_int("--threads"), help="BLAS threads (default: as the environment)")
    t.add_argument("--heldout-fraction", type=float, default=0.2, help="of the first file, never trained on")
    t.add_argument("--overwrite", action="store_true", help="allow an existing non-empty --out directory")
    pr = sub.add_parser("predict", help="write id,probability,label for every sequence")
    pr.add_argument("--checkpoint", required=True, help="a run directory written by train")
    pr.add_argument("--data", required=True, help="FILE.csv (a sequence column) or FILE.fasta; labels not needed")
    pr.add_argument("--out", required=True, help="output CSV")
    pr.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    e = sub.add_parser("evaluate", help="metrics with bootstrap intervals, ROC and PR plots")
    e.add_argument("--checkpoint", required=True, help="a run directory written by train")
    e.add_argument("--data", required=True, help="labelled CSV or FASTA")
    e.add_argument("--out", help="directory for metrics.json, roc.png, pr.png, predictions.csv")
    e.add_argument("--bootstrap", type=_positive_int("--bootstrap"), default=1000, help="resamples (default 1000)")
    e.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    return p


# ---------------------------------------------------------------- inputs


def _existing_file(path: str, option: str) -> pathlib.Path:
    p = pathlib.Path(path)
    if not p.exists():
        raise UsageError(f"{option}: no such file: {p}")
    if p.is_dir():
        raise UsageError(f"{option}: {p} is a directory, not a file")
    return p


def _read_labelled(path: str, option: str) -> list[Record]:
    p = _existing_file(path, option)
    try:
        return read_records(p)
    except (DataFormatError, SequenceError, ValueError) as exc:
        raise UsageError(f"{option}: {exc}") from None


def read_sequences(path) -> list[Record]:
    """Sequences with ids from a CSV (``sequence`` column, ``id`` optional) or FASTA; labels optional (-1)."""
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix in (".fasta", ".fa", ".faa", ".fas"):
        return _fasta_sequences(path)
    if suffix not in (".csv", ".tsv", ".txt"):
        raise ValueError(f"{path}: unknown data format {suffix!r}; use .csv, .tsv, .fasta, .fa or .faa")
    rows = list(csv.reader(_read_text(path).splitlines(), delimiter="\t" if suffix == ".tsv" else ","))
    if not rows or "sequence" not in [h.strip() for h in rows[0]]:
        raise DataFormatError(f"{path}:1: the header must have a 'sequence' column")
    header = [h.strip() for h in rows[0]]
    i_seq = header.index("sequence")
    i_id = header.index("id") if "id" in header else None
    out, seen = [], {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise DataFormatError(f"{path}:{line}: expected {len(header)} fields, got {len(row)}")
        rec_id = row[i_id].strip() if i_id is not None else f"line{line}"
        if rec_id in seen:
            raise DataFormatError(f"{path}:{line}: duplicate id {rec_id!r} (first at line {seen[rec_id]})")
        seen[rec_id] = line
        seq = row[i_seq].strip()
        encode(seq, record=f"{rec_id} ({path}:{line})")
        out.append(Record(rec_id, seq.upper(), -1))
    if not out:
        raise DataFormatError(f"{path}: no data rows after the header")
    return out


def _fasta_sequences(path: pathlib.Path) -> list[Record]:
    out, seen, cur = [], {}, None

    def finish():
        rec_id, line, chunks = cur
        seq = "".join(chunks)
        encode(seq, record=f"{rec_id} ({path}:{line})")
        out.append(Record(rec_id, seq.upper(), -1))

    for line, raw in enumerate(_read_text(path).splitlines(), start=1):
        text = raw.strip()
        if not text or text.startswith(";"):
            continue
        if text.startswith(">"):
            if cur is not None:
                finish()
            rec_id = text[1:].split()[0] if text[1:].strip() else ""
            if not rec_id:
                raise DataFormatError(f"{path}:{line}: header line without an id")
            if rec_id in seen:
                raise DataFormatError(f"{path}:{line}: duplicate id {rec_id!r} (first at line {seen[rec_id]})")
            seen[rec_id] = line
            cur = (rec_id, line, [])
        elif cur is None:
            raise DataFormatError(f"{path}:{line}: sequence data before the first '>' header")
        else:
            cur[2].append(text)
    if cur is not None:
        finish()
    if not out:
        raise DataFormatError(f"{path}: no FASTA records")
    return out


# ---------------------------------------------------------------- library, threads, devices


def _library(name: str, device: str, threads):
    if threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    if name == "torch":
        import torch as lib

        if threads is not None:
            lib.set_num_threads(threads)
    else:
        import minigrad as lib
    if device == "cuda" and not lib.cuda.is_available():
        raise UsageError(f"--device cuda: no CUDA device is available to {name}")
    return lib, (None if device == "cpu" else device)


def _progress(iterable, **kwargs):
    from tqdm import tqdm

    return tqdm(iterable, leave=False, mininterval=1.0, file=sys.stderr, **kwargs)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- train


def _prepare_out(path: str, overwrite: bool) -> pathlib.Path:
    out = pathlib.Path(path)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out: {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise UsageError(f"--out: {out} is not empty (pass --overwrite to reuse it)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out: cannot create {out}: {exc.strerror or exc}") from None
    return out


def cmd_train(args) -> int:
    from . import train as T
    from .evaluate import bootstrap_metrics, plot_history, scores
    from .serialize import save_member

    if not 0 < args.heldout_fraction < 0.5:
        raise UsageError(f"--heldout-fraction must be in (0, 0.5), got {args.heldout_fraction}")
    paths = [s.strip() for s in args.data.split(",") if s.strip()]
    if not paths:
        raise UsageError("--data: no file given")
    sources = [_read_labelled(p, "--data") for p in paths]
    if len({r.label for r in sources[0]}) < 2:
        raise UsageError(f"--data: {paths[0]} holds only one class; a model cannot learn from it")
    out = _prepare_out(args.out, args.overwrite)
    lib, device = _library(args.library, args.device, args.threads)
    cfg = T.train_config(args.model, epochs=args.epochs, seed=args.seed, ensemble=args.ensemble)
    cfg.update(library=args.library, data=paths, heldout_fraction=args.heldout_fraction)
    t0, cpu0 = time.perf_counter(), time.process_time()
    try:
        splits = T.make_splits(sources, heldout_fraction=args.heldout_fraction)
    except ValueError as exc:  # too few proteins of a class to stratify
        raise UsageError(f"--data: {paths[0]}: cannot split into train, validation and held-out parts: {exc}") from None
    members = T.member_configs(cfg)
    cfg["features"] = any(m["features"] for m in members)  # computed once, for the members that use them
    batcher = T.Batcher(splits.records, splits.source, max_len=cfg["max_len"], with_features=cfg["features"])
    if cfg["features"]:
        cfg["scaler"] = batcher.fit_scaler(splits.train).to_dict()
    cfg["heads"] = 1 if cfg.get("shared_head") else int(splits.source.max()) + 1
    _log(
        f"train {len(splits.train)} proteins ({len(paths)} source(s)), validation {len(splits.valid)}, "
        f"held out {len(splits.heldout)} (auxiliary duplicates of held-out/validation sequences dropped: "
        f"{splits.dropped_aux})"
    )
    histories, probs, valid_probs = [], [], []
    for member, member_cfg in enumerate(members):
        pool = member_cfg["arch"].get("pool")
        kind = member_cfg["model"] + (f" ({pool} pooling)" if pool else "")
        _log(f"member {member + 1}/{len(members)}: {kind} with {args.library}, seed {member_cfg['seed']}")
        model, hist = T.train_one(lib, batcher, splits, member_cfg, device=device, progress=_progress, log=_log)
        save_member(out / f"model_{member}.mgt", T.state_arrays(model))
        histories.append(hist)
        probs.append(T.predict_proba(lib, model, batcher, splits.heldout, device=device))
        valid_probs.append(T.predict_proba(lib, model, batcher, splits.valid, device=device))
    cfg["members"] = members
    cfg["threshold"] = T.choose_threshold(batcher.data.labels[splits.valid], np.mean(valid_probs, axis=0))
    wall = time.perf_counter() - t0
    y = batcher.data.labels[splits.heldout]
    p = np.mean(probs, axis=0)
    heldout = bootstrap_metrics(y, p, threshold=cfg["threshold"], n_boot=200)
    heldout_at_half = scores(y, p, threshold=0.5)
    cfg["arch"] = _arch_of(cfg)
    (out / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")
    _write_records(out / "heldout.csv", [splits.records[i] for i in splits.heldout])
    report = {
        "wall_seconds": wall,
        "cpu_seconds": time.process_time() - cpu0,  # all threads; unlike wall time, not inflated by other jobs
        "load_average": os.getloadavg(),
        "history": histories,
        "heldout": heldout,
        "heldout_at_0.5": heldout_at_half,
        "threshold": cfg["threshold"],
        "heldout_n": len(y),
        "members": cfg["ensemble"],
    }
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    plot_history(histories, out / "curves.png")
    h = heldout
    _log(
        f"held-out ({len(y)} proteins of {paths[0]}): accuracy {h['accuracy']['value']:.4f}, MCC "
        f"{h['mcc']['value']:.4f}, ROC-AUC {h['roc_auc']['value']:.4f} (threshold {cfg['threshold']:.2f}, chosen "
        f"on the validation part); {wall / 60:.1f} min; wrote {out}"
    )
    return 0


def _arch_of(cfg: dict) -> dict:
    from .models import DEFAULTS

    return {**DEFAULTS[cfg["model"]], **cfg.get("arch", {})}


def _write_records(path: pathlib.Path, records) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "sequence", "label"])
        for r in records:
            w.writerow([r.id, r.sequence, r.label])


# ---------------------------------------------------------------- predict, evaluate


def load_run(directory: str, device: str = "cpu"):
    """``(config, [minigrad models])`` of a run directory, or a UsageError naming what is missing."""
    from .serialize import load_member

    run = pathlib.Path(directory)
    if not run.is_dir():
        raise UsageError(f"--checkpoint: {run} is not a run directory (train writes one with --out)")
    cfg_path = run / "config.json"
    if not cfg_path.is_file():
        raise UsageError(f"--checkpoint: {run} has no config.json; is it a run directory written by train?")
    try:
        cfg = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as exc:
        raise UsageError(f"--checkpoint: {cfg_path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    lib, dev = _library("minigrad", device, None)
    members = cfg.get("members") or [cfg] * int(cfg.get("ensemble", 1))  # runs written before members existed
    models = []
    for member, member_cfg in enumerate(members):
        path = run / f"model_{member}.mgt"
        if not path.is_file():
            raise UsageError(f"--checkpoint: {path} is missing (config.json lists {len(members)} members)")
        models.append(load_member(lib, {**cfg, **member_cfg}, path, dev))
    return cfg, models


def _predict(cfg, models, records, device) -> np.ndarray:
    import minigrad as lib

    from .features import FeatureScaler
    from .train import Batcher, predict_proba

    scaler = FeatureScaler.from_dict(cfg["scaler"]) if cfg["features"] else None
    batcher = Batcher(records, scaler=scaler, max_len=cfg["max_len"], with_features=cfg["features"])
    dev = None if device == "cpu" else device
    idx = np.arange(len(records))
    return np.mean([predict_proba(lib, m, batcher, idx, device=dev) for m in models], axis=0)


def cmd_predict(args) -> int:
    cfg, models = load_run(args.checkpoint, args.device)
    path = _existing_file(args.data, "--data")
    try:
        records = read_sequences(path)
    except (DataFormatError, SequenceError, ValueError) as exc:
        raise UsageError(f"--data: {exc}") from None
    p = _predict(cfg, models, records, args.device)
    threshold = cfg.get("threshold", PRED_THRESHOLD)
    out = pathlib.Path(args.out)
    if out.is_dir():
        raise UsageError(f"--out: {out} is a directory; give a file name such as preds.csv")
    try:
        with open(out, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["id", "probability", "label"])
            for r, prob in zip(records, p):
                w.writerow([r.id, f"{prob:.6f}", int(prob >= threshold)])
    except OSError as exc:
        raise UsageError(f"--out: cannot write {out}: {exc.strerror or exc}") from None
    _log(
        f"wrote {len(records)} predictions to {out} ({int((p >= threshold).sum())} predicted soluble, threshold "
        f"{threshold:.2f})"
    )
    return 0


def cmd_evaluate(args) -> int:
    from .evaluate import bootstrap_metrics, format_table, plot_curves

    cfg, models = load_run(args.checkpoint, args.device)
    records = _read_labelled(args.data, "--data")
    y = np.array([r.label for r in records])
    if len(np.unique(y)) < 2:
        raise UsageError(f"--data: {args.data} holds only one class; ROC-AUC and MCC need both")
    p = _predict(cfg, models, records, args.device)
    threshold = cfg.get("threshold", PRED_THRESHOLD)
    result = bootstrap_metrics(y, p, threshold=threshold, n_boot=args.bootstrap)
    print(f"{len(y)} proteins; a protein is predicted soluble when its probability >= {threshold:.2f}")
    print(format_table(result))
    if args.out:
        out = pathlib.Path(args.out)
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out: {out} exists and is not a directory")
        out.mkdir(parents=True, exist_ok=True)
        summary = {"n": len(y), "threshold": threshold, "metrics": result}
        (out / "metrics.json").write_text(json.dumps(summary, indent=1) + "\n")
        plot_curves(y, p, out, title=pathlib.Path(args.data).name)
        with open(out / "predictions.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["id", "probability", "label", "true_label"])
            w.writerows([r.id, f"{q:.6f}", int(q >= threshold), r.label] for r, q in zip(records, p))
        _log(f"wrote metrics.json, roc.png, pr.png and predictions.csv to {out}")
    return 0


COMMANDS = {"train": cmd_train, "predict": cmd_predict, "evaluate": cmd_evaluate}


def main(argv=None) -> int:
    """Run the CLI; returns the exit status (2 for usage errors, printed as one line)."""
    try:
        args = _parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
