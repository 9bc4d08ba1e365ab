import numpy as np
import pytest

import minigrad as mg
from minigrad import viz


def _graph():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    w = mg.tensor([0.5, -1.0], requires_grad=True)
    c = mg.tensor([3.0, 3.0])
    y = mg.exp(x * w) + x * c
    return x, w, c, y


def test_mermaid_lists_every_op_leaf_and_edge():
    x, w, c, y = _graph()
    text = viz.to_mermaid(y, names={"x": x, "w": w, "c": c, "y": y})
    lines = text.splitlines()
    assert lines[0] == "graph LR"
    assert sum('("Mul")' in ln for ln in lines) == 2 and sum('("Exp")' in ln for ln in lines) == 1
    assert any('"x, 2 float32, requires_grad"]:::grad' in ln for ln in lines)
    assert any('"c, 2 float32"]' in ln and ":::grad" not in ln for ln in lines)
    assert sum("-->" in ln for ln in lines) == 8  # 7 graph edges + the edge to the output box
    assert 'out[["y, 2 float32, requires_grad"]]' in text


def test_dot_is_well_formed():
    x, w, c, y = _graph()
    dot = viz.to_dot(y)
    assert dot.startswith("digraph minigrad {") and dot.rstrip().endswith("}")
    assert dot.count("->") == 8 and dot.count("shape=ellipse") == 4


def test_drawing_a_freed_graph_is_a_clear_error():
    x, w, c, y = _graph()
    y.backward(mg.ones(2))
    with pytest.raises(RuntimeError, match="before calling backward"):
        viz.to_mermaid(y)


def test_explain_prints_each_node_and_accumulates_like_backward():
    x, w, c, y = _graph()
    lines = []
    viz.explain(y, mg.ones(2), printer=lines.append)
    assert lines[0].startswith("AddBackward0: upstream [1., 1.]")
    assert sum(ln.startswith("MulBackward0") for ln in lines) == 2
    xv, wv = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    np.testing.assert_allclose(x.grad.numpy(), np.exp(xv * wv) * wv + 3, rtol=1e-6)
    np.testing.assert_allclose(w.grad.numpy(), np.exp(xv * wv) * xv, rtol=1e-6)


def test_graph_drawn_after_an_inplace_write_keeps_the_recorded_edges():
    a = mg.randn(3, requires_grad=True)
    h = a * 2
    z = h.exp()
    h.add_(1)  # h's history is now Add(Mul); z's Exp still reads the Mul's output
    text = viz.to_mermaid(z)
    assert "Add" not in text and "Mul" in text and "Exp" in text
