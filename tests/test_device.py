"""Devices: the torch-style API, and ops / layers / losses / optimisers / a training loop run on 'cuda'
under the fake GPU stand-in, compared with the CPU bit for bit, with every output and gradient
checked to stay on the device. (The strict stand-in raises on any silent host/device mix.)

Run the whole op suite on the stand-in too: ``MINIGRAD_FAKE_GPU=1 MINIGRAD_TEST_DEVICE=cuda pytest``.
"""

import copy
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import _fakegpu as fg
from minigrad import backend
from minigrad.compute.fast import kernels


@pytest.fixture
def fake_gpu(monkeypatch):
    monkeypatch.setattr(backend, "_gpu_module", fg)
    yield fg


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(backend, "_gpu_module", False)


def host(t):
    return backend.to_device(t.array, backend.CPU)


# ----------------------------------------------------------------------------- the device API
def test_device_objects_parse_and_compare():
    assert mg.device("cpu").type == "cpu" and mg.device("cpu").index is None
    d = mg.device("cuda:1")
    assert (d.type, d.index, str(d), repr(d)) == ("cuda", 1, "cuda:1", "device(type='cuda', index=1)")
    assert mg.device("cuda") == "cuda:0" and mg.device(mg.device("cuda:1")) == d and mg.device(1) == d
    with pytest.raises(RuntimeError, match="unknown device type 'tpu'"):
        mg.device("tpu")
    with pytest.raises(RuntimeError, match="invalid device index"):
        mg.device("cuda:x")


def test_without_cuda(no_gpu):
    assert not mg.cuda.is_available() and mg.cuda.device_count() == 0
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        mg.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        mg.ones(2).cuda()
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        mg.cuda.current_device()
    mg.cuda.manual_seed_all(0)  # no-ops without CUDA, as in torch
    mg.cuda.manual_seed(0)
    mg.cuda.empty_cache()
    assert mg.cuda.memory_allocated() == 0 and mg.cuda.max_memory_allocated() == 0
    assert mg.cuda.is_bf16_supported() is False


def test_backends_settings(monkeypatch):
    import minigrad.backends.cudnn as cudnn

    assert mg.backends.mps.is_available() is False and cudnn is mg.backends.cudnn
    monkeypatch.setattr(cudnn, "deterministic", cudnn.deterministic)
    monkeypatch.setattr(cudnn, "benchmark", cudnn.benchmark)
    mg.backends.cudnn.deterministic = True
    cudnn.benchmark = True
    assert mg.backends.cudnn.deterministic and mg.backends.cudnn.benchmark and mg.backends.cudnn.enabled


def test_cuda_queries_on_the_stand_in(fake_gpu):
    assert mg.cuda.is_available() and mg.cuda.device_count() == fg.DEVICE_COUNT
    assert mg.cuda.current_device() == 0 and "fake" in mg.cuda.get_device_name(0)
    mg.cuda.set_device(1)
    try:
        assert mg.cuda.current_device() == 1
    finally:
        mg.cuda.set_device(0)
    with mg.cuda.device(1):
        assert mg.cuda.current_device() == 1
    assert mg.cuda.current_device() == 0
    mg.cuda.synchronize()
    mg.cuda.synchronize("cuda:1")
    mg.cuda.manual_seed_all(3)
    mg.cuda.empty_cache()
    with pytest.raises(ValueError, match="Expected a cuda device"):
        mg.cuda.synchronize("cpu")


def test_moving_tensors(fake_gpu):
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    for g in (x.cuda(), x.to("cuda"), x.to(mg.device("cuda:0")), x.to("cuda", mg.float64), x.cuda(0)):
        assert g.device == mg.device("cuda:0") and g.is_cuda and isinstance(g.array, fg.ndarray)
    assert x.to("cuda", mg.float64).dtype == mg.float64
    assert x.to("cuda:1").device == mg.device("cuda:1") and x.cuda(1).cuda(0).device == mg.device("cuda:0")
    y = x.cuda().cpu()
    assert y.device == mg.device("cpu") and isinstance(y.array, np.ndarray)
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    assert x.cpu() is x and x.cuda().cuda() is not None
    assert x.to(x.cuda()).device.type == "cuda"  # .to(other_tensor) takes its device and dtype
    assert x.cuda().tolist() == [[1.0, 2.0], [3.0, 4.0]] and x.cuda()[1, 0].item() == 3.0
    assert float(x.cuda().sum()) == 10.0 and x.pin_memory() is x


