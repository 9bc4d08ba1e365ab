"""Lesson 09 (appendix: speed): a convolution as one matrix product, and the fast backend's float32 sum.

Work on NumPy arrays. Grade your work with
``EXERCISES=exercises .venv/bin/pytest -q tests/test_exercises.py -k lesson09``.
"""


def conv1d_im2col(x, w, b, padding):
    """The 1-d convolution (torch's cross-correlation) of ``x (N, C, L)`` with ``w (C_out, C, K)``, plus the
    bias ``b (C_out,)`` unless it is None, with ``padding`` zeros on both ends and stride 1: an array
    ``(N, C_out, L + 2 * padding - K + 1)``.

    im2col: pad ``x``, gather for every output position ``l`` the ``C * K`` inputs it reads
    (``xpad[n, c, l + j]`` for every channel ``c`` and tap ``j``) into a column array ``(N, C * K, L_out)``,
    then multiply once: ``w.reshape(C_out, C * K) @ cols``. No Python loop over positions or channels
    (a loop over the ``K`` taps, or a strided view, is fine).
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson09.py::conv1d_im2col")


def chunked_sum(x, axis, chunk=64):
    """``x.sum(axis)`` for a float32 array, in float32 throughout, but accurate when ``axis`` is long and not
    the array's contiguous axis (where NumPy adds one slice after another, and the error grows with the length).

    Split the first ``n - n % chunk`` elements along ``axis`` into ``n // chunk`` chunks of ``chunk`` (a reshape
    of that slice: one axis becomes two), sum each chunk, then sum the chunk sums; add the ``n % chunk``
    leftover elements' sum. Each value then passes through about ``chunk + n / chunk`` additions instead of
    ``n``. Return a float32 array shaped like ``x.sum(axis)``; do not convert to float64.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson09.py::chunked_sum")
