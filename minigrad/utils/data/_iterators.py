"""The iterator of one epoch over a DataLoader, when batches are made in the main process.

:class:`LoaderIter` holds what every epoch iterator shares (the index sampler, the fetch settings, the
warning torch gives when an iterable dataset yields more than its ``len``); :class:`SingleProcessIter`
fetches each batch itself. The worker-process iterator is in :mod:`._multiprocess_iter`.
"""

from __future__ import annotations

import warnings

from ... import random as _random
from ._fetch import make_fetcher

__all__ = ["LoaderIter", "SingleProcessIter"]


class LoaderIter:
    """Base of the epoch iterators: ``next`` gives a batch, ``len`` the number of batches of the sampler."""

    def __init__(self, loader):
        self._dataset = loader.dataset
        self._is_iterable = loader._is_iterable
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._collate_fn = loader.collate_fn
        self._num_workers = loader.num_workers
        self._restart_sampler(loader)
        # one draw per epoch iterator, workers or not (as torch): the workers' seeds are base_seed + worker
        # id, and because the draw also happens without workers, a shuffled order does not depend on
        # num_workers. Same order of draws as torch: after iter(sampler), before a RandomSampler's first
        # index (the moment it draws its permutation).
        self._base_seed = int(_random.rng(loader.generator).integers(0, 2**63))

    def _restart_sampler(self, loader) -> None:
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._reported_len = loader._reported_dataset_len

    def __iter__(self):
        return self

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        if self._is_iterable and self._reported_len is not None and self._num_yielded > self._reported_len:
            self._warn_longer_than_reported()
        return data

    def _next_data(self):
        raise NotImplementedError

    def _warn_longer_than_reported(self) -> None:
        # as torch, the count of batches is compared with the dataset's len (a count of samples)
        msg = (
            f"Length of IterableDataset {self._dataset} was reported to be {self._reported_len} (when accessing "
            f"len(dataloader)), but {self._num_yielded} samples have been fetched. "
        )
        if self._num_workers > 0:
            msg += (
                "With worker processes, this could be caused by not giving each worker its own share of the "
                "IterableDataset (see get_worker_info())."
            )
        warnings.warn(msg, stacklevel=3)

    def __len__(self) -> int:
        return len(self._index_sampler)


class SingleProcessIter(LoaderIter):
    """Fetches every batch in the main process, one after the other (``num_workers=0``)."""

    def __init__(self, loader):
        super().__init__(loader)
        if loader.timeout != 0:  # torch's type for this case; the timeout guards waiting on workers
            raise AssertionError(f"DataLoader: timeout={loader.timeout} needs num_workers > 0 (got num_workers=0)")
        self._fetcher = make_fetcher(
            self._dataset, self._is_iterable, self._auto_collation, self._collate_fn, self._drop_last
        )

    def _next_data(self):
        index = next(self._sampler_iter)  # StopIteration here or in fetch ends the epoch
        return self._fetcher.fetch(index)
