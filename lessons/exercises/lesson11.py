"""Lesson 11 (the training loop): the pieces of a training loop, written by you, on minigrad.

Grade your work with ``EXERCISES=exercises .venv/bin/pytest -q tests/test_exercises.py -k lesson11``.
"""


def linear_warmup(optimizer, warmup_steps, start_lr):
    """A learning-rate scheduler for ``optimizer`` (a minigrad optimizer) that performs a linear warm-up.

    Called as ``optimizer.step(); scheduler.step()`` once per batch, it must make ``param_groups[0]['lr']``
    equal ``start_lr`` for the first batch, grow it linearly to the rate the optimizer was created with
    (its ``param_groups[0]['lr']`` now) over ``warmup_steps`` steps, and then hold it there. With an optimizer
    at 1e-3, ``linear_warmup(opt, 1000, 1e-7)`` is the course note's exercise 2. Use one of
    ``minigrad.optim.lr_scheduler``'s classes.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson11.py::linear_warmup")


def early_stopping(val_losses, patience):
    """Replay early stopping on a list of validation losses, one per epoch (epochs numbered from 0).

    The rule of ``train_model`` in lesson 11: an epoch is a new best when its loss is strictly below every
    earlier one; training stops at the epoch that makes ``patience`` epochs in a row without a new best.
    Return ``(best_epoch, stop_epoch)``: the epoch whose weights the loop restores, and the epoch at which
    it stops, or ``None`` when it runs through every epoch given.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson11.py::early_stopping")


def snapshot(model):
    """A copy of ``model``'s state (a dict from names to tensors or arrays) that ``model.load_state_dict``
    accepts and that later training steps cannot change.

    Beware: ``model.state_dict()`` alone shares memory with the model's parameters.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson11.py::snapshot")


def evaluate_mcc(model, loader):
    """Evaluate a two-class ``model(sequence, mask)`` on ``loader`` (batches are dicts with ``sequence``,
    ``mask`` and ``label``), in evaluation mode and without recording a graph.

    Return ``{"loss": ..., "accuracy": ..., "mcc": ...}`` as Python floats: the cross-entropy averaged over
    all proteins (not over batches), the share of proteins whose ``argmax`` class is their label, and the
    Matthews correlation coefficient of those predictions (label 1 is positive), computed from the four
    confusion counts: ``(TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN))``, and 0 when the denominator is 0.
    Leave the model in the mode (training or evaluation) it was in.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson11.py::evaluate_mcc")
