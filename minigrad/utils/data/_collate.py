"""Collate: turning a list of samples into one batch (torch's ``default_collate`` and ``default_convert``).

The rule is applied recursively, by the type of the first sample:

* tensors are stacked along a new first dimension; NumPy arrays too (as tensors, keeping their dtype);
* Python floats become a float64 tensor, ints an int64 tensor, bools a bool tensor (as in torch);
  NumPy scalars a tensor of their own dtype;
* strings and bytes are left as a list;
* dicts are collated key by key, namedtuples field by field, and tuples/lists position by position
  (so ``(x, y)`` samples give ``[X, Y]``; torch returns a list here, and so do we).

Samples of different shapes cannot be stacked: give the DataLoader a ``collate_fn`` that pads them.
"""

from __future__ import annotations

import collections.abc
import copy

import numpy as np

from ... import backend
from ...creation import tensor as _tensor
from ...dtypes import float64
from ...tensor import Tensor

__all__ = ["default_collate", "default_convert", "collate"]

_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _stack(batch) -> Tensor:
    first = batch[0]
    shape = first.array.shape
    for i, t in enumerate(batch):
        if t.array.shape != shape:
            raise RuntimeError(
                f"default_collate: stack expects each tensor to be equal size, but got {list(shape)} at entry 0 "
                f"and {list(t.array.shape)} at entry {i}; samples of different lengths need a collate_fn that "
                "pads them (e.g. to the longest sample of the batch)"
            )
        if type(t.array) is not type(first.array) or t.device != first.device:
            raise RuntimeError(
                f"default_collate: all samples must be on one device, found {first.device} and {t.device}"
            )
    if any(t.requires_grad for t in batch):  # samples inside a graph: stack them in the graph too
        from ...ops import stack

        return stack(list(batch))
    xp = backend.get_array_module(first.array)
    return Tensor._make(xp.stack([t.array for t in batch]))


def collate(batch):
    """Collate ``batch`` (a list of samples) following the rules in this module's docstring."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "USOV":
            raise TypeError(_ERR.format(elem.dtype))
        return _stack([Tensor._make(np.asarray(b)) for b in batch])
    if isinstance(elem, (np.bool_, np.number)):
        return Tensor._make(np.array(batch))
    if isinstance(elem, float):
        return _tensor(batch, dtype=float64)
    if isinstance(elem, int):
        return _tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        merged = {key: collate([d[key] for d in batch]) for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                out = copy.copy(elem)  # keeps the mapping's type (OrderedDict, a custom dict...)
                out.update(merged)
                return out
            return type(elem)(merged)
        except TypeError:
            return merged
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        n = len(elem)
        if any(len(b) != n for b in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of equal size")
        return [collate(s) for s in zip(*batch)]  # (strings come back as the tuples zip makes, as in torch)
    raise TypeError(_ERR.format(type(elem)))


def default_collate(batch):
    """Stack a list of samples into a batch (the DataLoader's collate function when batching)."""
    if len(batch) == 0:
        raise ValueError("default_collate: got an empty batch")
    return collate(batch)


def default_convert(data):
    """Convert one sample without batching (used when ``batch_size=None``): NumPy arrays become tensors,
    containers are converted element by element, everything else is returned unchanged."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind in "USOV" else Tensor._make(data)
    if isinstance(data, (np.bool_, np.number)):
        return Tensor._make(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        merged = {key: default_convert(data[key]) for key in data}
        try:
            if isinstance(data, collections.abc.MutableMapping):
                out = copy.copy(data)
                out.update(merged)
                return out
            return type(data)(merged)
        except TypeError:
            return merged
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
