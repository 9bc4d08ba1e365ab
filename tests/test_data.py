"""minigrad.utils.data: datasets, samplers, DataLoader batching/shuffling, collate (against torch's rules)."""

import warnings
from collections import OrderedDict, namedtuple

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import minigrad
from minigrad.utils import data as mud

Point = namedtuple("Point", "x y")


def _xy(n=10):
    X = minigrad.tensor(np.arange(n * 3, dtype=np.float32).reshape(n, 3))
    y = minigrad.tensor(np.arange(n))
    return X, y


# ------------------------------------------------------------------------------------------ datasets
def test_tensor_dataset_items_and_errors():
    X, y = _xy()
    ds = mud.TensorDataset(X, y)
    assert len(ds) == 10
    x3, y3 = ds[3]
    np.testing.assert_array_equal(x3.array, [9, 10, 11])
    assert y3.item() == 3 and y3.dtype == minigrad.int64 and x3.dtype == minigrad.float32
    with pytest.raises(ValueError, match="size mismatch between tensors.*10, 9"):
        mud.TensorDataset(X, minigrad.tensor(np.arange(9)))
    with pytest.raises(ValueError, match="0-d tensor"):
        mud.TensorDataset(minigrad.tensor(1.0))
    with pytest.raises(TypeError, match="argument 1 is a ndarray"):
        mud.TensorDataset(X, np.arange(10))


def test_subset_concat_and_add():
    X, y = _xy()
    ds = mud.TensorDataset(X, y)
    sub = mud.Subset(ds, [7, 2, 5])
    assert len(sub) == 3 and sub[0][1].item() == 7 and sub[-1][1].item() == 5
    cat = ds + sub
    assert isinstance(cat, mud.ConcatDataset) and len(cat) == 13
    assert [cat[i][1].item() for i in (0, 9, 10, 12, -1, -13)] == [0, 9, 7, 5, 5, 0]
    with pytest.raises(IndexError, match="out of range"):
        cat[13]
    with pytest.raises(ValueError, match="should not exceed dataset length"):
        cat[-14]
    for lib in (mud, tud):  # torch raises AssertionError for an empty list
        with pytest.raises(AssertionError, match="empty"):
            lib.ConcatDataset([])


def test_random_split_lengths_fractions_and_seed():
    ds = list(range(11))
    for lengths in ([3, 8], [0.8, 0.2], [0.5, 0.3, 0.2], [1 / 3] * 3):
        mine = mud.random_split(ds, lengths, generator=minigrad.Generator().manual_seed(0))
        theirs = tud.random_split(ds, lengths, generator=torch.Generator().manual_seed(0))
        assert [len(s) for s in mine] == [len(s) for s in theirs]
        items = sorted(x for s in mine for x in (s[i] for i in range(len(s))))
        assert items == ds  # disjoint and complete
    a = mud.random_split(ds, [5, 6], generator=minigrad.Generator().manual_seed(1))
    b = mud.random_split(ds, [5, 6], generator=minigrad.Generator().manual_seed(1))
    c = mud.random_split(ds, [5, 6], generator=minigrad.Generator().manual_seed(2))
    assert a[0].indices == b[0].indices and a[0].indices != c[0].indices
    minigrad.manual_seed(5)
    d = mud.random_split(ds, [5, 6])
    minigrad.manual_seed(5)
    assert mud.random_split(ds, [5, 6])[0].indices == d[0].indices
    with pytest.raises(ValueError, match="does not equal the length"):
        mud.random_split(ds, [5, 5])
    with pytest.raises(ValueError, match="not between 0 and 1"):
        mud.random_split(ds, [1.5, -0.5])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        mud.random_split(list(range(2)), [0.9, 0.05, 0.05])
    assert any("Length of split at index" in str(x.message) for x in w)


