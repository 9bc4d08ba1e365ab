"""Interleaved timing: the libraries take turns in blocks, the order alternates, medians are reported."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

METHOD = (
    "blocks: each round runs every implementation in turn ({reps} timed calls each, order alternating "
    "between rounds), a {pause:.2f} s pause before each block so the previous library's BLAS threads go "
    "idle; {warmup} warm-up call(s) per implementation before its first block are not timed; "
    "{rounds} round(s); figure = {stat} of all timed calls; clock: {clock}"
)


@dataclass
class Impl:
    """One contestant: a name, the library module, and optional hooks run around each of its blocks."""

    name: str
    lib: object
    enter: Callable[[], None] | None = None
    exit: Callable[[], None] | None = None
    sync: Callable[[], None] | None = None  # e.g. cuda synchronize, so timings include the device work


@dataclass
class Timing:
    seconds: list = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def min(self) -> float:
        return min(self.seconds) if self.seconds else float("nan")

    @property
    def spread(self) -> tuple:
        """(25th, 75th) percentile of the timed calls."""
        s = sorted(self.seconds)
        if not s:
            return (float("nan"), float("nan"))
        return s[len(s) // 4], s[(3 * len(s)) // 4]


CLOCKS = {
    "wall": time.perf_counter,
    # CPU seconds of all this process's threads: steadier than wall time on a machine that other jobs load,
    # but it also counts threads spinning while they wait, so use it with --threads 1
    "cpu": time.process_time,
}


def run_interleaved(
    calls: dict, impls: list, *, rounds: int, reps: int, warmup: int, pause: float, clock: str = "wall"
) -> dict:
    """Time ``calls[name](i)`` for every implementation; returns ``{name: Timing}``.

    ``calls[name]`` is a function of the call index ``i`` (0, 1, ... within a block) so that every
    implementation sees the same inputs in the same order (the CNN cycles through its batches).
    """
    now = CLOCKS[clock]
    results = {imp.name: Timing() for imp in impls if imp.name in calls}
    order = [imp for imp in impls if imp.name in calls]
    warmed = set()
    for r in range(rounds):
        for imp in order if r % 2 == 0 else order[::-1]:
            fn = calls[imp.name]
            if imp.enter:
                imp.enter()
            try:
                if imp.name not in warmed:
                    for i in range(warmup):
                        fn(i)
                    if imp.sync:
                        imp.sync()
                    warmed.add(imp.name)
                if pause:
                    time.sleep(pause)
                for i in range(reps):
                    t0 = now()
                    fn(i)
                    if imp.sync:
                        imp.sync()
                    results[imp.name].seconds.append(now() - t0)
            finally:
                if imp.exit:
                    imp.exit()
    return results
