"""The computation graph: ``Op`` nodes and the reverse-mode walk over them.

Every differentiable operation is a subclass of :class:`Op` with two methods:

* ``forward(*arrays) -> array``: computes the result on raw NumPy/CuPy arrays and keeps on
  ``self`` whatever the backward pass will need;
* ``backward(grad) -> tuple``: given the gradient of the loss with respect to the output,
  returns the gradient with respect to each input (``None`` where an input needs none).

Calling an op (``Mul()(a, b)``) runs ``forward`` and, when gradients are being recorded and an
input requires one, makes the op the ``grad_fn`` of the output tensor. :func:`run_backward`
then visits the nodes in reverse topological order (Kahn's algorithm, no recursion, so a
chain of 100,000 ops is fine), sums gradients that meet at a node, reduces broadcast
gradients back to each input's shape in one place (:func:`sum_to`), and frees each node's
saved arrays as soon as it has run unless ``retain_graph`` is set.
"""
from __future__ import annotations

import weakref

from .grad_mode import _state as _grad_state

_FREED_MSG = (
    "Trying to backward through the graph a second time (or to use saved values after they were "
    "freed). Saved values are freed when you call .backward() or autograd.grad(); pass "
    "retain_graph=True to the first call if you need to go through the graph again."
)

Tensor = None  # set by minigrad.tensor once the class exists (breaks the import cycle)


class Op:
    """Base class of graph nodes. Subclasses implement ``forward`` and ``backward``."""

    inputs = None  # tuple of input Tensors once recorded; None for unrecorded or freed nodes
    _hooks = None  # hooks registered on the output tensor (a non-leaf)
    _retain = None  # weakref to the output tensor when it called retain_grad()

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    @property
    def needs_input_grad(self):
        return tuple([t.requires_grad for t in self.inputs])

    def __call__(self, *inputs):
        out = self.forward(*[t.array for t in inputs])
        if _grad_state.enabled:  # is_grad_enabled(), inlined: this runs for every op
            for t in inputs:
                if t.requires_grad:
                    # non-leaf inputs are kept as snapshots (same array and grad_fn, new object): an in-place op
                    # that later rebases the tensor (minigrad.ops.inplace) must not re-route this edge
                    make = Tensor._make
                    self.inputs = tuple([x if x.grad_fn is None else make(x.array, True, x.grad_fn) for x in inputs])
                    return make(out, True, self)
        return Tensor._make(out)

    def name(self) -> str:
        return type(self).__name__ + "Backward0"

    def __repr__(self):
        return f"<{self.name()}>"

    def release(self):
        """Drop everything the backward pass needed (called after it ran, unless retain_graph)."""
        self.__dict__.clear()


