"""Exercise 1: a per-residue secondary-structure MLP, with padding kept out of the loss.

Input: one-hot sequences (batch, length, 20). Output: logits for three classes (helix H, strand E,
coil C) at every position. Real labelled structures are not shipped with the project, so the
labels come from a transparent toy rule on a sliding window of residue propensities (helix formers
A, L, E, M, Q, K, R; strand formers V, I, Y, F, W, T; the rest coil), with noise. A 3-layer MLP that
sees a window of residues can learn it.

Padding: proteins in a batch have different lengths; padded positions get the label -100, which
``CrossEntropyLoss(ignore_index=-100)`` leaves out of both the sum and the mean's denominator.
``masked_loss_matches_ignore_index`` shows this equals an explicit mask.

Run: ``python -m lessons.solutions.secondary_structure``
"""

from __future__ import annotations

import numpy as np

import minigrad
from minigrad import nn

AMINO = "ACDEFGHIKLMNPQRSTVWY"
HELIX, STRAND = set("ALEMQKR"), set("VIYFWT")
IGNORE = -100


def toy_dataset(n=64, min_len=20, max_len=60, seed=0):
    """(one_hot (n, L, 20) float32, labels (n, L) int64 with -100 at padding, lengths)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_len, max_len + 1, n)
    L = int(lengths.max())
    x = np.zeros((n, L, 20), np.float32)
    y = np.full((n, L), IGNORE, np.int64)
    for i, n_res in enumerate(lengths):
        seq = rng.integers(0, 20, n_res)
        x[i, np.arange(n_res), seq] = 1
        letters = [AMINO[s] for s in seq]
        for j in range(n_res):
            window = letters[max(0, j - 2) : j + 3]
            h = sum(a in HELIX for a in window)
            e = sum(a in STRAND for a in window)
            label = 0 if h >= 3 else (1 if e >= 3 else 2)
            if rng.random() < 0.05:
                label = int(rng.integers(0, 3))
            y[i, j] = label
    return x, y, lengths


class ResidueMLP(nn.Module):
    """Three linear layers applied at every position to a window of 2*half+1 residues."""

    def __init__(self, half=2, hidden=64):
        super().__init__()
        self.half = half
        width = 20 * (2 * half + 1)
        self.net = nn.Sequential(
            nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 3)
        )

    def forward(self, x):  # (N, L, 20) -> (N, L, 3)
        n, length, _ = x.shape
        padded = minigrad.nn.functional.pad(x, (0, 0, self.half, self.half))
        windows = minigrad.cat([padded[:, j : j + length] for j in range(2 * self.half + 1)], dim=2)
        return self.net(windows)


def masked_loss_matches_ignore_index(logits, labels):
    """Return (loss with ignore_index, loss with an explicit mask): they are the same number."""
    n, length, c = logits.shape
    flat_logits, flat_labels = logits.reshape(n * length, c), labels.reshape(n * length)
    with_ignore = nn.CrossEntropyLoss(ignore_index=IGNORE)(flat_logits, flat_labels)
    mask = (flat_labels != IGNORE).float()
    safe = minigrad.where(flat_labels == IGNORE, minigrad.zeros_like(flat_labels), flat_labels)
    per_pos = nn.CrossEntropyLoss(reduction="none")(flat_logits, safe)
    explicit = (per_pos * mask).sum() / mask.sum()
    return with_ignore, explicit


def train(epochs=30, seed=0, verbose=False):
    minigrad.manual_seed(seed)
    x, y, _ = toy_dataset(seed=seed)
    xt, yt = minigrad.tensor(x), minigrad.tensor(y)
    model = ResidueMLP()
    opt = minigrad.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss(ignore_index=IGNORE)
    losses = []
    for epoch in range(epochs):
        logits = model(xt)
        loss = loss_fn(logits.reshape(-1, 3), yt.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if verbose and epoch % 10 == 0:
            print(f"epoch {epoch:3d}  loss {loss.item():.4f}")
    with minigrad.no_grad():
        pred = model(xt).argmax(dim=-1).numpy()
    real = y != IGNORE
    accuracy = float((pred[real] == y[real]).mean())
    return model, losses, accuracy


if __name__ == "__main__":
    _, losses, acc = train(epochs=100, verbose=True)
    print(f"per-residue accuracy on real positions: {acc:.3f}")
