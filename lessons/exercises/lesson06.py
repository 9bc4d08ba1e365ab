"""Lesson 06 (optimisers): one update step of SGD, RMSprop and Adam, on NumPy arrays, as torch.optim defines them.

Each function updates ``param`` in place (write ``param -= ...`` or ``param[...] = ...``, not ``param = ...``) and
keeps whatever it must remember between steps in the dict ``state`` (empty on the first call; the same dict
comes back on every later call for the same parameter). ``grad`` is only read. Grade your work with
``EXERCISES=exercises .venv/bin/pytest -q tests/test_exercises.py -k lesson06``.
"""


def sgd_step(param, grad, state, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    """One step of ``torch.optim.SGD``.

    ``g = grad + weight_decay * param``; with ``momentum != 0`` keep a buffer ``b`` in ``state``: ``b = g`` on
    the first step, afterwards ``b = momentum * b + (1 - dampening) * g``; then step along ``b`` (or along
    ``g + momentum * b`` when ``nesterov``). Without momentum, step along ``g``: ``param -= lr * direction``.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson06.py::sgd_step")


def rmsprop_step(param, grad, state, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0):
    """One step of ``torch.optim.RMSprop`` (not centered, no momentum).

    ``g = grad + weight_decay * param``; keep the running mean square ``v`` in ``state`` (zeros at first):
    ``v = alpha * v + (1 - alpha) * g * g``; then ``param -= lr * g / (sqrt(v) + eps)``.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson06.py::rmsprop_step")


def adam_step(param, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    """One step of ``torch.optim.Adam`` (``decoupled=False``) or ``torch.optim.AdamW`` (``decoupled=True``).

    Count the steps in ``state`` (``t = 1`` on the first call) and keep ``m`` and ``v`` there (zeros at first).
    Weight decay: Adam adds ``weight_decay * param`` to the gradient; AdamW instead shrinks the parameter first,
    ``param *= 1 - lr * weight_decay``. Then ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
    ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)`` and ``param -= lr * m_hat / (sqrt(v_hat) + eps)``.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson06.py::adam_step")
