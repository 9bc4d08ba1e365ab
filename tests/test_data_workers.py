"""DataLoader with worker processes, IterableDataset sharding, WeightedRandomSampler: against torch.

Every scenario runs on both libraries with the same dataset and settings (``_both``); datasets are small
and there are at most two workers, so the file stays within seconds on one core.
"""

import dataclasses
import math
import os
import random
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import minigrad
from minigrad.utils import data as mud
from minigrad.utils.data._worker import numpy_seed_state

LIBS = [(minigrad, mud), (torch, tud)]
# on a machine with fewer CPUs than the two workers, both libraries warn at every loader
pytestmark = pytest.mark.filterwarnings("ignore:This DataLoader will create")


def _both(fn):
    """``[fn(minigrad, its data module), fn(torch, its data module)]``."""
    return [fn(lib, data) for lib, data in LIBS]


def _plain(x):
    """Batches as plain Python values (tensors of either library -> lists), to compare the two libraries."""
    if isinstance(x, (minigrad.Tensor, torch.Tensor)):
        return x.tolist()
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def _raised(fn):
    """The exception ``fn()`` raises (or None), without its traceback: a traceback keeps the frames alive,
    and with them a torch loader iterator, whose workers then wait for the garbage collector and, once
    collected in a cycle, take torch 5 s each to stop (minigrad's stop at once either way)."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type is what we compare
        link = e
        while link is not None:  # the exceptions it was raised from hold frames too
            link.__traceback__ = None
            link = link.__cause__ or link.__context__
        return e
    return None


class Squares:
    """A map-style dataset of dict samples (as the course's protein datasets)."""

    def __init__(self, n=11):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.array([i, i * i], dtype=np.float32), "y": i}


class Failing:
    """Raises at chosen indices: a ValueError, a KeyError, and an exception that needs two arguments."""

    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3:
            raise ValueError(f"bad sample {i}")
        if i == 4:
            raise KeyError("missing")
        if i == 5:
            raise TwoArgError("a", "b")
        return i


class TwoArgError(Exception):
    def __init__(self, a, b):
        super().__init__(f"{a}/{b}")


class Slow:
    """Sample ``slow`` takes ``delay`` seconds; sample ``die`` kills its worker (after a pause that lets the
    worker's queue thread send the batches it made before)."""

    def __init__(self, slow=-1, delay=0.0, die=-1):
        self.slow, self.delay, self.die = slow, delay, die

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == self.slow:
            time.sleep(self.delay)
        if i == self.die:
            time.sleep(0.3)
            os._exit(3)
        return i


def _stream(data, lo, hi, shard=True):
    """An IterableDataset over range(lo, hi); with ``shard``, each worker yields its own contiguous part."""

    class Stream(data.IterableDataset):
        def __iter__(self):
            info = data.get_worker_info()
            if info is None or not shard:
                return iter(range(lo, hi))
            per = math.ceil((hi - lo) / info.num_workers)
            start = lo + info.id * per
            return iter(range(start, min(start + per, hi)))

    return Stream()


