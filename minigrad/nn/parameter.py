"""Parameter: a leaf tensor that a Module registers as learnable."""
from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that requires grad by default and is registered by ``Module.__setattr__``."""

    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        from ..creation import zeros

        if data is None:
            data = zeros(0)
        t = object.__new__(cls)
        t.array = data.array if isinstance(data, Tensor) else data
        t.grad, t.grad_fn, t._hooks, t._version = None, None, None, 0
        t.requires_grad = bool(requires_grad)
        return t

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
