"""The course CNN (from :mod:`solubility.model`): one training step and one inference batch on real data; and
one training step of the solubility CLI's ``multicnn`` (:mod:`solubility.models`, five wide convolutions)."""

from __future__ import annotations

import functools

import numpy as np

from .cases import Case, tensor


@functools.lru_cache(maxsize=4)
def load_dataset(path: str, max_len=None):
    """The proteins of ``path`` (a CSV with id, sequence, label), encoded once."""
    from solubility import ProteinDataset, read_csv

    return ProteinDataset(read_csv(path), max_len=max_len)


def random_batches(ds, batch: int, n_batches: int, seed: int) -> list:
    """``n_batches`` random batches (as a shuffled DataLoader would draw them), each padded to its own longest."""
    from solubility import pad_batch

    perm = np.random.default_rng(seed).permutation(len(ds))
    n_batches = min(n_batches, len(ds) // batch)
    return [pad_batch([ds[j] for j in perm[i * batch : (i + 1) * batch]]) for i in range(n_batches)]


def batches_for(ctx, batch: int) -> list:
    ds = load_dataset(ctx.data, ctx.max_len)
    return random_batches(ds, batch, ctx.n_batches, ctx.seed)


def _to_lib(lib, batches, ctx):
    return [
        (tensor(lib, b["sequence"], ctx), tensor(lib, b["mask"], ctx), tensor(lib, b["label"], ctx)) for b in batches
    ]


def build(lib, ctx):
    from solubility.model import build_model

    lib.manual_seed(ctx.seed)
    return build_model(lib, device=None if ctx.device == "cpu" else ctx.device)


def make_train_step(lib, ctx, batches=None):
    """``fn(i)``: zero_grad, forward, cross-entropy, backward, Adam step on batch ``i`` (cycling)."""
    data = _to_lib(lib, batches if batches is not None else batches_for(ctx, ctx.batch), ctx)
    model = build(lib, ctx)
    model.train()
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = lib.nn.CrossEntropyLoss()

    def fn(i):
        x, mask, y = data[i % len(data)]
        opt.zero_grad()
        loss = loss_fn(model(x, mask), y)
        loss.backward()
        opt.step()

    return fn


def make_inference(lib, ctx, batches=None):
    """``fn(i)``: the model's forward pass in eval mode under ``no_grad`` on batch ``i`` (cycling)."""
    data = _to_lib(lib, batches if batches is not None else batches_for(ctx, ctx.infer_batch), ctx)
    model = build(lib, ctx)
    model.eval()

    def fn(i):
        x, mask, _ = data[i % len(data)]
        with lib.no_grad():
            model(x, mask)

    return fn


def make_multicnn_step(lib, ctx, batches):
    """``fn(i)``: one AdamW step of ``multicnn`` (max pooling, 41 features, two heads) as the CLI trains it."""
    from solubility.features import NUM_FEATURES
    from solubility.models import build as build_solubility_model
    from solubility.train import head_logits

    rng = np.random.default_rng(ctx.seed)
    data = []
    for b in batches:
        n = b["sequence"].shape[0]
        features = rng.standard_normal((n, NUM_FEATURES)).astype(np.float32)  # standardised, as the CLI feeds them
        source = rng.integers(0, 2, n)  # which head (label source) each protein trains
        data.append((tensor(lib, b["sequence"], ctx), tensor(lib, b["mask"], ctx), tensor(lib, features, ctx),
                     tensor(lib, b["label"].astype(np.float32), ctx), source))  # fmt: skip
    lib.manual_seed(ctx.seed)
    device = None if ctx.device == "cpu" else ctx.device
    model = build_solubility_model(lib, "multicnn", num_features=NUM_FEATURES, heads=2, device=device)
    model.train()
    opt = lib.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-2)
    bce = lib.nn.functional.binary_cross_entropy_with_logits

    def fn(i):
        x, mask, features, y, source = data[i % len(data)]
        opt.zero_grad()
        loss = bce(head_logits(lib, model(x, mask, features), source, device), y)
        loss.backward()
        opt.step()

    return fn


def describe(batches) -> str:
    lengths = [b["sequence"].shape[1] for b in batches]
    real = sum(float(b["mask"].sum()) for b in batches)
    padded = sum(b["mask"].size for b in batches)
    return (
        f"B={batches[0]['sequence'].shape[0]}, {len(batches)} batches, padded L median {int(np.median(lengths))} "
        f"(min {min(lengths)}, max {max(lengths)}), {100 * real / padded:.0f}% real"
    )


def cases(ctx) -> list:
    train, infer = batches_for(ctx, ctx.batch), batches_for(ctx, ctx.infer_batch)
    return [
        Case("cnn", "CNN training step", describe(train), lambda lib, c: make_train_step(lib, c, train)),
        Case("cnn", "CNN inference (no_grad)", describe(infer), lambda lib, c: make_inference(lib, c, infer)),
        Case("cnn", "multicnn training step", describe(train), lambda lib, c: make_multicnn_step(lib, c, train)),
    ]
