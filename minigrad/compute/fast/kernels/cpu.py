"""CPU kernels: each compiled numba loop sits beside the plain-NumPy reference it must agree with.

Why compiled loops at all? NumPy is fast when one call does a lot of work on whole arrays. It is
slow when the natural algorithm is a loop with data-dependent writes (a scatter-add with repeated
indices) or when a chain of small element-wise steps makes NumPy walk the same large array several
times, allocating a temporary each time (ReLU's backward ``grad * (out > 0)`` makes a boolean array
and then a product; Adam's update walks the parameters about ten times). A numba loop does the
whole thing in one pass with no temporaries.

Every ``*_numba`` function here has a ``*_numpy`` twin with the same signature and meaning; the
dispatcher in :mod:`minigrad.compute.fast.kernels` picks one (``MINIGRAD_KERNELS=numba|numpy`` or
``minigrad.compute.fast.kernels.set_backend``) and ``tests/test_kernels.py`` checks that both agree.

All functions take and return NumPy arrays (never Tensors). ``cache=True`` stores the compiled
machine code next to this file, so only the very first run on a machine pays the compile time.
"""

from __future__ import annotations

import math

import numpy as np

from .. import parallel

try:
    import numba

    HAVE_NUMBA = True
except ImportError:  # numba is optional: every kernel has a NumPy path
    numba = None
    HAVE_NUMBA = False


def _njit(**options):
    """``numba.njit(cache=True, ...)`` when numba is installed; otherwise leave the function uncompiled."""

    def deco(fn):
        if not HAVE_NUMBA:
            return fn
        # error_model="numpy": division by zero gives inf/nan as in NumPy instead of raising, which also
        # lets LLVM vectorise loops that divide
        return numba.njit(cache=True, nogil=True, error_model="numpy", **options)(fn)

    return deco


def _flat_pass(loop, out, *arrays):
    """``loop(*flat inputs, flat out)`` over C-contiguous arrays of one shape, a chunk per thread when long
    (:mod:`minigrad.compute.fast.parallel`)."""
    flats = [a.reshape(-1) for a in arrays] + [out.reshape(-1)]
    if parallel.worth_it(out.size):
        parallel.rows(lambda i, j: loop(*[f[i:j] for f in flats]), out.size)
    else:
        loop(*flats)
    return out


# ----------------------------------------------------------------------------- embedding backward
def embedding_backward_numpy(indices, grad2d, num_embeddings, padding_idx=-1):
    """``out[indices[i]] += grad2d[i]`` for every row ``i`` (repeats summed); row ``padding_idx`` stays 0.

    ``indices``: 1-D integers, length M; ``grad2d``: (M, D). ``padding_idx=-1`` means none.
    The reference uses ``np.add.at``, the unbuffered scatter-add that, unlike ``out[idx] += g``,
    adds every repeated index.
    """
    out = np.zeros((num_embeddings, grad2d.shape[1]), dtype=grad2d.dtype)
    np.add.at(out, indices, grad2d)
    if padding_idx >= 0:
        out[padding_idx] = 0
    return out


@_njit()
def _embedding_backward_loop(indices, grad2d, out, padding_idx):
    m, d = grad2d.shape
    for i in range(m):
        row = indices[i]
        if row == padding_idx:
            continue
        for j in range(d):
            out[row, j] += grad2d[i, j]


def embedding_backward_numba(indices, grad2d, num_embeddings, padding_idx=-1):
    """Same as :func:`embedding_backward_numpy`, as one compiled loop over the rows."""
    out = np.zeros((num_embeddings, grad2d.shape[1]), dtype=grad2d.dtype)
    _embedding_backward_loop(indices, grad2d, out, padding_idx)
    return out


# ----------------------------------------------------------------------------- ReLU backward
def relu_forward_numpy(x):
    """``max(x, 0)``; NaN stays NaN (NumPy's maximum propagates it)."""
    return np.maximum(x, x.dtype.type(0))


@_njit()
def _relu_forward_loop(x, out):
    for i in range(x.shape[0]):
        v = x[i]
        out[i] = v if v > 0 or v != v else 0  # v != v: NaN passes through


def relu_forward_numba(x):
    """Same as :func:`relu_forward_numpy` in one compiled pass (``x`` contiguous); NumPy's maximum
    spends extra work on its NaN handling and is about 1.6x slower here."""
    return _flat_pass(_relu_forward_loop, np.empty(x.shape, dtype=x.dtype), x)


def relu_backward_numpy(grad, out):
    """Gradient of ReLU from its *output*: 0 where ``out <= 0``, else ``grad`` (torch's threshold_backward).

    A NaN output passes its gradient (NaN <= 0 is False); a NaN or infinite gradient at a zeroed unit
    gives 0, not NaN, because the value is selected rather than multiplied by 0.
    """
    return np.where(out <= 0, grad.dtype.type(0), grad)