def test_creation_with_device(fake_gpu):
    for t in (
        mg.zeros(2, 3, device="cuda"),
        mg.ones(2, device="cuda"),
        mg.full((2,), 7.0, device="cuda"),
        mg.arange(5, device="cuda"),
        mg.eye(3, device="cuda"),
        mg.tensor([1, 2], device="cuda"),
        mg.linspace(0, 1, 5, device="cuda"),
        mg.empty(3, device="cuda"),
        mg.randint(0, 5, (3,), device="cuda"),
        mg.zeros_like(mg.ones(2, device="cuda")),
        mg.ones(2).new_zeros(3, device="cuda"),
        mg.ones(2, device="cuda").new_tensor([1.0]),
        mg.rand(2, device="cuda"),
    ):
        assert t.device == mg.device("cuda:0") and isinstance(t.array, fg.ndarray)
    assert mg.zeros(2, device="cuda:1").device == mg.device("cuda:1")
    # random tensors are drawn on the host, so one seed gives the same numbers on both devices
    mg.manual_seed(7)
    a = mg.randn(4, 3)
    mg.manual_seed(7)
    b = mg.randn(4, 3, device="cuda")
    np.testing.assert_array_equal(host(b), a.numpy())


def test_mixing_devices_is_a_clear_error(fake_gpu):
    c, g = mg.ones(3), mg.ones(3, device="cuda")
    for bad in (
        lambda: c + g,
        lambda: g * c,
        lambda: mg.matmul(g, c),
        lambda: mg.cat([c, g]),
        lambda: mg.where(g > 0, g, c),
        lambda: F.linear(g, mg.ones(2, 3)),
    ):
        with pytest.raises(RuntimeError, match=r"(?i)expected all tensors to be on the same device.*(cpu|cuda)"):
            bad()
    with pytest.raises(TypeError, match=r"can't convert cuda:0 device type tensor to numpy.*Tensor.cpu\(\)"):
        g.numpy()
    np.testing.assert_array_equal(g.numpy(force=True), np.ones(3, np.float32))
    np.testing.assert_array_equal(g.cpu().numpy(), np.ones(3, np.float32))


# ----------------------------------------------------------------------------- ops on the device
def _run(fn, arrays, device, grad):
    ins = [
        mg.tensor(a, device=device, requires_grad=grad and a.dtype.kind == "f") if isinstance(a, np.ndarray) else a
        for a in arrays
    ]
    out = fn(*ins)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    ups = []
    if grad and any(o.requires_grad for o in outs):
        rng = np.random.default_rng(1)
        diff = [o for o in outs if o.requires_grad]
        ups = [mg.tensor(rng.standard_normal(o.shape).astype(host(o).dtype), device=device) for o in diff]
        mg.autograd.backward(diff, ups)
    return ins, outs


