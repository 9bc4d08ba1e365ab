"""instance_norm and rms_norm, and the layers BatchNorm2d/3d, GroupNorm (on images), InstanceNorm1d/2d and
RMSNorm, against torch: forward, gradients of a random upstream gradient, gradcheck, running statistics,
state dicts and errors."""

import numpy as np
import pytest
import torch

import minigrad as mg
from tests.nn.twin import check_twin, copy_weights
from tests.opcheck import DEVICE, compare


def rand(*shape, seed=0):
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape)


def F(lib):
    return torch.nn.functional if lib is torch else mg.nn.functional


def instance_norm(lib):
    return torch.nn.functional.instance_norm if lib is torch else mg.instance_norm


def rms_norm(lib):
    return torch.nn.functional.rms_norm if lib is torch else mg.rms_norm


# ------------------------------------------------------------------ instance_norm
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 5), (1, 2, 2, 2, 3)])
def test_instance_norm_matches_torch(shape):
    x, w, b = rand(*shape), rand(shape[1], seed=1), rand(shape[1], seed=2)
    compare(lambda L, x: instance_norm(L)(x), x)
    compare(lambda L, x, w, b: instance_norm(L)(x, weight=w, bias=b, eps=1e-3), x, w, b)
    compare(lambda L, x, w: instance_norm(L)(x, None, None, w), x.astype(np.float32), w.astype(np.float32))


def test_instance_norm_running_statistics_follow_torch():
    x = rand(4, 3, 6, 5)
    stats = {}
    for lib in (torch, mg):
        dev = DEVICE if lib is mg else None
        rm, rv = lib.tensor(rand(3, seed=1), device=dev), lib.tensor(rand(3, seed=2) ** 2, device=dev)
        xt = lib.tensor(x, requires_grad=True, device=dev)
        out = instance_norm(lib)(xt, rm, rv, momentum=0.3)  # training: input statistics, running ones move
        out.backward(lib.tensor(rand(4, 3, 6, 5, seed=3), device=dev))
        ev = instance_norm(lib)(lib.tensor(x, device=dev), rm, rv, use_input_stats=False)  # eval: running ones
        stats[lib] = [t.detach().cpu().numpy() for t in (out, xt.grad, rm, rv, ev)]
    for m, t in zip(stats[mg], stats[torch]):
        np.testing.assert_allclose(m, t, rtol=1e-10, atol=1e-12)


def test_instance_norm_errors_match_torch():
    for shape in [(2, 3, 1), (2, 3)]:
        with pytest.raises(ValueError):
            torch.nn.functional.instance_norm(torch.ones(*shape))
        with pytest.raises(ValueError):
            mg.instance_norm(mg.ones(*shape))


# ------------------------------------------------------------------ rms_norm
@pytest.mark.parametrize(
    "shape, normalized, weight, eps",
    [
        ((2, 3, 4), (4,), True, None),
        ((2, 3, 4), (3, 4), True, 1e-2),
        ((5, 6), (6,), False, None),
        ((3, 4), [4], False, 0.5),
    ],
)
def test_rms_norm_matches_torch(shape, normalized, weight, eps):
    x = rand(*shape)
    if weight:
        w = rand(*((normalized,) if isinstance(normalized, int) else normalized), seed=1)
        compare(lambda L, x, w: rms_norm(L)(x, normalized, w, eps), x, w)
        compare(lambda L, x, w: rms_norm(L)(x, normalized, w, eps), x.astype(np.float32), w.astype(np.float32))
    else:
        compare(lambda L, x: rms_norm(L)(x, normalized, eps=eps), x)
        compare(lambda L, x: rms_norm(L)(x, normalized, eps=eps), x.astype(np.float32))


def test_rms_norm_errors_match_torch():
    for fn in (
        lambda L: rms_norm(L)(L.ones(2, 3), [4]),
        lambda L: rms_norm(L)(L.ones(2, 3), [2, 3], L.ones(3)),
        lambda L: rms_norm(L)(L.ones(2, 3), 3),  # F.rms_norm takes a list (the RMSNorm layer takes an int too)
    ):
        with pytest.raises(Exception) as t_err:
            fn(torch)
        with pytest.raises(type(t_err.value)):
            fn(mg)


