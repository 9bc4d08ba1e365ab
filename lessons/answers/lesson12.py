"""Answers to lessons/exercises/lesson12.py."""

import math

import minigrad
from minigrad.nn.functional import linear


def lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    """The four gates come out of one (N, 4H) sum; ``chunk`` cuts it in torch's order i, f, g, o."""
    i, f, g, o = (linear(x, weight_ih, bias_ih) + linear(h, weight_hh, bias_hh)).chunk(4, dim=1)
    c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c_new.tanh(), c_new


def padded_attention(q, k, v, lengths):
    """Scores (N, L, S); a padded key gets -inf in every query's row, so softmax gives it weight 0."""
    S = k.shape[1]
    keep = minigrad.arange(S).unsqueeze(0) < minigrad.tensor(lengths).unsqueeze(1)  # (N, S)
    scores = q @ k.transpose(1, 2) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(~keep.unsqueeze(1), float("-inf"))  # (N, 1, S) broadcasts over the queries
    return scores.softmax(dim=-1) @ v


def masked_lstm(x, lengths, weight_ih, weight_hh, bias_ih, bias_hh):
    """Every row takes every step, but a padded step leaves its state as it was: new * m + old * (1 - m)."""
    N, T, H = x.shape[0], x.shape[1], weight_hh.shape[1]
    h = c = minigrad.zeros(N, H, dtype=x.dtype)
    lengths = minigrad.tensor(lengths).unsqueeze(1)  # (N, 1)
    for t in range(T):
        real = (lengths > t).to(x.dtype)  # (N, 1): 1 where step t is a residue of row b
        h_new, c_new = lstm_cell(x[:, t], h, c, weight_ih, weight_hh, bias_ih, bias_hh)
        h = h_new * real + h * (1 - real)
        c = c_new * real + c * (1 - real)
    return h, c
