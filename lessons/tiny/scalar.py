"""A scalar reverse-mode engine in about fifty lines: the one lesson 02 builds and then maps onto minigrad."""

import math


class Scalar:
    """A number that remembers the numbers it was computed from and how to send a gradient back to them."""

    def __init__(self, data, inputs=(), vjp=None):
        self.data = float(data)
        self.grad = 0.0
        self.inputs = inputs  # the Scalars this one was computed from
        self.vjp = vjp  # gradient of this Scalar -> one gradient per input

    def __add__(self, other):
        other = lift(other)
        return Scalar(self.data + other.data, (self, other), lambda g: (g, g))

    def __mul__(self, other):
        other = lift(other)
        return Scalar(self.data * other.data, (self, other), lambda g: (g * other.data, g * self.data))

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-lift(other))

    def __pow__(self, k):  # k is a plain number
        return Scalar(self.data**k, (self,), lambda g: (g * k * self.data ** (k - 1),))

    def exp(self):
        e = math.exp(self.data)
        return Scalar(e, (self,), lambda g: (g * e,))

    def log(self):
        return Scalar(math.log(self.data), (self,), lambda g: (g / self.data,))

    __radd__, __rmul__ = __add__, __mul__

    def __repr__(self):
        return f"Scalar({self.data:.4g}, grad={self.grad:.4g})"


def lift(x):
    """Wrap a plain number so that it can meet a Scalar."""
    return x if isinstance(x, Scalar) else Scalar(x)


def topological_order(root):
    """Every node reachable from ``root``, each one after all the nodes that use it (Kahn's algorithm)."""
    users, seen, stack = {}, {id(root)}, [root]
    while stack:  # count, for every node, how many edges lead into it
        for x in stack.pop().inputs:
            users[id(x)] = users.get(id(x), 0) + 1
            if id(x) not in seen:
                seen.add(id(x))
                stack.append(x)
    order, ready = [], [root]
    while ready:  # a node is ready once every user has sent it its gradient
        node = ready.pop()
        order.append(node)
        for x in node.inputs:
            users[id(x)] -= 1
            if users[id(x)] == 0:
                ready.append(x)
    return order


def backward(root):
    """Fill ``.grad`` of every Scalar that ``root`` depends on with d root / d that Scalar."""
    root.grad = 1.0
    for node in topological_order(root):
        if node.vjp is not None:
            for x, g in zip(node.inputs, node.vjp(node.grad)):
                x.grad += g  # add, never assign: a Scalar used twice gets a gradient from each use
