"""Data loading utilities (torch.utils)."""

from . import data  # noqa: F401
