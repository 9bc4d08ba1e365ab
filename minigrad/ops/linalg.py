"""Linear algebra: matmul (and its strict forms mm, bmm, dot), outer, einsum.

For ``C = A @ B`` with upstream gradient ``G`` (same shape as ``C``), the chain rule gives
``dA = G @ B^T`` and ``dB = A^T @ G``: each gradient is itself one matrix product. The rest
of this module is bookkeeping: 1-d operands are treated as a row (on the left) or a column (on
the right) and that dim is dropped again; batch dims that were broadcast are summed back by
the engine.
"""

from __future__ import annotations

from ..autograd.graph import Op
from ..backend import get_array_module
from ..compute import B
from ..dtypes import type_name
from ..tensor import Tensor
from ._util import check_same_device
from .registry import declare, exports


def _x(shape):
    return "x".join(str(s) for s in shape)


class MatMul(Op):
    saved_for = {0: (1,), 1: (0,)}  # a is read for b's gradient only, and b for a's

    def forward(self, a, b):
        self.a, self.b = a, b
        return B.matmul(a, b)

    def backward(self, grad):
        need_a, need_b = self.needs_input_grad
        a, b = self.a, self.b
        if a.ndim == 1 and b.ndim == 1:  # dot product: grad is a scalar
            return (grad * b if need_a else None), (grad * a if need_b else None)
        # view 1-d operands as matrices: a as a row (1, k), b as a column (k, 1); the gradient gets those dims back
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad
        if a.ndim == 1:
            g = B.expand_dims(g, -2)
        if b.ndim == 1:
            g = g[..., None]
        ga = gb = None
        if need_a:
            ga = B.matmul(g, B.swapaxes(b2, -1, -2))
            if a.ndim == 1:
                ga = ga[..., 0, :]
        if need_b:
            if b2.ndim == 2 and a2.ndim > 2:  # one matrix b for every batch entry (a Linear layer): summed
                gb = B.shared_matrix_grad(a2, g)
            else:
                gb = B.matmul(B.swapaxes(a2, -1, -2), g)
            if b.ndim == 1:
                gb = gb[..., 0]
        return ga, gb


def _check_pair(op, a, b):
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"{op}(): expected two Tensors, got {type(a).__name__} and {type(b).__name__}")
    check_same_device(op, a, b)
    if a.array.dtype != b.array.dtype:
        raise RuntimeError(
            f"{op}: expected both operands to have the same dtype, but got {a.dtype} and {b.dtype} "
            f"(cast one with .to(), e.g. .float() or .double())"
        )


