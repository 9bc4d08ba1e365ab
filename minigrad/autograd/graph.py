"""The computation graph: ``Op``, the node every differentiable operation is.

Every differentiable operation is a subclass of :class:`Op` with two methods:

* ``forward(*arrays) -> array``: computes the result on raw NumPy/CuPy arrays and keeps on
  ``self`` whatever the backward pass will need;
* ``backward(grad) -> tuple``: given the gradient of the loss with respect to the output,
  returns the gradient with respect to each input (``None`` where an input needs none).

Calling an op (``Mul()(a, b)``) runs ``forward`` and, when gradients are being recorded and an
input requires one, makes the op the ``grad_fn`` of the output tensor. The backward pass
(:mod:`.engine`) then visits the nodes in reverse topological order, sums gradients that meet at
a node, reduces broadcast gradients back to each input's shape in one place (:func:`sum_to`),
and frees each node's saved arrays (:meth:`Op.release`) as soon as it has run unless
``retain_graph`` is set.
"""

from __future__ import annotations

import weakref

from .. import tensor as _tensor  # the module, not the class: tensor.py imports this module too
from ..dtypes import type_name
from .grad_mode import _state as _grad_state

_FREED_MSG = (
    "Trying to backward through the graph a second time (or to use saved values after they were "
    "freed). Saved values are freed when you call .backward() or autograd.grad(); pass "
    "retain_graph=True to the first call if you need to go through the graph again."
)


# [open, call]: while a forward-AD level is open, every op call goes through forward_ad's ``call``
dual_state: list = [False, None]

# How many in-place writes have happened, anywhere (bumped with every tensor's version): a node recorded
# when it was k, and backward finds it still k, can skip comparing its saved tensors' versions.
writes = [0]


