"""Parameter: a leaf tensor that a Module registers as learnable."""

from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that requires grad by default and is registered by ``Module.__setattr__``.

    ``Parameter(t)`` shares ``t``'s storage (no copy) but is always a fresh leaf of the graph,
    even when ``t`` came out of a computation.
    """

    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        from ..creation import zeros

        if data is None:
            data = zeros(0)
        t = object.__new__(cls)
        t.array = data.array if isinstance(data, Tensor) else data
        t.grad, t.grad_fn, t._hooks, t._version = None, None, None, 0
        if requires_grad and t.array.dtype.kind != "f":
            raise RuntimeError(
                f"Only Tensors of floating point dtype can require gradients (got {t.dtype}); "
                "pass requires_grad=False for an integer Parameter"
            )
        t.requires_grad = bool(requires_grad)
        return t

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        # pickle/deepcopy as a Parameter (keeping requires_grad), without the gradient, like torch
        return (Parameter, (Tensor._make(self.array), self.requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        out = Parameter(Tensor._make(self.array.copy()), self.requires_grad)
        if self.grad is not None:
            out.grad = Tensor._make(self.grad.array.copy())
        memo[id(self)] = out
        return out
