"""Sequence padding: stack variable-length sequences into one rectangular batch."""
from __future__ import annotations

from ... import backend
from ...autograd.graph import Op
from ...tensor import Tensor

__all__ = ["pad_sequence"]


class PadSequence(Op):
    """Copy sequences ``(L_i, *)`` into a ``(B, L_max, *)`` block filled with ``value``; backward slices back."""

    def __init__(self, value, batch_first: bool, left: bool):
        self.value, self.batch_first, self.left = value, batch_first, left

    def forward(self, *seqs):
        xp = backend.get_array_module(seqs[0])
        self.lengths = [s.shape[0] for s in seqs]
        L = max(self.lengths)
        out = xp.full((len(seqs), L) + seqs[0].shape[1:], self.value, dtype=seqs[0].dtype)
        for i, s in enumerate(seqs):
            if self.left:
                out[i, L - s.shape[0]:] = s
            else:
                out[i, : s.shape[0]] = s
        return out if self.batch_first else xp.swapaxes(out, 0, 1)

    def backward(self, grad):
        g = grad if self.batch_first else grad.swapaxes(0, 1)
        L = g.shape[1]
        return tuple(
            (g[i, L - n:] if self.left else g[i, :n]) if need else None
            for i, (n, need) in enumerate(zip(self.lengths, self.needs_input_grad))
        )


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Pad a list of tensors of shapes ``(L_i, *)`` to ``(L_max, B, *)``, or ``(B, L_max, *)`` if ``batch_first``."""
    seqs = list(sequences)
    if not seqs:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    first = seqs[0]
    for i, s in enumerate(seqs):
        if not isinstance(s, Tensor):
            raise TypeError(f"pad_sequence: sequence {i} is a {type(s).__name__}, not a Tensor")
        if s.ndim == 0:
            raise RuntimeError(f"pad_sequence: sequence {i} is 0-d; each sequence needs a length dimension")
        if tuple(s.shape[1:]) != tuple(first.shape[1:]):
            raise RuntimeError(f"pad_sequence: sequence {i} has trailing shape {tuple(s.shape[1:])}, but sequence 0 "
                               f"has {tuple(first.shape[1:])}")
        if s.array.dtype != first.array.dtype:
            raise RuntimeError(f"pad_sequence: sequence {i} has dtype {s.dtype}, but sequence 0 has {first.dtype}")
    return PadSequence(padding_value, batch_first, padding_side == "left")(*seqs)
