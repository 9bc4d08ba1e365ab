"""``minigrad.config``: every setting of the engine in one object.

Process-wide settings (read with ``minigrad.config.backend``, written by assignment or for a block)::

    backend         "fast" (default) or "reference": the array code ops run on (see minigrad.compute)
    kernels         "numba" (default when installed) or "numpy": the compiled kernels of the fast backend
    conv_algorithm  "auto" (default), "winograd" or "im2col": how the fast backend convolves on the CPU
    num_threads     threads of minigrad's CPU ops and of BLAS (minigrad.set_num_threads)
    malloc_tuning   False (default) or True: keep large arrays in glibc's heap between steps (see _malloc)

Per-thread settings, as in torch: ``grad_enabled`` (``no_grad`` and friends) and ``autocast`` (read only
here; ``minigrad.autocast`` sets it). ``with config.using(backend="reference", grad_enabled=False): ...``
changes several at once and restores them on exit, even after an error. Environment variables give the
starting values: MINIGRAD_BACKEND, MINIGRAD_KERNELS, MINIGRAD_CONV, OMP_NUM_THREADS, MINIGRAD_MALLOC=tuned.
"""

from __future__ import annotations

import contextlib
import os
import threading

__all__ = ["config", "Config"]


def _choice(name: str, allowed: tuple):
    def check(value):
        v = str(value).strip().lower()
        if v not in allowed:
            raise ValueError(f"minigrad.config.{name} must be one of {allowed}, got {value!r}")
        return v

    return check


def _threads(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"minigrad.config.num_threads must be a positive int, got {value!r}")
    return value


def _flag(name: str):
    def check(value):
        if not isinstance(value, bool):
            raise ValueError(f"minigrad.config.{name} must be True or False, got {value!r}")
        return value

    return check


class Config:
    """The settings object; the single instance is ``minigrad.config``.

    Each process-wide setting has a checker (raises ValueError naming the setting) and, where the
    engine must act on a change, an applier registered by the module that owns the machinery
    (the compute backends, the thread pool, malloc): this module imports none of them.
    """

    _checkers = {
        "backend": _choice("backend", ("fast", "reference")),
        "kernels": _choice("kernels", ("numba", "numpy")),
        "conv_algorithm": _choice("conv_algorithm", ("auto", "winograd", "im2col")),
        "num_threads": _threads,
        "malloc_tuning": _flag("malloc_tuning"),
    }

    def __init__(self):
        object.__setattr__(self, "_checkers", dict(Config._checkers))
        object.__setattr__(self, "_values", {})
        object.__setattr__(self, "_appliers", {})
        object.__setattr__(self, "_lock", threading.RLock())
        object.__setattr__(self, "_per_thread", {})  # name -> (getter, setter or None)

    # ---- process-wide settings
    def __getattr__(self, name):
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        per_thread = object.__getattribute__(self, "_per_thread")
        if name in per_thread:
            return per_thread[name][0]()
        raise AttributeError(f"minigrad.config has no setting {name!r}; settings: {self.names()}")

    def __setattr__(self, name, value):
        if name in self._per_thread:
            setter = self._per_thread[name][1]
            if setter is None:
                raise AttributeError(f"minigrad.config.{name} is read-only here (set it with its context manager)")
            setter(value)
            return
        if name not in self._checkers:
            raise AttributeError(f"minigrad.config has no setting {name!r}; settings: {self.names()}")
        value = self._checkers[name](value)
        with self._lock:
            apply = self._appliers.get(name)
            if apply is not None:
                apply(value)
            self._values[name] = value

    def names(self) -> tuple:
        return (*self._checkers, *self._per_thread)

    def per_thread(self, name: str, get, set=None) -> None:  # noqa: A002  (the setter, as in property())
        """Expose a per-thread setting kept by the module that owns it (grad mode, autocast)."""
        self._per_thread[name] = (get, set)

    def define(self, name: str, initial, apply=None, apply_initial: bool = True, check=None) -> None:
        """Give setting ``name`` its starting value and the function that puts a new value into force
        (called with the starting value too, unless ``apply_initial`` is False). ``check`` declares a
        setting this module does not list (its owner validates it)."""
        with self._lock:
            if check is not None:
                self._checkers[name] = check
            value = self._checkers[name](initial)
            if apply is not None:
                self._appliers[name] = apply
                if apply_initial:
                    apply(value)
            self._values[name] = value

    @contextlib.contextmanager
    def using(self, **overrides):
        """Set some settings for a block: ``with minigrad.config.using(backend="reference"): ...``."""
        for name in overrides:
            if name not in self._checkers and name not in self._per_thread:
                raise AttributeError(f"minigrad.config has no setting {name!r}; settings: {self.names()}")
        before = {name: getattr(self, name) for name in overrides}
        done = []
        try:
            for name, value in overrides.items():
                setattr(self, name, value)
                done.append(name)
            yield self
        finally:
            for name in reversed(done):
                setattr(self, name, before[name])

    def __repr__(self):
        shown = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.names() if k != "autocast")
        return f"minigrad.config({shown})"


def env(name: str, default: str) -> str:
    """An environment variable's value, stripped and lower-cased, or ``default`` when unset or empty."""
    return os.environ.get(name, "").strip().lower() or default


config = Config()