class Op:
    """Base class of graph nodes. Subclasses implement ``forward`` and ``backward``.

    ``saved`` lists the inputs whose arrays ``backward`` reads (None: all of them, the safe default;
    ``()``: none, as for ``Add``), and ``saves_output`` says whether it reads its output. When the
    node is recorded, the version of each of those tensors is noted; if an in-place write changes
    one before ``backward`` runs, the engine raises, as torch does.
    """

    saved: tuple | None = None  # indexes of the inputs that backward reads; None = all
    saves_output = False  # whether backward reads the output (exp, tanh, sigmoid, ...)
    # {saved input: the inputs whose gradient alone reads it}, e.g. Mul's {0: (1,), 1: (0,)}: a change
    # to ``a`` in ``a * b`` matters only when ``b`` needs a gradient (torch saves it only then)
    saved_for: dict | None = None
    inputs: tuple | None = None  # tuple of input Tensors once recorded; None for unrecorded or freed nodes
    edges: tuple = ()  # per input, where its gradient goes: its grad_fn at record time, itself (a leaf), or None
    # (writes[0], versions of the saved inputs...) at record time; the first entry is -1 once the node was
    # freed or its output was written, so that backward always looks closer (check_saved)
    _versions: tuple | None = None
    _input_versions: tuple | None = None  # every input's version at record time, when ``saved`` names fewer
    _out: tuple | None = None  # (version cell, version, array) of the output, when backward reads the output's memory
    _fits: dict | None = None  # after release: {input index: (shape, dtype)} for the gradients that needed reducing
    _hooks = None  # hooks registered on the output tensor (a non-leaf)
    _retain = None  # weakref to the output tensor when it called retain_grad()
    _pre_hooks: list | None = None  # register_prehook: see the output gradient before backward
    _post_hooks: list | None = None  # register_hook: see (and may replace) the input gradients after it
    # True where torch cannot run the node again once backward freed the graph, although it saved no
    # tensor (its CopySlices, behind x[i] = v or a write through a view): released like a node that saved
    once_only = False
    # True for an op whose output is linear in its floating inputs, jointly, and whose backward reads no
    # input value (indexing, reshaping, padding, sums): create_graph records its backward as a LinearMap
    linear = False

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    @property
    def needs_input_grad(self):
        return tuple([e is not None for e in self.edges])

    def __call__(self, *inputs):
        if dual_state[0]:  # inside forward_ad.dual_level(): the result's tangent is computed too
            return dual_state[1](self, inputs)
        out = self.forward(*[t.array for t in inputs])
        if _grad_state.enabled:  # is_grad_enabled(), inlined: this runs for every op
            for t in inputs:
                if t.requires_grad:
                    self.record(inputs)
                    res = _tensor.Tensor._make(out, True, self)
                    if self.saves_output:  # its version is checked like a saved input's
                        res._vc = cell = [0]
                        self._out = (cell, 0, out)
                        self._versions = self._versions or (writes[0],)
                    return res
        return _tensor.Tensor._make(out)

    def record(self, inputs):
        """Make this node the one that produced an output from ``inputs``: fix its edges, note versions (and
        inside ``saved_tensors_hooks``, hand what backward reads to the pack hook: :mod:`.saved_hooks`)."""
        self.inputs = inputs
        # the edges are fixed now: an in-place op that later gives an input a new grad_fn must not
        # re-route this node's gradient
        self.edges = tuple([(x if x.grad_fn is None else x.grad_fn) if x.requires_grad else None for x in inputs])
        saved = self.saved
        if saved is None:
            self._versions = (writes[0], *[0 if x._vc is None else x._vc[0] for x in inputs])
        else:
            if saved:
                self._versions = (writes[0], *[0 if inputs[i]._vc is None else inputs[i]._vc[0] for i in saved])
            # every input's version, for create_graph, which reads them all again (autograd.recorded)
            self._input_versions = tuple([0 if x._vc is None else x._vc[0] for x in inputs])
        if _saved_hooks_open[0]:  # inside autograd.graph.saved_tensors_hooks: pack what backward reads
            pack_saved(self, _tensor.Tensor)

    def name(self) -> str:
        return type(self).__name__ + "Backward0"

    def __repr__(self):
        return f"<{self.name()}>"

    # ------------------------------------------------------------------ introspection, as torch's Node
    @property
    def next_functions(self) -> tuple:
        """Where each input's gradient goes: ``(node, 0)``, ``(AccumulateGrad, 0)`` for a leaf, ``(None, 0)``."""
        return tuple((_next(e), 0) for e in self.edges)

    @property
    def metadata(self) -> dict:
        """A dict for the user's own notes about this node (torch's ``Node.metadata``)."""
        if "_metadata" not in self.__dict__:
            self._metadata: dict = {}
        return self._metadata

    def register_prehook(self, hook) -> _NodeHookHandle:
        """``hook(grad_outputs) -> grad_outputs or None``, called before this node's backward runs."""
        self._pre_hooks = [*(self._pre_hooks or ()), hook]
        return _NodeHookHandle(self, "_pre_hooks", hook)

    def register_hook(self, hook) -> _NodeHookHandle:
        """``hook(grad_inputs, grad_outputs) -> grad_inputs or None``, called after this node's backward."""
        self._post_hooks = [*(self._post_hooks or ()), hook]
        return _NodeHookHandle(self, "_post_hooks", hook)

    def check_saved(self):
        """Raise torch's error if an in-place write changed a tensor that ``backward`` reads (or it was freed)."""
        if self._versions is _FREED:
            raise RuntimeError(_FREED_MSG)
        if self._versions is not None:
            inputs = self.inputs or ()
            saved = range(len(inputs)) if self.saved is None else self.saved
            for i, expected in zip(saved, self._versions[1:]):
                x = inputs[i]
                now = 0 if x._vc is None else x._vc[0]
                if now != expected and self._reads(i):
                    raise RuntimeError(_modified_msg(x.array, now, expected, f"input {i} of {self.name()}"))
        if self._out is not None and self._out[0][0] != self._out[1]:
            raise RuntimeError(_modified_msg(self._out[2], self._out[0][0], self._out[1], f"output 0 of {self.name()}"))

    def _reads(self, i) -> bool:
        """Whether this node's backward reads saved input ``i``, given which inputs need a gradient."""
        users = self.saved_for.get(i) if self.saved_for is not None else None
        return users is None or any(self.edges[j] is not None for j in users)

    def release(self, fits=None):
        """Free what backward needed (called after it ran, unless retain_graph).

        A node that saved tensors is cut down to its edges: running it again raises. A node that saved
        none (``saved == ()``) keeps its edges and small parameters (shapes, axes, scalars), drops any
        array it held, and can run again when it held none, as in torch. ``fits`` (from the engine):
        the shape and dtype to which each input's gradient had to be reduced, for that second run.
        """
        d = self.__dict__
        if fits is None or self.saved != () or self.saves_output or self.once_only:
            self._cut_to_edges()
            return
        del d["inputs"]
        for k, v in d.items():
            if k != "edges" and _holds_data(v):  # e.g. dropout's mask
                self._cut_to_edges()
                return
        self._fits = fits

    def _cut_to_edges(self):
        """Drop everything but the edges and the hooks (torch keeps a node's hooks after backward)."""
        d = self.__dict__
        kept = {k: d[k] for k in ("edges", "_hooks", "_retain", "_pre_hooks", "_post_hooks", "_metadata") if k in d}
        d.clear()
        d.update(kept)
        self._versions = _FREED


