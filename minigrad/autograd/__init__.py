"""Reverse-mode automatic differentiation.

* :mod:`.graph` — ``Op``, a node: forward on arrays, backward on gradients, saved-tensor versions;
* :mod:`.engine` — the backward pass (``backward``, ``grad``): order, propagate, route, accumulate;
* :mod:`.grad_mode` — ``no_grad``, ``enable_grad``, ``set_grad_enabled``;
* :mod:`.recorded` — ``create_graph=True``: the same backward formulas run over minigrad's ops;
* :mod:`.forward_ad` — forward mode: dual tensors that carry a tangent through every op;
* :mod:`.function` — user-defined differentiable functions in torch's style;
* :mod:`.gradcheck` — finite-difference checks of any op against its backward.
"""

from __future__ import annotations

from .._legacy import Variable  # noqa: F401
from . import forward_ad, recorded  # noqa: F401
from .engine import backward, grad, run_backward  # noqa: F401
from .function import Function, FunctionCtx, once_differentiable  # noqa: F401
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: F401
from .graph import Op  # noqa: F401
