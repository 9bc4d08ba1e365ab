"""Data loading: DataLoader throughput, and what length bucketing saves in padding and training time."""

from __future__ import annotations

import time

import numpy as np

from .cases import Case
from .cnn import load_dataset


def _random_batches(n: int, batch: int, seed: int) -> list:
    perm = np.random.default_rng(seed).permutation(n)
    return [perm[i : i + batch].tolist() for i in range(0, n, batch)]


def _bucket_batches(lengths, batch: int, seed: int) -> list:
    from solubility import LengthBucketSampler

    return LengthBucketSampler(lengths, batch, shuffle=True, seed=seed).batches(0)


def padding_stats(lengths, batches) -> dict:
    """Real residues, padded positions and the padded length of each batch, over one epoch."""
    padded_len = np.array([lengths[b].max() for b in batches])
    sizes = np.array([len(b) for b in batches])
    real = int(sum(lengths[b].sum() for b in batches))
    padded = int((padded_len * sizes).sum())
    return {
        "batches": len(batches),
        "real_residues": real,
        "padded_positions": padded,
        "real_fraction": real / padded,
        "padded_length_median": float(np.median(padded_len)),
    }


def bucketing_report(ctx, step_fns: dict, n_sample: int) -> dict:
    """Padding per epoch with random versus bucketed batches, and the epoch time it implies per library.

    ``step_fns[name](batches)`` returns ``fn(i)``, a training step over the given padded batches. The epoch
    time is estimated from ``n_sample`` timed steps per sampler scaled to the epoch's number of
    batches (the same sampled batches for every library).
    """
    from solubility import pad_batch

    ds = load_dataset(ctx.data, ctx.max_len)
    lengths = ds.lengths
    out = {}
    for sampler, batches in (
        ("random", _random_batches(len(ds), ctx.batch, ctx.seed)),
        ("bucketed", _bucket_batches(lengths, ctx.batch, ctx.seed)),
    ):
        st = padding_stats(lengths, batches)
        pick = np.random.default_rng(ctx.seed).choice(len(batches), size=min(n_sample, len(batches)), replace=False)
        sample = [pad_batch([ds[j] for j in batches[k]]) for k in pick]
        st["epoch_seconds"] = {}
        for name, make in step_fns.items():
            fn = make(sample)
            fn(0)  # warm-up
            time.sleep(0.25)
            t0 = time.perf_counter()
            for i in range(len(sample)):
                fn(i)
            per_step = (time.perf_counter() - t0) / len(sample)
            st["epoch_seconds"][name] = per_step * len(batches)
        out[sampler] = st
    return out


def _loader(lib, ctx, bucketed: bool):
    from solubility import LengthBucketSampler, make_collate

    ds = load_dataset(ctx.data, ctx.max_len)
    data = getattr(lib.utils.data, "DataLoader", None)
    if data is None:
        return None
    collate = make_collate(lib)
    if bucketed:
        loader = data(ds, batch_sampler=LengthBucketSampler(ds.lengths, ctx.batch, seed=ctx.seed), collate_fn=collate)
    else:
        gen = lib.Generator().manual_seed(ctx.seed) if hasattr(lib, "Generator") else None
        loader = data(ds, batch_size=ctx.batch, shuffle=True, collate_fn=collate, generator=gen)
    limit = 20 if ctx.quick else None

    def fn(i):
        for k, _ in enumerate(loader):
            if limit is not None and k + 1 >= limit:
                break

    return fn


def cases(ctx) -> list:
    ds = load_dataset(ctx.data, ctx.max_len)
    what = f"{len(ds)} proteins, B={ctx.batch}, dynamic padding" + (" (first 20 batches)" if ctx.quick else "")
    return [
        Case("data", "DataLoader epoch, random batches", what, lambda lib, c: _loader(lib, c, False)),
        Case("data", "DataLoader epoch, bucketed batches", what, lambda lib, c: _loader(lib, c, True)),
    ]
