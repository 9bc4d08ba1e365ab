"""nn.RNN / LSTM / GRU, their cells, and packed sequences against torch twins (float64).

Each check copies the torch module's weights into the minigrad one, runs both on the same input (and initial
states), backpropagates random upstream gradients on the output *and* on the final states, and compares the
outputs, the final states, the input (and initial-state) gradients and every parameter gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils import rnn as trnn

import minigrad as mg
from minigrad.nn.utils import rnn as mrnn
from tests.nn.twin import copy_weights, to_np
from tests.opcheck import DEVICE, TOL, assert_close

RTOL, ATOL = TOL[np.float64]
LAYERS = {"RNN": (torch.nn.RNN, mg.nn.RNN), "LSTM": (torch.nn.LSTM, mg.nn.LSTM), "GRU": (torch.nn.GRU, mg.nn.GRU)}
CELLS = {
    "RNNCell": (torch.nn.RNNCell, mg.nn.RNNCell),
    "LSTMCell": (torch.nn.LSTMCell, mg.nn.LSTMCell),
    "GRUCell": (torch.nn.GRUCell, mg.nn.GRUCell),
}


def _flat(x):
    """Tensors of a nested (output, (h, c)) result, a PackedSequence contributing its data."""
    if isinstance(x, (trnn.PackedSequence, mrnn.PackedSequence)):
        return [x.data]
    if isinstance(x, (tuple, list)):
        return [t for item in x for t in _flat(item)]
    return [x]


def _pair(name, *args, **kwargs):
    """A float64 torch module and its minigrad twin holding the same weights."""
    torch.manual_seed(0)
    t_cls, m_cls = {**LAYERS, **CELLS}[name]
    t_mod = t_cls(*args, **kwargs).double()
    m_mod = copy_weights(t_mod, m_cls(*args, **kwargs, dtype=mg.float64))
    if DEVICE:
        m_mod.to(DEVICE)
    return t_mod, m_mod


def _leaves(arrays):
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    m_in = [mg.tensor(a, requires_grad=True, device=DEVICE) for a in arrays]
    return t_in, m_in


def _check_backward(t_outs, m_outs, t_leaves, m_leaves, t_mod, m_mod, seed=1):
    """Same random upstream gradient on every output; compare leaf and parameter gradients."""
    assert len(t_outs) == len(m_outs)
    rng = np.random.default_rng(seed)
    ups = [rng.standard_normal(tuple(t.shape)) for t in t_outs]
    for k, (t, m) in enumerate(zip(t_outs, m_outs)):
        if DEVICE:
            assert m.device == mg.device(DEVICE), f"output {k} is on {m.device}, not on {DEVICE}"
        assert_close(to_np(m), to_np(t), RTOL, ATOL, f"forward output {k}")
    torch.autograd.backward(t_outs, [torch.tensor(u) for u in ups])
    mg.autograd.backward(m_outs, [mg.tensor(u, device=DEVICE) for u in ups])
    for k, (t, m) in enumerate(zip(t_leaves, m_leaves)):
        assert m.grad is not None, f"input {k}: no gradient"
        assert_close(to_np(m.grad), to_np(t.grad), RTOL, ATOL, f"gradient of input {k}")
    m_params = dict(m_mod.named_parameters())
    assert list(m_params) == [n for n, _ in t_mod.named_parameters()]
    for name, tp in t_mod.named_parameters():
        assert m_params[name].grad is not None, f"{name}: no gradient"
        assert_close(to_np(m_params[name].grad), to_np(tp.grad), RTOL, ATOL, f"gradient of {name}")


def _run_layer(name, x_shape, hx=False, seed=0, **kwargs):
    t_mod, m_mod = _pair(name, 3, 4, **kwargs)
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(x_shape)]
    if hx:
        batched = len(x_shape) == 3
        batch = x_shape[0 if kwargs.get("batch_first") else 1] if batched else None
        n = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
        shape = (n, batch, 4) if batched else (n, 4)
        arrays += [rng.standard_normal(shape) for _ in range(2 if name == "LSTM" else 1)]
    t_in, m_in = _leaves(arrays)

    def call(mod, ins):
        if len(ins) == 1:
            return mod(ins[0])
        return mod(ins[0], tuple(ins[1:]) if name == "LSTM" else ins[1])

    t_out, m_out = call(t_mod, t_in), call(m_mod, m_in)
    _check_backward(_flat(t_out), _flat(m_out), t_in, m_in, t_mod, m_mod)
    return t_out, m_out


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("layers,bidir", [(1, False), (2, False), (1, True), (2, True)])
def test_layer_matches_torch(name, layers, bidir):
    _run_layer(name, (5, 2, 3), num_layers=layers, bidirectional=bidir)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_layer_batch_first_initial_states_no_bias(name):
    t_out, m_out = _run_layer(name, (2, 5, 3), hx=True, num_layers=2, bidirectional=True, batch_first=True, bias=False)
    assert tuple(m_out[0].shape) == tuple(t_out[0].shape) == (2, 5, 8)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("hx", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_layer_unbatched_input(name, hx, batch_first):
    t_out, m_out = _run_layer(name, (5, 3), hx=hx, num_layers=2, bidirectional=True, batch_first=batch_first)
    assert tuple(m_out[0].shape) == (5, 8)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_layer_float32_default_dtype(name):
    """Default float32 modules: float32 outputs that agree with torch at float32 tolerance."""
    torch.manual_seed(0)
    t_mod = LAYERS[name][0](3, 4, num_layers=2, bidirectional=True)
    m_mod = copy_weights(t_mod, LAYERS[name][1](3, 4, num_layers=2, bidirectional=True))
    if DEVICE:
        m_mod.to(DEVICE)
    x = np.random.default_rng(0).standard_normal((6, 2, 3)).astype(np.float32)
    t_out = _flat(t_mod(torch.tensor(x)))
    m_out = _flat(m_mod(mg.tensor(x, device=DEVICE)))
    rtol, atol = TOL[np.float32]
    for k, (t, m) in enumerate(zip(t_out, m_out)):
        assert m.dtype == mg.float32
        assert_close(to_np(m), to_np(t), rtol, atol, f"output {k}")


def test_rnn_relu_nonlinearity():
    _run_layer("RNN", (4, 3, 3), hx=True, nonlinearity="relu", num_layers=2)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first,lengths", [(False, [3, 5, 1, 3]), (True, [3, 5, 1, 3]), (False, [5, 3, 3, 1])])
def test_packed_sequences(name, batch_first, lengths):
    """Unsorted lengths with a tie (enforce_sorted=False), or sorted ones; outputs, final states and every
    gradient through pack and pad."""
    enforce_sorted = lengths == sorted(lengths, reverse=True)
    t_mod, m_mod = _pair(name, 3, 4, num_layers=2, bidirectional=True, batch_first=batch_first)
    rng = np.random.default_rng(0)
    shape = (4, 5, 3) if batch_first else (5, 4, 3)
    arrays = [rng.standard_normal(shape)] + [rng.standard_normal((4, 4, 4)) for _ in range(2 if name == "LSTM" else 1)]
    t_in, m_in = _leaves(arrays)
    outs = []
    for _lib, utils, ins, mod in ((torch, trnn, t_in, t_mod), (mg, mrnn, m_in, m_mod)):
        packed = utils.pack_padded_sequence(ins[0], lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
        hx = tuple(ins[1:]) if name == "LSTM" else ins[1]
        out, h = mod(packed, hx)
        padded, lens = utils.pad_packed_sequence(out, batch_first=batch_first, padding_value=-7.0, total_length=6)
        outs.append((out, padded, h, lens))
    (t_pk, t_pad, t_h, t_len), (m_pk, m_pad, m_h, m_len) = outs
    assert isinstance(m_pk, mrnn.PackedSequence)
    _same_indices(t_pk, m_pk)
    assert_close(to_np(m_pk.data), to_np(t_pk.data), RTOL, ATOL, "packed output")
    assert_close(to_np(m_len), to_np(t_len), 0, 0, "lengths")
    _check_backward([t_pad] + _flat(t_h), [m_pad] + _flat(m_h), t_in, m_in, t_mod, m_mod)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_dropout_eval_is_deterministic_and_matches_torch(name):
    t_mod, m_mod = _pair(name, 3, 4, num_layers=3, dropout=0.5)
    t_mod.eval(), m_mod.eval()
    x = np.random.default_rng(0).standard_normal((5, 2, 3))
    t_in, m_in = _leaves([x])
    _check_backward(_flat(t_mod(t_in[0])), _flat(m_mod(m_in[0])), t_in, m_in, t_mod, m_mod)


def test_dropout_train_mode_shapes_and_seed():
    m_mod = mg.nn.LSTM(3, 4, num_layers=3, dropout=0.5, dtype=mg.float64)
    m_mod.train()
    x = mg.tensor(np.random.default_rng(0).standard_normal((6, 2, 3)), device=DEVICE)
    if DEVICE:
        m_mod.to(DEVICE)
    mg.manual_seed(3)
    out1, (h1, c1) = m_mod(x)
    mg.manual_seed(3)
    out2, _ = m_mod(x)
    mg.manual_seed(4)
    out3, _ = m_mod(x)
    assert tuple(out1.shape) == (6, 2, 4) and tuple(h1.shape) == tuple(c1.shape) == (3, 2, 4)
    np.testing.assert_array_equal(to_np(out1), to_np(out2))
    assert not np.allclose(to_np(out1), to_np(out3)), "dropout between layers had no effect in train mode"
    m_mod.eval()
    np.testing.assert_array_equal(to_np(m_mod(x)[0]), to_np(m_mod(x)[0]))


# ---------------------------------------------------------------------------------------------------- cells
@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("hx", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_cell_matches_torch(name, batched, hx, bias):
    t_mod, m_mod = _pair(name, 3, 4, bias=bias)
    rng = np.random.default_rng(0)
    lead = (2,) if batched else ()
    arrays = [rng.standard_normal(lead + (3,))]
    if hx:
        arrays += [rng.standard_normal(lead + (4,)) for _ in range(2 if name == "LSTMCell" else 1)]
    t_in, m_in = _leaves(arrays)

    def call(mod, ins):
        if len(ins) == 1:
            return mod(ins[0])
        return mod(ins[0], tuple(ins[1:]) if name == "LSTMCell" else ins[1])

    _check_backward(_flat(call(t_mod, t_in)), _flat(call(m_mod, m_in)), t_in, m_in, t_mod, m_mod)


def test_rnn_cell_relu():
    t_mod, m_mod = _pair("RNNCell", 3, 4, nonlinearity="relu")
    t_in, m_in = _leaves(
        [np.random.default_rng(0).standard_normal((2, 3)), np.random.default_rng(1).standard_normal((2, 4))]
    )
    _check_backward([t_mod(*t_in)], [m_mod(*m_in)], t_in, m_in, t_mod, m_mod)


def test_cell_loop_matches_layer():
    """An LSTMCell stepped by hand gives nn.LSTM's output when it holds the layer's weights."""
    layer = mg.nn.LSTM(3, 4, dtype=mg.float64)
    cell = mg.nn.LSTMCell(3, 4, dtype=mg.float64)
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = mg.tensor(np.random.default_rng(0).standard_normal((5, 2, 3)))
    out, (h_n, c_n) = layer(x)
    state = None
    for t in range(5):
        state = cell(x[t], state)
        assert_close(to_np(state[0]), to_np(out[t]), RTOL, ATOL, f"step {t}")
    assert_close(to_np(state[1]), to_np(c_n[0]), RTOL, ATOL, "c_n")


# ------------------------------------------------------------------------------------ parameters and state
@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_parameters_names_shapes_init_and_state_dict_both_ways(name):
    kwargs = dict(num_layers=2, bidirectional=True)
    t_mod = LAYERS[name][0](3, 5, **kwargs)
    mg.manual_seed(0)
    m_mod = LAYERS[name][1](3, 5, **kwargs)
    t_sd, m_sd = t_mod.state_dict(), m_mod.state_dict()
    assert list(m_sd) == list(t_sd)
    for k in t_sd:
        assert tuple(m_sd[k].shape) == tuple(t_sd[k].shape), k
        assert to_np(m_sd[k]).dtype == np.float32, k
    # every parameter from U(-1/sqrt(hidden), 1/sqrt(hidden)): all values inside, spread over the whole range
    bound, values = 1 / np.sqrt(5), np.concatenate([to_np(v).ravel() for v in m_sd.values()])
    assert np.abs(values).max() <= bound and values.max() > 0.9 * bound and values.min() < -0.9 * bound
    assert abs(values.std() - bound / np.sqrt(3)) < 0.1 * bound
    # minigrad -> torch, then torch -> a fresh minigrad module
    t_mod.load_state_dict({k: torch.tensor(to_np(v)) for k, v in m_sd.items()})
    back = copy_weights(t_mod, LAYERS[name][1](3, 5, **kwargs))
    for k, v in back.state_dict().items():
        np.testing.assert_array_equal(to_np(v), to_np(m_sd[k]))
    assert [[tuple(p.shape) for p in ws] for ws in m_mod.all_weights] == [
        [tuple(p.shape) for p in ws] for ws in t_mod.all_weights
    ]
    assert m_mod.flatten_parameters() is None
    assert repr(m_mod) == repr(t_mod)


def test_repr_matches_torch():
    for args, kwargs in [
        ((4, 5), dict(nonlinearity="relu")),
        ((4, 5, 2), dict(bias=False, batch_first=True, dropout=0.1, bidirectional=True)),
    ]:
        assert repr(mg.nn.RNN(*args, **kwargs)) == repr(torch.nn.RNN(*args, **kwargs))
    for name in CELLS:
        kwargs = dict(bias=False) if name != "RNNCell" else dict(bias=False, nonlinearity="relu")
        assert repr(CELLS[name][1](4, 5, **kwargs)) == repr(CELLS[name][0](4, 5, **kwargs))


def test_lstm_gradcheck_float64():
    mod = mg.nn.LSTM(2, 2, num_layers=2, bidirectional=True, dtype=mg.float64)
    params = list(mod.parameters())
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    h0 = mg.tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    c0 = mg.tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    w = mg.tensor(rng.standard_normal((3, 2, 4)))

    def f(x, h0, c0, *ps):
        out, (h, c) = mod(x, (h0, c0))
        return (out * w).sum() + (h * h).sum() + c.sum()

    assert mg.autograd.gradcheck(f, (x, h0, c0, *params))


# ----------------------------------------------------------------------------------------------- packing
def test_pack_pad_roundtrip_and_gradients_match_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6, 2))
    lengths = [2, 6, 2, 4]
    t_x, m_x = _leaves([x])
    t_pk = trnn.pack_padded_sequence(t_x[0], torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    m_pk = mrnn.pack_padded_sequence(m_x[0], mg.tensor(lengths), batch_first=True, enforce_sorted=False)
    assert_close(to_np(m_pk.data), to_np(t_pk.data), 0, 0, "data")
    _same_indices(t_pk, m_pk)
    t_pad, t_len = trnn.pad_packed_sequence(t_pk, padding_value=1.5)
    m_pad, m_len = mrnn.pad_packed_sequence(m_pk, padding_value=1.5)
    assert_close(to_np(m_len), to_np(t_len), 0, 0, "lengths")
    _check_backward([t_pad], [m_pad], t_x, m_x, torch.nn.Module(), mg.nn.Module())
    t_seqs = trnn.unpack_sequence(t_pk)
    m_seqs = mrnn.unpack_sequence(m_pk)
    for t, m in zip(t_seqs, m_seqs):
        assert_close(to_np(m), to_np(t), 0, 0, "unpack_sequence")
    for t, m in zip(trnn.unpad_sequence(t_pad, t_len), mrnn.unpad_sequence(m_pad, m_len)):
        assert_close(to_np(m), to_np(t), 0, 0, "unpad_sequence")


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_sequence_matches_torch(enforce_sorted):
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((n, 2)) for n in ([5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 3])]
    t_pk = trnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=enforce_sorted)
    m_pk = mrnn.pack_sequence([mg.tensor(s, device=DEVICE) for s in seqs], enforce_sorted=enforce_sorted)
    assert_close(to_np(m_pk.data), to_np(t_pk.data), 0, 0, "data")
    _same_indices(t_pk, m_pk)


def test_packed_sequence_construction_and_conversion():
    data = mg.tensor(np.arange(6.0).reshape(3, 2), device=DEVICE)
    pk = mrnn.PackedSequence(data, mg.tensor([2, 1]), mg.tensor([1, 0], device=DEVICE))
    t_pk = trnn.PackedSequence(torch.tensor(np.arange(6.0).reshape(3, 2)), torch.tensor([2, 1]), torch.tensor([1, 0]))
    _same_indices(t_pk, pk)
    assert pk._fields == t_pk._fields and isinstance(pk, tuple)
    assert pk.is_cuda == (DEVICE == "cuda")
    single = pk.float()
    assert single.data.dtype == mg.float32 and single.batch_sizes is pk.batch_sizes
    assert pk.double() is pk  # already float64: nothing to convert, as torch
    moved = pk.cpu()
    assert moved.data.device == moved.sorted_indices.device == mg.device("cpu") and not moved.is_cuda
    if DEVICE:  # batch_sizes must stay on the CPU, as torch requires
        with pytest.raises(ValueError, match="CPU"):
            mrnn.PackedSequence(data, mg.tensor([2, 1], device=DEVICE))


def _same_indices(t_pk, m_pk):
    for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        t_f, m_f = getattr(t_pk, field), getattr(m_pk, field)
        assert (t_f is None) == (m_f is None), field
        if t_f is not None:
            assert m_f.dtype == mg.int64, field
            assert_close(to_np(m_f), to_np(t_f), 0, 0, field)
    assert m_pk.batch_sizes.device == mg.device("cpu")


# ------------------------------------------------------------------------------------------------- errors
def _same_error(t_fn, m_fn):
    with pytest.raises(Exception) as t_err:
        t_fn()
    with pytest.raises(type(t_err.value)):
        m_fn()


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_layer_errors_mirror_torch(name):
    t_mod, m_mod = _pair(name, 3, 4, num_layers=2)
    lstm = name == "LSTM"

    def both(x_shape, *h_shapes, dtype=np.float64):
        x = np.zeros(x_shape, dtype)
        hs = [np.zeros(s) for s in h_shapes]

        def run(lib, mod):
            h = None if not hs else (tuple(lib.tensor(a) for a in hs) if lstm else lib.tensor(hs[0]))
            return lambda: mod(lib.tensor(x), h)

        _same_error(run(torch, t_mod), run(mg, m_mod))

    both((5, 2, 3, 1))  # 4-D input
    both((3,))  # 1-D input
    both((5, 2, 2))  # wrong input_size
    both((5, 2, 3), dtype=np.float32)  # dtype differs from the weights
    both((5, 2, 3), *[(2, 3, 4)] * (1 + lstm))  # batch 3 != 2
    both((5, 2, 3), *[(2, 2, 5)] * (1 + lstm))  # hidden 5 != 4
    both((5, 2, 3), *[(1, 2, 4)] * (1 + lstm))  # 1 layer of states for 2 layers
    both((5, 2, 3), *[(2, 4)] * (1 + lstm))  # 2-D hx for batched input
    both((5, 3), *[(2, 1, 4)] * (1 + lstm))  # 3-D hx for unbatched input
    both((0, 2, 3))  # empty sequence


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_errors_mirror_torch(name):
    t_mod, m_mod = _pair(name, 3, 4)
    lstm = name == "LSTMCell"

    def both(x_shape, h_shape=None):
        def run(lib, mod):
            h = None if h_shape is None else lib.zeros(h_shape, dtype=lib.float64)
            h = (h, h) if lstm and h is not None else h
            return lambda: mod(lib.zeros(x_shape, dtype=lib.float64), h)

        _same_error(run(torch, t_mod), run(mg, m_mod))

    both((2, 3, 1))
    both((2, 3), (2, 4, 1))
    both((2, 2))
    both((2, 3), (3, 4))
    both((2, 3), (2, 5))


def test_constructor_and_packing_errors_mirror_torch():
    cases = [
        lambda lib: lib.nn.RNN(3, 4, nonlinearity="sigmoid"),
        lambda lib: lib.nn.GRU(3, 4, proj_size=2),
        lambda lib: lib.nn.LSTM(3, 4, proj_size=4),
        lambda lib: lib.nn.LSTM(3, 0),
        lambda lib: lib.nn.LSTM(3, 4, 0),
        lambda lib: lib.nn.LSTM(3, 4.0),
        lambda lib: lib.nn.LSTM(3, 4, dropout=1.5),
        lambda lib: lib.nn.utils.rnn.pack_padded_sequence(lib.zeros(5, 3), [3, 5, 2]),
        lambda lib: lib.nn.utils.rnn.pack_padded_sequence(lib.zeros(5, 3), [5, 3, 0]),
        lambda lib: lib.nn.utils.rnn.pack_padded_sequence(lib.zeros(5, 3), [5, 3]),
        lambda lib: lib.nn.utils.rnn.pad_packed_sequence(
            lib.nn.utils.rnn.pack_padded_sequence(lib.zeros(5, 3), [5, 3, 2]), total_length=4
        ),
    ]
    for case in cases:
        _same_error(lambda: case(torch), lambda: case(mg))
    with pytest.raises(NotImplementedError, match="proj_size"):
        mg.nn.LSTM(3, 4, proj_size=2)
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        mg.nn.GRU(3, 4, dropout=0.2)
