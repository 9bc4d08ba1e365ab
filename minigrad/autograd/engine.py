"""The backward pass: from the roots' gradients to every leaf's, one node at a time.

:func:`run_backward` does four things, each a small function below:

1. **order** the nodes reachable from the roots so that a node comes after every node that sends it a
   gradient (:func:`topological_order`, Kahn's algorithm: no recursion, so a chain of 100,000 ops works);
2. **propagate**: run each node's ``backward`` on the sum of the gradients that reached it, after its
   hooks (:meth:`_Pass.visit`);
3. **route** each input's gradient, reduced to the input's shape and dtype (``graph.fit``), to the node
   that made the input or, for a leaf, to the leaf (:meth:`_Pass.route`);
4. **accumulate** into the leaves' ``.grad`` (or hand the gradients back, for ``autograd.grad``).

``backward`` and ``grad`` at the bottom are the public entry points (``Tensor.backward`` calls the first).
"""

from __future__ import annotations

import contextlib

from ..backend import get_array_module
from ..tensor import Tensor
from .grad_mode import enable_grad
from .graph import _FREED_MSG, Op, fit, writes
from .saved_hooks import unpack_saved

__all__ = ["backward", "grad", "run_backward", "topological_order"]


# ---------------------------------------------------------------------------------- 1. order
def _count_incoming(starts) -> dict:
    """For every node reachable from ``starts``: how many edges lead into it."""
    deps: dict = {}
    seen, stack = set(starts), list(starts)
    while stack:
        for f in stack.pop().edges:
            if isinstance(f, Op):
                deps[f] = deps.get(f, 0) + 1
                if f not in seen:
                    seen.add(f)
                    stack.append(f)
    return deps


def topological_order(starts) -> list:
    """The nodes reachable from ``starts``, each after every node that sends it a gradient."""
    deps = _count_incoming(starts)
    order, ready = [], [n for n in starts if deps.get(n, 0) == 0]
    while ready:
        node = ready.pop()
        order.append(node)
        for f in node.edges:
            if isinstance(f, Op):
                deps[f] -= 1
                if not deps[f]:
                    ready.append(f)
    return order


def _leading_to(starts, leaf_ids, target_nodes) -> set:
    """The nodes from which a target (a leaf by id, or a node's output) can be reached through edges.

    An iterative post-order walk: a node is needed when one of its edges is a target leaf, a target
    node, or a needed node. ``autograd.grad`` runs only these, as torch does.
    """
    needed: set = set()
    done: set = set()
    stack = [(n, False) for n in starts]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            done.add(node)
            if any(_is_target(f, leaf_ids, target_nodes, needed) for f in node.edges):
                needed.add(node)
        elif node not in done:
            stack.append((node, True))
            stack.extend((f, False) for f in node.edges if isinstance(f, Op) and f not in done)
    return needed


def _is_target(f, leaf_ids, target_nodes, needed) -> bool:
    if f is None:
        return False
    return (f in target_nodes or f in needed) if isinstance(f, Op) else id(f) in leaf_ids


# ------------------------------------------------------------------------ gradient buffers
def _add(slot, g):
    """Accumulate ``g`` into a [array, owned] slot: copy once, then add in place."""
    if slot[1]:
        slot[0] += g
    else:
        slot[0] = slot[0] + g
        slot[1] = True


def _accumulate_into(t, g, owned):
    """``t.grad += g``, giving ``t`` its own contiguous buffer the first time."""
    if t.grad is None:
        t.grad = Tensor._make(g if owned and g.flags.c_contiguous else g.copy())
        return
    acc = t.grad.array
    if acc.shape == g.shape and getattr(acc.flags, "writeable", True):  # CuPy flags have no writeable
        acc += g
    else:
        t.grad = Tensor._make(acc + g)


def _call_hooks(hooks, g):
    for hook in hooks:
        res = hook(Tensor._make(g))
        if res is not None:
            g = res.array if isinstance(res, Tensor) else res
    return g


def _call_node_hooks(hooks, grads, *grad_outputs) -> tuple:
    """Run a node's pre-hooks (``hook(grad_outputs)``) or hooks (``hook(grad_inputs, grad_outputs)``) on
    tensors; a hook that returns a tuple replaces the gradients it was given."""
    wrap = tuple(None if g is None else Tensor._make(g) for g in grads)
    extra = tuple(Tensor._make(g) for g in grad_outputs)
    for hook in hooks:
        res = hook(wrap, *((extra,) if grad_outputs else ()))
        if res is not None:
            wrap = tuple(res)
    return tuple(None if t is None else (t.array if isinstance(t, Tensor) else t) for t in wrap)


