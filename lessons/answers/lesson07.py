"""Answers to lessons/exercises/lesson07.py."""

import numpy as np

import minigrad


def pad_collate(items):
    """Allocate the (N, L) rectangle once, full of padding, then copy each protein into its row."""
    lengths = np.array([len(it["sequence"]) for it in items], dtype=np.int64)
    tokens = np.zeros((len(items), int(lengths.max())), dtype=np.int64)
    for row, it in zip(tokens, items):
        row[: len(it["sequence"])] = it["sequence"]
    mask = (np.arange(tokens.shape[1]) < lengths[:, None]).astype(np.float32)
    labels = np.array([it["label"] for it in items], dtype=np.int64)
    return {
        "sequence": minigrad.from_numpy(tokens),
        "mask": minigrad.from_numpy(mask),
        "label": minigrad.from_numpy(labels),
        "lengths": minigrad.from_numpy(lengths),
    }


def masked_mean(h, mask):
    """Zero the padding, sum over L, divide by the number of real positions (at least 1)."""
    m = mask.unsqueeze(1)  # (N, 1, L): broadcasts over the channels
    return (h * m).sum(dim=2) / m.sum(dim=2).clamp(min=1)


def stratified_split(labels, fractions=(0.8, 0.1, 0.1), seed=0):
    """Split every class with the same fractions, then merge the classes' parts."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts = [[] for _ in fractions]
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        sizes = [int(np.floor(f * len(idx))) for f in fractions]
        for k in range(len(idx) - sum(sizes)):
            sizes[k % len(sizes)] += 1
        for part, chunk in zip(parts, np.split(idx, np.cumsum(sizes)[:-1])):
            part.extend(chunk.tolist())
    return [np.sort(np.array(p, dtype=np.int64)) for p in parts]
