"""Random number generation: one seeded NumPy ``Generator`` behind ``manual_seed``.

All random tensors (``rand``, ``randn``, dropout masks, ``DataLoader`` shuffling, ``nn.init``)
draw from :data:`default_generator` unless given a :class:`Generator`. Values are drawn on the
host, so a seed gives the same numbers on the CPU and on the GPU.
"""

from __future__ import annotations

import numpy as np


class Generator:
    """A torch-like generator object wrapping ``numpy.random.Generator`` (PCG64)."""

    def __init__(self, device="cpu"):
        self.device = device
        self._seed = int(np.random.SeedSequence().entropy % (2**63))
        self.rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> Generator:
        seed = int(seed)
        if seed < 0:
            seed += 2**64  # torch accepts negative seeds by wrapping them
        self._seed = seed
        self.rng = np.random.default_rng(seed)
        return self

    def seed(self) -> int:
        self.manual_seed(int(np.random.SeedSequence().entropy % (2**63)))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        return self.rng.bit_generator.state

    def set_state(self, state) -> None:
        self.rng.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (and so every random op that is not given its own generator)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state) -> None:
    default_generator.set_state(state)


def rng(generator: Generator | None = None) -> np.random.Generator:
    return (generator or default_generator).rng
