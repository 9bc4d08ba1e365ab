"""``MultiheadAttention``: ``num_heads`` scaled dot-product attentions over slices of the embedding.

The inputs are projected (``in_proj_weight``, or ``q/k/v_proj_weight`` when key/value have other widths),
split into heads, attended with :func:`minigrad.nn._attention_functional.attention`, joined and projected
again (``out_proj``). Parameter names, shapes and initialisation are torch's, so state dicts load both ways.
"""

from __future__ import annotations

import warnings

from ... import amp, creation
from ...autograd import is_grad_enabled
from ...ops import cat, pad
from .. import init
from .._attention_functional import attention
from ..functional import linear
from ..parameter import Parameter
from .linear import Linear
from .module import Module

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """torch.nn.MultiheadAttention: ``forward(query, key, value)`` returns ``(output, weights or None)``.

    Shapes: ``(L, N, E)`` (``(N, L, E)`` with ``batch_first``) or unbatched ``(L, E)``. Masks follow torch:
    in ``attn_mask`` (``(L, S)`` or ``(N*num_heads, L, S)``) and ``key_padding_mask`` (``(N, S)``) a bool
    True means "do not attend"; a float mask is added to the scores. ``weights`` are averaged over heads
    unless ``average_attn_weights=False``.
    """

    def __init__(
        self,
        embed_dim,
        num_heads,
        dropout=0.0,
        bias=True,
        add_bias_kv=False,
        add_zero_attn=False,
        kdim=None,
        vdim=None,
        batch_first=False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                f"num_heads={num_heads} instead"
            )
        if embed_dim % num_heads != 0:
            raise AssertionError("embed_dim must be divisible by num_heads")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first, self.add_zero_attn = dropout, batch_first, add_zero_attn

        def param(*shape):
            return Parameter(creation.empty(shape, dtype=dtype, device=device))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = param(3 * embed_dim, embed_dim)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = param(embed_dim, embed_dim)
            self.k_proj_weight = param(embed_dim, self.kdim)
            self.v_proj_weight = param(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = param(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        if add_bias_kv:
            self.bias_k, self.bias_v = param(1, 1, embed_dim), param(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """torch's init: Xavier-uniform projections, zero biases, Xavier-normal ``bias_k``/``bias_v``."""
        for w in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if w is not None:
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        for b in (self.bias_k, self.bias_v):
            if b is not None:
                init.xavier_normal_(b)

    def forward(
        self,
        query,
        key,
        value,
        key_padding_mask=None,
        need_weights=True,
        attn_mask=None,
        average_attn_weights=True,
        is_causal=False,
    ):
        nan_for_empty_rows = self._torch_takes_fast_path(query, key, value, attn_mask, key_padding_mask)
        return self._forward(
            query,
            key,
            value,
            key_padding_mask,
            need_weights,
            attn_mask,
            average_attn_weights,
            is_causal,
            nan_for_empty_rows,
        )

    def _forward(
        self,
        query,
        key,
        value,
        key_padding_mask,
        need_weights,
        attn_mask,
        average_attn_weights,
        is_causal,
        nan_for_empty_rows,
    ):
        """``forward``; ``nan_for_empty_rows``: a query with no key to attend gives NaN (torch's fused
        kernels) rather than zeros (its differentiable path) when the weights are not asked for."""
        is_batched = _check_shapes(query, key, value, key_padding_mask, attn_mask, self.num_heads)
        key_padding_mask = additive_mask(key_padding_mask, "key_padding_mask", query.dtype, attn_mask, "attn_mask")
        attn_mask = additive_mask(attn_mask, "attn_mask", query.dtype)
        self_attention = query is key and key is value
        if self.batch_first and is_batched:
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        if not is_batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        out, weights = self._attend(
            query,
            key,
            value,
            key_padding_mask,
            need_weights,
            attn_mask,
            average_attn_weights,
            is_causal,
            self_attention,
            nan_for_empty_rows,
        )
        if not is_batched:
            return out.squeeze(1), (weights.squeeze(0) if weights is not None else None)
        if self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    # ------------------------------------------------------------------ the computation, sequence-first
    def _attend(
        self,
        query,
        key,
        value,
        key_padding_mask,
        need_weights,
        attn_mask,
        average_attn_weights,
        is_causal,
        self_attention,
        nan_for_empty_rows,
    ):
        """``query (L, N, E)``, ``key``/``value`` ``(S, N, kdim/vdim)``, float masks -> ``(L, N, E)``, weights."""
        L, N, E = query.shape
        H, hd = self.num_heads, self.head_dim
        if self.embed_dim != E:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, but got {E}")
        if is_causal and attn_mask is None:
            raise RuntimeError(
                "Need attn_mask if specifying the is_causal hint. You may use the Transformer "
                "module method `generate_square_subsequent_mask` to create this mask."
            )
        # torch treats is_causal as a hint: the causal kernel replaces attn_mask only on its weight-free path
        use_causal = is_causal and key_padding_mask is None and not need_weights
        if use_causal:
            attn_mask = None
        q, k, v = self._project(query, key, value, self_attention)
        attn_mask = _check_attn_mask(attn_mask, L, key.shape[0], N * H)
        if self.bias_k is not None and self.bias_v is not None:
            k = cat([k, self.bias_k.expand(1, N, E)])
            v = cat([v, self.bias_v.expand(1, N, E)])
            attn_mask, key_padding_mask = _one_more_key(attn_mask), _one_more_key(key_padding_mask)
        q, k, v = (x.reshape(x.shape[0], N * H, hd).transpose(0, 1) for x in (q, k, v))  # (N*H, len, hd)
        if self.add_zero_attn:
            zeros = creation.zeros((N * H, 1, hd), dtype=k.dtype, device=k.device)
            k, v = cat([k, zeros], dim=1), cat([v, zeros], dim=1)
            attn_mask, key_padding_mask = _one_more_key(attn_mask), _one_more_key(key_padding_mask)
        S = k.shape[1]
        if key_padding_mask is not None:
            for dim, size in enumerate((N, S)):
                if key_padding_mask.shape[dim] != size:
                    raise AssertionError(
                        f"Expected key_padded_mask.shape[{dim}] to be {size}, but got {key_padding_mask.shape[dim]}"
                    )
            per_head = key_padding_mask.reshape(N, 1, 1, S).expand(N, H, 1, S).reshape(N * H, 1, S)
            attn_mask = per_head if attn_mask is None else attn_mask + per_head
        dropout_p = self.dropout if self.training else 0.0
        # heads as a separate axis: (N, H, len, hd), so a (1, L, S) mask broadcasts over both
        q, k, v = (x.reshape(N, H, x.shape[1], hd) for x in (q, k, v))
        if attn_mask is not None:
            attn_mask = attn_mask.reshape(N, H, -1, S) if attn_mask.shape[0] != 1 else attn_mask.unsqueeze(0)
        # explicit weights use a plain softmax (NaN for a query with no key); the weight-free path gives zeros
        empty_rows_give_zero = not need_weights and not nan_for_empty_rows
        out, weights = attention(q, k, v, attn_mask, dropout_p, use_causal, empty_rows_give_zero=empty_rows_give_zero)
        out = out.permute(2, 0, 1, 3).reshape(L, N, E)
        out = linear(out, self.out_proj.weight, self.out_proj.bias)
        if not need_weights:
            return out, None
        return out, (weights.mean(dim=1) if average_attn_weights else weights)

    def _project(self, query, key, value, self_attention):
        """The q, k, v input projections (one matmul for self-attention with the packed weight)."""
        b_q = b_k = b_v = None
        if self.in_proj_bias is not None:
            b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        if not self._qkv_same_embed_dim:
            return (
                linear(query, self.q_proj_weight, b_q),
                linear(key, self.k_proj_weight, b_k),
                linear(value, self.v_proj_weight, b_v),
            )
        if key.shape != value.shape:
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}")
        if self_attention:
            return linear(query, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        return linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)

    def _torch_takes_fast_path(self, query, key, value, attn_mask, key_padding_mask) -> bool:
        """Whether torch would run its fused inference kernel here. Its only visible difference: a query
        whose keys are all masked gives NaN there even with ``need_weights=False`` (zeros otherwise)."""
        masks_float = any(m is not None and m.dtype.is_floating_point for m in (attn_mask, key_padding_mask))
        params = (self.in_proj_weight, self.in_proj_bias, self.out_proj.weight, self.out_proj.bias)
        needs_grad = is_grad_enabled() and any(t is not None and t.requires_grad for t in (query,) + params)
        return (
            not masks_float
            and query.ndim == 3
            and query is key
            and key is value
            and not self.training
            and self.num_heads % 2 == 0
            and self.batch_first
            and self.bias_k is None
            and not self.add_zero_attn
            and self._qkv_same_embed_dim
            and self.in_proj_bias is not None
            and query.dtype == self.in_proj_weight.dtype
            and not amp.is_autocast_enabled()
            and not needs_grad
        )

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"


# ---------------------------------------------------------------------- masks
def additive_mask(mask, name, dtype, other=None, other_name=""):
    """A bool mask (True = masked out) as a float mask of ``dtype`` (-inf / 0); a float mask as it is."""
    if mask is None:
        return None
    is_bool = mask.array.dtype.kind == "b"
    if not is_bool and not mask.dtype.is_floating_point:
        raise AssertionError(f"only bool and floating types of {name} are supported")
    if other is not None and other.dtype != mask.dtype:
        warnings.warn(
            f"Support for mismatched {name} and {other_name} is deprecated. Use same type for both instead.",
            stacklevel=3,
        )
    if not is_bool:
        return mask
    return creation.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, float("-inf"))


def _check_attn_mask(attn_mask, L, S, batch_heads):
    """A 2-D ``(L, S)`` mask becomes ``(1, L, S)``; a 3-D one must be ``(N*num_heads, L, S)``."""
    if attn_mask is None:
        return None
    if attn_mask.ndim == 2:
        if tuple(attn_mask.shape) != (L, S):
            raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but should be {(L, S)}.")
        return attn_mask.unsqueeze(0)
    if attn_mask.ndim == 3:
        if tuple(attn_mask.shape) != (batch_heads, L, S):
            raise RuntimeError(
                f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but should be {(batch_heads, L, S)}."
            )
        return attn_mask
    raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")


def _one_more_key(mask):
    """A float mask with a zero column appended: the extra key (``bias_k`` or the zero key) is visible."""
    return None if mask is None else pad(mask, (0, 1))


def _check_shapes(query, key, value, key_padding_mask, attn_mask, num_heads) -> bool:
    """torch's shape rules; returns whether the input is batched (3-D query)."""
    if query.ndim not in (2, 3):
        raise AssertionError(
            f"query should be unbatched 2D or batched 3D tensor but received {query.ndim}-D query tensor"
        )
    batched = query.ndim == 3
    kind = "batched (3-D)" if batched else "unbatched (2-D)"
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise AssertionError(
            f"For {kind} `query`, expected `key` and `value` to be {query.ndim}-D but found "
            f"{key.ndim}-D and {value.ndim}-D tensors respectively"
        )
    if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
        raise AssertionError(
            f"For {kind} `query`, expected `key_padding_mask` to be `None` or "
            f"{query.ndim - 1}-D but found {key_padding_mask.ndim}-D tensor instead"
        )
    if attn_mask is not None:
        if attn_mask.ndim not in (2, 3):
            raise AssertionError(
                f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                f"{attn_mask.ndim}-D tensor instead"
            )
        expected = (num_heads, query.shape[0], key.shape[0])
        if not batched and attn_mask.ndim == 3 and tuple(attn_mask.shape) != expected:
            raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got {tuple(attn_mask.shape)}")
    return batched
