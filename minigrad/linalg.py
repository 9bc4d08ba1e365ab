"""``minigrad.linalg``: torch.linalg's norms, inverse, determinant and linear solve.

Gradients (for matrices ``A``, upstream gradient ``G``):

* ``inv``: ``Y = A^-1`` gives ``dA = -Y^T G Y^T``;
* ``det``: ``d = det A`` gives ``dA = G d A^-T`` (defined where ``A`` is invertible);
* ``solve``: ``X = A^-1 B`` gives ``dB = A^-T G`` and ``dA = -dB X^T``;
* the spectral norms (``matrix_norm`` with ord 2, -2, 'nuc'), from ``A = U diag(S) V^T``: the largest
  singular value's gradient is ``u_1 v_1^T``, the smallest's ``u_n v_n^T``, their sum's ``U V^T``.

The norms are built from :func:`minigrad.norm`, ``amax`` and ``sum``, which carry their own gradients.
"""

from __future__ import annotations

import math

from .autograd.graph import Op
from .compute import B
from .ops._util import normalize_dim
from .tensor import Tensor

__all__ = ["LinAlgError", "vector_norm", "matrix_norm", "norm", "inv", "det", "solve", "cross"]


class LinAlgError(RuntimeError):
    """A matrix that the operation cannot handle (singular, not square), like ``torch.linalg.LinAlgError``."""


def _mT(a):
    return B.swapaxes(a, -1, -2)


