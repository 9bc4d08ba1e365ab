"""Dataset, dynamic-padding collate and a length-bucketing batch sampler, for torch and minigrad alike.

:class:`ProteinDataset` encodes every sequence once, up front (so a bad letter fails at load time,
naming the record), and returns plain NumPy items: ``{'sequence': int64 tokens, 'label': int}``.
Nothing here depends on a tensor library; :func:`make_collate` turns a list of items into tensors
of the library you pass (``torch`` or ``minigrad``), and both ``DataLoader`` classes accept the
dataset and the sampler unchanged.

Dynamic padding: a batch is padded only to its own longest sequence (not to a global maximum), and
comes with a mask (1.0 at real residues, 0.0 at padding) so the model can ignore the padding.
Bucketing: :class:`LengthBucketSampler` groups sequences of similar length into the same batch,
which cuts the padded work (with random batches only ~40 % of padded positions are real residues).
"""

from __future__ import annotations

import numpy as np

from .encoding import PAD, encode

__all__ = ["ProteinDataset", "pad_batch", "make_collate", "LengthBucketSampler"]


class ProteinDataset:
    """Encoded protein sequences with their labels.

    ``max_len=None`` keeps every residue. Give ``max_len`` to truncate longer sequences to their first
    ``max_len`` residues (an explicit choice: the C-terminal end is then never seen).
    """

    def __init__(self, records, max_len: int | None = None, ambiguous: str = "substitute"):
        if max_len is not None and max_len < 1:
            raise ValueError(f"ProteinDataset: max_len must be a positive int or None, got {max_len}")
        self.records = list(records)
        self.max_len = max_len
        self.tokens = []
        for r in self.records:
            tok = encode(r.sequence, record=r.id, ambiguous=ambiguous)
            self.tokens.append(tok[:max_len] if max_len is not None else tok)
        self.labels = np.array([r.label for r in self.records], dtype=np.int64)
        self.lengths = np.array([len(t) for t in self.tokens], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, idx: int) -> dict:
        return {"sequence": self.tokens[idx], "label": int(self.labels[idx])}

    def subset(self, indices) -> ProteinDataset:
        """A dataset with the given items only (encoding is not repeated)."""
        out = object.__new__(ProteinDataset)
        indices = np.asarray(indices, dtype=np.int64)
        out.records = [self.records[i] for i in indices]
        out.max_len = self.max_len
        out.tokens = [self.tokens[i] for i in indices]
        out.labels, out.lengths = self.labels[indices], self.lengths[indices]
        return out

    def truncated(self, max_len: int) -> ProteinDataset:
        """A copy whose sequences are cut to their first ``max_len`` residues."""
        if max_len < 1:
            raise ValueError(f"ProteinDataset.truncated: max_len must be >= 1, got {max_len}")
        out = self.subset(np.arange(len(self)))
        out.max_len = max_len if self.max_len is None else min(max_len, self.max_len)
        out.tokens = [t[:max_len] for t in out.tokens]
        out.lengths = np.minimum(out.lengths, max_len)
        return out


def pad_batch(items, dtype=np.float32) -> dict:
    """Pad a list of dataset items to the batch's longest sequence; NumPy arrays out.

    Returns ``sequence`` (N, L) int64 with 0 at padding, ``mask`` (N, L) of ``dtype`` (1 = residue),
    ``label`` (N,) int64.
    """
    if not items:
        raise ValueError("pad_batch: empty batch")
    L = max(len(it["sequence"]) for it in items)
    seq = np.full((len(items), L), PAD, dtype=np.int64)
    mask = np.zeros((len(items), L), dtype=dtype)
    for i, it in enumerate(items):
        n = len(it["sequence"])
        seq[i, :n] = it["sequence"]
        mask[i, :n] = 1
    label = np.array([it["label"] for it in items], dtype=np.int64)
    return {"sequence": seq, "mask": mask, "label": label}


def make_collate(lib, dtype=None, device=None):
    """A ``collate_fn`` for ``lib.utils.data.DataLoader`` that pads dynamically and returns ``lib`` tensors.

    ``dtype`` is the mask's floating dtype (``lib.float32`` by default).
    """
    dtype = dtype if dtype is not None else lib.float32
    np_dtype = np.float64 if dtype == lib.float64 else np.float32

    def collate(items):
        b = pad_batch(items, np_dtype)
        return {k: lib.from_numpy(v) if device is None else lib.from_numpy(v).to(device) for k, v in b.items()}

    return collate


class LengthBucketSampler:
    """A batch sampler that puts sequences of similar length together (pass it as ``batch_sampler=``).

    Each epoch: shuffle all indices, cut them into pools of ``batch_size * pool_batches``, sort each
    pool by length, cut the pool into batches, shuffle the order of all batches. Batches stay random
    (different every epoch) but have little padding. With ``shuffle=False`` the whole dataset is
    sorted by length once and batches come in that order (good for evaluation). Same ``seed``, same
    batches; the epoch counter advances on every full iteration.
    """

    def __init__(
        self,
        lengths,
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        pool_batches: int = 50,
        drop_last: bool = False,
    ):
        if batch_size < 1:
            raise ValueError(f"LengthBucketSampler: batch_size must be >= 1, got {batch_size}")
        self.lengths = np.asarray(lengths)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.pool_batches, self.drop_last = pool_batches, drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self, epoch: int | None = None) -> list[list[int]]:
        """The batches (lists of indices) of one epoch, without advancing the epoch counter."""
        epoch = self.epoch if epoch is None else epoch
        n, bs = len(self.lengths), self.batch_size
        if not self.shuffle:
            order = np.argsort(self.lengths, kind="stable")
            out = [order[i : i + bs].tolist() for i in range(0, n, bs)]
        else:
            rng = np.random.default_rng([self.seed, epoch])
            perm = rng.permutation(n)
            pool = bs * self.pool_batches
            out = []
            for start in range(0, n, pool):
                chunk = perm[start : start + pool]
                chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
                out.extend(chunk[i : i + bs].tolist() for i in range(0, len(chunk), bs))
            out = [out[i] for i in rng.permutation(len(out))]
        if self.drop_last:
            out = [b for b in out if len(b) == bs]
        return out

    def __iter__(self):
        batches = self.batches()
        self.epoch += 1
        return iter(batches)

    def __len__(self) -> int:
        n, bs = len(self.lengths), self.batch_size
        if not self.shuffle:
            return n // bs if self.drop_last else -(-n // bs)
        return len(self.batches())
