"""The stronger solubility models, each written once for any torch-shaped library (``lib`` = torch or minigrad).

Every model maps ``(tokens (N, L) int64, mask (N, L) float, features (N, F) float or None)`` to
``(N, heads)`` logits, one logit per *label source*. Head 0 is DeepSol's label (the distribution we
evaluate on); head 1, when present, is NetSolP's. The two datasets come from PSI:Biology but define
"soluble" differently (of the 19 sequences in both files, 12 are insoluble in DeepSol and soluble in
NetSolP), so one shared head would learn a blend of the two definitions; separate heads let NetSolP
teach the shared layers without moving DeepSol's decision boundary.

``multicnn`` (DeepSol-style)
    Embedding -> parallel Conv1d of several widths (each "same" padded) -> ReLU -> per width,
    max and mean pooling over the real residues only -> concat -> [+ features MLP] -> Linear ->
    ReLU -> Dropout -> Linear(heads). Masked max of ReLU outputs: padded positions are set to 0
    and real ones are >= 0, so the max over all positions equals the max over real residues.
    ``pool="kmax"`` replaces the max by k-max pooling (DeepSol's option): per channel, the mean of
    the ``pool_k`` largest values among the real residues (all of them when a protein is shorter).
``kmer``
    A wide linear model over k-mer counts (3- and 4-mers by default): one weight per k-mer and
    head, the protein's logit the dot product with its L2-normalised counts. It keeps a weight of
    its own for each of the 8,000 3-mers and 160,000 4-mers (the CNN shares 64 filters per width),
    trains in seconds, and gives the default ensemble a different view of the sequence.
``transformer``
    Embedding + learned positions -> TransformerEncoder (pre-norm, key-padding mask) -> masked mean
    -> [+ features] -> Linear(heads). :meth:`mlm_logits` gives per-position residue logits for
    masked-residue pretraining.
``course``
    The course CNN (:mod:`solubility.model`, masked after each conv), as the baseline; its two
    class logits become one logit ``z1 - z0`` (softmax over two classes is the sigmoid of that).

Padding never changes a prediction: embeddings of padding are zero, every pooling is masked, and
attention ignores padded keys (tested in tests/test_solubility_models.py).
"""

from __future__ import annotations

from .encoding import VOCAB_SIZE
from .model import _name
from .model import model_class as course_class

__all__ = ["MODEL_NAMES", "DEFAULTS", "build", "model_classes"]

MODEL_NAMES = ("multicnn", "kmer", "transformer", "course")

# architecture defaults per model (the CLI's config stores the values actually used)
DEFAULTS = {
    "multicnn": {
        "embed_dim": 48,
        "widths": [3, 5, 9, 15, 21],
        "channels": 64,
        "hidden": 96,
        "dropout": 0.4,
        "pool": "max",
        "pool_k": 3,
    },
    "kmer": {"ks": [3, 4]},
    "transformer": {"embed_dim": 64, "layers": 2, "nhead": 4, "ff": 128, "dropout": 0.1, "max_len": 1000},
    "course": {"embed_dim": 64, "hidden_dim": 128, "dropout": 0.3},
}

_CACHE = {}


def _masked_mean(lib, h, m):
    """Mean of ``h`` (N, C, L) over the positions where ``m`` (N, 1, L) is 1."""
    return (h * m).sum(dim=2) / m.sum(dim=2).clamp(min=1)


def _masked_kmax_mean(lib, h, m, k):
    """Per channel, the mean of the ``k`` largest values of ``h`` (N, C, L) where ``m`` (N, 1, L) is 1.

    A protein with n < k residues gets the mean of its n values (0 when it has none). The k largest are
    taken one at a time (max, then hide that position) rather than by ``topk``: for the small k used here
    that is about twice as fast as minigrad's sort-based ``topk``, and it works on any sign of ``h``.
    The gradient reaches each selected position, as ``topk``'s would.
    """
    hidden = float("-inf")
    x = h.masked_fill(m == 0, hidden)  # padding can never be selected
    positions = lib.arange(h.shape[2], device=h.device)
    count = m.sum(dim=2, keepdim=True)  # (N, 1, 1) real residues per protein
    total = 0
    for j in range(k):
        top, at = x.max(dim=2, keepdim=True)  # (N, C, 1): the largest value left and its position
        total = total + top.masked_fill(count <= j, 0.0)  # fewer than j + 1 residues: nothing left to add
        if j + 1 < k:
            x = x.masked_fill(positions == at, hidden)
    return (total / count.clamp(min=1, max=k)).squeeze(2)


