"""The scalar engine of scalar.py grown to NumPy arrays: the same walk, vector-Jacobian products, unbroadcasting."""

import numpy as np

from lessons.tiny.scalar import topological_order


class Tensor:
    """An array that remembers the arrays it was computed from (the array twin of ``Scalar``)."""

    def __init__(self, data, inputs=(), vjp=None):
        self.data = np.asarray(data, dtype=np.float64)
        self.grad = None
        self.inputs, self.vjp = inputs, vjp

    def __add__(self, other):
        other = as_tensor(other)
        return Tensor(self.data + other.data, (self, other), lambda g: (g, g))

    def __mul__(self, other):
        other = as_tensor(other)
        return Tensor(self.data * other.data, (self, other), lambda g: (g * other.data, g * self.data))

    def __sub__(self, other):
        return self + as_tensor(other) * -1.0

    def __matmul__(self, other):  # (n, k) @ (k, m): g is (n, m)
        return Tensor(self.data @ other.data, (self, other), lambda g: (g @ other.data.T, self.data.T @ g))

    def sum(self):
        return Tensor(self.data.sum(), (self,), lambda g: (g * np.ones_like(self.data),))

    def mean(self):
        return self.sum() * (1.0 / self.data.size)

    def exp(self):
        e = np.exp(self.data)
        return Tensor(e, (self,), lambda g: (g * e,))

    __radd__, __rmul__ = __add__, __mul__


def as_tensor(x):
    """Wrap a plain number or array so that it can meet a Tensor."""
    return x if isinstance(x, Tensor) else Tensor(x)


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes along which an input of ``shape`` was broadcast, giving it that shape."""
    while grad.ndim > len(shape):  # axes that broadcasting added in front
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):  # axes of size 1 that broadcasting stretched
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def backward(root):
    """Fill ``.grad`` of every Tensor that the scalar ``root`` depends on; each gradient has its input's shape."""
    root.grad = np.ones_like(root.data)
    for node in topological_order(root):
        if node.vjp is not None:
            for x, g in zip(node.inputs, node.vjp(node.grad)):
                g = unbroadcast(g, x.data.shape)  # one place for every op, as minigrad's sum_to
                x.grad = g if x.grad is None else x.grad + g
