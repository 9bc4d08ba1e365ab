"""Compiled CPU kernels for the few hot spots NumPy handles badly, each with a plain-NumPy twin.

Which implementation runs is a switch:

* the environment variable ``MINIGRAD_KERNELS=numba`` (the default when numba is installed) or
  ``MINIGRAD_KERNELS=numpy`` (plain NumPy everywhere: easier to step through in a debugger);
* at run time, ``minigrad.config.kernels = "numpy"`` or, for a block,
  ``with minigrad.config.using(kernels="numpy"):``.

The functions below take raw arrays. They only handle NumPy arrays: for anything else (CuPy arrays
on a GPU) they return ``None`` and the calling op uses its own array-module code instead. Ops call them
like this, so minigrad works the same with or without numba, only slower::

    res = kernels.embedding_backward(indices, grad2d, num_embeddings, padding_idx)
    if res is None:
        res = <the op's own xp code>

numba compiles a kernel the first time it sees a new combination of argument types (about a second
each; with ``cache=True`` later processes load the machine code from disk). :func:`warmup` does that
up front and returns how long it took, so benchmarks can report it apart from their timings.
"""

from __future__ import annotations

import os
import time

import numpy as np

from .... import backend
from ....config import config
from . import cpu

__all__ = [
    "available",
    "get_backend",
    "set_backend",
    "use",
    "warmup",
    "BACKENDS",
    "embedding_backward",
    "relu_forward",
    "relu_backward",
    "masked_pool_forward",
    "masked_pool_backward",
    "adam_update",
    "col2im",
    "winograd_input",
    "winograd_output",
]

BACKENDS = ("numba", "numpy")


def available() -> bool:
    """True when numba is installed, so the ``"numba"`` backend can be chosen."""
    return cpu.HAVE_NUMBA


def _check(name: str) -> str:
    name = str(name).strip().lower()
    if name not in BACKENDS:
        raise ValueError(f"minigrad.compute.fast.kernels: unknown backend {name!r}; choose one of {BACKENDS}")
    if name == "numba" and not cpu.HAVE_NUMBA:
        raise RuntimeError(
            "minigrad.compute.fast.kernels: the 'numba' backend needs numba installed (pip install numba)"
        )
    return name


def _initial() -> str:
    env = os.environ.get("MINIGRAD_KERNELS", "").strip().lower()
    if env:
        if env not in BACKENDS:
            raise ValueError(f"MINIGRAD_KERNELS={env!r} is not one of {BACKENDS}")
        if env == "numba" and not cpu.HAVE_NUMBA:
            raise RuntimeError("MINIGRAD_KERNELS=numba but numba is not installed")
        return env
    return "numba" if cpu.HAVE_NUMBA else "numpy"


config.define("kernels", _initial(), _check)  # the setting lives in minigrad.config; _check refuses a missing numba


def get_backend() -> str:
    """The kernels in use: ``"numba"`` or ``"numpy"`` (``minigrad.config.kernels``)."""
    return config.kernels


def set_backend(name: str) -> str:
    """Choose ``"numba"`` or ``"numpy"`` for every kernel; returns the previous choice."""
    prev = config.kernels
    _check(name)  # this module's message for an unknown name
    config.kernels = name
    return prev


def use(name: str):
    """``with kernels.use("numpy"): ...``: ``minigrad.config.using(kernels="numpy")``."""
    _check(name)
    return config.using(kernels=name)


def _host(*arrays) -> bool:
    """True when every array is a plain NumPy array (not CuPy, not the fake GPU's arrays)."""
    return all(type(a) is np.ndarray for a in arrays)


def _contig(*arrays) -> bool:
    return all(a.flags.c_contiguous for a in arrays)


def _memory_order(*arrays):
    """The axis order in which every array is one dense C-contiguous block (identity for C-contiguous
    arrays, ``(0, 2, 1)`` for a channels-last ``(N, C, L)``), or None when they are laid out differently."""
    perm = backend.memory_order(arrays[0])
    if all(x.transpose(perm).flags.c_contiguous for x in arrays):
        return perm
    return None


# element-wise kernels on fewer elements than this take the NumPy twin: the dispatch to a compiled
# function (~10 us) would cost more than it saves
SMALL = 4096

_COMPILED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _pick(name: str, *float_arrays):
    """The implementation of kernel ``name`` for these arrays: the chosen backend's, except that dtypes
    numba does not compile (float16) always take the NumPy reference."""
    if config.kernels == "numba" and all(a.dtype in _COMPILED_DTYPES for a in float_arrays):
        return cpu.NUMBA[name]
    return cpu.NUMPY[name]


# ----------------------------------------------------------------------------- the kernels
def embedding_backward(indices, grad2d, num_embeddings: int, padding_idx=None):
    """Scatter-add for the embedding backward: rows of ``grad2d`` (M, D) summed into (num_embeddings, D).

    ``indices`` (M,) may repeat (that is the point: every repeat must be added); the row
    ``padding_idx`` (a non-negative int, or None) gets no gradient. Returns None for non-NumPy arrays.
    """
    if not _host(indices, grad2d) or grad2d.dtype.kind != "f" or indices.dtype.kind not in "iu":
        return None
    pad = -1 if padding_idx is None else int(padding_idx)
    return _pick("embedding_backward", grad2d)(indices, grad2d, int(num_embeddings), pad)


