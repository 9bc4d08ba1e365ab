"""Checks of lesson 12's exercises (see tests/test_exercises.py): torch's LSTM and attention with the same
weights and inputs, forward and gradients."""

import numpy as np
import torch

import minigrad
from tests.exercise_checks import _close, _t, check

WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _weights(t_module, suffix=""):
    """The four weights of a torch LSTM(Cell) as (minigrad, torch) pairs of float64 leaves."""
    return [_t(getattr(t_module, name + suffix).detach().numpy(), grad=True) for name in WEIGHTS]


def _backward_both(rng, mine, theirs):
    """Backpropagate the same random upstream gradients through both lists of outputs."""
    for m, t in zip(mine, theirs):
        _close(m, t)
    seeds = [rng.normal(size=tuple(t.shape)) for t in theirs]
    sum((m * minigrad.tensor(s)).sum() for m, s in zip(mine, seeds)).backward()
    sum((t * torch.tensor(s)).sum() for t, s in zip(theirs, seeds)).backward()


@check("lesson12", "lstm_cell")
def check_lstm_cell(ex):
    rng = np.random.default_rng(12)
    for n, size_in, hidden in ((3, 5, 4), (1, 2, 3)):
        torch.manual_seed(n)
        cell = torch.nn.LSTMCell(size_in, hidden).double()
        weights = _weights(cell)
        x, xt = _t(rng.normal(size=(n, size_in)), grad=True)
        h, ht = _t(rng.normal(size=(n, hidden)), grad=True)
        c, ct = _t(rng.normal(size=(n, hidden)), grad=True)
        mine = ex.lstm_cell(x, h, c, *(w for w, _ in weights))
        want = cell(xt, (ht, ct))
        _backward_both(rng, mine, want)
        for m, t in [(x, xt), (h, ht), (c, ct)] + [(w, getattr(cell, name)) for (w, _), name in zip(weights, WEIGHTS)]:
            _close(m.grad, t.grad)


@check("lesson12", "padded_attention")
def check_padded_attention(ex):
    rng = np.random.default_rng(13)
    for n, L, S, E, Ev, lengths in ((3, 4, 6, 8, 5, [6, 2, 1]), (2, 5, 5, 3, 3, [3, 5])):
        q, qt = _t(rng.normal(size=(n, L, E)), grad=True)
        k, kt = _t(rng.normal(size=(n, S, E)), grad=True)
        v, vt = _t(rng.normal(size=(n, S, Ev)), grad=True)
        keep = torch.arange(S)[None, :] < torch.tensor(lengths)[:, None]  # (N, S): True = may attend
        mine = ex.padded_attention(q, k, v, lengths)
        want = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, attn_mask=keep.unsqueeze(1))
        _backward_both(rng, [mine], [want])
        for m, t in ((q, qt), (k, kt), (v, vt)):
            _close(m.grad, t.grad)


@check("lesson12", "masked_lstm")
def check_masked_lstm(ex):
    rng = np.random.default_rng(14)
    for lengths in ([4, 7, 1], [5, 5]):
        torch.manual_seed(len(lengths))
        lstm = torch.nn.LSTM(3, 4, batch_first=True).double()
        weights = _weights(lstm, "_l0")
        x, xt = _t(rng.normal(size=(len(lengths), max(lengths), 3)), grad=True)
        mine = ex.masked_lstm(x, lengths, *(w for w, _ in weights))
        packed = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, batch_first=True, enforce_sorted=False)
        _, (h_n, c_n) = lstm(packed)
        _backward_both(rng, list(mine), [h_n[0], c_n[0]])
        _close(x.grad, xt.grad)
        for (w, _), name in zip(weights, WEIGHTS):
            _close(w.grad, getattr(lstm, name + "_l0").grad)
