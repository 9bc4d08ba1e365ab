"""DataLoader: iterate over a dataset in (shuffled) mini-batches.

For a map-style dataset each batch is made in three steps:

1. a *sampler* yields indices (in order, or shuffled with ``shuffle=True``), and a *batch sampler* groups
   them into lists of ``batch_size`` indices;
2. the loader fetches the samples, ``[dataset[i] for i in indices]``;
3. ``collate_fn`` turns that list into a batch (by default: stack tensors, see :mod:`._collate`).

An :class:`IterableDataset` has no indices: the loader takes the next ``batch_size`` samples of its stream.

With ``num_workers=0`` the main process does all three steps, batch after batch (:mod:`._iterators`). With
``num_workers > 0``, steps 2 and 3 run in that many worker processes, ``prefetch_factor`` batches ahead
each, and the batches still come out in the sampler's order (:mod:`._multiprocess_iter`, :mod:`._worker`).
``pin_memory`` is accepted and does nothing.
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from math import ceil

from ._collate import default_collate, default_convert
from ._iterators import SingleProcessIter
from ._multiprocess_iter import MultiProcessIter
from ._worker import get_worker_info
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info"]


class _InfiniteConstantSampler(Sampler):
    """``None`` forever: the "indices" of an iterable dataset, one per sample to take from its stream."""

    def __iter__(self):
        while True:
            yield None


def _usable_cpus() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count()


class DataLoader:
    """Iterate over ``dataset`` in batches (torch's ``DataLoader``; same arguments).

    Args:
        dataset: a map-style :class:`Dataset` (``__getitem__``/``__len__``) or an :class:`IterableDataset`.
        batch_size: samples per batch; ``None`` disables batching (each sample is only converted).
        shuffle: a new random order every epoch, drawn from ``generator`` or the global generator (so
            ``minigrad.manual_seed`` makes the orders reproducible).
        sampler / batch_sampler: custom index orders (mutually exclusive with ``shuffle``, and
            ``batch_sampler`` with ``batch_size``/``drop_last``).
        num_workers: worker processes that fetch and collate batches (0: the main process does it).
        collate_fn: list of samples -> batch; e.g. one that pads sequences to the batch's longest. With
            workers it runs in the workers.
        drop_last: drop the last, incomplete batch (with an iterable dataset: each worker's last one).
        timeout: seconds to wait for a worker's batch before a RuntimeError (0: wait for ever).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker, after it is seeded.
        multiprocessing_context: a start method name ('fork', 'spawn', 'forkserver') or context.
        generator: draws the shuffled orders and the workers' base seed.
        prefetch_factor: batches each worker prepares ahead (default 2 with workers).
        persistent_workers: keep the workers (and their dataset copies) alive from one epoch to the next.
        in_order: with workers, hand out batches in the sampler's order (False: as soon as they are ready).
    """

    _frozen = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")

    def __init__(
        self,
        dataset,
        batch_size=1,
        shuffle=None,
        sampler=None,
        batch_sampler=None,
        num_workers=0,
        collate_fn=None,
        pin_memory=False,
        drop_last=False,
        timeout=0,
        worker_init_fn=None,
        multiprocessing_context=None,
        generator=None,
        *,
        prefetch_factor=None,
        persistent_workers=False,
        pin_memory_device="",
        in_order=True,
    ):
        prefetch_factor = self._check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers)
        self.num_workers = num_workers
        self.multiprocessing_context = multiprocessing_context  # checked now, as torch (needs num_workers)
        self._is_iterable = isinstance(dataset, IterableDataset)
        if self._is_iterable:
            self._check_iterable_options(shuffle, sampler, batch_sampler)
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")

        if sampler is None:
            if self._is_iterable:
                sampler = _InfiniteConstantSampler()
            else:
                sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.pin_memory_device = pin_memory_device
        self.in_order = in_order
        self._reported_dataset_len = None  # len(dataset) of an iterable dataset, once len(loader) asked it
        self._iterator = None  # the epoch iterator kept with persistent_workers
        self._initialized = True
        self._warn_if_too_many_workers()

    @staticmethod
    def _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers):
        """torch's checks of the worker options; returns prefetch_factor with its default filled in."""
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing. let num_workers > 0 "
                "to enable multiprocessing, otherwise set prefetch_factor to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        return prefetch_factor

    @staticmethod
    def _check_iterable_options(shuffle, sampler, batch_sampler):
        """An iterable dataset decides its own order: shuffle and samplers do not apply (torch's errors)."""
        if shuffle not in (None, False):
            raise ValueError(
                f"DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle={shuffle}"
            )
        if sampler is not None:
            raise ValueError(
                f"DataLoader with IterableDataset: expected unspecified sampler option, but got sampler={sampler}"
            )
        if batch_sampler is not None:
            raise ValueError(
                f"DataLoader with IterableDataset: expected unspecified batch_sampler option, but "
                f"got batch_sampler={batch_sampler}"
            )

    @property
    def multiprocessing_context(self):
        return self._multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, context) -> None:
        if context is not None:
            if self.num_workers == 0:
                raise ValueError(
                    "multiprocessing_context can only be used with multi-process loading (num_workers > 0), "
                    f"but got num_workers={self.num_workers}"
                )
            if isinstance(context, str):
                methods = multiprocessing.get_all_start_methods()
                if context not in methods:
                    raise ValueError(
                        f"multiprocessing_context option should specify a valid start method in {methods!r}, "
                        f"but got multiprocessing_context={context!r}"
                    )
                context = multiprocessing.get_context(context)
            if not isinstance(context, multiprocessing.context.BaseContext):
                raise TypeError(
                    "multiprocessing_context option should be a valid context object or a string specifying "
                    f"the start method, but got multiprocessing_context={context}"
                )
        self._multiprocessing_context = context

    def _warn_if_too_many_workers(self) -> None:
        cpus = _usable_cpus()
        if self.num_workers and (cpus is None or self.num_workers > cpus):
            warnings.warn(
                f"This DataLoader will create {self.num_workers} worker processes in total, more than the "
                f"{cpus} CPUs this process may use; excessive worker creation might get DataLoader running slow "
                "or even freeze, lower the worker number to avoid potential slowness/freeze if necessary.",
                stacklevel=3,
            )

    def __setattr__(self, name, value):
        if getattr(self, "_initialized", False) and name in self._frozen:
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        """What the epoch iterator draws: lists of indices (batch sampler) or single indices (sampler)."""
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self):
        if self.num_workers == 0:
            return SingleProcessIter(self)
        if self.persistent_workers and self._iterator is not None and not self._iterator._closed:
            self._iterator._reset(self)  # same workers, new epoch
            return self._iterator
        self._warn_if_too_many_workers()  # again for every set of workers, as torch
        it = MultiProcessIter(self)
        if self.persistent_workers:
            self._iterator = it
        return it

    def __len__(self) -> int:
        if not self._is_iterable:
            return len(self._index_sampler)
        # an iterable dataset's len is its own claim (torch trusts it, workers or not); kept to warn when an
        # epoch yields more than that
        n = self._reported_dataset_len = len(self.dataset)
        if self.batch_size is not None:
            n = n // self.batch_size if self.drop_last else ceil(n / self.batch_size)
        return n
