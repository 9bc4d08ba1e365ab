"""Lesson 10 (debugging and best practice): two helpers worth keeping in every training script.

Both take a minigrad ``nn.Module``; the checks build a torch twin with the same weights and compare. Grade with
``EXERCISES=exercises .venv/bin/pytest -q tests/test_exercises.py -k lesson10``.
"""


def gradient_norms(model):
    """The gradient norms to log after ``loss.backward()``: return ``(per_parameter, total)``.

    ``per_parameter`` maps each name of ``model.named_parameters()`` whose ``.grad`` is not None to the
    L2 norm of that gradient, as a Python float; ``total`` is the norm of all those gradients taken as one
    vector (a float; 0.0 when no parameter has a gradient). Leave the gradients unchanged.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson10.py::gradient_norms")


def first_nonfinite_module(model, x):
    """Run ``model(x)`` and return the name (from ``model.named_modules()``) of the first module whose
    output contains a NaN or an infinity, in the order the outputs are computed; None when every output
    is finite. The root module's name is ``""``.

    Register a forward hook (``module.register_forward_hook(hook)``, ``hook(module, args, output)``) on
    every module, run the model once without recording gradients, and remove every hook before
    returning (``handle.remove()``), whatever happens: the model must be left as it was found.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson10.py::first_nonfinite_module")