def check_same_on_both(fn, *arrays, grad=True):
    """``fn`` on the CPU and on the fake GPU: equal bit for bit, and the GPU results stay on the GPU."""
    with kernels.use("numpy"):  # the GPU runs the plain array-module code: compare with the same code on the CPU
        cpu_in, cpu_out = _run(fn, arrays, "cpu", grad)
    gpu_in, gpu_out = _run(fn, arrays, "cuda", grad)
    for k, (c, g) in enumerate(zip(cpu_out, gpu_out)):
        assert g.device == mg.device("cuda:0"), f"output {k} left the GPU ({g.device})"
        assert g.dtype == c.dtype, f"output {k}: {g.dtype} on the GPU, {c.dtype} on the CPU"
        np.testing.assert_array_equal(host(g), host(c), err_msg=f"output {k}")
    for k, (c, g) in enumerate(zip(cpu_in, gpu_in)):
        if isinstance(c, mg.Tensor) and c.requires_grad:
            assert (g.grad is None) == (c.grad is None), f"input {k}: gradient present on one device only"
            if c.grad is not None:
                assert g.grad.device == mg.device("cuda:0"), f"gradient of input {k} is on {g.grad.device}"
                np.testing.assert_array_equal(host(g.grad), host(c.grad), err_msg=f"gradient of input {k}")


R = np.random.default_rng(0)
X = R.standard_normal((3, 4))
Y = R.standard_normal((4,)) + 3
X32 = X.astype(np.float32)
IDX = np.array([2, 0, 2])
SEQ = R.standard_normal((2, 3, 8))  # (N, C, L)
W_CONV = R.standard_normal((4, 3, 3))
TARGET = np.array([1, 3, 0])

