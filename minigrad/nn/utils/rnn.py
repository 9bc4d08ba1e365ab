"""Variable-length sequences: padding them into one rectangular batch, and packing them for recurrent layers.

A ``PackedSequence`` stores only the real steps, time-major: the rows of step 0 of every sequence, then the
rows of step 1 of the sequences at least 2 long, and so on, sequences sorted by decreasing length.
``batch_sizes[t]`` says how many rows step ``t`` has. Packing and unpacking are row gathers
(``index_select``), so gradients flow through them.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ... import backend, creation, dtypes
from ...autograd.graph import Op
from ...ops import cat, index_select
from ...tensor import Tensor

__all__ = [
    "pad_sequence",
    "PackedSequence",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pack_sequence",
    "unpad_sequence",
    "unpack_sequence",
    "invert_permutation",
]


class PadSequence(Op):
    """Copy sequences ``(L_i, *)`` into a ``(B, L_max, *)`` block filled with ``value``; backward slices back."""

    linear = True  # create_graph records its backward as a LinearMap (the fill is a constant)
    saved = ()  # backward reads the lengths only (an input written in place later is fine, as in torch)
    once_only = True  # torch builds it from CopySlices, which cannot run again once backward freed the graph

    def __init__(self, value, batch_first: bool, left: bool):
        self.value, self.batch_first, self.left = value, batch_first, left

    def forward(self, *seqs):
        xp = backend.get_array_module(seqs[0])
        self.lengths = [s.shape[0] for s in seqs]
        L = max(self.lengths)
        out = xp.full((len(seqs), L) + seqs[0].shape[1:], self.value, dtype=seqs[0].dtype)
        for i, s in enumerate(seqs):
            if self.left:
                out[i, L - s.shape[0] :] = s
            else:
                out[i, : s.shape[0]] = s
        return out if self.batch_first else xp.swapaxes(out, 0, 1)

    def backward(self, grad):
        g = grad if self.batch_first else grad.swapaxes(0, 1)
        L = g.shape[1]
        return tuple(
            (g[i, L - n :] if self.left else g[i, :n]) if need else None
            for i, (n, need) in enumerate(zip(self.lengths, self.needs_input_grad))
        )


def pad_sequence(
    sequences, batch_first: bool = False, padding_value: float = 0.0, padding_side: str = "right"
) -> Tensor:
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
            raise RuntimeError(
                f"pad_sequence: sequence {i} has trailing shape {tuple(s.shape[1:])}, but sequence 0 "
                f"has {tuple(first.shape[1:])}"
            )
        if s.array.dtype != first.array.dtype:
            raise RuntimeError(f"pad_sequence: sequence {i} has dtype {s.dtype}, but sequence 0 has {first.dtype}")
    return PadSequence(padding_value, batch_first, padding_side == "left")(*seqs)


# ---------------------------------------------------------------------------------------------- packed sequences
def _host_ints(t) -> np.ndarray:
    return t.cpu().numpy() if isinstance(t, Tensor) else np.asarray(t)


def invert_permutation(permutation):
    """The permutation that undoes ``permutation`` (a 1-D integer tensor), or None for None."""
    if permutation is None:
        return None
    perm = _host_ints(permutation)
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size, dtype=perm.dtype)
    return Tensor._make(backend.to_device(inverse, permutation.device))


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """``(data, batch_sizes, sorted_indices, unsorted_indices)``: made by :func:`pack_padded_sequence` or
    :func:`pack_sequence`, consumed by ``nn.RNN``/``LSTM``/``GRU``. ``batch_sizes`` is a CPU int64 tensor;
    ``sorted_indices[i]`` is the original batch position of the ``i``-th longest sequence (None: already sorted).
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes)), as torch allows
            data, batch_sizes = data
        if batch_sizes.device.type != "cpu":
            raise ValueError("PackedSequence: batch_sizes should always be on CPU")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """Move/cast ``data``; the index tensors follow ``data``'s device (``batch_sizes`` stays on the CPU)."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        sorted_indices, unsorted_indices = (
            None if t is None else t.to(data.device) for t in (self.sorted_indices, self.unsorted_indices)
        )
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def cuda(self, *args, **kwargs):
        return self.to("cuda")

    def cpu(self, *args, **kwargs):
        return self.to("cpu")

    def double(self):
        return self.to(dtypes.float64)

    def float(self):
        return self.to(dtypes.float32)

    def half(self):
        return self.to(dtypes.float16)

    @property
    def is_cuda(self) -> bool:
        return self.data.device.type == "cuda"


def _lengths_array(lengths) -> np.ndarray:
    if isinstance(lengths, Tensor):
        if lengths.ndim != 1:
            raise RuntimeError(
                f"'lengths' argument should be a 1D CPU int64 tensor, but got {lengths.ndim}D "
                f"{lengths.device.type} {lengths.dtype} tensor"
            )
        return lengths.cpu().numpy().astype(np.int64)
    return np.asarray([int(n) for n in lengths], dtype=np.int64)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False, enforce_sorted: bool = True):
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` if ``batch_first``) whose sequence ``b`` has
    ``lengths[b]`` real steps. ``enforce_sorted=False`` sorts the sequences by length first (the order is kept
    in ``sorted_indices`` and undone by ``pad_packed_sequence`` and by the recurrent layers' final states).
    """
    lengths = _lengths_array(lengths)
    if input.ndim < 2:
        raise RuntimeError(
            f"pack_padded_sequence: input must have at least 2 dimensions (time and batch), got {input.ndim}"
        )
    B, T = (input.shape[0], input.shape[1]) if batch_first else (input.shape[1], input.shape[0])
    if lengths.size != B:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {lengths.size} (batch_size={B})"
        )
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
                "to sidestep this requirement."
            )
        order, sorted_indices = np.arange(B), None
    else:
        order = np.argsort(-lengths, kind="stable")  # stable: ties keep their batch order, as torch's sort
        sorted_indices = Tensor._make(backend.to_device(order.astype(np.int64), input.device))
    if B and lengths.min() <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0"
        )
    if B and lengths.max() > T:
        raise RuntimeError(
            f"pack_padded_sequence: a length of {lengths.max()} is longer than the padded sequence dimension ({T})"
        )
    sorted_lengths = lengths[order]
    # (step t, sorted row b) for every real step, in packed order: all of step 0, then step 1, ...
    t_idx, b_idx = np.nonzero(sorted_lengths[None, :] > np.arange(sorted_lengths.max())[:, None])
    batch_sizes = np.bincount(t_idx).astype(np.int64)
    b_orig = order[b_idx]
    flat_rows = b_orig * T + t_idx if batch_first else t_idx * B + b_orig
    rows = Tensor._make(backend.to_device(flat_rows.astype(np.int64), input.device))
    data = index_select(input.reshape((B * T,) + tuple(input.shape[2:])), 0, rows)
    return PackedSequence(data, Tensor._make(batch_sizes), sorted_indices, None)


