"""Backward formulas that record a graph: how ``create_graph=True`` differentiates a backward pass.

Every op writes its backward once, over ``B`` and NumPy-style array methods (``grad * self.b``,
``g.sum(axis=0)``, ``B.where(mask, grad, 0)``). The plain backward pass runs it on arrays. For a
higher-order gradient the *same* code runs on :class:`Traced` values instead: a Traced holds a minigrad
tensor and answers NumPy's array methods with minigrad's own ops, and while it runs, ``B`` answers each
name with a minigrad op whenever an argument is Traced (:func:`recording`). Whatever the formula computes
is then a tensor with a graph of its own, which can be differentiated again, to any order.

Only what can carry a gradient is Traced: an input that requires grad, a gradient that does; constants
(integer indices, masks, inputs that need no gradient) stay plain arrays. Values that ``forward`` saved
for ``backward`` (a softmax's probabilities, a norm's ``1/std``) depend on the inputs, so a node is run
again on its Traced inputs first (:func:`recorded_backward`): every saved value is then a function of the
inputs that the new graph can differentiate. A formula that leaves the Traced world (``np.asarray`` on a
Traced value, a NumPy function ``B`` does not know how to record) raises instead of dropping the
gradient: no silent wrong answer.
"""

from __future__ import annotations

import copy
import math
from contextlib import contextmanager

import numpy as np

from .. import dtypes as _dt
from ..backend import get_array_module
from ..tensor import Tensor
from .engine import PASSES, _Pass
from .grad_mode import enable_grad
from .graph import Op, fit
from .saved_hooks import unpack_saved


class NotRecordable(RuntimeError):
    """A backward formula used something that cannot be recorded (raised as a one-line error)."""


def _mg():
    import minigrad  # the ops are minigrad's public functions; imported late (they import this package)

    return minigrad


