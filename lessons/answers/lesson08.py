"""Answers to lessons/exercises/lesson08.py."""

import importlib

import numpy as np


def copy_state(src, dst):
    """Check everything before touching ``dst``, so that a mismatch never leaves it half-copied."""

    def arrays(module):  # torch and minigrad tensors both have detach().cpu().numpy()
        return {name: np.array(t.detach().cpu().numpy()) for name, t in module.state_dict().items()}

    have, want = arrays(src), arrays(dst)
    problems = [f"missing in the source: {name}" for name in want if name not in have]
    problems += [f"not in the destination: {name}" for name in have if name not in want]
    problems += [
        f"{name}: shape {have[name].shape} in the source, {want[name].shape} in the destination"
        for name in want
        if name in have and have[name].shape != want[name].shape
    ]
    if problems:
        raise ValueError("copy_state: " + "; ".join(problems))
    lib = importlib.import_module(type(next(iter(dst.state_dict().values()))).__module__.split(".")[0])
    dst.load_state_dict({name: lib.from_numpy(have[name].astype(want[name].dtype)) for name in want})


def roc_auc(labels, scores):
    """Compare every soluble score with every insoluble one at once: an (n_pos, n_neg) table of outcomes."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    pos, neg = scores[labels == 1][:, None], scores[labels == 0][None, :]
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))
