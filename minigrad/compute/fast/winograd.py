"""Winograd's minimal filtering: a stride-1 convolution with 2 to 3 times fewer multiplications.

A K-tap filter slid along a signal costs K multiply-adds per output per channel pair. Computed ``m``
outputs at a time (a *tile*), it needs only ``a = m + K - 1`` multiplications, because the tile is a
small polynomial product in disguise:

* Correlating ``a`` inputs ``d`` with ``K`` taps ``g`` gives ``m`` outputs ``y_o = sum_k g_k d_{o+k}``.
  That map is the transpose of the linear convolution ``h = g * e`` of ``g`` with an ``m``-long ``e``
  (``h`` has ``a`` coefficients).
* ``h = g * e`` is a product of polynomials: evaluate ``g`` and ``e`` at ``a`` points, multiply the
  values (``a`` multiplications), and interpolate ``h`` back (Toom-Cook). Written with matrices,
  ``h = C [(Vg g) * (Ve e)]``, with ``Vg``, ``Ve`` the evaluation matrices and ``C`` the inverse of
  the Vandermonde matrix of the points.
* Transposed: ``y = Ve^T [(Vg g) * (C^T d)]``. Winograd's names are ``A^T = Ve^T`` (output transform),
  ``G = Vg`` (filter transform) and ``B^T = C^T`` (input transform).

With channels, the ``a`` point-wise products summed over input channels become ``a`` independent
matrix products, ``(tiles, C_in) @ (C_in, C_out)`` each; so a convolution turns into

    V = B^T-transform of the input tiles     (a, tiles, C_in)     cheap, one pass
    U = G-transform of the weight            (a, C_in, C_out)     once per call, in float64
    M = V @ U                                (a, tiles, C_out)    a matrix products: the real work
    y = A^T-transform of M (+ bias)          (tiles * m, C_out)   cheap, one pass

Here ``a = 8`` always, so a 5-tap filter gets ``m = 4`` outputs per tile: 8 products where im2col
does 20, a 2.5x cut in multiply-adds (K=3: 2.25x; K=7: 1.75x). The points are 0, +-1, +-2, +-1/2
(and "infinity", the leading coefficient). The matrices are built below with exact fractions; each
row of B^T is scaled to whole numbers and the matching row of G takes the inverse scale, so the input
transform is exact in small integers and all the division happens once, on the weight, in float64.

Backward uses the same machinery. The input gradient is a correlation of the output gradient with the
taps reversed (``Conv1d.backward``). The weight gradient swaps the roles: over one tile, the K taps'
gradients are K outputs of correlating the tile's ``a`` inputs with its ``m`` output-gradient rows,
so ``matrices(K, m)`` applies (the same B^T: it depends only on the points) and the sum over tiles
and positions becomes ``a`` products ``(C_in, tiles) @ (tiles, C_out)``.

The price is rounding: the transforms add and subtract inputs scaled by up to ~160, so a float32
result is about 5x farther from the exact answer than im2col's (~2e-6 against ~4e-7 of the output's
largest entry on the course's second layer). That is still float32 accuracy, but not the same bits as
torch. Mixing also spreads infinities: one inf among a tile's inputs turns outputs that im2col leaves
finite (or inf) into nan. So the output transform reports whether all it wrote is finite, and a
convolution whose Winograd result is not recomputes it with im2col; infs and nans then land where
im2col and torch put them. ``minigrad.backends.conv.algorithm`` chooses: ``"auto"`` (the default) takes Winograd for
float32 on the CPU and im2col for float64 (the dtype of gradient checks and exact parity),
``"winograd"`` takes it for float64 too, and ``"im2col"`` never.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from math import lcm

import numpy as np

ALPHA = 8  # inputs per tile = products per tile and channel pair
POINTS = (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2))  # ALPHA - 1 finite points, then infinity


def tile(k: int) -> int:
    """Outputs per tile for a ``k``-tap filter."""
    return ALPHA - k + 1


def applies(k: int) -> bool:
    """Winograd pays for 2 to 7 taps (one tap is already a plain matrix product)."""
    return 2 <= k <= ALPHA - 1


def _inverse(rows):
    """Exact inverse of a square matrix of Fractions (Gauss-Jordan)."""
    n = len(rows)
    aug = [list(r) + [Fraction(int(i == j)) for j in range(n)] for i, r in enumerate(rows)]
    for col in range(n):
        piv = next(i for i in range(col, n) if aug[i][col] != 0)
        aug[col], aug[piv] = aug[piv], aug[col]
        aug[col] = [v / aug[col][col] for v in aug[col]]
        for i in range(n):
            if i != col and aug[i][col] != 0:
                f = aug[i][col]
                aug[i] = [a - f * b for a, b in zip(aug[i], aug[col])]
    return [r[n:] for r in aug]


def _evaluate(points, size):
    """Rows ``[p^0, ..., p^(size-1)]`` for each finite point, then the row for infinity."""
    return [[Fraction(p) ** j for j in range(size)] for p in points] + [[Fraction(0)] * (size - 1) + [Fraction(1)]]


@cache
def matrices(m: int, k: int):
    """``(A^T (m, a), G (a, k), B^T (a, a))`` as float64 arrays for ``m`` outputs of a ``k``-tap filter."""
    a = m + k - 1
    points = POINTS[: a - 1]
    bt = [list(col) for col in zip(*_inverse(_evaluate(points, a)))]  # B^T = C^T, C = Vandermonde^-1
    g = _evaluate(points, k)
    for i in range(a):  # row i of B^T to whole numbers, row i of G takes the inverse scale
        s = lcm(*(v.denominator for v in bt[i]))
        bt[i] = [v * s for v in bt[i]]
        g[i] = [v / s for v in g[i]]
    at = [list(col) for col in zip(*_evaluate(points, m))]
    as_array = lambda rows: np.array([[float(v) for v in r] for r in rows])  # noqa: E731
    return as_array(at), as_array(g), as_array(bt)


def weight_transform(w, m: int):
    """``U = G w`` for ``w`` (C_out, C_in, K): ``(a, C_in, C_out)``, computed in float64, in w's dtype.

    ``einsum`` rather than a matrix product on purpose: this is far too small to need BLAS, and a BLAS
    call here would wake BLAS's own threads, which then spin for a while and take a core from the
    threads that run the convolution right after.
    """
    g = matrices(m, w.shape[2])[1]
    taps = np.ascontiguousarray(w.transpose(2, 1, 0), dtype=np.float64)  # (K, C_in, C_out)
    return np.einsum("ak,kio->aio", g, taps).astype(w.dtype)
