"""Lockstep twin training: torch and minigrad take the same steps and are compared after every one.

Both models start from identical weights (torch initialises, :func:`parity.transfer.copy_weights`
copies into minigrad), see identical batches (one length-bucketed batch order, padded once in NumPy)
and identical dropout (one keep-mask per step, drawn in NumPy and fed to both). Each step compares six
kinds of quantity: the loss, the logits, the inputs of the two ReLUs, the gradients, the parameters
after the Adam step and Adam's state after it (step count, exp_avg, exp_avg_sq). Each compared tensor
gives ``rel = ||minigrad - torch|| / ||torch||`` (Euclidean norms); gradients, parameters and Adam's
state are compared per layer, weight and bias as one vector, because a bias gradient alone is a sum
that can cancel to almost nothing (fc.bias is ``+-sum(p - y)`` over the batch: measured up to 5e-4
apart on its own, while the fc layer as a whole never exceeded 3.4e-6). The rule is one line: every
``rel`` within its kind's bound in :data:`TOLERANCES`, at every step. ``make run`` prints, per kind,
the largest ``rel`` and the bound.

float64 runs in *pure lockstep*: each library keeps its own weights for all 200 steps, and everything
agrees to ``1e-9`` (measured in ``make run``, Winograd forced: at most 2.2e-14).

float32 runs by *teacher forcing*. Before every step torch takes minigrad's weights and Adam state,
so both libraries take that step from the same float32 numbers and nothing from earlier steps is
inside the comparison. One discrete decision remains: a ReLU input within rounding of zero (float32
rounding is ~6e-8 relative; minigrad's Winograd convolutions, its float32 default, have ~2x im2col's
error on the ReLU inputs here, 1.1e-6 vs 4.3e-7 at worst, and flip ~5x as often: in 2.8 % of steps vs
0.5 %) can land on the other side of zero in one
library, and that one unit then changes every gradient upstream of it by up to 5e-3 (measured; no
norm or quantile of a tensor hides it: a conv2 unit moves 44 % of conv1's weight gradient). So torch's
ReLU takes minigrad's decision per unit (``minigrad input > 0``), and the ReLU inputs themselves are
compared: a flip is then the rounding it is, and a wrong ReLU (one that decides by anything but its
input's sign) still differs from torch's. The flipped units are counted (``relu_flips``).

Measured (Winograd, batch 4, sequences cut to 160; 16 seeds x 100 steps on the embedded data and on
the 200 proteins of sample.csv, and steps 1-2 of 100 more seeds on each: 3,600 steps, 97 flips),
the largest ``rel``, then the bound, the smallest power of ten at least twice it: loss 3.0e-7
(1e-6), logits 2.7e-6 (1e-5), ReLU inputs 1.1e-6 (1e-5), gradients 5.3e-6 (1e-4), parameters
4.3e-5 (1e-4), Adam state 1.0e-5 (1e-4). The parameters' worst was at step 1 in every run: Adam's first step
is ``lr * g / (|g| + eps)``, so an entry whose gradient is at rounding level moves by a fraction of
``lr`` set by that rounding. A gradient 0.1 % off (``1.001 * grad``) is 1e-3, ten times the bound,
and fails at step 1 (tests/test_parity_lockstep.py).

Trajectory drift is information, not part of the verdict: an untouched float32 torch twin trains
from the same start on the same batches and masks, and ``drift`` is the largest ``rel`` of
minigrad's parameter layers from its own after each step (measured: 2e-3 after 2 steps, up to 4e-2
after 100). Float32 runs part ways through exactly the effects above; that makes neither one wrong.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

import numpy as np

from solubility.dataset import LengthBucketSampler, pad_batch
from solubility.model import build_model

from .transfer import copy_weights, library_of, load_arrays, state_arrays, to_numpy

__all__ = [
    "KINDS",
    "TOLERANCES",
    "Divergence",
    "LockstepResult",
    "bounds_for",
    "compare_arrays",
    "device_available",
    "run_lockstep",
]

KINDS = ("loss", "logits", "relu_in", "grad", "param", "adam")

# the bound on rel = ||minigrad - torch|| / ||torch|| for each kind of compared tensor (see the notes above)
TOLERANCES = {
    "float64": dict.fromkeys(KINDS, 1e-9),
    "float32": {"loss": 1e-6, "logits": 1e-5, "relu_in": 1e-5, "grad": 1e-4, "param": 1e-4, "adam": 1e-4},
}


def bounds_for(dtype: str, tolerance=None) -> dict:
    """The per-kind bounds for ``dtype``; a number for ``tolerance`` sets every kind, a dict some of them."""
    if dtype not in TOLERANCES:
        raise ValueError(f"run_lockstep: dtype must be one of {list(TOLERANCES)}, got {dtype!r}")
    bounds = dict(TOLERANCES[dtype])
    if isinstance(tolerance, dict):
        unknown = set(tolerance) - set(KINDS)
        if unknown:
            raise ValueError(f"run_lockstep: unknown kinds in tolerance: {sorted(unknown)}; kinds are {KINDS}")
        bounds.update(tolerance)
    elif tolerance is not None:
        bounds = dict.fromkeys(KINDS, float(tolerance))
    return bounds


def compare_arrays(a, b) -> tuple[float, float]:
    """``(max |a - b|, ||a - b|| / ||b||)`` for two arrays of the same shape (b is the reference)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"compare_arrays: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0, 0.0
    diff = a - b
    if not np.isfinite(diff).all():
        return math.inf, math.inf
    err = math.sqrt(float(np.square(diff).sum()))  # (not np.linalg.norm: its BLAS dot is slow on a busy machine)
    scale = math.sqrt(float(np.square(b).sum()))
    rel = err / scale if scale > 0 else (0.0 if err == 0 else math.inf)
    return float(np.abs(diff).max()), rel


