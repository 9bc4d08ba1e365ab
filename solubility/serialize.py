"""Saving and loading one trained model (an ensemble member) in minigrad's safe checkpoint format.

The state is stored as minigrad tensors whichever library trained it (torch's arrays are converted
through NumPy), so `predict` and `evaluate` always run on minigrad and a torch-trained twin is
checked by the same code path.
"""

from __future__ import annotations

import numpy as np

__all__ = ["save_member", "load_member"]


def save_member(path, arrays: dict) -> None:
    """Write ``{name: NumPy array}`` to ``path`` with ``minigrad.save``."""
    import minigrad as mg

    mg.save({k: mg.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}, str(path))


def load_member(lib, cfg: dict, path, device=None):
    """Build the model ``cfg`` describes with ``lib`` and load the weights saved at ``path``."""
    import minigrad as mg

    from .models import build

    nfeat = len(cfg["scaler"]["mean"]) if cfg.get("features") else 0
    model = build(lib, cfg["model"], num_features=nfeat, heads=int(cfg.get("heads", 1)), **cfg.get("arch", {}))
    state = mg.load(str(path))
    model.load_state_dict({k: lib.from_numpy(np.ascontiguousarray(v.numpy())) for k, v in state.items()})
    if device is not None:
        model = model.to(device)
    model.eval()
    return model
