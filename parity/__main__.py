"""``python -m parity``: the project's main job (``make run``).

With no arguments: build the embedded synthetic dataset, run the lockstep check (torch and minigrad
step by step, float64 then float32), train both libraries independently for a few epochs, print
the tables and write a report (Markdown, JSON, PNG plots) to ``--out``. The exit status is 0 when
every lockstep comparison is within tolerance, 1 when one diverged (the message names the first
tensor and step), 2 for bad arguments or data.

``python -m parity swap SCRIPT.py [args...]`` runs a PyTorch script with torch mapped to minigrad.
"""

from __future__ import annotations

import argparse
import math
import os
import pathlib
import sys
import time

import numpy as np

_EPILOG = """examples:
  python -m parity                                    # embedded data, lockstep + short training
  python -m parity --data ../shared/data/solubility/sample.csv --epochs 5
  python -m parity --data proteins.fasta --labels labels.csv --split homology
  python -m parity --dtype float64 --steps 200 --no-train
  python -m parity --device cuda                      # CuPy vs torch CUDA (skipped if unavailable)
  python -m parity swap my_torch_script.py --its-args
"""


class _OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a bad argument prints one line (``parity: error: ...``) instead of usage + error."""

    def error(self, message):
        self.exit(2, f"parity: error: {message} (see python -m parity --help)\n")


def _int_at_least(low: int, high: int | None = None):
    """An argparse ``type=`` for whole numbers in [low, high]; argparse adds the option's name to the error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    parse.__name__ = "int"
    return parse