# ------------------------------------------------------------------ batch norm on images and volumes
@pytest.mark.parametrize("name, shape", [("BatchNorm2d", (4, 3, 5, 4)), ("BatchNorm3d", (2, 3, 2, 3, 4))])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_layers_train_and_eval(name, shape, momentum):
    t = getattr(torch.nn, name)(3, momentum=momentum).double()
    m = getattr(mg.nn, name)(3, momentum=momentum, dtype=mg.float64)
    with torch.no_grad():
        t.weight.copy_(torch.tensor(rand(3, seed=1)))
        t.bias.copy_(torch.tensor(rand(3, seed=2)))
    copy_weights(t, m)
    for step in range(2):  # the running statistics move the same way
        check_twin(t, m, rand(*shape, seed=step), copy=False)
    for key, value in t.state_dict().items():
        np.testing.assert_allclose(m.state_dict()[key].cpu().numpy(), value.numpy(), rtol=1e-10, atol=1e-12)
    t.eval(), m.eval()
    check_twin(t, m, rand(*shape, seed=5), copy=False)
    assert repr(m) == repr(t)


def test_batch_norm2d_rejects_other_ranks_like_torch():
    for lib in (torch, mg):
        with pytest.raises(ValueError):
            lib.nn.BatchNorm2d(3)(lib.ones(2, 3, 4))
    assert not isinstance(mg.nn.BatchNorm2d(3), mg.nn.BatchNorm1d)


def test_group_norm_layer_on_images():
    t, m = torch.nn.GroupNorm(2, 4).double(), mg.nn.GroupNorm(2, 4, dtype=mg.float64)
    with torch.no_grad():
        t.weight.copy_(torch.tensor(rand(4, seed=1)))
        t.bias.copy_(torch.tensor(rand(4, seed=2)))
    check_twin(t, m, rand(2, 4, 3, 5))


# ------------------------------------------------------------------ instance norm layers
@pytest.mark.parametrize("dims", [1, 2])
@pytest.mark.parametrize("affine, track", [(False, False), (True, False), (True, True), (False, True)])
def test_instance_norm_layers(dims, affine, track):
    shape = (3, 4, 6) if dims == 1 else (3, 4, 5, 3)
    t = getattr(torch.nn, f"InstanceNorm{dims}d")(4, affine=affine, track_running_stats=track).double()
    m = getattr(mg.nn, f"InstanceNorm{dims}d")(4, affine=affine, track_running_stats=track, dtype=mg.float64)
    if affine:
        with torch.no_grad():
            t.weight.copy_(torch.tensor(rand(4, seed=1)))
            t.bias.copy_(torch.tensor(rand(4, seed=2)))
    assert sorted(m.state_dict()) == sorted(t.state_dict())
    copy_weights(t, m)
    check_twin(t, m, rand(*shape), copy=False)
    check_twin(t, m, rand(*shape[1:], seed=1), copy=False)  # unbatched
    for key, value in t.state_dict().items():
        np.testing.assert_allclose(m.state_dict()[key].cpu().numpy(), value.numpy(), rtol=1e-10, atol=1e-12)
    t.eval(), m.eval()
    check_twin(t, m, rand(*shape, seed=2), copy=False)
    assert repr(m) == repr(t)


def test_instance_norm_layer_checks_channels_when_affine():
    for lib in (torch, mg):
        with pytest.raises(ValueError):
            lib.nn.InstanceNorm2d(3, affine=True)(lib.ones(2, 4, 3, 3))
        with pytest.raises(ValueError):
            lib.nn.InstanceNorm1d(3)(lib.ones(2, 3, 3, 3))


# ------------------------------------------------------------------ RMSNorm
@pytest.mark.parametrize(
    "kw",
    [
        dict(normalized_shape=5),
        dict(normalized_shape=(4, 5), eps=1e-3),
        dict(normalized_shape=[5], elementwise_affine=False),
    ],
)
def test_rms_norm_layer(kw):
    t, m = torch.nn.RMSNorm(**kw).double(), mg.nn.RMSNorm(**kw, dtype=mg.float64)
    if t.weight is not None:
        with torch.no_grad():
            t.weight.copy_(torch.tensor(rand(*t.weight.shape, seed=1)))
    assert sorted(m.state_dict()) == sorted(t.state_dict())
    check_twin(t, m, rand(3, 4, 5))
    assert repr(m) == repr(t)
    fresh = mg.nn.RMSNorm(**kw)
    if fresh.weight is not None:  # initialised to ones, as torch
        assert np.all(fresh.weight.detach().cpu().numpy() == 1)
