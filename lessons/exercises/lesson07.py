"""Lesson 07 (data loading): a collate function, masked pooling and a stratified split, written by you.

Grade your work with ``EXERCISES=exercises .venv/bin/pytest -q tests/test_exercises.py -k lesson07``.
"""


def pad_collate(items):
    """Collate a list of proteins, each a dict ``{"sequence": int64 NumPy tokens (1..20), "label": 0 or 1}``,
    into a batch padded to its longest protein.

    Return a dict of minigrad tensors: ``"sequence"`` (N, L) int64 with 0 after each protein's end,
    ``"mask"`` (N, L) float32 with 1.0 at real residues and 0.0 at padding, ``"label"`` (N,) int64 and
    ``"lengths"`` (N,) int64, where L is the longest length in the batch.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson07.py::pad_collate")


def masked_mean(h, mask):
    """The mean of features ``h`` (N, C, L) over the real positions marked by ``mask`` (N, L) (1.0 = residue).

    Return an (N, C) minigrad tensor, built from minigrad operations so that ``backward`` works through it.
    A protein whose mask is all zeros must get a mean of 0 (divide by at least 1), not NaN: the course
    model's pooling.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson07.py::masked_mean")


def stratified_split(labels, fractions=(0.8, 0.1, 0.1), seed=0):
    """Split the indices ``0..len(labels)-1`` at random into parts of the given fractions (summing to 1),
    with the same share of each label in every part.

    Return one sorted int64 NumPy array per fraction. Split each class on its own: shuffle its indices with
    ``numpy.random.default_rng(seed)`` and give part k ``floor(fraction_k * n_class)`` of them, handing the
    few left over one each to the first parts. The same seed gives the same split.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson07.py::stratified_split")
