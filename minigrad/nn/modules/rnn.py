"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their single-step ``RNNCell``, ``LSTMCell``, ``GRUCell``.

Everything is written with minigrad's differentiable ops (``linear``, ``sigmoid``, ``tanh``, ``cat``, slicing),
so the engine supplies the gradients. The layout follows torch's, so state dicts move both ways:
for layer ``k`` and direction suffix ``''`` / ``'_reverse'`` a layer owns ``weight_ih_lk`` ``(G*H, in)``,
``weight_hh_lk`` ``(G*H, H)``, ``bias_ih_lk`` and ``bias_hh_lk`` ``(G*H,)``, with the ``G`` gates stacked
along dim 0 in torch's order (LSTM: i, f, g, o; GRU: r, z, n). Cell formulas, per step::

    RNN:   h' = act(W_ih x + b_ih + W_hh h + b_hh)
    LSTM:  i, f, g, o = split(W_ih x + b_ih + W_hh h + b_hh);  c' = s(f) c + s(i) tanh(g);  h' = s(o) tanh(c')
    GRU:   r = s(x_r + h_r);  z = s(x_z + h_z);  n = tanh(x_n + r * h_n);  h' = (1 - z) n + z h
           (x_* = W_i* x + b_i*,  h_* = W_h* h + b_h*; b_hn stays inside the product with r, as in torch)

Speed: the input projection ``W_ih x + b_ih`` of a whole layer and direction is one matmul over every time
step; only the recurrent part loops over time. Sequences run in the packed layout of
:class:`~minigrad.nn.utils.rnn.PackedSequence` (rows of step 0, then step 1, ...), and a padded batch is the
special case where every step has the full batch, so one loop serves both.
"""

from __future__ import annotations

import math
import numbers
import warnings

from ... import creation
from ...ops import cat, dropout, relu, sigmoid, stack, tanh
from ...tensor import Tensor
from .. import init
from ..functional import linear
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ---------------------------------------------------------------------------------------------- one time step
# Each step takes ``gi`` (the input projection W_ih x + b_ih of this step) and the state tuple ((h,) or (h, c)),
# and returns the new state tuple.


def _rnn_step(act):
    def step(gi, state, w_hh, b_hh):
        return (act(gi + linear(state[0], w_hh, b_hh)),)

    return step


def _lstm_step(gi, state, w_hh, b_hh):
    h, c = state
    i, f, g, o = (gi + linear(h, w_hh, b_hh)).chunk(4, 1)
    c = sigmoid(f) * c + sigmoid(i) * tanh(g)
    return sigmoid(o) * tanh(c), c


def _gru_step(gi, state, w_hh, b_hh):
    h = state[0]
    x_r, x_z, x_n = gi.chunk(3, 1)
    h_r, h_z, h_n = linear(h, w_hh, b_hh).chunk(3, 1)
    r = sigmoid(x_r + h_r)
    z = sigmoid(x_z + h_z)
    n = tanh(x_n + r * h_n)
    return (n + z * (h - n),)  # == (1 - z) * n + z * h, one op fewer


_STEPS = {"RNN_TANH": _rnn_step(tanh), "RNN_RELU": _rnn_step(relu), "LSTM": _lstm_step, "GRU": _gru_step}


# ------------------------------------------------------------------------------------ a sequence, one direction
def _split_steps(x, sizes):
    """Split the rows of ``x`` into blocks of ``sizes`` (one block per time step) by repeated halving.

    Why not ``split``: the backward of each slice writes into zeros of its parent's full shape, so a flat split
    into T steps costs T full-size arrays (quadratic in T). Halving costs two parent-size arrays per level,
    O(rows * log T) in all.
    """
    if len(sizes) == 1:
        return [x]
    half = len(sizes) // 2
    rows = sum(sizes[:half])
    return _split_steps(x[:rows], sizes[:half]) + _split_steps(x[rows:], sizes[half:])


def _run_forward(step, steps_in, batch_sizes, state, w_hh, b_hh):
    """Walk the steps in time order. Sorted by decreasing length, the batch only shrinks: rows that drop out
    keep their last state, which is their final state."""
    finished, outs = [], []
    for x, bs in zip(steps_in, batch_sizes):
        if bs < state[0].shape[0]:
            finished.append(tuple(s[bs:] for s in state))
            state = tuple(s[:bs] for s in state)
        state = step(x, state, w_hh, b_hh)
        outs.append(state[0])
    if finished:  # rows that ended earliest are the last rows of the batch
        state = tuple(cat([s] + [f[k] for f in reversed(finished)]) for k, s in enumerate(state))
    return outs, state


def _run_reverse(step, steps_in, batch_sizes, state0, w_hh, b_hh):
    """Walk the steps backwards. The batch only grows: a sequence joins, from its initial state, at its last
    real step, so padding is never read."""
    start = batch_sizes[-1]
    state = tuple(s[:start] for s in state0) if start < state0[0].shape[0] else state0
    outs = []
    for x, bs in zip(reversed(steps_in), reversed(batch_sizes)):
        n = state[0].shape[0]
        if bs > n:
            state = tuple(cat([s, s0[n:bs]]) for s, s0 in zip(state, state0))
        state = step(x, state, w_hh, b_hh)
        outs.append(state[0])
    outs.reverse()
    return outs, state


# ------------------------------------------------------------------------------------------- multi-layer module
class RNNBase(Module):
    """Shared machinery of ``RNN``, ``LSTM`` and ``GRU``: parameters, input checks and the layer loop."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self._check_options(mode, hidden_size, num_layers, dropout, proj_size)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        self._flat_weights_names, self._all_weights = [], []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else hidden_size * num_directions
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = {"weight_ih": (gate_size, layer_input), "weight_hh": (gate_size, hidden_size)}
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                names = []
                for kind, shape in shapes.items():
                    setattr(self, kind + suffix, Parameter(creation.empty(shape, dtype=dtype, device=device)))
                    names.append(kind + suffix)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @staticmethod
    def _check_options(mode, hidden_size, num_layers, dropout, proj_size):
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1:
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an "
                f"element being zeroed, got {dropout!r}"
            )
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError(f"hidden_size must be greater than zero, got {hidden_size}")
        if not isinstance(num_layers, int) or isinstance(num_layers, bool):
            raise TypeError(f"num_layers should be of type int, got: {type(num_layers).__name__}")
        if num_layers <= 0:
            raise ValueError(f"num_layers must be greater than zero, got {num_layers}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                stacklevel=2,
            )
        if proj_size < 0:
            raise ValueError(f"proj_size should be a positive integer or zero to disable projections, got {proj_size}")
        if proj_size >= hidden_size:
            raise ValueError(
                f"proj_size has to be smaller than hidden_size, got proj_size={proj_size} and hidden_size={hidden_size}"
            )
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size:
            raise NotImplementedError(
                f"LSTM(proj_size={proj_size}): projections are not implemented in minigrad; use proj_size=0"
            )

    def reset_parameters(self) -> None:
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as torch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def flatten_parameters(self) -> None:
        """No-op: torch packs weights into one cuDNN buffer here; minigrad has nothing to pack."""

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        """Parameters grouped per layer and direction: ``[[w_ih, w_hh, b_ih, b_hh], ...]``."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------------ forward
    @property
    def _name(self) -> str:
        return type(self).__name__

    @property
    def _num_states(self) -> int:
        return 2 if self.mode == "LSTM" else 1

    def forward(self, input, hx=None):
        """``input``: ``(L, N, H_in)`` (``(N, L, H_in)`` if ``batch_first``), ``(L, H_in)`` unbatched, or a
        ``PackedSequence``. Returns ``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``)."""
        states = self._hx_tuple(hx)
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, states)
        return self._forward_padded(input, states)

    def _forward_packed(self, packed, states):
        data, batch_sizes_t, sorted_indices, unsorted_indices = packed
        self._check_input(data, 2)
        if states is not None and sorted_indices is not None:  # h_0 comes in the caller's batch order
            states = tuple(s.index_select(1, sorted_indices) for s in states)
        out, final = self._run(data, batch_sizes_t.tolist(), states)
        if unsorted_indices is not None:
            final = tuple(s.index_select(1, unsorted_indices) for s in final)
        return PackedSequence(out, batch_sizes_t, sorted_indices, unsorted_indices), self._hx_result(final)

    def _forward_padded(self, input, states):
        if input.ndim not in (2, 3):
            raise ValueError(f"{self._name}: Expected input to be 2D or 3D, got {input.ndim}D tensor instead")
        batched = input.ndim == 3
        if states is not None:
            self._check_hx_rank(states, batched)
        if not batched:
            input = input.unsqueeze(0 if self.batch_first else 1)
            states = None if states is None else tuple(s.unsqueeze(1) for s in states)
        self._check_input(input, 3)
        time_major = input.transpose(0, 1) if self.batch_first else input
        T, B = time_major.shape[0], time_major.shape[1]
        if T == 0:
            raise RuntimeError(
                f"{self._name}: Expected sequence length to be larger than 0, got an input of "
                f"shape {tuple(input.shape)}"
            )
        # a padded batch is a packed one whose every step has the full batch
        out, final = self._run(time_major.reshape(T * B, self.input_size), [B] * T, states)
        out = out.reshape(T, B, out.shape[-1])
        if self.batch_first:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(0 if self.batch_first else 1)
            final = tuple(s.squeeze(1) for s in final)
        return out, self._hx_result(final)

    def _run(self, data, batch_sizes, states):
        """Zero initial states where none were given (else check their shapes), then run the layers."""
        if states is None:
            shape = (self.num_layers * (2 if self.bidirectional else 1), batch_sizes[0], self.hidden_size)
            zeros = creation.zeros(shape, dtype=data.dtype, device=data.device)
            states = (zeros,) * self._num_states
        else:
            self._check_hx_shapes(states, batch_sizes[0])
        return self._layers(data, batch_sizes, states)

    def _layers(self, data, batch_sizes, states):
        """Run every layer and direction over packed ``data`` ``(N, H_in)``; ``states``: tuple of
        ``(layers*directions, B, H)`` tensors. Returns the last layer's packed output and the final states."""
        step, directions = _STEPS[self.mode], 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(directions):
                k = layer * directions + direction
                w_ih, w_hh, b_ih, b_hh = self.all_weights[k] if self.bias else self.all_weights[k] + [None, None]
                # the input projection of every step at once: one matmul, then split into per-step blocks
                steps_in = _split_steps(linear(data, w_ih, b_ih), batch_sizes)
                run = _run_reverse if direction == 1 else _run_forward
                seq, final = run(step, steps_in, batch_sizes, tuple(s[k] for s in states), w_hh, b_hh)
                outs.append(cat(seq) if len(seq) > 1 else seq[0])
                finals.append(final)
            data = cat(outs, 1) if len(outs) > 1 else outs[0]
            if self.dropout and self.training and layer < self.num_layers - 1:
                data = dropout(data, self.dropout, True)
        return data, tuple(stack([f[i] for f in finals]) for i in range(self._num_states))

    # ------------------------------------------------------------------ checks
    def _hx_tuple(self, hx):
        if hx is None:
            return None
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2 or not all(isinstance(h, Tensor) for h in hx):
                raise RuntimeError(f"LSTM: hx must be a tuple (h_0, c_0) of two tensors, got {type(hx).__name__}")
            return tuple(hx)
        if not isinstance(hx, Tensor):
            raise TypeError(f"{self._name}: hx must be a Tensor, got {type(hx).__name__}")
        return (hx,)

    def _hx_result(self, final):
        return final if self.mode == "LSTM" else final[0]

    def _check_hx_rank(self, states, batched):
        want, kind = (3, "batched 3-D") if batched else (2, "unbatched 2-D")
        if all(s.ndim == want for s in states):
            return
        if self.mode == "LSTM":
            got = ", ".join(f"{s.ndim}-D" for s in states)
            raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but got ({got}) tensors")
        raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got {states[0].ndim}-D tensor")

    def _check_input(self, input, ndim):
        weight = self.weight_ih_l0
        if input.dtype != weight.dtype:
            raise ValueError(
                f"{self._name} input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). "
                f"Convert input: input.to({weight.dtype}), or convert model: model.to({input.dtype})"
            )
        if input.ndim != ndim:
            raise RuntimeError(f"input must have {ndim} dimensions, got {input.ndim}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got {input.shape[-1]}"
            )

    def _check_hx_shapes(self, states, batch):
        expected = (self.num_layers * (2 if self.bidirectional else 1), batch, self.hidden_size)
        for i, s in enumerate(states):
            if tuple(s.shape) != expected:
                which = f"hidden[{i}]" if self.mode == "LSTM" else "hidden"
                raise RuntimeError(f"Expected {which} size {expected}, got {list(s.shape)}")


