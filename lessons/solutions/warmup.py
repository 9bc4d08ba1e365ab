"""Exercise 2: a linear learning-rate warm-up, 1,000 steps from 1e-7 to 1e-3, inside the training loop.

The loop is lesson 11's (``lessons/solutions/training_loop.py::train_model``), which calls ``on_step`` after
every optimizer step. The warm-up is written two ways, as the note's hint offers:

* ``LinearLR(optimizer, start_factor=1e-7 / 1e-3, total_iters=1000)``, stepped after every batch: it
  multiplies the rate by the ratio of consecutive factors, so it starts at 1e-7 and reaches 1e-3 at step 1000;
* by hand: before step ``s``, ``param_groups[0]['lr'] = 1e-7 + (1e-3 - 1e-7) * min(s, 1000) / 1000``.

Both feed the optimizer the same rates (to rounding), so with the same seed they train the same weights.
The rate then stays at 1e-3 until the loop's ``ReduceLROnPlateau`` lowers it. The loop holds the plateau
schedule and the early-stopping count back until the warm-up is over (``warmup_steps``): halving a rate the
warm-up is still raising would make both wrong, and a model should be judged once it trains at full rate.

With 320 training proteins in batches of 8 (40 steps per epoch) the warm-up spans the first 25 epochs.

Run: ``python -m lessons.solutions.warmup``
"""

from __future__ import annotations

import os
import tempfile

import minigrad as torch
from solubility.model import build_model

from .training_loop import make_loaders, train_model

TARGET_LR, START_LR, WARMUP_STEPS = 1e-3, 1e-7, 1000


def scheduler_warmup(optimizer, steps=WARMUP_STEPS, start=START_LR):
    """The warm-up as a ``LinearLR`` scheduler; returns what to call after every optimizer step."""
    target = optimizer.param_groups[0]["lr"]
    scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=start / target, total_iters=steps)
    return scheduler.step


def manual_warmup(optimizer, steps=WARMUP_STEPS, start=START_LR):
    """The warm-up by hand, writing ``param_groups[...]['lr']``; returns what to call after every step."""
    target = optimizer.param_groups[0]["lr"]
    done = 0

    def set_rate():
        for group in optimizer.param_groups:
            group["lr"] = start + (target - start) * min(done, steps) / steps

    def after_step():
        nonlocal done
        done += 1
        if done <= steps:  # afterwards the rate is left alone, for the plateau schedule to lower
            set_rate()

    set_rate()  # the first step already trains at ``start``
    return after_step


WARMUPS = {"LinearLR": scheduler_warmup, "by hand": manual_warmup}


def train_with_warmup(
    method="LinearLR", *, n=400, batch_size=8, epochs=30, patience=4, seed=0, model_kwargs=None, log=print
):
    """Train lesson 11's model with a warm-up; returns ``(model, rates, history)``.

    ``rates[s]`` is the learning rate optimizer step ``s`` used. ``model_kwargs`` default to lesson 11's widths.
    """
    torch.manual_seed(seed)
    train_loader, val_loader, _ = make_loaders(n=n, seed=seed, batch_size=batch_size)
    model = build_model(torch, dtype=torch.float64, **(model_kwargs or {"embed_dim": 16, "hidden_dim": 32}))
    optimizer = torch.optim.Adam(model.parameters(), lr=TARGET_LR)
    advance = WARMUPS[method](optimizer)
    rates = []

    def on_step():
        rates.append(optimizer.param_groups[0]["lr"])  # the rate the step just taken used
        advance()

    with tempfile.TemporaryDirectory() as tmp:
        history = train_model(
            model,
            train_loader,
            val_loader,
            optimizer=optimizer,
            epochs=epochs,
            patience=patience,
            checkpoint=os.path.join(tmp, "best_model.pt"),
            on_step=on_step,
            warmup_steps=WARMUP_STEPS,
            log=log,
        )
    return model, rates, history


if __name__ == "__main__":
    model, rates, history = train_with_warmup()
    for step in (0, 1, 250, 500, 999, 1000, len(rates) - 1):
        print(f"step {step:4d}: lr {rates[step]:.6e}")
