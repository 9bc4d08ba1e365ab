"""(being written: issue 16)"""

from __future__ import annotations

from .registry import exports

__all__ = exports(__name__)
