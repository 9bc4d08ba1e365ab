"""Per-op micro benchmarks, each written once for both libraries (``lib`` is torch or minigrad)."""

from __future__ import annotations

import numpy as np

from .cases import Case, tensor


def _rng(ctx):
    return np.random.default_rng(ctx.seed)


def _dispatch(lib, ctx):
    """20 small ops on 4x4 tensors, forward and backward: measures the per-op Python overhead."""
    rng = _rng(ctx)
    a = tensor(lib, rng.standard_normal((4, 4)).astype(np.float32), ctx, True)
    b = tensor(lib, rng.standard_normal((4, 4)).astype(np.float32), ctx, True)

    def fn(i):
        a.grad = b.grad = None
        x = a * b + a  # 2
        x = x - b / (b.abs() + 1.0)  # 4 (abs, add, div, sub)
        y = x.tanh() * a.sigmoid()  # 3
        y = y + x.relu() * 0.5  # 3
        z = (y * y + 1.0).sqrt()  # 3
        z = z.exp().log1p() - y  # 3
        loss = (z * a).mean()  # 2  -> 20 ops
        loss.backward()

    return fn


def _elementwise(lib, ctx):
    n = 1 << 14 if ctx.quick else 1 << 21
    rng = _rng(ctx)
    a = tensor(lib, rng.standard_normal(n).astype(np.float32), ctx, True)
    b = tensor(lib, rng.standard_normal(n).astype(np.float32), ctx, True)

    def fn(i):
        a.grad = b.grad = None
        y = ((a * b + a).relu() * b).sum()
        y.backward()

    return fn


def _matmul(lib, ctx):
    n = 32 if ctx.quick else 512
    rng = _rng(ctx)
    a = tensor(lib, rng.standard_normal((n, n)).astype(np.float32), ctx, True)
    b = tensor(lib, rng.standard_normal((n, n)).astype(np.float32), ctx, True)

    def fn(i):
        a.grad = b.grad = None
        (a @ b).sum().backward()

    return fn


def _conv_shapes(ctx):
    return (2, 8, 16, 40) if ctx.quick else (ctx.batch, 64, 128, 950)


def _conv_inputs(lib, ctx, grad):
    n, cin, cout, length = _conv_shapes(ctx)
    rng = _rng(ctx)
    x = tensor(lib, rng.standard_normal((n, cin, length)).astype(np.float32), ctx, grad)
    lib.manual_seed(ctx.seed)
    conv = lib.nn.Conv1d(cin, cout, 5, padding=2)
    if ctx.device != "cpu":
        conv = conv.to(ctx.device)
    return x, conv


def _conv_forward(lib, ctx):
    x, conv = _conv_inputs(lib, ctx, False)

    def fn(i):
        with lib.no_grad():
            conv(x)

    return fn


def _conv_backward(lib, ctx):
    x, conv = _conv_inputs(lib, ctx, True)

    def fn(i):
        x.grad = None
        conv.zero_grad()
        conv(x).sum().backward()

    return fn


def _as_im2col(make):
    """The same case with minigrad's convolutions forced to im2col (torch's side unchanged): the
    ratio against the default row shows what Winograd (minigrad.compute.fast.winograd) gains."""

    def wrapped(lib, ctx):
        fn = make(lib, ctx)
        if getattr(lib, "__name__", "") != "minigrad":
            return fn

        def run(i):
            with lib.backends.conv.use("im2col"):
                fn(i)

        return run

    return wrapped


def _emb_inputs(lib, ctx, grad):
    n, length = (2, 40) if ctx.quick else (ctx.batch, 950)
    rng = _rng(ctx)
    idx = tensor(lib, rng.integers(0, 21, (n, length)), ctx)
    lib.manual_seed(ctx.seed)
    emb = lib.nn.Embedding(21, 64, padding_idx=0)
    if ctx.device != "cpu":
        emb = emb.to(ctx.device)
    return idx, emb