_SMALL = frozenset((int, float, bool, str, slice, type(None), type(Ellipsis)))


def _holds_data(v) -> bool:
    """Whether ``v`` is (or holds) an array or a tensor: what release() frees."""
    t = type(v)
    if t in _DATA:
        return True
    if t in _SMALL:
        return False
    if t is tuple or t is list:
        return any(_holds_data(x) for x in v)
    if (
        hasattr(v, "__array_interface__")
        or hasattr(v, "__cuda_array_interface__")
        or isinstance(v, _tensor.Tensor)
        or t.__name__ == "ndarray"
    ):
        _DATA.add(t)
        return True
    return False


_DATA: set = set()  # array and tensor types met by _holds_data
_FREED = (-1,)  # a node's _versions once release() dropped what its backward reads


def _modified_msg(array, now, expected, what) -> str:
    """torch's message, with minigrad's type name: ``[minigrad.FloatTensor [3]] ... is at version 2; ...``."""
    shape, kind = array.shape, type_name(array.dtype)
    return (
        f"one of the variables needed for gradient computation has been modified by an inplace operation: "
        f"[minigrad.{kind}Tensor {list(shape)}], which is {what}, is at version {now}; expected version "
        f"{expected} instead. Hint: clone() the tensor before modifying it in place, or modify it after "
        "backward()."
    )


def sum_to(grad, shape):
    """Reduce a broadcast gradient back to ``shape``: the one place unbroadcasting happens."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead < 0:
        raise RuntimeError(f"gradient of shape {tuple(grad.shape)} cannot be reduced to shape {tuple(shape)}")
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and grad.shape[i + lead] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if lead:
        grad = grad.reshape(shape)
    if grad.shape != tuple(shape):
        raise RuntimeError(f"gradient of shape {tuple(grad.shape)} does not match its input's shape {tuple(shape)}")
    return grad


def fit(grad, shape, dtype):
    """The gradient of an input of ``shape`` and ``dtype``: broadcast dims summed, cast."""
    if grad.shape != shape:
        grad = sum_to(grad, shape)
    if grad.dtype is not dtype and grad.dtype != dtype:
        grad = grad.astype(dtype)
    return grad


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf: its gradient accumulates into ``variable.grad``."""

    next_functions: tuple = ()

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"  # torch's name: code that compares names keeps working

    def __repr__(self):
        return "<AccumulateGrad>"


# id(leaf) -> (weak reference to the leaf, its AccumulateGrad): one per leaf, gone with the leaf (by id,
# because a tensor's == is element-wise)
_ACCUMULATORS: dict = {}


def _next(edge):
    if edge is None or isinstance(edge, Op):
        return edge
    key = id(edge)
    if key not in _ACCUMULATORS or _ACCUMULATORS[key][0]() is not edge:
        _ACCUMULATORS[key] = (weakref.ref(edge, _forget(key)), AccumulateGrad(edge))
    return _ACCUMULATORS[key][1]


def _forget(key: int):
    def drop(_ref) -> None:
        if _ACCUMULATORS is not None:  # at interpreter exit the module's globals may already be gone
            _ACCUMULATORS.pop(key, None)

    return drop


class _NodeHookHandle:
    def __init__(self, node, slot, hook):
        self.node, self.slot, self.hook = node, slot, hook

    def remove(self) -> None:
        hooks = getattr(self.node, self.slot) or []
        setattr(self.node, self.slot, [h for h in hooks if h is not self.hook] or None)


def attach_retain(node, tensor):
    node._retain = weakref.ref(tensor)


# autograd.graph.saved_tensors_hooks lives in its own module; record() checks whether any block is open
from .saved_hooks import open_blocks as _saved_hooks_open  # noqa: E402
from .saved_hooks import pack_saved, save_on_cpu, saved_tensors_hooks  # noqa: E402,F401
