"""``minigrad.backends``: torch.backends' switches, so course code that sets them runs unchanged.

``cudnn.deterministic``, ``cudnn.benchmark`` and ``cudnn.enabled`` are plain settings: minigrad
does not use cuDNN (its convolutions are im2col + one matmul, the same on both devices), so
they change nothing. ``mps.is_available()`` is always False (no Apple-GPU backend). Both are
submodules, so ``import minigrad.backends.cudnn as cudnn`` works as with torch.
"""
from __future__ import annotations

from . import cuda, cudnn, mps  # noqa: F401

__all__ = ["cudnn", "mps", "cuda"]