@dataclass
class Divergence:
    step: int
    tensor: str
    abs_err: float
    rel_err: float
    tolerance: float
    note: str = ""

    def __str__(self):
        return (
            f"step {self.step}: {self.tensor} diverged: rel err {self.rel_err:.3e} > bound {self.tolerance:.1e} "
            f"(max abs err {self.abs_err:.3e}){self.note}"
        )


@dataclass
class LockstepResult:
    """Per-step records and the verdict of a lockstep run."""

    dtype: str
    device: str
    steps: int
    bounds: dict
    teacher_forcing: bool
    history: list = field(default_factory=list)  # one dict per step (see run_lockstep)
    first_divergence: Divergence | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.first_divergence is None

    def max_rel(self, kind: str | None = None) -> float:
        key = "max_rel" if kind is None else f"{kind}_rel"
        return max((h[key] for h in self.history), default=0.0)

    def max_abs(self, kind: str | None = None) -> float:
        key = "max_abs" if kind is None else f"{kind}_abs"
        return max((h[key] for h in self.history), default=0.0)

    def worst(self, kind: str | None = None) -> tuple[str, int, float]:
        """(tensor, step, rel) of the largest relative error seen (of one kind, or of all)."""
        rel_key, name_key = ("max_rel", "worst") if kind is None else (f"{kind}_rel", f"{kind}_worst")
        best = ("-", 0, 0.0)
        for h in self.history:
            if h[rel_key] > best[2]:
                best = (h[name_key], h["step"], h[rel_key])
        return best

    def summary(self) -> dict:
        """The run in numbers: per kind the measured max and its bound, the verdict, and the drift."""
        tensor, step, rel = self.worst()
        out = {
            "dtype": self.dtype,
            "device": self.device,
            "steps": self.steps,
            "steps_run": len(self.history),
            "mode": "teacher forcing" if self.teacher_forcing else "lockstep",
            "bounds": dict(self.bounds),
            "ok": self.ok,
            "seconds": round(self.seconds, 2),
            "worst_tensor": tensor,
            "worst_step": step,
            "max_rel": rel,
            "max_abs": self.max_abs(),
        }
        for kind in KINDS:
            tensor, step, rel = self.worst(kind)
            out[f"{kind}_max_rel"] = rel
            out[f"{kind}_max_abs"] = self.max_abs(kind)
            out[f"{kind}_worst"] = f"{tensor} ({step})"
        out["drift"] = self.history[-1]["drift"] if self.history else 0.0
        out["relu_flips"] = sum(h["relu_flips"] for h in self.history)
        out["first_divergence"] = str(self.first_divergence) if self.first_divergence else None
        return out


