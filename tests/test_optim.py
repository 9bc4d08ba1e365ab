"""minigrad.optim against torch.optim: 100-step float64 trajectories, state dicts, options and errors."""

import io
import math

import numpy as np
import pytest
import torch

import minigrad
from minigrad import optim
from minigrad.compute import B

SHAPES = [(3, 4), (5,), (), (0, 2)]


def _grad_fn(x):
    """A fixed, non-linear 'gradient' of the parameters: the same numbers go to both libraries."""
    return np.cos(3 * x) + 0.3 * x - 0.1


def _make_params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _pair(arrays):
    mg = [minigrad.tensor(a.copy(), requires_grad=True) for a in arrays]
    th = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    return mg, th


def _set_grads(mg, th, skip=()):
    for i, (m, t) in enumerate(zip(mg, th)):
        if i in skip:
            continue
        g = _grad_fn(m.array)
        m.grad = minigrad.tensor(g.copy())
        t.grad = torch.tensor(g.copy())


def _run(mg_opt, th_opt, mg, th, steps, skip=(), on_step=None):
    for k in range(steps):
        if on_step is not None:
            on_step(k)
        mg_opt.zero_grad()
        th_opt.zero_grad()
        _set_grads(mg, th, skip)
        mg_opt.step()
        th_opt.step()


def _assert_params_close(mg, th, rtol=1e-10, atol=1e-12):
    for m, t in zip(mg, th):
        assert m.array.dtype == t.detach().numpy().dtype
        np.testing.assert_allclose(m.array, t.detach().numpy(), rtol=rtol, atol=atol)


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.1, maximize=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.2, nesterov=True, momentum=0.5)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.02, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.5), eps=1e-6, maximize=True)),  # beta1 < 0.5: lerp's other branch
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), amsgrad=True, weight_decay=0.05, maximize=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, betas=(0.2, 0.99), weight_decay=0.3, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.005, alpha=0.3, centered=True, momentum=0.5, weight_decay=0.1)),  # alpha < 0.5
    ("RMSprop", dict(lr=0.01, weight_decay=0.01, maximize=True, eps=1e-4)),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{sorted(k.items())}" for n, k in CASES])
def test_trajectory_matches_torch_float64(name, kwargs):
    mg, th = _pair(_make_params())
    mg_opt, th_opt = getattr(optim, name)(mg, **kwargs), getattr(torch.optim, name)(th, **kwargs)
    _run(mg_opt, th_opt, mg, th, 100)
    _assert_params_close(mg, th)
    # the optimizer really moved the parameters (a no-op optimizer cannot pass)
    start = _make_params()
    assert not np.allclose(mg[0].array, start[0])


@pytest.mark.parametrize("name,kwargs", CASES[::3], ids=[n for n, _ in CASES[::3]])
def test_trajectory_float32_stays_float32(name, kwargs):
    mg, th = _pair(_make_params(np.float32))
    mg_opt, th_opt = getattr(optim, name)(mg, **kwargs), getattr(torch.optim, name)(th, **kwargs)
    _run(mg_opt, th_opt, mg, th, 30)
    for m in mg:
        assert m.array.dtype == np.float32
    for s in mg_opt.state.values():
        for v in s.values():
            if isinstance(v, minigrad.Tensor) and v.ndim:
                assert v.array.dtype == np.float32
    _assert_params_close(mg, th, rtol=2e-4, atol=2e-5)


