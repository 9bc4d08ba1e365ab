"""``minigrad.backends``: torch.backends' switches, so course code that sets them runs unchanged.

``cudnn.deterministic``, ``cudnn.benchmark`` and ``cudnn.enabled`` are plain settings: minigrad
does not use cuDNN, so they change nothing. ``mps.is_available()`` is always False (no Apple-GPU
backend). They are submodules, so ``import minigrad.backends.cudnn as cudnn`` works as with torch.
``conv.algorithm`` is minigrad's own switch: the algorithm of its CPU convolutions (Winograd or
im2col; see :mod:`minigrad.backends.conv`).
"""

from __future__ import annotations

from . import conv, cuda, cudnn, mps  # noqa: F401

__all__ = ["conv", "cudnn", "mps", "cuda"]
