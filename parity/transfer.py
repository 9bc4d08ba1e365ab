"""Weight transfer between a torch model and a minigrad model, both ways, with checks.

``copy_weights(src, dst)`` copies every entry of ``src.state_dict()`` into ``dst`` after checking
that both have exactly the same names, and that each tensor has the same shape and dtype. Any
mismatch raises :class:`TransferError` listing every problem (missing names, unexpected names,
shape and dtype differences), so a half-copied model is never left behind.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TransferError", "to_numpy", "library_of", "state_arrays", "check_compatible", "copy_weights", "load_arrays"]


class TransferError(ValueError):
    """Two state_dicts that do not line up (names, shapes or dtypes)."""


def library_of(obj):
    """The tensor library (module ``torch`` or ``minigrad``) that a tensor or module belongs to."""
    mod = type(obj).__module__.split(".")[0]
    if mod == "torch":
        import torch

        return torch
    if mod == "minigrad":
        import minigrad

        return minigrad
    # a model class made by solubility.model lives there; ask one of its parameters
    params = getattr(obj, "parameters", None)
    if params is not None:
        for p in params():
            return library_of(p)
    raise TypeError(f"cannot tell which library {type(obj).__name__} belongs to (torch or minigrad?)")


def to_numpy(t) -> np.ndarray:
    """A host NumPy copy-free view (or copy, for GPU tensors) of a torch or minigrad tensor."""
    if isinstance(t, np.ndarray):
        return t
    t = t.detach()
    if str(t.device) != "cpu":
        t = t.cpu()
    return t.numpy()


def state_arrays(model) -> dict:
    """``model.state_dict()`` as NumPy arrays, in the model's order."""
    return {k: to_numpy(v) for k, v in model.state_dict().items()}


def _dtype_name(arr) -> str:
    return np.dtype(arr.dtype).name


def check_compatible(src: dict, dst: dict, src_name="source", dst_name="destination") -> None:
    """Raise :class:`TransferError` unless the two name->array dicts match in names, shapes and dtypes."""
    problems = []
    missing = [k for k in dst if k not in src]
    extra = [k for k in src if k not in dst]
    if missing:
        problems.append(f"missing in {src_name}: {', '.join(missing)}")
    if extra:
        problems.append(f"not in {dst_name}: {', '.join(extra)}")
    for k in src:
        if k in dst:
            a, b = src[k], dst[k]
            if tuple(a.shape) != tuple(b.shape):
                problems.append(f"{k}: shape {tuple(a.shape)} in {src_name} vs {tuple(b.shape)} in {dst_name}")
            elif _dtype_name(a) != _dtype_name(b):
                problems.append(f"{k}: dtype {_dtype_name(a)} in {src_name} vs {_dtype_name(b)} in {dst_name}")
    if problems:
        raise TransferError("state_dicts do not match:\n  " + "\n  ".join(problems))


def load_arrays(model, arrays: dict, src_name="arrays") -> None:
    """Load name->NumPy arrays into ``model`` (torch or minigrad) after :func:`check_compatible`."""
    lib = library_of(model)
    current = model.state_dict()
    check_compatible(arrays, {k: to_numpy(v) for k, v in current.items()}, src_name, type(model).__name__)
    new = {}
    for k, v in current.items():
        t = lib.from_numpy(np.array(arrays[k], copy=True))
        new[k] = t.to(v.device) if str(v.device) != "cpu" else t
    model.load_state_dict(new)


def copy_weights(src, dst) -> None:
    """Copy every parameter and buffer of model ``src`` into model ``dst`` (torch <-> minigrad, any way)."""
    load_arrays(dst, state_arrays(src), src_name=f"{library_of(src).__name__} model")
