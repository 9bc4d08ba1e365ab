"""``minigrad.backends.cuda``: settings accepted for torch compatibility (CuPy decides its own matmul precision)."""

import types

matmul = types.SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True)


def is_built() -> bool:
    """True when CuPy can be imported (whether or not a GPU is present)."""
    import importlib.util

    return importlib.util.find_spec("cupy") is not None
