"""Pictures of the computation graph: Mermaid text (renders on GitHub), Graphviz DOT, and ``explain``.

Draw a graph *before* calling ``backward``: the backward pass frees the graph as it goes.

    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    print(minigrad.viz.to_mermaid(y, names={"x": x, "y": y}))
"""

from __future__ import annotations

import numpy as np

from . import backend
from .autograd.engine import run_backward
from .tensor import Tensor


def _walk(root: Tensor):
    """Ops and leaf tensors behind ``root``, as (ops in discovery order, leaves, edges).

    Nodes get short ids in discovery order: ``t0, t1, ...`` for leaves, ``n0, n1, ...`` for ops.
    """
    ops, leaves, edges = [], {}, []
    seen = set()
    ids: dict = {}

    def tid(x):
        return ids.setdefault(("t", id(x)), f"t{sum(1 for k in ids if k[0] == 't')}")

    def nid(n):
        return ids.setdefault(("n", id(n)), f"n{sum(1 for k in ids if k[0] == 'n')}")

    stack = [root.grad_fn] if root.grad_fn is not None else []
    if root.grad_fn is None:
        leaves[id(root)] = root
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        ops.append((nid(node), node))
        if node.inputs is None:
            raise RuntimeError("viz: this graph was already freed by backward(); draw it before calling backward")
        # the edges recorded with the node, not each input's grad_fn now: an in-place write since then
        # gave the input a new history that this node's gradient does not flow into
        for x, edge in zip(node.inputs, node.edges):
            if edge is None or edge is x:
                leaves[id(x)] = (tid(x), x)
                edges.append((tid(x), nid(node)))
            else:
                edges.append((nid(edge), nid(node)))
                stack.append(edge)
    root_id = nid(root.grad_fn) if root.grad_fn is not None else None
    return ops, list(leaves.values()), edges, root_id


def _op_label(node) -> str:
    """``MulBackward0`` -> ``Mul``: the forward op's name reads better in a forward picture."""
    name = node.name()
    cut = name.rfind("Backward")
    return name[:cut] if cut > 0 else name


def _label(t: Tensor, names: dict) -> str:
    name = next((k for k, v in names.items() if v is t), None)
    shape = "x".join(str(s) for s in t.shape) or "scalar"
    parts = [name] if name else []
    parts.append(f"{shape} {t.dtype.name}")
    if t.requires_grad:
        parts.append("requires_grad")
    return ", ".join(parts)


def to_mermaid(root: Tensor, names: dict | None = None, direction: str = "LR") -> str:
    """The graph behind ``root`` as a Mermaid flowchart: leaves are boxes, ops are rounded nodes."""
    names = names or {}
    ops, leaves, edges, root_id = _walk(root)
    lines = [f"graph {direction}"]
    for key, t in leaves:
        style = ":::grad" if t.requires_grad else ""
        lines.append(f'    {key}["{_label(t, names)}"]{style}')
    for key, node in ops:
        lines.append(f'    {key}("{_op_label(node)}")')
    for a, b in edges:
        lines.append(f"    {a} --> {b}")
    if root_id is not None:
        lines.append(f'    out[["{_label(root, names)}"]]')
        lines.append(f"    {root_id} --> out")
    lines.append("    classDef grad stroke-width:3px")
    return "\n".join(lines)


def to_dot(root: Tensor, names: dict | None = None) -> str:
    """The same graph in Graphviz DOT (``dot -Tsvg graph.dot > graph.svg`` draws it)."""
    names = names or {}
    ops, leaves, edges, root_id = _walk(root)
    lines = ["digraph minigrad {", "    rankdir=LR;", '    node [fontname="Helvetica"];']
    for key, t in leaves:
        pen = ' penwidth=2 color="darkgreen"' if t.requires_grad else ""
        lines.append(f'    {key} [shape=box label="{_label(t, names)}"{pen}];')
    for key, node in ops:
        lines.append(f'    {key} [shape=ellipse style=filled fillcolor="lightblue" label="{_op_label(node)}"];')
    for a, b in edges:
        lines.append(f"    {a} -> {b};")
    if root_id is not None:
        lines.append(f'    out [shape=box style=bold label="{_label(root, names)}"];')
        lines.append(f"    {root_id} -> out;")
    lines.append("}")
    return "\n".join(lines)


def _fmt(a) -> str:
    if a is None:
        return "None"
    a = backend.to_device(a, backend.CPU)
    return np.array2string(np.asarray(a), precision=4, separator=", ", suppress_small=True)


def explain(root: Tensor, gradient: Tensor | None = None, retain_graph: bool = False, printer=print) -> None:
    """Run ``root.backward(gradient)`` and print, node by node, the gradient arriving at each op
    (its *upstream* gradient) and the gradients it sends to its inputs (upstream x local derivative).
    Leaves' ``.grad`` accumulate exactly as with ``backward``."""
    from .autograd.engine import _seed_grads

    (seed,) = _seed_grads([root], [gradient], "explain")

    def trace(node, g, grads):
        printer(f"{node.name()}: upstream {_fmt(g)}")
        for i, gi in enumerate(grads):
            printer(f"    -> input {i}: {_fmt(gi)}")

    run_backward([root], [seed], retain_graph=retain_graph, tracer=trace)


__all__ = ["to_mermaid", "to_dot", "explain"]
