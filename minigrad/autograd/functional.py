"""``minigrad.autograd.functional``: derivatives of a whole function, as torch's module of that name.

* ``vjp(func, inputs, v)``: ``v^T J``, one reverse pass;
* ``jacobian(func, inputs)``: every row of ``J``, one reverse pass per output element;
* ``jvp(func, inputs, v)``: ``J v`` by the double-vjp trick: ``g(u) = u^T J`` is linear in ``u``, so its
  own vjp with ``v`` is ``J v`` (two reverse passes, the second through the recorded first);
* ``hessian(func, inputs)``: the Jacobian of the gradient; ``vhp`` / ``hvp``: ``v^T H`` and ``H v`` as
  the gradient of ``<grad func, v>`` (equal, as a Hessian is symmetric).

Inputs and outputs may be one tensor or a tuple of tensors; results keep that structure, as torch's do.
``create_graph=True`` keeps the results differentiable (connected to the inputs), as in torch.
"""

from __future__ import annotations

from ..creation import zeros
from ..ops.shape import stack
from ..tensor import Tensor
from .engine import grad
from .grad_mode import enable_grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


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


def _vectors(v, against, fn: str, single: str, count: str) -> tuple:
    """``v`` as a tuple matching ``against`` (the outputs for vjp, the inputs otherwise); None means ones,
    allowed only for one single-element tensor, as in torch. ``single`` and ``count`` (with ``{n}``) word
    the errors."""
    if v is None:
        if len(against) != 1 or against[0].numel() != 1:
            raise RuntimeError(f"The vector v can only be None if {single} a single Tensor with a single element.")
        return (against[0].new_ones(()).reshape(against[0].shape),)
    _, v = _as_tuple(v, "v", fn)
    if len(v) != len(against):
        raise RuntimeError(f"v has {len(v)} tensors, but " + count.format(n=len(against)))
    return v


def _prepare(inputs, create_graph: bool = False):
    """Tensors that require grad, sharing the inputs' memory (as torch's functional API does): fresh
    leaves, or with ``create_graph`` views that keep an input's own graph, so results stay connected."""
    return tuple(t.view_as(t) if create_graph and t.requires_grad else t.detach().requires_grad_(True) for t in inputs)


def _post(tensors, create_graph: bool) -> tuple:
    return tuple(tensors) if create_graph else tuple(t.detach() for t in tensors)


def _run(func, inputs, fn: str):
    with enable_grad():
        out = func(*inputs)
    is_tuple, outputs = _as_tuple(out, "outputs of the user-provided function", fn)
    return is_tuple, outputs


def _grads(outputs, inputs, grad_outputs, strict: bool, fn: str, create_graph: bool = False) -> tuple:
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
    got = grad(
        [o for o, _ in pairs],
        inputs,
        [g for _, g in pairs],
        retain_graph=True,
        create_graph=create_graph,
        allow_unused=True,
    )
    if strict and any(g is None for g in got):
        i = next(i for i, g in enumerate(got) if g is None)
        raise RuntimeError(
            f"The output of the user-provided function is independent of input {i}. This is not allowed in strict mode."
        )
    return tuple(zeros(t.shape, dtype=t.dtype, device=t.device) if g is None else g for t, g in zip(inputs, got))


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``: the outputs and the vector-Jacobian product, one reverse pass."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
    inputs = _prepare(inputs, create_graph)
    out_tuple, outputs = _run(func, inputs, "vjp")
    v = _vectors(v, outputs, "vjp", "the user-provided function returns", "the user-provided function returned {n}")
    result = _post(_grads(outputs, inputs, v, strict, "vjp", create_graph), create_graph)
    outputs = _post(outputs, create_graph)
    return (outputs if out_tuple else outputs[0]), (result if in_tuple else result[0])


