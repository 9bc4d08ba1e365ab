"""Independent training: torch and minigrad each train their own copy of the model, then are compared.

Unlike the lockstep run, nothing is shared during training except the starting weights and the data
order (the same seeded length-bucketing sampler): each library draws its own dropout masks, runs its
own Adam, ``ReduceLROnPlateau`` (halve the learning rate when the validation loss stops improving)
and early stopping (stop after ``patience`` epochs without a better validation loss, then go back
to the best weights). The final test metrics of the two are reported side by side; they should be
close, not identical.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from solubility.dataset import LengthBucketSampler, make_collate
from solubility.metrics import classification_metrics
from solubility.model import build_model

from .transfer import copy_weights, load_arrays, state_arrays, to_numpy

__all__ = ["TrainResult", "train_model", "evaluate", "train_both"]


@dataclass
class TrainResult:
    library: str
    history: list = field(default_factory=list)  # per epoch: epoch, train_loss, val_loss, val_auc, lr, seconds
    best_epoch: int = 0
    stopped_early: bool = False
    test_metrics: dict = field(default_factory=dict)
    test_probs: np.ndarray | None = None
    test_labels: np.ndarray | None = None
    seconds: float = 0.0


def _loader(lib, dataset, batch_size, *, shuffle, seed, dtype, device):
    sampler = LengthBucketSampler(dataset.lengths, batch_size, shuffle=shuffle, seed=seed)
    return lib.utils.data.DataLoader(
        dataset, batch_sampler=sampler, collate_fn=make_collate(lib, dtype, device)
    ), sampler


def evaluate(lib, model, dataset, *, batch_size=64, dtype=None, device=None):
    """Mean cross-entropy, P(soluble) per item (in dataset order) and labels, with gradients off."""
    loader, sampler = _loader(lib, dataset, batch_size, shuffle=False, seed=0, dtype=dtype, device=device)
    order = [i for b in sampler.batches() for i in b]
    model.eval()
    probs, total = [], 0.0
    with lib.no_grad():
        for batch in loader:
            logits = model(batch["sequence"], batch["mask"])
            total += float(lib.nn.functional.cross_entropy(logits, batch["label"], reduction="sum").item())
            probs.append(to_numpy(lib.nn.functional.softmax(logits, dim=1))[:, 1].astype(np.float64))
    out = np.empty(len(dataset))
    out[order] = np.concatenate(probs)
    return total / len(dataset), out, dataset.labels.copy()


def train_model(
    lib,
    model,
    train_ds,
    val_ds,
    *,
    epochs=5,
    batch_size=32,
    lr=1e-3,
    seed=0,
    patience=3,
    plateau_patience=1,
    dtype=None,
    device=None,
    progress=False,
) -> TrainResult:
    """Train ``model`` (made with ``lib``) with Adam, ReduceLROnPlateau and early stopping on val loss."""
    res = TrainResult(library=lib.__name__)
    opt = lib.optim.Adam(model.parameters(), lr=lr)
    sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=plateau_patience)
    loader, sampler = _loader(lib, train_ds, batch_size, shuffle=True, seed=seed, dtype=dtype, device=device)
    best, best_state, bad = math.inf, None, 0
    t_start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        sampler.set_epoch(epoch - 1)
        model.train()
        total, count = 0.0, 0
        it = loader
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(loader, total=len(sampler), desc=f"{lib.__name__} epoch {epoch}", unit="batch", leave=False)
        for batch in it:
            logits = model(batch["sequence"], batch["mask"])
            loss = lib.nn.functional.cross_entropy(logits, batch["label"])
            opt.zero_grad()
            loss.backward()
            opt.step()
            n = int(batch["label"].shape[0])
            total += float(loss.item()) * n
            count += n
        val_loss, val_probs, val_labels = evaluate(lib, model, val_ds, dtype=dtype, device=device)
        val_auc = classification_metrics(val_labels, val_probs)["roc_auc"]
        sched.step(val_loss)
        res.history.append(
            {
                "epoch": epoch,
                "train_loss": total / max(count, 1),
                "val_loss": val_loss,
                "val_auc": val_auc,
                "lr": float(opt.param_groups[0]["lr"]),
                "seconds": time.perf_counter() - t0,
            }
        )
        if val_loss < best - 1e-6:
            best, best_state, bad, res.best_epoch = val_loss, state_arrays(model), 0, epoch
            best_state = {k: v.copy() for k, v in best_state.items()}
        else:
            bad += 1
            if bad >= patience:
                res.stopped_early = True
                break
    if best_state is not None:
        load_arrays(model, best_state, src_name="best checkpoint")
    res.seconds = time.perf_counter() - t_start
    return res


def train_both(
    train_ds,
    val_ds,
    test_ds,
    *,
    epochs=5,
    batch_size=32,
    lr=1e-3,
    seed=0,
    patience=3,
    dtype="float32",
    device="cpu",
    mask_after_conv=False,
    progress=False,
    libs=None,
):
    """Train a torch and a minigrad model from the same initial weights; returns ``[torch_res, minigrad_res]``."""
    if libs is None:
        import torch

        import minigrad

        libs = (torch, minigrad)
    libs[0].manual_seed(seed)
    for lib in libs[1:]:
        lib.manual_seed(seed)
    models = [build_model(lib, dtype=getattr(lib, dtype), mask_after_conv=mask_after_conv) for lib in libs]
    if device != "cpu":
        models = [m.to(device) for m in models]
    for m in models[1:]:
        copy_weights(models[0], m)
    results = []
    for lib, model in zip(libs, models):
        tdtype, dev = getattr(lib, dtype), (None if device == "cpu" else device)
        res = train_model(
            lib,
            model,
            train_ds,
            val_ds,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            patience=patience,
            dtype=tdtype,
            device=dev,
            progress=progress,
        )
        _, probs, labels = evaluate(lib, model, test_ds, dtype=tdtype, device=dev)
        res.test_probs, res.test_labels = probs, labels
        res.test_metrics = classification_metrics(labels, probs)
        results.append(res)
    return results
