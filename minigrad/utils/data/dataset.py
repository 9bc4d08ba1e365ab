"""Datasets: anything with ``__getitem__`` and ``__len__`` (map-style) or ``__iter__`` (iterable-style).

A :class:`DataLoader` asks a map-style dataset for samples by index (``dataset[i]``), so a dataset decides
what one sample *is* (a tensor, a tuple ``(x, y)``, a dict...), and the loader's collate function decides
how a list of samples becomes a batch.
"""

from __future__ import annotations

import bisect
import itertools
import math
import warnings

import numpy as np

from ... import random as _random
from ...tensor import Tensor

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "ChainDataset", "random_split"]


class Dataset:
    """Base class of map-style datasets: subclasses implement ``__getitem__`` (and usually ``__len__``)."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """Base class of datasets that are a stream of samples: subclasses implement ``__iter__``.

    Useful when samples come from a file read line by line, or are generated on the fly. A DataLoader
    iterates it in order (``shuffle`` and samplers do not apply) and batches what it yields. With
    ``num_workers > 0`` every worker iterates its own copy: ``__iter__`` should use
    :func:`get_worker_info` to yield only that worker's share, or each sample arrives once per worker.
    ``len()`` is only defined if the subclass defines ``__len__``.
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __add__(self, other):
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples are rows of tensors: ``dataset[i] == (t1[i], t2[i], ...)``, e.g. ``TensorDataset(X, y)``."""

    def __init__(self, *tensors: Tensor):
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: argument {i} is a {type(t).__name__}, expected a Tensor")
            if t.ndim == 0:
                raise ValueError(
                    f"TensorDataset: argument {i} is a 0-d tensor; each tensor needs a first dimension "
                    "indexing the samples"
                )
        if tensors and any(t.shape[0] != tensors[0].shape[0] for t in tensors):
            sizes = ", ".join(str(t.shape[0]) for t in tensors)
            raise ValueError(
                f"TensorDataset: size mismatch between tensors: their first dimensions (the number of "
                f"samples) must be equal, got {sizes}"
            )
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(_take(t, index) for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0] if self.tensors else 0


def _take(t: Tensor, index):
    if t.requires_grad:
        return t[index]  # stays in the graph
    if isinstance(index, Tensor):
        index = index.array
    return Tensor._make(t.array[index])


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several map-style datasets one after another: indices run through the first, then the second..."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if len(self.datasets) == 0:
            raise AssertionError("ConcatDataset: datasets should not be an empty iterable")  # torch's type
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset (use ChainDataset)")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError(f"ConcatDataset: absolute value of index {idx} should not exceed dataset length {n}")
            idx += n
        if idx >= n:
            raise IndexError(f"ConcatDataset: index {idx} is out of range for a dataset of length {n}")
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


class ChainDataset(IterableDataset):
    """Several iterable datasets, streamed one after another (each is checked when reached, as in torch)."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            _check_iterable(d)
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            _check_iterable(d)
            total += len(d)
        return total


def _check_iterable(d) -> None:
    if not isinstance(d, IterableDataset):  # torch raises AssertionError here; so do we
        raise AssertionError(f"ChainDataset only supports IterableDataset, got a {type(d).__name__}")


def random_split(dataset, lengths, generator=None) -> list:
    """Split ``dataset`` at random into non-overlapping :class:`Subset` s.

    ``lengths`` are sizes (summing to ``len(dataset)``) or fractions (summing to 1): ``[0.8, 0.2]``. With
    fractions, each split gets ``floor(n * fraction)`` samples and the leftover samples go one each to the
    first splits. The permutation comes from ``generator`` (default: the global generator, so
    ``minigrad.manual_seed`` makes splits reproducible).
    """
    n = len(dataset)
    lengths = list(lengths)
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1: {frac}")
            sizes.append(math.floor(n * frac))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.", stacklevel=2
                )
        lengths = sizes
    if any(not isinstance(k, (int, np.integer)) or k < 0 for k in lengths):
        raise ValueError(
            f"random_split: lengths must be non-negative integers or fractions summing to 1, got {lengths}"
        )
    if sum(lengths) != n:
        raise ValueError(
            f"random_split: sum of input lengths ({sum(lengths)}) does not equal the length of the input dataset ({n})!"
        )
    perm = _random.rng(generator).permutation(n).tolist()
    out, offset = [], 0
    for k in lengths:
        out.append(Subset(dataset, perm[offset : offset + k]))
        offset += k
    return out
