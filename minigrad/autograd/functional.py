"""``minigrad.autograd.functional``: derivatives of a whole function, as torch's module of that name.

* ``vjp(func, inputs, v)``: ``v^T J``, one reverse pass;
* ``jacobian(func, inputs)``: every row of ``J``, one reverse pass per output element;
* ``jvp(func, inputs, v)``: ``J v``, here computed from the Jacobian (minigrad has no forward mode yet,
  so this costs one reverse pass per output element; exact, only slower than torch's trick).

Inputs and outputs may be one tensor or a tuple of tensors; results keep that structure, as torch's do.
``hessian``, ``hvp`` and ``vhp`` need the derivative of a backward pass (``create_graph=True``), which
minigrad does not record yet: they are not offered rather than approximated.
"""

from __future__ import annotations

from ..creation import zeros
from ..ops.shape import stack
from ..tensor import Tensor
from .engine import grad
from .grad_mode import enable_grad

__all__ = ["vjp", "jvp", "jacobian"]


def _as_tuple(x, what: str, fn: str) -> tuple[bool, tuple]:
    is_tuple = isinstance(x, (tuple, list))
    items = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"The {what} given to {fn} must be either a Tensor or a tuple of Tensors but the value at index {i} "
                f"has type {type(t)}."
            )
    return is_tuple, items


def _no_create_graph(create_graph: bool, fn: str) -> None:
    if create_graph:
        raise NotImplementedError(
            f"{fn}(create_graph=True) needs the derivative of a backward pass, which minigrad does not record yet"
        )


def _prepare(inputs):
    """Fresh leaves that require grad, sharing the inputs' memory (as torch's functional API does)."""
    return tuple(t.detach().requires_grad_(True) for t in inputs)


def _run(func, inputs, fn: str):
    with enable_grad():
        out = func(*inputs)
    is_tuple, outputs = _as_tuple(out, "outputs of the user-provided function", fn)
    return is_tuple, outputs


def _grads(outputs, inputs, grad_outputs, strict: bool, fn: str) -> tuple:
    """d(sum_k <outputs_k, grad_outputs_k>)/d(inputs), zeros where an input is not used (torch's choice)."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if strict and len(pairs) < len(outputs):
        i = next(i for i, o in enumerate(outputs) if not o.requires_grad)
        raise RuntimeError(
            f"Output {i} of the user-provided function does not require gradients. The outputs must be "
            "computed in a differentiable manner from the input when running in strict mode."
        )
    if not pairs:
        return tuple(zeros(t.shape, dtype=t.dtype, device=t.device) for t in inputs)
    got = grad([o for o, _ in pairs], inputs, [g for _, g in pairs], retain_graph=True, allow_unused=True)
    if strict and any(g is None for g in got):
        i = next(i for i, g in enumerate(got) if g is None)
        raise RuntimeError(
            f"The output of the user-provided function is independent of input {i}. This is not allowed in strict mode."
        )
    return tuple(zeros(t.shape, dtype=t.dtype, device=t.device) if g is None else g for t, g in zip(inputs, got))


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``: the outputs and the vector-Jacobian product, one reverse pass."""
    _no_create_graph(create_graph, "vjp")
    in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
    inputs = _prepare(inputs)
    out_tuple, outputs = _run(func, inputs, "vjp")
    if v is None:
        if len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError(
                "The vector v can only be None if the user-provided function returns a single Tensor with a "
                "single element."
            )
        v = (outputs[0].new_ones(()).reshape(outputs[0].shape),)
    else:
        _, v = _as_tuple(v, "v", "vjp")
    if len(v) != len(outputs):
        raise RuntimeError(f"v has {len(v)} tensors, but the user-provided function returned {len(outputs)}")
    result = _grads(outputs, inputs, v, strict, "vjp")
    outputs = tuple(o.detach() for o in outputs)
    return (outputs if out_tuple else outputs[0]), (result if in_tuple else result[0])


def jacobian(
    func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False, strategy="reverse-mode"
):
    """The Jacobian of ``func`` at ``inputs``: one tensor of shape ``output.shape + input.shape`` per
    (output, input) pair, nested as torch nests them. ``vectorize`` is accepted and changes nothing."""
    _no_create_graph(create_graph, "jacobian")
    if strategy != "reverse-mode":
        raise NotImplementedError(f"jacobian(strategy={strategy!r}): minigrad has reverse mode only")
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    inputs = _prepare(inputs)
    out_tuple, outputs = _run(func, inputs, "jacobian")
    rows = []
    for out in outputs:
        per_input = [[] for _ in inputs]
        flat = out.reshape(-1)
        for k in range(flat.numel()):
            seed = zeros(flat.shape, dtype=out.dtype, device=out.device)
            seed[k] = 1
            grads = _grads((out,), inputs, (seed.reshape(out.shape),), strict, "jacobian")
            for j, g in enumerate(grads):
                per_input[j].append(g)
        rows.append(tuple(_stack_rows(per_input[j], out, t) for j, t in enumerate(inputs)))
    if not out_tuple:
        return rows[0] if in_tuple else rows[0][0]
    return tuple(r if in_tuple else r[0] for r in rows)


def _stack_rows(grads, out, inp):
    shape = tuple(out.shape) + tuple(inp.shape)
    if not grads:  # an output with no elements
        return zeros(shape, dtype=inp.dtype, device=inp.device)
    return stack(grads).reshape(shape)


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)``: the outputs and the Jacobian-vector product."""
    _no_create_graph(create_graph, "jvp")
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
    if v is None:
        if len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError(
                "The vector v can only be None if the input to the user-provided function is a single Tensor "
                "with a single element."
            )
        v = (inputs[0].new_ones(()).reshape(inputs[0].shape),)
    else:
        _, v = _as_tuple(v, "v", "jvp")
    if len(v) != len(inputs):
        raise RuntimeError(f"v has {len(v)} tensors, but there are {len(inputs)} inputs")
    out_tuple, outputs = _run(func, _prepare(inputs), "jvp")
    jac = jacobian(func, tuple(inputs), strict=strict)  # (outputs) x (inputs) blocks
    jac = jac if out_tuple else (jac,)
    result = []
    for i, out in enumerate(outputs):
        total = zeros(out.shape, dtype=out.dtype, device=out.device)
        for j, vj in enumerate(v):
            block = jac[i][j].reshape(out.numel(), vj.numel())
            total = total + (block @ vj.reshape(-1).to(block.dtype)).reshape(out.shape)
        result.append(total)
    outputs = tuple(o.detach() for o in outputs)
    return (outputs if out_tuple else outputs[0]), (tuple(result) if out_tuple else result[0])
