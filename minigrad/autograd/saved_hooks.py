"""``saved_tensors_hooks``: let the user decide how the tensors saved for backward are kept.

Inside ``with saved_tensors_hooks(pack_hook, unpack_hook):`` every node recorded hands what its
backward will read to ``pack_hook`` (a tensor in, anything out: a CPU copy, a compressed form, a file
name) and drops its own reference; when backward needs them, ``unpack_hook`` turns each payload back
into a tensor. :class:`save_on_cpu` is such a pair that keeps the saved tensors in host memory.

minigrad's ops keep what backward reads as array attributes set by ``forward`` (``self.a``,
``self.out``, ...): :func:`pack_saved` (called by ``Op.record``) packs each of them, the input tensor
itself where the array is an input's, and :meth:`_Packed.restore` (called before the node's backward)
puts the unpacked arrays back. A user ``Function`` packs what ``ctx.save_for_backward`` got instead
(autograd.function). The number of pack calls can differ from torch's: a node packs the arrays it
keeps, which are sometimes other ones than torch's saved tensors (``x ** y`` keeps its result as well),
and a node that declares ``saved = ()`` packs nothing (dropout's mask and an index stay on the node).
"""

from __future__ import annotations

import threading

from .grad_mode import no_grad

# graph.py imports this module, so it imports no more than grad_mode: the Tensor class comes as an argument


class _HookStack(threading.local):
    stack: tuple = ()  # (pack, unpack) pairs, innermost last; like grad mode, each thread has its own


state = _HookStack()
# how many saved_tensors_hooks blocks are open, in all threads: Op.record checks only this (one global),
# and pack_saved looks at its own thread's stack when it is not zero
open_blocks = [0]
_count_lock = threading.Lock()


def current_hooks():
    """The innermost active (pack_hook, unpack_hook), or None."""
    return state.stack[-1] if state.stack else None


class saved_tensors_hooks:
    """Context manager: pack/unpack hooks for the tensors saved by the operations recorded inside it."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        state.stack = (*state.stack, (self.pack_hook, self.unpack_hook))
        with _count_lock:
            open_blocks[0] += 1
        return self

    def __exit__(self, *exc):
        state.stack = state.stack[:-1]
        with _count_lock:
            open_blocks[0] -= 1
        return False


class save_on_cpu(saved_tensors_hooks):
    """Keep saved tensors in host memory until backward, then move each back to its device."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        def pack(t):
            return t.device, t.cpu()  # as torch's: no copy for a CPU tensor, so later writes to it show

        def unpack(packed):
            device, t = packed
            return t.to(device)

        super().__init__(pack, unpack)


# ------------------------------------------------------------------------------ payloads
def pack_tensor(pack, t):
    """``pack(t)``, with the shape and device unpacking must give back. The hook runs with recording off, as
    torch's does (an op inside it is not recorded, so it packs nothing in turn)."""
    with no_grad():
        return pack(t), tuple(t.array.shape), t.device


def unpack_tensor(unpack, payload, where: str, tensor_class):
    """The tensor ``unpack`` makes of ``payload``; raises if it is no tensor, or not of the saved shape and device
    (backward would fail further in, or compute with the wrong values)."""
    packed, shape, device = payload
    t = unpack(packed)
    if not isinstance(t, tensor_class):
        raise TypeError(
            f"Output of saved tensor unpack_hook expected to be a Tensor but got result of type {type(t).__name__}"
        )
    if tuple(t.array.shape) != shape:
        raise RuntimeError(
            f"saved_tensors_hooks: unpack_hook returned a tensor of shape {list(t.array.shape)} for a tensor of "
            f"shape {list(shape)} saved by {where}; it must give back a tensor of the shape that was packed"
        )
    if t.device != device:
        raise RuntimeError(
            f"saved_tensors_hooks: unpack_hook returned a tensor on {t.device} for a tensor saved on {device} "
            f"by {where}; it must give back a tensor on the device that was packed"
        )
    return t


# names the engine owns on a node (never packed)
_ENGINE = frozenset(
    ("inputs", "edges", "_versions", "_input_versions", "_out", "_fits", "_hooks", "_retain", "_pre_hooks")
    + ("_post_hooks", "_metadata", "_packed")
)


def pack_saved(node, tensor_class) -> None:
    """Pack the arrays a just-recorded ``node`` keeps for backward, and drop its references to them."""
    if not state.stack or (node.saved == () and not node.saves_output):
        return  # hooks open in another thread only; or its backward reads no tensor (shapes and numbers only)
    pack, unpack = state.stack[-1]
    entries: dict = {}  # id(array) -> [attribute names, payload]: an array kept twice is packed once
    d = node.__dict__
    for name, value in list(d.items()):
        if name in _ENGINE or type(value).__name__ != "ndarray":  # NumPy's or CuPy's array
            continue
        entry = entries.get(id(value))
        if entry is None:
            source = next((x for x in node.inputs if x.array is value), None)  # torch packs the input itself
            t = source if source is not None else tensor_class._make(value)
            entry = entries[id(value)] = [[], pack_tensor(pack, t)]
        entry[0].append(name)
        del d[name]
    if entries:
        node._packed = _Packed(unpack, tuple(entries.values()), tensor_class)
        # (-1,): the engine looks closer before backward (engine._node_backward), and restores. As in torch,
        # no version is compared: backward reads what unpack gives, whatever happened to the inputs since
        node._versions = (-1,)
        if node._input_versions is None:  # but create_graph runs forward again on the inputs: they must be intact
            node._input_versions = tuple([0 if x._vc is None else x._vc[0] for x in node.inputs])


def unpack_saved(node) -> None:
    """Before ``node``'s backward: put back the arrays the pack hook took from it (nothing if none did)."""
    packed = node.__dict__.get("_packed")
    if packed is not None:
        packed.restore(node)


class _Packed:
    """What a node handed to ``pack_hook``; ``restore`` unpacks it onto the node (on every backward)."""

    __slots__ = ("unpack", "entries", "tensor_class")

    def __init__(self, unpack, entries, tensor_class):
        self.unpack, self.entries, self.tensor_class = unpack, entries, tensor_class

    def restore(self, node) -> None:
        for names, payload in self.entries:
            array = unpack_tensor(self.unpack, payload, node.name(), self.tensor_class).array
            for name in names:
                setattr(node, name, array)