def _elementwise(name: str, *arrays):
    """Element-wise kernel ``name`` on same-shaped arrays, in their common memory order.

    Arrays laid out alike (all C-contiguous, or all channels-last like a convolution's output) go to the
    chosen backend as C-contiguous views of their memory, and the result is put back in that layout.
    Small arrays and mixed layouts take the NumPy twin.
    """
    perm = None if arrays[0].size < SMALL else _memory_order(*arrays)
    if perm is None:
        return cpu.NUMPY[name](*arrays)
    fn = _pick(name, arrays[0])
    if perm == tuple(range(arrays[0].ndim)):
        return fn(*arrays)
    return fn(*(a.transpose(perm) for a in arrays)).transpose(np.argsort(perm))


def relu_forward(x):
    """``max(x, 0)`` with NaN kept, in x's memory layout (a channels-last input gives a channels-last
    result). None for non-NumPy or non-float arrays."""
    if not _host(x) or x.dtype.kind != "f":
        return None
    return _elementwise("relu_forward", x)


def relu_backward(grad, out):
    """0 where ``out <= 0``, else ``grad``: ReLU's input gradient computed from its output, in the
    arrays' memory order (see :func:`_elementwise`). None if not applicable (non-NumPy arrays, shapes or
    dtypes that differ)."""
    if not _host(grad, out) or grad.shape != out.shape or grad.dtype != out.dtype:
        return None
    return _elementwise("relu_backward", grad, out)


def masked_pool_forward(x, w):
    """Weighted sum over the last axis: ``out[n, c] = sum_l x[n, c, l] * w[n, l]`` for x (N, C, L), w (N, L).

    With ``w = mask / mask.sum(-1, keepdims=True)`` this is the mean over the real (unpadded) positions.
    """
    if not _host(x, w) or x.ndim != 3 or w.shape != (x.shape[0], x.shape[2]):
        return None
    return _pick("masked_pool_forward", x, w)(x, w)


def masked_pool_backward(grad, w, relu_out=None):
    """Gradient of :func:`masked_pool_forward` w.r.t. ``x``: ``grad[n, c] * w[n, l]``, shape (N, C, L).

    If ``relu_out`` (N, C, L) is given, the gradient is also masked by ``relu_out > 0``: the backward of a
    ReLU feeding the pool, fused into the same pass.
    """
    arrays = (grad, w) if relu_out is None else (grad, w, relu_out)
    if not _host(*arrays) or grad.ndim != 2 or w.ndim != 2 or grad.shape[0] != w.shape[0]:
        return None
    if relu_out is not None and relu_out.shape != (grad.shape[0], grad.shape[1], w.shape[1]):
        return None
    return _pick("masked_pool_backward", *arrays)(grad, w, relu_out)


def adam_update(
    param,
    grad,
    exp_avg,
    exp_avg_sq,
    max_exp_avg_sq=None,
    *,
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float = 0.0,
    decoupled: bool = False,
    maximize: bool = False,
):
    """One Adam (``decoupled=False``) / AdamW (``decoupled=True``) update of ``param`` in place, torch's formula.

    Updates ``param``, ``exp_avg``, ``exp_avg_sq`` (and ``max_exp_avg_sq`` for AMSGrad) in place and
    returns True; returns None (doing nothing) when the arrays are not NumPy arrays of one float dtype and shape.
    """
    arrays = [param, grad, exp_avg, exp_avg_sq] + ([] if max_exp_avg_sq is None else [max_exp_avg_sq])
    if not _host(*arrays) or param.dtype.kind != "f":
        return None
    if any(a.shape != param.shape or a.dtype != param.dtype for a in arrays):
        return None
    fn = _pick("adam_update", *arrays) if _contig(*arrays) else cpu.adam_update_numpy
    fn(
        param,
        grad,
        exp_avg,
        exp_avg_sq,
        max_exp_avg_sq,
        int(step),
        float(lr),
        float(beta1),
        float(beta2),
        float(eps),
        float(weight_decay),
        bool(decoupled),
        bool(maximize),
    )
    return True


def col2im(cols, padded_length: int, stride: int = 1, dilation: int = 1, out=None):
    """Conv1d's col2im: fold columns (N, L_out, K, C) into a zero-padded (N, padded_length, C) signal.

    ``cols[n, t, j, :]`` is added to row ``t * stride + j * dilation`` of the result (channels last).
    ``out`` (optional): a C-contiguous (N, padded_length, C) array of cols' dtype to write the result into.
    Returns None for non-NumPy arrays.
    """
    if not _host(cols) or cols.ndim != 4 or cols.dtype.kind != "f":
        return None
    n, l_out, k, c = cols.shape
    if out is not None and (
        not _host(out) or out.shape != (n, padded_length, c) or out.dtype != cols.dtype or not out.flags.c_contiguous
    ):
        raise ValueError(f"col2im: out must be a contiguous {(n, padded_length, c)} array of {cols.dtype}")
    if l_out and (l_out - 1) * stride + (k - 1) * dilation >= padded_length:
        raise ValueError(
            f"col2im: columns of {l_out} positions x {k} taps (stride {stride}, dilation {dilation}) "
            f"do not fit in a signal of length {padded_length}"
        )
    return _pick("col2im", cols)(cols, int(padded_length), int(stride), int(dilation), out)