def _finite_float(allowed=lambda value: True, bound: str = ""):
    """An argparse ``type=`` for finite numbers for which ``allowed(value)`` holds (``bound`` says which)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
        if not allowed(value):
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value

    parse.__name__ = "float"
    return parse


_POSITIVE = _int_at_least(1)
_NON_NEGATIVE = _int_at_least(0)
_FINITE = _finite_float()
_FRACTION = _finite_float(lambda v: 0 < v <= 1, "in (0, 1]")
_POSITIVE_FLOAT = _finite_float(lambda v: v > 0, "> 0")
_NON_NEGATIVE_FLOAT = _finite_float(lambda v: v >= 0, ">= 0")  # torch's Adam accepts lr=0, refuses lr<0


def _parser():
    p = _OneLineErrorParser(
        prog="python -m parity",
        description="minigrad vs torch parity suite (the protein-solubility CNN trained side by side)",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d = p.add_argument_group("data")
    d.add_argument("--data", help="CSV (id,sequence,label[,...]) or FASTA file; default: embedded synthetic data")
    d.add_argument("--labels", help="side file of id,label rows for a FASTA --data")
    d.add_argument("--threshold", type=_FINITE, help="read the label column as a number; label = value >= THRESHOLD")
    d.add_argument("--limit", type=_POSITIVE, help="use only this many proteins of --data (a stratified random subset)")
    d.add_argument("--n-synthetic", type=_POSITIVE, default=600, help="size of the embedded dataset (default 600)")
    d.add_argument("--max-len", type=_POSITIVE, help="truncate sequences to this many residues (default: keep all)")
    d.add_argument(
        "--ambiguous",
        choices=("substitute", "unknown", "error"),
        default="substitute",
        help="policy for B Z J U O X (see solubility.encoding; default substitute)",
    )
    d.add_argument(
        "--split",
        choices=("auto", "stratified", "homology", "partition"),
        default="auto",
        help="auto: the data's 'partition' column when present, else stratified (default auto)",
    )
    d.add_argument("--identity", type=_FRACTION, default=0.5, help="clustering identity for --split homology")
    r = p.add_argument_group("run")
    r.add_argument(
        "--device", default="cpu", choices=("cpu", "cuda"), help="cpu (NumPy vs torch) or cuda (CuPy vs torch CUDA)"
    )
    r.add_argument(
        "--dtype",
        default="both",
        choices=("float64", "float32", "both"),
        help="lockstep precision(s) (default both); training runs in float32 unless float64",
    )
    r.add_argument("--steps", type=_POSITIVE, default=200, help="lockstep steps for float64 (default 200)")
    r.add_argument(
        "--steps32",
        type=_POSITIVE,
        default=50,
        help="lockstep steps for float32 (teacher forcing: torch starts each step from minigrad's weights; default 50)",
    )
    r.add_argument("--lockstep-batch-size", type=_POSITIVE, default=4, help="lockstep batch size (default 4)")
    r.add_argument(
        "--lockstep-max-len",
        type=_NON_NEGATIVE,
        default=160,
        help="lockstep: cut sequences to this many residues to keep 200 steps fast (default 160; 0 = full length)",
    )
    r.add_argument("--epochs", type=_POSITIVE, default=4, help="training epochs per library (default 4)")
    r.add_argument("--batch-size", type=_POSITIVE, default=32, help="training batch size (default 32)")
    r.add_argument("--lr", type=_NON_NEGATIVE_FLOAT, default=1e-3, help="Adam learning rate (default 1e-3)")
    r.add_argument("--patience", type=_NON_NEGATIVE, default=3, help="early-stopping patience in epochs (default 3)")
    r.add_argument("--seed", type=_int_at_least(0, 2**32 - 1), default=0)
    r.add_argument(
        "--mask-after-conv",
        action="store_true",
        help="zero padded positions after each conv "
        "(removes the course model's padding leak; default off, faithful to the course)",
    )
    r.add_argument(
        "--conv",
        choices=("winograd", "auto", "im2col"),
        help="minigrad's CPU convolution algorithm (minigrad.backends.conv) for every run. Default: "
        "winograd for the float64 lockstep (checks, to 1e-9, the algorithm float32 training uses), "
        "auto (the library default, Winograd in float32) for the float32 lockstep and for training",
    )
    r.add_argument(
        "--tol64",
        type=_POSITIVE_FLOAT,
        help="float64 lockstep bound for every compared quantity (default 1e-9 relative)",
    )
    r.add_argument(
        "--tol32",
        type=_POSITIVE_FLOAT,
        help="float32 lockstep bound for every compared quantity "
        "(default: one measured bound per kind, see TOLERANCES in parity/lockstep.py)",
    )
    r.add_argument("--no-lockstep", action="store_true", help="skip the lockstep check")
    r.add_argument("--no-train", action="store_true", help="skip the independent training")
    o = p.add_argument_group("output")
    o.add_argument("--out", default="out/parity", help="report folder (default out/parity, git-ignored)")
    o.add_argument("--no-plots", action="store_true", help="do not draw PNG plots")
    o.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _check_args(parser, args) -> None:
    """Option combinations argparse cannot check alone; each problem exits 2 with one line."""
    from solubility.split import min_split_size

    for name in ("data", "labels", "out"):  # '' would silently mean the embedded data / the current folder
        if getattr(args, name) == "":
            parser.error(f"argument --{name}: empty file name")
    if not args.data:
        for name in ("labels", "threshold", "limit"):
            if getattr(args, name) is not None:
                parser.error(f"--{name} applies to a --data file (the embedded data is used without --data)")
    size_option = "limit" if args.data else "n_synthetic"  # the option that sets how many proteins are used
    n, need = getattr(args, size_option), min_split_size()
    if n is not None and n < need:
        parser.error(
            f"argument --{size_option.replace('_', '-')}: {n} proteins are too few to split into "
            f"train/val/test; need at least {need}"
        )
    problem = _unwritable_folder(args.out)
    if problem:
        parser.error(f"argument --out: {problem}")


def _unwritable_folder(out: str) -> str | None:
    """Why the report folder ``out`` cannot be created or written (checked before a long run), or None."""
    path = pathlib.Path(out)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder" if existing == path else f"{existing} (in {out}) is not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot write in {existing} (permission denied)"
    return None


def _read_data(args):
    """The records of ``--data`` (a stratified ``--limit`` subset when asked), or the embedded data."""
    from solubility import make_synthetic, read_records

    if not args.data:
        return make_synthetic(
            args.n_synthetic, seed=args.seed
        ), f"embedded synthetic data (solubility.synthetic, seed {args.seed})"
    kw = {"ambiguous": args.ambiguous}
    if args.threshold is not None:
        kw["threshold"] = args.threshold
    records = read_records(args.data, labels=args.labels, **kw)
    desc = args.data
    if args.limit and args.limit < len(records):
        from sklearn.model_selection import train_test_split

        labels = np.array([r.label for r in records])
        # stratify only when every class can be split (sklearn refuses a class with one member)
        stratify = labels if np.bincount(labels).min() >= 2 else None
        keep, _ = train_test_split(
            np.arange(len(records)), train_size=args.limit, stratify=stratify, random_state=args.seed
        )
        records = [records[i] for i in np.sort(keep)]
        desc += f" ({'stratified' if stratify is not None else 'random'} subset of {len(records)})"
    return records, desc


def load_dataset(args):
    """Records -> ProteinDataset, split indices, and a description for the report.

    Refuses (ValueError) data too small to split, data with one class, and, when training, a
    train/validation/test part with one class (training and ROC-AUC need both)."""
    from solubility import ProteinDataset
    from solubility.split import check_two_classes, homology_split, min_split_size, partition_split, stratified_split

    records, desc = _read_data(args)
    if len(records) < min_split_size():
        raise ValueError(
            f"{desc}: {len(records)} proteins are too few to split into train/val/test; "
            f"need at least {min_split_size()}"
        )
    ds = ProteinDataset(records, max_len=args.max_len, ambiguous=args.ambiguous)
    check_two_classes(ds.labels)
    split = args.split
    if split == "auto":
        split = "partition" if records and "partition" in records[0].extra else "stratified"
    if split == "partition":
        if "partition" not in records[0].extra:
            raise ValueError("--split partition: the data has no 'partition' column")
        tr, va, te = partition_split([r.extra["partition"] for r in records])
        how = "by the data's partition column (homology folds)"
    elif split == "homology":
        tr, va, te, clusters = homology_split(
            [r.sequence for r in records], ds.labels, identity=args.identity, seed=args.seed
        )
        how = f"homology-aware, {int(clusters.max()) + 1} clusters at identity {args.identity}"
    else:
        tr, va, te = stratified_split(ds.labels, seed=args.seed)
        how = "stratified random 80/10/10"
    if not args.no_train:
        try:
            check_two_classes(ds.labels, {"train part": tr, "validation part": va, "test part": te})
        except ValueError as exc:
            raise ValueError(f"--split {split}: {exc}") from None
    return (
        ds,
        (tr, va, te),
        {"description": desc, "n": len(ds), "split": how, "split_sizes": f"{len(tr)}/{len(va)}/{len(te)}"},
    )


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "swap":
        return _swap(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    import minigrad

    minigrad.config.malloc_tuning = True  # large activations stay in the heap between steps, for both libraries
    return _run(args)


# minigrad's convolution algorithm for each part of the run when --conv is not given (see --help)
DEFAULT_CONV = {"float64": "winograd", "float32": "auto", "train": "auto"}


def _conv(args, part: str):
    import minigrad

    return minigrad.backends.conv.use(args.conv or DEFAULT_CONV[part])


def _run(args) -> int:
    from .lockstep import device_available, run_lockstep
    from .report import lockstep_notes, lockstep_table, training_table, write_report
    from .train import train_both

    if args.device != "cpu":
        ok, why = device_available(args.device)
        if not ok:
            print(f"parity: SKIPPED --device {args.device}: {why}")
            return 0
    t0 = time.perf_counter()
    try:
        ds, (tr, va, te), data_info = load_dataset(args)
    except (ValueError, OSError) as exc:  # the readers' messages already name the file and line
        print(f"parity: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"data: {data_info['description']}: {data_info['n']} proteins, split {data_info['split']} "
        f"({data_info['split_sizes']})"
    )
    config = {k: v for k, v in vars(args).items() if v is not None and k not in ("quiet",)}
    report = {"config": config, "data": data_info, "lockstep": [], "train": None, "ok": True}
    failures = []
    if not args.no_lockstep:
        dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
        lock_ds = ds.subset(tr)
        if args.lockstep_max_len:
            lock_ds = lock_ds.truncated(args.lockstep_max_len)
        for dt in dtypes:
            tol = {"float64": args.tol64, "float32": args.tol32}[dt]  # None: the measured defaults
            steps = args.steps if dt == "float64" else args.steps32
            with _conv(args, dt):
                res = run_lockstep(
                    lock_ds,
                    steps=steps,
                    batch_size=args.lockstep_batch_size,
                    dtype=dt,
                    device=args.device,
                    seed=args.seed,
                    lr=args.lr,
                    mask_after_conv=args.mask_after_conv,
                    tolerance=tol,
                    progress=not args.quiet,
                )
            summary = res.summary()
            summary["conv"] = args.conv or DEFAULT_CONV[dt]
            summary["history"] = res.history
            report["lockstep"].append(summary)
            if not res.ok:
                failures.append(f"{dt}: {res.first_divergence}")
        print("\nLockstep: largest ||minigrad - torch|| / ||torch|| per compared kind over all steps, and its bound")
        print(lockstep_table(report["lockstep"]))
        print(lockstep_notes(report["lockstep"]))
    if not args.no_train:
        dt = "float64" if args.dtype == "float64" else "float32"
        with _conv(args, "train"):
            results = train_both(
                ds.subset(tr),
                ds.subset(va),
                ds.subset(te),
                epochs=args.epochs,
                batch_size=args.batch_size,
                lr=args.lr,
                seed=args.seed,
                patience=args.patience,
                dtype=dt,
                device=args.device,
                mask_after_conv=args.mask_after_conv,
                progress=not args.quiet,
            )
        report["train"] = {
            r.library: {
                "history": r.history,
                "best_epoch": r.best_epoch,
                "stopped_early": r.stopped_early,
                "test_metrics": r.test_metrics,
                "test_probs": r.test_probs,
                "test_labels": r.test_labels,
                "seconds": r.seconds,
            }
            for r in results
        }
        print(f"\nIndependent training ({dt}, same initial weights and data order, own dropout):")
        print(training_table(report["train"]))
    report["ok"] = not failures
    report["seconds"] = time.perf_counter() - t0
    files = write_report(report, args.out, plots=not args.no_plots)
    print(f"\nreport: {', '.join(f'{args.out}/{f}' for f in files)}  ({report['seconds']:.1f} s)")
    if failures:
        for f in failures:
            print(f"parity: FAIL: {f}", file=sys.stderr)
        return 1
    print("parity: PASS")
    return 0


def _swap(argv) -> int:
    from .swap import MissingTorchAPI, MissingTorchModule, ScriptError, check_script, run_script

    if not argv:
        print("parity swap: error: no script given (usage: python -m parity swap SCRIPT.py [args...])", file=sys.stderr)
        return 2
    if argv[0] in ("-h", "--help"):
        print(
            "usage: python -m parity swap SCRIPT.py [args...]\n\nRun a PyTorch script with `import torch` "
            "mapped to minigrad; a torch API minigrad lacks is reported by its torch name."
        )
        return 0
    try:
        check_script(argv[0])  # apart from run_script: an OSError raised by the script itself keeps its traceback
    except (OSError, ScriptError) as exc:
        print(f"parity swap: error: {exc}", file=sys.stderr)
        return 2
    try:
        run_script(argv[0], argv[1:])
    except (MissingTorchAPI, MissingTorchModule) as exc:
        print(f"parity swap: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] == "torch":
            print(f"parity swap: {exc} - minigrad does not provide it", file=sys.stderr)
            return 3
        raise
    except AttributeError as exc:
        missing = _torch_name_of_missing_attribute(exc)
        if missing is None:
            raise
        print(f"parity swap: MissingTorchAPI: {missing} is not implemented by minigrad ({exc})", file=sys.stderr)
        return 3
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def _torch_name_of_missing_attribute(exc: AttributeError):
    """``torch.Tensor.foo`` for an AttributeError raised on a minigrad object, else None."""
    obj, name = getattr(exc, "obj", None), getattr(exc, "name", None)
    if obj is None or name is None or not type(obj).__module__.startswith("minigrad"):
        return None
    import minigrad

    if isinstance(obj, minigrad.Tensor):
        return f"torch.Tensor.{name}"
    for prefix, base in (("torch.nn", minigrad.nn.Module), ("torch.optim", minigrad.optim.Optimizer)):
        if isinstance(obj, base):
            return f"{prefix}.{type(obj).__name__}.{name}"
    return f"torch.{type(obj).__name__}.{name}"


if __name__ == "__main__":
    sys.exit(main())
