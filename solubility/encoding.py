"""Amino-acid encoding: protein sequences as integer tokens for an embedding layer.

The 20 standard amino acids (one-letter codes, alphabetical ``ACDEFGHIKLMNPQRSTVWY``) become
tokens 1..20; token 0 is padding. Lowercase letters are accepted and read as uppercase.

Six letters are legal in sequence databases but are not one of the 20 standard residues. What
happens to them is an explicit choice, the ``ambiguous`` policy:

``"substitute"`` (default)
    Map each one to the closest standard residue and keep going:
    U (selenocysteine) -> C, O (pyrrolysine) -> K (both are recoded stop codons next to their
    standard look-alike); B (Asp or Asn) -> D, Z (Glu or Gln) -> E, J (Leu or Ile) -> L (the
    first of the two possibilities); X (unknown residue) -> token 0, so it contributes a zero
    embedding but still counts as a real position in the mask.
``"unknown"``
    All six become token 0 (a zero embedding, like a blank residue).
``"error"``
    Refuse them, like any other bad character.

Everything else (digits, ``*``, ``-``, whitespace, punctuation, non-ASCII, an empty sequence) is
always an error: :class:`SequenceError`, naming the record and the 1-based position.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ALPHABET",
    "PAD",
    "VOCAB_SIZE",
    "AMBIGUOUS",
    "POLICIES",
    "SequenceError",
    "encode",
    "decode",
    "aa_to_index",
]

ALPHABET = "ACDEFGHIKLMNPQRSTVWY"
PAD = 0
VOCAB_SIZE = len(ALPHABET) + 1  # 20 residues + the padding token
POLICIES = ("substitute", "unknown", "error")

# the letters that are not among the 20 standard residues but do occur in sequence files
AMBIGUOUS = {"B": "D", "Z": "E", "J": "L", "U": "C", "O": "K", "X": None}

aa_to_index = {aa: i + 1 for i, aa in enumerate(ALPHABET)}


class SequenceError(ValueError):
    """A sequence that cannot be encoded; the message names the record and the position."""


def _table(policy: str) -> np.ndarray:
    """A 256-entry lookup table from ASCII byte to token; -1 marks a forbidden byte."""
    table = np.full(256, -1, dtype=np.int64)
    for aa, idx in aa_to_index.items():
        table[ord(aa)] = table[ord(aa.lower())] = idx
    if policy != "error":
        for letter, standard in AMBIGUOUS.items():
            tok = aa_to_index[standard] if (policy == "substitute" and standard is not None) else PAD
            table[ord(letter)] = table[ord(letter.lower())] = tok
    return table


_TABLES = {p: _table(p) for p in POLICIES}


def _describe(ch: str) -> str:
    if ch.isspace():
        return f"whitespace {ch!r}"
    if ch.upper() in AMBIGUOUS:
        return f"ambiguous letter {ch!r} (refused by ambiguous='error')"
    return f"character {ch!r}"


def encode(sequence: str, record: str = "<sequence>", ambiguous: str = "substitute") -> np.ndarray:
    """Encode one protein sequence as an int64 array of tokens in 1..20 (0 only for X under the policy).

    ``record`` names the sequence in error messages (an id, or ``file:line``).
    """
    if ambiguous not in POLICIES:
        raise ValueError(f"encode: ambiguous must be one of {POLICIES}, got {ambiguous!r}")
    if not isinstance(sequence, str):
        raise TypeError(f"encode: record {record}: expected a str sequence, got {type(sequence).__name__}")
    if len(sequence) == 0:
        raise SequenceError(f"record {record}: empty sequence")
    try:
        raw = np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError as exc:
        raise SequenceError(
            f"record {record}: position {exc.start + 1}: non-ASCII character {sequence[exc.start]!r} "
            "is not an amino-acid letter"
        ) from None
    tokens = _TABLES[ambiguous][raw]
    bad = np.flatnonzero(tokens < 0)
    if bad.size:
        pos = int(bad[0])
        raise SequenceError(
            f"record {record}: position {pos + 1}: {_describe(sequence[pos])} is not an amino-acid letter "
            f"(allowed: {ALPHABET}, and B Z J U O X under ambiguous='substitute' or 'unknown')"
        )
    return tokens


def decode(tokens) -> str:
    """Turn tokens back into letters; padding (0) is dropped."""
    return "".join(ALPHABET[int(t) - 1] for t in np.asarray(tokens).ravel() if int(t) != PAD)