class _Pass:
    """One backward pass: the gradients waiting at nodes and leaves, and what the caller asked for."""

    def __init__(self, retain_graph, capture, tracer):
        self.node_grads = {}  # node -> [array, owned]
        self.leaf_grads = {}  # id(leaf) -> (leaf, [array, owned])
        self.retain_graph, self.tracer = retain_graph, tracer
        self.capture = capture
        self.captured_nodes: dict = {}  # node -> indexes into capture of the tensors it produced
        for i, t in enumerate(capture or ()):
            if t.grad_fn is not None:
                self.captured_nodes.setdefault(t.grad_fn, []).append(i)
        self.results = [None] * len(capture or ())
        self.needed = None  # autograd.grad: the nodes that lead to a captured tensor

    def send(self, f, g):
        """Give gradient ``g`` to ``f``: a node (summed with what reached it already) or a leaf."""
        if isinstance(f, Op):
            if f in self.node_grads:
                _add(self.node_grads[f], g)
            else:
                self.node_grads[f] = [g, False]
        elif id(f) in self.leaf_grads:
            _add(self.leaf_grads[id(f)][1], g)
        else:
            self.leaf_grads[id(f)] = (f, [g, False])

    def seed(self, roots, root_grads) -> list:
        """Put the roots' gradients in place; returns the nodes the walk starts from."""
        starts = []
        for t, g in zip(roots, root_grads):
            if not t.requires_grad:
                raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
            node = t.grad_fn
            if node is not None and node not in self.node_grads:
                starts.append(node)
            self.send(t if node is None else node, g)
        return starts

    # ------------------------------------------------------------------ 2. propagate
    def visit(self, node) -> None:
        """Run ``node`` on the gradient that reached it, route the results, free what it saved."""
        inputs = node.inputs
        slot = self.node_grads.pop(node, None)
        skip = self.needed is not None and node not in self.needed  # nothing asked for lies below it
        grads = () if slot is None else self._run(node, slot, inputs, skip)
        if skip:
            inputs = None  # it did not run, so it is not released either
        fits = self.route(node, grads, inputs) if grads else None
        if not self.retain_graph and inputs is not None:
            node.release(fits)

    def _run(self, node, slot, inputs, skip) -> tuple:
        g = slot[0]
        if node._hooks:
            g = _call_hooks(node._hooks, g)
        if node._retain is not None:
            out = node._retain()
            if out is not None:  # retain_grad() fills .grad under autograd.grad too, as in torch
                _accumulate_into(out, g, slot[1])
        for i in self.captured_nodes.get(node, ()):
            self.results[i] = g
        if skip:
            return ()
        if node._pre_hooks:
            g = _call_node_hooks(node._pre_hooks, (g,))[0]
        grads = _node_backward(node, g, inputs, self.tracer)
        if node._post_hooks:
            grads = _call_node_hooks(node._post_hooks, grads, g)
        return grads

    # ------------------------------------------------------------------ 3. route
    def route(self, node, grads, inputs) -> dict:
        """Send each input's gradient on, reduced to the input's shape and dtype. Returns the shapes that
        needed reducing (kept by ``release`` so that a node that saved nothing can run again)."""
        fits = {}
        for i, f in enumerate(node.edges):
            gx = grads[i]
            if f is None or gx is None:
                continue
            if inputs is not None:
                xa = inputs[i].array
                if gx.shape != xa.shape or (gx.dtype is not xa.dtype and gx.dtype != xa.dtype):
                    gx = fit(gx, xa.shape, xa.dtype)
                    fits[i] = (xa.shape, xa.dtype)
            elif i in node._fits:  # a second run of a released node that saved nothing
                gx = fit(gx, *node._fits[i])
            self.send(f, gx)
        return fits

    # ------------------------------------------------------------------ 4. accumulate
    def finish(self):
        """Accumulate into the leaves' ``.grad``; or, for autograd.grad, return the captured gradients."""
        if self.capture is not None:
            return self._captured()
        for leaf, slot in self.leaf_grads.values():
            g = _call_hooks(leaf._hooks, slot[0]) if leaf._hooks else slot[0]
            if leaf.requires_grad:  # requires_grad_(False) since it was used: its hooks run, nothing accumulates
                _accumulate_into(leaf, g, slot[1])
        return None

    def _captured(self) -> list:
        for i, t in enumerate(self.capture):
            if t.grad_fn is None and id(t) in self.leaf_grads:
                leaf, slot = self.leaf_grads[id(t)]
                self.results[i] = _call_hooks(leaf._hooks, slot[0]) if leaf._hooks else slot[0]
        return self.results


def _node_backward(node, g, inputs, tracer) -> tuple:
    """Run ``node.backward(g)`` after checking that what it saved is still there and unmodified."""
    versions = node._versions
    if versions is not None and versions[0] != writes[0]:
        node.check_saved()  # a write happened since the node was recorded (or it was freed): did it matter?
        unpack_saved(node)  # saved_tensors_hooks may have taken what backward reads
    elif inputs is None and node._fits is None:  # released, and never ran: shapes unknown
        raise RuntimeError(_FREED_MSG)
    grads = node.backward(g)
    if type(grads) is not tuple:
        grads = (grads,)
    if tracer is not None:
        tracer(node, g, grads)
    return grads


# the pass that records its own graph (create_graph=True) lives in .recorded, which registers it here
PASSES: dict = {False: _Pass}