# ------------------------------------------------------------------------------------------ options
_OPTION_CASES = [
    (dict(num_workers=-1), "num_workers option should be non-negative"),
    (dict(timeout=-1), "timeout option should be non-negative"),
    (dict(prefetch_factor=2), "prefetch_factor option could only be specified in multiprocessing"),
    (dict(num_workers=1, prefetch_factor=-1), "prefetch_factor option should be non-negative"),
    (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
    (dict(multiprocessing_context="fork"), "multiprocessing_context can only be used with multi-process"),
    (dict(num_workers=1, multiprocessing_context="nope"), "should specify a valid start method"),
    (dict(num_workers=1, multiprocessing_context=3), "should be a valid context object"),
]


@pytest.mark.parametrize("kwargs, message", _OPTION_CASES)
def test_worker_option_errors_match_torch(kwargs, message):
    mine, theirs = _both(lambda lib, data: _raised(lambda: data.DataLoader(list(range(4)), **kwargs)))
    assert type(mine) is type(theirs) and theirs is not None
    assert message in str(mine) and message in str(theirs)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # torch's half-built iterator's __del__
def test_iterable_dataset_option_errors_match_torch():
    for kwargs in (dict(shuffle=True), dict(sampler=[0, 1]), dict(batch_sampler=[[0, 1]])):
        mine, theirs = _both(lambda lib, data, kw=kwargs: _raised(lambda: data.DataLoader(_stream(data, 0, 3), **kw)))
        assert type(mine) is type(theirs) is ValueError
        assert str(mine).split(", but")[0] == str(theirs).split(", but")[0]  # e.g. "...expected unspecified shuffle"
    # a timeout without workers, or workers that prefetch nothing: torch lets the DataLoader be built and
    # refuses when iterating
    for kwargs in (dict(timeout=1), dict(num_workers=1, prefetch_factor=0)):
        mine, theirs = _both(lambda lib, data, kw=kwargs: _raised(lambda: iter(data.DataLoader(list(range(4)), **kw))))
        assert type(mine) is type(theirs) is AssertionError


# ------------------------------------------------------------------------------------------ batches
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(batch_size=3, num_workers=2),
        dict(batch_size=3, num_workers=2, drop_last=True, prefetch_factor=1),
        dict(batch_size=None, num_workers=1),
        dict(batch_size=4, num_workers=2, persistent_workers=True, prefetch_factor=3),
    ],
)
def test_map_style_batches_match_torch(kwargs):
    def epochs(lib, data):
        loader = data.DataLoader(Squares(), **kwargs)
        return [[_plain(b) for b in loader] for _ in range(2)], len(loader)

    mine, theirs = _both(epochs)
    assert mine == theirs


def test_tensor_batches_keep_their_dtypes_across_processes():
    def batches(lib, data):
        ds = data.TensorDataset(lib.arange(10, dtype=lib.float32).reshape(5, 2), lib.arange(5))
        return [(x.dtype, y.dtype, x.tolist(), y.tolist()) for x, y in data.DataLoader(ds, batch_size=2, num_workers=2)]

    mine, theirs = _both(batches)
    assert [b[2:] for b in mine] == [b[2:] for b in theirs]
    assert all(b[:2] == (minigrad.float32, minigrad.int64) for b in mine)


def test_shuffled_order_does_not_depend_on_num_workers():
    def orders(lib, data):
        out = []
        for workers in (0, 2):
            g = lib.Generator().manual_seed(7)
            loader = data.DataLoader(list(range(20)), batch_size=6, shuffle=True, generator=g, num_workers=workers)
            out.append([_plain(b) for b in loader] + [_plain(b) for b in loader])
        return out

    for without, with_workers in _both(orders):
        assert without == with_workers  # true in torch, and so in minigrad


def test_collate_fn_and_worker_init_fn_run_in_the_workers():
    def run(lib, data):
        seen = {}

        def init(worker_id):
            seen["init"] = worker_id  # in the worker's memory, not the main process's

        def collate(batch):
            return os.getpid(), seen.get("init"), [int(b) for b in batch]

        loader = data.DataLoader(list(range(8)), batch_size=2, num_workers=2, worker_init_fn=init, collate_fn=collate)
        out = list(loader)
        pids = {pid for pid, _, _ in out}
        assert os.getpid() not in pids and len(pids) == 2 and "init" not in seen
        return [(init_id, batch) for _, init_id, batch in out]

    mine, theirs = _both(run)
    assert mine == theirs == [(0, [0, 1]), (1, [2, 3]), (0, [4, 5]), (1, [6, 7])]


# ------------------------------------------------------------------------------------------ seeds
class SeedProbe:
    """Each sample reports its worker and the first draws of every generator the worker was seeded with."""

    def __init__(self, lib, data):
        self.lib, self.data = lib, data

    def __len__(self):
        return 2

    def __getitem__(self, i):
        info = self.data.get_worker_info()
        return (info.id, info.seed, info.num_workers, random.random(), float(np.random.random()),
                float(self.lib.rand(1)[0]))  # fmt: skip


