"""Module system: registration, traversal, modes, dtype moves, state_dict/load_state_dict, hooks, repr, containers."""

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad import nn


def build_net(lib):
    """The same small model from torch.nn or minigrad.nn (one body, so the two cannot drift)."""
    n = lib.nn

    class Net(n.Module):
        def __init__(self):
            super().__init__()
            self.features = n.Sequential(n.Linear(4, 8), n.ReLU(), n.Dropout(0.2), n.Linear(8, 8))
            self.norm = n.BatchNorm1d(8)
            self.emb = n.Embedding(10, 4, padding_idx=0)
            self.heads = n.ModuleList([n.Linear(8, 2), n.Linear(8, 3, bias=False)])
            self.extra = n.ModuleDict({"proj": n.Linear(3, 3), "act": n.Tanh()})
            self.register_buffer("scale", lib.ones(3))
            self.register_buffer("cache", lib.zeros(2), persistent=False)

        def forward(self, x):
            return self.heads[0](self.norm(self.features(x)))

    return Net()


def test_state_dict_keys_match_torch():
    t, m = build_net(torch), build_net(mg)
    assert list(m.state_dict().keys()) == list(t.state_dict().keys())
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in m.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in m.named_children()] == [n for n, _ in t.named_children()]
    for (kt, vt), (_km, vm) in zip(t.state_dict().items(), m.state_dict().items()):
        assert tuple(vm.shape) == tuple(vt.shape), kt
        assert str(vm.dtype).split(".")[-1] == str(vt.dtype).split(".")[-1], kt
    assert "cache" not in m.state_dict() and any(n == "cache" for n, _ in m.named_buffers())


def test_load_state_dict_from_torch_copies_values_in_place():
    t, m = build_net(torch), build_net(mg)
    w = m.features[0].weight
    res = m.load_state_dict(t.state_dict())
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert repr(res) == "<All keys matched successfully>"
    assert m.features[0].weight is w  # same Parameter object: an optimiser holding it sees the new values
    for k, v in t.state_dict().items():
        np.testing.assert_array_equal(m.state_dict()[k].numpy(), v.numpy())
    # and back: a minigrad state dict (values shared with the model) loads into another minigrad model
    m2 = build_net(mg)
    m2.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(m2.heads[1].weight.detach().numpy(), m.heads[1].weight.detach().numpy())


def _torch_error(mod, sd, strict=True):
    with pytest.raises(RuntimeError) as e:
        mod.load_state_dict(sd, strict=strict)
    return str(e.value)


def test_load_state_dict_errors_mirror_torch():
    t, m = torch.nn.Sequential(torch.nn.Linear(2, 3)), nn.Sequential(nn.Linear(2, 3))
    # missing and unexpected keys: the same message, with minigrad's class name
    sd_t = OrderedDict([("0.weight", torch.zeros(3, 2)), ("0.foo", torch.zeros(1)), ("1.weight", torch.zeros(1))])
    sd_m = OrderedDict((k, mg.tensor(v.numpy())) for k, v in sd_t.items())
    msg_t, msg_m = _torch_error(t, sd_t), _torch_error(m, sd_m)
    assert msg_m == msg_t
    assert 'Missing key(s) in state_dict: "0.bias"' in msg_m and '"1.weight", "0.foo"' in msg_m
    # strict=False: no error, the keys are returned
    rt, rm = t.load_state_dict(sd_t, strict=False), m.load_state_dict(sd_m, strict=False)
    assert rm.missing_keys == rt.missing_keys == ["0.bias"]
    assert rm.unexpected_keys == rt.unexpected_keys
    # size mismatch names the key and both shapes, even with strict=False
    bad_t = {"0.weight": torch.zeros(2, 3), "0.bias": torch.zeros(3)}
    msg_t = _torch_error(t, bad_t, strict=False)
    msg_m = _torch_error(m, {k: mg.tensor(v.numpy()) for k, v in bad_t.items()}, strict=False)
    assert msg_m == msg_t.replace("torch.Size", "minigrad.Size")
    assert "size mismatch for 0.weight" in msg_m and "[2, 3]" in msg_m and "[3, 2]" in msg_m


def test_load_state_dict_casts_dtype_and_rejects_non_dicts():
    m = nn.Linear(2, 2).double()
    m.load_state_dict({"weight": np.ones((2, 2), np.float32), "bias": mg.zeros(2)})
    assert m.weight.dtype == mg.float64 and m.weight.detach().numpy().sum() == 4
    with pytest.raises(TypeError):
        m.load_state_dict([1, 2])


