"""``python -m benchmarks``: minigrad against torch, measured side by side in one process.

What is measured (see ``python -m benchmarks --help`` for the options):

* per-op micro benchmarks (:mod:`benchmarks.micro`): tiny-tensor dispatch overhead, a large
  element-wise chain, matmul, conv1d forward and backward, embedding forward and backward,
  cross-entropy, one Adam step;
* the course CNN (:mod:`benchmarks.cnn`): one training step on real batches of 32 proteins with
  dynamic padding, and inference on batches of 64, plus the peak memory of training
  (:mod:`benchmarks.memory`, each library in its own fresh process);
* data loading (:mod:`benchmarks.data`): DataLoader throughput, and how much padding and time a
  length-bucketing batch sampler saves on the real data.

How it is measured (:mod:`benchmarks.timing`): the libraries take turns in *blocks* of repeated
calls, the order alternating every round, with a pause before each block, because BLAS worker
threads keep spinning for ~0.1 s after a call and would steal a core from whichever library runs
next. Warm-up calls (numba compilation, first-touch allocations) are excluded and the numba
compile time is reported on its own. Thread counts are pinned equal for NumPy's BLAS (threadpoolctl),
torch, numba and minigrad's own pool, and printed with the machine and library versions. Each figure
is the median of all timed calls. A case of a few hundred microseconds (the tiny-tensor dispatch) is
timed 50 calls at a time and reported per call: one call alone after the pause measures how cold the
caches are (its ratio swung from 0.86 to 1.46 between runs) more than the per-op cost of a loop.
minigrad also runs against itself with its compiled kernels switched off (``minigrad[numpy]``, i.e.
``MINIGRAD_KERNELS=numpy``).

The package imports no numerical library at import time, so ``__main__`` can first drop
``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` from the environment (they are read when OpenBLAS
loads) and restart itself; pass ``--keep-openblas-env`` to benchmark with them.
"""
