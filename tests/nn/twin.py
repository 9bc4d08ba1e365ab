"""Twin-module checks: a torch layer and a minigrad layer with the same weights must agree.

``check_twin`` copies the torch module's state into the minigrad one (through ``load_state_dict``,
which accepts torch tensors), runs both on the same input, backpropagates the same random upstream
gradient and compares the output, the input gradient and every parameter gradient by name.
With ``MINIGRAD_TEST_DEVICE=cuda`` the minigrad twin and its inputs live on that device.
"""

from __future__ import annotations

import numpy as np
import torch

import minigrad as mg
from tests.opcheck import DEVICE, TOL, assert_close


def to_np(t):
    return t.detach().cpu().numpy()


def copy_weights(t_mod, m_mod):
    res = m_mod.load_state_dict(t_mod.state_dict())
    assert not res.missing_keys and not res.unexpected_keys
    return m_mod


def check_twin(t_mod, m_mod, *inputs, grad_input=True, seed=0, rtol=None, atol=None, copy=True):
    """``inputs``: NumPy arrays (float ones get requires_grad when ``grad_input``) or other values."""
    if copy:
        copy_weights(t_mod, m_mod)
    if DEVICE:
        m_mod.to(DEVICE)
    fdtype = next((a.dtype.type for a in inputs if isinstance(a, np.ndarray) and a.dtype.kind == "f"), None)
    if fdtype is None:
        fdtype = next(iter(t_mod.parameters())).detach().numpy().dtype.type
    d_rtol, d_atol = TOL[fdtype]
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol

    def wrap(lib, a):
        if not isinstance(a, np.ndarray):
            return a
        dev = DEVICE if lib is mg else None
        return lib.tensor(a, requires_grad=grad_input and a.dtype.kind == "f", device=dev)

    t_in = [wrap(torch, a) for a in inputs]
    m_in = [wrap(mg, a) for a in inputs]
    t_out, m_out = t_mod(*t_in), m_mod(*m_in)
    assert tuple(m_out.shape) == tuple(t_out.shape)
    assert str(m_out.dtype).split(".")[-1] == str(t_out.dtype).split(".")[-1]
    assert_close(to_np(m_out), to_np(t_out), rtol, atol, "forward")
    if not t_out.requires_grad:
        return t_out, m_out
    up = np.random.default_rng(seed).standard_normal(tuple(t_out.shape)).astype(to_np(t_out).dtype)
    t_out.backward(torch.tensor(up))
    m_out.backward(mg.tensor(up, device=m_out.device))
    for k, (ti, mi) in enumerate(zip(t_in, m_in)):
        if isinstance(ti, torch.Tensor) and ti.requires_grad:
            assert mi.grad is not None, f"input {k}: no gradient"
            assert_close(to_np(mi.grad), to_np(ti.grad), rtol, atol, f"gradient of input {k}")
    check_parameter_grads(t_mod, m_mod, rtol, atol)
    return t_out, m_out


def check_parameter_grads(t_mod, m_mod, rtol, atol):
    """Both modules have the same parameter names, and each gradient agrees (none in torch: none or 0 here)."""
    m_params = dict(m_mod.named_parameters())
    t_params = dict(t_mod.named_parameters())
    assert sorted(m_params) == sorted(t_params)
    for name, tp in t_params.items():
        mp = m_params[name]
        if tp.grad is None:
            assert mp.grad is None or not np.any(to_np(mp.grad)), f"{name}: torch has no grad, minigrad has one"
            continue
        assert mp.grad is not None, f"parameter {name}: minigrad computed no gradient"
        assert_close(to_np(mp.grad), to_np(tp.grad), rtol, atol, f"gradient of parameter {name}")
