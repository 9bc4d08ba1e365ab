"""dtypes: torch-named wrappers around NumPy dtypes, and torch's type-promotion rules.

A ``dtype`` is a tiny immutable object (``minigrad.float32``) that knows its NumPy
equivalent. Arrays inside tensors always hold the NumPy dtype; the wrapper exists so that
``repr`` and comparisons read like torch (``x.dtype == minigrad.float32``).
"""

from __future__ import annotations

import numpy as np


class dtype:
    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_rank", "_kind")

    def __init__(self, name: str, np_dtype, kind: int, rank: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self._kind = kind  # 0 bool, 1 integer, 2 floating point
        self._rank = rank  # order inside the kind
        self.is_floating_point = kind == 2
        self.is_signed = kind != 0
        self.itemsize = self.np.itemsize

    def __repr__(self) -> str:
        return f"minigrad.{self.name}"

    def __reduce__(self):  # pickles (e.g. DataLoader workers) by name
        return (_by_name, (self.name,))


bool_ = dtype("bool", np.bool_, 0, 0)
uint8 = dtype("uint8", np.uint8, 1, 0)
int8 = dtype("int8", np.int8, 1, 1)
int16 = dtype("int16", np.int16, 1, 2)
int32 = dtype("int32", np.int32, 1, 3)
int64 = dtype("int64", np.int64, 1, 4)
float16 = dtype("float16", np.float16, 2, 0)
float32 = dtype("float32", np.float32, 2, 1)
float64 = dtype("float64", np.float64, 2, 2)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_FROM_NP = {d.np: d for d in ALL}
_NAMES = {d.name: d for d in ALL}
_NAMES.update(float=float32, double=float64, half=float16, long=int64, int=int32, short=int16)

_default_float = float32


# torch's names for its tensor types (FloatTensor, LongTensor...), which its error messages use
_TYPE_NAMES = {
    "bool": "Bool",
    "uint8": "Byte",
    "int8": "Char",
    "int16": "Short",
    "int32": "Int",
    "int64": "Long",
    "float16": "Half",
    "float32": "Float",
    "float64": "Double",
}


def type_name(d) -> str:
    """torch's type name of a dtype (a minigrad or NumPy dtype, or its name): ``float32`` -> ``Float``."""
    name = str(getattr(d, "name", d))
    return _TYPE_NAMES.get(name, name)


def _by_name(name: str) -> dtype:
    return _NAMES[name]


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d: dtype) -> None:
    global _default_float
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating-point types are allowed, got {d}")
    _default_float = d


def from_numpy_dtype(np_dtype) -> dtype:
    """The minigrad dtype of a NumPy dtype; a clear TypeError for types minigrad lacks."""
    try:
        return _FROM_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        supported = ", ".join(d.name for d in ALL)
        raise TypeError(f"can't convert NumPy dtype {np_dtype!r}: minigrad supports {supported}") from None


def as_dtype(d) -> dtype:
    """Accept a minigrad dtype, a NumPy dtype/type, a torch-like name, or Python ``float``/``int``/``bool``."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return float64
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str) and d in _NAMES:
        return _NAMES[d]
    name = getattr(d, "name", None)  # torch.dtype-like (used when converting state dicts)
    if isinstance(name, str) and name in _NAMES and not isinstance(d, np.dtype):
        return _NAMES[name]
    return from_numpy_dtype(d)


def _higher(a: dtype, b: dtype) -> dtype:
    if a._kind != b._kind:
        return a if a._kind > b._kind else b
    return a if a._rank >= b._rank else b


def promote_types(a, b) -> dtype:
    """torch.promote_types: the higher category wins (bool < integer < float), then the wider type."""
    return _higher(as_dtype(a), as_dtype(b))


def scalar_dtype(value) -> dtype:
    """The dtype torch gives a bare Python number: bool, int64, or the default float."""
    if isinstance(value, (bool, np.bool_)):
        return bool_
    if isinstance(value, (int, np.integer)):
        return int64
    return _default_float


def result_type(*operands) -> dtype:
    """torch's promotion: tensors with dims outrank 0-d tensors, which outrank Python scalars.

    Each operand is a Tensor or a Python scalar. A lower-priority operand only changes the result
    when it is of a higher *category* (bool < integer < floating point): ``int_tensor * 2.5`` is
    float32 (the default float), ``float32_tensor * float64_0d_tensor`` stays float32.
    """
    groups: list = [None, None, None]  # dim tensors, 0-d tensors, scalars
    for op in operands:
        if hasattr(op, "dtype") and hasattr(op, "ndim") and not isinstance(op, np.generic):  # NumPy scalars: numbers
            g, d = (0 if op.ndim else 1), op.dtype
        else:
            g, d = 2, scalar_dtype(op)
        groups[g] = d if groups[g] is None else _higher(groups[g], d)
    result = None
    for g, d in enumerate(groups):
        if d is None:
            continue
        if result is None:
            result = d
        elif d._kind > result._kind:
            # a higher category from a weaker group: 0-d tensors keep their own type, scalars the default
            result = d if g == 1 or d._kind < 2 else _default_float
            if g == 2 and d._kind == 1:
                result = int64
    return result