def model_classes(lib) -> dict:
    """``{name: class}`` built on ``lib.nn.Module`` (made once per library and cached)."""
    key = _name(lib) or str(id(lib))
    if key not in _CACHE:
        _CACHE[key] = _make_classes(lib)
    return _CACHE[key]


def _make_classes(lib):  # noqa: C901 (the class bodies share lib)
    nn, F = lib.nn, lib.nn.functional

    class FeatureMLP(nn.Module):
        """Standardised biological features -> Linear -> ReLU (a small learned view of them)."""

        def __init__(self, num_features, width=32):
            super().__init__()
            self.linear = nn.Linear(num_features, width)

        def forward(self, f):
            return F.relu(self.linear(f))

    class MultiKernelCNN(nn.Module):
        """DeepSol-style: parallel convolutions of several widths, masked max (or k-max) + mean pooling, dense head."""

        def __init__(self, num_features=0, heads=1, embed_dim=48, widths=(3, 5, 9, 15, 21), channels=64, hidden=96,
                     dropout=0.4, pool="max", pool_k=3):  # fmt: skip
            super().__init__()
            if pool not in ("max", "kmax"):
                raise ValueError(f"multicnn: pool must be 'max' or 'kmax', not {pool!r}")
            if isinstance(pool_k, bool) or not isinstance(pool_k, int) or pool_k < 1:
                raise ValueError(f"multicnn: pool_k must be a positive int, not {pool_k!r}")
            self.pool, self.pool_k = pool, pool_k
            self.embedding = nn.Embedding(VOCAB_SIZE, embed_dim, padding_idx=0)
            self.convs = nn.ModuleList([nn.Conv1d(embed_dim, channels, k, padding=k // 2) for k in widths])
            pooled = 2 * channels * len(widths)
            self.features = FeatureMLP(num_features) if num_features else None
            extra = 32 if num_features else 0
            self.fc1 = nn.Linear(pooled + extra, hidden)
            self.dropout = nn.Dropout(dropout)
            self.fc2 = nn.Linear(hidden, heads)

        def forward(self, x, mask, features=None):
            e = self.embedding(x).transpose(1, 2)  # (N, E, L)
            m = mask.unsqueeze(1)  # (N, 1, L)
            residues = m.sum(dim=2).clamp(min=1)  # (N, 1)
            pooled = []
            for conv in self.convs:
                h = F.relu(conv(e)) * m  # padded positions -> 0; real ones are >= 0
                if self.pool == "kmax":
                    pooled.append(_masked_kmax_mean(lib, h, m, self.pool_k))
                else:
                    pooled.append(h.amax(dim=2))
                pooled.append(h.sum(dim=2) / residues)  # the mean over real residues: h is 0 on padding
            z = lib.cat(pooled, dim=1)
            if self.features is not None:
                z = lib.cat([z, self.features(features)], dim=1)
            z = self.dropout(F.relu(self.fc1(self.dropout(z))))
            return self.fc2(z)

    class KmerBag(nn.Module):
        """A wide linear model: one weight per k-mer and head, summed over a protein's k-mers.

        For each k in ``ks``, every window of k real residues is read as a number in base 21 (its
        k-mer id) and looks up its weights; the sum is divided by the square root of the number of
        windows, so a protein's logit is the dot product of the weights with its L2-normalised k-mer
        counts (exactly so when no k-mer repeats). Windows that touch padding or an unknown residue
        (token 0) are left out. Weights start at zero, as in logistic regression.
        """

        def __init__(self, num_features=0, heads=1, ks=(3, 4)):
            super().__init__()
            if num_features:
                raise ValueError("kmer: the k-mer model takes no features (set features off)")
            if not ks or any(isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 5 for k in ks):
                raise ValueError(f"kmer: ks must be ints from 1 to 5, not {ks!r}")
            self.ks = list(ks)
            self.tables = nn.ModuleList([nn.Embedding(VOCAB_SIZE**k, heads) for k in self.ks])
            for table in self.tables:
                nn.init.zeros_(table.weight)
            self.bias = nn.Parameter(lib.zeros(heads))

        def forward(self, x, mask, features=None):
            real = (x > 0).to(mask.dtype)  # 0 = padding or an unknown residue
            logit = self.bias
            for k, table in zip(self.ks, self.tables):
                n = x.shape[1] - k + 1  # windows per row
                if n < 1:
                    continue
                ids, ok = x[:, :n], real[:, :n]
                for j in range(1, k):
                    ids = ids * VOCAB_SIZE + x[:, j : j + n]
                    ok = ok * real[:, j : j + n]
                total = (table(ids) * ok.unsqueeze(2)).sum(dim=1)  # (N, heads)
                logit = logit + total / ok.sum(dim=1, keepdim=True).clamp(min=1).sqrt()
            return logit

    class TransformerClassifier(nn.Module):
        """A small pre-norm Transformer encoder over residues, masked mean pooling, linear head."""

        def __init__(self, num_features=0, heads=1, embed_dim=64, layers=2, nhead=4, ff=128, dropout=0.1,
                     max_len=1000):  # fmt: skip
            super().__init__()
            self.max_len = max_len
            self.embedding = nn.Embedding(VOCAB_SIZE + 1, embed_dim, padding_idx=0)  # +1: the [MASK] token
            self.position = nn.Embedding(max_len, embed_dim)
            layer = nn.TransformerEncoderLayer(embed_dim, nhead, ff, dropout, batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(embed_dim)
            self.features = FeatureMLP(num_features) if num_features else None
            self.head = nn.Linear(embed_dim + (32 if num_features else 0), heads)
            self.mlm = nn.Linear(embed_dim, VOCAB_SIZE)

        def encode(self, x, mask):
            """Per-residue states (N, L, E); padded positions are ignored as attention keys."""
            pos = lib.arange(x.shape[1], device=x.device).unsqueeze(0)
            h = self.embedding(x) + self.position(pos)
            h = self.encoder(h, src_key_padding_mask=mask == 0)
            return self.norm(h)

        def forward(self, x, mask, features=None):
            h = self.encode(x, mask).transpose(1, 2)  # (N, E, L)
            z = _masked_mean(lib, h, mask.unsqueeze(1))
            if self.features is not None:
                z = lib.cat([z, self.features(features)], dim=1)
            return self.head(z)

        def mlm_logits(self, x, mask):
            """Residue logits (N, L, 21) for masked-residue pretraining."""
            return self.mlm(self.encode(x, mask))

    Course = course_class(lib)

    class CourseCNN(Course):
        """The course CNN (masked after each conv), one logit ``z1 - z0`` in the common interface."""

        def __init__(self, num_features=0, heads=1, **kwargs):
            if num_features or heads != 1:
                raise ValueError("the course model takes no features and has one head")
            super().__init__(mask_after_conv=True, **kwargs)

        def forward(self, x, mask, features=None):
            z = super().forward(x, mask)
            return z[:, 1:2] - z[:, 0:1]

    return {"multicnn": MultiKernelCNN, "kmer": KmerBag, "transformer": TransformerClassifier, "course": CourseCNN}


def build(lib, name: str, *, num_features: int = 0, heads: int = 1, dtype=None, device=None, **arch):
    """A fresh model ``name`` from ``lib`` with :data:`DEFAULTS` overridden by ``arch``."""
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    kwargs = {**DEFAULTS[name], **arch}
    model = model_classes(lib)[name](num_features=num_features, heads=heads, **kwargs)
    if dtype is not None:
        model = model.to(dtype)
    if device is not None:
        model = model.to(device)
    return model
