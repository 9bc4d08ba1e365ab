"""DataLoader: iterate over a dataset in (shuffled) mini-batches.

For a map-style dataset each batch is made in three steps:

1. a *sampler* yields indices (in order, or shuffled with ``shuffle=True``), and a *batch sampler* groups
   them into lists of ``batch_size`` indices;
2. the loader fetches the samples, ``[dataset[i] for i in indices]``;
3. ``collate_fn`` turns that list into a batch (by default: stack tensors, see :mod:`._collate`).

``num_workers > 0`` is accepted for compatibility with course code, but minigrad loads batches in the main
process, one after the other, exactly as with ``num_workers=0`` (so ``worker_init_fn`` is never called and
:func:`get_worker_info` returns None). ``pin_memory`` is accepted and does nothing.
"""

from __future__ import annotations

from ._collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info"]


def get_worker_info():
    """Information about the current loader worker; always None, since minigrad loads in the main process."""
    return None


class DataLoader:
    """Iterate over ``dataset`` in batches (torch's ``DataLoader``; same arguments).

    Args:
        dataset: a map-style :class:`Dataset` (``__getitem__``/``__len__``) or an :class:`IterableDataset`.
        batch_size: samples per batch; ``None`` disables batching (each sample is only converted).
        shuffle: a new random order every epoch, drawn from ``generator`` or the global generator (so
            ``minigrad.manual_seed`` makes the orders reproducible).
        sampler / batch_sampler: custom index orders (mutually exclusive with ``shuffle``, and
            ``batch_sampler`` with ``batch_size``/``drop_last``).
        collate_fn: list of samples -> batch; e.g. one that pads sequences to the batch's longest.
        drop_last: drop the last, incomplete batch.
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
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing. let num_workers > 0 "
                "to enable multiprocessing, otherwise set prefetch_factor to None."
            )
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self._is_iterable = isinstance(dataset, IterableDataset)
        if self._is_iterable:
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

        if sampler is None and not self._is_iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._is_iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        if collate_fn is None:
            collate_fn = default_collate if (batch_size is not None or batch_sampler is not None) else default_convert

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.collate_fn = collate_fn
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.pin_memory_device = pin_memory_device
        self.in_order = in_order
        self._initialized = True

    def __setattr__(self, name, value):
        if getattr(self, "_initialized", False) and name in self._frozen:
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (self._is_iterable and self.batch_size is not None)

    def __iter__(self):
        return _LoaderIter(self, self._iter_iterable() if self._is_iterable else self._iter_map())

    def _iter_map(self):
        dataset, collate_fn = self.dataset, self.collate_fn
        getitems = getattr(dataset, "__getitems__", None)
        if self.batch_sampler is not None:
            for indices in self.batch_sampler:
                samples = getitems(indices) if callable(getitems) else [dataset[i] for i in indices]
                yield collate_fn(samples)
        else:
            for i in self.sampler:
                yield collate_fn(dataset[i])

    def _iter_iterable(self):
        collate_fn = self.collate_fn
        if self.batch_size is None:
            for sample in self.dataset:
                yield collate_fn(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield collate_fn(batch)

    def __len__(self) -> int:
        if self._is_iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)


class _LoaderIter:
    """The iterator of one epoch (supports ``len`` like torch's)."""

    def __init__(self, loader, gen):
        self._loader, self._gen = loader, gen

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._gen)

    def __len__(self) -> int:
        return len(self._loader)
