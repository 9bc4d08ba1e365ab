"""``scaled_dot_product_attention``: ``softmax(q @ k^T * scale + mask) @ v``, built from existing ops.

Nothing here has its own backward: the attention is a chain of matmul, masked_fill, softmax and dropout,
so autograd differentiates it through those ops (with respect to query, key, value and a float mask).
:func:`attention` also returns the weights; ``nn.MultiheadAttention`` uses it directly.
"""

from __future__ import annotations

import math

from .. import creation
from ..autograd import is_grad_enabled
from ..ops import dropout, masked_fill, matmul, softmax
from ..tensor import Tensor

__all__ = ["scaled_dot_product_attention"]


def scaled_dot_product_attention(
    query,
    key,
    value,
    attn_mask=None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale=None,
    enable_gqa: bool = False,
) -> Tensor:
    """torch.nn.functional.scaled_dot_product_attention.

    ``query (..., L, E)``, ``key (..., S, E)``, ``value (..., S, Ev)`` -> ``(..., L, Ev)``; leading dims broadcast.
    ``attn_mask``: bool (True = may attend) or float (added to the scores), broadcastable to ``(..., L, S)``.
    ``is_causal``: query ``i`` sees keys ``0..i`` (upper-left aligned). ``scale`` defaults to ``1/sqrt(E)``.
    A query row with no key left to attend gives zeros (and zero gradients), as torch 2.13 does, not NaN.
    ``dropout_p`` drops attention weights (always, like torch: the function has no training flag).
    ``is_causal`` with a mask: both apply where torch 2.13's fused CPU kernel would run (see
    ``_fused_cpu_kernel_applies``); elsewhere it is torch's RuntimeError.
    """
    _check_inputs(query, key, value, attn_mask, is_causal, dropout_p)
    if enable_gqa:
        key, value = _repeat_kv_heads(query, key), _repeat_kv_heads(query, value)
    if is_causal and attn_mask is not None:  # torch's fused CPU kernel applies both; see _check_inputs
        causal = _causal_keep(query.shape[-2], key.shape[-2], query.device)
        if attn_mask.dtype.is_floating_point:
            attn_mask = masked_fill(attn_mask.to(query.dtype), ~causal, float("-inf"))
        else:
            attn_mask = attn_mask & causal
        is_causal = False
    out, _ = attention(query, key, value, attn_mask, dropout_p, is_causal, scale, empty_rows_give_zero=True)
    return out


def attention(
    query,
    key,
    value,
    attn_mask=None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale=None,
    empty_rows_give_zero: bool = True,
):
    """``(output, weights)`` of scaled dot-product attention (inputs already checked).

    ``empty_rows_give_zero=False`` keeps the NaN rows a plain softmax gives for a query with every key
    masked: torch's ``MultiheadAttention`` returns those when it computes the weights explicitly.
    """
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = matmul(query, key.transpose(-2, -1)) * scale
    keep = _causal_keep(L, S, query.device) if is_causal else None
    if attn_mask is not None and attn_mask.dtype.is_floating_point:
        scores = scores + attn_mask.to(scores.dtype)
    elif attn_mask is not None:
        keep = attn_mask
    if keep is not None:
        scores = masked_fill(scores, ~keep, float("-inf"))
    empty_rows = None
    if empty_rows_give_zero and attn_mask is not None:  # a causal mask alone always leaves key 0 visible
        # a row of -inf would softmax to NaN (and NaN gradients): give it finite scores, then zero its weights
        empty_rows = (scores == float("-inf")).all(dim=-1, keepdim=True)
        scores = masked_fill(scores, empty_rows, 0.0)
    weights = softmax(scores, dim=-1)
    if empty_rows is not None:
        weights = masked_fill(weights, empty_rows, 0.0)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return matmul(weights, value), weights


def _causal_keep(L: int, S: int, device) -> Tensor:
    """``(L, S)`` bool mask, True where key ``j <= i`` (the lower triangle, upper-left aligned)."""
    rows = creation.arange(L, device=device).unsqueeze(-1)
    cols = creation.arange(S, device=device).unsqueeze(0)
    return cols <= rows


def _fused_cpu_kernel_applies(query, key, value, attn_mask, dropout_p) -> bool:
    """torch 2.13's CPU flash kernel takes 4-D inputs of equal batch and head sizes, equal key and value
    widths, no dropout and no gradient for the mask. It alone accepts ``is_causal`` with a mask (and
    applies both); every other torch path raises, so minigrad follows the same split."""
    mask_needs_grad = attn_mask is not None and attn_mask.requires_grad and is_grad_enabled()
    return (
        not mask_needs_grad
        and query.ndim == key.ndim == value.ndim == 4
        and dropout_p == 0.0
        and tuple(query.shape[:2]) == tuple(key.shape[:2]) == tuple(value.shape[:2])
        and query.shape[-1] == value.shape[-1]
        and query.shape[-2] > 0
        and key.shape[-2] > 0
    )


def _check_inputs(query, key, value, attn_mask, is_causal, dropout_p):
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if not (query.dtype == key.dtype == value.dtype):
        raise RuntimeError(
            f"Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{query.dtype} key.dtype: {key.dtype} and value.dtype: {value.dtype} instead."
        )
    if attn_mask is not None:
        if is_causal and not _fused_cpu_kernel_applies(query, key, value, attn_mask, dropout_p):
            raise RuntimeError(
                "_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True"
            )
        if not isinstance(attn_mask, Tensor):
            raise TypeError(
                f"scaled_dot_product_attention(): argument 'attn_mask' must be Tensor, not {type(attn_mask).__name__}"
            )
        if attn_mask.dtype != query.dtype and not (
            attn_mask.dtype.is_floating_point or attn_mask.array.dtype.kind == "b"
        ):
            raise RuntimeError(
                f"Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                f"attn_mask.dtype: {attn_mask.dtype} and  query.dtype: {query.dtype} instead."
            )


def _repeat_kv_heads(query, kv):
    """Grouped-query attention: repeat each of ``kv``'s heads (dim -3) so it has as many as ``query``
    (head ``h`` of the query reads head ``h // group`` of key/value, like ``repeat_interleave``)."""
    if query.ndim < 3 or kv.ndim < 3:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [-{min(query.ndim, kv.ndim)}, "
            f"{min(query.ndim, kv.ndim) - 1}], but got -3)"
        )
    hq, hkv = query.shape[-3], kv.shape[-3]
    if hq == hkv:
        return kv
    if hq % hkv != 0:
        raise RuntimeError(
            f"Number of heads in key and value must divide the number of heads in query "
            f"(query has {hq}, key/value {hkv})"
        )
    group = hq // hkv
    lead, (s, e) = tuple(kv.shape[:-3]), tuple(kv.shape[-2:])
    expanded = kv.unsqueeze(-3).expand(*lead, hkv, group, s, e)
    return expanded.reshape(*lead, hkv * group, s, e)
