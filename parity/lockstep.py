"""Lockstep twin training: torch and minigrad take the same steps and are compared after every one.

Both models start from identical weights (torch initialises, :func:`parity.transfer.copy_weights`
copies into minigrad), see identical batches (one length-bucketed batch order, padded once in NumPy)
and identical dropout (one keep-mask per step, drawn in NumPy and fed to both: minigrad's dropout op
takes ``mask=``, torch multiplies by it). Per step we compare

    loss, logits, every parameter's gradient, every parameter after the Adam step

as ``abs = max |minigrad - torch|`` and ``rel = abs / max |torch|`` (the error relative to the
tensor's largest entry; an element-wise ratio would blow up at entries that happen to be near 0).

Tolerances (``rel``, every compared tensor, every step):

* float64: ``rel <= 1e-9`` (the bound for 200 steps; ``make run`` measures at most ~3e-13).
* float32: ``rel <= 1e-4``, *or*, when that fails, minigrad must be no farther from the float64
  answer than ``SHADOW_FACTOR`` (10) times torch's own float32 distance from it (floor 1e-4). The
  float64 answer comes from a *shadow* run: a float64 torch twin started from the same weights
  and fed the same batches and masks. Why not a fixed bound: float32 torch and float32 NumPy are each
  ~7e-7 (relative) from the float64 result on one step, so early steps agree to ~1e-6 on logits and
  ~1e-5 on gradients. But a ReLU input within ~1e-6 of zero can round to the other side in one
  library, which changes that unit's gradient outright, and Adam turns tiny gradient differences on
  near-zero entries into full ``lr``-sized steps. Measured (batch 8, 30 steps, 200 embedded proteins):
  after a flip at step 13 torch float32's gradients drifted to ~3e-2 from the float64 shadow while
  minigrad stayed within ~4e-6 of it; on 40 proteins of sample.csv it went the other way for the
  parameters (after one Adam step minigrad 5e-4, torch 7e-5 from float64). In ``make run`` (50
  steps) torch ends 0.16 and minigrad 3e-4 from the float64 shadow. Which library drifts is
  the luck of rounding; both float32 runs are fine and simply part ways. The
  shadow rule still fails a real bug at once (a wrong gradient puts minigrad far from float64 while
  torch stays close). Parameters get one more allowance: within one Adam step (``lr``, relative to
  the tensor's largest entry) of the float64 answer. Adam moves an entry whose gradient is below the
  float32 noise level (~1e-7 of the largest gradient) by up to ``lr`` in a direction set by rounding,
  in either library; a wrong gradient is caught earlier, at the gradient comparison, and a wrong
  optimiser by the float64 run. Finally, once torch's own float32 *parameters* have drifted from the
  float64 ones by ``d`` (relative; the running maximum over the steps so far), any later tensor may be
  ``SHADOW_FACTOR * d`` from float64: the two float32 runs now start each step from different weights,
  so agreeing more closely than the weights themselves would be luck. Measured with ``--steps32 200``
  (embedded data, batch 4): by step ~190 both float32 runs are 0.3-0.4 (relative, parameters) from
  float64 and from each other, and without this allowance one loss value (torch 8e-5, minigrad 1.3e-3
  from float64) failed the per-tensor rule. A wrong gradient still fails at step 1, where ``d`` is 0.
  Last, for the loss, logits and gradients: when a float32 value fails all of the above, the step is
  evaluated once more in float64 *from minigrad's own float32 weights* (a third torch twin loaded with
  them, same batch and mask). If minigrad's value is within ``rel <= 1e-4`` of that, minigrad computed
  this step correctly from where its weights are, and the gap to the shadow is the trajectory's drift
  (the count is kept as ``own64_excused``). Measured on the embedded data (batch 4, 6 steps, one BLAS
  thread, seed 1): Adam's first step left minigrad's weights ~1e-4 from float64 (torch ~3e-5); at step 3
  a conv2 unit at -2.9e-7 in float64 came out +2.6e-7 in minigrad, its gradients went 1e-3 from the
  shadow, and the own-weights check put them 5e-7 from float64. This check cannot hide a wrong gradient:
  it compares with a correct float64 evaluation at every step. What it cannot excuse is a ReLU input
  rounded across zero within the step itself (|x| below ~1e-6): 1 run in 20 such 6-step runs here.
  So, past step 1, one such step is tolerated and kept in the history as ``isolated_divergence``; two
  steps in a row fail the run, as does any divergence at step 1 (same weights: nothing has drifted). A
  wrong gradient fails every step, so it still fails at step 1.
  ``shadow64=False`` uses the fixed bound alone (fine for a few steps).

The first (step, tensor) beyond tolerance is reported in :attr:`LockstepResult.first_divergence`.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from solubility.dataset import LengthBucketSampler, pad_batch
from solubility.model import build_model

from .transfer import copy_weights, load_arrays, state_arrays, to_numpy

__all__ = ["TOLERANCES", "SHADOW_FACTOR", "Divergence", "LockstepResult", "compare_arrays", "device_available",
           "run_lockstep"]

TOLERANCES = {"float64": 1e-9, "float32": 1e-4}
SHADOW_FACTOR = 10.0


def compare_arrays(a, b) -> tuple[float, float]:
    """``(max |a - b|, max |a - b| / max |b|)`` for two arrays of the same shape (b is the reference)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"compare_arrays: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0, 0.0
    diff = np.abs(a - b)
    if not np.isfinite(diff).all():
        return math.inf, math.inf
    err = float(diff.max())
    scale = float(np.abs(b).max())
    return err, (err / scale if scale > 0 else (0.0 if err == 0 else math.inf))