def winograd_input(x, bt, m: int, row0: int, out):
    """Winograd input transform of a block (see :mod:`minigrad.compute.fast.winograd`): ``x`` (b, rows, C) and
    ``out`` (a, b, T, C) C-contiguous of one float dtype, ``bt`` (a, w) of that dtype. Tile ``t`` reads
    rows ``row0 + t*m .. row0 + t*m + w`` of each signal, zeros outside it. None for non-NumPy arrays."""
    if not _host(x, bt, out):
        return None
    _check_block("winograd_input", x, bt, out)
    if out.shape[0] != bt.shape[0] or out.shape[1] != x.shape[0] or out.shape[3] != x.shape[2]:
        raise ValueError(f"winograd_input: out {out.shape} does not fit x {x.shape} and bt {bt.shape}")
    return _pick("winograd_input", x, out)(x, bt, int(m), int(row0), out)


def winograd_output(prods, at, bias, out):
    """Winograd output transform (see :mod:`minigrad.compute.fast.winograd`): ``prods`` (a, b, T, C_out) -> ``out``
    (b, ell, C_out), ``ell <= T * m`` for ``at`` (m, a); ``bias`` (C_out,) or None is added last. All
    C-contiguous, one float dtype. Returns True when every value written is finite, False otherwise;
    None for non-NumPy arrays."""
    if not _host(prods, at, out) or (bias is not None and not _host(bias)):
        return None
    _check_block("winograd_output", prods, at, out, *(() if bias is None else (bias,)))
    m, a = at.shape
    if (
        prods.shape[0] != a
        or out.shape[0] != prods.shape[1]
        or out.shape[2] != prods.shape[3]
        or out.shape[1] > prods.shape[2] * m
        or (bias is not None and bias.shape != (out.shape[2],))
    ):
        raise ValueError(
            f"winograd_output: shapes do not fit: prods {prods.shape}, at {at.shape}, out {out.shape}"
            f"{'' if bias is None else f', bias {bias.shape}'}"
        )
    return _pick("winograd_output", prods, out)(prods, at, bias, out)


def _check_block(name, *arrays):
    if any(a.dtype != arrays[0].dtype or not a.flags.c_contiguous for a in arrays) or arrays[0].dtype.kind != "f":
        raise ValueError(
            f"{name}: expected C-contiguous arrays of one float dtype, got "
            f"{[(str(a.dtype), a.flags.c_contiguous) for a in arrays]}"
        )


def warmup(dtypes=(np.float32, np.float64)) -> float:
    """Compile (or load from the cache) every numba kernel for ``dtypes``; returns the seconds it took."""
    if not cpu.HAVE_NUMBA:
        return 0.0
    t0 = time.perf_counter()
    idx = np.array([0, 1, 1], dtype=np.int64)
    for dt in dtypes:
        g = np.ones((3, 2), dtype=dt)
        cpu.embedding_backward_numba(idx, g, 2, -1)
        cpu.embedding_backward_numba(idx, np.ones((2, 3), dtype=dt).T, 2, -1)  # non-contiguous grads too
        a = np.ones((2, 3, 4), dtype=dt)
        cpu.relu_forward_numba(a)
        cpu.relu_backward_numba(a, a)
        w = np.ones((2, 4), dtype=dt)
        cpu.masked_pool_backward_numba(np.ones((2, 3), dtype=dt), w)
        cpu.masked_pool_backward_numba(np.ones((2, 3), dtype=dt), w, a)
        p = np.ones(4, dtype=dt)
        cpu.adam_update_numba(p, p.copy(), p.copy(), p.copy(), None, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0, False, False)
        cpu.adam_update_numba(p, p.copy(), p.copy(), p.copy(), p.copy(), 1, 1e-3, 0.9, 0.999, 1e-8, 0.0, True, False)
        cpu.col2im_numba(np.ones((1, 3, 2, 2), dtype=dt), 4, 1, 1)
        cpu.winograd_input_numba(
            np.ones((1, 3, 2), dtype=dt), np.ones((3, 3), dtype=dt), 1, -1, np.empty((3, 1, 2, 2), dtype=dt)
        )
        cpu.winograd_output_numba(
            np.ones((3, 1, 2, 2), dtype=dt), np.ones((1, 3), dtype=dt), None, np.empty((1, 2, 2), dtype=dt)
        )
        cpu.winograd_output_numba(
            np.ones((3, 1, 2, 2), dtype=dt),
            np.ones((1, 3), dtype=dt),
            np.ones(2, dtype=dt),
            np.empty((1, 2, 2), dtype=dt),
        )
    return time.perf_counter() - t0
