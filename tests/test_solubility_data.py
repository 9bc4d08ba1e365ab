"""Dataset, collate, bucketing sampler and the synthetic default data."""

import numpy as np
import pytest
import torch

import minigrad
from solubility import LengthBucketSampler, ProteinDataset, make_collate, make_synthetic, pad_batch
from solubility.encoding import ALPHABET
from solubility.readers import Record
from solubility.synthetic import features


def recs(*seqs):
    return [Record(f"r{i}", s, i % 2) for i, s in enumerate(seqs)]


def test_dataset_encodes_once_and_truncates_only_when_asked():
    ds = ProteinDataset(recs("MKV", "ACDEFG"))
    assert len(ds) == 2 and ds.lengths.tolist() == [3, 6]
    assert ds[1]["sequence"].tolist() == [1, 2, 3, 4, 5, 6] and ds[1]["label"] == 1
    short = ProteinDataset(recs("MKV", "ACDEFG"), max_len=4)
    assert short.lengths.tolist() == [3, 4] and short[1]["sequence"].tolist() == [1, 2, 3, 4]
    cut = ds.truncated(2)
    assert cut.lengths.tolist() == [2, 2] and cut[1]["sequence"].tolist() == [1, 2] and len(ds[1]["sequence"]) == 6
    sub = ds.subset([1])
    assert len(sub) == 1 and sub[0]["sequence"].tolist() == ds[1]["sequence"].tolist()
    with pytest.raises(ValueError, match="max_len must be"):
        ProteinDataset(recs("MKV"), max_len=0)
    with pytest.raises(ValueError, match="record r1: position 2"):
        ProteinDataset(recs("MKV", "A1"))


def test_pad_batch_pads_to_the_batch_longest():
    ds = ProteinDataset(recs("MK", "ACDE", "W"))
    b = pad_batch([ds[0], ds[1], ds[2]], np.float64)
    assert b["sequence"].shape == (3, 4) and b["sequence"].dtype == np.int64
    assert b["sequence"][0].tolist() == [11, 9, 0, 0]
    assert b["mask"].dtype == np.float64
    assert b["mask"].tolist() == [[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]]
    assert b["label"].tolist() == [0, 1, 0]
    with pytest.raises(ValueError, match="empty batch"):
        pad_batch([])


@pytest.mark.parametrize("lib", [torch, minigrad])
def test_collate_gives_library_tensors(lib):
    ds = ProteinDataset(recs("MK", "ACDE"))
    b = make_collate(lib, lib.float64)([ds[0], ds[1]])
    assert isinstance(b["sequence"], lib.Tensor) and b["sequence"].dtype == lib.int64
    assert b["mask"].dtype == lib.float64 and tuple(b["mask"].shape) == (2, 4)
    assert b["label"].tolist() == [0, 1]


def test_bucket_sampler_covers_every_index_once_and_is_seeded():
    lengths = np.random.default_rng(0).integers(20, 500, size=203)
    s = LengthBucketSampler(lengths, 16, seed=3, pool_batches=4)
    epoch0 = list(s)
    flat = sorted(i for b in epoch0 for i in b)
    assert flat == list(range(203)) and len(epoch0) == len(s)
    assert list(LengthBucketSampler(lengths, 16, seed=3, pool_batches=4)) == epoch0  # same seed, same batches
    assert list(s) != epoch0  # next epoch differs

    def padding(batches):
        return sum(len(b) * lengths[b].max() - lengths[b].sum() for b in batches)

    rng = np.random.default_rng(1)
    random_batches = np.array_split(rng.permutation(203), 13)
    assert padding(epoch0) < 0.5 * padding(random_batches)
    ordered = LengthBucketSampler(lengths, 16, shuffle=False).batches()
    assert [i for b in ordered for i in b] == np.argsort(lengths, kind="stable").tolist()
    assert all(len(b) == 16 for b in LengthBucketSampler(lengths, 16, drop_last=True))
    with pytest.raises(ValueError, match="batch_size"):
        LengthBucketSampler(lengths, 0)


@pytest.mark.parametrize("lib", [torch, minigrad])
def test_sampler_and_collate_work_with_each_dataloader(lib):
    ds = ProteinDataset(make_synthetic(30, seed=1, median_length=50))
    sampler = LengthBucketSampler(ds.lengths, 8, seed=0)
    loader = lib.utils.data.DataLoader(ds, batch_sampler=sampler, collate_fn=make_collate(lib))
    batches = list(loader)
    assert sum(int(b["label"].shape[0]) for b in batches) == 30
    for b in batches:
        assert b["sequence"].shape == b["mask"].shape
        assert int(b["mask"].sum().item()) == int((b["sequence"].numpy() > 0).sum())


def test_synthetic_data_is_seeded_realistic_and_learnable_but_not_trivial():
    a = make_synthetic(400, seed=5)
    assert [r.sequence for r in a] == [r.sequence for r in make_synthetic(400, seed=5)]
    assert [r.sequence for r in a] != [r.sequence for r in make_synthetic(400, seed=6)]
    lengths = np.array([len(r.sequence) for r in a])
    assert lengths.min() >= 40 and 150 < np.median(lengths) < 350
    assert all(set(r.sequence) <= set(ALPHABET) and r.sequence[0] == "M" for r in a)
    labels = np.array([r.label for r in a])
    assert abs(labels.mean() - 0.45) < 0.01
    # the rule's features predict the label well, but not perfectly (noise)
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    f = [features(r.sequence) for r in a]
    X = np.array(
        [
            [x["gravy"], abs(x["net_charge"]), np.log(x["length"]), r.extra["hydrophobic_stretches"]]
            for x, r in zip(f, a)
        ]
    )
    auc = roc_auc_score(labels, LogisticRegression().fit(X, labels).predict_proba(X)[:, 1])
    assert 0.8 < auc < 0.99
    with pytest.raises(ValueError, match="n >= 2"):
        make_synthetic(1)


def test_split_needs_enough_proteins_and_gives_every_part_both_classes():
    from solubility.split import min_split_size, stratified_split

    need = min_split_size()
    with pytest.raises(
        ValueError,
        match=rf"{need - 1} proteins are too few to split into train/val/test; "
        rf"need at least {need}",
    ):
        stratified_split(np.array([0, 1] * need)[: need - 1])
    for n in range(need, need + 20):
        labels = np.arange(n) % 2
        parts = stratified_split(labels)
        assert sum(len(p) for p in parts) == n
        assert all(set(labels[p].tolist()) == {0, 1} for p in parts), n


def test_one_class_is_refused_naming_the_part():
    from solubility.split import check_two_classes

    labels = np.array([1, 1, 0, 1, 1, 1])
    check_two_classes(labels, {"train part": [0, 1, 2]})
    with pytest.raises(ValueError, match=r"the dataset has label 1 only \(3 proteins\)"):
        check_two_classes(labels[[0, 1, 3]])
    with pytest.raises(ValueError, match=r"the test part has label 1 only \(2 proteins\)"):
        check_two_classes(labels, {"train part": [0, 1, 2], "test part": [4, 5]})


def test_homology_split_with_too_few_clusters_says_so():
    from solubility.split import homology_split

    seqs = ["MKVLLAGGWWTT" * 3] * 20  # one cluster
    with pytest.raises(ValueError, match=r"20 proteins form only 1 clusters at identity 0.5; 10 are needed"):
        homology_split(seqs, np.arange(20) % 2, method="kmer")
