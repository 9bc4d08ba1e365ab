"""Answers to lessons/exercises/lesson11.py."""

import math

import minigrad


def linear_warmup(optimizer, warmup_steps, start_lr):
    """``LinearLR`` scales the optimizer's rate by a factor going from ``start_factor`` to 1: start there."""
    target = optimizer.param_groups[0]["lr"]
    return minigrad.optim.lr_scheduler.LinearLR(
        optimizer, start_factor=start_lr / target, end_factor=1.0, total_iters=warmup_steps
    )


def early_stopping(val_losses, patience):
    """Count the epochs since the last new best; stop when the count reaches ``patience``."""
    best, best_epoch, bad = math.inf, None, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best:
            best, best_epoch, bad = loss, epoch, 0
        else:
            bad += 1
            if bad >= patience:
                return best_epoch, epoch
    return best_epoch, None


def snapshot(model):
    """Copy every array now: the state dict's tensors are the parameters themselves, detached."""
    return {name: t.detach().numpy().copy() for name, t in model.state_dict().items()}


def evaluate_mcc(model, loader):
    """Sum the per-protein losses and the confusion counts over all batches, then divide once."""
    was_training = model.training
    model.eval()
    total, n, tp, tn, fp, fn = 0.0, 0, 0, 0, 0, 0
    with minigrad.no_grad():
        for batch in loader:
            logits = model(batch["sequence"], batch["mask"])
            labels = batch["label"]
            total += minigrad.nn.functional.cross_entropy(logits, labels, reduction="sum").item()
            pred, y = logits.argmax(dim=1).numpy().astype(bool), labels.numpy().astype(bool)
            tp, tn = tp + int((pred & y).sum()), tn + int((~pred & ~y).sum())
            fp, fn = fp + int((pred & ~y).sum()), fn + int((~pred & y).sum())
            n += len(y)
    model.train(was_training)
    den = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
    mcc = (tp * tn - fp * fn) / math.sqrt(den) if den else 0.0
    return {"loss": total / n, "accuracy": (tp + tn) / n, "mcc": mcc}
