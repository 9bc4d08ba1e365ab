"""The fused affine map of ``nn.Linear``: ``y = x @ W^T + b``, as one op with its own backward.

Writing it as a single op (rather than ``matmul`` + ``transpose`` + ``add``) keeps the graph small
and lets the backward pass use the three textbook formulas directly. With the leading dimensions
of ``x`` flattened into one batch dimension ``M``::

    x: (M, in)   W: (out, in)   b: (out,)   y = x W^T + b: (M, out)
    dx = dy W        dW = dy^T x        db = dy summed over M
"""

from __future__ import annotations

from ..autograd.graph import Op
from ..compute import B
from ..tensor import Tensor
from ._util import check_same_device
from .registry import declare, exports


class Linear(Op):
    """``x @ W^T (+ b)`` for ``x`` of shape ``(*, in)``; ``W`` of shape ``(out, in)``."""

    def forward(self, x, w, b=None):
        self.x, self.w = x, w
        return B.linear(x, w, b)

    def backward(self, grad):
        needs = self.needs_input_grad
        gx, gw, gb = B.linear_backward(grad, self.x, self.w, needs)
        return (gx, gw) if len(needs) == 2 else (gx, gw, gb)


@declare(method=False, functional=True, top_level=False, autocast="lower")
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Apply ``input @ weight.T + bias`` (torch.nn.functional.linear).

    ``input``: ``(*, in_features)``; ``weight``: ``(out_features, in_features)``; ``bias``: ``(out_features,)``.
    """
    for name, t in (("input", input), ("weight", weight), ("bias", bias)):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"linear(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if weight.ndim != 2:
        raise RuntimeError(f"linear(): weight must be 2-D (out_features, in_features), got shape {tuple(weight.shape)}")
    if input.ndim == 0:
        raise RuntimeError("linear(): input must have at least 1 dimension, got a 0-d tensor")
    in_f = input.shape[-1]
    if in_f != weight.shape[1]:
        m = input.array.size // in_f if in_f else 0
        raise RuntimeError(
            f"linear(): mat1 and mat2 shapes cannot be multiplied ({m}x{in_f} and "
            f"{weight.shape[1]}x{weight.shape[0]}): input has {in_f} features but weight expects {weight.shape[1]}"
        )
    tensors = (input, weight) if bias is None else (input, weight, bias)
    if bias is not None and tuple(bias.shape) not in ((weight.shape[0],), (), (1,)):
        raise RuntimeError(f"linear(): bias of shape {tuple(bias.shape)} does not match out_features={weight.shape[0]}")
    check_same_device("linear", *tensors)
    dts = {t.array.dtype for t in tensors}
    if len(dts) > 1:
        names = ", ".join(f"{n}={t.dtype}" for n, t in zip(("input", "weight", "bias"), tensors))
        raise RuntimeError(f"linear(): expected all tensors to have the same dtype, got {names}")
    if input.array.dtype.kind != "f":
        raise RuntimeError(f"linear(): expected a floating-point input, got {input.dtype}")
    return Linear()(*tensors)


__all__ = exports(__name__)
