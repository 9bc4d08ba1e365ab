"""Type promotion against torch, generated over every pair of operands: tensors with dims, 0-d tensors and
Python (and NumPy) scalars, for + - * / ** and the comparisons. Same result dtype, same values, and an error
exactly where torch raises one."""

import itertools

import numpy as np
import pytest
import torch

import minigrad as mg

DTYPES = ["bool", "int32", "int64", "float16", "float32", "float64"]
TENSORS = [("tensor", d, nd) for d in DTYPES for nd in (1, 0)]
# NumPy scalars count as Python numbers. (torch reads a NumPy *bool* scalar as a float, a quirk minigrad does
# not copy: np.bool_ is treated like Python's bool, so it is left out here.)
SCALARS = [("scalar", v, None) for v in (True, 3, 2.5)] + [("numpy", v, None) for v in ("int32", "float64")]
OPERANDS = TENSORS + SCALARS
PAIRS = [(a, b) for a, b in itertools.product(OPERANDS, OPERANDS) if a[0] == "tensor" or b[0] == "tensor"]

OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "floordiv": lambda a, b: a // b,
    "pow": lambda a, b: a**b,
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
    "ge": lambda a, b: a >= b,
    "ne": lambda a, b: a != b,
}
_NP_SCALARS = {"int32": np.int32(3), "float64": np.float64(2.5)}


def make(lib, operand):
    kind, v, ndim = operand
    if kind == "scalar":
        return v
    if kind == "numpy":
        return _NP_SCALARS[v]
    values = np.array([1, 2, 3][: 3 if ndim else 1]).reshape((3,) if ndim else ())
    arr = values > 0 if v == "bool" else values.astype(v)
    return lib.tensor(arr) if lib is mg else torch.from_numpy(np.array(arr))


def _name(operand):
    kind, v, ndim = operand
    return f"{v}{'[]' if ndim == 0 else ''}" if kind == "tensor" else f"{kind}:{v}"


def _run(lib, fn, a, b):
    try:
        return fn(make(lib, a), make(lib, b)), None
    except Exception as e:  # noqa: BLE001 - the error class is what we compare
        return None, e


@pytest.mark.parametrize("op", sorted(OPS))
def test_result_dtypes_match_torch_for_all_pairs(op):
    fn = OPS[op]
    mismatches = []
    for a, b in PAIRS:
        t_out, t_err = _run(torch, fn, a, b)
        m_out, m_err = _run(mg, fn, a, b)
        where = f"{_name(a)} {op} {_name(b)}"
        if t_err is not None:
            if m_err is None:
                mismatches.append(f"{where}: torch raises {type(t_err).__name__}, minigrad gives {m_out.dtype}")
            continue
        if m_err is not None:
            mismatches.append(f"{where}: minigrad raises {m_err!r}, torch gives {t_out.dtype}")
            continue
        t_dtype = str(t_out.dtype).replace("torch.", "")
        if m_out.dtype.name != t_dtype:
            mismatches.append(f"{where}: minigrad {m_out.dtype.name}, torch {t_dtype}")
            continue
        np.testing.assert_allclose(
            m_out.numpy().astype(np.float64), t_out.numpy().astype(np.float64), rtol=1e-3, err_msg=where
        )
    assert not mismatches, "\n".join(mismatches)


def test_errors_are_where_torch_has_them():
    # the generated test above only checks "both raise"; these pin the class and the message
    with pytest.raises(RuntimeError, match="bool"):
        mg.tensor([True]) - mg.tensor([False])
    with pytest.raises(RuntimeError, match="bool"):
        mg.tensor([1.0]) - True
    with pytest.raises(RuntimeError, match="bool"):
        -mg.tensor([True])


@pytest.mark.parametrize("default", ["float64", "float16"])
def test_default_dtype_governs_float_scalars_and_int_division(default):
    old_t, old_m = torch.get_default_dtype(), mg.get_default_dtype()
    torch.set_default_dtype(getattr(torch, default))
    mg.set_default_dtype(getattr(mg, default))
    try:
        for fn in (
            lambda lib: lib.tensor([1, 2]) * 2.5,
            lambda lib: lib.tensor([1, 2]) / 2,
            lambda lib: lib.tensor([True]) + 0.5,
            lambda lib: lib.exp(lib.tensor([1])),
            lambda lib: lib.tensor([1.0], dtype=lib.float32) * 2.5,
        ):
            assert fn(mg).dtype.name == str(fn(torch).dtype).replace("torch.", "")
    finally:
        torch.set_default_dtype(old_t)
        mg.set_default_dtype(old_m)


def test_zero_dim_tensors_rank_below_dimensioned_ones():
    for lib in (torch, mg):
        f32 = lib.ones(2, dtype=lib.float32)
        i32 = lib.ones(2, dtype=lib.int32)
        assert str((f32 * lib.tensor(2.0, dtype=lib.float64)).dtype).endswith("float32")
        assert str((i32 * lib.tensor(2, dtype=lib.int64)).dtype).endswith("int32")
        assert str((i32 * lib.tensor(2.0, dtype=lib.float64)).dtype).endswith("float64")
        assert str((lib.tensor(2, dtype=lib.int32) + lib.tensor(1.0, dtype=lib.float16)).dtype).endswith("float16")
