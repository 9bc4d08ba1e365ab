"""Exercise 4: SGD with momentum, Adam and AdamW on the solubility CNN, with loss curves.

Each optimiser trains a fresh copy of the same initial model (same weights, same batches) on the
embedded synthetic data, and the training and validation losses per epoch are plotted on one
figure. The model is the course's CNN from ``solubility/model.py`` (smaller widths by default so
that the comparison runs in seconds).

Run: ``python -m lessons.solutions.optimizer_comparison --out optimizers.png``
"""

from __future__ import annotations

import argparse
import copy

import numpy as np

import minigrad
from solubility.dataset import ProteinDataset, make_collate
from solubility.model import build_model
from solubility.synthetic import make_synthetic

OPTIMIZERS = {
    "SGD + momentum 0.9": lambda p: minigrad.optim.SGD(p, lr=0.05, momentum=0.9),
    "Adam": lambda p: minigrad.optim.Adam(p),
    "AdamW (wd 0.01)": lambda p: minigrad.optim.AdamW(p, weight_decay=0.01),
}


def run(epochs=4, n=160, embed_dim=16, hidden_dim=32, seed=0):
    records = make_synthetic(n=n, seed=seed, median_length=80, max_length=150)
    data = ProteinDataset(records)
    cut = int(0.75 * len(data))
    train, val = data.subset(np.arange(cut)), data.subset(np.arange(cut, len(data)))
    collate = make_collate(minigrad)
    minigrad.manual_seed(seed)
    start = build_model(minigrad, embed_dim=embed_dim, hidden_dim=hidden_dim)
    curves = {}
    for name, make_opt in OPTIMIZERS.items():
        model = copy.deepcopy(start)
        opt = make_opt(model.parameters())
        loss_fn = minigrad.nn.CrossEntropyLoss()
        history = {"train": [], "val": []}
        for epoch in range(epochs):
            model.train()
            minigrad.manual_seed(seed + epoch)  # the same batches and dropout for every optimiser
            loader = minigrad.utils.data.DataLoader(train, batch_size=16, shuffle=True, collate_fn=collate)
            total = 0.0
            for b in loader:
                loss = loss_fn(model(b["sequence"], b["mask"]), b["label"])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item()
            history["train"].append(total / len(loader))
            model.eval()
            with minigrad.no_grad():
                vb = collate([val[i] for i in range(len(val))])
                history["val"].append(loss_fn(model(vb["sequence"], vb["mask"]), vb["label"]).item())
        curves[name] = history
    return curves


def plot(curves, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for i, (name, h) in enumerate(curves.items()):
        epochs = range(1, len(h["train"]) + 1)
        ax.plot(epochs, h["train"], color=f"C{i}", label=f"{name} train")
        ax.plot(epochs, h["val"], color=f"C{i}", linestyle="--", label=f"{name} val")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    ax.set_title("Optimisers on the solubility CNN (synthetic data)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--out", default="optimizers.png")
    args = ap.parse_args()
    curves = run(epochs=args.epochs)
    for name, h in curves.items():
        print(f"{name:20s} final train {h['train'][-1]:.4f}  val {h['val'][-1]:.4f}")
    print("plot:", plot(curves, args.out))