@dataclass
class Divergence:
    step: int
    tensor: str
    abs_err: float
    rel_err: float
    tolerance: float
    note: str = ""

    def __str__(self):
        return (f"step {self.step}: {self.tensor} diverged: max abs err {self.abs_err:.3e}, "
                f"rel err {self.rel_err:.3e} > tolerance {self.tolerance:.1e}{self.note}")


@dataclass
class LockstepResult:
    """Per-step records and the verdict of a lockstep run."""

    dtype: str
    device: str
    steps: int
    tolerance: float
    history: list = field(default_factory=list)  # one dict per step (see run_lockstep)
    first_divergence: Divergence | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.first_divergence is None

    def max_rel(self, group: str | None = None) -> float:
        key = "max_rel" if group is None else f"{group}_rel"
        return max((h[key] for h in self.history), default=0.0)

    def max_abs(self, group: str | None = None) -> float:
        key = "max_abs" if group is None else f"{group}_abs"
        return max((h[key] for h in self.history), default=0.0)

    def worst(self) -> tuple[str, int, float]:
        """(tensor, step, rel) of the largest relative error seen."""
        best = ("-", 0, 0.0)
        for h in self.history:
            if h["max_rel"] > best[2]:
                best = (h["worst"], h["step"], h["max_rel"])
        return best

    def summary(self) -> dict:
        tensor, step, rel = self.worst()
        out = {"dtype": self.dtype, "device": self.device, "steps": self.steps, "steps_run": len(self.history),
               "tolerance": self.tolerance,
               "ok": self.ok, "seconds": round(self.seconds, 2), "worst_tensor": tensor, "worst_step": step,
               "max_rel": self.max_rel(), "max_abs": self.max_abs()}
        for g in ("loss", "logits", "grad", "param"):
            out[f"{g}_max_rel"] = self.max_rel(g)
            out[f"{g}_max_abs"] = self.max_abs(g)
        if self.history and "grad_ref64_rel" in self.history[0]:
            # float32 only: each library's distance from the float64 shadow run
            out["torch_vs_float64_max_rel"] = max(h[f"{g}_ref64_rel"] for h in self.history
                                                  for g in ("logits", "grad", "param"))
            out["minigrad_vs_float64_max_rel"] = max(h[f"{g}_cand64_rel"] for h in self.history
                                                     for g in ("logits", "grad", "param"))
            # comparisons passed only by the own-weights check (minigrad right from where its weights are)
            out["own64_excused"] = sum(h.get("own64_excused", 0) for h in self.history)
            out["isolated_divergences"] = [h["step"] for h in self.history if "isolated_divergence" in h]
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
    ok = cuda.is_available() if cuda is not None and hasattr(cuda, "is_available") else \
        mg.backend.gpu_module() is not None
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
    grads, _ = _grads_and_params(model)
    opt.step()
    _, params = _grads_and_params(model)
    return {"loss": to_numpy(loss).copy(), "logits": to_numpy(logits).copy(), "grads": grads, "params": params}


def _adam_state(model, opt) -> dict:
    """minigrad's Adam state per parameter name: ``(step, exp_avg, exp_avg_sq)`` as float64 copies."""
    out = {}
    for name, p in model.named_parameters():
        st = opt.state.get(p) or {}
        if st:
            out[name] = (float(to_numpy(st["step"])), to_numpy(st["exp_avg"]).astype(np.float64),
                         to_numpy(st["exp_avg_sq"]).astype(np.float64))
    return out


def _adam_f64(params: dict, grads: dict, state: dict, lr: float, betas=(0.9, 0.999), eps=1e-8) -> dict:
    """One Adam step (torch's formula, no weight decay) in float64 NumPy from the given weights and state."""
    b1, b2 = betas
    out = {}
    for name, p in params.items():
        g = grads.get(name)
        if g is None:
            out[name] = p.astype(np.float64)
            continue
        step, m, v = state.get(name, (0.0, np.zeros_like(g), np.zeros_like(g)))
        step += 1
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = np.sqrt(v) / math.sqrt(1 - b2 ** step) + eps
        out[name] = p.astype(np.float64) - (lr / (1 - b1 ** step)) * m / denom
    return out


