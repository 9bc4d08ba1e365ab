"""Peak memory of CNN training, each library measured alone in a fresh Python process.

Inside one process the two libraries' allocations would mix, so :func:`measure_in_subprocess`
starts ``python -m benchmarks.memory`` for one library. That process builds the model, optimiser
and batches, records its resident memory (RSS), resets the kernel's high-water mark
(``/proc/self/clear_refs``), runs a few training steps and reports ``peak RSS - RSS before``:
the extra memory the steps needed at their worst moment (activations, gradients, workspaces,
optimiser state). Linux only; elsewhere the numbers are None.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys


def _status_kb(field: str):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measure(lib_name: str, ctx, steps: int = 3, kernels: str | None = None) -> dict:
    """Extra peak memory (MiB) of ``steps`` training steps with ``lib_name`` ('torch' or 'minigrad')."""
    import importlib

    from . import cnn

    if kernels:
        from minigrad.compute.fast import kernels as _k

        _k.set_backend(kernels)
    lib = importlib.import_module(lib_name)
    batches = cnn.batches_for(ctx, ctx.batch)
    # run the largest batch, so that both libraries are measured on the same worst case
    batches = sorted(batches, key=lambda b: b["sequence"].shape[1])[-1:]
    fn = cnn.make_train_step(lib, ctx, batches)
    if lib_name == "minigrad":
        from minigrad.compute.fast import kernels as _k

        _k.warmup()  # the JIT compiler's own memory is a one-off, not part of a training step
    before = _status_kb("VmRSS")
    ok = _reset_peak()
    for i in range(steps):
        fn(i)
    peak = _status_kb("VmHWM")
    if before is None or peak is None or not ok:
        return {"lib": lib_name, "peak_extra_mib": None, "rss_before_mib": None}
    return {
        "lib": lib_name,
        "peak_extra_mib": (peak - before) / 1024,
        "rss_before_mib": before / 1024,
        "padded_length": int(batches[0]["sequence"].shape[1]),
        "batch": ctx.batch,
        "steps": steps,
    }


def measure_in_subprocess(lib_name: str, ctx, threads: int, steps: int = 3, kernels: str | None = None) -> dict:
    """Run :func:`measure` for one library in a fresh process and return its result."""
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.memory",
        "--lib",
        lib_name,
        "--threads",
        str(threads),
        "--steps",
        str(steps),
        "--batch",
        str(ctx.batch),
        "--n-batches",
        str(ctx.n_batches),
        "--seed",
        str(ctx.seed),
        "--data",
        ctx.data,
    ]
    if ctx.max_len:
        cmd += ["--max-len", str(ctx.max_len)]
    if kernels:
        cmd += ["--kernels", kernels]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=root, env=env)
    if res.returncode != 0:
        return {"lib": lib_name, "peak_extra_mib": None, "error": res.stderr.strip().splitlines()[-1:]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None):
    from .cases import Context
    from .env import pin_threads

    ap = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__.splitlines()[0])
    ap.add_argument("--lib", choices=["torch", "minigrad"], required=True)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--n-batches", type=int, default=6)
    ap.add_argument("--max-len", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kernels", choices=["numba", "numpy"], default=None)
    ap.add_argument("--data", required=True)
    a = ap.parse_args(argv)
    pin_threads(a.threads)
    ctx = Context(batch=a.batch, n_batches=a.n_batches, max_len=a.max_len, seed=a.seed, data=a.data)
    print(json.dumps(measure(a.lib, ctx, a.steps, a.kernels)))


if __name__ == "__main__":
    main()
