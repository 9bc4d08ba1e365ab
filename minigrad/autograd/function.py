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

``forward`` runs on tensors with recording switched off; one graph node (a :class:`_UserOp`) is
recorded for the whole call, whose backward calls the user's ``backward`` on tensors: with recording
off, or on under ``create_graph=True`` (so that the gradient it returns can be differentiated again,
through the real saved tensors). torch's newer style works too: ``forward(*args)`` without ``ctx``
plus ``setup_context(ctx, inputs, output)``. ``ctx.mark_dirty``, ``ctx.mark_non_differentiable``,
``ctx.set_materialize_grads`` and :func:`once_differentiable` behave as in torch.

**Several outputs.** ``forward`` may return a tuple. The engine routes one gradient per node, so each
differentiable output gets a small :class:`_OutputOf` node (named like the Function's node) that hands
its gradient to the Function's node and sends it a zero scalar along one hidden edge: the Function's
node then runs once, after all of them, and calls ``backward`` with one gradient per output (zeros, or
None under ``set_materialize_grads(False)``, for an output that got none). Handing the gradients over
beside the engine, rather than packing every output into one array and summing packed gradients, costs
nothing per element, tells "no gradient" apart from "a zero gradient", and keeps each output's dtype.
The one difference a user can see: ``a.grad_fn is b.grad_fn`` is False (each output's node prints,
names, hooks and walks as the Function's node, but it is its own object).
"""

from __future__ import annotations

import contextlib
import functools

from .. import tensor as _tensor
from ..backend import get_array_module
from . import graph
from .forward_ad import paused, set_tangent, tangent_of
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .graph import _FREED_MSG, Op, _modified_msg
from .saved_hooks import current_hooks, pack_tensor, unpack_tensor

_ONCE_MSG = "trying to differentiate twice a function that was marked with @once_differentiable"


class FunctionCtx:
    """The ``ctx`` object: stores what ``backward`` needs."""

    def __init__(self):
        self._saved = ()
        self._packed = None  # (unpack hook, payloads) when saved_tensors_hooks were active at record time
        self._versions = None  # (version, description) per saved tensor, noted when the node was recorded
        self.needs_input_grad = ()
        self.materialize_grads = True
        self._dirty = ()
        self._non_differentiable = ()

    def save_for_backward(self, *tensors):
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, _tensor.Tensor):
                raise TypeError(
                    f"save_for_backward can only save variables, but argument {i} is of type {type(t).__name__}"
                )
        self._saved = tensors

    @property
    def saved_tensors(self):
        if self._saved is None:
            raise RuntimeError(_FREED_MSG)
        if self._packed is not None:  # saved_tensors_hooks: unpack on every access, as torch does
            unpack, payloads = self._packed
            return tuple(
                None if p is None else unpack_tensor(unpack, p, "saved_tensors", _tensor.Tensor) for p in payloads
            )
        if self._versions is not None:
            self._check_versions()
        return self._saved

    def _note_versions(self, node, inputs, outputs):
        """Remember each saved tensor's version: ``saved_tensors`` raises if an in-place write changed it."""
        self._versions = tuple(
            None if t is None else (t._version, _describe(t, node, inputs, outputs)) for t in self._saved
        )

    def _check_versions(self):
        for t, noted in zip(self._saved, self._versions):
            if noted is not None and t._version != noted[0]:
                raise RuntimeError(_modified_msg(t.array, t._version, noted[0], noted[1]))

    def mark_non_differentiable(self, *tensors):
        """These outputs get no gradient: they do not require grad (indices, masks, counts)."""
        self._non_differentiable = tensors

    def mark_dirty(self, *tensors):
        """``forward`` modified these inputs in place (and returns them): they become outputs."""
        self._dirty = tensors

    def set_materialize_grads(self, value: bool):
        """False: ``backward`` gets None (not a tensor of zeros) for an output that received no gradient."""
        self.materialize_grads = bool(value)

    def _pack_saved(self, hooks):
        pack, unpack = hooks
        self._packed = (unpack, tuple(None if t is None else pack_tensor(pack, t) for t in self._saved))
        self._saved = ()  # the payloads stand for them now (a save_on_cpu copy, say)


class _UserOp(Op):
    """The graph node of one ``Function.apply`` call: runs the user's ``backward``.

    ``saved = ()``: the engine checks no input's version; ``ctx.saved_tensors`` checks those the user saved
    (inputs or outputs), as torch does. Released after backward, the node can run again unless its
    ``backward`` reads ``saved_tensors`` (then it raises torch's error), again as in torch.
    """

    saved = ()

    def __init__(self, fn_cls, ctx, positions, n_args, outputs=None):
        self.fn_cls, self.ctx, self.positions, self.n_args = fn_cls, ctx, positions, n_args
        # several outputs: per output, (shape, dtype, array module) to make zeros from, or None (not a tensor)
        self.outputs = outputs
        self._pending: dict = {}  # several outputs: the gradients their _OutputOf nodes received in this pass

    def name(self):
        return self.fn_cls.__name__ + "Backward"

    def backward(self, grad):
        with no_grad():
            return self._call_user(self._grads_out(grad, False))

    def recorded_twin(self, inputs):
        """For ``create_graph``: the user's backward runs with recording on, on the real saved tensors."""
        return _RecordedUserOp(self)

    def _grads_out(self, grad, as_tensors) -> tuple:
        """One gradient per output for the user's ``backward`` (materialized or None where none came)."""
        if self.outputs is None:
            return (grad if as_tensors else _tensor.Tensor._make(grad),)
        self._drop_stale(grad)
        if self._post_hooks:
            self._seen = self._received()  # what the hooks registered through an output see
        pending = self.__dict__.pop("_pending", None) or {}
        self._pending = {}
        grads = []
        for i, meta in enumerate(self.outputs):
            g = pending.get(i)
            if g is None and meta is not None and self.ctx.materialize_grads:
                shape, dtype, xp = meta
                g = xp.zeros(shape, dtype)
            grads.append(g if g is None or isinstance(g, _tensor.Tensor) else _tensor.Tensor._make(g))
        return tuple(grads)

    def _drop_stale(self, link_grad) -> None:
        """Forget gradients left by outputs whose nodes did not run in this pass (see :func:`_bit`)."""
        pending = self.__dict__.get("_pending")
        if pending:
            ran = int(link_grad.array if isinstance(link_grad, _tensor.Tensor) else link_grad)
            for i in [i for i in pending if i < _BITS and not (ran >> i) & 1]:
                del pending[i]

    def _received(self) -> tuple:
        """Several outputs: the gradient each received in this pass, as a tensor, or None."""
        pending = self.__dict__.get("_pending") or {}
        Tensor = _tensor.Tensor
        return tuple(
            None if g is None else (g if isinstance(g, Tensor) else Tensor._make(g))
            for g in (pending.get(i) for i in range(len(self.outputs)))
        )

    def _call_user(self, grads) -> tuple:
        """The user's backward on tensors: the gradients of the tensor inputs, as arrays."""
        res = self._input_grads(self.fn_cls.backward(self.ctx, *grads))
        return tuple([_grad_array(g, self.name(), p) for g, p in zip(res, self.positions)])

    def _input_grads(self, res) -> tuple:
        """What backward returned, one per argument of ``apply``, cut down to the tensor arguments."""
        if not isinstance(res, tuple):
            res = (res,)
        if len(res) != self.n_args:
            raise RuntimeError(
                f"function {self.name()} returned an incorrect number of gradients (expected {self.n_args}, "
                f"got {len(res)})"
            )
        return tuple([res[p] for p in self.positions])

    def release(self, fits=None):
        ctx = self.ctx
        ctx._saved = None  # reading saved_tensors now raises torch's error
        ctx._packed = ctx._versions = None
        ctx._dirty = ctx._non_differentiable = ()  # tensors the node may outlive (it can run again: see above)
        super().release(fits)


def _grad_array(g, name, index):
    if g is None or isinstance(g, _tensor.Tensor):
        return None if g is None else g.array
    raise TypeError(f"function {name} returned a {type(g).__name__} as gradient {index}; expected a Tensor or None")


class _RecordedUserOp:
    """``create_graph``: the user's backward, run on tensors with recording on (:mod:`.recorded` calls it)."""

    def __init__(self, node):
        self.node = node

    def backward(self, grad):
        from .recorded import as_tensor

        node = self.node
        grads = node._grads_out(as_tensor(grad), True)
        with enable_grad():
            return node._input_grads(node.fn_cls.backward(node.ctx, *grads))


class _OutputOf(Op):
    """Output ``index`` of a Function with several outputs: gives its gradient to the Function's node.

    Its one input is a hidden scalar made by the Function's node, so the engine runs that node after every
    output's node; what flows along that edge is a zero (the real gradient waits in ``core._pending``).
    It shows itself as the Function's node: same name, same ``next_functions``, shared ``metadata``.
    """

    saved = ()

    def __init__(self, core, index, xp):
        self.core, self.index, self.xp = core, index, xp  # no array kept: released, it can run again

    def name(self):
        return self.core.fn_cls.__name__ + "Backward"

    def backward(self, grad):
        self.core.__dict__.setdefault("_pending", {})[self.index] = grad
        return (self.xp.full((), _bit(self.index)),)

    def recorded_twin(self, inputs):
        return _RecordedOutputOf(self)

    @property
    def next_functions(self) -> tuple:
        return self.core.next_functions

    def register_prehook(self, hook):
        """torch's node hook sees every output's gradient: it goes on the Function's node, adapted."""
        return self.core.register_prehook(_OutputsPreHook(self.core, hook))

    def register_hook(self, hook):
        return self.core.register_hook(_OutputsHook(self.core, hook))

    @property
    def metadata(self) -> dict:
        return self.core.metadata


class _OutputsPreHook:
    """A pre-hook of a Function with several outputs: ``hook(grads_out)`` on one gradient per output (None
    where none came), before the Function's backward; a tuple it returns replaces them."""

    def __init__(self, core, hook):
        self.core, self.hook = core, hook

    def __call__(self, link_grads):
        self.core._drop_stale(link_grads[0])
        res = self.hook(self.core._received())
        if res is not None:
            _check_count(self.hook, res, len(self.core.outputs))
            self.core._pending = {i: g for i, g in enumerate(res) if g is not None}


def _check_count(hook, res, expected):
    if len(res) != expected:
        name = getattr(hook, "__name__", type(hook).__name__)
        raise RuntimeError(
            f"hook '{name}' has returned an incorrect number of values (got {len(res)}, but expected {expected})"
        )


class _OutputsHook(_OutputsPreHook):
    """A hook of a Function with several outputs: ``hook(grads_in, grads_out)``, after its backward."""

    def __call__(self, grads_in, _link_grads):
        return self.hook(grads_in, self.core.__dict__.pop("_seen", ()))


class _RecordedOutputOf:
    """``create_graph``: an output's gradient, a tensor now, handed over the same way."""

    def __init__(self, node):
        self.node = node

    def backward(self, grad):
        from .recorded import as_tensor

        node = self.node
        node.core.__dict__.setdefault("_pending", {})[node.index] = as_tensor(grad)
        return (_tensor.Tensor._make(node.xp.full((), _bit(node.index))),)


def _bit(index) -> float:
    """What output ``index``'s node sends along the hidden edge: the engine sums them, so the Function's node
    learns which outputs' nodes ran in this pass (a gradient left by a pass that failed is not used again)."""
    return float(2**index) if index < _BITS else 0.0


_BITS = 52  # distinct powers of two that a float64 sum keeps exactly


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call ``.apply(*args)``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("a Function subclass must implement backward(ctx, grad) to be differentiated")

    @staticmethod
    def jvp(ctx, *tangents):
        """Forward mode: the outputs' tangents from one tangent per input (None for a non-tensor)."""
        raise NotImplementedError(
            "You must implement the jvp function for custom autograd.Function to use it with forward mode AD."
        )

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
        Tensor = _tensor.Tensor
        ctx = FunctionCtx()
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = tuple(args[i] for i in positions)
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        tangents = _tangents(args)  # forward mode: None unless a dual level is open and an input is dual
        with paused() if tangents is not None else contextlib.nullcontext():
            out = cls._forward(ctx, args, kwargs)  # the Function's own jvp gives the tangents, not its ops
        if tangents is not None:
            _give_tangents(cls, ctx, out, tangents)
        several = isinstance(out, tuple)
        if not several and not isinstance(out, Tensor):
            raise TypeError(f"{cls.__name__}.forward must return a Tensor or a tuple (got {type(out).__name__})")
        if not (is_grad_enabled() and any(t.requires_grad for t in tensors)):
            return out
        if several:
            node = _UserOp(cls, ctx, positions, len(args), tuple(_meta(o) for o in out))
            node.record(tensors)
            result = _wire_outputs(node, out, tensors, ctx)
        else:
            node = _UserOp(cls, ctx, positions, len(args))
            node.record(tensors)
            result = _attach(out, node, tensors, ctx) if _differentiable(out, ctx) else out
        hooks = current_hooks()
        if hooks is not None:  # saved_tensors_hooks: pack what forward saved, now that outputs have histories
            ctx._pack_saved(hooks)
        elif ctx._saved:
            ctx._note_versions(node, tensors, result if several else (result,))
        return result


def _tangents(args):
    """Each argument's tangent (zeros for a tensor without one, None for a non-tensor) when a forward-AD
    level is open and some argument carries one; else None."""
    if not graph.dual_state[0]:
        return None
    found = [tangent_of(a) if isinstance(a, _tensor.Tensor) else None for a in args]
    if all(t is None for t in found):
        return None
    return [
        (t if t is not None else _tensor.Tensor._make(a.array * 0)) if isinstance(a, _tensor.Tensor) else None
        for a, t in zip(args, found)
    ]


def _give_tangents(cls, ctx, out, tangents) -> None:
    with paused():
        res = cls.jvp(ctx, *tangents)
    outs, res = (out, res) if isinstance(out, tuple) else ((out,), (res,) if not isinstance(res, tuple) else res)
    if len(res) != len(outs):
        raise RuntimeError(
            f"function {cls.__name__}.jvp returned an incorrect number of tangents "
            f"(expected {len(outs)}, got {len(res)})"
        )
    for o, t in zip(outs, res):
        if isinstance(o, _tensor.Tensor) and t is not None:
            set_tangent(o, t)


def _describe(t, node, inputs, outputs) -> str:
    """How the in-place error names a saved tensor: ``output 0 of FBackward``, ``input 1 of FBackward``."""
    for kind, group in (("output", outputs), ("input", inputs)):
        for i, x in enumerate(group):
            if x is t:
                return f"{kind} {i} of {node.name()}"
    return f"a tensor saved by {node.name()}"


def _meta(o):
    return (o.array.shape, o.array.dtype, get_array_module(o.array)) if isinstance(o, _tensor.Tensor) else None


def _differentiable(o, ctx) -> bool:
    """Whether output ``o`` can carry a gradient: a floating tensor not marked non-differentiable."""
    return o.array.dtype.kind in "fc" and not any(o is t for t in ctx._non_differentiable)


def _wire_outputs(core, outs, tensors, ctx) -> tuple:
    """Several outputs: an _OutputOf node per differentiable output, all leading to ``core``."""
    Tensor = _tensor.Tensor
    xp = get_array_module(tensors[0].array)
    link = Tensor._make(xp.zeros(()), True, core)  # the hidden edge from every output's node to the Function's node
    result = []
    for i, o in enumerate(outs):
        if isinstance(o, Tensor) and _differentiable(o, ctx):
            node = _OutputOf(core, i, xp)
            node.record((link,))
            o = _attach(o, node, tensors, ctx)
        result.append(o)
    return tuple(result)


def _attach(out, node, inputs, ctx):
    """Make ``node`` the history of output ``out`` (the tensor forward returned, so what ctx saved of it
    is the output itself: ``create_graph`` then differentiates through it)."""
    if any(out is t for t in ctx._dirty):
        return _take_over(out, node)
    if any(out is t for t in inputs):  # an input returned as it is: a new tensor on the same memory
        return _tensor.Tensor._make(out.array, True, node)
    out.grad_fn, out.requires_grad = node, True
    return out


def _take_over(t, node):
    """An input ``forward`` wrote into (``mark_dirty``) and returned: it is the output, with a new history."""
    if t.grad_fn is None and t.requires_grad:
        raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
    t.grad_fn, t.requires_grad = node, True
    return t


def once_differentiable(backward):
    """Mark a ``backward`` that cannot itself be differentiated: it runs with recording off, and under
    ``create_graph`` its results carry a node that raises if a later backward reaches it (as torch's)."""

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with no_grad():
            res = backward(ctx, *grads)
        if not is_grad_enabled() or not any(isinstance(g, _tensor.Tensor) and g.requires_grad for g in grads):
            return res
        if isinstance(res, tuple):
            return tuple(_delayed_error(r) for r in res)
        return _delayed_error(res)

    return wrapper


class _DelayedError(Op):
    """Identity whose backward raises: the gradient of a once_differentiable backward, under create_graph."""

    saved = ()

    def name(self):
        return "Error"

    def forward(self, x):
        return x

    def backward(self, grad):
        raise RuntimeError(_ONCE_MSG)

    def recorded_twin(self, inputs):
        return self  # its backward raises, with or without create_graph


def _delayed_error(r):
    if not isinstance(r, _tensor.Tensor) or r.array.dtype.kind not in "fc":
        return r
    t = _tensor.Tensor._make(r.array, True)  # a stand-in that requires grad, as torch's fake_requires_grad
    return _DelayedError()(t)
