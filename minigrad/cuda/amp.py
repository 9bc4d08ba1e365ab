"""``minigrad.cuda.amp``: the older spelling of :mod:`minigrad.amp` for CUDA (as torch.cuda.amp)."""

from __future__ import annotations

from .. import amp as _amp
from .. import dtypes as _dt


class autocast(_amp.autocast):
    """``minigrad.cuda.amp.autocast(...)`` is ``minigrad.autocast('cuda', ...)``."""

    def __init__(self, enabled: bool = True, dtype=_dt.float16, cache_enabled: bool = True):
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class GradScaler(_amp.GradScaler):
    """``minigrad.cuda.amp.GradScaler(...)`` is ``minigrad.amp.GradScaler('cuda', ...)``."""

    def __init__(self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000, enabled=True):
        super().__init__(
            "cuda",
            init_scale=init_scale,
            growth_factor=growth_factor,
            backoff_factor=backoff_factor,
            growth_interval=growth_interval,
            enabled=enabled,
        )


__all__ = ["autocast", "GradScaler"]
