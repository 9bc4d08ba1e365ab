"""Grad mode: whether new operations record a graph. Thread-local, like torch's."""

from __future__ import annotations

import functools
import threading

from ..config import config


class _State(threading.local):
    enabled = True  # every thread starts with recording on


_state = _State()


def is_grad_enabled() -> bool:
    return _state.enabled


def _set(mode: bool) -> None:
    _state.enabled = bool(mode)


config.per_thread("grad_enabled", is_grad_enabled, _set)


class _GradMode:
    """Base of the context managers below; each also works as a decorator."""

    mode = True

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set(self.mode)
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Disable graph recording: ``with minigrad.no_grad(): ...`` or ``@minigrad.no_grad()``."""

    mode = False


class enable_grad(_GradMode):
    """Re-enable graph recording inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(False)`` switches recording off at once (like torch) and restores it on exit."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._prev = is_grad_enabled()
        _set(self.mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        _set(self._prev)  # used as a decorator: undo the immediate switch
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class inference_mode(no_grad):
    """Accepted for torch compatibility; behaves as ``no_grad``."""

    def __init__(self, mode: bool = True):
        self.mode = not mode
