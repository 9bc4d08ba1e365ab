"""Lesson 12 (recurrent and attention layers): an LSTM step, a padding-masked attention and a masked LSTM layer.

Use minigrad operations only (``nn.functional.linear``, ``chunk``, ``sigmoid``, ``tanh``, ``matmul``,
``transpose``, ``masked_fill``, ``softmax``, ``arange``, comparisons, indexing), so that ``backward()`` works
through your code. Grade your work with
``EXERCISES=exercises .venv/bin/pytest -q tests/test_exercises.py -k lesson12``.
"""


def lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    """One LSTM step from the equations of lesson 12; returns ``(h_new, c_new)``, each ``(N, H)``.

    ``x``: ``(N, in)``; ``h``, ``c``: ``(N, H)``; ``weight_ih``: ``(4H, in)``; ``weight_hh``: ``(4H, H)``;
    ``bias_ih``, ``bias_hh``: ``(4H,)``. The pre-activations ``x W_ih^T + b_ih + h W_hh^T + b_hh`` are the four
    gates side by side, in torch's order input, forget, candidate, output. The result must equal
    ``torch.nn.LSTMCell`` with the same weights, and so must the gradients of every argument.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson12.py::lstm_cell")


def padded_attention(q, k, v, lengths):
    """Scaled dot-product attention over a padded batch: key ``j`` of sequence ``b`` is visible iff
    ``j < lengths[b]``.

    ``q``: ``(N, L, E)``; ``k``: ``(N, S, E)``; ``v``: ``(N, S, Ev)``; ``lengths``: a list of ``N`` ints in
    ``1..S``. Scale the scores by ``1 / sqrt(E)``, put ``-inf`` where a key is padding, softmax over the keys and
    average the values: ``(N, L, Ev)``, as ``torch.nn.functional.scaled_dot_product_attention`` with a bool mask.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson12.py::padded_attention")


def masked_lstm(x, lengths, weight_ih, weight_hh, bias_ih, bias_hh):
    """The final states ``(h_n, c_n)``, each ``(N, H)``, of a one-layer LSTM run over a padded batch, taken at
    each sequence's own last residue, without packing.

    ``x``: ``(N, T, in)`` batch-first, sequence ``b`` real for its first ``lengths[b]`` steps (a list of ints in
    ``1..T``); the states start at zeros. Walk all ``T`` steps with your ``lstm_cell``, but where step ``t`` is
    padding for row ``b`` keep that row's old ``h`` and ``c`` (blend with a 0/1 mask of shape ``(N, 1)``). The
    result must equal the ``h_n``, ``c_n`` that ``torch.nn.LSTM`` returns for the packed batch, and so must the
    gradients of ``x`` and of the weights.
    """
    raise NotImplementedError("exercise: lessons/exercises/lesson12.py::masked_lstm")