# ------------------------------------------------------------------------------------------ loader
def test_batches_len_and_drop_last():
    X, y = _xy(10)
    loader = mud.DataLoader(mud.TensorDataset(X, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    assert [b[0].shape for b in batches] == [(4, 3), (4, 3), (2, 3)]
    assert isinstance(batches[0], list)  # (x, y) samples collate to [X, Y], as in torch
    np.testing.assert_array_equal(np.concatenate([b[0].array for b in batches]), X.array)
    np.testing.assert_array_equal(np.concatenate([b[1].array for b in batches]), y.array)
    dl = mud.DataLoader(mud.TensorDataset(X, y), batch_size=4, drop_last=True)
    assert len(dl) == 2 and [b[1].shape for b in dl] == [(4,), (4,)]
    it = iter(dl)
    assert len(it) == 2
    assert len(mud.DataLoader(list(range(7)))) == 7  # batch_size defaults to 1


def _order(loader):
    return np.concatenate([b[1].array for b in loader]).tolist()


def test_shuffle_is_reproducible_under_manual_seed():
    X, y = _xy(20)
    loader = mud.DataLoader(mud.TensorDataset(X, y), batch_size=6, shuffle=True)
    minigrad.manual_seed(123)
    first, second = _order(loader), _order(loader)
    assert sorted(first) == list(range(20)) and sorted(second) == list(range(20))
    assert first != list(range(20)) and first != second  # shuffled, and a new order each epoch
    minigrad.manual_seed(123)
    assert _order(loader) == first and _order(loader) == second
    minigrad.manual_seed(124)
    assert _order(loader) != first
    # an explicit generator, and num_workers > 0 (worker processes) gives the same batches, as in torch
    g = minigrad.Generator().manual_seed(7)
    a = _order(mud.DataLoader(mud.TensorDataset(X, y), batch_size=6, shuffle=True, generator=g))
    g.manual_seed(7)
    b = _order(
        mud.DataLoader(
            mud.TensorDataset(X, y),
            batch_size=6,
            shuffle=True,
            generator=g,
            num_workers=2,
            pin_memory=True,
            prefetch_factor=2,
            persistent_workers=True,
        )
    )
    assert a == b


def _assert_same(mine, theirs):
    """A minigrad batch has the structure, types, dtypes and values of torch's batch."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(mine, minigrad.Tensor), type(mine)
        assert mine.dtype.name == str(theirs.dtype).replace("torch.", ""), (mine.dtype, theirs.dtype)
        np.testing.assert_array_equal(mine.array, theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(mine) is type(theirs) and list(mine) == list(theirs)
        for k in theirs:
            _assert_same(mine[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert type(mine) is type(theirs) and len(mine) == len(theirs)
        for m, t in zip(mine, theirs):
            _assert_same(m, t)
    else:
        assert mine == theirs


def _both(samples_np):
    """The same samples for both libraries (arrays become each library's tensors where marked)."""

    def conv(x, lib):
        if isinstance(x, tuple) and len(x) == 2 and x[0] == "T":
            return lib.from_numpy(x[1].copy())
        if isinstance(x, dict):
            return {k: conv(v, lib) for k, v in x.items()}
        if isinstance(x, Point):
            return Point(*(conv(v, lib) for v in x))
        if isinstance(x, list):
            return [conv(v, lib) for v in x]
        if isinstance(x, tuple):
            return tuple(conv(v, lib) for v in x)
        return x

    return [conv(s, minigrad) for s in samples_np], [conv(s, torch) for s in samples_np]


SAMPLES = {
    "floats": [1.5, 2.0, -3.25],
    "ints": [1, 2, 3],
    "bools": [True, False, True],
    "strings": ["a", "bb", "c"],
    "numpy-f32": [np.ones(3, np.float32) * i for i in range(3)],
    "numpy-scalars": [np.float32(1), np.float32(2), np.float32(3)],
    "numpy-int-scalars": [np.int16(1), np.int16(5), np.int16(3)],
    "tensors": [("T", np.arange(4, dtype=np.float64) * i) for i in range(3)],
    "tuples": [(("T", np.ones(2) * i), i, f"s{i}") for i in range(3)],
    "lists": [[i, float(i)] for i in range(3)],
    "dicts": [{"seq": ("T", np.arange(3) + i), "label": i, "w": 0.5 * i, "name": "p"} for i in range(3)],
    "ordered": [OrderedDict(b=i, a=("T", np.zeros(2, np.float32))) for i in range(3)],
    "namedtuple": [Point(("T", np.ones(2, np.int32)), 1.0 * i) for i in range(3)],
    "nested": [{"pair": (i, [("T", np.eye(2) * i)]), "meta": {"id": i}} for i in range(3)],
}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_default_collate_matches_torch(name):
    mine, theirs = _both(SAMPLES[name])
    _assert_same(mud.default_collate(mine), tud.default_collate(theirs))
    # and through a DataLoader
    _assert_same(next(iter(mud.DataLoader(mine, batch_size=3))), next(iter(tud.DataLoader(theirs, batch_size=3))))


@pytest.mark.parametrize("name", ["floats", "numpy-f32", "tuples", "dicts", "namedtuple"])
def test_batch_size_none_converts_without_batching(name):
    mine, theirs = _both(SAMPLES[name])
    got = list(mud.DataLoader(mine, batch_size=None))
    want = list(tud.DataLoader(theirs, batch_size=None))
    assert len(got) == len(want) == 3
    for m, t in zip(got, want):
        _assert_same(m, t)


def test_collate_errors():
    with pytest.raises(RuntimeError, match=r"equal size, but got \[3\] at entry 0 and \[4\] at entry 1.*pads"):
        mud.default_collate([minigrad.zeros(3), minigrad.zeros(4)])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        mud.default_collate([[1, 2], [1]])
    with pytest.raises(TypeError, match="found <class 'object'>"):
        mud.default_collate([object(), object()])
    with pytest.raises(TypeError, match="found <U1"):
        mud.default_collate([np.array(["a"]), np.array(["b"])])


class _Proteins(mud.Dataset):
    """Variable-length integer sequences with a label, like the course's protein dataset."""

    def __init__(self, lengths):
        self.seqs = [np.arange(1, n + 1) % 20 + 1 for n in lengths]

    def __len__(self):
        return len(self.seqs)

    def __getitem__(self, i):
        return {"sequence": minigrad.from_numpy(self.seqs[i]), "label": i % 2}


def _pad_collate(batch):
    longest = max(len(item["sequence"]) for item in batch)
    seqs = np.zeros((len(batch), longest), dtype=np.int64)
    mask = np.zeros((len(batch), longest), dtype=np.float32)
    for row, item in enumerate(batch):
        n = len(item["sequence"])
        seqs[row, :n] = item["sequence"].numpy()
        mask[row, :n] = 1.0
    labels = np.array([item["label"] for item in batch])
    return {
        "sequence": minigrad.from_numpy(seqs),
        "mask": minigrad.from_numpy(mask),
        "label": minigrad.from_numpy(labels),
    }


def test_custom_collate_fn_with_dynamic_padding():
    lengths = [5, 2, 9, 3, 3, 7, 1]
    loader = mud.DataLoader(_Proteins(lengths), batch_size=3, collate_fn=_pad_collate)
    batches = list(loader)
    assert [tuple(b["sequence"].shape) for b in batches] == [(3, 9), (3, 7), (1, 1)]
    np.testing.assert_array_equal(batches[0]["mask"].array.sum(1), [5, 2, 9])
    assert batches[1]["label"].tolist() == [1, 0, 1]
    with pytest.raises(RuntimeError, match="pads"):  # the default collate cannot stack ragged samples
        next(iter(mud.DataLoader(_Proteins(lengths), batch_size=3)))


class _Stream(mud.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def test_iterable_dataset():
    loader = mud.DataLoader(_Stream(7), batch_size=3)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]] and len(loader) == 3
    loader = mud.DataLoader(_Stream(7), batch_size=3, drop_last=True)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5]] and len(loader) == 2
    assert list(mud.DataLoader(_Stream(3), batch_size=None)) == [0, 1, 2]
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        mud.DataLoader(_Stream(3), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler"):
        mud.DataLoader(_Stream(3), sampler=[0, 1])
    assert list(mud.ChainDataset([_Stream(2), _Stream(3)])) == [0, 1, 0, 1, 2]


def test_loader_argument_errors():
    ds = list(range(5))
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        mud.DataLoader(ds, sampler=mud.SequentialSampler(ds), shuffle=True)
    bs = mud.BatchSampler(mud.SequentialSampler(ds), 2, False)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        mud.DataLoader(ds, batch_sampler=bs, batch_size=2)
    with pytest.raises(ValueError, match="mutually exclusive with drop_last"):
        mud.DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified"):
        mud.DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        mud.DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        mud.DataLoader(ds, num_workers=-1)
    loader = mud.DataLoader(ds, batch_size=2)
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        loader.batch_size = 3
    assert [b.tolist() for b in mud.DataLoader(ds, batch_sampler=bs)] == [[0, 1], [2, 3], [4]]


# ------------------------------------------------------------------------------------------ samplers
def test_samplers():
    ds = list(range(10))
    assert list(mud.SequentialSampler(ds)) == ds
    for drop in (False, True):
        mine = list(mud.BatchSampler(mud.SequentialSampler(ds), 3, drop))
        theirs = list(tud.BatchSampler(tud.SequentialSampler(ds), 3, drop))
        assert mine == theirs and len(mud.BatchSampler(ds, 3, drop)) == len(theirs)
    with pytest.raises(ValueError, match="batch_size should be a positive integer value, but got batch_size=0"):
        mud.BatchSampler(ds, 0, False)

    g = minigrad.Generator().manual_seed(0)
    rs = mud.RandomSampler(ds, generator=g)
    a, b = list(rs), list(rs)
    assert sorted(a) == ds and a != b and len(rs) == 10
    more = list(mud.RandomSampler(ds, num_samples=25, generator=g))
    assert len(more) == 25 and all(more.count(i) in (2, 3) for i in ds)  # 2 full permutations + 5
    rep = list(mud.RandomSampler(ds, replacement=True, num_samples=40, generator=g))
    assert len(rep) == 40 and set(rep) <= set(ds)
    one_epoch = list(mud.RandomSampler(ds, replacement=True, generator=g))
    assert len(one_epoch) == 10 and len(set(one_epoch)) < 10  # draws repeat: not a permutation
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        mud.RandomSampler(ds, num_samples=0)

    sub = list(mud.SubsetRandomSampler([3, 5, 7, 9], generator=g))
    assert sorted(sub) == [3, 5, 7, 9]

    w = mud.WeightedRandomSampler([0.0, 1.0, 3.0, 0.0], num_samples=400, generator=g)
    draws = np.array(list(w))
    assert len(draws) == 400 and set(draws.tolist()) == {1, 2}  # zero weight is never drawn
    assert 0.6 < (draws == 2).mean() < 0.9  # ~0.75
    no_rep = list(mud.WeightedRandomSampler(minigrad.tensor([1.0, 1, 1, 1]), 4, replacement=False, generator=g))
    assert sorted(no_rep) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="1d sequence"):
        mud.WeightedRandomSampler(np.ones((2, 2)), 3)
    # bad weights pass the constructor and fail when drawing, as torch's (WeightedRandomSampler's torch
    # comparisons are in test_data_workers.py)
    with pytest.raises(RuntimeError, match="without replacement"):
        list(mud.WeightedRandomSampler([1.0, 0.0], 3, replacement=False))
    with pytest.raises(RuntimeError, match="entry < 0"):
        list(mud.WeightedRandomSampler([1.0, -1.0], 2))


