"""Training of the solubility models with minigrad (or, for the twin check, torch): honest splits, early stopping.

Splits (:func:`make_splits`). The first data file is the *target* distribution (DeepSol's ``val.csv`` in the
recipe). A fixed part of it (``heldout_fraction``, stratified, seed 0 whatever ``--seed`` is) is held out: never
trained on, never used for early stopping; ``train`` writes it to ``heldout.csv`` so ``evaluate`` can score it.
A second fixed part of the rest (``valid_fraction``) drives early stopping. Every other file is an auxiliary
source with its own output head (see :mod:`solubility.models`); auxiliary sequences identical to a held-out
or validation sequence are dropped so that nothing held out leaks in through them.

Training (:func:`train_one`): length-bucketed batches (:class:`~solubility.dataset.LengthBucketSampler`),
sequences cut to ``max_len`` residues (features use the whole sequence), binary cross-entropy on each
protein's own head, AdamW, a linear warm-up then cosine decay, and the epoch with the best validation
ROC-AUC kept. Everything that changes a result is in the config dict saved beside the checkpoint.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from .dataset import LengthBucketSampler, ProteinDataset, pad_batch
from .features import FeatureScaler, feature_matrix
from .model import is_torch
from .models import DEFAULTS, build

__all__ = [
    "RECIPES",
    "Splits",
    "make_splits",
    "Batcher",
    "train_one",
    "predict_proba",
    "train_config",
    "member_configs",
    "choose_threshold",
    "head_logits",
    "state_arrays",
]

# the recipes --model chooses between; "ensemble" is the default (the best measured, see the README's results table)
_BASE = {"features": True, "lr": 2e-3, "batch_size": 32, "max_len": 1000, "ensemble": 1}
# the k-mer model: a wide linear model wants a larger step and much stronger decay than the networks
_KMER = {"model": "kmer", "features": False, "lr": 1e-2, "weight_decay": 0.3}
RECIPES = {
    # three different models averaged: multicnn with max pooling, with k-max pooling, and the k-mer model
    "ensemble": {
        **_BASE,
        "model": "multicnn",
        "epochs": 6,
        "ensemble": 3,
        "members": [{}, {"arch": {"pool": "kmax", "pool_k": 3}}, _KMER],
    },
    "multicnn": {**_BASE, "model": "multicnn", "epochs": 6, "ensemble": 2},
    "multicnn-nofeat": {**_BASE, "model": "multicnn", "epochs": 6, "features": False},
    # multicnn with k-max pooling (mean of the 3 largest per channel) in place of max pooling
    "multicnn-kmax": {**_BASE, "model": "multicnn", "epochs": 6, "ensemble": 2, "arch": {"pool": "kmax", "pool_k": 3}},
    "kmer": {**_BASE, **_KMER, "epochs": 6},
    "transformer": {**_BASE, "model": "transformer", "epochs": 4, "lr": 1e-3, "max_len": 512},
    "transformer-pretrained": {
        **_BASE,
        "model": "transformer",
        "epochs": 4,
        "lr": 1e-3,
        "max_len": 512,
        "pretrain_epochs": 2,
    },  # fmt: skip
    # the course's recipe: one head for all sources (labels pooled), as the course trains it
    "course": {**_BASE, "model": "course", "epochs": 3, "lr": 1e-3, "features": False, "shared_head": True},
}
DEFAULT_RECIPE = "ensemble"
HELDOUT_SEED = 0  # fixed: every run, every --seed and every library holds out the same proteins


@dataclass
class Splits:
    """Indices into the combined record list: train (all sources), valid and heldout (target source only)."""

    records: list
    source: np.ndarray  # (N,) int: which file (= which head) each record came from
    train: np.ndarray
    valid: np.ndarray
    heldout: np.ndarray
    dropped_aux: int  # auxiliary records removed because their sequence is held out or in valid


def make_splits(sources: list[list], heldout_fraction=0.2, valid_fraction=0.1) -> Splits:
    """Split the target (first) source into train/valid/heldout and append the auxiliary sources to train."""
    target = sources[0]
    labels = np.array([r.label for r in target])
    idx = np.arange(len(target))
    rest, heldout = train_test_split(idx, test_size=heldout_fraction, stratify=labels, random_state=HELDOUT_SEED)
    train, valid = train_test_split(
        rest, test_size=valid_fraction / (1 - heldout_fraction), stratify=labels[rest], random_state=HELDOUT_SEED
    )
    kept_out = {target[i].sequence for i in np.concatenate([heldout, valid])}
    records, source, dropped = list(target), [0] * len(target), 0
    extra_train = []
    for s, recs in enumerate(sources[1:], start=1):
        for r in recs:
            if r.sequence in kept_out:
                dropped += 1
                continue
            extra_train.append(len(records))
            records.append(r)
            source.append(s)
    train = np.concatenate([np.sort(train), np.array(extra_train, dtype=np.int64)])
    return Splits(records, np.array(source), train, np.sort(valid), np.sort(heldout), dropped)


class Batcher:
    """Encoded sequences, standardised features and labels; yields padded NumPy batches."""

    def __init__(self, records, source=None, scaler=None, max_len=1000, with_features=True):
        self.data = ProteinDataset(records, max_len=max_len)
        self.source = np.zeros(len(records), np.int64) if source is None else np.asarray(source, np.int64)
        self.raw_features = feature_matrix([r.sequence for r in records]) if with_features else None
        self.scaler = scaler

    def fit_scaler(self, indices) -> FeatureScaler:
        self.scaler = FeatureScaler.fit(self.raw_features[indices])
        return self.scaler

    def batch(self, indices, dtype=np.float32) -> dict:
        b = pad_batch([self.data[i] for i in indices], dtype)
        b["source"] = self.source[indices]
        if self.raw_features is not None:
            b["features"] = self.scaler(self.raw_features[indices]).astype(dtype)
        return b


def _tensors(lib, b: dict, device=None) -> tuple:
    def t(a):
        x = lib.from_numpy(np.ascontiguousarray(a))
        return x if device is None else x.to(device)

    feats = t(b["features"]) if "features" in b else None
    return t(b["sequence"]), t(b["mask"]), feats


def head_logits(lib, out, source: np.ndarray, device=None):
    """Each protein's logit from its own source's head: ``out`` (N, heads) -> (N,)."""
    onehot = np.eye(out.shape[1], dtype=np.float32 if out.dtype == lib.float32 else np.float64)[source]
    oh = lib.from_numpy(onehot)
    return (out * (oh if device is None else oh.to(device))).sum(dim=1)


def predict_proba(lib, model, batcher: Batcher, indices, batch_size=64, device=None) -> np.ndarray:
    """P(soluble) by head 0 for ``indices`` (evaluation mode, no gradients), in the order given."""
    indices = np.asarray(indices, dtype=np.int64)
    order = indices[np.argsort(batcher.data.lengths[indices], kind="stable")]  # little padding
    probs = {}
    was_training = model.training
    model.eval()
    with lib.no_grad():
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            out = model(*_tensors(lib, batcher.batch(chunk), device))
            p = lib.sigmoid(out[:, 0]).detach()
            p = p.cpu().numpy() if hasattr(p, "cpu") else p.numpy()
            probs.update(zip(chunk.tolist(), p.astype(np.float64)))
    model.train(was_training)
    return np.array([probs[i] for i in indices.tolist()])


def choose_threshold(y_valid, p_valid) -> float:
    """The decision threshold with the best accuracy on the validation part (never the held-out one).

    The probabilities rank well before they are calibrated (a shared body and a second head shift head 0's
    scale), so 0.5 is not always the best cut; ties go to the threshold nearest 0.5.
    """
    grid = np.round(np.arange(0.2, 0.801, 0.01), 2)
    acc = np.array([np.mean((p_valid >= t) == y_valid) for t in grid])
    best = np.flatnonzero(acc >= acc.max() - 1e-12)
    return float(grid[best[np.argmin(np.abs(grid[best] - 0.5))]])


def _lr_at(step: int, total: int, base: float, warmup: int) -> float:
    """Linear warm-up for ``warmup`` steps, then cosine decay to 5 % of ``base``."""
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(total - warmup, 1)
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def train_config(recipe: str, **overrides) -> dict:
    """The full config of a run: the recipe's values with the given (non-None) overrides.

    An override also replaces the value a recipe's ``members`` entry sets (``--epochs 3`` trains every member
    for 3 epochs).
    """
    if recipe not in RECIPES:
        raise ValueError(f"unknown model {recipe!r}; choose one of {', '.join(RECIPES)}")
    cfg = {"recipe": recipe, "arch": {}, **RECIPES[recipe], "seed": 0, "weight_decay": 1e-2, "patience": 3}
    given = {k: v for k, v in overrides.items() if v is not None}
    cfg.update(given)
    if "members" in cfg:
        cfg["members"] = [{**kind, **{k: v for k, v in given.items() if k in kind}} for kind in cfg["members"]]
    return cfg


def member_configs(cfg: dict) -> list[dict]:
    """One full config per ensemble member, seeds ``seed, seed + 1, ...``.

    A recipe with ``members`` (a list of partial configs) cycles through them: member i is the recipe with
    ``members[i % len(members)]`` laid over it, so ``--ensemble 1`` keeps just the first kind. Without
    ``members`` every member is the recipe itself. A kind that names another ``model`` starts from that
    model's defaults, not the recipe's ``arch``. ``arch`` comes out complete (the defaults filled in). All
    members read sequences cut by one :class:`Batcher`, so a kind may not change ``max_len``.
    """
    kinds = cfg.get("members") or [{}]
    for kind in kinds:
        if "max_len" in kind:
            raise ValueError(f"recipe {cfg['recipe']!r}: a member may not set max_len ({kind})")
    base = {k: v for k, v in cfg.items() if k not in ("members", "ensemble", "scaler")}
    out = []
    for i in range(cfg["ensemble"]):
        kind = kinds[i % len(kinds)]
        member = {**base, **({"arch": {}} if "model" in kind else {}), **kind, "seed": cfg["seed"] + i}
        member["arch"] = {**DEFAULTS[member["model"]], **member.get("arch", {})}
        out.append(member)
    return out


def _epoch(lib, model, opt, batcher, sampler, cfg, state, device, progress):
    """One pass over the training batches; returns the mean loss."""
    F = lib.nn.functional
    losses = []
    for batch_idx in progress(sampler.batches(state["epoch"]), desc=f"epoch {state['epoch'] + 1}"):
        b = batcher.batch(np.asarray(batch_idx))
        for group in opt.param_groups:
            group["lr"] = _lr_at(state["step"], state["total"], cfg["lr"], state["warmup"])
        out = model(*_tensors(lib, b, device))
        target = lib.from_numpy(b["label"].astype(np.float32))
        target = target if device is None else target.to(device)
        source = np.zeros_like(b["source"]) if cfg.get("shared_head") else b["source"]
        loss = F.binary_cross_entropy_with_logits(head_logits(lib, out, source, device), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        state["step"] += 1
        losses.append(float(loss.item()))
    return float(np.mean(losses))


def train_one(lib, batcher: Batcher, splits: Splits, cfg: dict, *, device=None, progress=None, log=print):
    """Train one model (seed ``cfg['seed']``) and return ``(model, history)`` at its best validation epoch."""
    progress = progress or (lambda it, **_: it)
    lib.manual_seed(cfg["seed"])
    heads = 1 if cfg.get("shared_head") else int(splits.source.max()) + 1
    nfeat = batcher.raw_features.shape[1] if cfg["features"] else 0
    model = build(lib, cfg["model"], num_features=nfeat, heads=heads, device=device, **cfg["arch"])
    if cfg.get("pretrain_epochs"):
        from .pretrain import pretrain

        history_pre = pretrain(lib, model, batcher, splits.train, epochs=cfg["pretrain_epochs"], lr=cfg["lr"],
                               batch_size=cfg["batch_size"], seed=cfg["seed"], device=device, progress=progress,
                               log=log)  # fmt: skip
        log(f"pretraining losses per epoch: {history_pre}")
    model.train()
    opt = lib.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    sampler = LengthBucketSampler(batcher.data.lengths[splits.train], cfg["batch_size"], seed=cfg["seed"])
    # the sampler indexes the train subset; map its positions back to record indices
    train_sampler = _Remap(sampler, splits.train)
    steps_per_epoch = len(sampler.batches(0))
    state = {"epoch": 0, "step": 0, "total": steps_per_epoch * cfg["epochs"], "warmup": min(200, steps_per_epoch)}
    history, best, best_state, bad = [], -1.0, None, 0
    y_valid = batcher.data.labels[splits.valid]
    for epoch in range(cfg["epochs"]):
        state["epoch"] = epoch
        t0 = time.perf_counter()
        loss = _epoch(lib, model, opt, batcher, train_sampler, cfg, state, device, progress)
        p = predict_proba(lib, model, batcher, splits.valid, device=device)
        auc = float(roc_auc_score(y_valid, p))
        acc = float(np.mean((p >= 0.5) == y_valid))
        history.append({"epoch": epoch + 1, "train_loss": loss, "valid_auc": auc, "valid_accuracy": acc,
                        "seconds": time.perf_counter() - t0})  # fmt: skip
        log(f"epoch {epoch + 1}: train loss {loss:.4f}, valid ROC-AUC {auc:.4f}, valid accuracy {acc:.4f}")
        if auc > best:
            best, bad = auc, 0
            best_state = {k: _to_numpy(v).copy() for k, v in model.state_dict().items()}
        else:
            bad += 1
            if bad >= cfg["patience"]:
                log(f"early stop: no better validation ROC-AUC for {bad} epochs")
                break
    model.load_state_dict({k: _from_numpy(lib, v, device) for k, v in best_state.items()})
    model.eval()
    return model, history


class _Remap:
    """A sampler over a subset whose batches are given as indices of the full record list."""

    def __init__(self, sampler, indices):
        self.sampler, self.indices = sampler, np.asarray(indices)

    def batches(self, epoch):
        return [self.indices[b].tolist() for b in self.sampler.batches(epoch)]


def _to_numpy(t):
    t = t.detach()
    return t.cpu().numpy() if hasattr(t, "cpu") else t.numpy()


def _from_numpy(lib, a, device=None):
    t = lib.from_numpy(np.ascontiguousarray(a))
    return t if device is None else t.to(device)


def state_arrays(model) -> dict:
    """The model's state as NumPy arrays (for saving in minigrad's format whichever library trained it)."""
    return {k: _to_numpy(v).copy() for k, v in model.state_dict().items()}


def library_name(lib) -> str:
    return "torch" if is_torch(lib) else "minigrad"