# ------------------------------------------------------------------------------------------------ Traced
class Traced:
    """A minigrad tensor dressed as a NumPy array, for backward formulas written over arrays."""

    __slots__ = ("t", "writable", "base")
    __array_ufunc__ = None  # numpy defers to our reflected operators, and refuses `array += traced`

    def __init__(self, t: Tensor, writable: bool = True):
        self.t = t
        # a write into a view (a slice, a reshape, a transpose) would not reach the value it views, as it
        # does in NumPy: views are made read-only, so that such a write raises rather than being lost
        self.writable = writable
        self.base = None  # (value, index) for a slice of a writable value: writes go through to it

    def __setitem__(self, index, value):
        if not self.writable:
            raise NotRecordable("a formula wrote into a view of a recorded value")
        new = self.t.clone()
        new[_index(index)] = _tensor(value)
        self.t = new

    # in-place arithmetic writes into this value, as NumPy's does: refused on a view (see __init__)
    def __iadd__(self, o):
        return self._in_place(self + o)

    def __isub__(self, o):
        return self._in_place(self - o)

    def __imul__(self, o):
        return self._in_place(self * o)

    def __itruediv__(self, o):
        return self._in_place(self / o)

    def _in_place(self, result):
        if self.base is not None:  # a slice: the write lands in the value it slices, as in NumPy
            value, index = self.base
            value[index] = result
        elif not self.writable:
            raise NotRecordable("a formula wrote in place into a view of a recorded value")
        self.t = result.t
        return self

    def argmax(self, axis=None, **kwargs):
        return self.t.array.argmax(axis=axis, **kwargs)

    def argmin(self, axis=None, **kwargs):
        return self.t.array.argmin(axis=axis, **kwargs)

    def any(self, *args, **kwargs):
        return self.t.array.any(*args, **kwargs)

    def all(self, *args, **kwargs):
        return self.t.array.all(*args, **kwargs)

    def __array__(self, dtype=None, copy=None):
        raise NotRecordable("a recorded value was turned into a NumPy array, which would drop its gradient")

    # ---- what a formula reads about an array
    shape = property(lambda self: tuple(self.t.array.shape))
    ndim = property(lambda self: self.t.array.ndim)
    size = property(lambda self: self.t.array.size)
    dtype = property(lambda self: self.t.array.dtype)
    itemsize = property(lambda self: self.t.array.itemsize)
    flags = property(lambda self: self.t.array.flags)
    strides = property(lambda self: self.t.array.strides)
    T = property(lambda self: self.transpose())

    def __len__(self):
        return len(self.t.array)

    def __repr__(self):
        return f"Traced({self.t!r})"

    # ---- arithmetic: minigrad's operators, with NumPy arrays as constants
    def __add__(self, o):
        return _binary("add", self, o)

    def __radd__(self, o):
        return _binary("add", o, self)

    def __sub__(self, o):
        return _binary("sub", self, o)

    def __rsub__(self, o):
        return _binary("sub", o, self)

    def __mul__(self, o):
        return _binary("mul", self, o)

    def __rmul__(self, o):
        return _binary("mul", o, self)

    def __truediv__(self, o):
        return _binary("div", self, o)

    def __rtruediv__(self, o):
        return _binary("div", o, self)

    def __pow__(self, o):
        return _binary("pow", self, o)

    def __rpow__(self, o):
        return _binary("pow", o, self)

    def __matmul__(self, o):
        return _binary("matmul", self, o)

    def __rmatmul__(self, o):
        return _binary("matmul", o, self)

    def __neg__(self):
        return Traced(-self.t)

    def __pos__(self):
        return self

    def __abs__(self):
        return Traced(self.t.abs())

    # comparisons give constant masks: they have no gradient
    def __lt__(self, o):
        return self.t.array < _array(o)

    def __le__(self, o):
        return self.t.array <= _array(o)

    def __gt__(self, o):
        return self.t.array > _array(o)

    def __ge__(self, o):
        return self.t.array >= _array(o)

    def __eq__(self, o):  # type: ignore[override]
        return self.t.array == _array(o)

    def __ne__(self, o):  # type: ignore[override]
        return self.t.array != _array(o)

    __hash__ = None  # type: ignore[assignment]

    # ---- NumPy's array methods, each one minigrad op
    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return _view(self.t.reshape(tuple(shape)))

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        if self.ndim < 2:
            return self
        return _view(self.t.permute(*(axes or range(self.ndim - 1, -1, -1))))

    def swapaxes(self, a, b):
        return _view(self.t.transpose(a, b))

    def sum(self, axis=None, keepdims=False, dtype=None):
        return Traced(_reduce(self.t, "sum", axis, keepdims, dtype))

    def mean(self, axis=None, keepdims=False, dtype=None):
        return Traced(_reduce(self.t, "mean", axis, keepdims, dtype))

    def max(self, axis=None, keepdims=False):
        return Traced(_reduce(self.t, "amax", axis, keepdims))

    def min(self, axis=None, keepdims=False):
        return Traced(_reduce(self.t, "amin", axis, keepdims))

    def prod(self, axis=None, keepdims=False):
        if self.ndim == 0:
            return self
        if axis is None or not isinstance(axis, int):
            axes = tuple(range(self.ndim)) if axis is None else tuple(a % self.ndim for a in axis)
            rest = [a for a in range(self.ndim) if a not in axes]
            size = math.prod(self.shape[a] for a in axes)
            t = self.t.permute(*rest, *axes).reshape(*[self.shape[a] for a in rest], size).prod(-1)
            if keepdims:
                t = t.reshape([1 if a in axes else n for a, n in enumerate(self.shape)])
            return Traced(t)
        return Traced(self.t.prod(axis, keepdim=keepdims))

    def cumsum(self, axis=None):
        return Traced(self.t.reshape(-1).cumsum(0) if axis is None else self.t.cumsum(axis))

    def cumprod(self, axis=None):
        return Traced(self.t.reshape(-1).cumprod(0) if axis is None else self.t.cumprod(axis))

    def ravel(self):
        return _view(self.t.reshape(-1))

    def squeeze(self, axis=None):
        return _view(self.t.squeeze() if axis is None else self.t.squeeze(axis))

    def astype(self, dtype, copy=True):
        return Traced(self.t.to(_dt.from_numpy_dtype(np.dtype(dtype))))

    def copy(self):
        return Traced(self.t.clone())

    def conj(self):
        return self

    def __getitem__(self, index):
        out = self.t[_index(index)]
        if not _is_basic(index):  # advanced indexing copies, in NumPy too
            return Traced(out)
        view = _view(out)
        if self.writable:
            view.base = (self, index)
        return view