def device_available(device: str, mg=None, torch=None) -> tuple[bool, str]:
    """Whether both libraries can use ``device``; the reason when they cannot."""
    if device == "cpu":
        return True, ""
    if torch is None:
        import torch
    if mg is None:
        import minigrad as mg
    if not torch.cuda.is_available():
        return False, "torch.cuda is not available (CPU-only torch build or no GPU)"
    cuda = getattr(mg, "cuda", None)
    ok = (
        cuda.is_available()
        if cuda is not None and hasattr(cuda, "is_available")
        else mg.backend.gpu_module() is not None
    )
    if not ok:
        return False, "minigrad.cuda is not available (no CuPy or no GPU)"
    return True, ""


def _side_step(lib, model, opt, b, keep, device) -> dict:
    """One training step of one library on the NumPy batch ``b`` with dropout keep-mask ``keep``."""

    def t(a):
        x = lib.from_numpy(a.copy())
        return x.to(device) if device != "cpu" else x

    logits = model(t(b["sequence"]), t(b["mask"]), dropout_mask=t(keep))
    loss = lib.nn.functional.cross_entropy(logits, t(b["label"]))
    opt.zero_grad()
    loss.backward()
    grads = {name: None if p.grad is None else to_numpy(p.grad).copy() for name, p in model.named_parameters()}
    opt.step()
    params = {name: to_numpy(p).copy() for name, p in model.named_parameters()}
    return {
        "loss": to_numpy(loss).copy(),
        "logits": to_numpy(logits).copy(),
        "grads": grads,
        "params": params,
        "adam": _adam_arrays(model, opt),
    }


def _adam_arrays(model, opt) -> dict:
    """Adam's state per parameter name, as NumPy copies: ``{"step", "exp_avg", "exp_avg_sq"}``."""
    out = {}
    for name, p in model.named_parameters():
        st = opt.state.get(p) or {}
        if st:
            out[name] = {k: np.array(to_numpy(st[k]), copy=True) for k in ("step", "exp_avg", "exp_avg_sq")}
    return out


def _teacher_force(model, opt, src_model, src_opt) -> None:
    """Give ``model`` (and its Adam) the weights and Adam state of ``src_model``: the next step starts equal."""
    load_arrays(model, state_arrays(src_model), "minigrad's weights")  # copies into the same Parameters
    lib = library_of(model)
    params = dict(model.named_parameters())
    for name, st in _adam_arrays(src_model, src_opt).items():
        p = params[name]

        def on_device(a, p=p):
            x = lib.from_numpy(a)
            return x.to(p.device) if str(p.device) != "cpu" else x

        opt.state[p] = {
            "step": lib.tensor(float(st["step"]), dtype=lib.float32),  # Adam keeps it on the host
            "exp_avg": on_device(st["exp_avg"]),
            "exp_avg_sq": on_device(st["exp_avg_sq"]),
        }


@contextlib.contextmanager
def _relu_patched(lib, make):
    """Within the block, ``lib.nn.functional.relu`` is ``make(the current relu)`` (the model looks it up per call)."""
    F = lib.nn.functional
    relu = F.relu
    F.relu = make(relu)
    try:
        yield
    finally:
        F.relu = relu


def _recording(inputs: list):
    """A relu that keeps a copy of every input it sees."""

    def make(relu):
        def relu_recording(x, *args, **kwargs):
            inputs.append(to_numpy(x).copy())
            return relu(x, *args, **kwargs)

        return relu_recording

    return make


def _replaying(lib, decisions: list, inputs: list):
    """A relu that records its inputs and keeps exactly the units whose candidate input was > 0."""

    def make(relu):
        def relu_replaying(x, *args, **kwargs):
            if len(inputs) >= len(decisions):
                raise RuntimeError(
                    f"lockstep: the reference called relu more often than the candidate ({len(decisions)} times)"
                )
            keep = lib.from_numpy(decisions[len(inputs)] > 0)
            inputs.append(to_numpy(x).copy())
            keep = keep.to(x.device) if str(x.device) != "cpu" else keep
            return lib.where(keep, x, lib.zeros_like(x))  # relu(x), with the candidate's decision per unit

        return relu_replaying

    return make


