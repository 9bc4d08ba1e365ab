import numpy as np
import pytest
import torch

import minigrad
from parity.transfer import TransferError, check_compatible, copy_weights, library_of, load_arrays, state_arrays
from solubility import build_model


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_round_trip_both_ways_is_exact(dtype):
    torch.manual_seed(0)
    minigrad.manual_seed(1)
    t = build_model(torch, dtype=getattr(torch, dtype))
    m = build_model(minigrad, dtype=getattr(minigrad, dtype))
    original = {k: v.copy() for k, v in state_arrays(t).items()}
    assert any(not np.array_equal(original[k], v) for k, v in state_arrays(m).items())
    copy_weights(t, m)
    for k, v in state_arrays(m).items():
        assert v.dtype == original[k].dtype and np.array_equal(v, original[k])
    torch.manual_seed(5)
    t2 = build_model(torch, dtype=getattr(torch, dtype))
    copy_weights(m, t2)
    for k, v in state_arrays(t2).items():
        assert np.array_equal(v, original[k])
    assert library_of(t) is torch and library_of(m) is minigrad


def test_copy_does_not_alias():
    t = build_model(torch, dtype=torch.float64)
    m = build_model(minigrad, dtype=minigrad.float64)
    copy_weights(t, m)
    with torch.no_grad():
        t.fc.bias.add_(1.0)
    assert not np.array_equal(state_arrays(m)["fc.bias"], state_arrays(t)["fc.bias"])


def test_mismatches_are_all_named():
    src = {"a": np.zeros((2, 3)), "b": np.zeros(4), "c": np.zeros(2, np.float32), "extra": np.zeros(1)}
    dst = {"a": np.zeros((3, 2)), "b": np.zeros(4), "c": np.zeros(2), "missing": np.zeros(1)}
    with pytest.raises(TransferError) as info:
        check_compatible(src, dst, "torch", "minigrad")
    msg = str(info.value)
    for part in (
        "missing in torch: missing",
        "not in minigrad: extra",
        "a: shape (2, 3) in torch vs (3, 2)",
        "c: dtype float32 in torch vs float64",
    ):
        assert part in msg


def test_dtype_mismatch_between_models_is_refused():
    t = build_model(torch, dtype=torch.float32)
    m = build_model(minigrad, dtype=minigrad.float64)
    before = state_arrays(m)["fc.weight"].copy()
    with pytest.raises(TransferError, match="dtype float32 in torch model vs float64"):
        copy_weights(t, m)
    assert np.array_equal(state_arrays(m)["fc.weight"], before)  # nothing half-copied
    with pytest.raises(TransferError, match="missing in arrays: conv1.bias"):
        load_arrays(m, {k: v for k, v in state_arrays(m).items() if k != "conv1.bias"})
