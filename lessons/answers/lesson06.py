"""Answers to lessons/exercises/lesson06.py."""

import numpy as np


def sgd_step(param, grad, state, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    """The buffer starts as the first gradient itself (not as zeros), as in torch."""
    g = grad + weight_decay * param if weight_decay else grad
    direction = g
    if momentum:
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = g.copy()
        else:
            state["momentum_buffer"] = momentum * state["momentum_buffer"] + (1 - dampening) * g
        buf = state["momentum_buffer"]
        direction = g + momentum * buf if nesterov else buf
    param -= lr * direction


def rmsprop_step(param, grad, state, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0):
    """Divide by the running root-mean-square; eps is added after the square root."""
    g = grad + weight_decay * param if weight_decay else grad
    v = state.get("square_avg", np.zeros_like(param))
    v = alpha * v + (1 - alpha) * g * g
    state["square_avg"] = v
    param -= lr * g / (np.sqrt(v) + eps)


def adam_step(param, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    """Bias-corrected moments; eps after the square root of the corrected v (torch's placement)."""
    beta1, beta2 = betas
    t = state["step"] = state.get("step", 0) + 1
    g = grad
    if weight_decay:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * param
    m = state["exp_avg"] = beta1 * state.get("exp_avg", 0.0) + (1 - beta1) * g
    v = state["exp_avg_sq"] = beta2 * state.get("exp_avg_sq", 0.0) + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    param -= lr * m_hat / (np.sqrt(v_hat) + eps)
