"""Attention against torch: scaled_dot_product_attention, MultiheadAttention, TransformerEncoder(Layer).

Each case runs the same call on torch and on minigrad (weights copied from the torch twin), in float64,
and compares the outputs, the attention weights, the gradients of every input (a float mask included) and
of every parameter, under one random upstream gradient per output.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad.autograd import gradcheck
from tests.nn.twin import check_parameter_grads, copy_weights
from tests.opcheck import DEVICE, assert_close

RTOL, ATOL = 1e-10, 1e-12
RNG = np.random.default_rng(0)


def randn(*shape):
    return RNG.standard_normal(shape)


def bool_mask(*shape, p=0.3):
    return RNG.random(shape) < p


def to_lib(lib, a, grad):
    """NumPy array -> tensor of ``lib`` (float arrays require grad when ``grad``); other values pass through."""
    if not isinstance(a, np.ndarray):
        return a
    dev = DEVICE if lib is mg else None
    return lib.tensor(a, requires_grad=grad and a.dtype.kind == "f", device=dev)


def to_np(t):
    return t.detach().cpu().numpy()


def compare(fn, t_mod, m_mod, args, kwargs=None, grad=True, seed=1):
    """Run ``fn(lib, module, *args, **kwargs)`` on both libraries; compare outputs and all gradients.

    ``args``/``kwargs`` hold NumPy arrays (converted per library; float ones require grad) or plain values.
    A NaN output (torch gives NaN weights for a query with no key) is compared but not backpropagated.
    """
    kwargs = kwargs or {}
    if m_mod is not None:
        copy_weights(t_mod, m_mod)
        if DEVICE:
            m_mod.to(DEVICE)
    names = list(range(len(args))) + list(kwargs)
    values = list(args) + list(kwargs.values())
    ins = {}
    outs = {}
    for lib, mod in ((torch, t_mod), (mg, m_mod)):
        tensors = [to_lib(lib, v, grad) for v in values]
        ins[lib] = tensors
        out = fn(lib, mod, *tensors[: len(args)], **dict(zip(names[len(args) :], tensors[len(args) :])))
        outs[lib] = out if isinstance(out, tuple) else (out,)
    assert len(outs[torch]) == len(outs[mg])
    for k, (t, m) in enumerate(zip(outs[torch], outs[mg])):
        if t is None:
            assert m is None, f"output {k}: torch gives None, minigrad {type(m).__name__}"
            continue
        assert str(m.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], f"output {k}: dtype"
        assert_close(to_np(m), to_np(t), RTOL, ATOL, f"output {k}")
    if not grad:
        return outs
    rng = np.random.default_rng(seed)
    ups = [None if t is None or torch.isnan(t).any() else rng.standard_normal(tuple(t.shape)) for t in outs[torch]]
    for lib in (torch, mg) if any(u is not None for u in ups) else ():
        dev = DEVICE if lib is mg else None
        loss = sum((o * lib.tensor(u, device=dev)).sum() for o, u in zip(outs[lib], ups) if u is not None)
        loss.backward()
    for name, t, m in zip(names, ins[torch], ins[mg]):
        if isinstance(t, torch.Tensor) and t.requires_grad and t.grad is None:
            assert m.grad is None or not np.any(to_np(m.grad)), f"input {name}: torch has no gradient"
        elif isinstance(t, torch.Tensor) and t.requires_grad:
            assert m.grad is not None, f"input {name}: minigrad computed no gradient"
            assert_close(to_np(m.grad), to_np(t.grad), RTOL, ATOL, f"gradient of input {name}")
    if m_mod is not None:
        check_parameter_grads(t_mod, m_mod, RTOL, ATOL)
    return outs


def twins(t_cls, m_cls, *args, **kwargs):
    """A torch module (float64) and its minigrad twin built with the same arguments."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # enable_nested_tensor's "not used because ..." notice
        t_mod = t_cls(*args, **kwargs).double()

    def to_mg(v):  # a torch function argument (activation=F.gelu) -> minigrad's function of that name
        from_torch = callable(v) and getattr(v, "__module__", "").startswith("torch")
        return getattr(mg.nn.functional, v.__name__) if from_torch else v

    m_kwargs = {k: to_mg(v) for k, v in kwargs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m_mod = m_cls(*args, **m_kwargs, dtype=mg.float64) if m_cls is not None else None
    return t_mod, m_mod


# ---------------------------------------------------------------------- scaled_dot_product_attention
def sdpa(lib, _mod, q, k, v, **kw):
    return lib.nn.functional.scaled_dot_product_attention(q, k, v, **kw)


def _empty_row(mask, row=1):
    mask = mask.copy()
    mask[..., row, :] = False
    return mask


def _masked_row(row=1):
    """An MHA mask (True = do not attend) that leaves query ``row`` no key at all."""
    mask = np.zeros((L, S), bool)
    mask[row] = True
    return mask


def _float_mask(keep):
    return np.where(keep, RNG.standard_normal(keep.shape), -np.inf)


SDPA_CASES = {
    "plain": ((2, 3, 4, 8), (2, 3, 5, 8), 8, {}),
    "value_width": ((2, 3, 4, 8), (2, 3, 5, 8), 6, {}),
    "scale": ((2, 3, 4, 8), (2, 3, 5, 8), 8, {"scale": 0.37}),
    "3d": ((3, 4, 8), (3, 5, 8), 8, {}),
    "2d": ((4, 8), (5, 8), 8, {}),
    "5d": ((2, 2, 3, 4, 8), (2, 2, 3, 5, 8), 8, {}),
    "batch_broadcast": ((2, 3, 4, 8), (1, 3, 5, 8), 8, {}),
    "causal_short_query": ((2, 3, 4, 8), (2, 3, 6, 8), 8, {"is_causal": True}),
    "causal_long_query": ((2, 3, 6, 8), (2, 3, 4, 8), 8, {"is_causal": True}),
    "bool_mask_2d": ((2, 3, 4, 8), (2, 3, 5, 8), 8, {"attn_mask": _empty_row(~bool_mask(4, 5))}),
    "bool_mask_broadcast": ((2, 3, 4, 8), (2, 3, 5, 8), 8, {"attn_mask": ~bool_mask(2, 1, 4, 5)}),
    "bool_mask_full": ((2, 3, 4, 8), (2, 3, 5, 8), 8, {"attn_mask": _empty_row(~bool_mask(2, 3, 4, 5), 2)}),
    "float_mask_2d": ((2, 3, 4, 8), (2, 3, 5, 8), 8, {"attn_mask": randn(4, 5)}),
    "float_mask_inf": ((2, 3, 4, 8), (2, 3, 5, 8), 8, {"attn_mask": _float_mask(_empty_row(~bool_mask(4, 5)))}),
    "float_mask_full": ((2, 3, 4, 8), (2, 3, 5, 8), 8, {"attn_mask": randn(2, 3, 4, 5)}),
    "causal_and_bool_mask": ((2, 3, 4, 8), (2, 3, 5, 8), 8, {"is_causal": True, "attn_mask": ~bool_mask(4, 5)}),
    "gqa": ((2, 4, 4, 8), (2, 2, 5, 8), 8, {"enable_gqa": True}),
    "gqa_same_heads": ((2, 2, 4, 8), (2, 2, 5, 8), 8, {"enable_gqa": True}),
}


@pytest.mark.parametrize("case", list(SDPA_CASES))
def test_sdpa_matches_torch(case):
    q_shape, k_shape, ev, kw = SDPA_CASES[case]
    compare(sdpa, None, None, (randn(*q_shape), randn(*k_shape), randn(*k_shape[:-1], ev)), kw)


def test_sdpa_causal_and_float_mask_without_mask_gradient():
    """torch's fused CPU kernel applies a float mask and is_causal together when the mask needs no gradient."""
    q, k, v = randn(2, 3, 5, 8), randn(2, 3, 4, 8), randn(2, 3, 4, 8)
    float_mask = randn(5, 4)
    mask = {lib: to_lib(lib, float_mask, False) for lib in (torch, mg)}
    compare(lambda lib, _m, *a: sdpa(lib, _m, *a, attn_mask=mask[lib], is_causal=True), None, None, (q, k, v))


def test_sdpa_gradcheck():
    """Finite differences through q, k, v and a float mask with -inf entries and one fully masked row."""
    rng = np.random.default_rng(3)
    keep = _empty_row(rng.random((3, 4)) < 0.7)
    mask = np.where(keep, rng.standard_normal((3, 4)), -np.inf)
    q, k, v = (
        mg.tensor(rng.standard_normal(s), requires_grad=True, device=DEVICE) for s in ((2, 3, 5), (2, 4, 5), (2, 4, 3))
    )
    m = mg.tensor(mask, requires_grad=True, device=DEVICE)
    assert gradcheck(lambda *a: mg.nn.functional.scaled_dot_product_attention(*a), (q, k, v, m))
    assert gradcheck(lambda *a: mg.nn.functional.scaled_dot_product_attention(*a, is_causal=True, scale=0.8), (q, k, v))


@pytest.mark.parametrize("case", ["causal_and_mask", "causal_and_grad_mask", "dtypes", "int_mask", "gqa_heads"])
def test_sdpa_errors_like_torch(case):
    q, k = randn(2, 4, 3, 8), randn(2, 4, 5, 8)
    args, kw = [q, k, k], {}
    if case == "causal_and_mask":  # torch refuses it outside its fused CPU kernel (here: value width differs)
        args, kw = [q, k, k[..., :6]], {"attn_mask": np.ones((3, 5), bool), "is_causal": True}
    elif case == "causal_and_grad_mask":
        args, kw = [q, k, k], {"attn_mask": randn(3, 5), "is_causal": True}
    elif case == "dtypes":
        args = [q, k.astype(np.float32), k]
    elif case == "int_mask":
        kw = {"attn_mask": np.ones((3, 5), np.int64)}
    else:
        args, kw = [q, k[:, :3], k[:, :3]], {"enable_gqa": True}
    errors = []
    for lib in (torch, mg):
        with pytest.raises(Exception) as info:
            sdpa(lib, None, *(to_lib(lib, a, False) for a in args), **{n: to_lib(lib, a, True) for n, a in kw.items()})
        errors.append(info)
    assert errors[1].type is errors[0].type, (errors[0].value, errors[1].value)
    assert str(errors[0].value).split()[:3] == str(errors[1].value).split()[:3], (errors[0].value, errors[1].value)


def test_sdpa_dropout():
    """Dropout acts on the weights: seeded runs repeat, p=0 is plain attention, p=1 gives zeros like torch."""
    q, k, v = (mg.tensor(randn(2, 3, 4, 8), device=DEVICE) for _ in range(3))
    f = mg.nn.functional.scaled_dot_product_attention
    mg.manual_seed(5)
    a = f(q, k, v, dropout_p=0.5)
    mg.manual_seed(5)
    b = f(q, k, v, dropout_p=0.5)
    assert np.array_equal(to_np(a), to_np(b))
    assert not np.allclose(to_np(a), to_np(f(q, k, v)))
    t = [torch.tensor(to_np(x)) for x in (q, k, v)]
    assert_close(
        to_np(f(q, k, v, dropout_p=1.0)),
        torch.nn.functional.scaled_dot_product_attention(*t, dropout_p=1.0).numpy(),
        RTOL,
        ATOL,
        "dropout_p=1",
    )


# ---------------------------------------------------------------------- MultiheadAttention
def mha(lib, mod, q, k, v, self_attention=False, **kw):
    if self_attention:
        return mod(q, q, q, **kw)
    return mod(q, k, v, **kw)


E, H, L, S, N = 8, 2, 4, 5, 3
CAUSAL = np.triu(np.ones((S, S), bool), 1)  # MHA convention: True = may not attend


def _mha_case(batch_first=False, unbatched=False, kdim=None, vdim=None, self_attention=False, **call):
    """Inputs and call keywords for one MultiheadAttention case."""
    lead = (lambda n: ()) if unbatched else ((lambda n: (N, n)) if batch_first else (lambda n: (n, N)))

    def shape(n, width):
        return lead(n) + (width,) if not unbatched else (n, width)

    q = randn(*shape(L if not self_attention else S, E))
    k, v = randn(*shape(S, kdim or E)), randn(*shape(S, vdim or E))
    return (q, k, v), call


MHA_CASES = {
    "plain": ({}, {}),
    "no_weights": ({}, {"need_weights": False}),
    "per_head_weights": ({}, {"average_attn_weights": False}),
    "batch_first": ({"batch_first": True}, {}),
    "unbatched": ({}, {"unbatched": True}),
    "unbatched_3d_mask": ({}, {"unbatched": True, "attn_mask": bool_mask(H, L, S)}),
    "kdim_vdim": ({"kdim": 3, "vdim": 6}, {"kdim": 3, "vdim": 6}),
    "no_bias": ({"bias": False}, {}),
    "bias_kv": ({"add_bias_kv": True}, {}),
    "zero_attn": ({"add_zero_attn": True}, {"key_padding_mask": bool_mask(N, S)}),
    "bias_kv_zero_attn_masks": (
        {"add_bias_kv": True, "add_zero_attn": True},
        {"attn_mask": bool_mask(L, S), "key_padding_mask": bool_mask(N, S)},
    ),
    "bool_attn_mask_2d": ({}, {"attn_mask": bool_mask(L, S)}),
    "float_attn_mask_3d": ({}, {"attn_mask": randn(N * H, L, S)}),
    "bool_attn_mask_3d_no_weights": ({}, {"attn_mask": bool_mask(N * H, L, S), "need_weights": False}),
    "bool_key_padding": ({}, {"key_padding_mask": bool_mask(N, S)}),
    "float_key_padding_no_weights": ({}, {"key_padding_mask": randn(N, S), "need_weights": False}),
    "both_masks": ({}, {"attn_mask": randn(L, S), "key_padding_mask": randn(N, S), "need_weights": False}),
    "empty_row_weights_nan": ({}, {"attn_mask": _masked_row()}),
    "empty_row_no_weights_zero": ({}, {"attn_mask": _masked_row(), "need_weights": False}),
    "causal_hint_no_weights": (
        {"batch_first": True},
        {"self_attention": True, "need_weights": False, "is_causal": True, "attn_mask": CAUSAL},
    ),
    "causal_hint_replaces_mask": (
        {},
        {"self_attention": True, "need_weights": False, "is_causal": True, "attn_mask": bool_mask(S, S)},
    ),
    "causal_hint_with_weights": ({}, {"self_attention": True, "is_causal": True, "attn_mask": CAUSAL}),
    "self_attention_packed": ({"batch_first": True}, {"self_attention": True, "key_padding_mask": bool_mask(N, S)}),
}


@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("case", list(MHA_CASES))
def test_mha_matches_torch(case):
    ctor, call = MHA_CASES[case]
    call = dict(call)
    shape_kw = {k: call.pop(k) for k in ("unbatched", "kdim", "vdim") if k in call}
    if "key_padding_mask" in call and shape_kw.get("unbatched"):
        call["key_padding_mask"] = call["key_padding_mask"][0]
    args, _ = _mha_case(
        batch_first=ctor.get("batch_first", False), self_attention=call.get("self_attention"), **shape_kw
    )
    t_mod, m_mod = twins(torch.nn.MultiheadAttention, mg.nn.MultiheadAttention, E, H, **ctor)
    compare(mha, t_mod, m_mod, args, call)


def test_mha_dropout_eval_is_deterministic():
    t_mod, m_mod = twins(torch.nn.MultiheadAttention, mg.nn.MultiheadAttention, E, H, dropout=0.5)
    t_mod.eval()
    m_mod.eval()
    compare(mha, t_mod, m_mod, _mha_case()[0])
    q = to_lib(mg, randn(L, N, E), False)
    assert np.array_equal(to_np(m_mod(q, q, q)[0]), to_np(m_mod(q, q, q)[0]))


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_mha_fast_path_nan_rows_like_torch():
    """torch's fused inference kernel (eval, no grad, batch_first self-attention) gives NaN for a query
    that may attend to nothing even without weights; its differentiable path gives zeros."""
    t_mod, m_mod = twins(torch.nn.MultiheadAttention, mg.nn.MultiheadAttention, E, H, batch_first=True)
    t_mod.eval()
    m_mod.eval()
    x = randn(N, S, E)
    mask = np.zeros((S, S), bool)
    mask[1] = True
    with torch.no_grad(), mg.no_grad():
        compare(
            mha, t_mod, m_mod, (x, x, x), {"self_attention": True, "attn_mask": mask, "need_weights": False}, grad=False
        )


def test_mha_parameters_and_init_like_torch():
    for kw in ({}, {"kdim": 3, "vdim": 5, "add_bias_kv": True}, {"bias": False}):
        t_mod, m_mod = twins(torch.nn.MultiheadAttention, mg.nn.MultiheadAttention, 12, 3, **kw)
        t_shapes = {k: tuple(v.shape) for k, v in t_mod.state_dict().items()}
        m_shapes = {k: tuple(v.shape) for k, v in m_mod.state_dict().items()}
        assert m_shapes == t_shapes
        # minigrad -> torch loads too
        t_mod.load_state_dict({k: torch.tensor(to_np(v)) for k, v in m_mod.state_dict().items()})
    m_mod = mg.nn.MultiheadAttention(64, 4)
    bound = np.sqrt(6.0 / (64 + 3 * 64))  # xavier_uniform over the packed (3E, E) weight
    w = to_np(m_mod.in_proj_weight)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert not np.any(to_np(m_mod.in_proj_bias)) and not np.any(to_np(m_mod.out_proj.bias))


@pytest.mark.parametrize(
    "case", ["is_causal_without_mask", "bad_2d_mask", "bad_3d_mask", "bad_kpm", "4d_query", "int_mask", "heads"]
)
def test_mha_errors_like_torch(case):
    args, kw = _mha_case()[0], {}
    ctor = (E, H)
    if case == "is_causal_without_mask":
        kw = {"is_causal": True}
    elif case == "bad_2d_mask":
        kw = {"attn_mask": np.zeros((L, S + 1), bool)}
    elif case == "bad_3d_mask":
        kw = {"attn_mask": np.zeros((N, L, S), bool)}
    elif case == "bad_kpm":
        kw = {"key_padding_mask": np.zeros((N, S + 1), bool)}
    elif case == "4d_query":
        args = (randn(1, L, N, E),) + args[1:]
    elif case == "int_mask":
        kw = {"attn_mask": np.zeros((L, S), np.int64)}
    else:
        ctor = (E, 3)
    errors = []
    for lib in (torch, mg):
        with pytest.raises(Exception) as info:
            mod = lib.nn.MultiheadAttention(*ctor).double()
            mod = mod.to(DEVICE) if lib is mg and DEVICE else mod
            mha(lib, mod, *(to_lib(lib, a, False) for a in args), **{n: to_lib(lib, a, False) for n, a in kw.items()})
        errors.append(info)
    assert errors[1].type is errors[0].type, (errors[0].value, errors[1].value)
    assert str(errors[0].value).split()[:2] == str(errors[1].value).split()[:2], (errors[0].value, errors[1].value)


# ---------------------------------------------------------------------- TransformerEncoderLayer / Encoder
def layer_call(lib, mod, src, **kw):
    return mod(src, **kw)


LAYER_CASES = {
    "post_norm": ({}, {}),
    "norm_first": ({"norm_first": True}, {}),
    "gelu_batch_first": ({"activation": "gelu", "batch_first": True}, {}),
    "gelu_function": ({"activation": torch.nn.functional.gelu}, {}),
    "no_bias": ({"bias": False}, {}),
    "unbatched": ({}, {"unbatched": True}),
    "src_mask_bool": ({}, {"src_mask": bool_mask(S, S)}),
    "src_mask_float_kpm": ({"norm_first": True}, {"src_mask": randn(S, S), "src_key_padding_mask": randn(N, S)}),
    "kpm_bool_batch_first": ({"batch_first": True}, {"src_key_padding_mask": bool_mask(N, S)}),
    "causal": ({}, {"src_mask": np.triu(np.ones((S, S), bool), 1), "is_causal": True}),
}


@pytest.mark.parametrize("case", list(LAYER_CASES))
def test_encoder_layer_matches_torch(case):
    ctor, call = LAYER_CASES[case]
    call = dict(call)
    unbatched = call.pop("unbatched", False)
    t_mod, m_mod = twins(torch.nn.TransformerEncoderLayer, mg.nn.TransformerEncoderLayer, E, H, 16, dropout=0.3, **ctor)
    t_mod.eval()  # dropout off: eval is deterministic; grad is enabled, so torch keeps its differentiable path
    m_mod.eval()
    src = randn(S, E) if unbatched else (randn(N, S, E) if ctor.get("batch_first") else randn(S, N, E))
    compare(layer_call, t_mod, m_mod, (src,), call)


def test_encoder_layer_training_without_dropout_and_callable_module():
    t_mod, m_mod = twins(torch.nn.TransformerEncoderLayer, mg.nn.TransformerEncoderLayer, E, H, 16, dropout=0.0)
    t_mod.activation, m_mod.activation = torch.nn.GELU(), mg.nn.GELU()
    compare(layer_call, t_mod, m_mod, (randn(S, N, E),), {"src_key_padding_mask": bool_mask(N, S)})


def test_encoder_layer_bad_activation():
    for lib in (torch, mg):
        with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
            lib.nn.TransformerEncoderLayer(E, H, activation="tanh")


def _encoders(norm=True, **layer_kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_layer = torch.nn.TransformerEncoderLayer(E, H, 16, dropout=0.2, **layer_kw)
        t_mod = torch.nn.TransformerEncoder(t_layer, 2, norm=torch.nn.LayerNorm(E) if norm else None).double()
        m_layer = mg.nn.TransformerEncoderLayer(E, H, 16, dropout=0.2, **layer_kw)
        m_mod = mg.nn.TransformerEncoder(m_layer, 2, norm=mg.nn.LayerNorm(E) if norm else None).double()
    # torch's layers are deep copies of one layer: give them different weights so the test can tell them apart
    with torch.no_grad():
        for p in t_mod.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    return t_mod.eval(), m_mod.eval()


ENCODER_CASES = {
    "plain": ({}, {}),
    "mask_and_kpm": ({"batch_first": True}, {"mask": bool_mask(S, S), "src_key_padding_mask": bool_mask(N, S)}),
    "causal_float_mask_detected": ({}, {"mask": np.triu(np.full((S, S), -np.inf), 1)}),
    "norm_first_gelu_kpm": ({"norm_first": True, "activation": "gelu"}, {"src_key_padding_mask": bool_mask(N, S)}),
}


@pytest.mark.parametrize("case", list(ENCODER_CASES))
def test_encoder_matches_torch(case):
    layer_kw, call = ENCODER_CASES[case]
    t_mod, m_mod = _encoders(**layer_kw)
    src = randn(N, S, E) if layer_kw.get("batch_first") else randn(S, N, E)
    compare(layer_call, t_mod, m_mod, (src,), call)


def test_encoder_state_dict_both_ways_and_deep_copies():
    t_mod, m_mod = _encoders()
    copy_weights(t_mod, m_mod)
    assert sorted(m_mod.state_dict()) == sorted(t_mod.state_dict())
    back = copy.deepcopy(t_mod)
    back.load_state_dict({k: torch.tensor(to_np(v)) for k, v in m_mod.state_dict().items()})
    for k, v in back.state_dict().items():
        assert torch.equal(v, t_mod.state_dict()[k]), k
    fresh = mg.nn.TransformerEncoder(mg.nn.TransformerEncoderLayer(E, H, 16), 3, enable_nested_tensor=False)
    w = [layer.linear1.weight for layer in fresh.layers]
    assert w[0] is not w[1] and np.array_equal(to_np(w[0]), to_np(w[2]))  # copies: equal values, own storage


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
@pytest.mark.parametrize("kpm_kind", ["left_aligned", "not_left_aligned"])
def test_encoder_inference_padding_like_torch(kpm_kind):
    """eval + no_grad: torch's nested-tensor path zeros padded positions (left-aligned masks only)."""
    t_mod, m_mod = _encoders(norm=False, batch_first=True)
    kpm = np.zeros((N, S), bool)
    kpm[0, 3:] = kpm[1, 4:] = True
    if kpm_kind == "not_left_aligned":
        kpm[2, 1] = True
    with torch.no_grad(), mg.no_grad():
        outs = compare(layer_call, t_mod, m_mod, (randn(N, S, E),), {"src_key_padding_mask": kpm}, grad=False)
    assert (to_np(outs[mg][0])[kpm] == 0).all() == (kpm_kind == "left_aligned")


@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("mask_kind", ["bool", "float"])
@pytest.mark.parametrize("batch_first, norm_first", [(True, False), (True, True), (False, False)])
def test_encoder_layer_inference_empty_row_like_torch(mask_kind, batch_first, norm_first):
    """eval + no_grad: a query with every key masked gives NaN on torch's fused path, zeros elsewhere."""
    t_mod, m_mod = twins(
        torch.nn.TransformerEncoderLayer,
        mg.nn.TransformerEncoderLayer,
        E,
        H,
        16,
        batch_first=batch_first,
        norm_first=norm_first,
    )
    t_mod.eval()
    m_mod.eval()
    mask = np.zeros((S, S), bool)
    mask[2] = True
    if mask_kind == "float":
        mask = np.where(mask, -np.inf, 0.0)
    with torch.no_grad(), mg.no_grad():
        src = randn(N, S, E) if batch_first else randn(S, N, E)
        compare(layer_call, t_mod, m_mod, (src,), {"src_mask": mask}, grad=False)
