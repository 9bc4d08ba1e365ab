"""One declaration per op: everything else a user calls is generated from it.

An op family declares each public function once, beside its ``Op`` class::

    @declare(method=True, inplace=True, dunders=("__mul__",), rdunders=("__rmul__",), aliases=("multiply",))
    def mul(input, other):
        ...

From that declaration come the function in its module's ``__all__`` (and so ``minigrad.mul``), the
``Tensor`` method, the in-place variant (``mul_``, function and method), the ``nn.functional`` export,
Python's operators, the autocast policy, and the entry the coverage report and the torch-namespace test
read. Nothing about an op is written in a second place.

``autocast``: ``"lower"`` casts floating inputs to the autocast dtype (matrix products, convolutions);
``"float32"`` computes float16 inputs in float32 (reductions, losses, norms); None leaves them alone.
"""

from __future__ import annotations

import functools
import inspect
import sys
import warnings
from dataclasses import dataclass, field

from .. import amp as _amp
from ..dtypes import type_name
from ..tensor import Tensor

__all__ = ["declare", "declare_method", "Declaration", "REGISTRY", "exports", "functional_names"]


@dataclass
class Declaration:
    """What one public op function is, and where it appears."""

    name: str
    fn: object  # the public function (with its autocast policy applied)
    module: str
    method: str | None = None  # the Tensor method's name
    inplace: str | None = None  # the in-place variant's name (function and method)
    functional: bool = False  # also exported as nn.functional.<name>
    top_level: bool = True  # exported as minigrad.<name>
    autocast: str | None = None
    aliases: tuple = ()
    dunders: tuple = ()
    rdunders: tuple = ()
    keep_input: bool = True  # the in-place variant copies the old values (the op's backward reads its input)
    functional_inplace: bool = False  # nn.functional's version takes torch's ``inplace=False`` argument
    extras: dict = field(default_factory=dict)
    method_fn: object = None  # what methods and operators call: ``fn`` without the ``out=`` wrapper

    def __post_init__(self):
        if self.method_fn is None:
            self.method_fn = self.fn


REGISTRY: dict[str, Declaration] = {}
_BY_MODULE: dict[str, list] = {}


def declare(
    fn=None,
    *,
    name: str | None = None,
    method: bool | str = True,
    inplace: bool | str = False,
    functional: bool = False,
    top_level: bool = True,
    autocast: str | None = None,
    aliases: tuple = (),
    method_aliases: tuple = (),
    dunders: tuple = (),
    rdunders: tuple = (),
    keep_input: bool = True,
    functional_inplace: bool = False,
    out: bool = False,
):
    """Register ``fn`` as a public op (usable bare, ``@declare``, or with options, ``@declare(...)``)."""

    def register(fn):
        computed = _with_autocast(fn, autocast)
        d = Declaration(
            name=name or fn.__name__,
            fn=_with_out(computed, name or fn.__name__) if out else computed,
            method_fn=computed,  # x.add(y) and x + y take no out=, and skip its wrapper
            module=fn.__module__,
            method=(fn.__name__ if method is True else method) or None,
            inplace=((name or fn.__name__) + "_" if inplace is True else inplace) or None,
            functional=functional,
            top_level=top_level,
            autocast=autocast,
            aliases=tuple(aliases),
            dunders=tuple(dunders),
            rdunders=tuple(rdunders),
            keep_input=keep_input,
            functional_inplace=functional_inplace,
        )
        _add(d)
        for alias in aliases:  # another public name for the same function, as torch has (multiply = mul)
            other = Declaration(alias, d.fn, d.module, method=alias if d.method else None, top_level=top_level)
            other.method_fn = d.method_fn
            other.functional = functional
            _add(other)
            _attach(other)
            sys.modules[d.module].__dict__.setdefault(alias, d.fn)
        for alias in method_aliases:
            setattr(Tensor, alias, _method(d.method_fn, alias))
        _attach(d)
        return d.fn

    if fn is not None:
        return register(fn)
    return register


