"""Lesson 08 (the case study and the parity suite): moving weights between libraries, and ROC-AUC by hand.

Grade your work with ``EXERCISES=exercises .venv/bin/pytest -q tests/test_exercises.py -k lesson08``.
"""


def copy_state(src, dst):
    """Copy every parameter and buffer of model ``src`` into model ``dst``, where one is a torch module and
    the other a minigrad module (either way round).

    First compare the two ``state_dict()``s: every name must be in both, with the same shape. If anything
    differs, raise a ``ValueError`` whose message names *every* mismatch (missing names, unexpected names,
    shape differences), and leave ``dst`` unchanged. Otherwise load the values into ``dst`` with its
    ``load_state_dict``, as tensors of ``dst``'s library (``lib.from_numpy(array)``; torch's
    ``load_state_dict`` refuses NumPy arrays). Which library a tensor belongs to:
    ``type(t).__module__.split(".")[0]``.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson08.py::copy_state")


def roc_auc(labels, scores):
    """The area under the ROC curve of ``scores`` (higher = more likely soluble) for 0/1 ``labels``.

    Compute it as a probability: over every pair of one soluble (1) and one insoluble (0) protein, the
    share of pairs in which the soluble one scores higher, a tie counting one half. Return a Python float.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson08.py::roc_auc")