def _emb_forward(lib, ctx):
    idx, emb = _emb_inputs(lib, ctx, False)

    def fn(i):
        with lib.no_grad():
            emb(idx)

    return fn


def _emb_backward(lib, ctx):
    idx, emb = _emb_inputs(lib, ctx, True)

    def fn(i):
        emb.zero_grad()
        emb(idx).sum().backward()

    return fn


def _cross_entropy(lib, ctx):
    n, c = (16, 5) if ctx.quick else (4096, 128)
    rng = _rng(ctx)
    x = tensor(lib, rng.standard_normal((n, c)).astype(np.float32), ctx, True)
    y = tensor(lib, rng.integers(0, c, n), ctx)

    def fn(i):
        x.grad = None
        lib.nn.functional.cross_entropy(x, y).backward()

    return fn


def _adam(lib, ctx):
    """One Adam step over the course CNN's parameters (about 125k numbers in 8 tensors)."""
    from solubility.model import build_model

    lib.manual_seed(ctx.seed)
    model = build_model(lib, device=None if ctx.device == "cpu" else ctx.device)
    params = list(model.parameters())
    rng = _rng(ctx)
    for p in params:
        p.grad = tensor(lib, rng.standard_normal(tuple(p.shape)).astype(np.float32), ctx)
    opt = lib.optim.Adam(params, lr=1e-3)

    def fn(i):
        opt.step()

    return fn


def cases(ctx) -> list:
    n, cin, cout, length = _conv_shapes(ctx)
    conv = f"x ({n},{cin},{length}) -> {cout} ch, k5 p2"
    emb = "(2,40) into 21x64" if ctx.quick else f"({ctx.batch},950) into 21x64, padding_idx 0"
    return [
        Case("micro", "dispatch: 20 ops fwd+bwd", "4x4 float32, timed 50 calls at a time", _dispatch, inner=50),
        Case("micro", "elementwise chain fwd+bwd", "2^14" if ctx.quick else "2^21 float32", _elementwise),
        Case("micro", "matmul fwd+bwd", "32x32" if ctx.quick else "512x512 float32", _matmul),
        Case("micro", "conv1d forward (no_grad)", conv, _conv_forward),
        Case("micro", "conv1d fwd+bwd", conv, _conv_backward),
        Case("micro", "conv1d forward, minigrad im2col", conv, _as_im2col(_conv_forward)),
        Case("micro", "conv1d fwd+bwd, minigrad im2col", conv, _as_im2col(_conv_backward)),
        Case("micro", "embedding forward (no_grad)", emb, _emb_forward),
        Case("micro", "embedding fwd+bwd", emb, _emb_backward),
        Case("micro", "cross_entropy fwd+bwd", "(16,5)" if ctx.quick else "(4096,128)", _cross_entropy),
        Case("micro", "Adam step (CNN params)", "~125k params, 8 tensors", _adam),
    ]


# ----------------------------------------------------------------------------- the kernels on their own
def _kernel_case(build):
    """A case that runs only on minigrad: ``build(ctx)`` returns ``fn(i)`` calling a fast-backend kernel.

    The minigrad column then shows the compiled kernel and minigrad[numpy] its NumPy reference.
    """

    def make(lib, ctx):
        if getattr(lib, "__name__", "") != "minigrad" or ctx.device != "cpu":
            return None
        return build(ctx)

    return make


def _k_sizes(ctx):
    return (2, 8, 40) if ctx.quick else (ctx.batch, 128, 950)


def _k_embedding(ctx):
    from minigrad.compute.fast import kernels

    n, _, length = _k_sizes(ctx)
    rng = _rng(ctx)
    idx = rng.integers(0, 21, n * length)
    g = rng.standard_normal((n * length, 64)).astype(np.float32)
    return lambda i: kernels.embedding_backward(idx, g, 21, 0)


