"""RMSprop: divide each gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from .. import backend
from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (torch's ``optim.RMSprop``). For each parameter with gradient ``g``::

        g = g + weight_decay * p                          # if weight_decay != 0
        v = alpha * v + (1 - alpha) * g * g               # running mean square
        centered:  a = a + (1 - alpha) * (g - a);  avg = sqrt(v - a * a) + eps
        else:      avg = sqrt(v) + eps
        momentum > 0:  buf = momentum * buf + g / avg;  p -= lr * buf
        else:          p -= lr * g / avg

    ``foreach``, ``fused``, ``capturable`` and ``differentiable`` are accepted (and kept in ``defaults``) so that
    torch code and state dicts carry over; minigrad ignores them.
    """

    def __init__(
        self,
        params,
        lr=1e-2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0,
        momentum=0,
        centered=False,
        capturable=False,
        foreach=None,
        maximize=False,
        differentiable=False,
    ):
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not momentum >= 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not alpha >= 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            capturable=capturable,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One RMSprop update of every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            weight_decay, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
            for p, g in self._params_with_grad(group):
                xp = backend.get_array_module(p.array)
                state = self.state[p]
                step_t = self._step_counter(state)
                if "square_avg" not in state:
                    state["square_avg"] = Tensor._make(xp.zeros_like(p.array))
                if momentum > 0 and "momentum_buffer" not in state:
                    state["momentum_buffer"] = Tensor._make(xp.zeros_like(p.array))
                if centered and "grad_avg" not in state:
                    state["grad_avg"] = Tensor._make(xp.zeros_like(p.array))
                step_t.array += 1
                if group["maximize"]:
                    g = -g
                if weight_decay != 0:
                    g = g + weight_decay * p.array
                v = state["square_avg"].array
                v *= alpha
                v += (1 - alpha) * g * g
                if centered:
                    a = state["grad_avg"].array
                    w = 1 - alpha
                    if abs(w) < 0.5:  # torch's lerp, as in Adam
                        a += w * (g - a)
                    else:
                        a[...] = g - (g - a) * (1 - w)
                    avg = xp.sqrt(v - a * a)
                else:
                    avg = xp.sqrt(v)
                avg += eps
                if momentum > 0:
                    buf = state["momentum_buffer"].array
                    buf *= momentum
                    buf += g / avg
                    p.array -= lr * buf
                else:
                    p.array += -lr * (g / avg)
                p._version += 1
        return loss