def _grads_and_params(model):
    grads, params = {}, {}
    for name, p in model.named_parameters():
        params[name] = to_numpy(p).copy()
        grads[name] = None if p.grad is None else to_numpy(p.grad).copy()
    return grads, params


def run_lockstep(dataset, *, steps: int = 50, batch_size: int = 8, dtype: str = "float64", device: str = "cpu",
                 seed: int = 0, lr: float = 1e-3, mask_after_conv: bool = False, tolerance: float | None = None,
                 stop_on_divergence: bool = True, progress: bool = False, libs=None, shadow64: bool = True,
                 model_kwargs: dict | None = None) -> LockstepResult:
    """Train torch and minigrad twins side by side for ``steps`` steps and compare them after each step.

    ``libs`` = ``(reference, candidate)``, by default ``(torch, minigrad)``. Each history entry holds
    ``step``, ``loss`` (both values), per group (``loss``, ``logits``, ``grad``, ``param``) the max
    ``_abs`` and ``_rel`` error, ``max_abs``/``max_rel`` over all, and ``worst`` (the tensor name).
    """
    if libs is None:
        import torch

        import minigrad

        libs = (torch, minigrad)
    ref, cand = libs
    if dtype not in TOLERANCES:
        raise ValueError(f"run_lockstep: dtype must be one of {list(TOLERANCES)}, got {dtype!r}")
    tol = TOLERANCES[dtype] if tolerance is None else tolerance
    ok, why = device_available(device, mg=cand, torch=ref)
    if not ok:
        raise RuntimeError(f"lockstep on {device}: {why}")
    np_dtype = np.dtype(dtype)
    model_kwargs = dict(model_kwargs or {})
    ref.manual_seed(seed)
    cand.manual_seed(seed)
    models = [build_model(lib, dtype=getattr(lib, dtype), mask_after_conv=mask_after_conv, **model_kwargs)
              for lib in libs]
    models = [m.to(device) if device != "cpu" else m for m in models]
    copy_weights(models[0], models[1])
    opts = [lib.optim.Adam(m.parameters(), lr=lr) for lib, m in zip(libs, models)]
    p = models[0].p
    hidden = models[0].conv1.out_channels

    sampler = LengthBucketSampler(dataset.lengths, batch_size, shuffle=True, seed=seed)
    mask_rng = np.random.default_rng([seed, 12345])
    result = LockstepResult(dtype=dtype, device=device, steps=steps, tolerance=tol)
    batches = iter(())
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=f"lockstep {dtype} {device}", unit="step", leave=False)
    t0 = time.perf_counter()
    shadow = None
    drift = 0.0  # how far torch float32's parameters have moved from the float64 shadow (running max)
    if dtype == "float32" and shadow64:
        # a float64 torch twin from the same weights: the yardstick for float32 rounding noise
        shadow = build_model(ref, dtype=ref.float64, mask_after_conv=mask_after_conv, **model_kwargs)
        shadow = shadow.to(device) if device != "cpu" else shadow
        load_arrays(shadow, {k: v.astype(np.float64) for k, v in state_arrays(models[0]).items()}, "float32 model")
        shadow_opt = ref.optim.Adam(shadow.parameters(), lr=lr)
        shadow.train()
        # and a float64 twin that re-evaluates a step at minigrad's own weights (see the module notes)
        own64 = build_model(ref, dtype=ref.float64, mask_after_conv=mask_after_conv, **model_kwargs)
        own64 = own64.to(device) if device != "cpu" else own64
        own64.train()
        own64_opt = ref.optim.SGD(own64.parameters(), lr=0.0)  # only its gradients are wanted
    for m in models:
        m.train()
    last_diverged = False
    for step in range(1, steps + 1):
        before = adam_before = None
        if shadow is not None:  # minigrad's weights and Adam state entering the step (copies: the step
            before = {k: v.copy() for k, v in state_arrays(models[1]).items()}  # updates them in place)
            adam_before = _adam_state(models[1], opts[1])
        idx = next(batches, None)
        if idx is None:
            batches = iter(sampler)
            idx = next(batches)
        b = pad_batch([dataset[i] for i in idx], np_dtype)
        n, L = b["sequence"].shape
        keep = (mask_rng.random((n, hidden, L)) >= p).astype(np_dtype)
        r, c = [_side_step(lib, model, opt, b, keep, device) for lib, model, opt in zip(libs, models, opts)]
        sh = None
        if shadow is not None:
            b64 = dict(b, mask=b["mask"].astype(np.float64))
            sh = _side_step(ref, shadow, shadow_opt, b64, keep.astype(np.float64), device)
        own = None  # computed only when a float32 comparison needs it
        step_div = None  # the first comparison of this step beyond every allowance

        def own_step():
            load_arrays(own64, {k: v.astype(np.float64) for k, v in before.items()}, "minigrad's float32 weights")
            out = _side_step(ref, own64, own64_opt, b64, keep.astype(np.float64), device)
            out["params"] = _adam_f64(before, out["grads"], adam_before, lr)
            return out
        rec = {"step": step, "loss_ref": float(r["loss"]), "loss_cand": float(c["loss"]), "batch_len": int(L)}
        pairs = [("loss", "loss", "loss"), ("logits", "logits", "logits")]
        for name in r["grads"]:
            if (r["grads"][name] is None) != (c["grads"][name] is None):
                missing = "minigrad" if c["grads"][name] is None else "torch"
                result.first_divergence = result.first_divergence or Divergence(
                    step, f"grad:{name} (no gradient in {missing})", math.inf, math.inf, tol)
                continue
            if r["grads"][name] is not None:
                pairs.append(("grad", f"grad:{name}", ("grads", name)))
        pairs += [("param", f"param:{name}", ("params", name)) for name in r["params"]]
        rec["max_abs"], rec["max_rel"], rec["worst"] = 0.0, 0.0, "-"
        for g in ("loss", "logits", "grad", "param"):
            rec[f"{g}_abs"] = rec[f"{g}_rel"] = 0.0
            if sh is not None:
                rec[f"{g}_ref64_rel"] = rec[f"{g}_cand64_rel"] = 0.0

        def get(out, key):
            return out[key] if isinstance(key, str) else out[key[0]][key[1]]

        for group, name, key in pairs:
            if get(c, key).dtype != np_dtype and result.first_divergence is None:  # float32 must stay float32
                result.first_divergence = Divergence(step, f"{name} (minigrad gave {get(c, key).dtype}, not {dtype})",
                                                     math.inf, math.inf, tol)
            ea, er = compare_arrays(get(c, key), get(r, key))
            rec[f"{group}_abs"] = max(rec[f"{group}_abs"], ea)
            rec[f"{group}_rel"] = max(rec[f"{group}_rel"], er)
            if er > rec["max_rel"] or rec["worst"] == "-":
                rec["max_rel"], rec["worst"] = max(er, rec["max_rel"]), name
            rec["max_abs"] = max(rec["max_abs"], ea)
            note = ""
            if sh is not None:
                ref64 = compare_arrays(get(r, key), get(sh, key))[1]
                cand64 = compare_arrays(get(c, key), get(sh, key))[1]
                rec[f"{group}_ref64_rel"] = max(rec[f"{group}_ref64_rel"], ref64)
                rec[f"{group}_cand64_rel"] = max(rec[f"{group}_cand64_rel"], cand64)
                allowed = SHADOW_FACTOR * max(ref64, tol, drift)
                if group == "param":  # or within one Adam step (lr) of the float64 answer
                    allowed = max(allowed, lr / max(float(np.abs(get(sh, key)).max()), 1e-30))
                if er > tol and cand64 <= allowed:
                    continue  # minigrad is as close to the float64 answer as torch's own float32 is
                own_err = None
                if er > tol:
                    own = own or own_step()
                    own_err = compare_arrays(get(c, key), get(own, key))[1]
                    rec["own64_rel"] = max(rec.get("own64_rel", 0.0), own_err)
                    own_allowed = tol
                    if group == "param":  # Adam's sign-sized steps on gradients below float32 noise: one lr
                        own_allowed = max(tol, lr / max(float(np.abs(get(own, key)).max()), 1e-30))
                    if own_err <= own_allowed:
                        rec["own64_excused"] = rec.get("own64_excused", 0) + 1
                        continue  # minigrad computed this step right from where its weights are
                note = (f"; vs the float64 shadow: minigrad {cand64:.2e}, torch {ref64:.2e} "
                        f"(allowed {allowed:.2e})" + ("" if own_err is None else
                                                      f"; vs float64 at minigrad's own weights: {own_err:.2e}"))
            if er > tol and step_div is None:
                step_div = Divergence(step, name, ea, er, tol, note)
        if step_div is not None:
            if own is not None and step > 1 and not last_diverged:
                # float32, past step 1, and not right from its own weights either: a ReLU input rounded
                # across zero within this step. Tolerated once; a second step in a row fails the run
                rec["isolated_divergence"] = str(step_div)
            elif result.first_divergence is None:
                result.first_divergence = step_div
        last_diverged = step_div is not None
        if sh is not None:
            drift = max(drift, rec["param_ref64_rel"])
        result.history.append(rec)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(max_rel=f"{rec['max_rel']:.1e}")
        if result.first_divergence is not None and stop_on_divergence:
            break
    if bar is not None:
        bar.close()
    result.seconds = time.perf_counter() - t0
    return result