def _float_tensor(op: str, x, name: str = "A") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg.{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")
    if not x.is_floating_point():
        raise RuntimeError(f"linalg.{op}: Expected a floating point or complex tensor as input. Got {x.dtype}")
    return x


def _square(op: str, x: Tensor) -> Tensor:
    x = _float_tensor(op, x)
    if x.ndim < 2:
        raise RuntimeError(f"linalg.{op}: The input tensor A must have at least 2 dimensions.")
    if x.shape[-1] != x.shape[-2]:
        raise RuntimeError(
            f"linalg.{op}: A must be batches of square matrices, but they are {x.shape[-2]} by {x.shape[-1]} matrices"
        )
    return x


def _singular(op: str, error: Exception) -> Exception:
    if type(error).__name__ == "LinAlgError":  # NumPy's: the matrix is singular
        return LinAlgError(f"linalg.{op}: The input matrix is singular, so the operation could not be completed.")
    return error


# ------------------------------------------------------------------ norms
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """``(sum |x|^ord)^(1/ord)`` over ``dim`` (all elements by default); ``ord`` may be inf, -inf or 0."""
    from .ops.reduce import norm as _norm

    x = _float_tensor("vector_norm", x, "x")
    if dtype is not None:
        x = x.to(dtype)
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    return _norm(x, ord, dim, keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """A norm of each matrix in ``dim``: 'fro' (the 2-norm of its entries), 1 / -1 (largest / smallest column
    sum of ``|A|``), inf / -inf (largest / smallest row sum), 2 / -2 (largest / smallest singular value),
    'nuc' (the sum of the singular values)."""
    A = _float_tensor("matrix_norm", A)
    if dtype is not None:
        A = A.to(dtype)
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    rows, cols = (normalize_dim(d, A.ndim, "linalg.matrix_norm") for d in dim)
    if rows == cols:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    if ord == "fro":
        return vector_norm(A, 2, (rows, cols), keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        summed, over = (rows, cols) if abs(ord) == 1 else (cols, rows)  # column sums for 1, row sums for inf
        sums = A.abs().sum(dim=summed, keepdim=True)
        out = sums.amax(dim=over, keepdim=True) if ord > 0 else sums.amin(dim=over, keepdim=True)
        return out if keepdim else out.squeeze(max(rows, cols)).squeeze(min(rows, cols))
    if ord in (2, -2, "nuc"):
        planes = A.movedim((rows, cols), (-2, -1))
        out = SpectralNorm(ord)(planes)
        if keepdim:
            out = out.unsqueeze(min(rows, cols)).unsqueeze(max(rows, cols))
        return out
    raise RuntimeError(f"linalg.matrix_norm: ord={ord!r} is not a matrix norm ('fro', 'nuc', 1, -1, 2, -2, inf, -inf)")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """A vector norm (``dim`` an int, or a 1-d input) or a matrix norm (``dim`` a pair, or a 2-d input);
    with neither ``ord`` nor ``dim``, the 2-norm of all elements."""
    if dim is None and ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if isinstance(dim, int) or (dim is None and A.ndim == 1) or (isinstance(dim, (tuple, list)) and len(dim) == 1):
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    if dim is None and A.ndim != 2:
        raise RuntimeError(
            f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got {A.ndim}D."
        )
    return matrix_norm(A, "fro" if ord is None else ord, (-2, -1) if dim is None else dim, keepdim, dtype=dtype)


class SpectralNorm(Op):
    """A norm of each matrix from its singular values: the largest (ord 2), the smallest (-2), their sum ('nuc')."""

    def __init__(self, ord):
        self.ord = ord

    def forward(self, a):
        u, s, vh = B.reduced_svd(a)
        if self.ord == "nuc":
            self.direction = u @ vh
            return s.sum(axis=-1)
        k = 0 if self.ord == 2 else s.shape[-1] - 1  # the singular pair that gives the norm
        self.direction = u[..., :, k : k + 1] @ vh[..., k : k + 1, :]
        return s[..., k]

    def backward(self, grad):
        return grad[..., None, None] * self.direction


# ------------------------------------------------------------------ inverse, determinant, solve
class Inverse(Op):
    saved = ()  # backward reads only its output
    saves_output = True

    def forward(self, a):
        try:
            self.out = B.inverse(a)
        except Exception as e:
            raise _singular("inv", e) from None
        return self.out

    def backward(self, grad):
        y = _mT(self.out)
        return -(y @ grad @ y)


class Determinant(Op):
    def forward(self, a):
        self.a = a
        self.out = B.determinant(a)
        return self.out

    def recorded_twin(self, inputs):
        """For create_graph: refuse a singular matrix, whose second derivative this formula cannot give."""
        from .autograd.recorded import NotRecordable, rerun

        if (self.out == 0).any():
            raise NotRecordable(
                f"{self.name()} cannot be differentiated twice (create_graph=True): a matrix is singular (det 0), "
                "and its second derivative needs the adjugate, which minigrad does not compute"
            )
        return rerun(self, inputs)

    def backward(self, grad):
        # d det(A) / dA = det(A) A^-T. A singular matrix (det exactly 0) has no inverse; there torch's
        # gradient is 0 (the scale is), so the identity stands in for it to keep the inverse defined.
        singular = (self.out == 0)[..., None, None]
        invertible = B.where(singular, B.eye(self.a.shape[-1], dtype=self.a.dtype, like=self.a), self.a)
        scale = (grad * self.out)[..., None, None]
        return scale * _mT(B.inverse(invertible))


class Solve(Op):
    def forward(self, a, b):
        self.a = a
        try:
            self.x = B.solve_linear(a, b)
        except Exception as e:
            raise _singular("solve", e) from None
        return self.x

    def backward(self, grad):
        ga, gb = self.needs_input_grad
        db = B.solve_linear(_mT(self.a), grad)
        return (-(db @ _mT(self.x)) if ga else None), (db if gb else None)


def inv(A):
    """The inverse of each square matrix in the last two dims."""
    return Inverse()(_square("inv", A))


def det(A):
    """The determinant of each square matrix in the last two dims."""
    return Determinant()(_square("det", A))


def solve(A, B_, *, left=True):
    """``X`` with ``A @ X = B``; ``B`` may be a vector (or a batch of vectors) or a matrix of right-hand sides."""
    A = _square("solve", A)
    rhs = _float_tensor("solve", B_, "B")
    if not left:
        raise NotImplementedError("linalg.solve(left=False) is not implemented in minigrad; transpose instead")
    if A.dtype is not rhs.dtype:
        raise RuntimeError(
            f"linalg.solve: Expected A and B to have the same dtype, but found A of type {A.dtype} "
            f"and B of type {rhs.dtype} instead"
        )
    vector = rhs.ndim == 1 or tuple(rhs.shape) == tuple(A.shape[:-1])
    if vector:
        rhs = rhs.unsqueeze(-1)
    if rhs.shape[-2] != A.shape[-1]:
        raise RuntimeError(
            f"linalg.solve: Incompatible shapes of A and B for the equation AX = B ({tuple(A.shape[-2:])} and "
            f"{tuple(rhs.shape[-2:])})"
        )
    batch = tuple(B.broadcast_shapes(tuple(A.shape[:-2]), tuple(rhs.shape[:-2])))
    A_b = A.expand(*batch, *A.shape[-2:]) if tuple(A.shape[:-2]) != batch else A
    rhs_b = rhs.expand(*batch, *rhs.shape[-2:]) if tuple(rhs.shape[:-2]) != batch else rhs
    out = Solve()(A_b, rhs_b)
    return out.squeeze(-1) if vector else out


def cross(input, other, *, dim=-1):
    """The cross product of 3-vectors along ``dim`` (the last by default)."""
    from .ops.matrices import cross as _cross

    return _cross(input, other, dim)