OPS = {
    "arith": (lambda x, y: (x * y + x / y - y) ** 2 - 2.5 * x + 1, X, Y),
    "arith32": (lambda x: x.exp() * 2.5 + x.sigmoid() - x.tanh() + x.abs().sqrt(), X32),
    "unary": (lambda x: x.relu() + x.sin() + x.cos() + F.gelu(x) + F.silu(x) + F.softplus(x) + x.clamp(-0.5, 0.5), X),
    "erf_log": (lambda x: x.erf() + (x.abs() + 1).log() + (x.abs() + 0.5).rsqrt(), X),
    "compare_where": (lambda x, y: mg.where(x > y, x, y * 2) + mg.maximum(x, y) + x.masked_fill(x < 0, 0.5), X, Y),
    "reduce": (
        lambda x: (
            x.sum(),
            x.mean(0),
            x.var(1),
            x.std(),
            x.max(1)[0],
            x.amax(),
            x.logsumexp(1),
            x.prod(0),
            x.cumsum(1),
            x.norm(),
            x.argmax(1),
        ),
        X,
    ),
    "softmax": (lambda x: (x.softmax(1), x.log_softmax(0), F.softmax(x, -1)), X),
    "shape": (
        lambda x: (
            x.reshape(2, 6),
            x.permute(1, 0),
            x.T,
            x.unsqueeze(0).expand(2, 3, 4),
            x.flatten(),
            x.flip(1),
            mg.cat([x, x * 2], 1),
            mg.stack([x, x], 0),
            x.split(2, 1)[1],
            x.chunk(3, 0)[2],
            x.transpose(0, 1).contiguous(),
            x.repeat(2, 1),
            x.squeeze(),
            x[:, None].squeeze(1),
        ),
        X,
    ),
    "index": (
        lambda x: (
            x[1],
            x[:, 1:3],
            x[mg.tensor(IDX, device=x.device)],
            x[x > 0],
            x.index_select(1, mg.tensor(IDX, device=x.device)),
            x.gather(1, mg.tensor([[0], [1], [3]], device=x.device)),
            mg.zeros(3, 4, dtype=x.dtype, device=x.device).scatter_add(
                0, mg.tensor([[0, 1, 2, 0]], device=x.device), x[:1]
            ),
        ),
        X,
    ),
    "linalg": (
        lambda x, y: (
            x @ y,
            mg.matmul(x, x.T),
            mg.mm(x.T, x),
            mg.outer(y, y),
            mg.einsum("ij,j->i", x, y),
            mg.bmm(x[None], x.T[None]),
        ),
        X,
        Y,
    ),
    "linear": (lambda x, w, b: F.linear(x, w, b), X, R.standard_normal((5, 4)), R.standard_normal(5)),
    "conv_pool": (
        lambda x, w: (
            F.conv1d(x, w, padding=1),
            F.conv1d(x, w, stride=2, dilation=2),
            F.max_pool1d(x, 2),
            F.avg_pool1d(x, 3, 2, 1),
            F.adaptive_avg_pool1d(x, 3),
        ),
        SEQ,
        W_CONV,
    ),
    "norm": (
        lambda x, w, b: (F.layer_norm(x, (8,), None, None), F.group_norm(x, 3, w, b)),
        SEQ,
        R.standard_normal(3),
        R.standard_normal(3),
    ),
    "embedding": (
        lambda w: F.embedding(mg.tensor([[0, 4, 4], [2, 0, 1]], device=w.device), w, padding_idx=1),
        R.standard_normal((5, 3)),
    ),
    "losses": (
        lambda x, y: (
            F.cross_entropy(x, mg.tensor(TARGET, device=x.device)),
            F.cross_entropy(x, mg.tensor(TARGET, device=x.device), label_smoothing=0.1, reduction="sum"),
            F.nll_loss(x.log_softmax(1), mg.tensor(TARGET, device=x.device)),
            F.mse_loss(x, y.expand(3, 4)),
            F.l1_loss(x, y.expand(3, 4)),
            F.binary_cross_entropy_with_logits(x, (y.expand(3, 4) > 3).float().to(x.dtype)),
            F.binary_cross_entropy(x.sigmoid(), (y.expand(3, 4) > 3).to(x.dtype)),
            F.smooth_l1_loss(x, y.expand(3, 4)),
        ),
        X,
        Y,
    ),
    "inplace": (lambda x: x.clone().mul_(2).add_(1).clamp_(-1, 1), X),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_ops_on_the_gpu_match_the_cpu_bit_for_bit(fake_gpu, name):
    fn, *arrays = OPS[name]
    check_same_on_both(fn, *arrays)


def test_gradcheck_runs_on_the_gpu(fake_gpu):
    x = mg.tensor(X, device="cuda", requires_grad=True)
    assert mg.autograd.gradcheck(lambda t: (t.softmax(1) * t).sum(0), [x])


def test_dropout_on_the_gpu_uses_the_same_mask(fake_gpu):
    def drop(x):
        mg.manual_seed(3)
        return F.dropout(x, 0.4, training=True)

    check_same_on_both(drop, X)


# ----------------------------------------------------------------------------- nn, optim, data on the device
class Net(mg.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = mg.nn.Embedding(6, 4, padding_idx=0)
        self.conv = mg.nn.Conv1d(4, 5, 3, padding=1)
        self.norm = mg.nn.LayerNorm(5)
        self.drop = mg.nn.Dropout(0.2)
        self.head = mg.nn.Linear(5, 3)

    def forward(self, idx):
        h = self.emb(idx).permute(0, 2, 1)  # (N, C, L)
        h = F.relu(self.conv(h)).max(-1)[0]
        return self.head(self.drop(self.norm(h)))


def _train(device, opt_cls, steps=4, **opt_kw):
    mg.manual_seed(0)
    model = Net().to(device)
    for p in model.parameters():
        assert p.device == mg.device(device) and isinstance(p, mg.nn.Parameter)
    opt = opt_cls(model.parameters(), **opt_kw)
    r = np.random.default_rng(5)
    data = mg.utils.data.TensorDataset(mg.tensor(r.integers(0, 6, (12, 7))), mg.tensor(r.integers(0, 3, 12)))
    loader = mg.utils.data.DataLoader(data, batch_size=4, shuffle=True, pin_memory=True)
    losses = []
    mg.manual_seed(1)
    for _ in range(steps):
        for idx, y in loader:
            idx, y = idx.to(device), y.to(device)
            opt.zero_grad()
            loss = F.cross_entropy(model(idx), y)
            loss.backward()
            opt.step()
            assert loss.device == mg.device(device)
            losses.append(loss.item())
    for p in model.parameters():
        assert p.device == mg.device(device) and p.grad.device == mg.device(device)
    for st in opt.state.values():
        for k, v in st.items():
            if isinstance(v, mg.Tensor) and k != "step":  # torch keeps the step count on the CPU too
                assert v.device == mg.device(device), "optimizer state left the device"
    return model, losses


@pytest.mark.parametrize(
    "opt_cls, kw",
    [
        (mg.optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=1e-3, nesterov=True)),
        (mg.optim.Adam, dict(lr=1e-2, amsgrad=True)),
        (mg.optim.AdamW, dict(lr=1e-2, weight_decay=0.1)),
        (mg.optim.RMSprop, dict(lr=1e-3, momentum=0.5)),
    ],
)
def test_training_loop_on_the_gpu_matches_the_cpu(fake_gpu, opt_cls, kw):
    # the GPU path is the plain array-module code (no numba) and im2col convolutions: the same on the CPU
    with kernels.use("numpy"), mg.backends.conv.use("im2col"):
        cpu_model, cpu_losses = _train("cpu", opt_cls, **kw)
    gpu_model, gpu_losses = _train("cuda", opt_cls, **kw)
    # Adam's CPU update is minigrad.compute.fast.kernels' fused one-pass formula (even its NumPy twin); the GPU runs the
    # array-module code in optim/adam.py: same maths, float32 roundings in another order
    rtol = 1e-5 if opt_cls in (mg.optim.Adam, mg.optim.AdamW) else 0
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=rtol, atol=0)
    for (name, c), (_, g) in zip(cpu_model.state_dict().items(), gpu_model.state_dict().items()):
        np.testing.assert_allclose(host(g), host(c), rtol=rtol, atol=1e-7 if rtol else 0, err_msg=name)