def test_registration_rules():
    m = nn.Module()
    m.w = nn.Parameter(mg.zeros(2))
    m.sub = nn.Linear(1, 1)
    m.plain = mg.zeros(1)  # a plain tensor attribute is neither a parameter nor a buffer
    m.register_buffer("b", mg.ones(1))
    assert list(m._parameters) == ["w"] and list(m._modules) == ["sub"] and list(m._buffers) == ["b"]
    assert [n for n, _ in m.named_parameters()] == ["w", "sub.weight", "sub.bias"]
    with pytest.raises(TypeError, match="parameter 'w'"):
        m.w = mg.zeros(2)
    with pytest.raises(TypeError, match="child module 'sub'"):
        m.sub = 3
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("w", mg.zeros(1))
    with pytest.raises(KeyError):
        m.register_parameter("a.b", None)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        m.nothing  # noqa: B018
    m.w = None
    assert m.w is None and "w" not in dict(m.named_parameters())
    del m.sub
    assert "sub" not in m._modules
    with pytest.raises(AttributeError, match="before Module.__init__"):

        class Bad(nn.Module):
            def __init__(self):
                self.x = nn.Linear(1, 1)

        Bad()

    class Early(nn.Module):  # plain attributes before super().__init__() are fine, as in torch
        def __init__(self):
            self.n = 3
            super().__init__()
            self.lin = nn.Linear(self.n, 1)

    assert [n for n, _ in Early().named_parameters()] == ["lin.weight", "lin.bias"]
    # re-assigning a child keeps its position (state_dict order stays torch's)
    s = nn.Sequential(nn.Linear(1, 1), nn.Linear(1, 1), nn.Linear(1, 1))
    s[1] = nn.Linear(1, 1)
    assert list(s._modules) == ["0", "1", "2"]


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    s = nn.Sequential(lin, lin)
    assert len(list(s.parameters())) == 2
    assert len(list(s.modules())) == 2
    assert list(s.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]  # torch keeps both keys


def test_train_eval_requires_grad_zero_grad():
    m = build_net(mg)
    assert m.training and m.features[2].training
    assert m.eval() is m
    assert not any(mod.training for mod in m.modules())
    m.train()
    assert all(mod.training for mod in m.modules())
    with pytest.raises(ValueError):
        m.train("yes")
    x = mg.randn(5, 4)
    m(x).sum().backward()
    assert m.features[0].weight.grad is not None
    m.zero_grad(set_to_none=False)
    assert m.features[0].weight.grad is not None and not m.features[0].weight.grad.numpy().any()
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_to_dtype_keeps_parameter_objects_and_integer_buffers():
    m = build_net(mg)
    w = m.features[0].weight
    assert m.double() is m
    assert m.features[0].weight is w and w.dtype == mg.float64
    assert m.norm.num_batches_tracked.dtype == mg.int64  # integer buffers are not cast
    assert m.scale.dtype == mg.float64
    m.to(mg.float32)
    assert w.dtype == mg.float32
    m.to("cpu", dtype=mg.float64)
    assert w.dtype == mg.float64 and w.device == mg.device("cpu")
    with pytest.raises(TypeError, match="floating point"):
        m.to(mg.int64)
    m.float()
    assert all(p.dtype == mg.float32 for p in m.parameters())


def test_apply_and_hooks():
    m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2)))
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "Linear", "Sequential", "Sequential"]  # children first, like torch

    def init(mod):
        if isinstance(mod, nn.Linear):
            nn.init.constant_(mod.weight, 0.5)

    m.apply(init)
    assert np.all(m[1][0].weight.detach().numpy() == 0.5)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: calls.append("pre"))
    h2 = m.register_forward_hook(lambda mod, args, out: out * 2)
    x = mg.ones(1, 2)
    y = m(x)
    np.testing.assert_allclose(y.detach().numpy(), 2 * m.forward(x).detach().numpy())
    assert calls == ["pre"]
    h1.remove()
    h2.remove()
    np.testing.assert_allclose(m(x).detach().numpy(), m.forward(x).detach().numpy())
    assert calls == ["pre"]


def test_repr_matches_torch():
    t, m = build_net(torch), build_net(mg)
    assert repr(m) == repr(t)
    for tm, mm in [
        (torch.nn.Linear(3, 2, bias=False), nn.Linear(3, 2, bias=False)),
        (torch.nn.Embedding(5, 2, padding_idx=-1), nn.Embedding(5, 2, padding_idx=-1)),
        (torch.nn.Dropout(0.1), nn.Dropout(0.1)),
        (torch.nn.Flatten(), nn.Flatten()),
        (torch.nn.Unflatten(1, (2, 3)), nn.Unflatten(1, (2, 3))),
        (torch.nn.Identity(), nn.Identity()),
        (torch.nn.CrossEntropyLoss(label_smoothing=0.1), nn.CrossEntropyLoss(label_smoothing=0.1)),
        (torch.nn.ReLU(inplace=True), nn.ReLU(inplace=True)),
        (torch.nn.GELU("tanh"), nn.GELU("tanh")),
        (torch.nn.LeakyReLU(0.2), nn.LeakyReLU(0.2)),
        (torch.nn.Softplus(2.0, 10.0), nn.Softplus(2.0, 10.0)),
        (torch.nn.ELU(0.5), nn.ELU(0.5)),
        (torch.nn.Softmax(dim=-1), nn.Softmax(dim=-1)),
        (torch.nn.LogSoftmax(dim=1), nn.LogSoftmax(dim=1)),
        (torch.nn.SiLU(), nn.SiLU()),
        (torch.nn.ModuleList(), nn.ModuleList()),
        (
            torch.nn.ModuleList([torch.nn.Linear(1, 1) for _ in range(3)] + [torch.nn.ReLU(), torch.nn.Linear(1, 1)]),
            nn.ModuleList([nn.Linear(1, 1) for _ in range(3)] + [nn.ReLU(), nn.Linear(1, 1)]),
        ),
        (
            torch.nn.ModuleList([torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.ReLU()) for _ in range(2)]),
            nn.ModuleList([nn.Sequential(nn.Linear(1, 1), nn.ReLU()) for _ in range(2)]),
        ),
        (torch.nn.ModuleDict({"a": torch.nn.ReLU()}), nn.ModuleDict({"a": nn.ReLU()})),
    ]:
        assert repr(mm) == repr(tm)


