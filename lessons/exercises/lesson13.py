"""Lesson 13 (differentiating a gradient, and forward mode): dual numbers, Hessian-vector products, Newton's method.

``Dual`` below is the dual number of the lesson (``value + tangent * eps`` with ``eps^2 = 0``), on floats or NumPy
arrays; ``dual_exp`` and ``dual_sin`` extend it. ``hvp`` and ``newton`` take functions of minigrad tensors and use
``minigrad.autograd.grad`` with ``create_graph=True``. Grade your work with
``EXERCISES=exercises .venv/bin/pytest -q tests/test_exercises.py -k lesson13``.
"""


class Dual:
    """``value + tangent * eps`` with ``eps^2 = 0``: the tangent part carries the derivative along."""

    def __init__(self, value, tangent=0.0):
        self.value, self.tangent = value, tangent

    def __add__(self, other):
        other = other if isinstance(other, Dual) else Dual(other)
        return Dual(self.value + other.value, self.tangent + other.tangent)

    def __mul__(self, other):
        other = other if isinstance(other, Dual) else Dual(other)
        return Dual(self.value * other.value, self.value * other.tangent + self.tangent * other.value)

    __radd__, __rmul__ = __add__, __mul__

    def __repr__(self):
        return f"Dual({self.value!r}, {self.tangent!r})"


def dual_exp(x):
    """``exp`` of the Dual ``x``: ``exp(a + b eps) = exp(a) + exp(a) b eps`` (NumPy's ``exp`` on the parts).

    ``x.value`` and ``x.tangent`` are floats or NumPy arrays of one shape; return a new ``Dual``.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson13.py::dual_exp")


def dual_sin(x):
    """``sin`` of the Dual ``x``: the value is ``sin(a)``; the tangent is the derivative times ``b``.

    ``x.value`` and ``x.tangent`` are floats or NumPy arrays of one shape; return a new ``Dual``.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson13.py::dual_sin")


def hvp(f, x, v):
    """The Hessian-vector product ``H v`` of the scalar function ``f`` at the minigrad tensor ``x``.

    Two calls to ``minigrad.autograd.grad``: the gradient ``g`` of ``f(x)`` with ``create_graph=True``, then
    the gradient of ``<g, v>`` (``(g * v).sum()``). ``x`` may not require grad: differentiate with respect to
    a copy that does (``x.detach().requires_grad_(True)``). Return ``H v``, shaped as ``x``, without a graph.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson13.py::hvp")


def newton(f, x0, steps):
    """Newton's method for a scalar ``f`` of a minigrad tensor ``x`` of shape ``(2,)``, from ``x0``.

    At each step: the gradient ``g`` of ``f(x)`` (with ``create_graph=True``), the Hessian's row ``i`` as the
    gradient of ``g[i]`` (keep the graph between the rows: ``retain_graph=True``), then ``d`` from
    ``H d = g`` (``minigrad.linalg.solve``) and ``x <- x - d``. Return the list of the ``steps`` iterates after
    each step, as tensors of shape ``(2,)`` without a graph.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson13.py::newton")