def test_module_to_and_state_dict_across_devices(fake_gpu):
    mg.manual_seed(0)
    model = mg.nn.Sequential(mg.nn.Linear(3, 4), mg.nn.ReLU(), mg.nn.Linear(4, 2))
    assert model.to("cuda") is model
    assert all(p.is_cuda for p in model.parameters())
    sd = model.state_dict()
    assert all(v.is_cuda for v in sd.values())
    cpu_model = mg.nn.Sequential(mg.nn.Linear(3, 4), mg.nn.ReLU(), mg.nn.Linear(4, 2))
    cpu_model.load_state_dict(sd)  # torch copies values across devices into the existing parameters
    assert all(not p.is_cuda for p in cpu_model.parameters())
    x = mg.randn(5, 3)
    np.testing.assert_array_equal(host(model(x.cuda())), host(cpu_model(x)))
    model.cpu()
    assert not any(p.is_cuda for p in model.parameters())
    bn = mg.nn.BatchNorm1d(3).cuda()
    assert all(b.is_cuda for b in bn.buffers())


def test_clip_grad_norm_on_the_gpu(fake_gpu):
    if not hasattr(mg.nn.utils, "clip_grad_norm_"):
        pytest.skip("clip_grad_norm_ not available")
    for device in ("cpu", "cuda"):
        p = mg.nn.Parameter(mg.tensor(X, device=device))
        p.grad = mg.tensor(X * 10, device=device)
        total = mg.nn.utils.clip_grad_norm_([p], 1.0)
        assert p.grad.device == mg.device(device)
        if device == "cpu":
            ref, ref_total = host(p.grad), float(total)
    np.testing.assert_array_equal(host(p.grad), ref)
    assert float(total) == ref_total


def test_importing_minigrad_does_not_import_cupy():
    code = "import sys, minigrad; assert 'cupy' not in sys.modules; print(minigrad.cuda.is_available())"
    env = {k: v for k, v in os.environ.items() if k != "MINIGRAD_FAKE_GPU"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(pathlib.Path(__file__).resolve().parents[1]),
    )
    assert out.returncode == 0, out.stderr


