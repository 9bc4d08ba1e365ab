"""Samplers: the order in which a DataLoader visits a dataset's indices, and how they are grouped in batches."""

from __future__ import annotations

import numpy as np

from ... import backend
from ... import random as _random
from ...tensor import Tensor

__all__ = [
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "BatchSampler",
]


class Sampler:
    """Base class: an iterable of dataset indices (or, for a batch sampler, of lists of indices)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, 2, ... ``len(data_source) - 1``."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


def _fresh_generator(generator):
    """The generator to draw from: the one given, else a new one seeded from the global generator.

    Seeding a new generator from the global one (as torch does) means each epoch gets a new order, yet
    ``minigrad.manual_seed(s)`` fixes the whole sequence of orders.
    """
    if generator is not None:
        return generator
    seed = int(_random.default_generator.rng.integers(0, 2**63))
    return _random.Generator().manual_seed(seed)


class RandomSampler(Sampler):
    """Indices in a random order: a fresh permutation every epoch (or draws with replacement)."""

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        rng = _fresh_generator(self.generator).rng
        if self.replacement:
            yield from rng.integers(0, n, size=self.num_samples).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from rng.permutation(n).tolist()
        yield from rng.permutation(n).tolist()[: self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a random order each epoch (e.g. a validation split of one dataset)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        for i in _random.rng(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probability proportional to ``weights`` (e.g. to rebalance classes).

    With ``replacement=False`` the draws are successive: each index drawn is removed and the rest are drawn
    in proportion to their weights (torch's ``multinomial``); once every index of non-zero weight is drawn,
    the remaining zero-weight indices follow in a random order, as torch also returns them. The weights are
    checked when drawing, with torch's ``multinomial`` errors (RuntimeError).
    """

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        w = np.asarray(_host(weights.array) if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}")
        self.weights = Tensor._make(w)  # a float64 tensor, as torch's
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        w = self.weights.array
        _check_distribution(w, self.num_samples, self.replacement)
        rng = _random.rng(self.generator)
        if self.replacement:
            yield from rng.choice(len(w), size=self.num_samples, p=w / w.sum()).tolist()
            return
        nonzero = np.flatnonzero(w)
        k = min(self.num_samples, len(nonzero))
        yield from nonzero[rng.choice(len(nonzero), size=k, replace=False, p=w[nonzero] / w[nonzero].sum())].tolist()
        if self.num_samples > k:
            yield from rng.permutation(np.flatnonzero(w == 0))[: self.num_samples - k].tolist()

    def __len__(self) -> int:
        return self.num_samples


def _host(array) -> np.ndarray:
    return backend.to_device(array, backend.CPU)


def _check_distribution(w: np.ndarray, num_samples: int, replacement: bool) -> None:
    """torch's multinomial checks of the weights, in its order and with its messages."""
    if not replacement and num_samples > len(w):
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if not (w >= 0).all():  # NaN fails this test too, and torch reports it the same way
        raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0)")
    if not np.isfinite(w).all():
        raise RuntimeError("invalid multinomial distribution (encountering probability entry = infinity or NaN)")
    if w.sum() <= 0:
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter unless ``drop_last``)."""

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size
