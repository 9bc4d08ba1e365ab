"""The Optimizer base class: parameter groups, per-parameter state, ``zero_grad`` and state dicts.

An optimizer holds a list of *parameter groups*. Each group is a dict with the key ``'params'`` (a list
of leaf tensors) and one entry per option (``'lr'``, ``'momentum'``...). Options missing from a group
are filled in from ``defaults``. Because ``step()`` reads ``group['lr']`` afresh every time, changing it
between steps (by hand or with a learning-rate scheduler) changes the next update.

``state`` maps each parameter to a dict of whatever the algorithm remembers between steps (momentum
buffers, running averages, a step counter). Updates are written straight into the parameters' raw arrays
(``p.array``): no graph is recorded, and a float32 parameter stays float32.
"""

from __future__ import annotations

import copy
from collections import defaultdict

import numpy as np

from .. import backend
from .. import dtypes as _dt
from ..autograd.grad_mode import enable_grad
from ..tensor import Tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks an option that has no default and must be given (torch's ``optim.optimizer.required``)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class of all optimizers. Subclasses implement :meth:`step`.

    Args:
        params: an iterable of tensors, or of dicts (parameter groups) each with a ``'params'`` entry.
        defaults: the default value of each option, used for groups that do not set it.
    """

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, but got "
                f"{type(params).__name__}"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of "
                "tensors in sets will change between runs. Please use a list instead."
            )
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (with its own options) to optimize, e.g. when unfreezing layers."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' entry (the tensors to optimize)")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of tensors "
                "in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]  # named parameters: (name, tensor) pairs
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            params = [p[1] for p in params]
        param_group = dict(param_group)
        param_group["params"] = params
        if names:
            param_group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: set each ``p.grad`` to None (the default), or fill it with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                g = p.grad
                g.grad_fn, g.requires_grad = None, False
                flags = getattr(g.array, "flags", None)
                if flags is not None and getattr(flags, "writeable", True) and flags.owndata:
                    g.array.fill(0)
                else:  # a view or read-only array (e.g. a broadcast): give the gradient its own zeros
                    g.array = backend.get_array_module(g.array).zeros_like(g.array)

    def step(self, closure=None):
        """Update every parameter that has a gradient. ``closure`` re-evaluates the loss and returns it."""
        raise NotImplementedError

    def _closure_loss(self, closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _params_with_grad(self, group):
        """``(param, grad_array)`` for the parameters of ``group`` that have a gradient."""
        name = type(self).__name__
        out = []
        for p in group["params"]:
            if p.grad is None:
                continue
            g = p.grad.array
            if g.shape != p.array.shape:
                raise RuntimeError(
                    f"{name}.step: the gradient of a parameter of shape {tuple(p.array.shape)} has shape "
                    f"{tuple(g.shape)}"
                )
            if type(g) is not type(p.array):
                raise RuntimeError(f"{name}.step: a parameter on {p.device} has its gradient on {p.grad.device}")
            if g.dtype != p.array.dtype:
                g = g.astype(p.array.dtype)  # never let a float64 gradient promote a float32 parameter
            out.append((p, g))
        return out

    @staticmethod
    def _step_counter(state) -> Tensor:
        """The per-parameter step count, a 0-d float tensor on the host like torch's ``state['step']``."""
        step = state.get("step")
        if not isinstance(step, Tensor):
            value = 0.0 if step is None else float(step)
            dtype = np.float64 if _dt.get_default_dtype() is _dt.float64 else np.float32
            step = Tensor._make(np.array(value, dtype=dtype))
            state["step"] = step
        return step

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict:
        """The optimizer's state in torch's layout.

        ``{'state': {index: {...}}, 'param_groups': [{option: value, ..., 'params': [index, ...]}]}``:
        parameters are replaced by their position (counting through the groups in order), so the dict can be
        loaded into an optimizer built over other tensors of the same shapes (e.g. after ``minigrad.load``).
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if isinstance(p, Tensor) and id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore options and state saved by :meth:`state_dict` (tensors are copied onto each parameter's
        device, and floating-point state is cast to its parameter's dtype; ``step`` is kept as it is)."""
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: expected a dict with 'state' and 'param_groups' "
                "(from Optimizer.state_dict())"
            )
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for g, s in zip(self.param_groups, saved_groups):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size of optimizer's group"
                )
        id_map = {}
        for g, s in zip(self.param_groups, saved_groups):
            id_map.update(zip(s["params"], g["params"]))

        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = {key: _cast_state(param, value, key) for key, value in v.items()}
            else:
                state[k] = v
        new_groups = []
        for g, s in zip(self.param_groups, saved_groups):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            if "betas" in s and isinstance(s["betas"], list):
                s["betas"] = tuple(s["betas"])  # JSON-like formats store tuples as lists
            new_groups.append(s)
        self.state = state
        self.param_groups = new_groups


def _cast_state(param: Tensor, value, key):
    """A copy of one saved state value, on ``param``'s device (and dtype, for floating-point tensors)."""
    if isinstance(value, dict):
        return {k: _cast_state(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, v, None) for v in value)
    if not isinstance(value, Tensor):
        if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor: take its values
            value = Tensor._make(np.array(value.detach().cpu().numpy()))
        else:
            return value
    arr = value.array
    if key == "step":  # the step counter stays a host scalar of its own dtype
        return Tensor._make(backend.to_device(arr, backend.CPU).copy())
    if param.array.dtype.kind == "f" and arr.dtype.kind == "f":
        arr = arr.astype(param.array.dtype)
    arr = backend.to_device(arr, param.device)
    return Tensor._make(arr.copy())
