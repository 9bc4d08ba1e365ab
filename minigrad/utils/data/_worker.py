"""What runs inside a DataLoader worker process: seeding, the task loop, and the messages it sends back.

A worker reads tasks ``(task_id, index)`` from its own index queue, fetches and collates the batch (so a
``collate_fn`` runs in the worker), and puts ``(task_id, payload)`` on the result queue that all workers
share. The payload is the batch, pickled here (see :func:`_pack`), or one of the messages below.

Seeds follow torch: the main process draws ``base_seed`` once per set of workers; worker ``i`` seeds
minigrad's default generator and Python's ``random`` with ``base_seed + i``, and NumPy's global
``RandomState`` with four words that NumPy's own ``SeedSequence`` mixes from ``(i, base_seed)`` (the
words torch gives NumPy), so that ``minigrad.manual_seed`` in the main process makes every worker's
random numbers reproducible.
"""

from __future__ import annotations

import io
import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass

import numpy as np

from ... import random as _minigrad_random
from ...tensor import Tensor
from ._fetch import make_fetcher

__all__ = ["WorkerInfo", "get_worker_info", "numpy_seed_state"]

# how often an idle worker looks whether the main process still exists
PARENT_CHECK_INTERVAL = 2.0


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """The worker this code runs in: ``id`` (0 .. ``num_workers`` - 1), ``num_workers``, the ``seed`` its
    random generators got, and ``dataset``, this process's copy of the dataset. (``rng`` and ``worker_method``
    are torch's fields for thread workers, which minigrad does not have: always None and "multiprocessing".)"""

    id: int
    num_workers: int
    seed: int
    dataset: object
    rng: object = None
    worker_method: str | None = "multiprocessing"


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker, its :class:`WorkerInfo`; in the main process, None.

    An :class:`IterableDataset` uses it in ``__iter__`` to give each worker its own share of the stream
    (otherwise every worker yields the whole dataset and each sample arrives ``num_workers`` times).
    """
    return _worker_info


# ------------------------------------------------------------------------------------------ messages
@dataclass(frozen=True)
class ResumeEpoch:
    """Main -> persistent worker: start a new epoch (a new pass over an iterable dataset); echoed back."""


@dataclass(frozen=True)
class StreamEnd:
    """Worker -> main: this worker's share of an iterable dataset is exhausted."""

    worker_id: int


class _KeyErrorMessage(str):
    """KeyError shows ``repr`` of its argument, which would print the traceback as one escaped line."""

    def __repr__(self):
        return str(self)


@dataclass(frozen=True)
class WorkerFailure:
    """Worker -> main: an exception raised in the worker, as its type and its formatted traceback."""

    exc_type: type
    where: str
    text: str

    def reraise(self):
        """Raise the same exception type in the main process, its message naming the worker and quoting the
        worker's traceback (an exception type that cannot be built from one string becomes a RuntimeError)."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.text}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        try:
            exc = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exc


def _failure(worker_id: int) -> WorkerFailure:
    """The exception being handled, wrapped to travel to the main process (call inside ``except``)."""
    exc_type, exc, tb = sys.exc_info()
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    return WorkerFailure(exc_type, f"in DataLoader worker process {worker_id}", text)


# ------------------------------------------------------------------------------------------ pickling
def _rebuild_tensor(array, requires_grad):
    return Tensor._make(array, requires_grad=requires_grad)


class _BatchPickler(pickle.Pickler):
    """Pickles a batch for the trip to the main process: a tensor travels as its array (and requires_grad);
    one inside an autograd graph is refused, as torch does, since the graph cannot cross processes."""

    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            if obj.requires_grad and obj.grad_fn is not None:
                raise RuntimeError(
                    "Cowardly refusing to send a non-leaf tensor which requires_grad from a DataLoader worker: "
                    "autograd does not cross process boundaries; call .detach() on it in the dataset or collate_fn"
                )
            return _rebuild_tensor, (obj.array, obj.requires_grad)
        return NotImplemented


def _pack(obj) -> bytes:
    buf = io.BytesIO()
    _BatchPickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


def _pack_failure(worker_id: int) -> bytes:
    failure = _failure(worker_id)
    try:
        return _pack(failure)
    except Exception:  # e.g. an exception class defined inside a function: send its text as a RuntimeError
        return _pack(WorkerFailure(RuntimeError, failure.where, failure.text))


def unpack(payload):
    """A worker's payload back as an object (messages other than batches arrive unpickled)."""
    return pickle.loads(payload) if isinstance(payload, bytes) else payload