def _check_worker_seeds(lib, data, generator=None):
    out = list(data.DataLoader(SeedProbe(lib, data), batch_size=None, num_workers=2, generator=generator))
    base = out[0][1] - out[0][0]
    for worker_id, seed, num_workers, py, npy, own in out:
        assert seed == base + worker_id and num_workers == 2
        assert py == random.Random(seed).random()  # Python's random: base_seed + worker id
        assert own == float(lib.rand(1, generator=lib.Generator().manual_seed(seed))[0])  # the library's own
        assert npy == np.random.RandomState(numpy_seed_state(base, worker_id)).random_sample()  # NumPy: torch's words
    return [o[:2] for o in out], [o[3:] for o in out]


def test_worker_seeds_are_derived_as_torch_derives_them():
    for lib, data in LIBS:
        lib.manual_seed(0)
        ids, draws = _check_worker_seeds(lib, data)
        assert [i for i, _ in ids] == [0, 1]
        lib.manual_seed(0)
        assert _check_worker_seeds(lib, data)[1] == draws  # reproducible from the main process's seed
        lib.manual_seed(1)
        assert _check_worker_seeds(lib, data)[1] != draws
        g = lib.Generator().manual_seed(0)  # the loader's own generator draws the base seed
        with_g = _check_worker_seeds(lib, data, generator=g)
        lib.manual_seed(123)
        assert _check_worker_seeds(lib, data, generator=lib.Generator().manual_seed(0)) == with_g
    torch_words = tud._utils.worker._generate_state
    for base, worker_id in ((0, 0), (2**32 + 5, 1), (2**63 - 1, 7), (123456789, 3)):
        assert numpy_seed_state(base, worker_id) == torch_words(base, worker_id)


def test_worker_info_matches_torch():
    class Info:
        def __len__(self):
            return 2

        def __getitem__(self, i):
            info = (mud if isinstance(self, mud.Dataset) else tud).get_worker_info()
            frozen = _raised(lambda: setattr(info, "id", 9))
            fields = [f.name for f in dataclasses.fields(info)]
            return (
                info.id,
                info.num_workers,
                type(info.dataset).__name__,
                info.dataset is not self,
                fields,
                type(frozen),
            )

    def run(lib, data):
        ds = type("InfoDataset", (Info, data.Dataset), {})()
        return [tuple(_plain(x)) for x in data.DataLoader(ds, batch_size=None, num_workers=2)]

    mine, theirs = _both(run)
    assert mine == theirs and mine[0][0] == 0 and mine[1][:2] == (1, 2)
    assert mud.get_worker_info() is None and tud.get_worker_info() is None


# ------------------------------------------------------------------------------------------ iterable datasets
@pytest.mark.parametrize(
    "kwargs, shard",
    [
        (dict(batch_size=2), True),
        (dict(batch_size=2, drop_last=True), True),
        (dict(batch_size=None), True),
        (dict(batch_size=4), False),  # no sharding: every worker yields the whole stream, as in torch
        (dict(batch_size=3, persistent_workers=True), True),
    ],
)
def test_iterable_dataset_with_workers_matches_torch(kwargs, shard):
    def epochs(lib, data):
        loader = data.DataLoader(_stream(data, 3, 14, shard), num_workers=2, **kwargs)
        return [[_plain(b) for b in loader] for _ in range(2)]

    mine, theirs = _both(epochs)
    assert mine == theirs


def test_iterable_dataset_len_matches_torch():
    mine, theirs = _both(lambda lib, data: type(_raised(lambda: len(data.DataLoader(_stream(data, 0, 5))))))
    assert mine is theirs is TypeError  # no __len__, no len

    def lens(lib, data):
        class Sized(data.IterableDataset):
            def __init__(self, n, claimed):
                self.n, self.claimed = n, claimed

            def __iter__(self):
                return iter(range(self.n))

            def __len__(self):
                return self.claimed

        out = [len(data.DataLoader(Sized(7, 7), batch_size=b, drop_last=d)) for b in (None, 2, 3) for d in (False, True)
               if b or not d]  # fmt: skip
        loader = data.DataLoader(Sized(5, 3), batch_size=None)
        len(loader)  # as torch, warn when an epoch yields more than the len asked
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            list(loader)
        return out, sum("was reported to be 3" in str(w.message) for w in caught)

    mine, theirs = _both(lens)
    assert mine == theirs and mine[1] == 2


