"""Copies from a tensor into itself (x[a:b] = x[c:d], copy_, index_put): torch's overlap rule, exactly.

torch refuses a copy between two dense blocks of memory that partly overlap (and, for index_put, any
overlap); where either side has gaps it copies. Each statement runs on both libraries: the same error,
or the same values.
"""

import pytest
import torch

import minigrad as mg

STATEMENTS = [
    "v[1:4] = v[0:3]",
    "v[::2] = v[1::2]",
    "v[0:3].copy_(v[1:4])",
    "v[:] = v",
    "v.copy_(v)",
    "v[0:3] = v[0:3]",
    "v[::2] = v[:3]",
    "v[3:] = v[:3]",
    "w = v.view(2, 3); w[1] = w[0]",
    "w = v.view(2, 3); w[:, 1:] = w[:, :2]",
    "v[[0, 1]] = v[1:3]",
    "v[[0, 1]] = v[4:]",
    "v[[0, 1]] = v[::3]",
    "v[v > 3] = v[:2]",
    "v[2:].copy_(v[:4])",
]


# torch copies these element by element (their memory has gaps and shares elements): its result depends on
# its loop order, so minigrad refuses them instead of giving another answer
STRICTER = {"v[::2] = v[:3]", "w = v.view(2, 3); w[:, 1:] = w[:, :2]", "v[[0, 1]] = v[::3]"}


def _run(lib, statement):
    v = lib.arange(6.0)
    try:
        exec(statement, {"v": v})
    except RuntimeError as e:
        return "error", "single memory location" in str(e)
    return "ok", v.tolist()


@pytest.mark.parametrize("statement", STATEMENTS)
def test_copy_into_itself_follows_torchs_rule(statement):
    if statement in STRICTER:
        assert _run(torch, statement)[0] == "ok" and _run(mg, statement) == ("error", True)
        return
    assert _run(mg, statement) == _run(torch, statement)


@pytest.mark.parametrize("statement", ["x.copy_(x.t())", "x[:] = x.t()", "x.add_(x.t())", "x.add_(x)", "x.mul_(x[0])"])
def test_the_same_memory_in_another_layout_is_refused_as_torch(statement):
    def run(lib):
        x = lib.arange(4.0).reshape(2, 2)
        try:
            exec(statement, {"x": x})
        except RuntimeError as e:
            return "error", "single memory location" in str(e)
        return "ok", x.tolist()

    assert run(mg) == run(torch)
