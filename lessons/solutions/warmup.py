"""Exercise 2: linear learning-rate warm-up, two ways that must agree.

``LinearLR(start_factor=s, total_iters=T)`` multiplies the base rate by a factor that grows
linearly from ``s`` to 1 over ``T`` scheduler steps; by hand, set ``param_groups[0]['lr']`` before
each optimiser step. Both give the same schedule, and the same trained weights.

Run: ``python -m lessons.solutions.warmup``
"""

from __future__ import annotations

import numpy as np

import minigrad


def scheduled_lrs(target=1e-3, start=1e-7, warmup_steps=10, total_steps=15):
    w = minigrad.zeros(1, requires_grad=True)
    opt = minigrad.optim.SGD([w], lr=target)
    sched = minigrad.optim.lr_scheduler.LinearLR(
        opt, start_factor=start / target, end_factor=1.0, total_iters=warmup_steps
    )
    lrs = []
    for _ in range(total_steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def manual_lrs(target=1e-3, start=1e-7, warmup_steps=10, total_steps=15):
    return [start + (target - start) * min(step, warmup_steps) / warmup_steps for step in range(total_steps)]


def train_with_warmup(manual: bool, steps=30, seed=0):
    """A small regression trained with Adam and a warm-up; returns the final weights."""
    rng = np.random.default_rng(seed)
    x = minigrad.tensor(rng.standard_normal((64, 5)))
    y = x @ minigrad.tensor(rng.standard_normal((5, 1))) + 0.1
    w = minigrad.tensor(np.zeros((5, 1)), requires_grad=True)
    opt = minigrad.optim.Adam([w], lr=1e-2)
    sched = None if manual else minigrad.optim.lr_scheduler.LinearLR(opt, start_factor=1e-5, total_iters=10)
    for step in range(steps):
        if manual:
            opt.param_groups[0]["lr"] = 1e-2 * (1e-5 + (1 - 1e-5) * min(step, 10) / 10)
        loss = ((x @ w - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
    return w.detach().numpy()


if __name__ == "__main__":
    for i, (a, b) in enumerate(zip(scheduled_lrs(), manual_lrs())):
        print(f"step {i:2d}: LinearLR {a:.3e}   by hand {b:.3e}")
