"""Fast 1-d convolution: im2col + matrix products a cache-sized block of the batch at a time, on threads.

The reference (:mod:`minigrad.compute.reference.conv`) builds the im2col columns of the whole batch and
does one matrix product. That is the math, but the columns are K times larger than the input (144 MB for
the course CNN's second layer at batch 64), written to and read back from main memory. Here instead
(one group shown) the work is *channels last*, where a row is one position::

    xT[n]  = x[n].T, zero-padded               (Lp, C)      rows are positions
    cols[n, l, k, :] = xT[n, l*stride + k*dilation, :]   (L_out, K*C)  one receptive field per row
    out[n] = cols[n] @ W'                      (L_out, C_out)     W' = weight as (K*C, C_out)

and the batch is cut into blocks whose columns fit in the CPU cache (about 2 MB: a sample or a few; a
very long sample is cut along its length); each block does its copy and its product while the numbers
are still in cache, and the blocks run on minigrad's threads (:mod:`.parallel`). On the GPU (CuPy) one
block holds the whole batch.

The result is computed channels last, ``(N, L_out, C_out)``, and returned as a transposed view with
torch's shape ``(N, C_out, L_out)``: no transpose copy, and the next convolution finds its input already
channels last. (So ``is_contiguous()`` is False on a conv output, where torch says True; minigrad's
``view`` copies such tensors instead of refusing them.)

Nothing K-times-sized is kept for backward: only the input and the weight. Backward rebuilds each
block's columns (cheap, in cache) and computes, per block,

    grad_weight += grad_block.T @ cols        (C_out, K*C)
    grad_cols    = grad_block @ W'.T          (rows, K*C)  -> col2im -> grad of the input rows

col2im undoes im2col by adding each tap's slice back at its shifted rows; the compiled kernel of
:mod:`.kernels` does it in one pass when it applies. Neighbouring blocks of one long sample share a few
input rows (the kernel's halo); their gradients are added, not overwritten.

Winograd instead of im2col: a float32 convolution with stride 1, dilation 1, groups 1 and 2 to 7 taps
computes its forward and both gradients with :mod:`.winograd` (fewer multiplications, a little more
rounding), in blocks of tiles the same way. ``minigrad.config.conv_algorithm`` chooses (see
:mod:`minigrad.backends.conv`).
"""

from __future__ import annotations

import numpy as np

from ... import backend
from ...backends import conv as _settings
from . import kernels, parallel, winograd

xp_of = backend.get_array_module

__all__ = ["conv1d", "conv1d_backward"]


def conv1d(x, w, b, stride, padding, dilation, groups):
    """The reference's ``conv1d`` (``x`` batched, ``padding`` a (left, right) pair), blocked and threaded."""
    return _Conv1d(stride, padding[0], padding[1], dilation, groups).forward(x, w, b)


def conv1d_backward(grad, x, w, stride, padding, dilation, groups, needs=(True, True)):
    """The reference's ``conv1d_backward``: ``(grad_input, grad_weight)``, each None where ``needs`` says no."""
    return _Conv1d(stride, padding[0], padding[1], dilation, groups).backward(grad, x, w, needs)


# ------------------------------------------------------------------ blocks of the batch
COLS_BLOCK_BYTES = 1 << 21  # columns built per block on the CPU: about 2 MB stays in cache
WINOGRAD_BLOCK_BYTES = 1 << 21  # transformed inputs (and products) per Winograd block


