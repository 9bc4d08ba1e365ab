"""The benchmark run behind ``python -m benchmarks``: build every case for every library, time, report."""

from __future__ import annotations

import cProfile
import io
import os
import pstats

from . import cnn, data, micro, report
from .cases import Context
from .env import machine_info, pin_threads
from .timing import METHOD, Impl, run_interleaved

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.join(os.path.dirname(ROOT), "shared", "data", "solubility")


def _settings(args):
    q = args.quick
    s = dict(
        rounds=1 if q else 3,
        reps=2 if q else 5,
        warmup=1 if q else 2,
        pause=0.0 if q else 0.25,
        batch=4 if q else 32,
        infer_batch=4 if q else 64,
        n_batches=2 if q else 6,
        max_len=64 if q else None,
    )
    for k in s:
        v = getattr(args, k, None)
        if v is not None:
            s[k] = v
    return s


def _impls(device):
    import torch

    import minigrad
    from minigrad.compute.fast import kernels

    minigrad.config.malloc_tuning = True  # large activations stay in the heap between steps, for both libraries

    if device == "cuda":
        return [
            Impl("torch", torch, sync=torch.cuda.synchronize),
            Impl("minigrad", minigrad, sync=minigrad.cuda.synchronize),
        ]
    impls = [Impl("torch", torch), Impl("minigrad", minigrad)]
    state = {}

    def enter():
        state["prev"] = kernels.set_backend("numpy")

    def leave():
        kernels.set_backend(state["prev"])

    impls.append(Impl("minigrad[numpy]", minigrad, enter=enter, exit=leave))
    return impls


def _selected(case, only):
    if not only:
        return True
    keys = [k.strip().lower() for k in only.split(",") if k.strip()]
    return any(k == case.group or k in case.name.lower() for k in keys)


def _profile(fn, n, path, title):
    prof = cProfile.Profile()
    prof.enable()
    for i in range(n):
        fn(i)
    prof.disable()
    buf = io.StringIO()
    st = pstats.Stats(prof, stream=buf).sort_stats("tottime")
    st.print_stats(30)
    text = f"# {title}: {n} calls, sorted by own time\n" + buf.getvalue()
    if path:
        with open(path, "w") as f:
            f.write(text)
    return text


def _repeated(fn, inner: int):
    """``fn`` called ``inner`` times per timed sample (see ``Case.inner``)."""

    def run(i):
        for _ in range(inner):
            fn(i)

    return run