def _is_basic(index) -> bool:
    """Whether NumPy's indexing with ``index`` gives a view (ints, slices, None, ...) rather than a copy."""
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice, np.integer)) for i in items)


def _view(t):
    return Traced(t, writable=False)


def _array(o):
    return o.t.array if isinstance(o, Traced) else o


def _tensor(o):
    """A Traced's tensor; an array or number as a constant tensor (a number stays a number)."""
    if isinstance(o, Traced):
        return o.t
    if isinstance(o, np.generic):
        return o.item()
    if hasattr(o, "shape") and hasattr(o, "dtype"):
        return Tensor._make(o)
    return o


def _index(index):
    if isinstance(index, tuple):
        return tuple(_tensor(i) if isinstance(i, Traced) else i for i in index)
    return _tensor(index) if isinstance(index, Traced) else index


def _binary(name, a, b):
    mg = _mg()
    fn = {"add": mg.add, "sub": mg.sub, "mul": mg.mul, "div": mg.div, "pow": mg.pow, "matmul": mg.matmul}[name]
    a, b = _tensor(a), _tensor(b)
    if not isinstance(a, Tensor):  # number op tensor: keep the number a number, as NumPy's scalars behave
        a = _mg().full((), a, dtype=b.dtype) if name in ("pow", "matmul") else a
        if name in ("add", "mul"):
            return Traced(fn(b, a))
        if name == "sub":
            return Traced(mg.neg(b) + a if a != 0 else mg.neg(b))
        if name == "div":
            return Traced(mg.reciprocal(b) * a)
    return Traced(fn(a, b))


def _reduce(t, how, axis, keepdims, dtype=None):
    if dtype is not None:
        t = t.to(_dt.from_numpy_dtype(np.dtype(dtype)))
    if axis is None:
        axis = tuple(range(t.ndim))
    if isinstance(axis, int):
        axis = (axis,)
    if not axis:
        return t
    return getattr(_mg(), how)(t, dim=tuple(axis), keepdim=keepdims)


def traced(x):
    """``x`` as recorded values: a tensor that requires grad becomes Traced; the rest stays as it is."""
    if isinstance(x, Tensor):
        return Traced(x) if x.requires_grad else x.array
    return x


def as_tensor(x):
    """The result of a recorded formula as a tensor: a Traced's tensor, an array as a constant."""
    if x is None or isinstance(x, Tensor):
        return x
    if isinstance(x, Traced):
        return x.t
    return Tensor._make(x)


# ---------------------------------------------------------------------------- B while recording
def _any_traced(args, kwargs) -> bool:
    for a in args:
        if isinstance(a, Traced) or (type(a) in (tuple, list) and any(isinstance(x, Traced) for x in a)):
            return True
    return any(isinstance(v, Traced) for v in kwargs.values())


def _dispatch(name, array_fn, recorded_fn):
    """``B.<name>`` while recording: the minigrad version for Traced arguments, else the array one (a Traced
    ``like=`` stands for its array: shapes, dtypes and devices are all it gives)."""

    def call(*args, **kwargs):
        like = kwargs.get("like")
        if isinstance(like, Traced):
            if name in _BUFFERS:  # a buffer made like a recorded value: writable, and recorded when written
                return _buffer(array_fn(*args, **{**kwargs, "like": like.t.array}))
            kwargs["like"] = like.t.array
        if not _any_traced(args, kwargs):
            return array_fn(*args, **kwargs)
        if name in _CONSTANT:  # a mask, an index or a fresh buffer: no gradient flows through it
            out = array_fn(*[_array(a) for a in args], **kwargs)
            return _buffer(out) if name in _BUFFERS else out
        if recorded_fn is None:
            raise NotRecordable(f"B.{name} has no recorded form, so its result could not be differentiated")
        return recorded_fn(*args, **kwargs)

    call.__name__ = name
    return call