def _blocks(n: int, l_out: int, row_bytes: int, budget):
    """``(n0, n1, l0, l1)`` blocks covering samples ``0..n`` x output positions ``0..l_out``.

    A block is some whole samples, or (for samples whose columns exceed a few budgets) one sample's
    positions ``l0..l1``, so its channels-last output rows are always one contiguous run of memory.
    ``budget=None``: one block.
    """
    per_sample = max(1, l_out * row_bytes)
    if budget is None or n * per_sample <= budget:
        yield 0, n, 0, l_out
    elif per_sample <= 4 * budget:
        b = max(1, round(budget / per_sample))
        for n0 in range(0, n, b):
            yield n0, min(n, n0 + b), 0, l_out
    else:
        parts = -(-per_sample // budget)
        rows = -(-l_out // parts)
        for i in range(n):
            for l0 in range(0, l_out, rows):
                yield i, i + 1, l0, min(l_out, l0 + rows)


def _split(blocks: list, n: int) -> list:
    """``blocks`` cut into at most ``n`` runs of near-equal length for :func:`minigrad.compute.fast.parallel.run`.

    A run starts at a sample's first block (``l0 == 0``): the row blocks of one long sample stay in one
    run, because their backward adds up the halo rows they share, in order.
    """
    starts = [i for i, blk in enumerate(blocks) if blk[2] == 0]
    cuts = [0]
    for j in range(1, n):
        i = next((s for s in starts if s >= len(blocks) * j // n), len(blocks))
        if cuts[-1] < i < len(blocks):
            cuts.append(i)
    cuts.append(len(blocks))
    return [blocks[a:b] for a, b in zip(cuts, cuts[1:])]


def _run_blocks(xp, work, blocks):
    """``work(run)`` over runs of blocks: on the CPU the runs go to minigrad's threads (BLAS then uses
    one thread per run: see :mod:`minigrad.compute.fast.parallel`); on the GPU there is one block, run here."""
    if xp is not np:
        return [work(blocks)]
    return parallel.run(work, _split(blocks, parallel.get_num_threads()))


class _Scratch:
    """Flat buffers reused by the blocks of one call: a fresh multi-megabyte array per block would cost
    the allocator (and page faults) more than the copy into it."""

    def __init__(self, xp, dtype):
        self.xp, self.dtype, self.bufs = xp, dtype, {}

    def take(self, name, shape):
        size = 1
        for v in shape:
            size *= v
        buf = self.bufs.get(name)
        if buf is None or buf.size < size:
            buf = self.bufs[name] = self.xp.empty(size, self.dtype)
        return buf[:size].reshape(shape)


def _tile_rows(scratch, name, arr, n0, n1, row0, span):
    """Samples ``n0..n1`` of ``arr (N, rows, C)`` for a Winograd kernel that reads rows ``row0 .. row0 +
    span`` (rows outside the signal read as zeros): the array itself when channels last, else a copy of
    just those rows into a scratch buffer. Returns ``(block, row0 within block)``."""
    src = arr[n0:n1]
    if src.flags.c_contiguous:
        return src, row0
    length = arr.shape[1]
    lo = min(max(row0, 0), length)
    hi = max(min(row0 + span, length), lo)
    buf = scratch.take(name, (n1 - n0, hi - lo, arr.shape[2]))
    buf[...] = arr[n0:n1, lo:hi]
    return buf, row0 - lo


def _input_tiles(scratch, x_cl, bt, m, n0, n1, t0, tiles, pad_left):
    """Winograd's input transform of tiles ``t0 .. t0 + tiles`` of samples ``n0..n1`` (tile ``t`` reads input
    rows ``t*m - pad_left`` onwards): ``(a, samples, tiles, C)``, in the scratch buffer ``"v"``."""
    a = bt.shape[0]
    src, row0 = _tile_rows(scratch, "rows", x_cl, n0, n1, t0 * m - pad_left, (tiles - 1) * m + a)
    return kernels.winograd_input(src, bt, m, row0, scratch.take("v", (a, n1 - n0, tiles, x_cl.shape[2])))


def _run_tiles(work, n, n_tiles, c, c_out, dtype):
    """``work(run)`` over runs of Winograd blocks: ``n`` samples of ``n_tiles`` tiles, a block holding about
    ``WINOGRAD_BLOCK_BYTES`` of transformed inputs (or products) of ``c`` (or ``c_out``) channels."""
    row_bytes = winograd.ALPHA * max(c, c_out) * dtype.itemsize  # one tile's
    return _run_blocks(np, work, list(_blocks(n, n_tiles, row_bytes, WINOGRAD_BLOCK_BYTES)))


class _Conv1d:
    """One call's geometry and the blocked im2col / Winograd code: ``x (N, C_in, L)`` correlated with
    ``w (C_out, C_in/G, K)``, plus an optional bias."""

    def __init__(self, stride, pad_left, pad_right, dilation, groups):
        self.stride, self.pad, self.dilation, self.groups = stride, (pad_left, pad_right), dilation, groups

    # ---- geometry of one block
    def _rows_of(self, l0, l1):
        """The padded input rows ``p0..p1`` that output positions ``l0..l1`` read."""
        k = self.shapes[5]
        return l0 * self.stride, (l1 - 1) * self.stride + (k - 1) * self.dilation + 1

    def _real_rows(self, p0, p1):
        """The rows of the unpadded input among padded rows ``p0..p1``, as ``r0..r1`` (``r0 <= r1``)."""
        pl, length = self.pad[0], self.shapes[2]
        r0 = min(max(p0 - pl, 0), length)
        return r0, min(max(p1 - pl, r0), length)

    def _columns(self, scratch, x_cl, n0, n1, l0, l1):
        """im2col of one block: ``(b, rows, G, K, C/G)`` columns read from the input ``x_cl (N, L, C)``.

        Positions whose receptive field lies inside the input take one strided copy for all taps
        (a window view of ``x_cl``: row ``l`` starts ``stride`` rows after row ``l - 1``); the few
        positions at the ends, where some taps fall in the zero padding, are filled tap by tap.
        """
        n, c, length, c_out, c_g, k, l_out = self.shapes
        g, s, d, pl = self.groups, self.stride, self.dilation, self.pad[0]
        b, lc = n1 - n0, l1 - l0
        la = min(max(l0, -(-pl // s)), l1)  # first position whose window starts inside the input
        lb = max(min(l1, (length - 1 + pl - (k - 1) * d) // s + 1), la)  # ... and past the last ending inside
        if k == 1 and s == 1 and la == l0 and lb == l1:
            return x_cl[n0:n1, l0 - pl : l1 - pl].reshape(b, lc, g, 1, c_g)  # a 1x1 convolution needs no copy
        src, off = x_cl[n0:n1], 0
        if c > 1 and x_cl.strides[2] != x_cl.itemsize:
            # channels not adjacent in memory (a torch-layout (N, C, L) input): first copy the rows this
            # block reads into a channels-last scratch, so the windows below copy whole rows
            off = min(max(l0 * s - pl, 0), length)
            end = max(min((l1 - 1) * s + (k - 1) * d - pl + 1, length), off)
            src = scratch.take("rows", (b, end - off, c))
            src[...] = x_cl[n0:n1, off:end]
        cols = scratch.take("cols", (b, lc, g, k, c_g))
        if lb > la:
            sn, sl, sc = src.strides
            windows = scratch.xp.lib.stride_tricks.as_strided(
                src[:, la * s - pl - off :], shape=(b, lb - la, g, k, c_g), strides=(sn, s * sl, c_g * sc, d * sl, sc)
            )
            cols[:, la - l0 : lb - l0] = windows
        for e0, e1 in ((l0, la), (lb, l1)):  # the ends: taps in the padding read zeros
            if e1 <= e0:
                continue
            edge = cols[:, e0 - l0 : e1 - l0]
            edge[...] = 0
            for j in range(k):
                lo = max(e0, -(-(pl - j * d) // s))  # positions whose tap j reads a real row
                hi = min(e1, (length - 1 + pl - j * d) // s + 1)
                if hi > lo:
                    r = lo * s + j * d - pl
                    edge[:, lo - e0 : hi - e0, :, j, :] = src[:, r - off : r - off + s * (hi - lo - 1) + 1 : s].reshape(
                        b, hi - lo, g, c_g
                    )
        return cols

    def _budget(self, xp):
        return COLS_BLOCK_BYTES if xp is np else None

    def _setup(self, x, w):
        """The shapes, the input channels last (a view) and the weight in the columns' order."""
        n, c, length = x.shape
        c_out, c_g, k = w.shape
        g = self.groups
        l_out = (length + self.pad[0] + self.pad[1] - self.dilation * (k - 1) - 1) // self.stride + 1
        self.shapes = (n, c, length, c_out, c_g, k, l_out)
        # weight as (G, K*C/G, C_out/G): the columns' (tap, channel) order
        wt = w.reshape(g, c_out // g, c_g, k).transpose(0, 3, 2, 1).reshape(g, k * c_g, c_out // g)
        self.wt = xp_of(x).ascontiguousarray(wt)
        self.x_cl = x.transpose(0, 2, 1)  # (N, L, C): a view

    def forward(self, x, w, b=None):
        xp = xp_of(x)
        self._setup(x, w)
        n, c, length, c_out, c_g, k, l_out = self.shapes
        g, x_cl, wt = self.groups, self.x_cl, self.wt
        out = xp.empty((n, l_out, c_out), x.dtype)  # channels last
        if self._winograd(xp, x.dtype, k) and self._correlate_winograd(x_cl, w, b, self.pad[0], out):
            return out.transpose(0, 2, 1)
        # im2col; also when Winograd's result held an inf or nan (see _correlate_winograd)

        def work(run):
            scratch = _Scratch(xp, x.dtype)  # one per thread
            for n0, n1, l0, l1 in run:
                cols = self._columns(scratch, x_cl, n0, n1, l0, l1)
                rows = (n1 - n0) * (l1 - l0)
                dst = out[n0:n1, l0:l1].reshape(rows, c_out)  # contiguous by construction of the blocks
                if g == 1:
                    xp.matmul(cols.reshape(rows, k * c_g), wt[0], out=dst)
                else:  # (G, rows, K*C/G) @ (G, K*C/G, C_out/G) -> (G, rows, C_out/G)
                    res = xp.matmul(cols.reshape(rows, g, k * c_g).transpose(1, 0, 2), wt)
                    dst.reshape(rows, g, c_out // g)[...] = res.transpose(1, 0, 2)
                if b is not None:
                    dst += b

        _run_blocks(xp, work, list(_blocks(n, l_out, k * c * x.itemsize, self._budget(xp))))
        return out.transpose(0, 2, 1)

    # ---- Winograd (see minigrad.compute.fast.winograd): float32 stride-1 convolutions on the CPU, forward and backward
    def _winograd(self, xp, dtype, k) -> bool:
        algo = _settings.current()
        if algo == "im2col" or xp is not np or (self.stride, self.dilation, self.groups) != (1, 1, 1):
            return False
        if not winograd.applies(k):
            return False
        return dtype == np.float32 or (algo == "winograd" and dtype == np.float64)

    @staticmethod
    def _correlate_winograd(x_cl, w, b, pad_left, out):
        """``out (N, L_out, C_out)`` = the stride-1 cross-correlation of ``x_cl (N, L, C)`` with ``w (C_out, C,
        K)`` (+ ``b``), where input row ``l - pad_left`` feeds output ``l`` and rows outside the input are
        zeros. A block of tiles at a time: input transform, ``a`` matrix products, output transform, all in
        one thread's cache. Used for the forward and for the input gradient (see ``backward``).

        Returns False when a value of ``out`` is not finite: Winograd mixes the inputs of a tile, so one inf
        makes nan of outputs that im2col leaves finite or inf, and the caller recomputes with im2col, whose
        infs and nans land where torch's do."""
        n, _, c = x_cl.shape
        c_out, k, l_out = w.shape[0], w.shape[2], out.shape[1]
        dtype = x_cl.dtype
        a, m = winograd.ALPHA, winograd.tile(k)
        at, _, bt = (t.astype(dtype) for t in winograd.matrices(m, k))  # exact in any float dtype
        with np.errstate(invalid="ignore", over="ignore"):
            u = winograd.weight_transform(w, m)
        bias = None if b is None else np.ascontiguousarray(b)
        n_tiles = -(-l_out // m)

        def work(run):  # returns whether every output it wrote is finite
            scratch = _Scratch(np, dtype)
            finite = True
            for n0, n1, t0, t1 in run:
                bsz, tiles = n1 - n0, t1 - t0
                v = _input_tiles(scratch, x_cl, bt, m, n0, n1, t0, tiles, pad_left)
                prods = scratch.take("prods", (a, bsz * tiles, c_out))
                with np.errstate(invalid="ignore", over="ignore"):  # not finite: im2col redoes it, and warns
                    np.matmul(v.reshape(a, bsz * tiles, c), u, out=prods)
                # whole samples, or one sample's positions l0..l1: a contiguous run of out either way
                dst = out[n0:n1, t0 * m : min(t1 * m, l_out)]
                finite &= kernels.winograd_output(prods.reshape(a, bsz, tiles, c_out), at, bias, dst)
            return finite

        return all(_run_tiles(work, n, n_tiles, c, c_out, dtype))

    @staticmethod
    def _weight_grad_winograd(x_cl, g_cl, k, pad_left):
        """``grad_weight[o, c, j] = sum_t g[t, o] x[t + j - pad_left, c]`` (C_out, C, K) by Winograd with the
        roles swapped: per tile, the K taps are the outputs and the tile's m gradient rows the filter, so
        ``matrices(K, m)`` applies, and its input transform is the forward's, over the forward's tiles.
        None when a value is not finite (the caller then takes im2col, as for the forward)."""
        n, _, c = x_cl.shape
        l_out, c_out = g_cl.shape[1], g_cl.shape[2]
        dtype = x_cl.dtype
        a, m = winograd.ALPHA, winograd.tile(k)
        at, g_t, bt = winograd.matrices(k, m)  # A^T (K, a), G (a, m), B^T (a, a)
        bt, g_t = bt.astype(dtype), g_t.astype(dtype)
        n_tiles = -(-l_out // m)

        def work(run):  # returns this run's sum over its tiles of the a point-wise products (a, C, C_out)
            scratch = _Scratch(np, dtype)
            acc = np.zeros((a, c, c_out), dtype)
            for n0, n1, t0, t1 in run:
                bsz, tiles = n1 - n0, t1 - t0
                v = _input_tiles(scratch, x_cl, bt, m, n0, n1, t0, tiles, pad_left)
                gsrc, grow0 = _tile_rows(scratch, "grows", g_cl, n0, n1, t0 * m, tiles * m)
                gg = kernels.winograd_input(gsrc, g_t, m, grow0, scratch.take("gg", (a, bsz, tiles, c_out)))
                prod = scratch.take("prod", (a, c, c_out))
                with np.errstate(invalid="ignore", over="ignore"):  # not finite: im2col redoes it, and warns
                    np.matmul(
                        v.reshape(a, bsz * tiles, c).transpose(0, 2, 1), gg.reshape(a, bsz * tiles, c_out), out=prod
                    )
                    acc += prod
            return acc

        shares = _run_tiles(work, n, n_tiles, c, c_out, dtype)
        total = shares[0]
        with np.errstate(invalid="ignore", over="ignore"):
            for share in shares[1:]:  # in a fixed order: a given thread count always gives the same bits
                total += share
            gw = np.einsum("jx,xco->ocj", at.astype(dtype), total)  # (C_out, C, K)
        return gw if np.isfinite(gw).all() else None

    def backward(self, grad, x, w, need):  # noqa: C901 (moved whole from ops/conv.py; to be split)
        """``(grad_input, grad_weight)`` (None where ``need`` says no) for the output gradient ``grad``."""
        xp = xp_of(grad)
        self._setup(x, w)
        n, c, length, c_out, c_g, k, l_out = self.shapes
        g, s, d, pl = self.groups, self.stride, self.dilation, self.pad[0]
        cg_out = c_out // g
        g_cl = grad.transpose(0, 2, 1)  # (N, L_out, C_out)
        gx_cl = xp.empty((n, length, c), grad.dtype) if need[0] else None
        # the input gradient is itself a stride-1 correlation (of the output gradient with the weight's
        # taps reversed and its channel axes swapped), and the weight gradient one with the roles swapped:
        # Winograd takes both when it takes the forward
        wino = self._winograd(xp, grad.dtype, k)
        wt = self.wt
        # Winograd first; a result holding an inf or nan is recomputed below with im2col
        wino_gx = False
        if wino and need[0]:
            w_flipped = wt[0].reshape(k, c, c_out)[::-1].transpose(1, 2, 0)  # (C, C_out, K), taps reversed
            wino_gx = self._correlate_winograd(g_cl, w_flipped, None, k - 1 - pl, gx_cl)
        gw_wino = self._weight_grad_winograd(self.x_cl, g_cl, k, pl) if wino and need[1] else None

        def work(run):  # noqa: C901  one run of blocks (whole samples) on one thread; returns its grad_weight share
            scratch = _Scratch(xp, grad.dtype)
            gw = xp.zeros((g, k * c_g, cg_out), grad.dtype) if need[1] and gw_wino is None else None
            done_to = 0  # rows 0..done_to of the current sample's input gradient are written
            for n0, n1, l0, l1 in run:
                b, lc = n1 - n0, l1 - l0
                rows = b * lc
                gb_ = g_cl[n0:n1, l0:l1].reshape(rows, g, cg_out)
                if gw is not None:
                    cols = self._columns(scratch, self.x_cl, n0, n1, l0, l1).reshape(rows, g, k * c_g)
                    for i in range(g):
                        gw[i] += cols[:, i].T @ gb_[:, i]
                if gx_cl is None or wino_gx:
                    continue
                gcols = scratch.take("gcols", (b, lc, g, k, c_g))
                gc = gcols.reshape(rows, g, k * c_g)
                if g == 1:
                    xp.matmul(gb_[:, 0], wt[0].T, out=gc[:, 0])
                else:
                    for i in range(g):
                        gc[:, i] = gb_[:, i] @ wt[i].T
                p0, p1 = self._rows_of(l0, l1)
                folded = None
                if g == 1 and xp is np:  # the compiled fold, into a reused buffer
                    folded = kernels.col2im(
                        gcols.reshape(b, lc, k, c), p1 - p0, s, d, out=scratch.take("folded", (b, p1 - p0, c))
                    )
                if folded is None:  # CuPy, or groups: one slice-add per tap
                    folded = xp.zeros((b, p1 - p0, g, c_g), grad.dtype)
                    span = s * (lc - 1) + 1
                    for j in range(k):
                        folded[:, j * d : j * d + span : s] += gcols[:, :, :, j, :]
                folded = folded.reshape(b, p1 - p0, c)
                # write the block's rows into the input gradient: rows an earlier block of the same sample
                # already wrote (the halo) are added to, new rows are assigned, rows nobody reads are zeroed
                r0, r1 = self._real_rows(p0, p1)
                if l0 == 0:
                    done_to = 0
                if r0 > done_to:
                    gx_cl[n0:n1, done_to:r0] = 0
                    done_to = r0
                mid = min(done_to, r1)
                gx_cl[n0:n1, r0:mid] += folded[:, r0 + pl - p0 : mid + pl - p0]
                gx_cl[n0:n1, mid:r1] = folded[:, mid + pl - p0 : r1 + pl - p0]
                done_to = max(done_to, r1)
                if l1 == l_out:
                    gx_cl[n0:n1, done_to:] = 0
            return gw

        shares = [None]
        if (need[1] and gw_wino is None) or (need[0] and not wino_gx):
            shares = _run_blocks(xp, work, list(_blocks(n, l_out, k * c * grad.itemsize, self._budget(xp))))
        gw = shares[0]
        for share in shares[1:] if gw is not None else ():
            gw += share
        gx = gwt = None
        if gx_cl is not None:
            gx = gx_cl.transpose(0, 2, 1)
        if gw is not None:  # (G, K*C/G, C_out/G) -> (C_out, C/G, K)
            gwt = gw.reshape(g, k, c_g, cg_out).transpose(0, 3, 2, 1).reshape(c_out, c_g, k)
        if gw_wino is not None:
            gwt = gw_wino
        return gx, gwt
