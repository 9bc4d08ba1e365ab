"""Masked-residue pretraining of the Transformer encoder (self-supervised, as in the course note).

Labels are scarce (a few thousand DeepSol proteins) but sequences are not: the encoder first learns
to fill in hidden residues, which needs no label. Each step hides ``mask_rate`` of the real residues
of a batch (80 % become the [MASK] token 21, 10 % a random residue, 10 % stay, as BERT does, so the
encoder cannot rely on seeing [MASK]) and minimises the cross-entropy of the original residues at
the hidden positions only (``ignore_index`` elsewhere).

Only training-split sequences are used (never held-out or validation ones), so pretraining cannot
memorise the proteins we evaluate on.
"""

from __future__ import annotations

import numpy as np

from .encoding import VOCAB_SIZE

__all__ = ["MASK_TOKEN", "mask_tokens", "pretrain"]

MASK_TOKEN = VOCAB_SIZE  # 21: one past the residues; the Transformer's embedding has a row for it
IGNORE = -100


def mask_tokens(tokens: np.ndarray, rng: np.random.Generator, mask_rate: float = 0.15):
    """``(inputs, targets)``: inputs with hidden residues replaced, targets = original token there, -100 elsewhere."""
    real = tokens > 0
    hide = real & (rng.random(tokens.shape) < mask_rate)
    targets = np.where(hide, tokens, IGNORE)
    inputs = tokens.copy()
    r = rng.random(tokens.shape)
    inputs[hide & (r < 0.8)] = MASK_TOKEN
    swap = hide & (r >= 0.8) & (r < 0.9)
    inputs[swap] = rng.integers(1, VOCAB_SIZE, size=int(swap.sum()))
    return inputs, targets


def pretrain(lib, model, batcher, indices, *, epochs=1, lr=1e-3, batch_size=32, seed=0, device=None,
             progress=None, log=print):  # fmt: skip
    """Masked-residue training of ``model`` (a TransformerClassifier) on ``indices``; returns per-epoch losses."""
    from .dataset import LengthBucketSampler

    progress = progress or (lambda it, **_: it)
    F = lib.nn.functional
    rng = np.random.default_rng([seed, 17])
    indices = np.asarray(indices)
    sampler = LengthBucketSampler(batcher.data.lengths[indices], batch_size, seed=seed + 1000)
    opt = lib.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    model.train()
    losses = []
    for epoch in range(epochs):
        epoch_losses = []
        for b in progress(sampler.batches(epoch), desc=f"pretrain {epoch + 1}"):
            batch = batcher.batch(indices[np.asarray(b)])
            inputs, targets = mask_tokens(batch["sequence"], rng)
            x, m, t = (lib.from_numpy(a) for a in (inputs, batch["mask"], targets))
            if device is not None:
                x, m, t = x.to(device), m.to(device), t.to(device)
            logits = model.mlm_logits(x, m)
            loss = F.cross_entropy(logits.reshape(-1, VOCAB_SIZE), t.reshape(-1), ignore_index=IGNORE)
            opt.zero_grad()
            loss.backward()
            opt.step()
            epoch_losses.append(float(loss.item()))
        losses.append(float(np.mean(epoch_losses)))
        log(f"pretrain epoch {epoch + 1}: masked-residue loss {losses[-1]:.4f} (uniform guess: {np.log(20):.3f})")
    return losses
