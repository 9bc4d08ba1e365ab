"""Command line: ``python -m benchmarks [--quick] [--out DIR] [--device cuda] ...`` (see ``--help``)."""

from __future__ import annotations

import argparse
import os
import sys


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="minigrad vs torch: per-op micro benchmarks, the course CNN, data loading.",
    )
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one round: a smoke run of a few seconds")
    ap.add_argument("--out", default=None, help="folder for results.json, results.md, ratios.png (and profiles)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="cuda: CuPy-backed minigrad vs torch CUDA")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for BLAS, torch and numba (equal)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds of interleaved blocks (default 3; quick 1)")
    ap.add_argument("--reps", type=int, default=None, help="timed calls per block (default 5; quick 2)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed calls before an implementation's first block")
    ap.add_argument("--pause", type=float, default=None, help="seconds of pause before each block (default 0.25)")
    ap.add_argument("--batch", type=int, default=None, help="training batch size (default 32)")
    ap.add_argument("--infer-batch", type=int, default=None, help="inference batch size (default 64)")
    ap.add_argument("--n-batches", type=int, default=None, help="distinct real batches the CNN cycles through")
    ap.add_argument("--max-len", type=int, default=None, help="truncate proteins to this many residues")
    ap.add_argument("--data", default=None, help="CSV of proteins (default: ../shared/data/solubility/val.csv)")
    ap.add_argument("--only", default=None, help="comma-separated groups or name fragments (micro,kernel,cnn,data)")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement (two subprocesses)")
    ap.add_argument("--no-bucketing", action="store_true", help="skip the bucketing (padding and epoch time) report")
    ap.add_argument("--no-numpy-kernels", action="store_true", help="skip minigrad with MINIGRAD_KERNELS=numpy")
    ap.add_argument("--profile", action="store_true", help="cProfile minigrad's CNN training step and dispatch case")
    ap.add_argument(
        "--keep-openblas-env",
        action="store_true",
        help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (by default the run restarts without them)",
    )
    ap.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall: elapsed time (default); cpu: the process's CPU time (counts spinning threads too, "
        "and virtual machines may account it coarsely: use with --threads 1, with care)",
    )
    ap.add_argument(
        "--stat",
        choices=["median", "min"],
        default="median",
        help="median (default) or min of the timed calls; min is the steadier on a busy machine",
    )
    ap.add_argument("--seed", type=int, default=0)
    return ap.parse_args(argv)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if not args.keep_openblas_env and __name__ == "__main__":
        from .env import restart_without_openblas_overrides

        restart_without_openblas_overrides(argv)  # returns only when nothing had to be removed
    from .run import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