def test_chain_and_concat_dataset_errors_match_torch():
    def errors(lib, data):
        chain = data.ChainDataset([_stream(data, 0, 2), [1, 2]])
        return (
            list(data.ChainDataset([_stream(data, 0, 2), _stream(data, 5, 7)])),
            type(_raised(lambda: list(chain))),
            type(_raised(lambda: len(chain))),
            type(_raised(lambda: data.ConcatDataset([]))),
            type(_raised(lambda: data.ConcatDataset([_stream(data, 0, 2)]))),
        )

    mine, theirs = _both(errors)
    assert mine == theirs and mine[0] == [0, 1, 5, 6]


# ------------------------------------------------------------------------------------------ failures
def test_worker_exceptions_are_reraised_like_torch():
    def run(lib, data):
        it = iter(data.DataLoader(Failing(), batch_size=None, num_workers=2))
        out = []
        for _ in range(6):
            e = _raised(lambda: out.append(int(next(it))))
            if e is not None:
                first_line = str(e).strip("'\"").splitlines()[0]
                out.append((type(e).__name__, first_line, "Traceback (most recent call last)" in str(e)))
                assert "in __getitem__" in str(e)  # the worker's traceback names where it was raised
        return out

    mine, theirs = _both(run)
    assert mine == theirs
    assert mine[3] == ("ValueError", "Caught ValueError in DataLoader worker process 1.", True)
    assert mine[5][0] == "RuntimeError"  # an exception that cannot be rebuilt from one message


def test_worker_init_fn_failure_is_reraised_like_torch():
    def init(worker_id):
        if worker_id == 1:
            raise RuntimeError("no GPU in worker")

    def run(lib, data):
        e = _raised(lambda: list(data.DataLoader(list(range(4)), batch_size=None, num_workers=2, worker_init_fn=init)))
        return type(e), str(e).splitlines()[0], "no GPU in worker" in str(e)

    mine, theirs = _both(run)
    assert mine == theirs == (RuntimeError, "Caught RuntimeError in DataLoader worker process 1.", True)


def test_timeout_and_dead_worker_match_torch():
    def run(lib, data):
        start = time.perf_counter()
        slow = _raised(
            lambda: list(data.DataLoader(Slow(slow=0, delay=1.0), batch_size=None, num_workers=2, timeout=0.3))
        )
        waited = time.perf_counter() - start
        dead = _raised(lambda: list(data.DataLoader(Slow(die=2), batch_size=None, num_workers=2)))
        return type(slow), str(slow), waited < 5, type(dead), "exited unexpectedly" in str(dead)

    mine, theirs = _both(run)
    assert mine == theirs == (RuntimeError, "DataLoader timed out after 0.3 seconds", True, RuntimeError, True)
    # after a worker died, torch goes on without its batches; minigrad ends the epoch with the same error
    it = iter(mud.DataLoader(Slow(die=2), batch_size=None, num_workers=2))
    assert [int(next(it)) for _ in range(2)] == [0, 1]
    for _ in range(2):
        with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly"):
            next(it)
    assert all(p.exitcode is not None for p in it._workers)


