"""Answers to lessons/exercises/lesson01.py."""

from numpy.lib.stride_tricks import as_strided


def broadcast_shape(*shapes):
    """Pad every shape with leading 1s to the longest, then take, per position, the one size that is not 1."""
    ndim = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    out = []
    for d in range(ndim):
        size = 1
        for shape in padded:
            if shape[d] == 1:
                continue
            if size not in (1, shape[d]):
                raise RuntimeError(f"broadcast_shape: sizes {size} and {shape[d]} clash at dimension {d}")
            size = shape[d]
        out.append(size)
    return tuple(out)


def sliding_windows(a, size, step):
    """Two strides for the last axis: ``step`` elements between windows, one element inside a window."""
    length = a.shape[-1]
    if step <= 0:
        raise RuntimeError(f"sliding_windows: step must be positive, got {step}")
    if size > length:
        raise RuntimeError(f"sliding_windows: size {size} is larger than the last dimension ({length})")
    n = (length - size) // step + 1
    inner = a.strides[-1]
    return as_strided(a, a.shape[:-1] + (n, size), a.strides[:-1] + (step * inner, inner), writeable=False)