def run_backward(roots, root_grads, retain_graph=False, capture=None, tracer=None, create_graph=False):
    """Backpropagate from ``roots`` (tensors) seeded with ``root_grads`` (arrays).

    Without ``capture`` the gradients of leaves that require grad accumulate into ``.grad``.
    With ``capture`` (a list of tensors, for :func:`grad`) nothing is accumulated; the gradients
    of those tensors are returned instead (None where none flowed). ``tracer(node, grad_out,
    grads_in)``, if given, sees every node as it runs (``viz.explain`` uses it).
    """
    walk = PASSES[bool(create_graph)](retain_graph, capture, tracer)
    starts = walk.seed(roots, root_grads)
    if capture is not None:
        walk.needed = _leading_to(starts, {id(t) for t in capture}, set(walk.captured_nodes))
    for node in topological_order(starts):
        walk.visit(node)
    return walk.finish()


# ------------------------------------------------------------------------------ public API
def _seed_one(i, out, g, where: str):
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
        return _ones_like(out.array)
    garr = g.array if isinstance(g, Tensor) else g
    if tuple(garr.shape) != tuple(out.shape):
        raise RuntimeError(
            f"{where}: mismatch in shape: grad_output[{i}] has a shape of {tuple(garr.shape)} and "
            f"output[{i}] has a shape of {tuple(out.shape)}"
        )
    return garr.astype(out.array.dtype, copy=False)


def _seed_grads(outputs, grad_outputs, where: str, create_graph=False) -> list:
    seeds = [_seed_one(i, out, g, where) for i, (out, g) in enumerate(zip(outputs, grad_outputs))]
    if create_graph:  # a seed that requires grad stays a tensor: the gradients are then functions of it
        seeds = [_tensor_seed(g, s) for g, s in zip(grad_outputs, seeds)]
    return seeds


def _tensor_seed(given, seed):
    if isinstance(given, Tensor) and given.requires_grad:
        return given if given.array.dtype == seed.dtype else given.to(_dtype_of(seed))
    return Tensor._make(seed)


def _dtype_of(array):
    from ..dtypes import from_numpy_dtype

    return from_numpy_dtype(array.dtype)


def _ones_like(arr):
    return get_array_module(arr).ones(arr.shape, arr.dtype)


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """Accumulate into ``.grad`` of the leaves the gradients of ``tensors`` (seeded with ``grad_tensors``).

    ``create_graph=True`` records the backward pass itself, so that the ``.grad`` it leaves can be
    differentiated again (and keeps the graph, as ``retain_graph`` defaults to ``create_graph``).
    """
    tensors = _as_list(tensors)
    grads = _as_list(grad_tensors) if grad_tensors is not None else [None] * len(tensors)
    seeds = _seed_grads(tensors, grads, "backward", create_graph)
    retain = create_graph if retain_graph is None else bool(retain_graph)
    if inputs is None:
        with _grad_mode_for(create_graph):
            run_backward(tensors, seeds, retain_graph=retain, create_graph=create_graph)
        return
    inputs = _as_list(inputs)
    with _grad_mode_for(create_graph):
        got = run_backward(tensors, seeds, retain_graph=retain, capture=inputs, create_graph=create_graph)
    for t, g in zip(inputs, got):
        if g is None:
            continue
        if create_graph:
            t.grad = g if t.grad is None else t.grad + g
        else:
            _accumulate_into(t, g, False)


def _grad_mode_for(create_graph):
    """Recording on for a pass that records its graph; the caller's mode otherwise."""
    return enable_grad() if create_graph else contextlib.nullcontext()


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    allow_unused=None,
    materialize_grads=False,
) -> tuple:
    """Return the gradients of ``outputs`` with respect to ``inputs`` without touching any ``.grad``.

    With ``create_graph=True`` the gradients are tensors with a graph: they can be differentiated again.
    """
    single = isinstance(inputs, Tensor)
    outputs, inputs = _as_list(outputs), _as_list(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"autograd.grad: inputs[{i}] does not require grad")
    gos = _as_list(grad_outputs) if grad_outputs is not None else [None] * len(outputs)
    seeds = _seed_grads(outputs, gos, "autograd.grad", create_graph)
    retain = create_graph if retain_graph is None else bool(retain_graph)
    with _grad_mode_for(create_graph):
        got = run_backward(outputs, seeds, retain_graph=retain, capture=inputs, create_graph=create_graph)
    result = [
        _grad_result(i, t, g, allow_unused, materialize_grads, create_graph)
        for i, (t, g) in enumerate(zip(inputs, got))
    ]
    return tuple(result) if not single else (result[0],)


def _grad_result(i, t, g, allow_unused, materialize_grads, create_graph=False):
    if g is None:
        if materialize_grads:
            return Tensor._make(_ones_like(t.array) * 0)
        if not allow_unused:
            raise RuntimeError(
                f"autograd.grad: inputs[{i}] was not used in the graph of the outputs; pass allow_unused=True "
                "to get None for it"
            )
        return None
    return g if create_graph else Tensor._make(g.copy())
