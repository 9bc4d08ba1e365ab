"""minigrad: a small, readable autograd engine with PyTorch's interface, over NumPy and CuPy.

``import minigrad as torch`` is meant to work for the code of an introductory course:
tensors, autograd, ``nn``, ``optim`` and ``utils.data`` follow torch's names and semantics.
"""

from __future__ import annotations

from . import _malloc  # noqa: F401  (defines config.malloc_tuning, off unless MINIGRAD_MALLOC=tuned)
from . import autograd, backend, dtypes, ops  # noqa: F401
from .config import config  # noqa: F401
from ._legacy import CPU_TYPES as _TYPED_TENSORS
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .backend import Device as device  # noqa: F401
from .creation import *  # noqa: F401,F403
from .dtypes import (  # noqa: F401
    bool_ as bool,
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    set_default_dtype,
    uint8,
)
from .ops import *  # noqa: F401,F403
from .compute.fast.parallel import get_num_threads, set_num_threads  # noqa: F401
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state  # noqa: F401
from .serialization import load, save  # noqa: F401
from .tensor import Size, Tensor  # noqa: F401

from . import nn, optim, utils  # noqa: E402,F401  (after Tensor: they build on it)
from . import amp, backends, cuda, func, functional, linalg  # noqa: E402,F401
from .autograd import functional as _autograd_functional  # noqa: E402,F401  (minigrad.autograd.functional)
from .amp import autocast  # noqa: E402,F401

globals().update(_TYPED_TENSORS)  # FloatTensor, LongTensor, ... (old spellings tutorials use)

half = float16
float = float32  # noqa: A001  (torch.float is float32)
double = float64
long = int64
int = int32  # noqa: A001
short = int16

__version__ = "0.1.0"


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    return input.numel()