class RNN(RNNBase):
    """Elman RNN, ``h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` with ``act`` ``'tanh'`` or ``'relu'``.

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False,
    dropout=0.0, bidirectional=False)``; returns ``(output, h_n)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        proj_size: int = 0,
    ):
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if nonlinearity not in modes:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(
            modes[nonlinearity],
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )


class LSTM(RNNBase):
    """Long short-term memory; returns ``(output, (h_n, c_n))``. ``proj_size`` other than 0 is not implemented.

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ):
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )


class GRU(RNNBase):
    """Gated recurrent unit; returns ``(output, h_n)``.

    ``GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0, bidirectional=False)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        proj_size: int = 0,
    ):
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )


# ---------------------------------------------------------------------------------------------------- cells
class RNNCellBase(Module):
    """One time step of a recurrent layer: ``weight_ih`` ``(G*H, in)``, ``weight_hh`` ``(G*H, H)``, biases."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gate_size = num_chunks * hidden_size
        self.weight_ih = Parameter(creation.empty((gate_size, input_size), dtype=dtype, device=device))
        self.weight_hh = Parameter(creation.empty((gate_size, hidden_size), dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(creation.empty(gate_size, dtype=dtype, device=device))
            self.bias_hh = Parameter(creation.empty(gate_size, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    reset_parameters = RNNBase.reset_parameters

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _step(self, input, states, mode):
        """Check ranks and sizes, add the batch dimension of a 1-D input, run one step."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        for i, s in enumerate(states or ()):
            if s.ndim not in (1, 2):
                what = f"hx[{i}]" if len(states) > 1 else "hidden"
                raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {s.ndim}D instead")
        batched = input.ndim == 2
        if input.dtype != self.weight_ih.dtype:
            raise RuntimeError(f"{name}: input dtype {input.dtype} does not match weight dtype {self.weight_ih.dtype}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} expected {self.input_size}")
        for i, s in enumerate(states or ()):
            if s.ndim != input.ndim:
                raise RuntimeError(
                    f"{name}: hidden{i} is {s.ndim}-D but input is {input.ndim}-D; both must be "
                    "batched (2-D) or both unbatched (1-D)"
                )
        if not batched:
            input = input.unsqueeze(0)
            states = None if states is None else tuple(s.unsqueeze(0) for s in states)
        if states is None:
            zeros = creation.zeros((input.shape[0], self.hidden_size), dtype=input.dtype, device=input.device)
            states = (zeros,) * (2 if mode == "LSTM" else 1)
        else:
            self._check_states(states, input.shape[0])
        gi = linear(input, self.weight_ih, self.bias_ih)
        out = _STEPS[mode](gi, states, self.weight_hh, self.bias_hh)
        return out if batched else tuple(s.squeeze(0) for s in out)

    def _check_states(self, states, batch):
        for i, s in enumerate(states):
            if s.shape[0] != batch:
                raise RuntimeError(f"Input batch size {batch} doesn't match hidden{i} batch size {s.shape[0]}")
            if s.shape[1] != self.hidden_size:
                raise RuntimeError(
                    f"hidden{i} has inconsistent hidden_size: got {s.shape[1]}, expected {self.hidden_size}"
                )


class RNNCell(RNNCellBase):
    """``h' = act(W_ih x + b_ih + W_hh h + b_hh)``, ``act`` ``'tanh'`` or ``'relu'``; ``hx`` defaults to zeros."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh", device=None, dtype=None
    ):
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if self.nonlinearity not in modes:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return self._step(input, None if hx is None else (hx,), modes[self.nonlinearity])[0]


class LSTMCell(RNNCellBase):
    """One LSTM step: ``(h', c') = LSTMCell(x, (h, c))``; ``hx`` defaults to zeros."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTMCell: hx must be a tuple (h, c) of two tensors, got {type(hx).__name__}")
        return self._step(input, None if hx is None else tuple(hx), "LSTM")


class GRUCell(RNNCellBase):
    """One GRU step: ``h' = GRUCell(x, h)``; ``hx`` defaults to zeros."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        return self._step(input, None if hx is None else (hx,), "GRU")[0]
