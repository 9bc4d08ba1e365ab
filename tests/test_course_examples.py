"""The course note's kinds of code, written afresh, run twice: with torch and with minigrad in its place.

Each scenario is one function of ``lib`` (the torch module or the minigrad module) that uses only
torch's public API and returns plain numbers and arrays; the test runs it on both libraries and
compares. Random inputs come from NumPy; where a scenario builds a model, its weights are copied
from a torch twin so that both start from the same point.
"""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
import torch

import minigrad

LIBS = {"torch": torch, "minigrad": minigrad}


def _np(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def _same(a, b, rtol=1e-5, atol=1e-6, path="result"):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _same(a[k], b[k], rtol, atol, f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, rtol, atol, f"{path}[{i}]")
    elif isinstance(a, (str, bool)) or a is None:
        assert a == b, f"{path}: {a!r} != {b!r}"
    else:
        np.testing.assert_allclose(
            np.asarray(b, dtype=float), np.asarray(a, dtype=float), rtol=rtol, atol=atol, err_msg=path
        )


def run_both(scenario, **kw):
    ref = scenario(torch, **kw)
    got = scenario(minigrad, **kw)
    _same(ref, got)
    return got


def copy_weights(src_model, dst_model):
    """torch -> minigrad (or back) through NumPy, by state_dict key."""
    sd = {k: v.detach().cpu().numpy().copy() for k, v in src_model.state_dict().items()}
    lib = minigrad if isinstance(dst_model, minigrad.nn.Module) else torch
    dst_model.load_state_dict({k: lib.from_numpy(v) for k, v in sd.items()})


# --------------------------------------------------------------------------- tensors
def tensors_scenario(lib):
    rng = np.random.default_rng(0)
    hydro = lib.tensor([1.8, -4.5, 2.5])
    grid = lib.from_numpy(np.array([[0.5, 1.5], [2.5, 3.5]]))
    a = lib.tensor(rng.standard_normal((3, 4)).astype(np.float32))
    b = lib.tensor(rng.standard_normal((3, 4)).astype(np.float32))
    row = lib.tensor(rng.standard_normal(4).astype(np.float32))
    values, indices = a.max(dim=1)
    cube = lib.tensor(rng.standard_normal((2, 3, 4)).astype(np.float32))
    return {
        "shapes": [tuple(lib.zeros(3, 4).shape), tuple(lib.ones(2, 5).shape), tuple(lib.randn(3, 4).shape)],
        "dtypes": [
            str(hydro.dtype).split(".")[-1],
            str(grid.dtype).split(".")[-1],
            str(lib.randn(2).dtype).split(".")[-1],
        ],
        "device": str(a.device),
        "elementwise": [_np(a + b), _np(a * b), _np(a**2), _np(a + row)],
        "matmul": [_np(a @ b.T), _np(lib.matmul(a, b.T))],
        "reductions": [a.sum().item(), _np(a.sum(dim=0)), _np(a.mean(dim=-1)), _np(values), _np(indices)],
        "reshapes": [
            tuple(cube.view(6, 4).shape),
            tuple(cube.reshape(2, 12).shape),
            tuple(cube.transpose(0, 1).shape),
            tuple(cube.permute(2, 0, 1).shape),
            tuple(cube.unsqueeze(0).shape),
            tuple(cube.unsqueeze(0).squeeze().shape),
            _np(cube.permute(2, 0, 1)),
        ],
    }


def test_tensors():
    run_both(tensors_scenario)


def device_scenario(lib):
    device = lib.device("cuda" if lib.cuda.is_available() else "cpu")
    x = lib.tensor(np.random.default_rng(1).standard_normal((50, 50)).astype(np.float32))
    on_device = x.to(device)
    gram = on_device @ on_device.T
    # the device chosen may differ between the libraries (a GPU stand-in in the tests): compare what it computed
    return {"gram": _np(gram.cpu()), "on_chosen_device": str(gram.device) == str(on_device.device) == str(device)}


def test_device_selection():
    run_both(device_scenario)


# --------------------------------------------------------------------------- autograd
def autograd_scenario(lib):
    x = lib.tensor([2.0, 3.0], requires_grad=True)
    y = x**2 + 3 * x
    y.sum().backward()
    rng = np.random.default_rng(2)
    feats = lib.tensor(rng.standard_normal((100, 10)).astype(np.float32))
    target = lib.tensor(rng.standard_normal((100, 1)).astype(np.float32))
    w = lib.tensor(rng.standard_normal((10, 1)).astype(np.float32), requires_grad=True)
    b = lib.zeros(1, requires_grad=True)
    loss = ((feats @ w + b - target) ** 2).mean()
    loss.backward()
    with lib.no_grad():
        frozen = feats @ w

    @lib.no_grad()
    def predict(inp):
        return inp @ w

    return {
        "x.grad": _np(x.grad),
        "loss": loss.item(),
        "w.grad": _np(w.grad),
        "b.grad": _np(b.grad),
        "shapes": [tuple(w.grad.shape), tuple(b.grad.shape)],
        "no_grad": [frozen.requires_grad, predict(feats).requires_grad],
    }


def test_autograd():
    got = run_both(autograd_scenario)
    assert got["x.grad"].tolist() == [7.0, 9.0]


# --------------------------------------------------------------------------- nn.Module
def make_mlp_class(lib):
    nn = lib.nn

    class TwoLayer(nn.Module):
        def __init__(self, n_in, n_hidden, n_out):
            super().__init__()
            self.inp = nn.Linear(n_in, n_hidden)
            self.act = nn.ReLU()
            self.out = nn.Linear(n_hidden, n_out)

        def forward(self, x):
            return self.out(self.act(self.inp(x)))

    return TwoLayer


def test_module_and_layers():
    models = {name: make_mlp_class(lib)(20, 64, 2) for name, lib in LIBS.items()}
    copy_weights(models["torch"], models["minigrad"])
    x = np.random.default_rng(3).standard_normal((32, 20)).astype(np.float32)
    outs = {name: models[name](lib.tensor(x)) for name, lib in LIBS.items()}
    _same(_np(outs["torch"]), _np(outs["minigrad"]))
    assert tuple(outs["minigrad"].shape) == (32, 2)
    names = {
        name: [(n, tuple(p.shape), p.requires_grad) for n, p in m.named_parameters()] for name, m in models.items()
    }
    assert names["torch"] == names["minigrad"]
    counts = {name: sum(p.numel() for p in m.parameters() if p.requires_grad) for name, m in models.items()}
    assert counts["torch"] == counts["minigrad"] == 20 * 64 + 64 + 64 * 2 + 2


def layer_zoo_scenario(lib, x, tokens):
    nn = lib.nn
    lib.manual_seed(0)
    layers = [
        nn.Linear(in_features=20, out_features=64),
        nn.ReLU(),
        nn.GELU(),
        nn.Sigmoid(),
        nn.Softmax(dim=-1),
        nn.LayerNorm(normalized_shape=64),
        nn.BatchNorm1d(num_features=64),
        nn.Dropout(p=0.1),
    ]
    emb = nn.Embedding(num_embeddings=21, embedding_dim=64)
    h = lib.tensor(x)
    shapes = []
    for layer in layers:
        layer.eval()
        h = layer(h)
        shapes.append(tuple(h.shape))
    shapes.append(tuple(emb(lib.tensor(tokens)).shape))
    return shapes


def test_layer_types_build_and_apply():
    x = np.random.default_rng(4).standard_normal((8, 20)).astype(np.float32)
    tokens = np.array([[1, 2, 0], [20, 3, 0]])
    run_both(layer_zoo_scenario, x=x, tokens=tokens)


def make_sequential(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Linear(20, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 2)
    )


def test_sequential_state_dict_save_and_load(tmp_path):
    models = {name: make_sequential(lib) for name, lib in LIBS.items()}
    copy_weights(models["torch"], models["minigrad"])
    assert list(models["torch"].state_dict()) == list(models["minigrad"].state_dict())
    path = tmp_path / "weights.mg"
    minigrad.save(models["minigrad"].state_dict(), path)
    fresh = make_sequential(minigrad)
    fresh.load_state_dict(minigrad.load(path))
    x = np.random.default_rng(5).standard_normal((4, 20)).astype(np.float32)
    for m in (models["minigrad"], fresh, models["torch"]):
        m.eval()
    ref = _np(models["torch"](torch.tensor(x)))
    _same(ref, _np(fresh(minigrad.tensor(x))))
    _same(ref, _np(models["minigrad"](minigrad.tensor(x))))


# --------------------------------------------------------------------------- losses and optimisers
def losses_scenario(lib, logits, targets, reg_pred, reg_true):
    nn = lib.nn
    return [
        nn.MSELoss()(lib.tensor(reg_pred), lib.tensor(reg_true)).item(),
        nn.BCEWithLogitsLoss()(lib.tensor(logits[:, 0]), lib.tensor((targets == 1).astype(np.float32))).item(),
        nn.CrossEntropyLoss()(lib.tensor(logits), lib.tensor(targets)).item(),
    ]


def test_losses():
    rng = np.random.default_rng(6)
    run_both(
        losses_scenario,
        logits=rng.standard_normal((16, 3)).astype(np.float32),
        targets=rng.integers(0, 3, 16),
        reg_pred=rng.standard_normal(16).astype(np.float32),
        reg_true=rng.standard_normal(16).astype(np.float32),
    )


def _toy_data(n=96, d=20, seed=7):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
    return x, y


def train_eval_scenario(lib, state, opt_name, tmp):
    """A train-one-epoch / evaluate pair and a full fit with ReduceLROnPlateau and early stopping."""
    nn = lib.nn
    data = lib.utils.data
    x, y = _toy_data()
    train = data.DataLoader(data.TensorDataset(lib.tensor(x[:64]), lib.tensor(y[:64])), batch_size=16)
    val = data.DataLoader(data.TensorDataset(lib.tensor(x[64:]), lib.tensor(y[64:])), batch_size=32, shuffle=False)
    model = make_mlp_class(lib)(20, 16, 2)
    model.load_state_dict({k: lib.from_numpy(v.copy()) for k, v in state.items()})
    device = lib.device("cpu")
    model = model.to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = {
        "sgd": lambda p: lib.optim.SGD(p, lr=0.05, momentum=0.9),
        "adam": lambda p: lib.optim.Adam(p, lr=1e-2),
        "adamw": lambda p: lib.optim.AdamW(p, lr=1e-2, weight_decay=0.01),
    }[opt_name](model.parameters())
    scheduler = lib.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", patience=1, factor=0.5)

    def train_one_epoch():
        model.train()
        total = 0.0
        for bx, by in train:
            bx, by = bx.to(device), by.to(device)
            loss = criterion(model(bx), by)
            optimizer.zero_grad()
            loss.backward()
            lib.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            total += loss.item()
        return total / len(train)

    @lib.no_grad()
    def evaluate():
        model.eval()
        total, preds, labels = 0.0, [], []
        for bx, by in val:
            out = model(bx.to(device))
            total += criterion(out, by.to(device)).item()
            preds.append(out.cpu())
            labels.append(by.cpu())
        return total / len(val), lib.cat(preds), lib.cat(labels)

    history, best, waited = [], float("inf"), 0
    best_path = f"{tmp}/best-{lib.__name__}.pt"
    for _epoch in range(6):
        tr = train_one_epoch()
        vl, preds, labels = evaluate()
        scheduler.step(vl)
        history.append((tr, vl, optimizer.param_groups[0]["lr"]))
        if vl < best:
            best, waited = vl, 0
            lib.save(model.state_dict(), best_path)
        else:
            waited += 1
            if waited >= 3:
                break
    model.load_state_dict(lib.load(best_path))
    _, preds, labels = evaluate()
    return {"history": history, "preds": _np(preds), "labels": _np(labels)}


@pytest.mark.parametrize("opt_name", ["sgd", "adam", "adamw"])
def test_training_loop_with_scheduler_and_early_stopping(opt_name, tmp_path):
    ref_model = make_mlp_class(torch)(20, 16, 2)
    state = {k: v.detach().numpy().copy() for k, v in ref_model.state_dict().items()}
    ref = train_eval_scenario(torch, state, opt_name, tmp_path)
    got = train_eval_scenario(minigrad, state, opt_name, tmp_path)
    _same(ref, got, rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------- data loading
AMINO = "ACDEFGHIKLMNPQRSTVWY"


def make_protein_dataset(lib, fixed_len=None):
    class Proteins(lib.utils.data.Dataset):
        def __init__(self, seqs, labels):
            self.seqs, self.labels = seqs, labels
            self.index = {aa: i + 1 for i, aa in enumerate(AMINO)}

        def __len__(self):
            return len(self.seqs)

        def __getitem__(self, i):
            seq = self.seqs[i][:fixed_len] if fixed_len else self.seqs[i]
            n = fixed_len or len(seq)
            codes = lib.zeros(n, dtype=lib.long)
            for j, aa in enumerate(seq):
                codes[j] = self.index.get(aa, 0)
            mask = lib.zeros(n, dtype=lib.float)
            mask[: len(seq)] = 1.0
            return {"sequence": codes, "mask": mask, "label": lib.tensor(self.labels[i], dtype=lib.long)}

    return Proteins


def _proteins(n=10, seed=8):
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list(AMINO), rng.integers(5, 15))) for _ in range(n)]
    return seqs, rng.integers(0, 2, n).tolist()