def test_float64_gradient_does_not_promote_float32_param():
    p = minigrad.tensor(np.ones(3, np.float32), requires_grad=True)
    for cls in (optim.SGD, optim.Adam, optim.RMSprop):
        opt = cls([p], lr=0.1)
        p.grad = minigrad.tensor(np.full(3, 0.5, np.float64))
        opt.step()
        assert p.array.dtype == np.float32


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("SGD", dict(lr=0.1, momentum=0.9)),
        ("Adam", dict(lr=0.05)),
        ("AdamW", dict(lr=0.05)),
        ("RMSprop", dict(lr=0.01, centered=True)),
    ],
)
def test_editing_lr_mid_run_and_param_groups(name, kwargs):
    arrays = _make_params()
    mg, th = _pair(arrays)
    groups_mg = [{"params": mg[:2]}, {"params": mg[2:], "lr": 0.003}]
    groups_th = [{"params": th[:2]}, {"params": th[2:], "lr": 0.003}]
    mg_opt, th_opt = getattr(optim, name)(groups_mg, **kwargs), getattr(torch.optim, name)(groups_th, **kwargs)
    assert mg_opt.param_groups[1]["lr"] == 0.003 and mg_opt.param_groups[0]["lr"] == kwargs["lr"]

    def edit(k):
        if k in (30, 70):
            for o in (mg_opt, th_opt):
                o.param_groups[0]["lr"] *= 0.3

    _run(mg_opt, th_opt, mg, th, 100, on_step=edit)
    _assert_params_close(mg, th)
    # and a run without the edits ends elsewhere, so the edits were used
    mg2, _ = _pair(arrays)
    o2 = getattr(optim, name)([{"params": mg2[:2]}, {"params": mg2[2:], "lr": 0.003}], **kwargs)
    for _ in range(100):
        for m in mg2:
            m.grad = minigrad.tensor(_grad_fn(m.array))
        o2.step()
    assert not np.allclose(mg2[0].array, mg[0].array)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_params_without_grad_are_skipped(name):
    mg, th = _pair(_make_params())
    mg_opt = getattr(optim, name)(mg, lr=0.01, **({"momentum": 0.9} if name != "Adam" else {}))
    th_opt = getattr(torch.optim, name)(th, lr=0.01, **({"momentum": 0.9} if name != "Adam" else {}))
    before = mg[1].array.copy()
    _run(mg_opt, th_opt, mg, th, 10, skip=(1,))
    np.testing.assert_array_equal(mg[1].array, before)
    assert mg[1] not in mg_opt.state
    _assert_params_close(mg, th)


def _to_torch(obj):
    if isinstance(obj, minigrad.Tensor):
        return torch.from_numpy(obj.array.copy())
    if isinstance(obj, dict):
        return {k: _to_torch(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_torch(v) for v in obj]
    return obj


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
        ("Adam", dict(lr=0.02, amsgrad=True, weight_decay=0.01)),
        ("AdamW", dict(lr=0.02)),
        ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ],
)
def test_state_dict_round_trip_and_load_into_torch(name, kwargs):
    arrays = _make_params()
    mg, th = _pair(arrays)
    mg_opt, th_opt = getattr(optim, name)(mg, **kwargs), getattr(torch.optim, name)(th, **kwargs)
    _run(mg_opt, th_opt, mg, th, 40)
    sd = mg_opt.state_dict()
    # torch's layout: integer keys, groups listing parameter indices
    assert sorted(sd["state"]) == [0, 1, 2, 3]
    assert sd["param_groups"][0]["params"] == [0, 1, 2, 3]
    assert set(sd["param_groups"][0]) == set(th_opt.state_dict()["param_groups"][0])
    assert set(sd["state"][0]) == set(th_opt.state_dict()["state"][0])

    # 1) a fresh minigrad optimizer over copies of the parameters continues identically
    mg2 = [minigrad.tensor(m.array.copy(), requires_grad=True) for m in mg]
    opt2 = getattr(optim, name)(mg2, lr=123.0)  # options come from the state dict
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == kwargs["lr"]
    # 2) torch loads the converted state dict and continues identically too
    th2 = [torch.tensor(m.array.copy(), requires_grad=True) for m in mg]
    th_opt2 = getattr(torch.optim, name)(th2, lr=123.0)
    th_opt2.load_state_dict(_to_torch(sd))
    _run(mg_opt, th_opt, mg, th, 40)
    _run(opt2, th_opt2, mg2, th2, 40)
    _assert_params_close(mg2, th, rtol=1e-10)
    _assert_params_close(mg2, th2, rtol=1e-10)
    for a, b in zip(mg, mg2):
        np.testing.assert_array_equal(a.array, b.array)


