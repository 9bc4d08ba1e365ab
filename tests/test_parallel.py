"""minigrad.compute.fast.parallel: the thread pool that convolution blocks and long element-wise passes share."""

import threading

import numpy as np
import pytest

import minigrad as mg
from minigrad.backend import memory_order
from minigrad.compute.fast import conv as conv_mod
from minigrad.compute.fast import parallel


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch):
    """Split element-wise work from 1000 elements on, so that small test arrays take the threaded path."""
    monkeypatch.setattr(parallel, "MIN_SIZE", 1000)


@pytest.fixture
def threads():
    """``threads(n)`` sets minigrad's thread count for one test; the old count comes back afterwards."""
    old = mg.get_num_threads()
    yield mg.set_num_threads
    mg.set_num_threads(old)


def _blas_threads():
    from threadpoolctl import threadpool_info

    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def test_run_spreads_parts_over_threads_and_keeps_their_order(threads):
    threads(3)
    barrier = threading.Barrier(3, timeout=10)  # only passes if three parts really run at the same time

    def part(i):
        barrier.wait()
        return i * i, threading.get_ident()

    out = parallel.run(part, range(3), blas=False)
    assert [v for v, _ in out] == [0, 1, 4]
    assert len({ident for _, ident in out}) == 3
    assert out[0][1] == threading.get_ident()  # the caller computes the first part itself


def test_run_is_serial_with_one_thread_and_when_nested(threads):
    threads(1)
    me = threading.get_ident()
    assert parallel.run(lambda i: threading.get_ident(), range(4), blas=False) == [me] * 4
    threads(2)

    def outer(i):  # a part that itself asks for a parallel region runs that region in its own thread
        inner = parallel.run(lambda j: threading.get_ident(), range(3), blas=False)
        return len(set(inner)), inner[0] == threading.get_ident()

    assert parallel.run(outer, range(2), blas=False) == [(1, True), (1, True)]


def test_blas_runs_one_thread_per_part_and_gets_its_threads_back(threads):
    if parallel._blas_controller() is False:
        pytest.skip("threadpoolctl finds no BLAS library to limit")
    threads(2)
    assert set(_blas_threads()) == {2}
    inside = parallel.run(lambda i: _blas_threads(), range(2))
    assert all(set(seen) == {1} for seen in inside)
    assert set(_blas_threads()) == {2}


def test_an_error_in_a_part_is_raised_after_every_part_finished(threads):
    threads(2)
    done = []

    def part(i):
        if i == 0:
            raise ValueError("part 0 failed")
        done.append(i)
        return i

    with pytest.raises(ValueError, match="part 0 failed"):
        parallel.run(part, range(4))
    assert sorted(done) == [1, 2, 3]
    if parallel._blas_controller():
        assert set(_blas_threads()) == {2}  # the limit of the region was lifted
    assert parallel._regions == 0


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "2"])
def test_set_num_threads_rejects_what_is_not_a_positive_int(bad):
    with pytest.raises(ValueError, match="expected a positive int"):
        mg.set_num_threads(bad)


def test_chunks_cover_the_range_once_in_near_equal_parts():
    for n, parts in [(10, 3), (2, 5), (0, 2), (7, 1), (1000, 7)]:
        got = parallel.chunks(n, parts)
        assert got[0][0] == 0 and got[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(got, got[1:]))
        sizes = [b - a for a, b in got]
        assert max(sizes) - min(sizes) <= 1 and len(got) <= max(1, parts)


def test_conv_runs_start_at_a_sample_and_cover_every_block():
    for n, l_out, row_bytes, budget, k in [
        (5, 40, 10, 60, 3),
        (9, 7, 10, 1000, 4),
        (1, 50, 8, 40, 2),
        (6, 3, 8, 10**6, 3),
    ]:
        blocks = list(conv_mod._blocks(n, l_out, row_bytes, budget))
        runs = conv_mod._split(blocks, k)
        assert [b for run in runs for b in run] == blocks and len(runs) <= k
        assert all(run and run[0][2] == 0 for run in runs)  # a sample's row blocks never span two runs


@pytest.mark.parametrize("algorithm", ["im2col", "winograd"])
@pytest.mark.parametrize("budget", [1, 300, 1 << 21])
def test_conv1d_on_threads_gives_the_one_thread_values_and_gradients(budget, algorithm, threads, monkeypatch):
    monkeypatch.setattr(conv_mod, "COLS_BLOCK_BYTES", budget)
    monkeypatch.setattr(conv_mod, "WINOGRAD_BLOCK_BYTES", budget)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 3, 23))
    w, b = rng.standard_normal((4, 3, 5)), rng.standard_normal(4)
    up = rng.standard_normal((5, 4, 23))
    got = {}
    for n in (1, 3):
        threads(n)
        mx, mw, mb = (mg.tensor(a, requires_grad=True) for a in (x, w, b))
        with mg.backends.conv.use(algorithm), mg.config.using(backend="fast"):  # the fast backend's blocks
            out = mg.nn.functional.conv1d(mx, mw, mb, padding=2)
            out.backward(mg.tensor(up))
        got[n] = [out.detach().numpy(), mx.grad.numpy(), mw.grad.numpy(), mb.grad.numpy()]
    for one, many in zip(got[1], got[3]):
        np.testing.assert_allclose(many, one, rtol=1e-13, atol=1e-13)
    if algorithm == "winograd":  # every tile is computed alone: the output and input gradient keep their bits
        for i in (0, 1):
            np.testing.assert_array_equal(got[3][i], got[1][i])


