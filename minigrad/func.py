"""``minigrad.func``: a module's forward with other weights, and function transforms, as ``torch.func``.

* ``functional_call(module, params, args)``: run ``module`` with some of its parameters and buffers
  replaced by the given tensors (dual tensors, a meta-learner's adapted weights), then put them back;
* ``jvp(func, primals, tangents)``: ``(func(*primals), J tangents)`` in one forward pass (forward mode);
* ``vjp(func, *primals)``: ``(func(*primals), vjp_fn)`` where ``vjp_fn(v)`` is ``v^T J``;
* ``grad(func, argnums=0)``: the function that returns the gradient of a scalar ``func``.

These are written over minigrad's autograd (reverse mode and :mod:`minigrad.autograd.forward_ad`); they do
not batch (no ``vmap``).
"""

from __future__ import annotations

import contextlib

from .autograd import forward_ad
from .autograd.engine import grad as _grad
from .autograd.grad_mode import enable_grad
from .tensor import Tensor

__all__ = ["functional_call", "jvp", "vjp", "grad"]


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """``module(*args, **kwargs)`` with the named tensors in place of its own parameters and buffers."""
    dicts = parameter_and_buffer_dicts
    replacements: dict = {}
    for d in dicts if isinstance(dicts, (tuple, list)) else (dicts,):
        for name in d:
            if name in replacements:
                raise ValueError(f"functional_call: {name!r} appeared in more than one of the given dicts")
        replacements.update(d)
    if strict:
        own = {n for n, _ in module.named_parameters()} | {n for n, _ in module.named_buffers()}
        missing, unexpected = sorted(own - set(replacements)), sorted(set(replacements) - own)
        if missing or unexpected:
            raise RuntimeError(
                f"Error(s) in reparametrizing for {type(module).__name__}: missing keys {missing}, "
                f"unexpected keys {unexpected}"
            )
    args = () if args is None else (args if isinstance(args, tuple) else (args,))
    with _swapped(module, replacements):
        return module(*args, **(kwargs or {}))


@contextlib.contextmanager
def _swapped(module, replacements: dict):
    """Set each ``dotted.name`` of ``module`` to its replacement for the block, then restore the originals."""
    saved = []
    try:
        for name, value in replacements.items():
            owner, attr = _owner(module, name)
            saved.append((owner, attr, owner._parameters.get(attr), owner._buffers.get(attr)))
            owner._parameters.pop(attr, None)
            owner._buffers.pop(attr, None)
            object.__setattr__(owner, attr, value)
        yield
    finally:
        for owner, attr, param, buf in reversed(saved):
            owner.__dict__.pop(attr, None)
            if param is not None:
                owner._parameters[attr] = param
            if buf is not None:
                owner._buffers[attr] = buf


def _owner(module, dotted: str):
    *path, attr = dotted.split(".")
    for part in path:
        module = getattr(module, part)
    if attr not in module._parameters and attr not in module._buffers:
        raise AttributeError(f"functional_call: {type(module).__name__} has no parameter or buffer {attr!r}")
    return module, attr


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """``(func(*primals), J tangents)``: one forward pass with dual tensors."""
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise RuntimeError(
            f"jvp: expected primals and tangents to have the same length, got {len(primals)} and {len(tangents)}"
        )
    with forward_ad.dual_level():
        duals = [forward_ad.make_dual(p, t) for p, t in zip(primals, tangents)]
        out = func(*duals)
        aux = None
        if has_aux:
            out, aux = out
        outs = out if isinstance(out, tuple) else (out,)
        unpacked = [forward_ad.unpack_dual(o) for o in outs]
        primal_out = tuple(u.primal.detach() for u in unpacked)
        tangent_out = tuple(u.tangent if u.tangent is not None else u.primal.detach() * 0 for u in unpacked)
    if not isinstance(out, tuple):
        primal_out, tangent_out = primal_out[0], tangent_out[0]
    return (primal_out, tangent_out, aux) if has_aux else (primal_out, tangent_out)


def vjp(func, *primals, has_aux=False):
    """``(func(*primals), vjp_fn)``; ``vjp_fn(v)`` returns ``v^T J`` for each primal."""
    leaves = tuple(p.detach().requires_grad_(True) for p in primals)
    with enable_grad():
        out = func(*leaves)
    aux = None
    if has_aux:
        out, aux = out
    outs = out if isinstance(out, tuple) else (out,)

    def vjp_fn(*cotangents):
        got = _grad(list(outs), list(leaves), list(cotangents), retain_graph=True, allow_unused=True)
        return tuple(g if g is not None else leaf.detach() * 0 for g, leaf in zip(got, leaves))

    detached = tuple(o.detach() for o in outs)
    result = detached if isinstance(out, tuple) else detached[0]
    return (result, vjp_fn, aux) if has_aux else (result, vjp_fn)


def grad(func, argnums=0, has_aux=False):
    """The function ``x -> d func(x) / d x[argnums]`` for a scalar ``func``."""

    def gradient(*args, **kwargs):
        nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        args = list(args)
        for i in nums:
            if not isinstance(args[i], Tensor):
                raise TypeError(f"grad: argument {i} must be a Tensor, got {type(args[i]).__name__}")
            args[i] = args[i].detach().requires_grad_(True)
        with enable_grad():
            out = func(*args, **kwargs)
            aux = None
            if has_aux:
                out, aux = out
            if out.numel() != 1:
                raise RuntimeError(
                    f"grad: expected func to return a single-element tensor, got shape {tuple(out.shape)}"
                )
            got = _grad(out, [args[i] for i in nums], allow_unused=True, materialize_grads=True)
        result = got[0] if isinstance(argnums, int) else tuple(got)
        return (result, aux) if has_aux else result

    return gradient
