"""Exercise 3: gradient accumulation. Four mini-batches of 32 give the gradient of one batch of 128.

Gradients add up in ``.grad`` until ``zero_grad()``. Dividing each mini-batch's mean loss by the
number of accumulation steps makes the sum equal to the mean over the large batch, so the
gradients agree to rounding (float64 here, to make the comparison exact to ~1e-15).

Run: ``python -m lessons.solutions.gradient_accumulation``
"""

from __future__ import annotations

import numpy as np

import minigrad
from minigrad import nn


def make_model(seed=0):
    minigrad.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 2)).double()


def grads_full_batch(model, x, y):
    model.zero_grad()
    nn.CrossEntropyLoss()(model(x), y).backward()
    return {n: p.grad.numpy().copy() for n, p in model.named_parameters()}


def grads_accumulated(model, x, y, micro=32):
    model.zero_grad()
    steps = len(x) // micro
    for i in range(steps):
        xb, yb = x[i * micro : (i + 1) * micro], y[i * micro : (i + 1) * micro]
        (nn.CrossEntropyLoss()(model(xb), yb) / steps).backward()
    return {n: p.grad.numpy().copy() for n, p in model.named_parameters()}


def compare(batch=128, micro=32, seed=0):
    rng = np.random.default_rng(seed)
    x = minigrad.tensor(rng.standard_normal((batch, 20)))
    y = minigrad.tensor(rng.integers(0, 2, batch))
    model = make_model(seed)
    full, acc = grads_full_batch(model, x, y), grads_accumulated(model, x, y, micro)
    return max(float(np.abs(full[k] - acc[k]).max()) for k in full)


def train_accumulating(loader, model, optimizer, accumulation_steps=4):
    """The training-loop pattern: zero_grad once per effective batch, step every N mini-batches."""
    optimizer.zero_grad()
    for i, (xb, yb) in enumerate(loader):
        loss = nn.CrossEntropyLoss()(model(xb), yb) / accumulation_steps
        loss.backward()
        if (i + 1) % accumulation_steps == 0:
            optimizer.step()
            optimizer.zero_grad()


if __name__ == "__main__":
    print(f"largest difference between accumulated and full-batch gradients: {compare():.2e}")
