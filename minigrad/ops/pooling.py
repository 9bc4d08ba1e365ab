"""1-d pooling ops (stub until written)."""
__all__ = ["max_pool1d", "avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d"]


def max_pool1d(*args, **kwargs):
    raise NotImplementedError("max_pool1d is not written yet")


avg_pool1d = adaptive_avg_pool1d = adaptive_max_pool1d = max_pool1d