@_njit()
def _relu_backward_loop(grad, out, res):
    for i in range(res.shape[0]):
        res[i] = 0 if out[i] <= 0 else grad[i]


def relu_backward_numba(grad, out):
    """Same as :func:`relu_backward_numpy` in one pass (``grad`` and ``out`` contiguous, same shape)."""
    return _flat_pass(_relu_backward_loop, np.empty(out.shape, dtype=np.result_type(grad.dtype, out.dtype)), grad, out)


# ----------------------------------------------------------------------------- masked mean pooling
# x: (N, C, L) features; w: (N, L) weights, the mask divided by the number of real positions of
# each sequence, so that out[n, c] = sum_l x[n, c, l] * w[n, l] is the mean over real positions.
def masked_pool_forward_numpy(x, w):
    """``out[n, c] = sum_l x[n, c, l] * w[n, l]``: a batch of matrix-vector products."""
    return np.matmul(x, w[:, :, None])[:, :, 0]


def masked_pool_backward_numpy(grad, w, relu_out=None):
    """Gradient of :func:`masked_pool_forward_numpy` w.r.t. ``x``: ``grad[n, c] * w[n, l]``.

    With ``relu_out`` (the output of the ReLU that fed the pool), also applies that ReLU's backward,
    so one pass replaces two.
    """
    gx = grad[:, :, None] * w[:, None, :]
    if relu_out is not None:
        gx *= relu_out > 0
    return gx


@_njit()
def _masked_pool_backward_loop(grad, w, out):
    n_, c_, l_ = out.shape
    for n in range(n_):
        for c in range(c_):
            g = grad[n, c]
            for j in range(l_):
                out[n, c, j] = g * w[n, j]


@_njit()
def _masked_pool_relu_backward_loop(grad, w, relu_out, out):
    n_, c_, l_ = out.shape
    for n in range(n_):
        for c in range(c_):
            g = grad[n, c]
            for j in range(l_):
                out[n, c, j] = g * w[n, j] if relu_out[n, c, j] > 0 else 0


def masked_pool_backward_numba(grad, w, relu_out=None):
    """Same as :func:`masked_pool_backward_numpy`, one pass over the (N, C, L) result."""
    dtype = np.result_type(grad.dtype, w.dtype)
    out = np.empty((grad.shape[0], grad.shape[1], w.shape[1]), dtype=dtype)
    if relu_out is None:
        _masked_pool_backward_loop(grad, w, out)
    else:
        _masked_pool_relu_backward_loop(grad, w, relu_out, out)
    return out


# ----------------------------------------------------------------------------- Adam / AdamW
def adam_update_numpy(
    param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay, decoupled, maximize
):
    """One Adam (``decoupled=False``) or AdamW (``decoupled=True``) step, in place, as torch writes it.

    ``step`` counts from 1. ``max_exp_avg_sq`` is the AMSGrad running maximum, or None.
    The update, in torch's order: ``g = -grad`` if maximize; Adam adds ``weight_decay * param`` to
    ``g``, AdamW instead shrinks ``param *= 1 - lr * weight_decay``; ``m += (1 - beta1) (g - m)``,
    ``v = beta2 v + (1 - beta2) g^2``; ``param -= lr / (1 - beta1^t) * m / (sqrt(v / (1 - beta2^t)) + eps)``.
    """
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * param
    w = 1 - beta1
    if w < 0.5:  # torch's lerp uses whichever of its two algebraically equal forms is better conditioned
        exp_avg += w * (g - exp_avg)
    else:
        exp_avg[...] = g - (g - exp_avg) * beta1
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * (g * g)
    v = exp_avg_sq
    if max_exp_avg_sq is not None:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    step_size = lr / (1 - beta1**step)
    bc2_sqrt = math.sqrt(1 - beta2**step)
    denom = np.sqrt(v) / bc2_sqrt
    denom += eps
    param -= step_size * (exp_avg / denom)


@_njit()
def _adam_loop(
    param, grad, exp_avg, exp_avg_sq, lerp_low, beta1, c1, beta2, c2, step_size, inv_bc2_sqrt, eps, decay, shrink, sign
):
    for i in range(param.shape[0]):
        p = param[i]
        g = sign * grad[i] + decay * p
        m = exp_avg[i] + c1 * (g - exp_avg[i]) if lerp_low else g - (g - exp_avg[i]) * beta1
        v = beta2 * exp_avg_sq[i] + c2 * g * g
        exp_avg[i] = m
        exp_avg_sq[i] = v
        param[i] = p * shrink - step_size * m / (math.sqrt(v) * inv_bc2_sqrt + eps)


