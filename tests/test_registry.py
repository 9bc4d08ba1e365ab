"""Every declared op exists where torch has it, with torch's parameter names; nothing public is undeclared.

torch's own signatures come from ``inspect.signature`` where torch defines the function in Python, else
from its operator schemas (``aten::add``: one per overload, the names Python binds), else from the
signature lines of its docstring (``add(input, other, *, alpha=1, out=None) -> Tensor``).
"""

from __future__ import annotations

import inspect
import re

import pytest
import torch

import minigrad
from minigrad.ops.registry import REGISTRY, functional_function

F = torch.nn.functional

# names minigrad declares that torch does not have at that place, and why
MINIGRAD_ONLY = {
    ("to_dtype", "torch"): "internal conversion op behind Tensor.to",
    ("to_device", "torch"): "internal conversion op behind Tensor.to",
}
# minigrad's own extra parameters, and why
EXTRA_PARAMETERS = {
    "dropout": {"mask", "generator"},  # an explicit keep-mask and generator: the parity run's twin dropout
}
# parameter names minigrad cannot spell as torch does
PARAMETER_EXCEPTIONS = {
    ("Tensor", "uniform_"): "torch names the lower bound 'from', a Python keyword; minigrad calls it 'a'",
}


def _places(d):
    if d.top_level:
        yield "torch", torch, d.name
    if d.method:
        yield "Tensor", torch.Tensor, d.method
    if d.functional:
        yield "F", F, d.name


def _ids(value):
    return value if isinstance(value, str) else ""


DECLARED = [(d.name, where, obj, attr) for d in REGISTRY.values() for where, obj, attr in _places(d)]


@pytest.mark.parametrize(
    ("name", "where", "namespace", "attr"), DECLARED, ids=lambda v: v if isinstance(v, str) else ""
)
def test_declared_name_exists_in_torch(name, where, namespace, attr):
    if (attr, where) in MINIGRAD_ONLY:
        return
    assert hasattr(namespace, attr), f"minigrad declares {where}.{attr} ({name}) but torch has no such name"


_SIGNATURE = re.compile(r"^(?:\.\. function:: )?(?:torch\.)?(?:Tensor\.)?(\w+)\((.*)\)(?:\s*->.*)?$")


def _params_from_text(text: str) -> list:
    """Parameter lists from signature lines: [[(name, keyword_only), ...], ...] (one per overload)."""
    overloads = []
    for line in text.splitlines():
        m = _SIGNATURE.match(line.strip())
        if not m:
            continue
        params, kw_only = [], False
        for part in (p.strip() for p in m.group(2).split(",")):
            if part in ("*", ""):
                kw_only = kw_only or part == "*"
                continue
            name = re.split(r"[=:\s]", part.lstrip("*"), maxsplit=1)[0]
            if name and name.isidentifier():
                params.append((name, kw_only))
        overloads.append(params)
    return overloads


def _aten_overloads(name: str) -> list:
    """The overloads of aten::name as [(argument, keyword_only), ...]; ``self`` is called ``input`` in Python."""
    schemas = torch._C._jit_get_schemas_for_operator(f"aten::{name}")
    return [[("input" if a.name == "self" else a.name, a.kwarg_only) for a in s.arguments] for s in schemas]


def torch_parameters(obj, attr):
    """torch's parameter lists for ``obj.attr`` (one per overload), or None when torch does not say."""
    fn = getattr(obj, attr)
    from_doc = _params_from_text(fn.__doc__ or "")
    if inspect.isfunction(fn) or inspect.isfunction(getattr(fn, "__wrapped__", None)):
        params = inspect.signature(fn).parameters.values()
        if any(p.kind == p.VAR_POSITIONAL for p in params):
            return from_doc or None  # e.g. max_pool1d(*args, **kwargs): torch dispatches; its docstring says
        skip = "self" if obj is torch.Tensor else None
        return [[(p.name, p.kind == p.KEYWORD_ONLY) for p in params if p.kind != p.VAR_KEYWORD and p.name != skip]]
    overloads = _aten_overloads(attr)
    if obj is torch.Tensor:  # a method's docs often say "see torch.<name>": read those too
        from_doc += _params_from_text(getattr(getattr(torch, attr, None), "__doc__", None) or "")
        overloads = [[p for p in ps if p[0] != "input"] for ps in overloads]
        from_doc = [[p for p in ps if p[0] not in ("input", "self")] for ps in from_doc]
    # the schemas give the names Python binds; the docstring adds arguments the Python layer handles (as_tuple)
    return overloads + from_doc or None


def _ours(fn, method: bool) -> list:
    params = [p for p in inspect.signature(fn).parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    names = [p.name for p in params]
    return names[1:] if method else names


@pytest.mark.parametrize(
    ("name", "where", "namespace", "attr"), DECLARED, ids=lambda v: v if isinstance(v, str) else ""
)
def test_declared_parameters_are_torchs(name, where, namespace, attr):
    """Our parameter names are torch's, and torch's positional parameters (of some overload) are all ours."""
    if not hasattr(namespace, attr) or (where, attr) in PARAMETER_EXCEPTIONS:
        return
    overloads = torch_parameters(namespace, attr)
    if not overloads:
        pytest.skip(f"torch gives no signature for {where}.{attr}")
    fn = functional_function(name) if where == "F" else REGISTRY[name].fn
    ours = _ours(fn, method=where == "Tensor")
    if where == "torch" and REGISTRY[name].functional and hasattr(F, attr):
        overloads = overloads + (torch_parameters(F, attr) or [])  # one function serves torch.x and F.x
    known = {p for ps in overloads for p, _ in ps}
    extra = [p for p in ours if p not in known and p not in EXTRA_PARAMETERS.get(name, ())]
    assert not extra, f"{where}.{attr}: minigrad has parameters torch does not: {extra} (torch: {overloads})"
    positional_fits = any(all(p in ours for p, kw in ps if not kw) for ps in overloads)
    assert positional_fits, f"{where}.{attr}: torch's positional parameters {overloads} are not all in {ours}"
    # and in torch's order: a positional call must put each argument where torch would
    in_order = any(
        [p for p in ours if p in {q for q, kw in ps if not kw}] == [q for q, kw in ps if not kw and q in ours]
        for ps in overloads
    )
    assert in_order, f"{where}.{attr}: positional parameters {ours} are not in torch's order {overloads}"


def test_every_public_op_is_declared():
    undeclared = sorted(n for n in minigrad.ops.__all__ if n not in REGISTRY)
    assert not undeclared, f"public ops without a declaration (minigrad/ops/registry.py): {undeclared}"


def test_tensor_methods_come_from_declarations():
    for d in REGISTRY.values():
        if d.method:
            method = getattr(minigrad.Tensor, d.method)
            assert getattr(method, "_declared", False) or d.method in vars(minigrad.Tensor), d.method


def test_signature_lines_are_parsed():
    assert _params_from_text("add(input, other, *, alpha=1, out=None) -> Tensor") == [
        [("input", False), ("other", False), ("alpha", True), ("out", True)]
    ]