def declare_inplace(
    fn=None, *, name: str | None = None, method: bool = True, top_level: bool = True, dunders: tuple = ()
):
    """Register a hand-written in-place function (``add_``): a Tensor method, a top-level name where torch
    has one (``top_level``), and Python's augmented operators (``dunders=("__iadd__",)``)."""

    def register(fn):
        d = Declaration(name or fn.__name__, fn, fn.__module__, method=(name or fn.__name__) if method else None)
        d.dunders, d.top_level = tuple(dunders), top_level
        _add(d)
        _attach(d)
        return fn

    return register(fn) if fn is not None else register


def declare_method(name: str):
    """Register a Tensor method whose parameters differ from the function's (``Tensor.where(condition,
    other)`` puts ``self`` second; ``Tensor.softmax`` has no ``_stacklevel``): ``fn(self, ...)`` is the method."""

    def register(fn):
        d = Declaration(f"Tensor.{name}", fn, fn.__module__, method=name, top_level=False)
        _add(d)
        fn.__name__, fn.__qualname__ = name, f"Tensor.{name}"
        fn._declared = True
        setattr(Tensor, name, fn)
        return fn

    return register


def _add(d: Declaration) -> None:
    if d.name in REGISTRY and REGISTRY[d.name].fn is not d.fn:
        raise RuntimeError(f"minigrad.ops: {d.name!r} is declared twice ({REGISTRY[d.name].module} and {d.module})")
    REGISTRY[d.name] = d
    _BY_MODULE.setdefault(d.module, []).append(d.name)


def _attach(d: Declaration) -> None:
    """Put the declared names on Tensor: the method, the operators, the in-place variant."""
    if d.method and not _defined_by_class(d.method):
        setattr(Tensor, d.method, _method(d.method_fn, d.method))
    for dunder in d.dunders:
        setattr(Tensor, dunder, _method(d.method_fn, dunder))
    for dunder in d.rdunders:
        setattr(Tensor, dunder, _reflected(d.method_fn, dunder))
    if d.inplace:
        fn = _make_inplace(d)
        # a Tensor method, as torch's in-place variants are (few also exist as torch.name_)
        _add(Declaration(d.inplace, fn, d.module, method=d.inplace, top_level=False))
        if not _defined_by_class(d.inplace):
            setattr(Tensor, d.inplace, _method(fn, d.inplace))
        sys.modules[d.module].__dict__.setdefault(d.inplace, fn)


def _defined_by_class(name: str) -> bool:
    """A method the core Tensor class writes itself (its own definition wins)."""
    return name in Tensor.__dict__ and not getattr(Tensor.__dict__[name], "_declared", False)


def _method(fn, name: str):
    """The function itself: on the class it binds ``self`` as its first argument, so ``x.mul(y)`` is
    ``mul(x, y)`` with no extra call in between (operators are the hottest path of the engine)."""
    fn._declared = True
    return fn


def _reflected(fn, name: str):
    def method(self, other):
        return fn(other, self)

    method.__name__, method.__qualname__ = name, f"Tensor.{name}"
    method.__doc__ = f"``minigrad.{fn.__name__}(other, self)``"
    method._declared = True
    return method


def _first_line(fn) -> str:
    return (fn.__doc__ or "").strip().split("\n")[0]


_WRITER: dict = {}  # "apply": ops.inplace.apply_inplace, handed over by that module (it imports this one)


def use_inplace_writer(apply_inplace) -> None:
    """Called by ops.inplace: the function that writes an op's result back into its input, recorded."""
    _WRITER["apply"] = apply_inplace


def _make_inplace(d: Declaration):
    """``name_(self, *args)``: the out-of-place op, written back into ``self`` (see ops.inplace)."""
    fn, op_name = d.fn, d.inplace

    def inplace(self, *args, **kwargs):
        others = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
        return _WRITER["apply"](op_name, self, lambda t: fn(t, *args, **kwargs), *others, keep=d.keep_input)

    inplace.__name__ = inplace.__qualname__ = op_name
    inplace.__doc__ = f"``{d.name}`` in place: {_first_line(fn)}"
    inplace.__signature__ = inspect.signature(fn)
    return inplace


