"""Fetchers: from one item of the index sampler to one batch, the same in the main process and in a worker.

The index sampler yields, per batch, a list of indices (``batch_size`` set: the batch sampler) or one index
(``batch_size=None``). A map-style dataset is indexed with them; an iterable dataset ignores them (they are
``None``) and is simply advanced once per index. When an iterable dataset runs dry, ``fetch`` raises
``StopIteration``: the end of this loader's (or this worker's) stream.
"""

from __future__ import annotations

__all__ = ["make_fetcher"]


class _MapFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(index) if callable(getitems) else [self.dataset[i] for i in index]
        return self.collate_fn(samples)


class _StreamFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.auto_collation, self.collate_fn, self.drop_last = auto_collation, collate_fn, drop_last
        self.stream = iter(dataset)
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.stream))
        samples = []
        for _ in index:  # one sample per (dummy) index of the batch
            try:
                samples.append(next(self.stream))
            except StopIteration:
                self.ended = True
                break
        if not samples or (self.drop_last and len(samples) < len(index)):
            raise StopIteration
        return self.collate_fn(samples)


def make_fetcher(dataset, is_iterable, auto_collation, collate_fn, drop_last):
    """The fetcher for ``dataset``; for an iterable dataset this starts a new pass over it (``iter``)."""
    cls = _StreamFetcher if is_iterable else _MapFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)
