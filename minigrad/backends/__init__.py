"""``minigrad.backends``: torch.backends' switches, so course code that sets them runs unchanged.

``cudnn.deterministic``, ``cudnn.benchmark`` and ``cudnn.enabled`` are plain settings: minigrad
does not use cuDNN (its convolutions are im2col + one matmul, the same on both devices), so
they change nothing. ``mps.is_available()`` is always False (no Apple-GPU backend).
"""
from __future__ import annotations

import types

cudnn = types.SimpleNamespace(deterministic=False, benchmark=False, enabled=True, allow_tf32=True,
                              is_available=lambda: False, version=lambda: None)
mps = types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False)
cuda = types.SimpleNamespace(
    matmul=types.SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True))

__all__ = ["cudnn", "mps", "cuda"]
