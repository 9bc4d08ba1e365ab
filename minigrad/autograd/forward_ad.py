"""Forward-mode differentiation: dual tensors that carry a tangent through every op, as ``torch.autograd.forward_ad``.

Inside ``with dual_level():`` a tensor made by ``make_dual(x, t)`` carries a *tangent* ``t`` (a direction
in which ``x`` moves); every op applied to it also computes the tangent of its result, the directional
derivative ``J t``, and ``unpack_dual(y)`` returns ``(primal, tangent)``. One forward pass gives a whole
Jacobian-vector product, where reverse mode would need one pass per output element.

The tangent rule of an op is derived from its backward, which every op has: ``g(u) = J^T u`` is linear in
``u``, so the gradient of ``<g(u), t>`` with respect to ``u`` is ``J t``. That is the backward recorded
as a graph (:mod:`.recorded`) and differentiated once more, so every op that supports ``create_graph``
has its tangent rule too, exactly. An ``autograd.Function`` gives its own rule as ``jvp``.
"""

from __future__ import annotations

import contextlib
import weakref
from collections import namedtuple

from ..tensor import Tensor
from . import graph

__all__ = ["dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor", "enter_dual_level", "exit_dual_level"]

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])

# id(tensor) -> (weak reference to the tensor, its tangent): by id, as a tensor's == is element-wise
_TANGENTS: dict = {}
_LEVEL = [None]  # the open level (0), or None


def enter_dual_level() -> int:
    """Open a forward-AD level (``dual_level`` does this); only one can be open at a time, as in torch."""
    if _LEVEL[0] is not None:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _LEVEL[0] = 0
    graph.dual_state[:] = [True, _dual_call]
    return 0


def exit_dual_level(*, level=None) -> None:
    """Close the open level: every tangent made in it is dropped (the tensors stay, as plain tensors)."""
    if _LEVEL[0] is None or (level is not None and level != _LEVEL[0]):
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created")
    _LEVEL[0] = None
    graph.dual_state[:] = [False, None]
    _TANGENTS.clear()


@contextlib.contextmanager
def dual_level():
    """A block in which dual tensors carry tangents through every op."""
    level = enter_dual_level()
    try:
        yield level
    finally:
        exit_dual_level(level=level)


def _check_level(fn: str, level) -> None:
    if _LEVEL[0] is None:
        raise RuntimeError(
            f"{fn}: a forward AD level must be open (use `with forward_ad.dual_level():`) to make or read dual tensors"
        )
    if level is not None and level != _LEVEL[0]:
        raise RuntimeError(f"{fn}: level {level} is not the open forward AD level ({_LEVEL[0]})")


def make_dual(tensor: Tensor, tangent: Tensor, *, level=None) -> Tensor:
    """A view of ``tensor`` that carries ``tangent`` (same shape; a floating dtype)."""
    _check_level("make_dual", level)
    if not isinstance(tensor, Tensor) or not isinstance(tangent, Tensor):
        raise TypeError("make_dual: expected two tensors, the primal and its tangent")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(
            f"Trying to set a forward gradient that has a different size than that of the original Tensor, "
            f"this is not supported. Tensor is of size {list(tensor.shape)} while the given forward gradient "
            f"is of size {list(tangent.shape)}."
        )
    if not tensor.is_floating_point():
        raise ValueError(f"make_dual: expected a floating-point primal, got {tensor.dtype}")
    if not tangent.is_floating_point():
        raise ValueError(f"make_dual: expected a floating-point tangent, got {tangent.dtype}")
    if tangent.dtype != tensor.dtype:  # torch converts it (a copy)
        tangent = Tensor._make(tangent.array.astype(tensor.array.dtype))
    dual = tensor.view_as(tensor) if tensor.requires_grad else Tensor._make(tensor.array)
    # the tangent itself when it is laid out like the primal (torch's rule), else a copy laid out so
    same_layout = tangent.array.strides == tensor.array.strides and not tangent.requires_grad
    _set(dual, tangent if same_layout else Tensor._make(tangent.array.copy(order="K")))
    return dual


def unpack_dual(tensor: Tensor, *, level=None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of ``tensor``: a view without its tangent, and the tangent (None if it has none)."""
    if _LEVEL[0] is None:
        return UnpackedDualTensor(tensor, None)
    _check_level("unpack_dual", level)
    primal = tensor.view_as(tensor) if tensor.requires_grad else Tensor._make(tensor.array)
    return UnpackedDualTensor(primal, tangent_of(tensor))


def tangent_of(t) -> Tensor | None:
    entry = _TANGENTS.get(id(t))
    return entry[1] if entry is not None and entry[0]() is t else None


def take_tangent(t: Tensor, new: Tensor) -> None:
    """After an in-place write of ``new`` into ``t``: ``t``'s tangent is now ``new``'s."""
    tangent = tangent_of(new)
    if tangent is not None:
        _set(t, tangent)
    else:
        _TANGENTS.pop(id(t), None)


def set_tangent(t: Tensor, tangent: Tensor) -> None:
    """Give ``t`` a tangent (an autograd.Function's jvp result), checked like make_dual's."""
    if tuple(tangent.shape) != tuple(t.shape):
        raise RuntimeError(
            f"Trying to set a forward gradient that has a different size than that of the original Tensor, "
            f"this is not supported. Tensor is of size {list(t.shape)} while the given forward gradient is of "
            f"size {list(tangent.shape)}."
        )
    _set(t, tangent.detach())


def _set(t: Tensor, tangent: Tensor) -> None:
    key = id(t)
    _TANGENTS[key] = (weakref.ref(t, lambda _ref: _TANGENTS.pop(key, None)), tangent)


# ---------------------------------------------------------------------------------- propagation
@contextlib.contextmanager
def paused():
    """Inside an open level: ops called in this block carry no tangents (an op's own tangent computation, an
    autograd.Function's forward, whose tangents come from its jvp)."""
    graph.dual_state[0] = False
    try:
        yield
    finally:
        graph.dual_state[0] = True


def _dual_call(op, inputs):
    """``op(*inputs)`` inside a level: the plain result, and its tangent when an input carries one."""
    with paused():
        out = op(*inputs)
        tangents = [tangent_of(x) for x in inputs]
        if any(t is not None for t in tangents) and out.array.dtype.kind in "fc":
            _set(out, _op_tangent(op, inputs, tangents, out))
    return out


def _op_tangent(op, inputs, tangents, out) -> Tensor:
    """``J t`` for ``op`` at ``inputs``: the op's own rule (``jvp``) if it has one, else the derivative in ``u``
    of ``<J^T u, t>`` (see the module's docstring)."""
    import copy

    rule = getattr(op, "jvp", None)
    if rule is not None:  # an autograd.Function's jvp, on a tangent for every input (zeros where none)
        full = [Tensor._make(x.array * 0) if t is None else t for x, t in zip(inputs, tangents)]
        return rule(*full)

    from .engine import grad
    from .grad_mode import enable_grad
    from .recorded import recorded_backward

    twin = copy.copy(op)
    leaves = [Tensor._make(x.array, t is not None) for x, t in zip(inputs, tangents)]
    twin.record(leaves)  # its edges are now the inputs that carry a tangent
    u = Tensor._make(out.array * 0, True)
    with enable_grad():
        vjps = recorded_backward(twin, u)
        terms = [(g * t).sum() for g, t in zip(vjps, tangents) if g is not None and t is not None and g.requires_grad]
        if not terms:
            return Tensor._make(out.array * 0)
        (jt,) = grad(sum(terms[1:], terms[0]), u, allow_unused=True, materialize_grads=True)
    return jt.detach()
