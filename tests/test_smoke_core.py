import numpy as np

from tests.opcheck import compare


def test_arith_agrees_with_torch(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4,)) + 3
    compare(lambda t, x, y: (x * y + x / y - y) ** 2, a, b)
    compare(lambda t, x, y: t.exp(x - y) * 2.5 + 1, a.astype(np.float32), b.astype(np.float32))