def _k_relu(ctx):
    from minigrad.compute.fast import kernels

    rng = _rng(ctx)
    g = rng.standard_normal(_k_sizes(ctx)).astype(np.float32)
    out = np.maximum(rng.standard_normal(g.shape).astype(np.float32), 0)
    return lambda i: kernels.relu_backward(g, out)


def _k_pool(ctx):
    from minigrad.compute.fast import kernels

    n, c, length = _k_sizes(ctx)
    rng = _rng(ctx)
    g = rng.standard_normal((n, c)).astype(np.float32)
    w = np.full((n, length), 1.0 / length, np.float32)
    out = np.maximum(rng.standard_normal((n, c, length)).astype(np.float32), 0)
    return lambda i: kernels.masked_pool_backward(g, w, out)


def _k_adam(ctx):
    from minigrad.compute.fast import kernels

    rng = _rng(ctx)
    size = 1000 if ctx.quick else 125_000
    p, g = rng.standard_normal(size).astype(np.float32), rng.standard_normal(size).astype(np.float32)
    m, v = np.zeros_like(p), np.zeros_like(p)
    return lambda i: kernels.adam_update(p, g, m, v, step=i + 1, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)


def _k_col2im(ctx):
    from minigrad.compute.fast import kernels

    n, c, length = _k_sizes(ctx)
    cols = _rng(ctx).standard_normal((n, length, 5, c)).astype(np.float32)
    return lambda i: kernels.col2im(cols, length + 4)


def _winograd_block(ctx):
    """One Winograd block of the course's second convolution: a sample's 128 channels, 5 taps."""
    from minigrad.compute.fast import winograd

    _, c, length = _k_sizes(ctx)
    m = winograd.tile(5)
    tiles = -(-length // m)
    at, _, bt = (t.astype(np.float32) for t in winograd.matrices(m, 5))
    return c, length, m, tiles, at, bt


def _k_winograd_input(ctx):
    from minigrad.compute.fast import kernels

    c, length, m, tiles, _, bt = _winograd_block(ctx)
    x = _rng(ctx).standard_normal((1, length, c)).astype(np.float32)
    v = np.empty((bt.shape[0], 1, tiles, c), np.float32)
    return lambda i: kernels.winograd_input(x, bt, m, -2, v)


def _k_winograd_output(ctx):
    from minigrad.compute.fast import kernels

    c, length, m, tiles, at, _ = _winograd_block(ctx)
    prods = _rng(ctx).standard_normal((at.shape[1], 1, tiles, c)).astype(np.float32)
    bias, out = np.zeros(c, np.float32), np.empty((1, length, c), np.float32)
    return lambda i: kernels.winograd_output(prods, at, bias, out)


def kernel_cases(ctx) -> list:
    n, c, length = _k_sizes(ctx)
    act = f"({n},{c},{length}) float32"
    return [
        Case(
            "kernel", "embedding_backward (scatter-add)", f"{n * length} rows of 64 into 21", _kernel_case(_k_embedding)
        ),
        Case("kernel", "relu_backward", act, _kernel_case(_k_relu)),
        Case("kernel", "masked_pool_backward + ReLU", act, _kernel_case(_k_pool)),
        Case("kernel", "adam_update", "1000" if ctx.quick else "125k float32", _kernel_case(_k_adam)),
        Case(
            "kernel",
            "col2im (conv1d backward)",
            f"({n},{length},5,{c}) -> ({n},{length + 4},{c})",
            _kernel_case(_k_col2im),
        ),
        Case(
            "kernel",
            "winograd_input (one sample)",
            f"({length},{c}) -> (8,{-(-length // 4)},{c})",
            _kernel_case(_k_winograd_input),
        ),
        Case(
            "kernel",
            "winograd_output (one sample)",
            f"(8,{-(-length // 4)},{c}) -> ({length},{c})",
            _kernel_case(_k_winograd_output),
        ),
    ]