def jacobian(
    func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False, strategy="reverse-mode"
):
    """The Jacobian of ``func`` at ``inputs``: one tensor of shape ``output.shape + input.shape`` per
    (output, input) pair, nested as torch nests them. Reverse mode builds it a row (one output element) per
    pass; ``strategy="forward-mode"`` a column (one input element) per forward pass with dual tensors,
    fewer passes when the inputs are the smaller side. ``vectorize`` is accepted and changes nothing."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f'Expected strategy to be either "forward-mode" or "reverse-mode". Got {strategy!r}')
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError(
            'torch.autograd.functional.jacobian: `strategy="forward-mode"` requires `vectorize=True`'
        )
    if strategy == "forward-mode" and create_graph:
        raise NotImplementedError(
            "torch.autograd.functional.jacobian: `strategy='forward-mode'` does not support `create_graph=True`"
        )
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    if strategy == "forward-mode":
        return _forward_jacobian(func, inputs, in_tuple)
    inputs = _prepare(inputs, create_graph)
    out_tuple, outputs = _run(func, inputs, "jacobian")
    rows = []
    for out in outputs:
        per_input = [[] for _ in inputs]
        flat = out.reshape(-1)
        for k in range(flat.numel()):
            seed = zeros(flat.shape, dtype=out.dtype, device=out.device)
            seed[k] = 1
            grads = _grads((out,), inputs, (seed.reshape(out.shape),), strict, "jacobian", create_graph)
            for j, g in enumerate(_post(grads, create_graph)):
                per_input[j].append(g)
        rows.append(tuple(_stack_rows(per_input[j], out, t) for j, t in enumerate(inputs)))
    if not out_tuple:
        return rows[0] if in_tuple else rows[0][0]
    return tuple(r if in_tuple else r[0] for r in rows)


def _forward_jacobian(func, inputs, in_tuple):
    """The Jacobian a column at a time: input element k moved along e_k in one dual forward pass."""
    from . import forward_ad

    inputs = tuple(t.detach() for t in inputs)
    blocks: dict = {}
    out_tuple = False
    for j, x in enumerate(inputs):
        columns = []
        for k in range(x.numel()):
            direction = zeros(x.numel(), dtype=x.dtype, device=x.device)
            direction[k] = 1
            with forward_ad.dual_level():
                duals = [
                    forward_ad.make_dual(t, direction.reshape(t.shape)) if i == j else t for i, t in enumerate(inputs)
                ]
                out_tuple, outputs = _as_tuple(func(*duals), "outputs of the user-provided function", "jacobian")
                unpacked = [forward_ad.unpack_dual(o) for o in outputs]
                columns.append([u.tangent if u.tangent is not None else u.primal.detach() * 0 for u in unpacked])
                shapes = [tuple(u.primal.shape) for u in unpacked]
        for i, shape in enumerate(shapes if x.numel() else []):
            cols = [c[i].reshape(-1) for c in columns]
            blocks[i, j] = stack(cols, dim=1).reshape(shape + tuple(x.shape))
    n_out = 1 + max((i for i, _ in blocks), default=0)
    rows = [tuple(blocks[i, j] for j in range(len(inputs))) for i in range(n_out)]
    if not out_tuple:
        return rows[0] if in_tuple else rows[0][0]
    return tuple(r if in_tuple else r[0] for r in rows)


def _stack_rows(grads, out, inp):
    shape = tuple(out.shape) + tuple(inp.shape)
    if not grads:  # an output with no elements
        return zeros(shape, dtype=inp.dtype, device=inp.device)
    return stack(grads).reshape(shape)


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)``: the outputs and the Jacobian-vector product (the double-vjp trick)."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
    v = _vectors(v, inputs, "jvp", "the input to the user-provided function is", "there are {n} inputs")
    inputs = _prepare(inputs, create_graph)
    out_tuple, outputs = _run(func, inputs, "jvp")
    # g(u) = u^T J is linear in u; its vjp with v is J v. The u are dummies: their values never matter.
    us = tuple(zeros(o.shape, dtype=o.dtype, device=o.device).requires_grad_(True) for o in outputs)
    with enable_grad():
        g = _grads(outputs, inputs, us, strict, "jvp", create_graph=True)
        pairs = [(gi, vi) for gi, vi in zip(g, v) if gi.requires_grad]
        if pairs:
            got = grad([p for p, _ in pairs], us, [q for _, q in pairs], create_graph=create_graph, allow_unused=True)
        else:
            got = (None,) * len(us)
    result = tuple(zeros(u.shape, dtype=u.dtype, device=u.device) if r is None else r for u, r in zip(us, got))
    result, outputs = _post(result, create_graph), _post(outputs, create_graph)
    return (outputs if out_tuple else outputs[0]), (result if out_tuple else result[0])


def _scalar_output(func, inputs, fn: str):
    out_tuple, outputs = _run(func, inputs, fn)
    if out_tuple or outputs[0].numel() != 1:
        raise RuntimeError(f"The function given to {fn} should return a single Tensor with a single element.")
    return outputs[0]


def hessian(
    func,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
):
    """The Hessian of a scalar ``func``: the Jacobian of its gradient, one block per pair of inputs."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs):
        out = _scalar_output(func, xs, "hessian")
        return _grads((out.reshape(()),), xs, (out.new_ones(()),), strict, "hessian", create_graph=True)

    blocks = jacobian(gradient, inputs, create_graph=create_graph, strict=strict)
    if in_tuple:
        return blocks
    return blocks[0][0]


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)`` for a scalar ``func``: the gradient of ``<grad func, v>``."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)`` for a scalar ``func`` (equal to ``vhp``: a Hessian is symmetric)."""
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _hessian_product(func, inputs, v, create_graph, strict, fn):
    in_tuple, inputs = _as_tuple(inputs, "inputs", fn)
    v = _vectors(v, inputs, fn, "the input to the user-provided function is", "there are {n} inputs")
    inputs = _prepare(inputs, create_graph)
    out = _scalar_output(func, inputs, fn)
    with enable_grad():
        g = _grads((out,), inputs, (out.new_ones(out.shape),), strict, fn, create_graph=True)
        pairs = [(gi, vi) for gi, vi in zip(g, v) if gi.requires_grad]
        got = _grads(tuple(p for p, _ in pairs), inputs, tuple(q for _, q in pairs), strict, fn, create_graph)
    result = _post(got, create_graph)
    out = _post((out,), create_graph)[0]
    return out, (result if in_tuple else result[0])