def test_loader_with_weighted_sampler_and_subset_sampler():
    X, y = _xy(8)
    ds = mud.TensorDataset(X, y)
    g = minigrad.Generator().manual_seed(3)
    loader = mud.DataLoader(ds, batch_size=4, sampler=mud.SubsetRandomSampler([0, 2, 4, 6, 7], generator=g))
    seen = _order(loader)
    assert sorted(seen) == [0, 2, 4, 6, 7] and len(loader) == 2


def test_collate_keeps_gpu_tensors_on_the_gpu(monkeypatch):
    from minigrad import _fakegpu, backend

    monkeypatch.setattr(backend, "_gpu_module", _fakegpu)
    X = minigrad.tensor(np.arange(12.0).reshape(4, 3), device="cuda")
    batch = next(iter(mud.DataLoader(mud.TensorDataset(X), batch_size=3)))[0]
    assert batch.device.type == "cuda" and batch.shape == (3, 3)
    np.testing.assert_array_equal(batch.cpu().array, np.arange(9.0).reshape(3, 3))
    with pytest.raises(RuntimeError, match="one device"):
        mud.default_collate([minigrad.zeros(2), minigrad.zeros(2, device="cuda")])


# ------------------------------------------------------------------------------------------ properties
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(
    n=st.integers(0, 40),
    batch_size=st.integers(1, 12),
    drop_last=st.booleans(),
    shuffle=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_loader_batches_partition_the_dataset(n, batch_size, drop_last, shuffle, seed):
    ds = mud.TensorDataset(minigrad.tensor(np.arange(n)))
    minigrad.manual_seed(seed)
    if n == 0 and shuffle:  # like torch's RandomSampler, shuffling an empty dataset is an error
        with pytest.raises(ValueError, match="num_samples=0"):
            mud.DataLoader(ds, batch_size=batch_size, shuffle=True)
        with pytest.raises(ValueError, match="num_samples=0"):
            tud.DataLoader(list(range(n)), batch_size=batch_size, shuffle=True)
        return
    loader = mud.DataLoader(ds, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last)
    got = [b[0].tolist() for b in loader]
    want_sizes = [len(b) for b in tud.DataLoader(list(range(n)), batch_size=batch_size, drop_last=drop_last)]
    assert [len(b) for b in got] == want_sizes and len(loader) == len(want_sizes)
    flat = [i for b in got for i in b]
    assert len(set(flat)) == len(flat)  # no sample twice in an epoch
    if not drop_last:
        assert sorted(flat) == list(range(n))
    if not shuffle:
        assert flat == list(range(len(flat)))
    minigrad.manual_seed(seed)
    assert [b[0].tolist() for b in loader] == got  # reproducible


@given(n=st.integers(0, 60), parts=st.lists(st.integers(1, 20), min_size=1, max_size=4))
def test_random_split_fractions_match_torch_sizes(n, parts):
    fracs = [p / sum(parts) for p in parts]
    if not (abs(sum(fracs) - 1) < 1e-9 and sum(fracs) <= 1):
        return  # rounding made the fractions sum to a hair over 1: torch then treats them as lengths
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine = mud.random_split(list(range(n)), fracs, generator=minigrad.Generator().manual_seed(0))
        theirs = tud.random_split(list(range(n)), fracs, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in mine] == [len(s) for s in theirs]
    assert sorted(i for s in mine for i in s.indices) == list(range(n))


def test_collate_of_samples_that_require_grad_stays_in_the_graph():
    w = minigrad.tensor(np.array([1.0, 2.0]), requires_grad=True)
    batch = mud.default_collate([w * 2, w * 3])
    assert batch.grad_fn is not None and batch.shape == (2, 2)
    (batch * minigrad.tensor(np.array([[1.0, 0.0], [0.0, 1.0]]))).sum().backward()
    np.testing.assert_allclose(w.grad.array, [2.0, 3.0])