def test_forward_missing_raises():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(mg.zeros(1))


def test_sequential_indexing_slicing_append():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    s = nn.Sequential(*layers)
    assert len(s) == 3 and list(s) == layers
    assert s[0] is layers[0] and s[-1] is layers[2]
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == layers[1:]
    assert list(sub._modules) == ["1", "2"]  # torch keeps the original names in a slice
    with pytest.raises(IndexError):
        s[3]
    s.append(nn.Sigmoid())
    assert len(s) == 4 and list(s._modules)[-1] == "3"
    del s[0]
    assert list(s._modules) == ["0", "1", "2"] and s[0] is layers[1]
    s.insert(0, layers[0])
    assert s[0] is layers[0] and len(s) == 4
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is named[0]
    x = mg.randn(4, 2)
    y = nn.Sequential(layers[0], layers[1], layers[2])(x)
    np.testing.assert_allclose(y.detach().numpy(), layers[2](layers[1](layers[0](x))).detach().numpy())


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    assert len(ml) == 3 and [n for n, _ in ml.named_parameters()][:2] == ["0.weight", "0.bias"]
    ml.append(nn.Linear(1, 2))
    ml.extend([nn.Tanh()])
    assert len(ml) == 5 and isinstance(ml[-1], nn.Tanh) and isinstance(ml[1:3], nn.ModuleList)
    ml.insert(0, nn.ReLU())
    assert isinstance(ml[0], nn.ReLU) and list(ml._modules) == [str(i) for i in range(6)]
    del ml[0]
    assert isinstance(ml[0], nn.Linear)
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.ReLU()
    assert list(md.keys()) == ["a", "b"] and "a" in md and len(md) == 2
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]
    assert isinstance(md.pop("b"), nn.ReLU) and len(md) == 1


def test_identity_flatten_unflatten():
    x = mg.randn(2, 3, 4)
    assert nn.Identity(5, k=1)(x) is x
    assert tuple(nn.Flatten()(x).shape) == (2, 12)
    assert tuple(nn.Flatten(0, 1)(x).shape) == (6, 4)
    assert tuple(nn.Unflatten(2, (2, 2))(x).shape) == (2, 3, 2, 2)
    with pytest.raises(TypeError):
        nn.Unflatten(1, 4)


def test_deepcopy_and_pickle():
    m = build_net(mg)
    m2 = copy.deepcopy(m)
    assert isinstance(m2.features[0].weight, nn.Parameter)
    assert m2.features[0].weight is not m.features[0].weight
    np.testing.assert_array_equal(m2.features[0].weight.detach().numpy(), m.features[0].weight.detach().numpy())
    s = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5), nn.Embedding(4, 2, padding_idx=1))
    s3 = pickle.loads(pickle.dumps(s))
    assert list(s3.state_dict()) == list(s.state_dict()) and repr(s3) == repr(s)
    np.testing.assert_array_equal(s3[0].weight.detach().numpy(), s[0].weight.detach().numpy())


def test_parameter_basics():
    p = nn.Parameter(mg.zeros(2, 3))
    assert p.requires_grad and p.is_leaf and isinstance(p, mg.Tensor)
    assert repr(p).startswith("Parameter containing:\n")
    x = mg.ones(2, requires_grad=True) * 2
    q = nn.Parameter(x)
    assert q.is_leaf and q.grad_fn is None
    assert not nn.Parameter(mg.zeros(1), requires_grad=False).requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(mg.zeros(2, dtype=mg.int64))
    m = nn.Module()
    with pytest.raises(ValueError, match="non-leaf"):
        m.register_parameter("p", _nonleaf_param())


def _nonleaf_param():
    p = nn.Parameter(mg.zeros(1))
    p.grad_fn = object()  # simulate a Parameter produced by a computation
    return p


def test_get_submodule_and_parameter():
    m = build_net(mg)
    assert m.get_submodule("features.0") is m.features[0]
    assert m.get_parameter("heads.1.weight") is m.heads[1].weight
    with pytest.raises(AttributeError):
        m.get_submodule("features.9")
