"""Checks of lesson 06's exercises (see tests/test_exercises.py): several steps beside torch.optim."""

import numpy as np
import torch

from tests.exercise_checks import _close, check

STEPS = 8


def _beside_torch(step_fn, make_torch_opt, options, seed):
    """Run ``step_fn`` (the student's update) and a torch optimiser on the same gradients for STEPS steps.

    The gradient of each step depends on the current parameter (a quadratic bowl plus a fixed random push), so
    an error in one step changes every later gradient too; the parameters are compared after every step.
    """
    rng = np.random.default_rng(seed)
    start = rng.normal(size=(3, 4))
    curvature, pushes = rng.uniform(0.1, 10.0, size=(3, 4)), rng.normal(size=(STEPS, 3, 4))
    mine, state = start.copy(), {}
    theirs = torch.tensor(start.copy(), requires_grad=True)
    opt = make_torch_opt([theirs], **options)
    for t in range(STEPS):
        grad = curvature * mine + pushes[t]
        result = step_fn(mine, grad.copy(), state, **options)
        assert result is None or result is mine, "update param in place (param -= ...), do not return a new array"
        theirs.grad = torch.tensor(curvature) * theirs.detach() + torch.tensor(pushes[t])
        opt.step()
        _close(mine, theirs, rtol=1e-9, atol=1e-12)


@check("lesson06", "sgd_step")
def check_sgd_step(ex):
    for seed, options in enumerate(
        (
            dict(lr=0.05),
            dict(lr=0.05, momentum=0.9),
            dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01),
            dict(lr=0.05, momentum=0.8, nesterov=True),
        )
    ):
        _beside_torch(ex.sgd_step, torch.optim.SGD, options, seed)


@check("lesson06", "rmsprop_step")
def check_rmsprop_step(ex):
    for seed, options in enumerate((dict(lr=0.01), dict(lr=0.05, alpha=0.9, eps=1e-6, weight_decay=0.1))):
        _beside_torch(ex.rmsprop_step, torch.optim.RMSprop, options, 10 + seed)


@check("lesson06", "adam_step")
def check_adam_step(ex):
    for seed, options in enumerate(
        (dict(lr=0.1), dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1), dict(lr=0.05, weight_decay=0.1))
    ):
        _beside_torch(ex.adam_step, torch.optim.Adam, options, 20 + seed)
    adamw = dict(lr=0.05, weight_decay=0.1)
    _beside_torch(lambda *a, **o: ex.adam_step(*a, decoupled=True, **o), torch.optim.AdamW, adamw, 30)