def run(args) -> int:
    s = _settings(args)
    data_path = args.data or os.path.join(DEFAULT_DATA, "sample.csv" if args.quick else "val.csv")
    if not os.path.exists(data_path):
        print(f"benchmarks: data file {data_path} not found; pass --data PATH (a CSV with id,sequence,label)")
        return 2
    threads = pin_threads(args.threads)
    import torch

    import minigrad
    from minigrad.compute.fast import kernels

    minigrad.config.malloc_tuning = True  # large activations stay in the heap between steps, for both libraries

    if args.device == "cuda" and (not torch.cuda.is_available() or minigrad.backend.gpu_module() is None):
        print("benchmarks: --device cuda needs torch with CUDA and CuPy with a visible GPU")
        return 2
    cached = _numba_cache_present(kernels)
    compile_s = kernels.warmup()
    threads = pin_threads(args.threads)  # again: warm-up may have loaded more thread pools (OpenMP runtimes)
    ctx = Context(
        device=args.device,
        quick=args.quick,
        batch=s["batch"],
        infer_batch=s["infer_batch"],
        n_batches=s["n_batches"],
        max_len=s["max_len"],
        seed=args.seed,
        data=data_path,
    )
    impls = _impls(args.device)
    if args.no_numpy_kernels:
        impls = [i for i in impls if i.name != "minigrad[numpy]"]
    info = machine_info(threads, args.device)
    method = METHOD.format(clock=args.clock, stat=args.stat, **s)
    notes = [
        f"timing method: {method}",
        f"numba kernels warm-up: {compile_s:.2f} s ({'loaded from the on-disk cache' if cached else 'compiled'}"
        "), excluded from every timing",
        f"data: {data_path}",
        "float32 throughout",
    ]
    print("minigrad benchmarks")
    for k, v in info.items():
        print(f"  {k}: {v}")
    print(f"  method: {method}")
    print(f"  numba warm-up: {compile_s:.2f} s ({'from cache' if cached else 'compiled'}; excluded)\n")

    all_cases = micro.cases(ctx) + micro.kernel_cases(ctx) + cnn.cases(ctx) + data.cases(ctx)
    rows = []
    for case in all_cases:
        if not _selected(case, args.only):
            continue
        calls = {}
        for imp in impls:
            if imp.enter:
                imp.enter()
            try:
                fn = case.make(imp.lib, ctx)
                if fn is not None:
                    calls[imp.name] = fn
            except Exception as exc:  # a library that cannot run a case yet: report the gap, keep going
                notes.append(f"{case.name}: {imp.name} failed: {type(exc).__name__}: {exc}")
            finally:
                if imp.exit:
                    imp.exit()
        inner = 1 if args.quick else case.inner
        if inner > 1:
            calls = {k: _repeated(fn, inner) for k, fn in calls.items()}
        reps = s["reps"]
        if case.group == "data" and not args.quick:
            reps = max(1, reps // 2)
        try:
            timings = run_interleaved(
                calls, impls, rounds=s["rounds"], reps=reps, warmup=s["warmup"], pause=s["pause"], clock=args.clock
            )
        except Exception as exc:
            notes.append(f"{case.name}: timing failed: {type(exc).__name__}: {exc}")
            continue
        for t in timings.values():
            t.seconds = [x / inner for x in t.seconds]
        row = report.finish_row(report.make_row(case, timings, stat=args.stat))
        rows.append(row)
        print(
            f"  {case.group:5s} {case.name:38s} "
            + "  ".join(f"{k} {v:9.3f} ms" for k, v in row["value"].items())
            + f"   ratio {report._fmt(row['ratio'])}",
            flush=True,
        )

    extra = {"settings": s}
    if args.device == "cpu" and not args.no_memory and _selected_group("cnn", args.only):
        from .memory import measure_in_subprocess

        mem = {name: measure_in_subprocess(name, ctx, args.threads) for name in ("torch", "minigrad")}
        extra["memory"] = mem
        val = {k: v.get("peak_extra_mib") for k, v in mem.items()}
        mrow = {
            "group": "cnn",
            "name": "CNN training peak memory",
            "unit": "MiB",
            "size": f"extra peak RSS over 3 steps, largest batch (B={ctx.batch}), fresh process each",
            "value": val,
            "iqr": {},
            "calls": {},
        }
        rows.append(report.finish_row(mrow))
        for k, v in mem.items():
            if v.get("error"):
                notes.append(f"memory ({k}) failed: {v['error']}")
        print(f"  cnn   CNN training peak memory: {val}")

    if not args.no_bucketing and _selected_group("data", args.only) and args.device == "cpu":
        import torch as th

        import minigrad as mg

        steps = {
            "torch": lambda b: cnn.make_train_step(th, ctx, b),
            "minigrad": lambda b: cnn.make_train_step(mg, ctx, b),
        }
        buck = data.bucketing_report(ctx, steps, n_sample=1 if args.quick else 6)
        extra["bucketing"] = buck
        r, b = buck["random"], buck["bucketed"]
        notes.append(
            f"bucketing (solubility.LengthBucketSampler, one epoch of {data_path}): real residues are "
            f"{100 * r['real_fraction']:.0f}% of padded positions with random batches, {100 * b['real_fraction']:.0f}% "
            f"bucketed ({r['padded_positions'] / b['padded_positions']:.2f}x less padded work; padded length median "
            f"{r['padded_length_median']:.0f} -> {b['padded_length_median']:.0f}); estimated epoch time "
            + ", ".join(f"{k} {r['epoch_seconds'][k]:.1f} s -> {b['epoch_seconds'][k]:.1f} s" for k in steps)
        )
        print("  " + notes[-1])

    if args.profile:
        prof_dir = args.out or "."
        os.makedirs(prof_dir, exist_ok=True)
        fn = cnn.make_train_step(minigrad, ctx, cnn.batches_for(ctx, ctx.batch)[:1])
        fn(0)
        text = _profile(fn, 3, os.path.join(prof_dir, "profile_minigrad_train_step.txt"), "minigrad CNN training step")
        print("\n" + "\n".join(text.splitlines()[:40]))
        fn = micro._dispatch(minigrad, ctx)
        fn(0)
        _profile(fn, 2000, os.path.join(prof_dir, "profile_minigrad_dispatch.txt"), "minigrad dispatch case")
        notes.append(f"profiles written to {prof_dir}/profile_minigrad_*.txt")

    print("\n" + report.table(rows))
    for n in notes:
        print("note: " + n)
    if args.out:
        paths = report.write(args.out, rows, info, notes, extra)
        print("wrote " + ", ".join(paths))
    return 0


def _numba_cache_present(kernels) -> bool:
    """Whether numba's on-disk cache already holds compiled kernels (then warm-up only loads them)."""
    import glob

    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(os.path.dirname(kernels.cpu.__file__), "__pycache__")
    return bool(glob.glob(os.path.join(base, "**", "cpu.*.nbi"), recursive=True))


def _selected_group(group, only):
    if not only:
        return True
    return group in [k.strip().lower() for k in only.split(",")]
