"""User-defined differentiable functions, written as in torch::

    class Cube(minigrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x * x

    y = Cube.apply(x)

``forward`` runs on tensors with recording switched off; one graph node (a :class:`_UserOp`)
is recorded for the whole call, whose backward calls the user's ``backward`` on tensors.
"""

from __future__ import annotations

from .grad_mode import is_grad_enabled, no_grad
from .graph import Op


class FunctionCtx:
    """The ``ctx`` object: stores what ``backward`` needs."""

    def __init__(self):
        self._saved = ()
        self.needs_input_grad = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors):
        self._saved = tensors

    @property
    def saved_tensors(self):
        if self._saved is None:
            from .graph import _FREED_MSG

            raise RuntimeError(_FREED_MSG)
        return self._saved

    def mark_non_differentiable(self, *tensors):
        pass

    def mark_dirty(self, *tensors):
        pass

    def set_materialize_grads(self, value: bool):
        self.materialize_grads = value


class _UserOp(Op):
    def __init__(self, fn_cls, ctx, positions, n_args):
        self.fn_cls, self.ctx, self.positions, self.n_args = fn_cls, ctx, positions, n_args

    def name(self):
        return self.fn_cls.__name__ + "Backward"

    def backward(self, grad):
        from ..tensor import Tensor

        with no_grad():
            res = self.fn_cls.backward(self.ctx, Tensor._make(grad))
        if not isinstance(res, tuple):
            res = (res,)
        if len(res) != self.n_args:
            raise RuntimeError(
                f"function {self.fn_cls.__name__}.backward returned an incorrect number of gradients "
                f"(expected {self.n_args}, got {len(res)})"
            )
        out = []
        for p in self.positions:
            g = res[p]
            out.append(None if g is None else (g.array if isinstance(g, Tensor) else g))
        return tuple(out)

    def release(self, fits=None):
        self.ctx._saved = None
        super().release(fits)


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call ``.apply(*args)``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("a Function subclass must implement backward(ctx, grad) to be differentiated")

    @classmethod
    def apply(cls, *args, **kwargs):
        from ..tensor import Tensor

        ctx = FunctionCtx()
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = tuple(args[i] for i in positions)
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            out = cls.forward(ctx, *args, **kwargs)
        if not isinstance(out, Tensor):
            raise TypeError(
                f"{cls.__name__}.forward must return a single Tensor (got {type(out).__name__}); minigrad's "
                "user Functions have one output"
            )
        if is_grad_enabled() and any(t.requires_grad for t in tensors):
            node = _UserOp(cls, ctx, positions, len(args))
            node.record(tensors)
            return Tensor._make(out.array, True, node)
        return out
