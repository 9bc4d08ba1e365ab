"""Sequence-derived biological features of a protein, as one fixed-length vector per sequence.

Known trends of E. coli expression (DeepSol's and PaRSnIP's hand-made features, Wilkinson-Harrison):
long, hydrophobic, low-charge, aromatic-rich, cysteine-rich proteins tend to aggregate; charged,
turn-forming (N, G, P, S) proteins tend to stay in solution. The vector holds:

- ``log_length`` (natural log of the residue count)
- the 20 amino-acid fractions (``frac_A`` ... ``frac_Y``, in ALPHABET order)
- ``gravy`` (mean Kyte-Doolittle hydropathy), ``net_charge`` and ``abs_net_charge`` per residue
  (K, R +1; D, E -1), ``frac_charged``, ``frac_positive``, ``frac_negative``
- ``aromaticity`` (F + W + Y), ``aliphatic_index`` (Ikai 1980, divided by 100), ``frac_turn`` (N G P S),
  ``frac_tiny`` (A C G S T), ``mean_mass`` (average residue mass / 110 Da)
- ``pI`` (isoelectric point by bisection on the Henderson-Hasselbalch net charge, EMBOSS pKa values,
  divided by 14) and ``charge_pH7`` (net charge at pH 7 per residue)
- 7 dipeptide-class fractions (hydrophobic-hydrophobic, charged-charged, ...), a cheap view of
  local order.

Values are raw; :class:`FeatureScaler` standardises them with the training set's mean and std (kept
in the checkpoint's config so prediction uses the same numbers).
"""

from __future__ import annotations

import numpy as np

from .encoding import ALPHABET, encode
from .synthetic import KYTE_DOOLITTLE

__all__ = ["FEATURE_NAMES", "NUM_FEATURES", "sequence_features", "feature_matrix", "FeatureScaler"]

_IDX = {aa: i for i, aa in enumerate(ALPHABET)}


def _indicator(letters: str) -> np.ndarray:
    v = np.zeros(20)
    v[[_IDX[a] for a in letters]] = 1.0
    return v


_POS, _NEG = _indicator("KR"), _indicator("DE")
_AROM, _TURN, _TINY = _indicator("FWY"), _indicator("NGPS"), _indicator("ACGST")
# average residue masses (Da) in ALPHABET order
_MASS = np.array(
    [71.08, 103.14, 115.09, 129.12, 147.18, 57.05, 137.14, 113.16, 128.17, 113.16]
    + [131.19, 114.10, 97.12, 128.13, 156.19, 87.08, 101.10, 99.13, 186.21, 163.18]
)
# pKa values (EMBOSS): N-terminus, C-terminus, and the ionisable side chains
_PKA_NTERM, _PKA_CTERM = 8.6, 3.6
_PKA_POS = {"K": 10.8, "R": 12.5, "H": 6.5}
_PKA_NEG = {"D": 3.9, "E": 4.1, "C": 8.5, "Y": 10.1}
# residue classes for the dipeptide features
_CLASSES = {"hydrophobic": "AILMFVW", "charged": "DEKR", "polar": "STNQHYCGP"}
_CLASS_OF = np.array([next(i for i, v in enumerate(_CLASSES.values()) if a in v) for a in ALPHABET])
_PAIRS = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]

FEATURE_NAMES = (
    ("log_length",)
    + tuple(f"frac_{a}" for a in ALPHABET)
    + ("gravy", "net_charge", "abs_net_charge", "frac_charged", "frac_positive", "frac_negative")
    + ("aromaticity", "aliphatic_index", "frac_turn", "frac_tiny", "mean_mass", "pI", "charge_pH7")
    + tuple(f"pair_{a}_{b}" for a, b in _PAIRS)
    + ("pair_same_charge",)
)
NUM_FEATURES = len(FEATURE_NAMES)


def _net_charge(counts: np.ndarray, ph: float) -> float:
    """Henderson-Hasselbalch net charge of a protein with residue ``counts`` (ALPHABET order) at ``ph``."""
    pos = 1.0 / (1.0 + 10.0 ** (ph - _PKA_NTERM))
    pos += sum(counts[_IDX[a]] / (1.0 + 10.0 ** (ph - pk)) for a, pk in _PKA_POS.items())
    neg = 1.0 / (1.0 + 10.0 ** (_PKA_CTERM - ph))
    neg += sum(counts[_IDX[a]] / (1.0 + 10.0 ** (pk - ph)) for a, pk in _PKA_NEG.items())
    return pos - neg


def isoelectric_point(counts: np.ndarray) -> float:
    """The pH where the net charge is zero (bisection; the charge falls monotonically with pH)."""
    lo, hi = 0.0, 14.0
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if _net_charge(counts, mid) > 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _pair_fractions(idx: np.ndarray) -> list[float]:
    """Fractions of neighbouring residue pairs by class (unordered), and of same-sign charge pairs."""
    if idx.size < 2:
        return [0.0] * (len(_PAIRS) + 1)
    a, b = _CLASS_OF[idx[:-1]], _CLASS_OF[idx[1:]]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    out = [float(np.mean((lo == p) & (hi == q))) for p, q in _PAIRS]
    qa, qb = (_POS - _NEG)[idx[:-1]], (_POS - _NEG)[idx[1:]]
    out.append(float(np.mean(qa * qb > 0)))
    return out


def sequence_features(tokens: np.ndarray) -> np.ndarray:
    """The :data:`FEATURE_NAMES` vector (float64) of one encoded sequence (tokens 1..20; 0 is skipped)."""
    idx = np.asarray(tokens, dtype=np.int64)
    idx = idx[idx > 0] - 1
    n = max(idx.size, 1)
    counts = np.bincount(idx, minlength=20).astype(np.float64)
    frac = counts / n
    net = float(frac @ (_POS - _NEG))
    aliphatic = frac[_IDX["A"]] + 2.9 * frac[_IDX["V"]] + 3.9 * (frac[_IDX["I"]] + frac[_IDX["L"]])
    head = [np.log(n)]
    phys = [
        float(frac @ KYTE_DOOLITTLE),
        net,
        abs(net),
        float(frac @ (_POS + _NEG)),
        float(frac @ _POS),
        float(frac @ _NEG),
        float(frac @ _AROM),
        aliphatic,
        float(frac @ _TURN),
        float(frac @ _TINY),
        float(frac @ _MASS) / 110.0,
        isoelectric_point(counts) / 14.0,
        _net_charge(counts, 7.0) / n,
    ]
    return np.array(head + frac.tolist() + phys + _pair_fractions(idx))


def feature_matrix(token_lists) -> np.ndarray:
    """``(N, NUM_FEATURES)`` float64 features of a list of encoded sequences (or of strings)."""
    rows = [sequence_features(encode(t) if isinstance(t, str) else t) for t in token_lists]
    return np.stack(rows) if rows else np.zeros((0, NUM_FEATURES))


class FeatureScaler:
    """Standardise features with a fixed mean and std (fitted on the training set, saved in the config)."""

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)

    @classmethod
    def fit(cls, x: np.ndarray) -> FeatureScaler:
        std = x.std(axis=0)
        return cls(x.mean(axis=0), np.where(std > 1e-12, std, 1.0))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> FeatureScaler:
        return cls(d["mean"], d["std"])
