"""Train / validation / test splits: stratified, by given partition, or homology-aware.

Related proteins share properties, so a random split can put near-copies of a test protein in the
training set and flatter the model. A *homology-aware* split first clusters similar sequences and
keeps each cluster on one side of the split.

* :func:`stratified_split` - random, with the same class balance in every part (scikit-learn).
* :func:`partition_split` - use folds given with the data (NetSolP's ``partition`` column holds
  homology-based folds 0-4).
* :func:`homology_split` - cluster, then split whole clusters (scikit-learn's StratifiedGroupKFold
  keeps the class balance roughly equal). Clustering uses CD-HIT when the ``cd-hit`` program is on
  the PATH (Debian package ``cd-hit``), otherwise :func:`kmer_clusters`.

Each function returns three sorted int64 index arrays ``(train, val, test)``.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
from collections import defaultdict

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

__all__ = [
    "stratified_split",
    "partition_split",
    "homology_split",
    "kmer_clusters",
    "cdhit_clusters",
    "parse_cdhit_clusters",
    "min_split_size",
    "check_two_classes",
]


def min_split_size(val_fraction: float = 0.1, test_fraction: float = 0.1) -> int:
    """The fewest proteins :func:`stratified_split` needs so that train, val and test each get at least
    two, enough to hold both classes (12 for the default 80/10/10; scikit-learn rounds test and val up)."""
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(f"stratified_split: bad fractions val={val_fraction} test={test_fraction}")
    n = 3
    while True:
        n_test = math.ceil(test_fraction * n)
        n_val = math.ceil(val_fraction / (1 - test_fraction) * (n - n_test))
        if n_test >= 2 and n_val >= 2 and n - n_test - n_val >= 2:
            return n
        n += 1


def check_two_classes(labels, parts: dict | None = None) -> None:
    """Raise ValueError when ``labels`` (or the part of them indexed by any value of ``parts``, e.g.
    ``{"train": idx, "test": idx}``) holds only one class: a model cannot learn from it, and ROC-AUC is undefined."""
    labels = np.asarray(labels)
    for name, idx in {"dataset": None, **(parts or {})}.items():
        part = labels if idx is None else labels[np.asarray(idx, dtype=np.int64)]
        present = sorted(set(part.tolist()))
        if len(present) < 2:
            what = f"label {present[0]} only" if present else "no proteins"
            raise ValueError(
                f"the {name} has {what} ({len(part)} proteins): both classes (0 and 1) are needed "
                "to train and to compute ROC-AUC"
            )


def stratified_split(labels, val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0):
    """Random split keeping the label balance in each part."""
    labels = np.asarray(labels)
    need = min_split_size(val_fraction, test_fraction)  # also checks the fractions
    if len(labels) < need:
        raise ValueError(
            f"stratified_split: {len(labels)} proteins are too few to split into train/val/test; need at least {need}"
        )
    idx = np.arange(len(labels))
    strat = labels if np.bincount(labels).min() >= 3 else None
    rest, test = train_test_split(idx, test_size=test_fraction, stratify=strat, random_state=seed)
    strat = labels[rest] if strat is not None else None
    train, val = train_test_split(rest, test_size=val_fraction / (1 - test_fraction), stratify=strat, random_state=seed)
    return np.sort(train), np.sort(val), np.sort(test)


def partition_split(partitions, val_partition=None, test_partition=None):
    """Split by given folds: ``test_partition`` (default: the largest value) is the test set,
    ``val_partition`` (default: the next one down) the validation set, the rest is training."""
    parts = np.asarray([str(p) for p in partitions])
    values = sorted(set(parts.tolist()), key=lambda v: (len(v), v))
    if len(values) < 3:
        raise ValueError(f"partition_split: need at least 3 distinct partitions, got {values}")
    test_partition = values[-1] if test_partition is None else str(test_partition)
    val_partition = [v for v in values if v != test_partition][-1] if val_partition is None else str(val_partition)
    for name, v in (("test", test_partition), ("val", val_partition)):
        if v not in values:
            raise ValueError(f"partition_split: {name} partition {v!r} not among {values}")
    idx = np.arange(len(parts))
    test, val = idx[parts == test_partition], idx[parts == val_partition]
    train = idx[(parts != test_partition) & (parts != val_partition)]
    return train, val, test


def kmer_clusters(sequences, k: int = 5, identity: float = 0.5) -> np.ndarray:
    """Greedy clustering by shared k-mers (a documented stand-in for CD-HIT).

    Sequences are visited longest first; each joins the first existing cluster representative with
    which it shares at least ``identity`` of its own distinct k-mers, or founds a new cluster. The
    shared-k-mer fraction tracks sequence identity closely above ~50 % identity (two sequences at
    identity p share about p**k of their k-mers by chance alone only when the differences are spread
    out, so this groups close homologs and near-duplicates, not remote ones). Returns a cluster id
    per sequence.
    """
    n = len(sequences)
    order = sorted(range(n), key=lambda i: -len(sequences[i]))
    index = defaultdict(list)  # k-mer -> representatives containing it
    rep_cluster, cluster = {}, np.empty(n, dtype=np.int64)
    for i in order:
        s = sequences[i]
        kmers = {s[j : j + k] for j in range(len(s) - k + 1)} or {s}
        counts = defaultdict(int)
        for km in kmers:
            for r in index.get(km, ()):
                counts[r] += 1
        need = identity * len(kmers)
        best = max(counts.items(), key=lambda kv: kv[1], default=(None, 0))
        if best[0] is not None and best[1] >= need:
            cluster[i] = rep_cluster[best[0]]
        else:
            cluster[i] = rep_cluster[i] = len(rep_cluster)
            for km in kmers:
                index[km].append(i)
    return cluster


def parse_cdhit_clusters(text: str, n: int) -> np.ndarray:
    """Read a CD-HIT ``.clstr`` file whose member names are ``s<index>``; returns a cluster id per index."""
    cluster = np.full(n, -1, dtype=np.int64)
    cid = -1
    for line in text.splitlines():
        if line.startswith(">Cluster"):
            cid += 1
        elif line.strip():
            name = line.split(">", 1)[1].split("...", 1)[0]
            cluster[int(name[1:])] = cid
    if (cluster < 0).any():
        raise RuntimeError(f"cd-hit output lists {int((cluster >= 0).sum())} of {n} sequences")
    return cluster


def cdhit_clusters(sequences, identity: float = 0.5) -> np.ndarray:
    """Cluster with the ``cd-hit`` program (word size chosen for ``identity`` as its manual says)."""
    exe = shutil.which("cd-hit")
    if exe is None:
        raise FileNotFoundError("cd-hit is not on the PATH (Debian: apt-get install cd-hit)")
    word = 5 if identity >= 0.7 else 4 if identity >= 0.6 else 3 if identity >= 0.5 else 2
    with tempfile.TemporaryDirectory() as tmp:
        fasta = os.path.join(tmp, "in.fasta")
        with open(fasta, "w") as fh:
            fh.writelines(f">s{i}\n{s}\n" for i, s in enumerate(sequences))
        subprocess.run(
            [
                exe,
                "-i",
                fasta,
                "-o",
                os.path.join(tmp, "out"),
                "-c",
                str(identity),
                "-n",
                str(word),
                "-d",
                "0",
                "-M",
                "0",
                "-T",
                "1",
            ],
            check=True,
            capture_output=True,
        )
        with open(os.path.join(tmp, "out.clstr")) as fh:
            return parse_cdhit_clusters(fh.read(), len(sequences))


def homology_split(sequences, labels, identity: float = 0.5, seed: int = 0, method: str = "auto", n_folds: int = 10):
    """Cluster similar sequences and split whole clusters: one fold for test, one for val, the rest train.

    ``method``: ``"cd-hit"``, ``"kmer"`` or ``"auto"`` (CD-HIT if installed, else k-mers). Returns
    ``(train, val, test, clusters)``.
    """
    labels = np.asarray(labels)
    if method == "auto":
        method = "cd-hit" if shutil.which("cd-hit") else "kmer"
    if method == "cd-hit":
        clusters = cdhit_clusters(sequences, identity)
    elif method == "kmer":
        clusters = kmer_clusters(sequences, identity=identity)
    else:
        raise ValueError(f"homology_split: method must be 'auto', 'cd-hit' or 'kmer', got {method!r}")
    n_clusters = len(np.unique(clusters))
    if n_clusters < n_folds:
        raise ValueError(
            f"homology_split: {len(labels)} proteins form only {n_clusters} clusters at identity "
            f"{identity}; {n_folds} are needed (use more data, a higher identity, or another split)"
        )
    folds = list(
        StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed).split(
            np.zeros(len(labels)), labels, clusters
        )
    )
    test = folds[0][1]
    val = folds[1][1]
    train = np.setdiff1d(np.arange(len(labels)), np.concatenate([test, val]))
    return np.sort(train), np.sort(val), np.sort(test), clusters
