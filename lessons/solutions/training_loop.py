"""The course note's complete training loop (its section 5), in minigrad, on the solubility data.

Lesson 11 reads these functions one by one; the solutions to exercises 2, 4 and 5 reuse them:

* :func:`make_loaders` - embedded synthetic proteins, a stratified 80/10/10 split, three DataLoaders;
* :func:`train_one_epoch` - forward, loss, backward, clip, step, for every batch;
* :func:`evaluate` - the loss, P(soluble) and the labels on held-out data, with no graph recorded;
* :func:`train_model` - epochs of both, ``ReduceLROnPlateau`` on the validation loss, early stopping
  with patience, the best weights saved with ``minigrad.save`` and restored at the end.

Written as the note writes it for torch, with ``import minigrad as torch`` in its place.

Run: ``python -m lessons.solutions.training_loop``
"""

from __future__ import annotations

import math

import minigrad as torch
from minigrad import nn
from solubility.dataset import ProteinDataset, make_collate
from solubility.metrics import classification_metrics
from solubility.model import build_model
from solubility.split import stratified_split
from solubility.synthetic import make_synthetic


def make_loaders(n=400, *, seed=0, batch_size=16, dtype=torch.float64, soluble_fraction=0.45, max_length=120):
    """Train, validation and test loaders over ``n`` short synthetic proteins (stratified 80/10/10).

    Only the training loader shuffles; its order comes from minigrad's generator, so seed it
    (``torch.manual_seed``) before each run that must repeat.
    """
    records = make_synthetic(n=n, seed=seed, median_length=60, max_length=max_length, soluble_fraction=soluble_fraction)
    data = ProteinDataset(records)
    train, val, test = stratified_split(data.labels, seed=seed)
    collate = make_collate(torch, dtype=dtype)  # pads each batch to its own longest protein, with a mask

    def loader(indices, shuffle):
        return torch.utils.data.DataLoader(
            data.subset(indices), batch_size=batch_size if shuffle else 64, shuffle=shuffle, collate_fn=collate
        )

    return loader(train, True), loader(val, False), loader(test, False)


def train_one_epoch(model, loader, criterion, optimizer, max_norm=1.0, on_step=None):
    """One pass over the training batches; returns the mean batch loss.

    ``on_step``, if given, is called after every optimizer step (a per-batch schedule, such as a warm-up).
    """
    model.train()  # dropout on
    total = 0.0
    for batch in loader:
        logits = model(batch["sequence"], batch["mask"])  # 1. forward: (N, 2) scores
        loss = criterion(logits, batch["label"])  # 2. one number for the batch
        optimizer.zero_grad()  # 3. backward, into gradients cleared first
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_norm)
        optimizer.step()  # 4. update the weights
        if on_step is not None:
            on_step()
        total += loss.item()
    return total / len(loader)


@torch.no_grad()
def evaluate(model, loader, criterion):
    """Mean batch loss, P(soluble) and labels (NumPy, in loader order) on held-out data."""
    model.eval()  # dropout off
    total, probs, labels = 0.0, [], []
    for batch in loader:
        logits = model(batch["sequence"], batch["mask"])
        total += criterion(logits, batch["label"]).item()
        probs.append(torch.softmax(logits, dim=-1)[:, 1])
        labels.append(batch["label"])
    return total / len(loader), torch.cat(probs).numpy(), torch.cat(labels).numpy()


def train_model(
    model,
    train_loader,
    val_loader,
    *,
    optimizer=None,
    epochs=30,
    patience=4,
    plateau_patience=1,
    checkpoint="best_model.pt",
    metrics=classification_metrics,
    on_step=None,
    warmup_steps=0,
    log=print,
):
    """Train with early stopping on the validation loss; return the history, with the best weights loaded.

    ``optimizer`` defaults to Adam at 1e-3. The learning rate is halved when the validation loss has not
    improved for more than ``plateau_patience`` epochs; training stops after ``patience`` epochs without a
    new best. ``metrics(labels, probs)`` must return a dict with ``accuracy`` and ``mcc``. ``on_step`` runs
    after every optimizer step. With ``warmup_steps``, the plateau schedule and the count of bad epochs wait
    until that many steps are done: a warm-up is still raising the rate, and a model is judged at full rate.
    """
    criterion = nn.CrossEntropyLoss()
    optimizer = optimizer if optimizer is not None else torch.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=plateau_patience)
    best_val_loss, bad_epochs, history = math.inf, 0, []
    for epoch in range(epochs):
        train_loss = train_one_epoch(model, train_loader, criterion, optimizer, on_step=on_step)
        val_loss, probs, labels = evaluate(model, val_loader, criterion)
        warming_up = (epoch + 1) * len(train_loader) < warmup_steps
        if not warming_up:
            scheduler.step(val_loss)
        scores = metrics(labels, probs)
        lr = optimizer.param_groups[0]["lr"]
        history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "lr": lr, **scores})
        log(
            f"epoch {epoch:2d} | train {train_loss:.4f} | val {val_loss:.4f} | "
            f"accuracy {scores['accuracy']:.3f} | MCC {scores['mcc']:+.3f} | lr {lr:.2e}"
        )
        if val_loss < best_val_loss:
            best_val_loss, bad_epochs = val_loss, 0
            torch.save(model.state_dict(), checkpoint)  # on disk: later steps cannot change it
        elif not warming_up:
            bad_epochs += 1
            if bad_epochs >= patience:
                log(f"early stop: no better validation loss for {patience} epochs")
                break
    model.load_state_dict(torch.load(checkpoint))
    return history


def main(seed=0, checkpoint="best_model.pt"):
    torch.manual_seed(seed)
    train_loader, val_loader, test_loader = make_loaders(seed=seed)
    model = build_model(torch, dtype=torch.float64, embed_dim=16, hidden_dim=32)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    history = train_model(model, train_loader, val_loader, optimizer=optimizer, checkpoint=checkpoint)
    test_loss, probs, labels = evaluate(model, test_loader, nn.CrossEntropyLoss())
    return history, test_loss, classification_metrics(labels, probs)


if __name__ == "__main__":
    _, loss, scores = main()
    print(f"test loss {loss:.4f}, accuracy {scores['accuracy']:.3f}, MCC {scores['mcc']:+.3f}")
