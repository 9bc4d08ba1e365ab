"""The epoch iterator with worker processes (``num_workers > 0``): the main process's side.

The main process keeps ``prefetch_factor * num_workers`` tasks in flight. Task ``k`` (the k-th item of the
index sampler) goes to the next live worker in turn (0, 1, 2, 0, 1, ...), on that worker's own index queue;
the workers answer on one shared result queue, in whatever order they finish. With ``in_order=True`` an
answer that arrives early waits in ``_early`` until every task before it has been returned, so the batches
come out exactly as with ``num_workers=0``. Each batch handed out frees a slot, and one more task is sent.

Start method: ``fork`` on Linux unless the program chose one (``multiprocessing_context=`` or
``multiprocessing.set_start_method``); elsewhere the platform's default. Forking is torch's choice on Linux:
a worker starts in milliseconds, with minigrad, NumPy and numba already loaded and without pickling the
dataset, so datasets and collate functions defined in a notebook or as lambdas work. It is safe here
because minigrad's thread pool is rebuilt in a forked child and its numba kernels start no threads of
their own. A forked worker cannot use the GPU (CUDA does not survive ``fork``): datasets should return
host arrays, and batches are moved to the GPU in the training loop, as with torch.

Workers stop when an epoch ends (unless ``persistent_workers``), when the iterator is garbage-collected
(e.g. after ``break``), and at interpreter exit; a worker whose main process died stops by itself.
"""

from __future__ import annotations

import atexit
import itertools
import multiprocessing
import os
import queue
import sys
import time
import weakref
from multiprocessing import util as _mp_util  # noqa: F401  (registers multiprocessing's exit hook first)

from ._iterators import LoaderIter
from ._worker import ResumeEpoch, StreamEnd, WorkerConfig, WorkerFailure, unpack, worker_loop

__all__ = ["MultiProcessIter", "default_context"]

# while waiting for a batch without a timeout, look this often whether a worker died
_LIVENESS_INTERVAL = 0.2
# at shutdown, how long to wait for a worker to finish its current task before terminating it
_JOIN_TIMEOUT = 5.0

_live_pools: weakref.WeakSet = weakref.WeakSet()


@atexit.register  # registered after multiprocessing's own exit hook, so it runs first: workers stop in order
def _shutdown_live_pools() -> None:
    for pool in list(_live_pools):
        pool.shutdown()


def default_context():
    """The multiprocessing context for workers when the DataLoader is given none (see the module docstring)."""
    if multiprocessing.get_start_method(allow_none=True) is None and sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


class _WorkerPool:
    """The worker processes of one epoch iterator, their index queues and the shared result queue.

    Kept apart from the iterator so that stopping the workers still works when the iterator dies inside a
    reference cycle (say, an exception kept in a list holds the iterator's frame): the garbage collector then
    closes the queues that only the iterator reaches before any ``__del__`` could send the workers their
    stop signal. The pool stays reachable from the iterator's ``weakref.finalize``, which stops it.
    """

    def __init__(self, ctx, cfg: WorkerConfig):
        self.owner_pid = os.getpid()
        self.result_queue = ctx.Queue()
        self.done = ctx.Event()
        self.index_queues, self.processes = [], []
        self.closed = False
        _live_pools.add(self)
        try:
            for worker_id in range(cfg.num_workers):
                index_queue = ctx.Queue()
                index_queue.cancel_join_thread()  # a dead worker must not make the main process hang at exit
                args = (cfg, worker_id, index_queue, self.result_queue, self.done)
                proc = ctx.Process(target=worker_loop, args=args, daemon=True, name=f"DataLoaderWorker-{worker_id}")
                proc.start()
                self.index_queues.append(index_queue)
                self.processes.append(proc)
        except BaseException:
            self.shutdown()
            raise

    def shutdown(self) -> None:
        """Stop the workers and wait for them (terminating any that do not stop within ``_JOIN_TIMEOUT``)."""
        if self.closed or os.getpid() != self.owner_pid:
            return  # a forked worker holds a copy of this pool: only the process that started them stops them
        self.closed = True
        _live_pools.discard(self)
        try:
            self.done.set()  # workers skip the tasks still queued
            for index_queue in self.index_queues:
                index_queue.put(None)
            deadline = time.monotonic() + _JOIN_TIMEOUT  # one wait for all of them, not one each
            for proc in self.processes:
                proc.join(timeout=max(0.0, deadline - time.monotonic()))
            for index_queue in self.index_queues:
                index_queue.close()
        finally:
            for proc in self.processes:
                if proc.is_alive():
                    proc.terminate()
                    proc.join(timeout=_JOIN_TIMEOUT)
            self.result_queue.cancel_join_thread()
            self.result_queue.close()


