"""Shape ops against torch: forward, backward with a random upstream gradient, and float64 gradcheck."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from tests.opcheck import compare

DTYPES = [np.float64, np.float32]


def _arr(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3)
nonempty = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3)


# ------------------------------------------------------------------ reshape family
@settings(max_examples=10)
@given(shape=shapes, data=st.data())
def test_reshape_and_view_with_inferred_dim(shape, data):
    x = _arr(shape)
    n = x.size
    # pick a factorisation of n and maybe replace one size by -1
    sizes = data.draw(st.sampled_from([(n,), (1, n, 1)] + ([(n // 2, 2)] if n % 2 == 0 else [])))
    if n and data.draw(st.booleans()):
        sizes = (-1,) + sizes[1:]
    compare(lambda lib, a: a.reshape(sizes), x)
    compare(lambda lib, a: a.view(*sizes), x)
    compare(lambda lib, a: lib.reshape(a * 1, sizes), x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_view_as_reshape_as_flatten_unflatten(dtype):
    x, y = _arr((2, 3, 4), dtype), _arr((6, 4), dtype)
    compare(lambda lib, a, b: a.view_as(b) * b, x, y)
    compare(lambda lib, a, b: a.reshape_as(b) * b, x, y)
    compare(lambda lib, a: lib.flatten(a), x)
    compare(lambda lib, a: lib.flatten(a, 1), x)
    compare(lambda lib, a: lib.flatten(a, 0, -2), x)
    compare(lambda lib, a: a.flatten(-2, -1), x)
    compare(lambda lib, a: lib.flatten(a), _arr((), dtype))
    compare(lambda lib, a: a.unflatten(1, (3, 1)), x)
    compare(lambda lib, a: a.unflatten(-1, (2, -1)), x)


def test_reshape_errors_name_shapes():
    x = mg.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"shape '\[4, 2\]' is invalid for input of size 6.*\[2, 3\]"):
        x.view(4, 2)
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        x.reshape(-1, -1)
    with pytest.raises(RuntimeError, match="invalid for input of size 6"):
        x.reshape(-1, 4)
    with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
        mg.flatten(mg.zeros(2, 3, 4), 2, 1)


def test_reshape_is_a_view_when_contiguous():
    x = mg.arange(6.0)
    y = x.view(2, 3)
    assert np.shares_memory(x.array, y.array)
    assert np.shares_memory(x.array, x.reshape(3, 2).T.array)


@settings(max_examples=10)
@given(shape=shapes, data=st.data())
def test_squeeze_unsqueeze(shape, data):
    x = _arr(shape)
    nd = len(shape)
    compare(lambda lib, a: a.squeeze(), x)
    if nd:
        d = data.draw(st.integers(-nd, nd - 1))
        compare(lambda lib, a: lib.squeeze(a, d), x)
        dims = tuple(data.draw(st.sets(st.integers(0, nd - 1), max_size=nd)))
        compare(lambda lib, a: a.squeeze(dims), x)
    u = data.draw(st.integers(-nd - 1, nd))
    compare(lambda lib, a: lib.unsqueeze(a, u), x)


def test_squeeze_unsqueeze_errors():
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-3, 2\], but got 3"):
        mg.zeros(2, 3).unsqueeze(3)
    with pytest.raises(IndexError, match="Dimension out of range"):
        mg.zeros(2, 3).squeeze(2)


# ------------------------------------------------------------------ permutations
@settings(max_examples=10)
@given(shape=shapes, data=st.data())
def test_permute_transpose_movedim_flip(shape, data):
    x = _arr(shape)
    nd = len(shape)
    perm = tuple(data.draw(st.permutations(range(nd))))
    neg = tuple(p - nd if i % 2 else p for i, p in enumerate(perm))  # some negative dims too
    compare(lambda lib, a: a.permute(*neg) if nd else a.permute(()), x)
    if nd:
        d0, d1 = data.draw(st.integers(-nd, nd - 1)), data.draw(st.integers(-nd, nd - 1))
        compare(lambda lib, a: lib.transpose(a, d0, d1), x)
        compare(lambda lib, a: a.swapaxes(d0, d1), x)
        compare(lambda lib, a: lib.movedim(a, d0, d1), x)
        dims = sorted(data.draw(st.sets(st.integers(0, nd - 1), min_size=1, max_size=nd)))
        compare(lambda lib, a: lib.flip(a, dims), x)
        compare(lambda lib, a: a.flip(-1), x)
    if nd >= 2:
        src = data.draw(st.permutations(range(nd)))[:2]
        dst = data.draw(st.permutations(range(nd)))[:2]
        compare(lambda lib, a: lib.movedim(a, tuple(src), tuple(dst)), x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_t_and_T_mT(dtype):
    compare(lambda lib, a: a.t(), _arr((2, 3), dtype))
    compare(lambda lib, a: lib.t(a), _arr((3,), dtype))
    compare(lambda lib, a: a.T, _arr((2, 3), dtype))
    compare(lambda lib, a: a.mT, _arr((2, 3, 4), dtype))
    with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions, but self is 3D"):
        mg.zeros(1, 2, 3).t()


def test_permute_errors():
    with pytest.raises(RuntimeError, match="number of dimensions"):
        mg.zeros(2, 3).permute(0)
    with pytest.raises(RuntimeError, match="repeated dim"):
        mg.zeros(2, 3).permute(0, 0)


# ------------------------------------------------------------------ expand, repeat, broadcast
@settings(max_examples=10)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0, max_side=3))
def test_expand_broadcast_to_and_backward_sums(shapes):
    (s, _), target = shapes.input_shapes, shapes.result_shape
    x = _arr(s)
    compare(lambda lib, a: a.expand(*target) if target else a.expand(()), x)
    compare(lambda lib, a: lib.broadcast_to(a, target), x)
    # -1 keeps a dim
    if s:
        keep = tuple(target[: len(target) - len(s)]) + (-1,) * len(s)
        compare(lambda lib, a: a.expand(keep), x)


@settings(max_examples=10)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3))
def test_broadcast_tensors(shapes):
    arrs = [_arr(s, seed=i) for i, s in enumerate(shapes.input_shapes)]
    compare(lambda lib, a, b, c: lib.broadcast_tensors(a, b, c), *arrs)


@pytest.mark.parametrize("dtype", DTYPES)
def test_expand_as(dtype):
    compare(lambda lib, a, b: a.expand_as(b) * b, _arr((3, 1), dtype), _arr((2, 3, 4), dtype))


def test_expand_errors_and_view():
    x = mg.zeros(2, 3)
    with pytest.raises(
        RuntimeError,
        match=r"expanded size of the tensor \(4\) must match the existing size \(3\) "
        r"at non-singleton dimension 1.*\[2, 4\].*\[2, 3\]",
    ):
        x.expand(2, 4)
    with pytest.raises(RuntimeError, match="must be greater or equal"):
        x.expand(3)
    y = mg.zeros(3, 1).expand(3, 1000)
    assert y.array.strides[1] == 0  # a broadcast view, no copy


@settings(max_examples=10)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3), data=st.data())
def test_repeat(shape, data):
    x = _arr(shape)
    extra = data.draw(st.integers(0, 2))
    reps = tuple(data.draw(st.lists(st.integers(0, 3), min_size=len(shape) + extra, max_size=len(shape) + extra)))
    compare(lambda lib, a: a.repeat(*reps) if reps else a.repeat(()), x)


def test_repeat_errors():
    with pytest.raises(RuntimeError, match="can not be smaller"):
        mg.zeros(2, 3).repeat(2)


# ------------------------------------------------------------------ cat, stack
@settings(max_examples=10)
@given(shape=nonempty, data=st.data())
def test_cat_stack(shape, data):
    nd = len(shape)
    d = data.draw(st.integers(-nd, nd - 1))
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    arrs = []
    for i, n in enumerate(sizes):
        s = list(shape)
        s[d] = n
        arrs.append(_arr(tuple(s), seed=i))
    compare(lambda lib, *ts: lib.cat(ts, dim=d), *arrs)
    same = [_arr(shape, seed=i) for i in range(len(sizes))]
    sd = data.draw(st.integers(-nd - 1, nd))
    compare(lambda lib, *ts: lib.stack(list(ts), sd), *same)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cat_aliases_and_promotion(dtype):
    compare(lambda lib, a, b: lib.concat((a, b), 1), _arr((2, 3), dtype), _arr((2, 1), dtype))
    compare(lambda lib, a, b: lib.concatenate([a, b], -1), _arr((2, 3), dtype), _arr((2, 1), dtype))
    # mixed dtypes promote like torch
    compare(
        lambda lib, a, b: lib.cat([a, b.to(lib.float64)]), _arr((2,), dtype), _arr((3,), np.float32), gradcheck=False
    )
    compare(lambda lib, a: lib.cat([a, lib.tensor([1, 2], device=a.device)]), _arr((2,), dtype))
    compare(lambda lib, a: lib.stack([a, lib.ones(2, dtype=lib.int64, device=a.device)]), _arr((2,), dtype))
    # torch skips 1-d empty tensors whatever the other shapes
    compare(lambda lib, a: lib.cat([a, lib.zeros(0, dtype=a.dtype, device=a.device)], 1), _arr((2, 3), dtype))


def test_cat_stack_errors():
    with pytest.raises(
        RuntimeError,
        match=r"Sizes of tensors must match except in dimension 0.*Expected size 3 but "
        r"got size 4 for tensor number 1.*\[2, 3\] and \[2, 4\]",
    ):
        mg.cat([mg.zeros(2, 3), mg.zeros(2, 4)])
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        mg.cat([mg.zeros(2, 3), mg.zeros(2)])
    with pytest.raises(RuntimeError, match="zero-dimensional tensor"):
        mg.cat([mg.zeros(()), mg.zeros(())])
    with pytest.raises(RuntimeError, match="non-empty"):
        mg.cat([])
    with pytest.raises(TypeError, match="tuple or list"):
        mg.cat(mg.zeros(2))
    with pytest.raises(
        RuntimeError,
        match=r"stack expects each tensor to be equal size, but got \[2\] at entry 0 "
        r"and \[3\] at entry 1",
    ):
        mg.stack([mg.zeros(2), mg.zeros(3)])
    with pytest.raises(IndexError, match="Dimension out of range"):
        mg.cat([mg.zeros(2, 3)], dim=2)


# ------------------------------------------------------------------ split, chunk, unbind, narrow
@settings(max_examples=10)
@given(shape=nonempty, data=st.data())
def test_split_chunk_unbind_narrow(shape, data):
    x = _arr(shape)
    nd = len(shape)
    d = data.draw(st.integers(-nd, nd - 1))
    n = shape[d]
    step = data.draw(st.integers(1, 4))
    compare(lambda lib, a: lib.split(a, step, d), x)
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=3)))
    sections = [b - a for a, b in zip([0] + cuts, cuts + [n])]
    compare(lambda lib, a: a.split(sections, dim=d), x)
    chunks = data.draw(st.integers(1, 4))
    compare(lambda lib, a: lib.chunk(a, chunks, d), x)
    compare(lambda lib, a: lib.unbind(a, d), x)
    start = data.draw(st.integers(-n, n))
    length = data.draw(st.integers(0, n - (start % n if n and start < 0 else start) if n else 0))
    compare(lambda lib, a: a.narrow(d, start, length), x)


def test_split_narrow_errors():
    with pytest.raises(RuntimeError, match=r"split_with_sizes expects split_sizes to sum exactly to 5.*\[2, 2\]"):
        mg.zeros(5).split([2, 2])
    with pytest.raises(RuntimeError, match=r"start \(2\) \+ length \(3\) exceeds dimension size \(4\)"):
        mg.zeros(4).narrow(0, 2, 3)
    with pytest.raises(RuntimeError, match="chunk expects"):
        mg.zeros(4).chunk(0)


# ------------------------------------------------------------------ pad
@settings(max_examples=12)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data())
def test_pad_constant_including_negative(shape, data):
    x = _arr(shape)
    k = data.draw(st.integers(1, len(shape)))
    pads = []
    for i in range(k):
        n = shape[-1 - i]
        lo = data.draw(st.integers(-(n // 2), 2))
        hi = data.draw(st.integers(-(n // 2), 2))
        pads += [lo, hi]
    value = data.draw(st.sampled_from([0.0, 1.5]))
    compare(lambda lib, a: (torch.nn.functional if lib is torch else lib).pad(a, pads, value=value), x)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_pad_other_modes(mode, dtype):
    x = _arr((2, 3, 4), dtype)
    compare(lambda lib, a: (torch.nn.functional if lib is torch else lib).pad(a, (2, 1), mode=mode), x)
    compare(lambda lib, a: (torch.nn.functional if lib is torch else lib).pad(a, (1, 3, 2, 0), mode=mode), x)


def test_pad_errors():
    with pytest.raises(RuntimeError, match="divisible by 2"):
        mg.pad(mg.zeros(3), (1,))
    with pytest.raises(RuntimeError, match="negative output size"):
        mg.pad(mg.zeros(3), (-2, -2))


def test_pad_keeps_dtype_and_int_values():
    x = mg.tensor([[1, 2], [3, 4]])
    y = mg.pad(x, (1, 0), value=7)
    assert y.dtype == mg.int64
    assert y.tolist() == [[7, 1, 2], [7, 3, 4]]


# ------------------------------------------------------------------ the declarations (minigrad.ops.registry)
# torch has no function for these: getitem/setitem back Tensor's [] operators, to_dtype/to_device back Tensor.to
_INTERNAL = {"getitem", "setitem", "to_dtype", "to_device"}


def test_declarations_follow_torchs_namespaces():
    import torch.nn.functional as F

    from minigrad.ops.registry import REGISTRY

    families = ("shape", "index", "linalg", "convert")
    mine = [d for d in REGISTRY.values() if d.module in {f"minigrad.ops.{f}" for f in families}]
    assert len(mine) > 50
    for d in mine:
        if d.name in _INTERNAL:
            assert not d.top_level and not d.method and not hasattr(torch, d.name), d.name
            continue
        assert d.top_level == hasattr(torch, d.name), f"top_level of {d.name}"
        assert d.functional == hasattr(F, d.name), f"functional of {d.name}"
        if d.method:
            assert hasattr(torch.Tensor, d.method), f"Tensor.{d.method}"
        elif d.name != "split":  # Tensor.split is declared apart (torch names its argument differently)
            assert not hasattr(torch.Tensor, d.name), f"Tensor.{d.name} exists in torch: declare method=True"
        if d.name.isidentifier() and d.name != "to":  # not "Tensor.split" (a method with its own parameters)
            assert getattr(mg, d.name) is d.fn  # minigrad.<name> stays importable (also for method-only names)


@pytest.mark.parametrize("name", ["swapaxes", "swapdims", "moveaxis"])
def test_method_aliases_match_torch(name):
    compare(lambda t, a: getattr(a, name)(0, 2), _arr((2, 3, 4)))


KEYWORD_CALLS = {  # torch's parameter names work as keywords (the sizes also as one tuple or as several ints)
    "reshape": lambda t, a: t.reshape(a, shape=(4, 3)),
    "Tensor.reshape": lambda t, a: a.reshape(shape=(3, 4)),
    "Tensor.view": lambda t, a: a.view(size=(2, 6)),
    "Tensor.view_ints": lambda t, a: a.view(4, 3),
    "permute": lambda t, a: t.permute(a, dims=(1, 0)),
    "Tensor.permute_ints": lambda t, a: a.permute(1, 0),
    "Tensor.expand": lambda t, a: a[None].expand(size=(2, 3, 4)),
    "Tensor.repeat": lambda t, a: a.repeat(repeats=(2, 1)),
    "swapaxes": lambda t, a: t.swapaxes(a, axis0=0, axis1=1),
    "Tensor.swapaxes": lambda t, a: a.swapaxes(axis0=1, axis1=0),
    "swapdims": lambda t, a: t.swapdims(a, dim0=0, dim1=1),
    "split": lambda t, a: t.split(a, split_size_or_sections=[1, 2], dim=0)[1],
    "Tensor.split": lambda t, a: a.split(split_size=2, dim=1)[1],
}


@pytest.mark.parametrize("name", sorted(KEYWORD_CALLS))
def test_torchs_parameter_names_work_as_keywords(name):
    compare(KEYWORD_CALLS[name], _arr((3, 4)))