_STATE = {"depth": 0, "saved": None}


@contextmanager
def recording():
    """``B`` answers Traced arguments with minigrad ops (and arrays as usual) inside this block."""
    from ..compute import B

    if _STATE["depth"] == 0:
        saved = dict(B.__dict__)
        _STATE["saved"] = saved
        table = {}
        names = set(saved) | set(RECORDED)
        for name in names:
            array_fn = saved.get(name)
            if array_fn is None:
                array_fn = getattr(B, name) if hasattr(np, name) else None
                saved.setdefault(name, array_fn)
            if callable(array_fn) and not isinstance(array_fn, type):
                table[name] = _dispatch(name, array_fn, RECORDED.get(name))
            else:
                table[name] = array_fn
        B.__dict__.update(table)
        B.fallback = _guarded_numpy
    _STATE["depth"] += 1
    try:
        yield
    finally:
        _STATE["depth"] -= 1
        if _STATE["depth"] == 0:
            B.__dict__.clear()
            B.__dict__.update(_STATE["saved"])
            B.__dict__.pop("fallback", None)
            _STATE["saved"] = None


def _guarded_numpy(name):
    """A NumPy name that a formula asked ``B`` for while recording: refuses Traced arguments."""
    from ..compute.reference.arrays import numpy_function

    fn = numpy_function(name)
    if isinstance(fn, type) or not callable(fn):
        return fn
    return _dispatch(name, fn, RECORDED.get(name))


# B functions that make a fresh array (recorded values may be written into it) and those whose result
# cannot carry a gradient (masks, indices, rounding): with a Traced argument they compute on its array
_BUFFERS = frozenset(("zeros", "zeros_like", "empty", "empty_like", "full", "full_like", "ones", "ones_like"))
_CONSTANT = _BUFFERS | frozenset(
    (
        "isfinite",
        "isnan",
        "isinf",
        "isposinf",
        "isneginf",
        "signbit",
        "argsort",
        "argmax",
        "argmin",
        "nonzero",
        "floor",
        "ceil",
        "round",
        "rint",
        "trunc",
        "fix",
        "sign",
        "may_share_memory",
        "shares_memory",
        "shape",
        "ndim",
        "array_module",
        "floor_divide",
        "count_nonzero",
        "unique",
        "searchsorted",
        "lexsort",
        "flatnonzero",
    )
)


def _buffer(array):
    if array.dtype.kind not in "fc":  # masks and indices cannot carry a gradient: they stay arrays
        return array
    return Traced(Tensor._make(array), writable=True)


# ------------------------------------------------------------------------------ linear ops
class LinearMap(Op):
    """``y = f(x)`` for a linear ``f`` given with its adjoint: the backward of a linear op, recorded.

    A linear op (indexing, reshaping, padding, sums, ...: ``Op.linear``) has a backward that is linear in
    the gradient and reads no input: ``g -> A^T g``. Recorded, it is this node, whose own backward is
    ``A`` (the op's forward), and whose recorded backward is a LinearMap again: any order, exactly.
    """

    saved = ()
    linear = True  # its recorded backward is a LinearMap of its adjoint (see _linear_backward)

    def __init__(self, f, adjoint, label):
        self.f, self.adjoint, self.label = f, adjoint, label

    def name(self) -> str:
        return self.label

    def forward(self, x):
        return self.f(x)

    def backward(self, grad):
        return self.adjoint(grad)

    def transposed(self, label: str) -> LinearMap:
        """The adjoint as a map of its own (forward and adjoint swapped): this node's backward, as a node."""
        return LinearMap(self.adjoint, self.f, label)