def test_batches_that_cannot_cross_processes_are_reported():
    # torch prints these errors in a worker thread and the main process waits for ever (or its timeout);
    # minigrad re-raises them, naming the worker
    w = minigrad.ones(2, requires_grad=True)
    loader = mud.DataLoader([1, 2], batch_size=None, num_workers=1, timeout=10, collate_fn=lambda x: w * x)
    with pytest.raises(RuntimeError, match="(?s)worker process 0.*non-leaf tensor which requires_grad"):
        next(iter(loader))
    loader = mud.DataLoader([1, 2], batch_size=None, num_workers=1, timeout=10, collate_fn=lambda x: lambda: x)
    with pytest.raises(AttributeError, match="(?s)worker process 0.*pickle"):
        next(iter(loader))
    leaf = next(iter(mud.DataLoader([1], batch_size=None, num_workers=1, collate_fn=lambda x: w.detach() * x)))
    assert leaf.tolist() == [1.0, 1.0] and not leaf.requires_grad


# ------------------------------------------------------------------------------------------ scheduling
def test_prefetch_factor_bounds_the_tasks_in_flight_as_torch():
    class CountingSampler:
        def __init__(self):
            self.drawn = 0

        def __iter__(self):
            for i in range(40):
                self.drawn += 1
                yield i

        def __len__(self):
            return 40

    def run(lib, data):
        out = []
        for prefetch in (1, 3):
            sampler = CountingSampler()
            it = iter(data.DataLoader(list(range(40)), sampler=sampler, num_workers=2, prefetch_factor=prefetch))
            before = sampler.drawn
            next(it)
            out.append((before, sampler.drawn))
            del it
        return out

    mine, theirs = _both(run)
    assert mine == theirs == [(2, 3), (6, 7)]


def test_in_order_false_hands_out_ready_batches_first():
    def run(lib, data):
        ordered = [int(x) for x in data.DataLoader(Slow(slow=0, delay=0.6), batch_size=None, num_workers=2)]
        loose = [
            int(x) for x in data.DataLoader(Slow(slow=0, delay=0.6), batch_size=None, num_workers=2, in_order=False)
        ]
        return ordered, sorted(loose), loose[0] != 0

    mine, theirs = _both(run)
    assert mine == theirs == (list(range(8)), list(range(8)), True)


# ------------------------------------------------------------------------------------------ lifetimes
def test_workers_stop_after_an_epoch_a_break_and_with_their_loader():
    loader = mud.DataLoader(list(range(12)), batch_size=2, num_workers=2)
    it = iter(loader)
    assert [b.tolist() for b in it] == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]
    assert all(p.exitcode == 0 for p in it._workers)  # joined (reaped) at the end of the epoch
    assert [b.tolist() for b in loader][0] == [0, 1]  # a second epoch, new workers
    it = iter(loader)
    next(it)
    procs = it._workers
    del it  # e.g. ``break``: the iterator goes, and its workers with it
    assert all(p.exitcode is not None for p in procs)

    persistent = mud.DataLoader(list(range(12)), batch_size=2, num_workers=2, persistent_workers=True)
    for _ in persistent:
        break
    procs = persistent._iterator._workers
    assert [b.tolist() for b in persistent][-1] == [10, 11] and all(p.is_alive() for p in procs)
    assert [b.tolist() for b in persistent][0] == [0, 1] and persistent._iterator._workers == procs
    del persistent
    assert all(p.exitcode is not None for p in procs)


