"""Real-GPU tests: minigrad on CUDA through CuPy, against torch (on CUDA when torch has it, else on the CPU).

Marked ``gpu`` and skipped unless CuPy sees an NVIDIA device (the fake stand-in does not count:
its own tests are tests/test_fakegpu.py and tests/test_device.py). Run with ``pytest -m gpu tests/gpu``.
Tolerances are those of tests/opcheck.py: a GPU sums in another order than the CPU, so results agree
to rounding, not bit for bit.
"""

import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad import backend
from tests.opcheck import TOL


def _real_gpu() -> bool:
    gpu = backend.gpu_module()
    return gpu is not None and not getattr(gpu, "is_fake", False)


pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not _real_gpu(), reason="needs an NVIDIA GPU with CuPy")]

TDEV = "cuda" if torch.cuda.is_available() else "cpu"


def _flat(out):
    return [o for x in out for o in _flat(x)] if isinstance(out, (tuple, list)) else [out]


def _np(t):
    return t.detach().cpu().numpy()


def compare_cuda(fn, *arrays, rtol=None, atol=None):
    """``fn(lib, *tensors)`` with minigrad on 'cuda' and torch on TDEV: forward values, then the gradients of the
    same random upstream gradient; every minigrad output and gradient must be a CuPy array on the GPU."""
    gpu = backend.gpu_module()
    fdt = next((a.dtype.type for a in arrays if a.dtype.kind == "f"), np.float64)
    r0, a0 = TOL.get(fdt, (1e-10, 1e-12))
    rtol, atol = rtol or r0 * 10, atol or a0 * 10
    t_in = [torch.tensor(a, device=TDEV, requires_grad=a.dtype.kind == "f") for a in arrays]
    m_in = [mg.tensor(a, device="cuda", requires_grad=a.dtype.kind == "f") for a in arrays]
    t_out, m_out = _flat(fn(torch, *t_in)), _flat(fn(mg, *m_in))
    for k, (t, m) in enumerate(zip(t_out, m_out)):
        assert m.is_cuda and isinstance(m.array, gpu.ndarray), f"output {k} is not on the GPU"
        np.testing.assert_allclose(_np(m), _np(t), rtol=rtol, atol=atol, err_msg=f"output {k}")
    rng = np.random.default_rng(0)
    pairs = [(t, m) for t, m in zip(t_out, m_out) if t.requires_grad]
    if pairs:
        ups = [rng.standard_normal(tuple(t.shape)).astype(_np(t).dtype) for t, _ in pairs]
        torch.autograd.backward([t for t, _ in pairs], [torch.tensor(u, device=TDEV) for u in ups])
        mg.autograd.backward([m for _, m in pairs], [mg.tensor(u, device="cuda") for u in ups])
        for i, (t, m) in enumerate(zip(t_in, m_in)):
            if t.grad is not None:
                assert m.grad is not None and m.grad.is_cuda, f"input {i}: no gradient on the GPU"
                np.testing.assert_allclose(_np(m.grad), _np(t.grad), rtol=rtol, atol=atol, err_msg=f"grad {i}")


R = np.random.default_rng(0)
X, Y = R.standard_normal((3, 4)), R.standard_normal(4) + 3
SEQ, W = R.standard_normal((2, 3, 9)), R.standard_normal((4, 3, 3))

OPS = {
    "arith": (lambda lib, x, y: (x * y + x / y - y) ** 2 - 2.5 * x, X, Y),
    "unary": (lambda lib, x: x.exp() + x.tanh() + x.sigmoid() + x.relu() + x.abs().sqrt() + x.erf(), X),
    "reduce": (
        lambda lib, x: (
            x.sum(),
            x.mean(0),
            x.var(1),
            x.max(1)[0],
            x.logsumexp(1),
            x.softmax(1),
            x.log_softmax(0),
            x.cumsum(1),
            x.norm(),
        ),
        X,
    ),
    "shape_index": (
        lambda lib, x: (
            x.permute(1, 0).reshape(2, 6),
            lib.cat([x, x], 1),
            x[:, 1:3],
            x[lib.tensor([2, 0, 2], device=x.device)],
            x[x > 0],
        ),
        X,
    ),
    "linalg": (lambda lib, x, y: (x @ y, lib.matmul(x, x.T), lib.einsum("ij,j->i", x, y)), X, Y),
    "conv_pool": (
        lambda lib, x, w: (
            lib.nn.functional.conv1d(x, w, padding=1),
            lib.nn.functional.max_pool1d(x, 2),
            lib.nn.functional.avg_pool1d(x, 3, 2, 1),
            lib.nn.functional.layer_norm(x, (9,)),
        ),
        SEQ,
        W,
    ),
    "embedding": (
        lambda lib, w: lib.nn.functional.embedding(lib.tensor([[0, 4, 4], [2, 0, 4]], device=w.device), w),
        R.standard_normal((5, 3)),
    ),
    "losses": (
        lambda lib, x: (
            lib.nn.functional.cross_entropy(x, lib.tensor([1, 3, 0], device=x.device)),
            lib.nn.functional.mse_loss(x, x.detach() * 0.5),
            lib.nn.functional.binary_cross_entropy_with_logits(x, (x.detach() > 0).to(x.dtype)),
        ),
        X,
    ),
}


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_ops_on_cuda_match_torch(name, dtype):
    fn, *arrays = OPS[name]
    compare_cuda(fn, *[a.astype(dtype) for a in arrays])