@declare(autocast="lower", out=True, dunders=("__matmul__",), rdunders=("__rmatmul__",))
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """The matrix product with NumPy/torch's rules: 1-d·1-d is a dot product, a 1-d operand acts as a
    row (left) or column (right) vector, and dims before the last two are batch dims that broadcast."""
    _check_pair("matmul", input, other)
    a, b = input.shape, other.shape
    if not a or not b:
        raise RuntimeError(
            f"matmul: both arguments to matmul need to be at least 1D, but they are {len(a)}D and {len(b)}D"
        )
    k_a = a[-1]
    k_b = b[0] if len(b) == 1 else b[-2]
    if k_a != k_b:
        if len(a) == 1 and len(b) == 1:
            raise RuntimeError(
                f"matmul: inconsistent tensor size, expected tensor [{a[0]}] and src [{b[0]}] to have "
                f"the same number of elements, but got {a[0]} and {b[0]} elements respectively"
            )
        sa = (1,) + tuple(a) if len(a) == 1 else a
        sb = tuple(b) + (1,) if len(b) == 1 else b
        raise RuntimeError(
            f"matmul: mat1 and mat2 shapes cannot be multiplied ({_x(sa[-2:])} and {_x(sb[-2:])}) "
            f"(shapes {list(a)} and {list(b)})"
        )
    ba, bb = tuple(a[:-2]), tuple(b[:-2])
    n = max(len(ba), len(bb))
    pa, pb = (1,) * (n - len(ba)) + ba, (1,) * (n - len(bb)) + bb
    for d, (x, y) in enumerate(zip(pa, pb)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(
                f"matmul: the batch dims of shapes {list(a)} and {list(b)} do not broadcast "
                f"(sizes {x} and {y} at batch dim {d})"
            )
    return MatMul()(input, other)


@declare(autocast="lower", out=True)
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Matrix times matrix, both strictly 2-d."""
    _check_pair("mm", input, mat2)
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(
            f"mm: expected 2-D tensors (matrices), but got shapes {list(input.shape)} and {list(mat2.shape)}"
        )
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mm: mat1 and mat2 shapes cannot be multiplied ({_x(input.shape)} and {_x(mat2.shape)})")
    return MatMul()(input, mat2)


@declare(autocast="lower", out=True)
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of (b, n, m) and (b, m, p) tensors (no broadcasting)."""
    _check_pair("bmm", input, mat2)
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(
            f"bmm: batch1 and batch2 must be 3D tensors, but got shapes {list(input.shape)} and {list(mat2.shape)}"
        )
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(
            f"bmm: Expected size for first two dimensions of batch2 tensor to be: "
            f"[{input.shape[0]}, {input.shape[2]}] but got: [{mat2.shape[0]}, {mat2.shape[1]}] "
            f"(shapes {list(input.shape)} and {list(mat2.shape)})"
        )
    return MatMul()(input, mat2)


@declare
def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-d tensors of the same length."""
    _check_pair("dot", input, tensor)
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {input.ndim}D and {tensor.ndim}D tensors")
    if input.shape[0] != tensor.shape[0]:
        raise RuntimeError(
            f"dot: inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
            f"[{tensor.shape[0]}] to have the same number of elements, but got {input.shape[0]} and "
            f"{tensor.shape[0]} elements respectively"
        )
    return MatMul()(input, tensor)


@declare
def vdot(input: Tensor, other: Tensor) -> Tensor:
    """:func:`dot` with the first operand conjugated: the same for real tensors."""
    return dot(input, other)


@declare
def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum over the last dim of both: ``einsum('...i,...j->...', ...)`` generalised, as ``torch.inner``."""
    if input.ndim == 0 or other.ndim == 0:
        from .elementwise import mul

        return mul(input, other)
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(
            f"inner() the last dimension must match on both input tensors but got shapes "
            f"{list(input.shape)} and {list(other.shape)}"
        )
    if input.ndim == other.ndim == 1:
        return dot(input, other)
    from .shape import reshape, transpose

    out = matmul(reshape(input, (-1, input.shape[-1])), transpose(reshape(other, (-1, other.shape[-1])), 0, 1))
    return reshape(out, tuple(input.shape[:-1]) + tuple(other.shape[:-1]))


@declare(aliases=("ger",), method_aliases=("ger",))
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """``out[i, j] = input[i] * vec2[j]`` for 1-d tensors."""
    from .elementwise import mul
    from .shape import unsqueeze

    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer: expected 1D tensors, but got {input.ndim}D and {vec2.ndim}D tensors")
    return mul(unsqueeze(input, 1), vec2)


# ------------------------------------------------------------------ einsum
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse_einsum(equation: str, shapes):
    """Expand ``...`` into explicit letters; return (input subscripts, output subscript)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) != len(shapes):
        raise RuntimeError(
            "einsum(): more operands were provided than specified in the equation"
            if len(subs) < len(shapes)
            else "einsum(): fewer operands were provided than specified in the equation"
        )
    used = {c for c in eq if c.isalpha()}
    free = [c for c in _LETTERS if c not in used]
    n_ell = 0
    for s, shape in zip(subs, shapes):
        if "..." in s:
            n_ell = max(n_ell, len(shape) - (len(s) - 3))
    ell = "".join(free[:n_ell])
    out_subs = []
    for s, shape in zip(subs, shapes):
        if "..." in s:
            k = len(shape) - (len(s) - 3)
            s = s.replace("...", ell[n_ell - k :] if k else "")
        if len(s) != len(shape) or not (s.isalpha() or s == ""):  # "" is a 0-d operand
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(s)}) does not match the "
                f"number of dimensions ({len(shape)}) for an operand (equation {equation!r})"
            )
        out_subs.append(s)
    if arrow:
        out = rhs.replace("...", ell)
    else:  # implicit output: the broadcast dims, then the letters used once, in alphabetical order
        counts = {}
        for s in out_subs:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted((c for c, k in counts.items() if k == 1 and c not in ell), key=_LETTERS.index))
    return out_subs, out


class Einsum(Op):
    """``einsum`` on explicit subscripts. The gradient for operand ``i`` is itself an einsum: the
    upstream gradient contracted with every *other* operand, producing operand ``i``'s subscripts.
    Letters of operand ``i`` found nowhere else were summed out, so their gradient is a broadcast;
    a letter repeated within operand ``i`` (a diagonal, ``'ii->i'``) is written back onto the diagonal."""

    def __init__(self, subs, out):
        self.subs, self.out = subs, out

    def forward(self, *arrays):
        self.arrays = arrays
        eq = ",".join(self.subs) + "->" + self.out
        return B.einsum(eq, *arrays, **_opt(arrays))

    def backward(self, grad):
        grads = []
        for i, need in enumerate(self.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            s, shape = self.subs[i], self.arrays[i].shape
            others = [(self.subs[j], self.arrays[j]) for j in range(len(self.subs)) if j != i]
            unique = "".join(dict.fromkeys(s))
            avail = set(self.out).union(*(set(o) for o, _ in others))
            target = "".join(c for c in unique if c in avail)
            eq = ",".join([self.out] + [o for o, _ in others]) + "->" + target
            operands = [grad] + [a for _, a in others]
            g = B.einsum(eq, *operands, **_opt(operands))
            sizes = dict(zip(s, shape))
            if target != unique:  # letters summed out in the forward: broadcast the gradient over them
                got = dict(zip(target, g.shape))
                g = g.reshape(tuple(got.get(c, 1) for c in unique))
                g = B.broadcast_to(g, tuple(got.get(c, sizes[c]) for c in unique))
            if unique != s:  # a repeated letter: scatter onto the diagonal
                full = B.zeros(shape, grad.dtype, like=grad)
                grids = {
                    c: B.arange(sizes[c], like=grad).reshape([-1 if c == u else 1 for u in unique]) for c in unique
                }
                full[tuple(grids[c] for c in s)] = g
                g = full
            grads.append(g)
        return tuple(grads)


def _opt(arrays):
    return {"optimize": True} if len(arrays) > 2 else {}


@declare(method=False)
def einsum(equation: str, *operands) -> Tensor:
    """Sum of products over the letters of ``equation``, e.g. ``einsum('bij,bjk->bik', a, b)``
    (a batched matmul); ``...`` stands for broadcast dims."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    for k, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum(): operand {k} is a {type(t).__name__}, not a Tensor")
    check_same_device("einsum", *operands)
    for t in operands[1:]:
        if t.array.dtype != operands[0].array.dtype:
            raise RuntimeError(
                f"einsum(): expected all operands to have the same dtype, but got {[str(o.dtype) for o in operands]}"
            )
    subs, out = _parse_einsum(equation, [t.shape for t in operands])
    sizes = {}
    for s, t in zip(subs, operands):
        for c, n in zip(s, t.shape):
            if c in sizes and sizes[c] != n and 1 not in (sizes[c], n):
                raise RuntimeError(
                    f"einsum(): operands do not broadcast with remapped shapes (subscript {c!r} has "
                    f"sizes {sizes[c]} and {n}; equation {equation!r})"
                )
            sizes[c] = n if sizes.get(c, 1) == 1 else sizes[c]
    for c in out:
        if c not in sizes:
            raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any input operand")
    return Einsum(subs, out)(*operands)


