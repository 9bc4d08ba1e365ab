"""``Linear`` (a fully connected layer, ``y = x W^T + b``), ``Bilinear`` (``y = x1^T W x2 + b``) and ``Identity``."""

from __future__ import annotations

import math

from ... import creation
from ...ops.criteria import bilinear
from ...ops.linear import linear
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["Linear", "Identity", "Bilinear"]


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. to switch a layer off); ignores its arguments."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """``y = x @ weight.T + bias`` over the last dimension of ``x``.

    ``weight``: ``(out_features, in_features)``, ``bias``: ``(out_features,)``. Initialised like torch:
    ``weight`` from ``kaiming_uniform_(a=sqrt(5))``, which works out to U(-1/sqrt(in), 1/sqrt(in)),
    and ``bias`` from the same U(-1/sqrt(in), 1/sqrt(in)).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(creation.empty((out_features, in_features), dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init._default_layer_init_(self.weight, self.bias)

    def forward(self, input):
        return linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    """``y[..., o] = x1 @ weight[o] @ x2 + bias[o]``.

    ``weight``: ``(out_features, in1_features, in2_features)``, ``bias``: ``(out_features,)``, both
    initialised from U(-1/sqrt(in1), 1/sqrt(in1)), as in torch.
    """

    def __init__(
        self, in1_features: int, in2_features: int, out_features: int, bias: bool = True, device=None, dtype=None
    ):
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        shape = (out_features, in1_features, in2_features)
        self.weight = Parameter(creation.empty(shape, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )
