"""``minigrad.functional``: the functions torch keeps in ``torch.functional`` (``import torch.functional``),
the same objects as at the top level."""

from __future__ import annotations

from . import ops as _ops
from .nn import functional as F  # noqa: F401  (torch.functional.F is torch.nn.functional)

# the names torch.functional has; those minigrad implements are the top-level functions
_TORCH_FUNCTIONAL = (
    "atleast_1d atleast_2d atleast_3d block_diag broadcast_shapes broadcast_tensors cartesian_prod cdist "
    "chain_matmul einsum meshgrid norm split tensordot unique unique_consecutive unravel_index"
).split()

__all__ = [name for name in _TORCH_FUNCTIONAL if hasattr(_ops, name)]
globals().update({name: getattr(_ops, name) for name in __all__})
