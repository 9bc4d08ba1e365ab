"""Reverse-mode automatic differentiation.

* :mod:`.graph` — ``Op`` (a node: forward on arrays, backward on gradients) and the graph walk;
* :mod:`.grad_mode` — ``no_grad``, ``enable_grad``, ``set_grad_enabled``;
* :mod:`.function` — user-defined differentiable functions in torch's style;
* :mod:`.gradcheck` — finite-difference checks of any op against its backward.
"""

from __future__ import annotations

from .function import Function, FunctionCtx  # noqa: F401
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .gradcheck import GradcheckError, gradcheck  # noqa: F401
from .graph import Op, run_backward


def _seed_grads(outputs, grad_outputs, where: str):
    from ..tensor import Tensor

    seeds = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Tensor):
            raise TypeError(f"{where}: outputs[{i}] is a {type(out).__name__}, expected a Tensor")
        if not out.requires_grad:
            raise RuntimeError(f"{where}: element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if out.array.size != 1:
                raise RuntimeError(
                    f"{where}: grad can be implicitly created only for scalar outputs, but output {i} has shape "
                    f"{tuple(out.shape)}; pass gradient= (a tensor of that shape)"
                )
            xp = out.array.__class__
            seeds.append(_ones_like(out.array, xp))
        else:
            garr = g.array if isinstance(g, Tensor) else g
            if tuple(garr.shape) != tuple(out.shape):
                raise RuntimeError(
                    f"{where}: mismatch in shape: grad_output[{i}] has a shape of {tuple(garr.shape)} and "
                    f"output[{i}] has a shape of {tuple(out.shape)}"
                )
            seeds.append(garr.astype(out.array.dtype, copy=False))
    return seeds


def _ones_like(arr, _):
    from ..backend import get_array_module

    return get_array_module(arr).ones(arr.shape, arr.dtype)


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate into ``.grad`` of the leaves the gradients of ``tensors`` (seeded with ``grad_tensors``)."""
    if create_graph:
        raise NotImplementedError(
            "backward(create_graph=True): minigrad's backward passes work on raw arrays and do not record a graph, "
            "so higher-order gradients are not supported"
        )
    tensors = _as_list(tensors)
    grads = _as_list(grad_tensors) if grad_tensors is not None else [None] * len(tensors)
    seeds = _seed_grads(tensors, grads, "backward")
    if inputs is not None:
        inputs = _as_list(inputs)
        got = run_backward(tensors, seeds, retain_graph=bool(retain_graph), capture=inputs)
        from .graph import _accumulate_into

        for t, g in zip(inputs, got):
            if g is not None:
                _accumulate_into(t, g, False)
        return
    run_backward(tensors, seeds, retain_graph=bool(retain_graph))


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    allow_unused=None,
    materialize_grads=False,
):
    """Return the gradients of ``outputs`` with respect to ``inputs`` without touching any ``.grad``."""
    from ..tensor import Tensor

    if create_graph:
        raise NotImplementedError("autograd.grad(create_graph=True): higher-order gradients are not supported")
    single = isinstance(inputs, Tensor)
    outputs, inputs = _as_list(outputs), _as_list(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"autograd.grad: inputs[{i}] does not require grad")
    gos = _as_list(grad_outputs) if grad_outputs is not None else [None] * len(outputs)
    seeds = _seed_grads(outputs, gos, "autograd.grad")
    got = run_backward(outputs, seeds, retain_graph=bool(retain_graph), capture=inputs)
    result = []
    for i, (t, g) in enumerate(zip(inputs, got)):
        if g is None:
            if materialize_grads:
                g = _ones_like(t.array, None) * 0
            elif not allow_unused:
                raise RuntimeError(
                    f"autograd.grad: inputs[{i}] was not used in the graph of the outputs; pass allow_unused=True "
                    "to get None for it"
                )
        result.append(None if g is None else Tensor._make(g.copy()))
    return tuple(result) if not single else (result[0],)


__all__ = [
    "Function",
    "FunctionCtx",
    "GradcheckError",
    "Op",
    "backward",
    "enable_grad",
    "grad",
    "gradcheck",
    "inference_mode",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
]