def sum_to(grad, shape):
    """Reduce a broadcast gradient back to ``shape``: the one place unbroadcasting happens."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead < 0:
        raise RuntimeError(f"gradient of shape {tuple(grad.shape)} cannot be reduced to shape {tuple(shape)}")
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and grad.shape[i + lead] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if lead:
        grad = grad.reshape(shape)
    if grad.shape != tuple(shape):
        raise RuntimeError(f"gradient of shape {tuple(grad.shape)} does not match its input's shape {tuple(shape)}")
    return grad


def _call_hooks(hooks, g):
    for hook in hooks:
        res = hook(Tensor._make(g))
        if res is not None:
            g = res.array if isinstance(res, Tensor) else res
    return g


def _add(slot, g):
    """Accumulate ``g`` into a [array, owned] slot; copies once, then adds in place."""
    if slot[1]:
        slot[0] += g
    else:
        slot[0] = slot[0] + g
        slot[1] = True


def run_backward(roots, root_grads, retain_graph=False, capture=None, tracer=None):
    """Backpropagate from ``roots`` (tensors) seeded with ``root_grads`` (arrays).

    Without ``capture`` the gradients of leaves that require grad accumulate into ``.grad``.
    With ``capture`` (a list of tensors, for :func:`minigrad.autograd.grad`) nothing is
    accumulated; the gradients of those tensors are returned instead (None where none flowed).
    ``tracer(node, grad_out, grads_in)``, if given, sees every node as it runs (used by ``viz.explain``).
    """
    node_grads = {}  # node -> [array, owned]
    leaf_grads = {}  # id(leaf) -> (leaf, [array, owned])
    starts = []
    for t, g in zip(roots, root_grads):
        if not t.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if t.grad_fn is None:
            if id(t) in leaf_grads:
                _add(leaf_grads[id(t)][1], g)
            else:
                leaf_grads[id(t)] = (t, [g, False])
            continue
        if t.grad_fn in node_grads:
            _add(node_grads[t.grad_fn], g)
        else:
            node_grads[t.grad_fn] = [g, False]
            starts.append(t.grad_fn)

    # count, for every node reachable from the roots, how many edges lead into it
    deps = {}
    seen = set(starts)
    stack = list(starts)
    while stack:
        node = stack.pop()
        if node.inputs is None:
            raise RuntimeError(_FREED_MSG)
        for x in node.inputs:
            f = x.grad_fn
            if f is not None and x.requires_grad:
                deps[f] = deps.get(f, 0) + 1
                if f not in seen:
                    seen.add(f)
                    stack.append(f)

    captured_nodes = {}
    if capture is not None:
        for i, t in enumerate(capture):
            if t.grad_fn is not None:
                captured_nodes.setdefault(t.grad_fn, []).append(i)
    results = [None] * (len(capture) if capture is not None else 0)

    ready = [n for n in starts if deps.get(n, 0) == 0]
    while ready:
        node = ready.pop()
        inputs = node.inputs
        slot = node_grads.pop(node, None)
        grads = ()
        if slot is not None:
            g = slot[0]
            if node._hooks:
                g = _call_hooks(node._hooks, g)
            if node._retain is not None:
                out = node._retain()
                if out is not None and capture is None:
                    _accumulate_into(out, g, slot[1])
            if node in captured_nodes:
                for i in captured_nodes[node]:
                    results[i] = g
            grads = node.backward(g)
            if type(grads) is not tuple:
                grads = (grads,)
            if tracer is not None:
                tracer(node, g, grads)
        if not retain_graph:
            node.release()
        for i, x in enumerate(inputs):
            if not x.requires_grad:
                continue
            f = x.grad_fn
            gx = grads[i] if grads else None
            if gx is not None:
                xa = x.array
                if gx.shape != xa.shape:
                    gx = sum_to(gx, xa.shape)
                if gx.dtype is not xa.dtype and gx.dtype != xa.dtype:
                    gx = gx.astype(xa.dtype)
                if f is None:
                    entry = leaf_grads.get(id(x))
                    if entry is None:
                        leaf_grads[id(x)] = (x, [gx, False])
                    else:
                        _add(entry[1], gx)
                elif f in node_grads:
                    _add(node_grads[f], gx)
                else:
                    node_grads[f] = [gx, False]
            if f is not None:
                left = deps[f] - 1
                deps[f] = left
                if not left:
                    ready.append(f)

    if capture is not None:
        for i, t in enumerate(capture):
            if t.grad_fn is None and id(t) in leaf_grads:
                leaf, slot = leaf_grads[id(t)]
                results[i] = _call_hooks(leaf._hooks, slot[0]) if leaf._hooks else slot[0]
        return results
    for leaf, slot in leaf_grads.values():
        g = slot[0]
        if leaf._hooks:
            g = _call_hooks(leaf._hooks, g)
        _accumulate_into(leaf, g, slot[1])
    return None


def _accumulate_into(t, g, owned):
    """``t.grad += g``, giving ``t`` its own contiguous buffer the first time."""
    if t.grad is None:
        t.grad = Tensor._make(g if owned and g.flags.c_contiguous else g.copy())
    else:
        acc = t.grad.array
        if acc.shape == g.shape and getattr(acc.flags, "writeable", True):  # CuPy flags have no writeable
            acc += g
        else:
            t.grad = Tensor._make(acc + g)


def attach_retain(node, tensor):
    node._retain = weakref.ref(tensor)
