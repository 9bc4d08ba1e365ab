"""``TransformerEncoderLayer`` (self-attention + feed-forward, each with a residual and a LayerNorm) and
``TransformerEncoder`` (a stack of deep copies of one layer). Submodule names are torch's (``self_attn``,
``linear1``, ``norm1``, ``layers.0`` ...), so state dicts load both ways.

``MultiheadAttention`` lives in ``attention.py``; it is re-exported here so that ``nn`` gets every
attention layer from one import.
"""

from __future__ import annotations

import copy
import warnings

from ... import amp, creation
from ...autograd import is_grad_enabled
from ...ops import gelu, relu
from .attention import MultiheadAttention, additive_mask
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder"]


class TransformerEncoderLayer(Module):
    """One encoder block. Post-norm (default): ``x = norm1(x + SA(x)); x = norm2(x + FF(x))``;
    ``norm_first``: ``x = x + SA(norm1(x)); x = x + FF(norm2(x))``. ``FF(x) = linear2(dropout(act(linear1(x))))``.
    ``activation``: ``"relu"``, ``"gelu"`` or any callable."""

    def __init__(
        self,
        d_model,
        nhead,
        dim_feedforward=2048,
        dropout=0.1,
        activation=relu,
        layer_norm_eps=1e-5,
        batch_first=False,
        norm_first=False,
        bias=True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **factory
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, str):
            if activation not in ("relu", "gelu"):
                raise RuntimeError(f"activation should be relu/gelu, not {activation}")
            activation = relu if activation == "relu" else gelu
        self.activation = activation

    @property
    def activation_relu_or_gelu(self) -> int:
        """1 for relu, 2 for gelu, 0 otherwise (torch's flag for its fused kernel)."""
        name = type(self.activation).__name__
        if self.activation is relu or name == "ReLU":
            return 1
        return 2 if self.activation is gelu or name == "GELU" else 0

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        src_key_padding_mask = additive_mask(
            src_key_padding_mask, "src_key_padding_mask", src.dtype, src_mask, "src_mask"
        )
        src_mask = additive_mask(src_mask, "src_mask", src.dtype)
        fused = self._torch_takes_fast_path(src)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal, fused)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal, fused))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal, fused=False):
        if fused:  # torch's fused layer kernel: same values, but NaN for a query with no key to attend
            x = self.self_attn._forward(x, x, x, key_padding_mask, False, attn_mask, True, is_causal, True)[0]
        else:
            x = self.self_attn(
                x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False, is_causal=is_causal
            )[0]
        return self.dropout1(x)

    def _torch_takes_fast_path(self, src) -> bool:
        """Whether torch would run its fused inference kernel for this layer (its conditions, in short)."""
        attn = self.self_attn
        if not (
            src.ndim == 3
            and not self.training
            and attn.batch_first
            and attn.in_proj_bias is not None
            and attn._qkv_same_embed_dim
            and self.activation_relu_or_gelu
            and self.norm1.eps == self.norm2.eps
            and attn.num_heads % 2 == 0
            and not amp.is_autocast_enabled()
        ):
            return False
        if any(m._forward_hooks or m._forward_pre_hooks for m in self.modules()):
            return False
        return not (is_grad_enabled() and (src.requires_grad or any(p.requires_grad for p in self.parameters())))

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoder(Module):
    """``num_layers`` deep copies of ``encoder_layer`` applied in turn, then ``norm`` if given.

    Like torch's inference fast path (eval mode, no gradient needed, batch-first post-norm relu/gelu layers
    with biases and an even head count, a left-aligned ``src_key_padding_mask`` and no ``mask``), the
    outputs at padded positions are zeros there (before ``norm``); elsewhere both paths agree.
    """

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers, self.norm = num_layers, norm
        self.enable_nested_tensor, self.mask_check = enable_nested_tensor, mask_check
        why_not = _why_no_fast_path(encoder_layer)
        if enable_nested_tensor and why_not:
            warnings.warn(
                f"enable_nested_tensor is True, but self.use_nested_tensor is False because {why_not}", stacklevel=2
            )
        self.use_nested_tensor = enable_nested_tensor and not why_not

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        src_key_padding_mask = additive_mask(src_key_padding_mask, "src_key_padding_mask", src.dtype, mask, "mask")
        mask = additive_mask(mask, "mask", src.dtype)
        zero_padded = self._zeroes_padded_positions(src, mask, src_key_padding_mask)
        seq_len = src.shape[0 if src.ndim == 2 or not self.layers[0].self_attn.batch_first else 1]
        is_causal = _detect_is_causal_mask(mask, is_causal, seq_len)
        out = src
        for layer in self.layers:
            out = layer(out, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=is_causal)
        if zero_padded:
            out = out.masked_fill((src_key_padding_mask != 0).unsqueeze(-1), 0.0)
        return self.norm(out) if self.norm is not None else out

    def _zeroes_padded_positions(self, src, mask, key_padding_mask) -> bool:
        """Whether torch would run its nested-tensor path, whose padded positions come out as zeros."""
        first = self.layers[0]
        if not (
            self.use_nested_tensor
            and not first.training
            and src.ndim == 3
            and key_padding_mask is not None
            and mask is None
            and not amp.is_autocast_enabled()
        ):
            return False
        params = list(first.parameters())
        if is_grad_enabled() and (src.requires_grad or any(p.requires_grad for p in params)):
            return False
        # the nested path needs each row's kept positions first, then only padding
        kept = (key_padding_mask == 0).to(src.dtype)
        return not self.mask_check or bool((kept[:, 1:] <= kept[:, :-1]).all())


def _why_no_fast_path(layer) -> str:
    """torch's reasons (in its order) for not building nested tensors from this layer; '' if none."""
    if not isinstance(layer, TransformerEncoderLayer):
        return "encoder_layer was not TransformerEncoderLayer"
    reasons = [
        (layer.norm_first, "encoder_layer.norm_first was True"),
        (
            not layer.self_attn.batch_first,
            "encoder_layer.self_attn.batch_first was not True(use batch_first for better inference performance)",
        ),
        (not layer.self_attn._qkv_same_embed_dim, "encoder_layer.self_attn._qkv_same_embed_dim was not True"),
        (layer.self_attn.in_proj_bias is None, "encoder_layer.self_attn was passed bias=False"),
        (not layer.activation_relu_or_gelu, "encoder_layer.activation_relu_or_gelu was not True"),
        (layer.norm1.eps != layer.norm2.eps, "encoder_layer.norm1.eps was not equal to encoder_layer.norm2.eps"),
        (layer.self_attn.num_heads % 2 == 1, "encoder_layer.self_attn.num_heads is odd"),
    ]
    return next((why for failed, why in reasons if failed), "")


def _detect_is_causal_mask(mask, is_causal, size) -> bool:
    """``is_causal`` if given; otherwise whether ``mask`` is exactly the square causal mask (-inf above the
    diagonal, 0 elsewhere) of ``size``."""
    if is_causal is not None or mask is None:
        return bool(is_causal)
    if tuple(mask.shape[-2:]) != (size, size) or mask.ndim != 2:
        return False
    rows = creation.arange(size, device=mask.device).unsqueeze(-1)
    cols = creation.arange(size, device=mask.device).unsqueeze(0)
    causal = creation.zeros((size, size), dtype=mask.dtype, device=mask.device).masked_fill(cols > rows, float("-inf"))
    return bool((mask == causal).all())