def pad_packed_sequence(
    sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0, total_length: int | None = None
):
    """Undo :func:`pack_padded_sequence`: returns ``(padded, lengths)``, ``padded`` of shape ``(T, B, *)``
    (``(B, T, *)`` if ``batch_first``) in the original batch order, ``lengths`` a CPU int64 tensor.
    ``total_length`` pads to that many steps (at least the longest sequence)."""
    data, batch_sizes, sorted_indices, _ = sequence
    sizes = _host_ints(batch_sizes)
    B, max_len = int(sizes[0]), int(sizes.size)
    if total_length is not None:
        if total_length < max_len:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in input, "
                f"but got total_length={total_length} and max sequence length being {max_len}"
            )
        max_len = total_length
    sorted_lengths = (sizes[None, :] > np.arange(B)[:, None]).sum(1)
    order = np.arange(B) if sorted_indices is None else _host_ints(sorted_indices)
    t_idx, b_idx = np.nonzero(sorted_lengths[None, :] > np.arange(sizes.size)[:, None])
    n = data.shape[0]
    # every padded slot reads a row of [data; padding row]: real steps their packed row, the rest row n
    src = np.full((B, max_len) if batch_first else (max_len, B), n, dtype=np.int64)
    src[(order[b_idx], t_idx) if batch_first else (t_idx, order[b_idx])] = np.arange(n)
    rest = tuple(data.shape[1:])
    pad_row = creation.full((1,) + rest, padding_value, dtype=data.dtype, device=data.device)
    rows = Tensor._make(backend.to_device(src.reshape(-1), data.device))
    padded = index_select(cat([data, pad_row]), 0, rows).reshape(src.shape + rest)
    lengths = np.empty(B, dtype=np.int64)
    lengths[order] = sorted_lengths
    return padded, Tensor._make(lengths)


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of tensors ``(L_i, *)`` (by decreasing length unless ``enforce_sorted=False``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False):
    """Split a padded batch back into a list of tensors ``(lengths[b], *)``."""
    seqs = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [seqs[b, :n] for b, n in enumerate(_lengths_array(lengths))]


def unpack_sequence(packed_sequences: PackedSequence):
    """Split a ``PackedSequence`` into the list of its sequences, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