def data_scenario(lib):
    seqs, labels = _proteins()
    fixed = lib.utils.data.DataLoader(make_protein_dataset(lib, fixed_len=12)(seqs, labels), batch_size=4)
    first = next(iter(fixed))

    def pad_batch(items):
        longest = max(len(it["sequence"]) for it in items)
        seq = lib.zeros(len(items), longest, dtype=lib.long)
        mask = lib.zeros(len(items), longest)
        lab = lib.zeros(len(items), dtype=lib.long)
        for i, it in enumerate(items):
            n = len(it["sequence"])
            seq[i, :n] = it["sequence"]
            mask[i, :n] = 1.0
            lab[i] = it["label"]
        return {"sequence": seq, "mask": mask, "label": lab}

    dyn = lib.utils.data.DataLoader(make_protein_dataset(lib)(seqs, labels), batch_size=4, collate_fn=pad_batch)
    batches = [{k: _np(v) for k, v in b.items()} for b in dyn]
    return {"fixed": {k: _np(v) for k, v in first.items()}, "n_batches": len(fixed), "dynamic": batches}


def test_dataset_dataloader_and_dynamic_padding():
    got = run_both(data_scenario)
    assert got["dynamic"][0]["sequence"].shape[1] == max(len(s) for s in _proteins()[0][:4])