def _channels_last(rng, n, c, length, dtype=np.float32):
    return rng.standard_normal((n, length, c)).astype(dtype).transpose(0, 2, 1)


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_long_arithmetic_on_threads_matches_numpy_bit_for_bit_and_keeps_the_layout(n_threads, threads):
    from minigrad.compute.fast.arrays import _ufunc

    threads(n_threads)
    rng = np.random.default_rng(3)
    h = _channels_last(rng, 5, 16, 100)
    m = (rng.random((5, 1, 100)) < 0.5).astype(np.float32)
    flat = rng.standard_normal(5007).astype(np.float32)
    cases = [
        ("multiply", h, m),
        ("add", m, h),
        ("subtract", h, np.float32(2.5) * np.ones((), np.float32)),
        ("true_divide", h, rng.standard_normal(100).astype(np.float32)),
        ("multiply", flat, flat[::-1]),
    ]
    for name, a, b in cases:
        got = _ufunc(name, a, b)
        np.testing.assert_array_equal(got, getattr(np, name)(a, b))
        big = a if a.shape == got.shape else b
        assert memory_order(got) == memory_order(big), name  # laid out like the full-sized operand
    like = h.copy()  # C-contiguous (N, C, L): the result follows `like`, not the channels-last operand
    got = _ufunc("multiply", h, np.float32(3), like=like)
    assert got.flags.c_contiguous and np.array_equal(got, h * np.float32(3))


@pytest.mark.parametrize("keepdim", [False, True])
def test_long_sums_on_threads_give_the_one_thread_result(keepdim, threads):
    rng = np.random.default_rng(5)
    x = mg.tensor(_channels_last(rng, 6, 32, 500), requires_grad=True)
    got = {}
    for n in (1, 2):
        threads(n)
        got[n] = [mg.sum(x, dim=2, keepdim=keepdim).detach().numpy(), x.sum(dim=(1, 2)).detach().numpy()]
    for one, two in zip(got[1], got[2]):
        assert one.shape == two.shape and one.dtype == two.dtype == np.float32
        np.testing.assert_array_equal(two, one)
    x64 = x.array.astype(np.float64)
    err = np.abs(got[2][0].reshape(6, 32) - x64.sum(axis=2))
    assert (err <= 1e-6 * np.abs(x64).sum(axis=2)).all()  # float32 summed in stages: ~70 roundings, not 500


def test_relu_kernels_in_chunks_on_threads_match_the_numpy_twins(threads):
    from minigrad.compute.fast import kernels
    from minigrad.compute.fast.kernels import cpu

    if not kernels.available():
        pytest.skip("numba is not installed")
    threads(2)
    rng = np.random.default_rng(9)
    x = _channels_last(rng, 3, 16, 300)
    x[0, 0, :3] = [0.0, np.nan, -0.0]
    g = _channels_last(rng, 3, 16, 300)
    with kernels.use("numba"):
        out = kernels.relu_forward(x)
        np.testing.assert_array_equal(out, cpu.relu_forward_numpy(x))
        np.testing.assert_array_equal(kernels.relu_backward(g, out), cpu.relu_backward_numpy(g, out))


def test_embedding_lookup_on_threads_matches_one_thread_and_still_rejects_bad_indices(threads):
    rng = np.random.default_rng(11)
    table = mg.tensor(rng.standard_normal((21, 8)).astype(np.float32), requires_grad=True)
    idx = mg.tensor(rng.integers(0, 21, (6, 50)))
    got = {}
    for n in (1, 2):
        threads(n)
        got[n] = mg.nn.functional.embedding(idx, table).detach().numpy()
    np.testing.assert_array_equal(got[2], table.detach().numpy()[idx.numpy()])
    np.testing.assert_array_equal(got[2], got[1])
    with pytest.raises(IndexError, match="index 21 is out of range"):
        mg.nn.functional.embedding(mg.tensor(np.full((6, 50), 21)), table)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_gets_a_fresh_pool_instead_of_hanging_on_the_parents(threads):
    import os

    threads(2)
    parallel.run(lambda i: i, range(2), blas=False)  # the parent's pool exists now
    pid = os.fork()
    if pid == 0:  # the child: its copy of the pool has no threads; a region must still complete
        ok = parallel.run(lambda i: i * 2, range(2), blas=False) == [0, 2]
        os._exit(0 if ok else 1)
    import time

    deadline = time.monotonic() + 30
    while True:  # a child stuck on the parent's dead pool would hang: give up after 30 s
        done, status = os.waitpid(pid, os.WNOHANG)
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    if not done:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung in parallel.run")
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


@pytest.mark.parametrize("n_threads", [2, 3])
def test_cross_entropy_rows_on_threads_match_one_thread_bit_for_bit(n_threads, threads):
    """The softmax rows of a large batch are split over the threads (exp is costly: ``worth_it`` weighs it
    10x); every row is computed alone, so values and gradients keep their bits, rows of -inf included."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((31, 7)).astype(np.float32)  # 217 elements: split only because exp is costly
    x[3] = -np.inf  # a row whose max is not finite is shifted by 0, as torch does
    y = rng.integers(0, 7, 31)
    got = {}
    for n in (1, n_threads):
        threads(n)
        xm = mg.tensor(x, requires_grad=True)
        with np.errstate(divide="ignore", invalid="ignore"):  # the -inf row: nan, as in torch
            loss = mg.nn.functional.cross_entropy(xm, mg.tensor(y), reduction="none")
            loss.sum().backward()
        got[n] = (loss.detach().numpy(), xm.grad.numpy())
    for one, many in zip(got[1], got[n_threads]):
        np.testing.assert_array_equal(many, one)
    assert parallel.worth_it(x.size, cost=10) and not parallel.worth_it(x.size)
