"""Run an unchanged PyTorch script on minigrad: ``python -m parity swap SCRIPT.py [args...]``.

An import hook (a ``sys.meta_path`` finder) answers every ``import torch`` and ``import torch.X.Y``
with a stand-in module named ``torch...`` that forwards to ``minigrad...``. Anything minigrad does not
have fails at once with an error naming the *torch* API, e.g.::

    MissingTorchAPI: torch.nn.functional.gelu is not implemented by minigrad
    MissingTorchModule: torch.distributions is not implemented by minigrad

instead of an AttributeError deep inside the script. (A missing *method* of a minigrad object, such
as ``x.foo()`` on a tensor, is reported by ``python -m parity swap`` as ``torch.Tensor.foo``.)
``MissingTorchAPI`` is an ``AttributeError`` and ``MissingTorchModule`` a ``ModuleNotFoundError``,
so ``hasattr`` and ``try: import`` behave as usual. :func:`swapped` is the context manager behind
it (real torch modules are put back on exit).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import runpy
import sys
import types
from contextlib import contextmanager

__all__ = ["MissingTorchAPI", "MissingTorchModule", "ScriptError", "swapped", "check_script", "run_script"]

_NOTE = "(running under `python -m parity swap`, which maps torch to minigrad)"


class MissingTorchAPI(AttributeError):
    """A torch attribute that minigrad does not provide."""


class MissingTorchModule(ModuleNotFoundError):
    """A torch submodule that minigrad does not provide."""


class ScriptError(ValueError):
    """A file given to ``parity swap`` that is not Python source (binary, not UTF-8, a syntax error)."""


def _is_torch_name(name: str) -> bool:
    return name == "torch" or name.startswith("torch.")


def _proxy(torch_name: str, real: types.ModuleType) -> types.ModuleType:
    """A module called ``torch_name`` whose attributes are those of the minigrad module ``real``."""
    mod = types.ModuleType(torch_name, real.__doc__)

    def __getattr__(attr):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        try:
            value = getattr(real, attr)
        except AttributeError:
            # maybe a submodule that has not been imported yet (torch.nn.functional)
            sub = f"{real.__name__}.{attr}"
            if not hasattr(real, "__path__") or importlib.util.find_spec(sub) is None:
                raise MissingTorchAPI(f"{torch_name}.{attr} is not implemented by minigrad {_NOTE}") from None
            value = importlib.import_module(sub)
        if isinstance(value, types.ModuleType) and value.__name__.startswith("minigrad"):
            value = importlib.import_module(f"{torch_name}.{attr}")
        return value

    mod.__getattr__ = __getattr__
    mod.__dir__ = lambda: dir(real)
    mod.__minigrad_swap__ = True
    mod.__minigrad_module__ = real
    mod.__file__ = getattr(real, "__file__", None)
    return mod


class _TorchToMinigrad(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if _is_torch_name(fullname):
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        target = "minigrad" + spec.name[len("torch") :]
        try:
            real = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            if exc.name and target.startswith(exc.name):
                raise MissingTorchModule(
                    f"{spec.name} is not implemented by minigrad {_NOTE}", name=spec.name
                ) from None
            raise
        return _proxy(spec.name, real)

    def exec_module(self, module):
        pass


@contextmanager
def swapped():
    """Inside the block, ``import torch`` (and every ``torch.*``) gives minigrad."""
    saved = {k: v for k, v in sys.modules.items() if _is_torch_name(k)}
    for k in saved:
        del sys.modules[k]
    finder = _TorchToMinigrad()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for k in [k for k in sys.modules if _is_torch_name(k)]:
            del sys.modules[k]
        sys.modules.update(saved)


def check_script(path: str) -> None:
    """Refuse, before anything runs, a ``path`` that is missing, a directory, or not compilable Python:
    FileNotFoundError, IsADirectoryError or :class:`ScriptError`, each with a one-line message."""
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} is a directory, not a Python script")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such script: {path}")
    with open(path, "rb") as fh:
        source = fh.read()
    try:
        compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:  # also a file that is not UTF-8 (unless it declares its encoding)
        raise ScriptError(f"{path}:{exc.lineno or 1}: not a runnable Python script: {exc.msg}") from None
    except ValueError as exc:  # NUL bytes: a binary file
        raise ScriptError(f"{path}: not a runnable Python script: {exc}") from None


def run_script(path: str, args=()) -> None:
    """Run the Python file ``path`` as ``__main__`` with ``sys.argv = [path, *args]``, torch mapped to minigrad."""
    check_script(path)
    old_argv, old_path0 = sys.argv, sys.path[0] if sys.path else None
    sys.argv = [path, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        with swapped():
            runpy.run_path(path, run_name="__main__")
    finally:
        sys.argv = old_argv
        if sys.path and sys.path[0] != old_path0:
            sys.path.pop(0)
