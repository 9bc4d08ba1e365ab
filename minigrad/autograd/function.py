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
is recorded for the whole call, whose backward calls the user's ``backward`` on tensors. torch's newer
style works too: ``forward(*args)`` without ``ctx`` plus ``setup_context(ctx, inputs, output)``.
``ctx.mark_dirty`` (forward wrote into an input and returns it) and ``ctx.mark_non_differentiable``
behave as in torch. A Function returns one tensor.
"""

from __future__ import annotations

import functools

from .grad_mode import is_grad_enabled, no_grad
from .graph import Op


class FunctionCtx:
    """The ``ctx`` object: stores what ``backward`` needs."""

    def __init__(self):
        self._saved = ()
        self.needs_input_grad = ()
        self.materialize_grads = True
        self._dirty = ()
        self._non_differentiable = ()

    def save_for_backward(self, *tensors):
        self._saved = tensors

    @property
    def saved_tensors(self):
        if self._saved is None:
            from .graph import _FREED_MSG

            raise RuntimeError(_FREED_MSG)
        return self._saved

    def mark_non_differentiable(self, *tensors):
        """These outputs get no gradient: they do not require grad (indices, masks, counts)."""
        self._non_differentiable = tensors

    def mark_dirty(self, *tensors):
        """``forward`` modified these inputs in place (and returns one): it becomes the output."""
        self._dirty = tensors

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

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Override to use torch's newer style: ``forward(*args)`` without ``ctx``, then this."""
        raise NotImplementedError

    @classmethod
    def _forward(cls, ctx, args, kwargs):
        with no_grad():
            if cls.setup_context is Function.setup_context:
                return cls.forward(ctx, *args, **kwargs)
            out = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, out)
            return out

    @classmethod
    def apply(cls, *args, **kwargs):
        from ..tensor import Tensor

        ctx = FunctionCtx()
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = tuple(args[i] for i in positions)
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        out = cls._forward(ctx, args, kwargs)
        if not isinstance(out, Tensor):
            raise TypeError(
                f"{cls.__name__}.forward must return a single Tensor (got {type(out).__name__}); minigrad's "
                "user Functions have one output"
            )
        if any(out is t for t in ctx._non_differentiable):
            return out
        if is_grad_enabled() and any(t.requires_grad for t in tensors):
            node = _UserOp(cls, ctx, positions, len(args))
            node.record(tensors)
            if any(out is t for t in ctx._dirty):
                return _take_over(out, node)
            return Tensor._make(out.array, True, node)
        return out


def _take_over(t, node):
    """An input ``forward`` wrote into (``mark_dirty``) and returned: it is the output, with a new history."""
    if t.grad_fn is None and t.requires_grad:
        raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
    t.grad_fn, t.requires_grad = node, True
    return t


def once_differentiable(backward):
    """Mark a ``backward`` that cannot itself be differentiated (it runs with recording off)."""

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with no_grad():
            return backward(ctx, *grads)

    return wrapper
