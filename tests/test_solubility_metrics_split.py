import math

import numpy as np
import pytest

from solubility.metrics import classification_metrics
from solubility.split import homology_split, kmer_clusters, parse_cdhit_clusters, partition_split, stratified_split


def test_metrics_against_a_hand_computed_case():
    y = [1, 1, 1, 0, 0, 0, 0, 1]
    p = [0.9, 0.6, 0.4, 0.7, 0.2, 0.1, 0.3, 0.8]
    m = classification_metrics(y, p)
    # predictions at 0.5: 1 1 0 1 0 0 0 1 -> TP=3 FN=1 FP=1 TN=3
    assert m["confusion"] == [[3, 1], [1, 3]] and m["n"] == 8
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["precision"] == pytest.approx(3 / 4) and m["recall"] == pytest.approx(3 / 4)
    assert m["f1"] == pytest.approx(3 / 4)
    assert m["mcc"] == pytest.approx((3 * 3 - 1 * 1) / math.sqrt(4 * 4 * 4 * 4))
    # AUC: fraction of (positive, negative) pairs ranked correctly; positives 0.9 0.6 0.4 0.8, negatives 0.7 .2 .1 .3
    pairs = [(a, b) for a in (0.9, 0.6, 0.4, 0.8) for b in (0.7, 0.2, 0.1, 0.3)]
    assert m["roc_auc"] == pytest.approx(sum(a > b for a, b in pairs) / 16)


def test_metrics_edge_cases():
    m = classification_metrics([1, 1], [0.2, 0.9])
    assert math.isnan(m["roc_auc"]) and m["precision"] == 1.0 and m["recall"] == 0.5
    assert classification_metrics([0, 1], [0.1, 0.2])["precision"] == 0.0  # nothing predicted positive
    assert classification_metrics([0, 1], [0.5, 0.49], threshold=0.45)["confusion"] == [[0, 1], [0, 1]]
    with pytest.raises(ValueError, match="2 labels but 3"):
        classification_metrics([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="0 or 1"):
        classification_metrics([0, 2], [0.1, 0.2])


def test_stratified_split_is_disjoint_complete_balanced_and_seeded():
    labels = np.array([0] * 60 + [1] * 40)
    tr, va, te = stratified_split(labels, seed=1)
    assert sorted(np.concatenate([tr, va, te]).tolist()) == list(range(100))
    assert (len(tr), len(va), len(te)) == (80, 10, 10)
    assert labels[te].sum() == 4 and labels[va].sum() == 4
    assert all((a == b).all() for a, b in zip((tr, va, te), stratified_split(labels, seed=1)))
    with pytest.raises(ValueError, match="bad fractions"):
        stratified_split(labels, 0.6, 0.5)


def test_partition_split():
    parts = ["0", "1", "2", "3", "4", "4", "3", "0"]
    tr, va, te = partition_split(parts)
    assert te.tolist() == [4, 5] and va.tolist() == [3, 6] and tr.tolist() == [0, 1, 2, 7]
    tr, va, te = partition_split(parts, val_partition=0, test_partition=1)
    assert te.tolist() == [1] and va.tolist() == [0, 7]
    with pytest.raises(ValueError, match="not among"):
        partition_split(parts, test_partition=9)
    with pytest.raises(ValueError, match="at least 3"):
        partition_split(["a", "b"])


def test_kmer_clusters_group_near_duplicates_only():
    rng = np.random.default_rng(0)
    letters = np.array(list("ACDEFGHIKLMNPQRSTVWY"))
    base = ["".join(rng.choice(letters, 200)) for _ in range(3)]
    mutant = list(base[0])
    for pos in rng.choice(200, 6, replace=False):
        mutant[pos] = "W" if mutant[pos] != "W" else "A"
    seqs = [base[0], base[1], "".join(mutant), base[2], base[1][20:180]]
    c = kmer_clusters(seqs)
    assert c[0] == c[2] and c[1] == c[4]
    assert len({c[0], c[1], c[3]}) == 3


def test_homology_split_keeps_clusters_on_one_side():
    rng = np.random.default_rng(1)
    letters = np.array(list("ACDEFGHIKLMNPQRSTVWY"))
    fams = ["".join(rng.choice(letters, 120)) for _ in range(40)]
    seqs, labels = [], []
    for i, f in enumerate(fams):
        for _j in range(3):  # three close members per family (a few point mutations)
            s = list(f)
            s[rng.integers(120)] = "A"
            seqs.append("".join(s))
            labels.append(i % 2)
    tr, va, te, clusters = homology_split(seqs, labels, seed=0, method="kmer")
    assert len(set(clusters.tolist())) == 40
    side = {}
    for name, idx in (("tr", tr), ("va", va), ("te", te)):
        for i in idx:
            assert side.setdefault(clusters[i], name) == name
    assert sorted(np.concatenate([tr, va, te]).tolist()) == list(range(120))
    assert len(te) > 0 and len(va) > 0
    with pytest.raises(ValueError, match="method must be"):
        homology_split(seqs, labels, method="blast")


def test_parse_cdhit_clusters():
    text = ">Cluster 0\n0\t200aa, >s2... *\n1\t190aa, >s0... at 95.00%\n>Cluster 1\n0\t120aa, >s1... *\n"
    assert parse_cdhit_clusters(text, 3).tolist() == [0, 1, 0]
    with pytest.raises(RuntimeError, match="lists 3 of 4"):
        parse_cdhit_clusters(text, 4)