class MultiProcessIter(LoaderIter):
    """Batches made by ``num_workers`` worker processes (see the module docstring)."""

    def __init__(self, loader):
        if loader.prefetch_factor <= 0:  # the DataLoader accepts 0; torch refuses it here, with this type
            raise AssertionError(
                f"DataLoader: prefetch_factor must be positive with workers, got {loader.prefetch_factor}"
            )
        super().__init__(loader)
        self._broken = None  # the error that ended this iterator (a worker died): raised again on every next
        self._prefetch_factor = loader.prefetch_factor
        self._in_order = loader.in_order
        self._persistent = loader.persistent_workers
        self._timeout = loader.timeout
        cfg = WorkerConfig(
            dataset=self._dataset,
            is_iterable=self._is_iterable,
            auto_collation=self._auto_collation,
            collate_fn=self._collate_fn,
            drop_last=self._drop_last,
            base_seed=self._base_seed,
            worker_init_fn=loader.worker_init_fn,
            num_workers=self._num_workers,
        )
        self._pool = _WorkerPool(loader.multiprocessing_context or default_context(), cfg)
        self._finalizer = weakref.finalize(self, self._pool.shutdown)  # also when the iterator is just dropped
        self._finalizer.atexit = False  # _shutdown_live_pools does it, in order
        self._workers, self._index_queues = self._pool.processes, self._pool.index_queues
        self._result_queue = self._pool.result_queue
        self._reset(loader, first=True)

    @property
    def _closed(self) -> bool:
        return self._pool.closed

    def _reset(self, loader, first: bool = False) -> None:
        """Start an epoch: fresh bookkeeping, persistent workers told to start over, the first tasks sent."""
        if not first:
            self._restart_sampler(loader)
        n = self._num_workers
        self._send_idx = 0  # id of the next task to send
        self._rcvd_idx = 0  # id of the next task to hand out (in order)
        self._tasks = {}  # task id -> worker, for tasks sent and not yet handed out
        self._early = {}  # task id -> payload, answers that arrived before their turn
        self._active = [True] * n  # False once a worker's share of an iterable dataset is exhausted
        self._tasks_per_worker = [0] * n
        self._cycle = itertools.cycle(range(n))
        if not first:
            for index_queue in self._index_queues:
                index_queue.put(ResumeEpoch())
            waiting = n
            while waiting:  # drop what the last epoch left in the queue, up to each worker's acknowledgement
                task_id, _ = self._get()
                waiting -= isinstance(task_id, ResumeEpoch)
        for _ in range(self._prefetch_factor * n):
            self._try_put_index()

    # ----------------------------------------------------------------------------------- sending tasks
    def _try_put_index(self) -> None:
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        worker = self._pick_worker()
        if worker is None:
            return  # every worker's stream has ended: nobody can answer
        self._index_queues[worker].put((self._send_idx, index))
        self._tasks[self._send_idx] = worker
        self._tasks_per_worker[worker] += 1
        self._send_idx += 1

    def _pick_worker(self):
        """The next live worker in turn; out of order, the next one holding less than its share of tasks."""
        active = [w for w in range(self._num_workers) if self._active[w]]
        if not active:
            return None
        share = self._prefetch_factor * self._num_workers // len(active)
        for _ in range(self._num_workers):
            worker = next(self._cycle)
            if self._active[worker] and (self._in_order or self._tasks_per_worker[worker] < share):
                return worker
        return min(active, key=self._tasks_per_worker.__getitem__)

    # ----------------------------------------------------------------------------------- receiving
    def _next_data(self):
        if self._broken is not None:
            raise RuntimeError(self._broken)
        while True:
            self._skip_unanswerable()
            if self._rcvd_idx == self._send_idx:  # nothing left in flight: the epoch is over
                if not self._persistent:
                    self._shutdown()
                raise StopIteration
            if self._rcvd_idx in self._early:
                task_id = self._rcvd_idx
                self._rcvd_idx += 1
                return self._deliver(task_id, self._early.pop(task_id))
            task_id, payload = self._get()
            if isinstance(payload, StreamEnd):
                self._retire(payload.worker_id)
                self._try_put_index()
            elif task_id == self._rcvd_idx or not self._in_order:
                if task_id == self._rcvd_idx:
                    self._rcvd_idx += 1
                return self._deliver(task_id, payload)
            else:
                self._early[task_id] = payload

    def _skip_unanswerable(self) -> None:
        """Move past tasks already handed out (out of order) or sent to a worker whose stream has ended."""
        while self._rcvd_idx < self._send_idx:
            worker = self._tasks.get(self._rcvd_idx)
            if worker is not None and (self._rcvd_idx in self._early or self._active[worker]):
                return
            self._tasks.pop(self._rcvd_idx, None)
            self._rcvd_idx += 1

    def _deliver(self, task_id, payload):
        worker = self._tasks.pop(task_id)
        self._tasks_per_worker[worker] -= 1
        self._try_put_index()
        data = unpack(payload)
        if isinstance(data, WorkerFailure):
            data.reraise()
        return data

    def _retire(self, worker: int) -> None:
        """A worker's share of the iterable dataset is exhausted: it gets no more tasks this epoch."""
        self._active[worker] = False
        if not self._persistent:
            self._index_queues[worker].put(None)  # it may exit now

    def _get(self):
        """The next ``(task_id, payload)`` from any worker, watching for a timeout and for dead workers."""
        if self._timeout > 0:
            try:
                return self._result_queue.get(timeout=self._timeout)
            except queue.Empty:
                self._check_workers_alive()
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds") from None
        while True:
            try:
                return self._result_queue.get(timeout=_LIVENESS_INTERVAL)
            except queue.Empty:
                self._check_workers_alive()

    def _check_workers_alive(self) -> None:
        dead = [proc.pid for w, proc in enumerate(self._workers) if self._active[w] and not proc.is_alive()]
        if dead:
            # its batches are lost: end the epoch here, rather than carry on without them (torch skips them)
            self._broken = f"DataLoader worker (pid(s) {', '.join(map(str, dead))}) exited unexpectedly"
            self._shutdown()
            raise RuntimeError(self._broken)

    def _shutdown(self) -> None:
        self._finalizer()  # runs the pool's shutdown once