def test_save_load_and_deepcopy_on_the_gpu(fake_gpu, tmp_path):
    mg.manual_seed(0)
    m = mg.nn.Linear(3, 2).cuda()
    mg.save(m.state_dict(), tmp_path / "m.pt")
    sd = mg.load(tmp_path / "m.pt")
    assert all(v.is_cuda for v in sd.values())
    sd_cpu = mg.load(tmp_path / "m.pt", map_location="cpu")
    assert not any(v.is_cuda for v in sd_cpu.values())
    for k in sd:
        np.testing.assert_array_equal(host(sd[k]), sd_cpu[k].numpy())
        np.testing.assert_array_equal(host(sd[k]), host(m.state_dict()[k]))
    c = copy.deepcopy(m)
    assert c.weight.is_cuda and c.weight.array is not m.weight.array


MIXED = {
    "cross_entropy": lambda g, c, t: F.cross_entropy(g, t),
    "nll_loss": lambda g, c, t: F.nll_loss(g, t),
    "mse_loss": lambda g, c, t: F.mse_loss(g, c),
    "bce_logits": lambda g, c, t: F.binary_cross_entropy_with_logits(g, c),
    "gather": lambda g, c, t: g.gather(1, t[:, None]),
    "index_select": lambda g, c, t: g.index_select(0, t),
    "masked_fill": lambda g, c, t: g.masked_fill(c > 0, 1.0),
    "stack": lambda g, c, t: mg.stack([g, c]),
    "maximum": lambda g, c, t: mg.maximum(g, c),
    "lerp": lambda g, c, t: mg.lerp(g, c, 0.5),
    "layer_norm": lambda g, c, t: F.layer_norm(g, (4,), mg.ones(4), None),
    "einsum": lambda g, c, t: mg.einsum("ij,ij->i", g, c),
    "dot": lambda g, c, t: mg.dot(g[0], c[0]),
    "clamp": lambda g, c, t: g.clamp(min=c),
    "eq": lambda g, c, t: g == c,
    "pow": lambda g, c, t: g**c,
    "setitem": lambda g, c, t: g.detach().__setitem__(0, c[0]),
    "conv1d": lambda g, c, t: F.conv1d(g[None], mg.ones(2, 3, 2)),
}


@pytest.mark.parametrize("name", sorted(MIXED))
def test_mixing_devices_names_both_devices(fake_gpu, name):
    g, c, t = mg.randn(3, 4, device="cuda", requires_grad=True), mg.randn(3, 4), mg.tensor([0, 1, 2])
    with pytest.raises(RuntimeError, match=r"cuda:0.*cpu|cpu.*cuda:0"):
        MIXED[name](g, c, t)


def test_what_torch_allows_across_devices(fake_gpu):
    g, c = mg.randn(3, 4, device="cuda"), mg.randn(3, 4)
    idx = mg.tensor([2, 0])
    np.testing.assert_array_equal(host(g[idx]), host(g)[[2, 0]])  # a CPU index tensor may index a GPU tensor
    assert g[idx].is_cuda
    g.copy_(c)  # copy_ moves the values across devices
    assert g.is_cuda
    np.testing.assert_array_equal(host(g), c.numpy())


def test_a_0d_cpu_tensor_joins_a_gpu_op_like_a_number(fake_gpu):
    g = mg.tensor([1.0, 2.0, 3.0], device="cuda", requires_grad=True)
    s = mg.tensor(2.0, requires_grad=True)
    y = g * s + s - g / mg.tensor(4.0)
    assert y.is_cuda
    np.testing.assert_array_equal(host(y), [3.75, 5.5, 7.25])
    y.backward(mg.ones(3, device="cuda"))
    assert s.grad.device == mg.device("cpu") and g.grad.is_cuda  # each gradient on its own tensor's device
    assert s.grad.item() == 9.0
    with pytest.raises(RuntimeError, match="cuda:0 and cpu"):
        mg.tensor(2.0, device="cuda") + mg.ones(3)  # only a CPU 0-d tensor is let in, as in torch
    with pytest.raises(RuntimeError, match="add_: expected all tensors to be on the same device"):
        g.detach().add_(mg.ones(3))  # equal shapes too
