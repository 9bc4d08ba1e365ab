"""Adam: adaptive moment estimation (AdamW shares it, with decoupled weight decay).

Each parameter keeps running means of its gradient (``exp_avg``) and of its squared gradient
(``exp_avg_sq``); the step divides the first by the square root of the second, so every coordinate moves
by about ``lr`` whatever its gradient's scale. The update itself, on raw arrays, is ``B.adam_update``
(:mod:`minigrad.compute.reference.optim` writes it out as torch's documentation does).
"""

from __future__ import annotations

from ..compute import B
from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam (torch's ``optim.Adam``): per-coordinate steps scaled by running gradient moments.

    ``weight_decay`` here is an L2 penalty added to the gradient (so it passes through the moments); for
    decoupled weight decay use :class:`~minigrad.optim.AdamW`. ``amsgrad`` keeps the running maximum of the
    second moment; ``maximize`` ascends instead of descending. State per parameter: ``step`` (a 0-d tensor),
    ``exp_avg``, ``exp_avg_sq`` and, with amsgrad, ``max_exp_avg_sq``.

    ``foreach``, ``fused``, ``capturable`` and ``differentiable`` are accepted (and kept in ``defaults``) so that
    torch code and state dicts carry over; minigrad ignores them.
    """

    _decoupled = False

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        amsgrad=False,
        *,
        foreach=None,
        maximize=False,
        capturable=False,
        differentiable=False,
        fused=None,
        decoupled_weight_decay=None,
    ):
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        betas = tuple(float(b) for b in betas)
        if len(betas) != 2:
            raise ValueError(f"Invalid betas: expected two values (beta1, beta2), got {betas}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if decoupled_weight_decay is None:
            decoupled_weight_decay = self._decoupled
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=bool(decoupled_weight_decay),
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One Adam update of every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            amsgrad = group["amsgrad"]
            decoupled = group.get("decoupled_weight_decay", self._decoupled) or self._decoupled
            for p, g in self._params_with_grad(group):
                state = self.state[p]
                step_t = self._step_counter(state)
                if "exp_avg" not in state:
                    state["exp_avg"] = Tensor._make(B.zeros_like(p.array))
                    state["exp_avg_sq"] = Tensor._make(B.zeros_like(p.array))
                if amsgrad and "max_exp_avg_sq" not in state:
                    state["max_exp_avg_sq"] = Tensor._make(B.zeros_like(p.array))
                step_t.array += 1
                B.adam_update(
                    p.array,
                    g,
                    state["exp_avg"].array,
                    state["exp_avg_sq"].array,
                    state["max_exp_avg_sq"].array if amsgrad else None,
                    step=float(step_t.array),
                    lr=group["lr"],
                    beta1=beta1,
                    beta2=beta2,
                    eps=group["eps"],
                    weight_decay=group["weight_decay"],
                    amsgrad=amsgrad,
                    maximize=group["maximize"],
                    decoupled=decoupled,
                )
                p._version += 1
        return loss