@_njit()
def _amsgrad_loop(
    param,
    grad,
    exp_avg,
    exp_avg_sq,
    max_exp_avg_sq,
    lerp_low,
    beta1,
    c1,
    beta2,
    c2,
    step_size,
    inv_bc2_sqrt,
    eps,
    decay,
    shrink,
    sign,
):
    for i in range(param.shape[0]):
        p = param[i]
        g = sign * grad[i] + decay * p
        m = exp_avg[i] + c1 * (g - exp_avg[i]) if lerp_low else g - (g - exp_avg[i]) * beta1
        v = beta2 * exp_avg_sq[i] + c2 * g * g
        exp_avg[i] = m
        exp_avg_sq[i] = v
        vmax = max(max_exp_avg_sq[i], v)
        max_exp_avg_sq[i] = vmax
        param[i] = p * shrink - step_size * m / (math.sqrt(vmax) * inv_bc2_sqrt + eps)


def adam_update_numba(
    param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay, decoupled, maximize
):
    """Same as :func:`adam_update_numpy` in one pass (all arrays contiguous, same shape and dtype).

    The scalars are converted to the parameters' dtype first, so float32 parameters are updated in
    float32 arithmetic (as torch does) and the loop vectorises.
    """
    s = param.dtype.type
    decay = 0.0 if decoupled else weight_decay
    shrink = 1.0 - lr * weight_decay if decoupled else 1.0
    consts = (
        bool(1 - beta1 < 0.5),
        s(beta1),
        s(1 - beta1),
        s(beta2),
        s(1 - beta2),
        s(lr / (1 - beta1**step)),
        s(1 / math.sqrt(1 - beta2**step)),
        s(eps),
        s(decay),
        s(shrink),
        s(-1.0 if maximize else 1.0),
    )
    flat = (param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1), exp_avg_sq.reshape(-1))
    if max_exp_avg_sq is None:
        _adam_loop(*flat, *consts)
    else:
        _amsgrad_loop(*flat, max_exp_avg_sq.reshape(-1), *consts)


# ----------------------------------------------------------------------------- col2im (Conv1d backward)
# Conv1d's im2col (see minigrad/ops/conv.py) copies, for every output position t and tap j, the input row
# xpad[n, t * stride + j * dilation, :] (channels last) into cols[n, t, j, :]. Its adjoint, col2im, adds
# every column back into the row it came from; rows shared by several (t, j) pairs receive the sum.
def _zeroed(out, shape, dtype):
    if out is None:
        return np.zeros(shape, dtype=dtype)
    out[...] = 0
    return out


def col2im_numpy(cols, padded_length, stride=1, dilation=1, out=None):
    """Fold columns ``cols`` (N, L_out, K, C) back into a zero-padded signal (N, padded_length, C), channels last.

    One strided slice-add per tap: within one tap the rows ``t * stride + j * dilation`` never repeat, so
    plain ``+=`` is exact; the K taps overlap each other, which the K separate adds handle. ``out``: an
    optional (N, padded_length, C) array to write into (it is zeroed first).
    """
    n, l_out, k, c = cols.shape
    out = _zeroed(out, (n, padded_length, c), cols.dtype)
    span = stride * (l_out - 1) + 1
    for j in range(k):
        out[:, j * dilation : j * dilation + span : stride] += cols[:, :, j, :]
    return out


@_njit()
def _col2im_loop(cols, out, stride, dilation):
    n_, l_out, k_, c_ = cols.shape
    for n in range(n_):
        for t in range(l_out):
            for j in range(k_):
                row = t * stride + j * dilation
                for c in range(c_):
                    out[n, row, c] += cols[n, t, j, c]


def col2im_numba(cols, padded_length, stride=1, dilation=1, out=None):
    """Same as :func:`col2im_numpy` in one pass over ``cols`` (the NumPy version walks the output K times)."""
    out = _zeroed(out, (cols.shape[0], padded_length, cols.shape[3]), cols.dtype)
    _col2im_loop(cols, out, stride, dilation)
    return out


# ----------------------------------------------------------------------------- Winograd transforms
def winograd_input_numpy(x, bt, m, row0, out):
    """Winograd's input transform of a block of signals ``x`` (b, rows, C), channels last, into ``out``
    (a, b, T, C): ``out[xi, n, t] = sum_i bt[xi, i] * x[n, row0 + t*m + i]`` for ``bt`` (a, w), so tile
    ``t`` reads the ``w`` rows from ``row0 + t*m``; a row outside ``0..rows`` reads as zero (the
    convolution's padding). ``bt`` has x's dtype. (The weight gradient also sends the output gradient
    through here, with Winograd's filter transform G, a x m, as ``bt``.)
    """
    a, b, n_tiles, c = out.shape
    if n_tiles == 0:
        return out
    width = bt.shape[1]
    rows = x.shape[1]
    span = (n_tiles - 1) * m + width
    padded = np.zeros((b, span, c), x.dtype)  # rows row0 .. row0 + span, zero outside the signal
    lo, hi = min(max(-row0, 0), span), min(max(rows - row0, 0), span)
    padded[:, lo:hi] = x[:, row0 + lo : row0 + hi]
    for xi in range(a):
        out[xi] = 0
        for i in range(width):
            if bt[xi, i] != 0:
                out[xi] += bt[xi, i] * padded[:, i : i + (n_tiles - 1) * m + 1 : m]
    return out


