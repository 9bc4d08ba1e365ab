"""The course's protein-solubility CNN, written once for any torch-shaped library.

``build_model(lib)`` with ``lib = torch`` or ``lib = minigrad`` builds the same network from that
library's layers. The class body below is the only definition, so the two twins cannot drift apart:

    tokens (N, L) -> Embedding 21x64 (padding_idx 0) -> transpose -> (N, 64, L)
    -> Conv1d 64->128, k5, p2 -> ReLU -> Dropout 0.3
    -> Conv1d 128->128, k5, p2 -> ReLU
    -> masked global mean over L -> (N, 128) -> Linear 128->2 -> logits

Padding leak (faithful to the course, ``mask_after_conv=False``): an embedding of padding is zero,
but conv1 adds its bias, so after ReLU the padded positions hold ReLU(bias) instead of zero, and
conv2 (kernel 5) mixes those values into the last two real positions. A protein's prediction then
depends on how long its batch-mates are. ``mask_after_conv=True`` multiplies by the mask after each
conv's ReLU, which removes the leak: predictions no longer depend on the padding.

Dropout for lockstep runs: ``forward(..., dropout_mask=m)`` uses the given keep-mask ``m`` (0/1,
shape of conv1's output) instead of drawing one, so both libraries can drop the same units. minigrad
applies it with its dropout op (``F.dropout(x, p, mask=m)``); torch computes ``x * m * (1 / (1 - p))``.
"""

from __future__ import annotations

__all__ = ["build_model", "model_class", "is_torch", "apply_dropout_mask"]

_CLASSES = {}


def _name(lib) -> str:
    # under `python -m parity swap` a module named "torch" stands for minigrad; it says so
    return getattr(getattr(lib, "__minigrad_module__", lib), "__name__", "")


def is_torch(lib) -> bool:
    """True for the real PyTorch module, False for minigrad (also when minigrad is imported as torch)."""
    return _name(lib) == "torch"


def apply_dropout_mask(lib, x, keep_mask, p: float):
    """Inverted dropout with a given 0/1 ``keep_mask``: kept units are scaled by 1/(1-p)."""
    if is_torch(lib):
        return x * keep_mask * (1.0 / (1.0 - p))  # the same two roundings as minigrad's Dropout op
    return lib.nn.functional.dropout(x, p, training=True, mask=keep_mask)


def model_class(lib):
    """The model class built on ``lib.nn.Module`` (made once per library and cached)."""
    key = _name(lib) or str(id(lib))
    if key in _CLASSES:
        return _CLASSES[key]
    nn, F = lib.nn, lib.nn.functional

    class SolubilityCNN(nn.Module):
        """Embedding -> 2 x (Conv1d + ReLU) with dropout between -> masked mean pool -> Linear."""

        def __init__(
            self, vocab_size=21, embed_dim=64, hidden_dim=128, num_classes=2, dropout=0.3, mask_after_conv=False
        ):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
            self.conv1 = nn.Conv1d(embed_dim, hidden_dim, kernel_size=5, padding=2)
            self.conv2 = nn.Conv1d(hidden_dim, hidden_dim, kernel_size=5, padding=2)
            self.fc = nn.Linear(hidden_dim, num_classes)
            self.dropout = nn.Dropout(dropout)
            self.p = dropout
            self.mask_after_conv = mask_after_conv

        def forward(self, x, mask=None, dropout_mask=None):
            h = self.embedding(x).transpose(1, 2)  # (N, L) -> (N, E, L)
            m = None if mask is None else mask.unsqueeze(1)  # (N, 1, L)
            h = F.relu(self.conv1(h))  # (N, H, L)
            if self.mask_after_conv and m is not None:
                h = h * m
            if dropout_mask is not None and self.training:
                h = apply_dropout_mask(lib, h, dropout_mask, self.p)
            else:
                h = self.dropout(h)
            h = F.relu(self.conv2(h))
            if self.mask_after_conv and m is not None:
                h = h * m
            if m is None:
                h = h.mean(dim=2)
            else:
                h = (h * m).sum(dim=2) / m.sum(dim=2).clamp(min=1)
            return self.fc(h)  # (N, num_classes)

    SolubilityCNN.__qualname__ = f"SolubilityCNN[{key}]"
    _CLASSES[key] = SolubilityCNN
    return SolubilityCNN


def build_model(lib, *, dtype=None, device=None, mask_after_conv=False, **kwargs):
    """A fresh model from ``lib`` (weights drawn by ``lib``'s own initialisers and RNG)."""
    model = model_class(lib)(mask_after_conv=mask_after_conv, **kwargs)
    if dtype is not None:
        model = model.to(dtype)
    if device is not None:
        model = model.to(device)
    return model