class LogDet(Op):
    """``log(det A)`` of each square matrix in the last two dims, from ``slogdet`` (no overflow for large
    matrices): NaN where the determinant is negative, -inf where it is 0, as in torch. The gradient is
    ``G A^-T`` where the determinant is positive and 0 where the result is NaN (torch's choice)."""

    def forward(self, a):
        self.a = a
        self.sign, logabs = get_array_module(a).linalg.slogdet(a)
        return B.where(self.sign < 0, B.asarray(float("nan"), logabs.dtype, like=logabs), logabs)

    def recorded_twin(self, inputs):
        """For create_graph: ``a`` as a recorded value; the sign is piecewise constant, so it stays a constant."""
        from ..autograd.recorded_vision import with_saved

        return with_saved(self, inputs, a=0)

    def backward(self, grad):
        g = B.where(self.sign < 0, 0, grad)[..., None, None]
        try:
            inverse = B.inverse(self.a)
        except Exception as e:
            if type(e).__name__ != "LinAlgError":
                raise
            # torch returns infinities from its LU here; minigrad says so rather than guess them
            raise RuntimeError(
                "logdet backward: a matrix is singular (its logdet is -inf), so minigrad has no gradient for it"
            ) from None
        return g * B.swapaxes(inverse, -1, -2)


@declare
def logdet(input: Tensor) -> Tensor:
    """The log of the determinant of each square matrix in the last two dims (NaN for a negative one)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"logdet(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if input.ndim < 2:
        raise RuntimeError("logdet: The input tensor A must have at least 2 dimensions.")
    rows, cols = input.shape[-2:]
    if rows != cols:
        raise RuntimeError(f"logdet: A must be batches of square matrices, but they are {rows} by {cols} matrices")
    if not input.is_floating_point():
        raise RuntimeError(
            f"logdet: Expected a floating point or complex tensor as input. Got {type_name(input.dtype)}"
        )
    if input.dtype.itemsize < 4:
        raise RuntimeError(f"logdet: Low precision dtypes not supported. Got {type_name(input.dtype)}")
    return LogDet()(input)


__all__ = exports(__name__)