def _linear_backward(node: Op, grad: Tensor, inputs) -> tuple:
    """The input gradients of a linear node, each a LinearMap of ``grad``."""
    if isinstance(node, LinearMap):
        return (node.transposed(f"{node.label}Backward")(grad),)
    out = []
    for i, edge in enumerate(node.edges):
        if edge is None:
            out.append(None)
            continue
        part = _Part(node, i, inputs)
        out.append(LinearMap(part.backward, part.forward, f"{node.name()}Backward")(grad))
    return tuple(out)


class _Part:
    """One input's share of a linear node: ``g -> (A^T g)_i`` and its adjoint ``h -> A (0, .., h, .., 0)``."""

    def __init__(self, node, i, inputs):
        self.node, self.i = copy.copy(node), i  # a copy: a later backward may release the node itself
        self.args = [x.array for x in inputs]
        self.floats = [k for k, a in enumerate(self.args) if a.dtype.kind in "fc"]

    def _forward(self, *args):
        node = copy.copy(self.node)  # forward notes things on its node: keep the original as it was
        return getattr(node, "linear_forward", node.forward)(*args)

    def backward(self, g):
        res = copy.copy(self.node).backward(g)
        return res[self.i] if type(res) is tuple else res

    def forward(self, h):
        args = [_zeros_like(a) if k in self.floats else a for k, a in enumerate(self.args)]
        args[self.i] = h.astype(self.args[self.i].dtype, copy=False)
        out = self._forward(*args)
        if h.size == 0:  # nothing to map (a mean of nothing is NaN, but nothing flows back through it)
            return get_array_module(out).zeros_like(out)
        args[self.i] = _zeros_like(h)
        offset = self._forward(*args)  # an affine op (padding with a value) adds a constant
        return out - offset if offset.any() else out


def _zeros_like(a):
    return a * 0


def _check_inputs_unchanged(node: Op, inputs) -> None:
    """Running ``node`` again needs every input as it was; one written in place since (``x.exp_()`` writes
    its own input) would silently change the result, so that refuses instead."""
    versions = node._input_versions
    if versions is None:
        return  # saved is None: check_saved compared them all already
    for i, (x, then) in enumerate(zip(inputs, versions)):
        if (0 if x._vc is None else x._vc[0]) != then:
            raise NotRecordable(
                f"{node.name()} cannot be differentiated twice (create_graph=True): its input {i} was overwritten "
                "in place after it was used, and its double backward needs it"
            )


# ------------------------------------------------------------------------------ a node, recorded
def recorded_backward(node: Op, grad: Tensor) -> tuple:
    """``node``'s input gradients for the output gradient ``grad``, as tensors with a graph of their own."""
    inputs = node.inputs
    if inputs is None:
        raise RuntimeError(
            f"{node.name()}: its saved values were freed by an earlier backward; call that backward with "
            "retain_graph=True (or create_graph=True) to differentiate through it again"
        )
    node.check_saved()
    unpack_saved(node)  # saved_tensors_hooks may have taken what backward reads
    if node.linear:
        with enable_grad():
            return _linear_backward(node, grad, inputs)
    twin = node.recorded_twin(inputs) if hasattr(node, "recorded_twin") else rerun(node, inputs)
    try:
        with enable_grad(), recording():
            grads = twin.backward(traced(grad))
    except (NotRecordable, AttributeError, TypeError) as e:
        raise NotRecordable(f"{node.name()} cannot be differentiated twice (create_graph=True): {e}") from None
    if type(grads) is not tuple:
        grads = (grads,)
    return tuple(as_tensor(g) for g in grads)


def _keeps_floats(node: Op) -> bool:
    """Whether ``node`` kept a floating array (a softmax, a norm's 1/std) that forward computed from its inputs."""
    skip = ("inputs", "edges", "_versions", "_input_versions", "_out", "_fits")
    values = [v for k, v in node.__dict__.items() if k not in skip]
    while values:
        v = values.pop()
        if isinstance(v, (tuple, list)):
            values.extend(v)
        elif getattr(v, "dtype", None) is not None and getattr(v.dtype, "kind", "") in "fc" and hasattr(v, "shape"):
            return True
    return False