def _by_layer(arrays: dict) -> dict:
    """Join a layer's tensors into one flat array: ``conv1.weight`` and ``conv1.bias`` -> ``conv1``."""
    layers = {}
    for name, a in arrays.items():
        layers.setdefault(name.rpartition(".")[0] or name, []).append(np.ravel(a))
    return {layer: np.concatenate(parts) for layer, parts in layers.items()}


def _comparisons(r: dict, c: dict):
    """``(kind, name, reference array, candidate array)`` for everything one step produced; gradients,
    parameters and Adam's state per layer (weight and bias together: see the module notes)."""
    yield "loss", "loss", r["loss"], c["loss"]
    yield "logits", "logits", r["logits"], c["logits"]
    if len(r["relu_in"]) != len(c["relu_in"]):
        raise RuntimeError(
            f"lockstep: relu called {len(r['relu_in'])} times by the reference, {len(c['relu_in'])} by the candidate"
        )
    for i, (a, b) in enumerate(zip(r["relu_in"], c["relu_in"]), 1):
        yield "relu_in", f"relu_in:{i}", a, b
    both = [name for name, g in r["grads"].items() if g is not None and c["grads"][name] is not None]
    for kind, key in (("grad", "grads"), ("param", "params")):
        ref, cand = (
            _by_layer({name: side[key][name] for name in (both if kind == "grad" else side[key])}) for side in (r, c)
        )
        for layer in ref:
            yield kind, f"{kind}:{layer}", ref[layer], cand[layer]
    for key in ("step", "exp_avg", "exp_avg_sq"):
        ref, cand = (_by_layer({name: st.get(key, np.nan) for name, st in side["adam"].items()}) for side in (r, c))
        for layer in ref:
            yield "adam", f"adam:{layer}.{key}", ref[layer], cand.get(layer, np.full_like(ref[layer], np.nan))


def _compare_step(step: int, r: dict, c: dict, bounds: dict) -> tuple[dict, Divergence | None]:
    """One step's record (per kind the largest abs and rel error and its tensor) and its first divergence."""
    rec = {
        "step": step,
        "loss_ref": float(r["loss"]),
        "loss_cand": float(c["loss"]),
        "max_abs": 0.0,
        "max_rel": 0.0,
        "worst": "-",
    }
    for kind in KINDS:
        rec[f"{kind}_abs"], rec[f"{kind}_rel"], rec[f"{kind}_worst"] = 0.0, 0.0, "-"
    first = None
    for name, g in r["grads"].items():
        if (g is None) != (c["grads"][name] is None):  # an infinite error, so the table shows it too
            missing = "minigrad" if c["grads"][name] is None else "torch"
            rec["grad_abs"] = rec["grad_rel"] = rec["max_abs"] = rec["max_rel"] = math.inf
            rec["grad_worst"] = rec["worst"] = f"grad:{name} (no gradient in {missing})"
            first = first or Divergence(step, rec["grad_worst"], math.inf, math.inf, bounds["grad"])
    for kind, name, ref, cand in _comparisons(r, c):
        ea, er = compare_arrays(cand, ref)
        if cand.dtype != ref.dtype:  # float32 must stay float32: a wrong dtype is an infinite error
            name, ea, er = f"{name} (minigrad gave {cand.dtype}, not {ref.dtype})", math.inf, math.inf
        rec[f"{kind}_abs"] = max(rec[f"{kind}_abs"], ea)
        if er > rec[f"{kind}_rel"] or rec[f"{kind}_worst"] == "-":
            rec[f"{kind}_rel"], rec[f"{kind}_worst"] = er, name
        if er > rec["max_rel"] or rec["worst"] == "-":
            rec["max_rel"], rec["worst"] = er, name
        rec["max_abs"] = max(rec["max_abs"], ea)
        if not er <= bounds[kind] and first is None:  # (NaN fails too)
            first = Divergence(step, name, ea, er, bounds[kind])
    return rec, first