def test_device_queries_and_errors():
    assert mg.cuda.is_available() and mg.cuda.device_count() >= 1
    assert isinstance(mg.cuda.get_device_name(), str)
    x = mg.randn(3, device="cuda")
    mg.cuda.synchronize()
    with pytest.raises(TypeError, match=r"Tensor.cpu\(\)"):
        x.numpy()
    with pytest.raises(RuntimeError, match="same device"):
        x + mg.randn(3)
    mg.manual_seed(3)
    a = mg.randn(5)
    mg.manual_seed(3)
    np.testing.assert_array_equal(mg.randn(5, device="cuda").cpu().numpy(), a.numpy())
    mg.cuda.empty_cache()


@pytest.mark.parametrize("opt", ["SGD", "Adam", "AdamW"])
def test_optimizer_steps_on_cuda_match_torch(opt):
    r = np.random.default_rng(1)
    p0 = r.standard_normal((4, 3)).astype(np.float32)
    grads = [r.standard_normal((4, 3)).astype(np.float32) for _ in range(5)]
    kw = dict(lr=0.1, momentum=0.9, nesterov=True) if opt == "SGD" else dict(lr=1e-2, weight_decay=0.01)
    tp = torch.nn.Parameter(torch.tensor(p0, device=TDEV))
    mp = mg.nn.Parameter(mg.tensor(p0, device="cuda"))
    topt, mopt = getattr(torch.optim, opt)([tp], **kw), getattr(mg.optim, opt)([mp], **kw)
    for g in grads:
        tp.grad, mp.grad = torch.tensor(g, device=TDEV), mg.tensor(g, device="cuda")
        topt.step()
        mopt.step()
    assert mp.is_cuda
    np.testing.assert_allclose(_np(mp), _np(tp), rtol=1e-5, atol=1e-6)


def test_training_on_cuda_matches_the_cpu():
    def run(device):
        mg.manual_seed(0)
        model = mg.nn.Sequential(mg.nn.Linear(6, 16), mg.nn.ReLU(), mg.nn.Linear(16, 3)).to(device)
        opt = mg.optim.Adam(model.parameters(), lr=1e-2)
        r = np.random.default_rng(0)
        x = mg.tensor(r.standard_normal((32, 6)).astype(np.float32), device=device)
        y = mg.tensor(r.integers(0, 3, 32), device=device)
        losses = []
        for _ in range(20):
            opt.zero_grad()
            loss = mg.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    np.testing.assert_allclose(run("cuda"), run("cpu"), rtol=1e-4)


def test_autocast_and_grad_scaler_on_cuda():
    mg.manual_seed(0)
    lin = mg.nn.Linear(8, 4).cuda()
    x = mg.randn(16, 8, device="cuda")
    y = mg.randint(0, 4, (16,), device="cuda")
    scaler = mg.amp.GradScaler()
    opt = mg.optim.SGD(lin.parameters(), lr=0.1)
    with mg.autocast("cuda"):
        out = lin(x)
        loss = mg.nn.functional.cross_entropy(out, y)
    assert out.dtype == mg.float16 and loss.dtype == mg.float32
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    assert lin.weight.grad.dtype == mg.float32 and lin.weight.grad.is_cuda and scaler.get_scale() == 2.0**16
    if TDEV == "cuda":
        tl = torch.nn.Linear(8, 4).cuda()
        with torch.no_grad():
            tl.weight.copy_(torch.tensor(lin.weight.detach().cpu().numpy()))
            tl.bias.copy_(torch.tensor(lin.bias.detach().cpu().numpy()))
        with torch.autocast("cuda", dtype=torch.float16):
            tout = tl(torch.tensor(x.cpu().numpy(), device="cuda"))
        with mg.autocast("cuda"):
            mout = lin(x)
        np.testing.assert_allclose(_np(mout).astype(np.float32), _np(tout).astype(np.float32), rtol=2e-3, atol=2e-3)