@_njit()
def _winograd_input_loop(x, bt, m, row0, out):
    a, b, n_tiles, c_ = out.shape
    width = bt.shape[1]
    rows = x.shape[1]
    for n in range(b):
        for t in range(n_tiles):
            first = row0 + t * m
            for xi in range(a):
                v = out[xi, n, t]
                for c in range(c_):
                    v[c] = 0
                for i in range(width):
                    coef = bt[xi, i]
                    if coef == 0 or first + i < 0 or first + i >= rows:
                        continue
                    src = x[n, first + i]
                    for c in range(c_):
                        v[c] += coef * src[c]


def winograd_input_numba(x, bt, m, row0, out):
    """Same as :func:`winograd_input_numpy` in one pass, reading each input row straight from ``x``."""
    _winograd_input_loop(x, bt, m, row0, out)
    return out


def winograd_output_numpy(prods, at, bias, out):
    """Winograd's output transform: ``out[n, t*m + o] = sum_xi at[o, xi] * prods[xi, n, t] (+ bias)`` for
    ``prods`` (a, b, T, C_out) and ``at`` (m, a), into ``out`` (b, ell, C_out) with ``ell <= T*m`` (the last
    tile may stick out past the signal's end). ``bias``: (C_out,) or None; it is added last.

    Returns True when every value written is finite. (The convolution then trusts the result; otherwise it
    recomputes with im2col, because Winograd's transforms mix a tile's inputs: one inf among them turns
    outputs that im2col leaves finite or inf into nan.)
    """
    m, a = at.shape
    _, b, n_tiles, c = prods.shape
    full = np.zeros((b, n_tiles, m, c), prods.dtype)
    for o in range(m):
        for xi in range(a):
            if at[o, xi] != 0:
                full[:, :, o] += at[o, xi] * prods[xi]
    if bias is not None:
        full += bias
    ell = out.shape[1]
    out[...] = full.reshape(b, n_tiles * m, c)[:, :ell]
    return bool(np.isfinite(out).all())


@_njit()
def _winograd_output_loop(prods, at, bias, has_bias, out):
    m, a = at.shape
    _, b, n_tiles, c_ = prods.shape
    ell = out.shape[1]
    check = np.zeros(c_, out.dtype)  # y - y is 0 for a finite y and nan otherwise; summed per channel
    for n in range(b):
        for t in range(n_tiles):
            for o in range(m):
                pos = t * m + o
                if pos >= ell:
                    break
                y = out[n, pos]
                for c in range(c_):
                    y[c] = 0
                for xi in range(a):
                    coef = at[o, xi]
                    if coef == 0:
                        continue
                    src = prods[xi, n, t]
                    for c in range(c_):
                        y[c] += coef * src[c]
                if has_bias:
                    for c in range(c_):
                        y[c] += bias[c]
                for c in range(c_):
                    check[c] += y[c] - y[c]
    for c in range(c_):  # noqa: SIM110  (numba compiles a loop, not a generator)
        if check[c] != 0:  # nan compares unequal to everything
            return False
    return True


def winograd_output_numba(prods, at, bias, out):
    """Same as :func:`winograd_output_numpy` in one pass, writing each output row once."""
    has_bias = bias is not None
    return _winograd_output_loop(prods, at, bias if has_bias else at[0], has_bias, out)  # at[0]: unused stand-in


NUMPY = {
    "relu_forward": relu_forward_numpy,
    "embedding_backward": embedding_backward_numpy,
    "relu_backward": relu_backward_numpy,
    "masked_pool_forward": masked_pool_forward_numpy,
    "masked_pool_backward": masked_pool_backward_numpy,
    "adam_update": adam_update_numpy,
    "col2im": col2im_numpy,
    "winograd_input": winograd_input_numpy,
    "winograd_output": winograd_output_numpy,
}
NUMBA = {
    "relu_forward": relu_forward_numba,
    "embedding_backward": embedding_backward_numba,
    "relu_backward": relu_backward_numba,
    # the forward is a batched matrix-vector product: BLAS beats a hand loop, and there is nothing to fuse
    "masked_pool_forward": masked_pool_forward_numpy,
    "masked_pool_backward": masked_pool_backward_numba,
    "adam_update": adam_update_numba,
    "col2im": col2im_numba,
    "winograd_input": winograd_input_numba,
    "winograd_output": winograd_output_numba,
}
