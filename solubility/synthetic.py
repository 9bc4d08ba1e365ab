"""The embedded default dataset: synthetic protein-like sequences with a biophysically motivated label.

No download is needed for the main job: :func:`make_synthetic` builds a seeded dataset in well under
a second.

Sequences
    Start with M. Each protein draws its own amino-acid composition from a Dirichlet distribution
    centred on the average composition of natural proteins (UniProtKB/Swiss-Prot), so proteins differ
    in charge and hydrophobicity the way real ones do; residues are then drawn from that composition.
    Lengths are log-normal (median ``median_length``, clipped to [40, ``max_length``]), like natural
    protein lengths. About one protein in six also gets one or two transmembrane-like stretches of
    18-22 hydrophobic residues (L, I, V, F, A), a local motif a convolution can detect.
Label rule (1 = soluble)
    Known trends in E. coli expression: hydrophobic proteins aggregate, charged proteins stay in
    solution (electrostatic repulsion), long proteins and membrane-like segments make trouble. With
    ``z()`` the standard score across the generated set,

        score = -1.0 z(GRAVY) + 0.8 z(|net charge| / length) - 0.4 z(log length)
                - 1.0 (number of hydrophobic stretches) + noise,   noise ~ Normal(0, ``noise``)

    where GRAVY is the mean Kyte-Doolittle hydropathy and net charge counts K, R as +1 and D, E as -1.
    The ``soluble_fraction`` of proteins with the highest score get label 1. The noise keeps the task
    from being trivial: even the rule's own noise-free score does not predict every label.
"""

from __future__ import annotations

import numpy as np

from .encoding import ALPHABET
from .readers import Record

__all__ = ["BACKGROUND", "KYTE_DOOLITTLE", "make_synthetic", "features"]

# average residue frequencies in UniProtKB/Swiss-Prot (percent), in ALPHABET order ACDEFGHIKLMNPQRSTVWY
BACKGROUND = (
    np.array(
        [
            8.25,
            1.37,
            5.45,
            6.75,
            3.86,
            7.07,
            2.27,
            5.96,
            5.84,
            9.66,
            2.42,
            4.06,
            4.70,
            3.93,
            5.53,
            6.56,
            5.34,
            6.87,
            1.08,
            2.92,
        ]
    )
    / 100.0
)
BACKGROUND = BACKGROUND / BACKGROUND.sum()

# Kyte & Doolittle (1982) hydropathy index, in ALPHABET order
KYTE_DOOLITTLE = np.array(
    [1.8, 2.5, -3.5, -3.5, 2.8, -0.4, -3.2, 4.5, -3.9, 3.8, 1.9, -3.5, -1.6, -3.5, -4.5, -0.8, -0.7, 4.2, -0.9, -1.3]
)

_CHARGE = np.zeros(20)
for _aa, _q in {"K": 1, "R": 1, "D": -1, "E": -1}.items():
    _CHARGE[ALPHABET.index(_aa)] = _q
_HYDROPHOBIC = np.array([ALPHABET.index(a) for a in "LIVFA"])


def features(sequence: str) -> dict:
    """The quantities the label rule uses, for one sequence: GRAVY, net charge per residue, length."""
    idx = np.array([ALPHABET.index(c) for c in sequence])
    return {
        "gravy": float(KYTE_DOOLITTLE[idx].mean()),
        "net_charge": float(_CHARGE[idx].sum() / len(idx)),
        "length": len(idx),
    }


def _z(v: np.ndarray) -> np.ndarray:
    sd = v.std()
    return (v - v.mean()) / (sd if sd > 0 else 1.0)


def make_synthetic(
    n: int = 800,
    seed: int = 0,
    *,
    median_length: int = 250,
    max_length: int = 1000,
    soluble_fraction: float = 0.45,
    noise: float = 0.7,
    concentration: float = 60.0,
) -> list[Record]:
    """Generate ``n`` labelled protein-like sequences (ids ``synth_00001``...); same seed, same data."""
    if n < 2:
        raise ValueError(f"make_synthetic: need n >= 2 sequences, got {n}")
    if not 0 < soluble_fraction < 1:
        raise ValueError(f"make_synthetic: soluble_fraction must be in (0, 1), got {soluble_fraction}")
    rng = np.random.default_rng(seed)
    lengths = np.clip(np.round(rng.lognormal(np.log(median_length), 0.5, size=n)), 40, max_length).astype(int)
    letters = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)
    seqs, gravy, charge, n_tm = [], np.empty(n), np.empty(n), np.zeros(n)
    for i, L in enumerate(lengths):
        comp = rng.dirichlet(BACKGROUND * concentration)
        idx = rng.choice(20, size=L, p=comp)
        idx[0] = ALPHABET.index("M")
        if rng.random() < 1 / 6 and L >= 80:
            for _ in range(rng.integers(1, 3)):
                seg = int(rng.integers(18, 23))
                start = int(rng.integers(1, L - seg))
                idx[start : start + seg] = rng.choice(_HYDROPHOBIC, size=seg)
                n_tm[i] += 1
        seqs.append(letters[idx].tobytes().decode())
        gravy[i] = KYTE_DOOLITTLE[idx].mean()
        charge[i] = abs(_CHARGE[idx].sum()) / L
    score = -1.0 * _z(gravy) + 0.8 * _z(charge) - 0.4 * _z(np.log(lengths)) - 1.0 * n_tm
    score = score + rng.normal(0.0, noise, size=n)
    labels = (score > np.quantile(score, 1 - soluble_fraction)).astype(int)
    return [
        Record(
            f"synth_{i + 1:05d}",
            s,
            int(y),
            {"gravy": round(float(g), 4), "abs_net_charge": round(float(c), 4), "hydrophobic_stretches": int(t)},
        )
        for i, (s, y, g, c, t) in enumerate(zip(seqs, labels, gravy, charge, n_tm))
    ]