def rerun(node: Op, inputs) -> Op:
    """A copy of ``node`` whose forward ran again on its inputs as recorded values: what it saved for
    backward is then a function of the inputs that the new graph differentiates."""
    twin = copy.copy(node)
    if node.saved == () and not node.saves_output and not _keeps_floats(node):
        return twin  # backward reads no input, nor anything computed from one: only shapes, axes, numbers
    if getattr(node, "random", False):
        return twin  # forward drew random numbers: running it again would draw others; backward uses the mask
    _check_inputs_unchanged(node, inputs)
    try:
        with enable_grad(), recording():
            twin.forward(*[traced(x) for x in inputs])
    except (NotRecordable, AttributeError, TypeError) as e:
        raise NotRecordable(f"{node.name()} cannot be differentiated twice (create_graph=True): {e}") from None
    return twin


# ------------------------------------------------------------------------------ the pass
class _RecordedPass(_Pass):
    """A backward pass that records its own graph (``create_graph=True``): gradients are tensors, each
    node's formula runs over minigrad's ops (:mod:`.recorded`), so the gradients can be differentiated."""

    def send(self, f, g):
        g = as_tensor(g)
        if isinstance(f, Op):
            slot = self.node_grads.get(f)
            self.node_grads[f] = [g if slot is None else slot[0] + g, True]
        elif id(f) in self.leaf_grads:
            slot = self.leaf_grads[id(f)][1]
            slot[0] = slot[0] + g
        else:
            self.leaf_grads[id(f)] = (f, [g, True])

    def _run(self, node, slot, inputs, skip) -> tuple:
        g = slot[0]
        if node._hooks:
            g = _call_tensor_hooks(node._hooks, g)
        if node._retain is not None:
            out = node._retain()
            if out is not None:
                out.grad = g if out.grad is None else out.grad + g
        for i in self.captured_nodes.get(node, ()):
            self.results[i] = g
        if skip:
            return ()
        if node._pre_hooks:
            g = _call_tensor_node_hooks(node._pre_hooks, (g,))[0]
        grads = recorded_backward(node, g)
        if self.tracer is not None:
            self.tracer(node, g.array, tuple(None if x is None else x.array for x in grads))
        if node._post_hooks:
            grads = _call_tensor_node_hooks(node._post_hooks, grads, g)
        return grads

    def route(self, node, grads, inputs) -> dict:
        for i, f in enumerate(node.edges):
            gx = grads[i] if i < len(grads) else None
            if f is None or gx is None:
                continue
            xa = inputs[i].array
            if gx.shape != xa.shape or gx.array.dtype != xa.dtype:  # graph.fit, the one place for it, on tensors
                gx = fit(Traced(gx), xa.shape, xa.dtype).t
            self.send(f, gx)
        return {}

    def finish(self):
        if self.capture is not None:
            for i, t in enumerate(self.capture):
                if t.grad_fn is None and id(t) in self.leaf_grads:
                    leaf, slot = self.leaf_grads[id(t)]
                    self.results[i] = _call_tensor_hooks(leaf._hooks, slot[0]) if leaf._hooks else slot[0]
            return self.results
        for leaf, slot in self.leaf_grads.values():
            g = _call_tensor_hooks(leaf._hooks, slot[0]) if leaf._hooks else slot[0]
            if leaf.requires_grad:  # torch adds out of place under create_graph, so the sum keeps its graph
                leaf.grad = g if leaf.grad is None else leaf.grad + g
        return None


def _call_tensor_hooks(hooks, g):
    for hook in hooks:
        res = hook(g)
        if res is not None:
            g = as_tensor(res)
    return g


def _call_tensor_node_hooks(hooks, grads, *grad_outputs) -> tuple:
    for hook in hooks:
        res = hook(grads, *((tuple(grad_outputs),) if grad_outputs else ()))
        if res is not None:
            grads = tuple(as_tensor(t) for t in res)
    return grads


PASSES[True] = _RecordedPass
from . import recorded_vision  # noqa: E402,F401  (registers its forms)
from .recorded_forms import RECORDED  # noqa: E402  (the forms use Traced and LinearMap, defined above)
