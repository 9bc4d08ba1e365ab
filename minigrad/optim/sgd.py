"""Stochastic gradient descent, with optional momentum, Nesterov momentum, dampening and weight decay."""

from __future__ import annotations

from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent (torch's ``optim.SGD``, same update and option names).

    For each parameter ``p`` with gradient ``g`` (negated when ``maximize``)::

        g = g + weight_decay * p                       # L2 penalty, if weight_decay != 0
        buf = g  (first step)  or  momentum * buf + (1 - dampening) * g      # if momentum != 0
        g = g + momentum * buf  (nesterov)  or  buf                           # if momentum != 0
        p = p - lr * g

    ``foreach``, ``fused``, ``capturable`` and ``differentiable`` are accepted (and kept in ``defaults``) so that
    torch code and state dicts carry over; minigrad ignores them.
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        momentum=0,
        dampening=0,
        weight_decay=0,
        nesterov=False,
        *,
        maximize=False,
        foreach=None,
        differentiable=False,
        fused=None,
    ):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            foreach=foreach,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One SGD update of every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
            for p, g in self._params_with_grad(group):
                if maximize:
                    g = -g
                if weight_decay != 0:
                    g = g + weight_decay * p.array
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = Tensor._make(g.copy())
                        state["momentum_buffer"] = buf
                    else:
                        b = buf.array
                        b *= momentum
                        b += (1 - dampening) * g
                    g = g + momentum * buf.array if nesterov else buf.array
                p.array -= lr * g
                p._version += 1
        return loss