def test_shuffled_loader_accepts_workers_and_pin_memory():
    seqs, labels = _proteins(n=12)
    ds = make_protein_dataset(minigrad, fixed_len=16)(seqs, labels)
    loader = minigrad.utils.data.DataLoader(ds, batch_size=4, shuffle=True, num_workers=2, pin_memory=True)
    minigrad.manual_seed(3)
    first = [b["label"].tolist() for b in loader]
    minigrad.manual_seed(3)
    assert [b["label"].tolist() for b in loader] == first
    assert sorted(sum(first, [])) == sorted(labels)


# --------------------------------------------------------------------------- the solubility CNN
def make_cnn(lib):
    nn, F = lib.nn, lib.nn.functional

    class SolubilityCNN(nn.Module):
        def __init__(self, vocab=21, emb=64, hidden=128, classes=2):
            super().__init__()
            self.embedding = nn.Embedding(vocab, emb, padding_idx=0)
            self.conv1 = nn.Conv1d(emb, hidden, kernel_size=5, padding=2)
            self.conv2 = nn.Conv1d(hidden, hidden, kernel_size=5, padding=2)
            self.fc = nn.Linear(hidden, classes)
            self.dropout = nn.Dropout(0.3)

        def forward(self, tokens, mask=None):
            h = self.embedding(tokens).transpose(1, 2)
            h = self.dropout(F.relu(self.conv1(h)))
            h = F.relu(self.conv2(h))
            if mask is None:
                pooled = h.mean(dim=2)
            else:
                m = mask.unsqueeze(1)
                pooled = (h * m).sum(dim=2) / m.sum(dim=2).clamp(min=1)
            return self.fc(pooled)

    return SolubilityCNN()