def _with_autocast(fn, policy):
    """``fn`` with its inputs cast by the autocast policy (one flag test when autocast is off)."""
    if policy is None:
        return fn
    if policy not in ("lower", "float32"):
        raise ValueError(f"autocast policy must be 'lower', 'float32' or None, got {policy!r}")

    @functools.wraps(fn)
    def cast_then_call(*args, **kwargs):
        if _amp.autocast_active():
            args = _amp.autocast_inputs(policy, *args)
            kwargs = dict(zip(kwargs, _amp.autocast_inputs(policy, *kwargs.values())))
        return fn(*args, **kwargs)

    return cast_then_call


def _with_out(fn, name: str):
    """``fn`` with torch's ``out=`` argument: the result is written into ``out`` (resized if needed)."""
    sig = inspect.signature(fn)
    flag = inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None)

    @functools.wraps(fn)
    def call(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        return _write_out(name, fn, args, kwargs, out)

    call.__signature__ = sig.replace(parameters=[*sig.parameters.values(), flag])
    return call


def _write_out(name, fn, args, kwargs, out):
    from ..autograd.grad_mode import is_grad_enabled, no_grad

    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
    if is_grad_enabled() and any(t.requires_grad for t in (*tensors, out)):
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic differentiation, "
            "but one of the arguments requires grad."
        )
    with no_grad():
        res = fn(*args, **kwargs)
    if res.dtype._kind > out.dtype._kind:  # float into an integer tensor, say
        got, want = type_name(res.dtype), type_name(out.dtype)
        raise RuntimeError(f"result type {got} can't be cast to the desired output type {want}")
    if out.shape != res.shape:
        if out.numel():
            warnings.warn(
                f"An output with one or more elements was resized since it had shape {list(out.shape)}, which "
                f"does not match the required output shape {list(res.shape)}.",
                stacklevel=3,
            )
        out.array = res.array.astype(out.array.dtype)  # a new buffer, as torch's resize gives
    else:
        out.array[...] = res.array
    out._bump_version()
    return out


def exports(module_name: str) -> list:
    """The public names declared in ``module_name`` (its ``__all__``)."""
    return [n for n in _BY_MODULE.get(module_name, []) if REGISTRY[n].top_level]


def functional_names() -> list:
    """The names ``nn.functional`` takes from the registry."""
    return [n for n, d in REGISTRY.items() if d.functional]


def functional_function(name: str):
    """``nn.functional.<name>``: the op itself, or, for an activation torch lets work in place, the op with
    torch's extra ``inplace=False`` argument (``F.relu(x, inplace=True)`` overwrites ``x``)."""
    d = REGISTRY[name]
    if not d.functional_inplace:
        return d.fn
    if "F" not in d.extras:
        d.extras["F"] = _with_inplace_argument(d)
    return d.extras["F"]


def _with_inplace_argument(d: Declaration):
    sig = inspect.signature(d.fn)
    params = [p for p in sig.parameters.values() if p.kind != p.KEYWORD_ONLY]
    flag = inspect.Parameter("inplace", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=False)
    full = sig.replace(parameters=[*params, flag, *(p for p in sig.parameters.values() if p.kind == p.KEYWORD_ONLY)])
    fn, op_name = d.fn, d.name + "_"

    def functional(*args, **kwargs):
        bound = full.bind(*args, **kwargs)
        inplace = bound.arguments.pop("inplace", False)
        if not inplace:
            return fn(*bound.args, **bound.kwargs)
        input, *rest = bound.args
        return _WRITER["apply"](op_name, input, lambda t: fn(t, *rest, **bound.kwargs), keep=d.keep_input)

    functional.__name__ = functional.__qualname__ = d.name
    functional.__doc__ = d.fn.__doc__
    functional.__signature__ = full
    return functional
