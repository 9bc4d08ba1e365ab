"""Answers to lessons/exercises/lesson10.py."""

import math

import minigrad


def gradient_norms(model):
    """Each gradient's norm; the global norm is the root of the sum of their squares."""
    per_parameter = {name: p.grad.norm().item() for name, p in model.named_parameters() if p.grad is not None}
    return per_parameter, math.sqrt(sum(n * n for n in per_parameter.values()))


def first_nonfinite_module(model, x):
    """Hooks record, in the order they fire, the modules whose outputs are not all finite."""
    bad = []

    def watch(name):
        def hook(module, args, output):
            outputs = output if isinstance(output, (tuple, list)) else (output,)
            if not all(bool(minigrad.isfinite(o).all()) for o in outputs):
                bad.append(name)

        return hook

    handles = [module.register_forward_hook(watch(name)) for name, module in model.named_modules()]
    try:
        with minigrad.no_grad():
            model(x)
    finally:  # leave the model as it was, even when forward raised
        for handle in handles:
            handle.remove()
    return bad[0] if bad else None