# ------------------------------------------------------------------------------------------ seeds
def numpy_seed_state(base_seed: int, worker_id: int) -> list:
    """The four 32-bit words that seed NumPy's global ``RandomState`` in worker ``worker_id``.

    A ``SeedSequence`` hash of ``(worker_id, low and high 32 bits of base_seed, 0)``: unrelated to the
    ``base_seed + worker_id`` that seeds ``random`` and minigrad, so NumPy's stream is not a copy of theirs.
    """
    words = [worker_id, base_seed & 0xFFFFFFFF, base_seed >> 32, 0]
    return np.random.SeedSequence(words).generate_state(4).tolist()


def _seed_worker(base_seed: int, worker_id: int) -> int:
    seed = base_seed + worker_id
    random.seed(seed)
    _minigrad_random.manual_seed(seed)
    np.random.seed(numpy_seed_state(base_seed, worker_id))
    return seed


# ------------------------------------------------------------------------------------------ the loop
@dataclass
class WorkerConfig:
    """Everything a worker needs, sent once when it starts."""

    dataset: object
    is_iterable: bool
    auto_collation: bool
    collate_fn: object
    drop_last: bool
    base_seed: int
    worker_init_fn: object
    num_workers: int


def _setup(cfg: WorkerConfig, worker_id: int):
    """Seed, publish the WorkerInfo, run ``worker_init_fn``; returns the fetcher and a pending failure (or None)."""
    global _worker_info
    from ... import set_num_threads  # one thread per worker, as torch: the workers are the parallelism

    set_num_threads(1)
    seed = _seed_worker(cfg.base_seed, worker_id)
    _worker_info = WorkerInfo(id=worker_id, num_workers=cfg.num_workers, seed=seed, dataset=cfg.dataset)
    try:
        if cfg.worker_init_fn is not None:
            cfg.worker_init_fn(worker_id)
    except Exception:
        return None, _pack_failure(worker_id)
    return _new_fetcher(cfg, worker_id)


def _new_fetcher(cfg: WorkerConfig, worker_id: int):
    """A fetcher (a new pass over an iterable dataset) and None, or None and the failure to report.

    A failure here is not raised: it becomes the answer to this worker's next task, so that the main
    process re-raises it where it waits for that batch."""
    try:
        return make_fetcher(cfg.dataset, cfg.is_iterable, cfg.auto_collation, cfg.collate_fn, cfg.drop_last), None
    except Exception:
        return None, _pack_failure(worker_id)


def _answer(fetcher, index, cfg: WorkerConfig, worker_id: int):
    """The payload for one task; ``(payload, stream_ended)``."""
    try:
        return _pack(fetcher.fetch(index)), False
    except StopIteration:
        if cfg.is_iterable:
            return StreamEnd(worker_id), True
        return _pack_failure(worker_id), False
    except Exception:
        return _pack_failure(worker_id), False


def worker_loop(cfg: WorkerConfig, worker_id: int, index_queue, result_queue, done_event) -> None:
    """Answer tasks until told to stop (``None`` on the index queue) or until the main process is gone."""
    parent = os.getppid()
    try:
        fetcher, pending_failure = _setup(cfg, worker_id)
        stream_ended = False
        while os.getppid() == parent:
            try:
                task = index_queue.get(timeout=PARENT_CHECK_INTERVAL)
            except queue.Empty:
                continue
            if task is None:
                break
            if isinstance(task, ResumeEpoch):
                if pending_failure is None:
                    fetcher, pending_failure = _new_fetcher(cfg, worker_id)
                stream_ended = False
                result_queue.put((task, None))
                continue
            if done_event.is_set() or stream_ended:
                continue  # shutting down, or nothing left to give: the main process no longer waits for it
            task_id, index = task
            if pending_failure is not None:
                payload, pending_failure = pending_failure, None
            else:
                payload, stream_ended = _answer(fetcher, index, cfg, worker_id)
            result_queue.put((task_id, payload))
    except KeyboardInterrupt:
        pass  # Ctrl-C reaches the whole process group: the main process reports it
    if done_event.is_set() or os.getppid() != parent:
        # nobody reads any more: do not wait at exit to flush the queue (a full pipe would hang the exit).
        # Only then: exiting without the flush can kill the queue's thread while it holds the write lock that
        # all workers share, which would block every other worker that still answers
        result_queue.cancel_join_thread()
    result_queue.close()