def test_load_state_dict_copies_and_casts():
    p = minigrad.tensor(np.ones(3), requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    p.grad = minigrad.tensor(np.ones(3))
    opt.step()
    sd = opt.state_dict()
    q = minigrad.tensor(np.ones(3, np.float32), requires_grad=True)
    opt2 = optim.Adam([q])
    opt2.load_state_dict(sd)
    st = opt2.state[q]
    assert st["exp_avg"].array.dtype == np.float32  # cast to the parameter's dtype
    assert st["step"].item() == 1.0
    st["exp_avg"].array[...] = 7  # a copy, not an alias of the saved dict
    assert sd["state"][0]["exp_avg"].array[0] != 7


def test_load_state_dict_mismatch_errors():
    a = [minigrad.tensor(np.ones(2), requires_grad=True) for _ in range(3)]
    opt = optim.SGD(a, lr=0.1)
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([{"params": a[:1]}, {"params": a[1:]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.SGD(a[:2], lr=0.1).load_state_dict(sd)


def test_state_dict_save_load_via_minigrad_save():
    mg, th = _pair(_make_params())
    opt = optim.Adam(mg, lr=0.01)
    th_opt = torch.optim.Adam(th, lr=0.01)
    _run(opt, th_opt, mg, th, 5)
    buf = io.BytesIO()
    minigrad.save(opt.state_dict(), buf)
    buf.seek(0)
    sd = minigrad.load(buf)
    opt2 = optim.Adam([minigrad.tensor(m.array.copy(), requires_grad=True) for m in mg])
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["betas"] == (0.9, 0.999)
    np.testing.assert_array_equal(opt2.state_dict()["state"][0]["exp_avg"].array, opt.state[mg[0]]["exp_avg"].array)


def test_closure_and_zero_grad():
    p = minigrad.tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = optim.SGD([p], lr=0.5)
    calls = []

    def closure():
        calls.append(minigrad.is_grad_enabled())
        p.grad = minigrad.tensor(np.array([1.0, -1.0]))
        return 3.5

    with minigrad.no_grad():
        assert opt.step(closure) == 3.5
    assert calls == [True]
    np.testing.assert_array_equal(p.array, [0.5, 2.5])
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g
    np.testing.assert_array_equal(p.grad.array, [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None


def test_add_param_group_and_defaults():
    a = minigrad.tensor(np.ones(2), requires_grad=True)
    b = minigrad.tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.01
    assert opt.param_groups[1]["params"][0] is b
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="must be a dict"):
        opt.add_param_group([a])
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD({a}, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {a}}], lr=0.1)
    assert "SGD" in repr(opt) and "momentum: 0.9" in repr(opt)


def test_constructor_errors():
    p = minigrad.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.Adam(p)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.Adam([np.ones(2)])
    nonleaf = p * 2
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([nonleaf], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
        optim.SGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="Invalid momentum value: -1"):
        optim.SGD([p], lr=0.1, momentum=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 0: 1.0"):
        optim.Adam([p], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: -0.5"):
        optim.AdamW([p], betas=(0.9, -0.5))
    with pytest.raises(ValueError, match="Invalid epsilon value: -1e-08"):
        optim.Adam([p], eps=-1e-8)
    with pytest.raises(ValueError, match="Invalid weight_decay value: -1"):
        optim.AdamW([p], weight_decay=-1)
    with pytest.raises(ValueError, match="Invalid alpha value: -0.5"):
        optim.RMSprop([p], alpha=-0.5)
    with pytest.raises(ValueError, match="Invalid momentum value: -0.5"):
        optim.RMSprop([p], momentum=-0.5)


def test_grad_shape_mismatch_is_a_clear_error():
    p = minigrad.tensor(np.ones(3), requires_grad=True)
    p.grad = minigrad.tensor(np.ones(4))
    with pytest.raises(RuntimeError, match=r"Adam.step: the gradient of a parameter of shape \(3,\) has shape \(4,\)"):
        optim.Adam([p]).step()


def test_adamw_defaults_and_named_params():
    p = minigrad.tensor(np.ones(2), requires_grad=True)
    opt = optim.AdamW([("w", p)])
    assert opt.defaults["weight_decay"] == 1e-2 and opt.param_groups[0]["decoupled_weight_decay"] is True
    assert opt.param_groups[0]["param_names"] == ["w"]
    assert optim.Adam([p]).defaults["decoupled_weight_decay"] is False


def test_adam_update_kernel_on_arrays():
    """The swappable kernel alone: one step from zero moments equals lr * sign(g) (up to eps)."""
    p = np.array([1.0, -2.0, 0.5])
    g = np.array([0.3, -4.0, 1e-3])
    m, v = np.zeros(3), np.zeros(3)
    B.adam_update(
        p,
        g,
        m,
        v,
        None,
        step=1.0,
        lr=0.1,
        beta1=0.9,
        beta2=0.999,
        eps=0.0,
        weight_decay=0.0,
        amsgrad=False,
        maximize=False,
        decoupled=False,
    )
    np.testing.assert_allclose(p, [0.9, -1.9, 0.4], rtol=1e-12)
    np.testing.assert_allclose(m, 0.1 * g, rtol=1e-12)
    np.testing.assert_allclose(v, 0.001 * g * g, rtol=1e-12)


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("Adam", dict(lr=0.02, amsgrad=True, weight_decay=0.1)),
        ("Adam", dict(lr=0.01, betas=(0.3, 0.5), maximize=True)),
        ("AdamW", dict(lr=0.05, weight_decay=0.1)),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_plain_array_adam_path_matches_torch(name, kwargs, dtype, monkeypatch):
    """With the compiled kernel switched off, the array-module path (used on the GPU) follows torch too."""
    from minigrad.compute.fast import optim as fast_optim

    monkeypatch.setattr(fast_optim.kernels, "adam_update", lambda *a, **k: None)
    mg, th = _pair(_make_params(dtype))
    mg_opt, th_opt = getattr(optim, name)(mg, **kwargs), getattr(torch.optim, name)(th, **kwargs)
    _run(mg_opt, th_opt, mg, th, 100 if dtype == np.float64 else 30)
    if dtype == np.float64:
        _assert_params_close(mg, th)
    else:
        _assert_params_close(mg, th, rtol=2e-4, atol=2e-5)
        assert all(m.array.dtype == np.float32 for m in mg)


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
        ("Adam", dict(lr=0.02, amsgrad=True)),
        ("AdamW", dict(lr=0.02)),
        ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
    ],
)
def test_optimizers_on_the_fake_gpu(name, kwargs, monkeypatch):
    """On a (stand-in) GPU the updates stay on the device, and still follow torch."""
    from minigrad import _fakegpu, backend

    monkeypatch.setattr(backend, "_gpu_module", _fakegpu)
    arrays = _make_params()
    mg = [minigrad.tensor(a.copy(), device="cuda", requires_grad=True) for a in arrays]
    th = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    mg_opt, th_opt = getattr(optim, name)(mg, **kwargs), getattr(torch.optim, name)(th, **kwargs)
    for _ in range(50):
        for m, t in zip(mg, th):
            g = _grad_fn(t.detach().numpy())
            m.grad = minigrad.tensor(g, device="cuda")
            t.grad = torch.tensor(g)
        mg_opt.step()
        th_opt.step()
    for m, t in zip(mg, th):
        assert m.device.type == "cuda"
        np.testing.assert_allclose(m.cpu().array, t.detach().numpy(), rtol=1e-10, atol=1e-12)
    for s in mg_opt.state.values():
        for k, v in s.items():
            assert v.device.type == ("cpu" if k == "step" else "cuda")
    mg_opt.zero_grad(set_to_none=False)
    assert mg[0].grad.device.type == "cuda" and not mg[0].grad.cpu().array.any()


def test_load_a_torch_state_dict():
    """The other direction: a torch optimizer's state dict (torch tensors inside) loads into minigrad."""
    mg, th = _pair(_make_params())
    th_opt = torch.optim.Adam(th, lr=0.03, amsgrad=True)
    mg_opt = optim.Adam(mg, lr=0.03, amsgrad=True)
    _run(mg_opt, th_opt, mg, th, 20)
    fresh = [minigrad.tensor(t.detach().numpy().copy(), requires_grad=True) for t in th]
    opt2 = optim.Adam(fresh)
    opt2.load_state_dict(th_opt.state_dict())
    assert isinstance(opt2.state[fresh[0]]["exp_avg"], minigrad.Tensor)
    _run(opt2, th_opt, fresh, th, 30)
    _assert_params_close(fresh, th)


def test_training_loop_end_to_end_matches_torch(tmp_path):
    """The course's loop (DataLoader -> model -> loss -> backward -> step -> scheduler; save the best) in both
    libraries, from the same weights and the same batches, ends at the same weights (float64)."""
    from minigrad.utils.data import DataLoader, TensorDataset

    minigrad.manual_seed(0)  # the initial weights (copied into torch) must not depend on which tests ran before
    rng = np.random.default_rng(0)
    X, w_true = rng.standard_normal((24, 3)), np.array([[1.5], [-2.0], [0.5]])
    Y = X @ w_true + 0.1 * rng.standard_normal((24, 1))
    mg_model = minigrad.nn.Sequential(minigrad.nn.Linear(3, 4), minigrad.nn.Tanh(), minigrad.nn.Linear(4, 1)).double()
    th_model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()
    with torch.no_grad():
        for (_, p), (_, q) in zip(mg_model.named_parameters(), th_model.named_parameters()):
            q.copy_(torch.from_numpy(p.array.copy()))
    mg_opt = optim.AdamW(mg_model.parameters(), lr=0.05)
    th_opt = torch.optim.AdamW(th_model.parameters(), lr=0.05)
    mg_sched = optim.lr_scheduler.ReduceLROnPlateau(mg_opt, patience=0, factor=0.5, threshold=0.1)
    th_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(th_opt, patience=0, factor=0.5, threshold=0.1)
    mg_loader = DataLoader(TensorDataset(minigrad.tensor(X), minigrad.tensor(Y)), batch_size=5)
    th_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(Y)), batch_size=5
    )
    best = math.inf
    for _epoch in range(8):
        total = 0.0
        for (xb, yb), (xt, yt) in zip(mg_loader, th_loader):
            mg_opt.zero_grad()
            th_opt.zero_grad()
            loss = minigrad.nn.functional.mse_loss(mg_model(xb), yb)
            tloss = torch.nn.functional.mse_loss(th_model(xt), yt)
            loss.backward()
            tloss.backward()
            mg_opt.step()
            th_opt.step()
            total += loss.item()
        mg_sched.step(total)
        th_sched.step(total)
        if total < best:
            best = total
            minigrad.save(mg_model.state_dict(), tmp_path / "best.pt")
    for p, q in zip(mg_model.parameters(), th_model.parameters()):
        np.testing.assert_allclose(p.array, q.detach().numpy(), rtol=1e-9, atol=1e-12)
    assert mg_opt.param_groups[0]["lr"] == th_opt.param_groups[0]["lr"] < 0.05  # the plateau logic kicked in
    mg_model.load_state_dict(minigrad.load(tmp_path / "best.pt"))