_EXIT_PROGRAM = """
import sys
from minigrad.utils import data

class Items:
    def __len__(self):
        return 100

    def __getitem__(self, i):
        return i

if __name__ == "__main__":
    loader = data.DataLoader(Items(), batch_size=4, num_workers=2, persistent_workers=True,
                             multiprocessing_context=sys.argv[1])
    it = iter(loader)
    first = next(it).tolist()
    other = iter(data.DataLoader(Items(), batch_size=4, num_workers=1, multiprocessing_context=sys.argv[1]))
    print(first, next(other).tolist(), data.get_worker_info())
"""


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_start_methods_and_exit_with_workers_alive(tmp_path, method):
    """Workers still running when the program ends stop with it (no hang), with 'fork' (the default on
    Linux, used by every other test) and with 'spawn' (which pickles the dataset into fresh interpreters)."""
    script = tmp_path / "prog.py"
    script.write_text(_EXIT_PROGRAM)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(
        [sys.executable, str(script), method], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[0, 1, 2, 3] [0, 1, 2, 3] None"


# ------------------------------------------------------------------------------------------ WeightedRandomSampler
_WEIGHT_CASES = [
    ([1.0, 2.0], 3, False),  # more draws than indices without replacement
    ([0.0, 0.0], 2, True),
    ([1.0, -1.0], 2, True),
    ([1.0, float("nan")], 2, True),
    ([1.0, float("inf")], 2, True),
    ([[1.0, 2.0]], 2, True),  # not 1-d: refused by the constructor
    ([1.0, 2.0], 0, True),
    ([1.0, 2.0], 2.0, True),
    ([1.0, 2.0], True, True),
    ([1.0, 2.0], np.int64(2), True),
    ([1.0, 2.0], 2, 1),
]


@pytest.mark.parametrize("weights, num_samples, replacement", _WEIGHT_CASES)
def test_weighted_sampler_errors_match_torch(weights, num_samples, replacement):
    def run(lib, data):
        built = _raised(lambda: data.WeightedRandomSampler(weights, num_samples, replacement))
        if built is not None:
            return "init", type(built), str(built)
        drawn = _raised(lambda: list(data.WeightedRandomSampler(weights, num_samples, replacement)))
        return "iter", type(drawn), str(drawn)

    mine, theirs = _both(run)
    assert mine == theirs and mine[1] is not type(None)


def _chi_square(counts, weights):
    expected = np.asarray(weights) / np.sum(weights) * np.sum(counts)
    keep = expected > 0
    assert counts[~keep].sum() == 0  # zero weight: never drawn
    return float((((counts - expected) ** 2)[keep] / expected[keep]).sum())


def test_weighted_sampler_draws_in_proportion_to_the_weights():
    weights = [1.0, 2.0, 3.0, 4.0, 0.0, 10.0]
    draws = 20000
    for lib, data in LIBS:
        sampler = data.WeightedRandomSampler(lib.tensor(weights), draws, generator=lib.Generator().manual_seed(0))
        counts = np.bincount(list(sampler), minlength=len(weights))
        # 4 degrees of freedom; 18.47 is the 0.1 % tail: a wrong distribution scores in the hundreds
        assert _chi_square(counts, weights) < 18.47, (lib.__name__, counts)
        assert sampler.weights.dtype == lib.float64 and len(sampler) == draws
    g = minigrad.Generator().manual_seed(5)
    a = list(mud.WeightedRandomSampler(weights, 50, generator=g))
    assert a != list(mud.WeightedRandomSampler(weights, 50, generator=g))  # a new draw every epoch
    g.manual_seed(5)
    assert list(mud.WeightedRandomSampler(weights, 50, generator=g)) == a  # and reproducible


def test_weighted_sampler_without_replacement_matches_torch_frequencies():
    weights, k, trials = [1.0, 2.0, 4.0, 8.0, 0.0], 2, 3000

    def frequencies(lib, data):
        lib.manual_seed(0)
        first, included = np.zeros(5), np.zeros(5)
        for _ in range(trials):
            drawn = list(data.WeightedRandomSampler(weights, k, replacement=False))
            assert len(set(drawn)) == k
            first[drawn[0]] += 1
            included[drawn] += 1
        return first / trials, included / trials

    (mine_first, mine_in), (torch_first, torch_in) = _both(frequencies)
    # each is a mean of 3000 Bernoulli draws: its standard error is at most 0.009; allow 5 of them per side
    np.testing.assert_allclose(mine_first, torch_first, atol=0.065)
    np.testing.assert_allclose(mine_in, torch_in, atol=0.065)
    np.testing.assert_allclose(mine_first, np.array(weights) / 15, atol=0.04)  # the first draw follows the weights
    # once the non-zero weights are used up, zero-weight indices follow (torch returns them too)
    mine, theirs = _both(lambda lib, data: sorted(data.WeightedRandomSampler([3.0, 0.0, 1.0, 0.0], 4, False)))
    assert mine == theirs == [0, 1, 2, 3]