def test_solubility_cnn_forward_backward_agree():
    nets = {name: make_cnn(lib) for name, lib in LIBS.items()}
    copy_weights(nets["torch"], nets["minigrad"])
    rng = np.random.default_rng(9)
    tokens = rng.integers(1, 21, (4, 30))
    tokens[2, 20:] = 0
    mask = (tokens != 0).astype(np.float32)
    labels = rng.integers(0, 2, 4)
    results = {}
    for name, lib in LIBS.items():
        net = nets[name]
        net.eval()  # dropout off: masks would differ between libraries
        logits = net(lib.tensor(tokens), lib.tensor(mask))
        loss = lib.nn.CrossEntropyLoss()(logits, lib.tensor(labels))
        loss.backward()
        results[name] = {
            "logits": _np(logits),
            "loss": loss.item(),
            "grads": {n: _np(p.grad) for n, p in net.named_parameters()},
        }
        results[name]["n_params"] = sum(p.numel() for p in net.parameters())
    _same(results["torch"], results["minigrad"], rtol=1e-4, atol=1e-6)
    assert not np.any(results["minigrad"]["grads"]["embedding.weight"][0])  # padding row gets no gradient


# --------------------------------------------------------------------------- best practice
def test_seeding_and_debugging_helpers():
    for lib in LIBS.values():
        random.seed(42)
        np.random.seed(42)
        lib.manual_seed(42)
        lib.cuda.manual_seed_all(42)
        lib.backends.cudnn.deterministic = True
        lib.backends.cudnn.benchmark = False
    model = make_mlp_class(minigrad)(20, 8, 2)
    x = minigrad.randn(5, 20)
    minigrad.nn.CrossEntropyLoss()(model(x), minigrad.tensor([0, 1, 0, 1, 1])).backward()
    flagged = [n for n, p in model.named_parameters() if p.grad is not None and minigrad.isnan(p.grad).any()]
    assert flagged == []
    with minigrad.no_grad():
        out = model(x)
    text = f"[{out.min():.3f}, {out.max():.3f}]"
    assert text == f"[{out.min().item():.3f}, {out.max().item():.3f}]"


def test_overfitting_one_batch():
    minigrad.manual_seed(0)
    model = make_mlp_class(minigrad)(20, 32, 2)
    x, y = _toy_data(n=16)
    bx, by = minigrad.tensor(x), minigrad.tensor(y)
    opt = minigrad.optim.Adam(model.parameters(), lr=1e-2)
    crit = minigrad.nn.CrossEntropyLoss()
    for _ in range(150):
        loss = crit(model(bx), by)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.02


def test_mixed_precision_api_is_accepted_on_cpu():
    model = make_mlp_class(minigrad)(20, 8, 2)
    opt = minigrad.optim.SGD(model.parameters(), lr=0.1)
    x, y = _toy_data(n=8)
    before = [p.detach().clone() for p in model.parameters()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from minigrad.cuda.amp import GradScaler, autocast

        scaler = GradScaler()
        with autocast():
            loss = minigrad.nn.CrossEntropyLoss()(model(minigrad.tensor(x)), minigrad.tensor(y))
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    assert any(bool((p != q).any()) for p, q in zip(model.parameters(), before))
