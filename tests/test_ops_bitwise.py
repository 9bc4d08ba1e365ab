"""Python's &, |, ^, ~ and // on tensors: bit by bit on integers, logical on bools, as torch computes them."""

import numpy as np
import pytest
import torch

import minigrad as mg

CASES = [
    ("and", lambda lib, a, b: a & b),
    ("or", lambda lib, a, b: a | b),
    ("xor", lambda lib, a, b: a ^ b),
    ("rand", lambda lib, a, b: 3 & a),
    ("invert", lambda lib, a, b: ~a),
    ("floordiv", lambda lib, a, b: a // b),
    ("rfloordiv", lambda lib, a, b: 7 // b),
    ("function", lambda lib, a, b: lib.bitwise_xor(a, b)),
]


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
@pytest.mark.parametrize(("name", "fn"), CASES, ids=[c[0] for c in CASES])
def test_bitwise_operators_match_torch(name, fn, dtype):
    rng = np.random.default_rng(0)
    a, b = rng.integers(1, 9, (3, 4)).astype(dtype), rng.integers(1, 9, (4,)).astype(dtype)
    if dtype == "bool" and name == "floordiv":  # torch refuses bool // bool: so must we
        for lib in (torch, mg):
            with pytest.raises(NotImplementedError):
                fn(lib, lib.from_numpy(a), lib.from_numpy(b))
        return
    want = fn(torch, torch.from_numpy(a), torch.from_numpy(b))
    got = fn(mg, mg.from_numpy(a), mg.from_numpy(b))
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_bitwise_on_floats_raises_as_torch():
    for lib in (torch, mg):
        with pytest.raises(RuntimeError, match="\"bitwise_and_cpu\" not implemented for 'Float'"):
            lib.tensor([1.0]) & lib.tensor([1.0])
