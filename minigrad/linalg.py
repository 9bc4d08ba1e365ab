"""``minigrad.linalg``: torch.linalg's functions (being written: issue 16)."""

from __future__ import annotations

__all__: list = []