def run_lockstep(
    dataset,
    *,
    steps: int = 50,
    batch_size: int = 8,
    dtype: str = "float64",
    device: str = "cpu",
    seed: int = 0,
    lr: float = 1e-3,
    mask_after_conv: bool = False,
    tolerance=None,
    teacher_forcing: bool | None = None,
    stop_on_divergence: bool = True,
    progress: bool = False,
    libs=None,
    model_kwargs: dict | None = None,
) -> LockstepResult:
    """Train torch and minigrad twins side by side for ``steps`` steps and compare them after each step.

    ``libs`` = ``(reference, candidate)``, by default ``(torch, minigrad)``. ``teacher_forcing``
    (default: for float32 only) copies the candidate's weights and Adam state into the reference
    before each step. ``tolerance``: a number for every kind, or a dict of some kinds' bounds.
    Each history entry holds ``step``, ``loss_ref``/``loss_cand``, per kind the largest ``_abs``
    and ``_rel`` error and its tensor (``_worst``), the same over all kinds (``max_abs``,
    ``max_rel``, ``worst``), and ``drift`` (parameters' ``rel`` from an untouched reference run).
    """
    if libs is None:
        import torch

        import minigrad

        libs = (torch, minigrad)
    ref, cand = libs
    bounds = bounds_for(dtype, tolerance)
    teacher_forcing = dtype == "float32" if teacher_forcing is None else teacher_forcing
    ok, why = device_available(device, mg=cand, torch=ref)
    if not ok:
        raise RuntimeError(f"lockstep on {device}: {why}")
    np_dtype = np.dtype(dtype)

    def model(lib):
        m = build_model(lib, dtype=getattr(lib, dtype), mask_after_conv=mask_after_conv, **dict(model_kwargs or {}))
        return (m.to(device) if device != "cpu" else m).train()

    ref.manual_seed(seed)
    cand.manual_seed(seed)
    models = [model(lib) for lib in libs]
    copy_weights(models[0], models[1])
    opts = [lib.optim.Adam(m.parameters(), lr=lr) for lib, m in zip(libs, models)]
    free = free_opt = None
    if teacher_forcing:  # the untouched reference run that measures the drift (information only)
        free = model(ref)
        copy_weights(models[0], free)
        free_opt = ref.optim.Adam(free.parameters(), lr=lr)
    p = models[0].p
    hidden = models[0].conv1.out_channels

    sampler = LengthBucketSampler(dataset.lengths, batch_size, shuffle=True, seed=seed)
    mask_rng = np.random.default_rng([seed, 12345])
    result = LockstepResult(dtype=dtype, device=device, steps=steps, bounds=bounds, teacher_forcing=teacher_forcing)
    batches = iter(())
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=f"lockstep {dtype} {device}", unit="step", leave=False)
    t0 = time.perf_counter()
    for step in range(1, steps + 1):
        idx = next(batches, None)
        if idx is None:
            batches = iter(sampler)
            idx = next(batches)
        b = pad_batch([dataset[i] for i in idx], np_dtype)
        n, L = b["sequence"].shape
        keep = (mask_rng.random((n, hidden, L)) >= p).astype(np_dtype)
        if teacher_forcing:
            _teacher_force(models[0], opts[0], models[1], opts[1])
        cand_in, ref_in = [], []  # the relu inputs of each side, in call order
        with _relu_patched(cand, _recording(cand_in)):
            c = _side_step(cand, models[1], opts[1], b, keep, device)
        with _relu_patched(ref, _replaying(ref, cand_in, ref_in) if teacher_forcing else _recording(ref_in)):
            r = _side_step(ref, models[0], opts[0], b, keep, device)
        c["relu_in"], r["relu_in"] = cand_in, ref_in
        rec, divergence = _compare_step(step, r, c, bounds)
        rec["batch_len"] = int(L)
        rec["relu_flips"] = int(sum(((a > 0) != (b > 0)).sum() for a, b in zip(ref_in, cand_in)))
        if free is not None:
            f = _side_step(ref, free, free_opt, b, keep, device)
            rec["loss_free"] = float(f["loss"])
            rec["drift"] = max(compare_arrays(c["params"][k], f["params"][k])[1] for k in f["params"])
        else:  # pure lockstep: the compared reference run is itself untouched
            rec["drift"] = rec["param_rel"]
        result.history.append(rec)
        result.first_divergence = result.first_divergence or divergence
        if bar is not None:
            bar.update(1)
            bar.set_postfix(max_rel=f"{rec['max_rel']:.1e}")
        if result.first_divergence is not None and stop_on_divergence:
            break
    if bar is not None:
        bar.close()
    result.seconds = time.perf_counter() - t0
    return result
