"""Mixed precision: :class:`autocast` (run some ops in float16) and :class:`GradScaler` (keep the
small float16 gradients from underflowing), with torch.amp's names and semantics.

**autocast.** Inside ``with minigrad.autocast(device_type='cuda'):`` the ops that gain most from
half precision and lose little (``matmul``, ``linear``, ``conv1d``...) cast their floating inputs
to float16, while ops that need the range or the precision (reductions such as ``sum``,
``softmax``/``log_softmax``, ``layer_norm`` and the losses) compute in float32. Parameters stay
float32; the casts are ordinary graph ops, so their gradients come back in float32. Op code asks
:func:`autocast_inputs` for its operands; outside autocast that is one flag test.

minigrad's autocast acts on 'cuda' only. On the CPU it is accepted but warns and does nothing (half
precision buys nothing in NumPy, and torch's CPU default, bfloat16, is a dtype minigrad lacks); with
``device_type='cuda'`` and no CUDA it warns and is off, as in torch.

**GradScaler.** A float16 gradient smaller than about 6e-8 becomes zero. The scaler multiplies
the loss by a large factor ``S`` before ``backward()`` (:meth:`GradScaler.scale`), divides the
gradients by ``S`` before the update (:meth:`GradScaler.unscale_`, called by :meth:`GradScaler.step`
if you did not), and skips the update when any gradient is inf or NaN, which means ``S`` was too
large: :meth:`GradScaler.update` then multiplies ``S`` by ``backoff_factor`` (0.5). After
``growth_interval`` steps in a row without inf/NaN it multiplies ``S`` by ``growth_factor`` (2).
Without CUDA a ``'cuda'`` scaler warns and disables itself, as in torch: ``scale`` returns its input,
``step`` just calls ``optimizer.step()``. A ``'cpu'`` scaler does the same (there is no CPU autocast
here, so nothing underflows).
"""

from __future__ import annotations

import functools
import threading
import warnings

from . import (
    backend,
    creation,  # the module: it may still be loading when amp is first imported
)
from . import dtypes as _dt
from .config import config
from .tensor import Tensor

_local = threading.local()  # per thread, as in torch: {device type: dtype or None}
_active = 0  # how many autocast regions are open (any thread): the fast path tests this one number
_active_lock = threading.Lock()  # regions open and close in several threads at once


def _state() -> dict:
    st = getattr(_local, "state", None)
    if st is None:
        st = _local.state = {}
    return st


def autocast_active() -> bool:
    """Whether any autocast region is open in any thread (the one test ops make when autocast is off)."""
    return _active > 0


def current_autocast() -> dict:
    """This thread's autocast state: ``{device type: dtype}`` for the devices where it is on."""
    return {k: v for k, v in _state().items() if v is not None} if _active else {}


config.per_thread("autocast", current_autocast)


def get_autocast_dtype(device_type: str = "cuda"):
    """The dtype autocast lowers to on ``device_type`` right now, or None when it is off there."""
    if not _active:
        return None
    return _state().get(device_type)


def is_autocast_enabled(device_type: str = "cuda") -> bool:
    return get_autocast_dtype(device_type) is not None


def autocast_inputs(kind: str, *tensors):
    """Operands of an op under autocast: ``kind='lower'`` casts floating tensors to the autocast dtype
    (matmul, linear, conv), ``kind='float32'`` casts float16 tensors up to float32 (reductions, losses).
    Tensors on a device where autocast is off, float64 tensors (as in torch: only float16/float32 are
    "eligible"), non-floating tensors and non-tensors pass unchanged. Returns a tuple (one per argument)."""
    if not _active:
        return tensors
    out = []
    for t in tensors:
        if isinstance(t, Tensor) and t.array.dtype.kind == "f" and t.array.dtype.itemsize < 8:
            low = _state().get(t.device.type)
            if low is not None:
                if kind == "lower" and t.array.dtype != low.np:
                    t = t.to(low)
                elif kind == "float32" and t.array.dtype.itemsize < 4:
                    t = t.to(_dt.float32)
        out.append(t)
    return tuple(out)


class autocast:
    """Context manager (and decorator) for mixed precision on ``device_type`` ('cuda' or 'cpu')."""

    def __init__(self, device_type: str, dtype=None, enabled: bool = True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        device_type = backend.Device(device_type).type
        self.device_type = device_type
        self.fast_dtype = _dt.float16 if dtype is None else _dt.as_dtype(dtype)
        self._enabled = bool(enabled)
        if device_type == "cuda":
            if self._enabled and backend.gpu_module() is None:
                warnings.warn("User provided device_type of 'cuda', but CUDA is not available. Disabling", stacklevel=2)
                self._enabled = False
            if self._enabled and self.fast_dtype is not _dt.float16:
                raise RuntimeError(f"autocast: minigrad supports float16 on 'cuda', not {self.fast_dtype}")
        elif device_type == "cpu" and self._enabled:
            warnings.warn(
                f"In CPU autocast, but the target dtype is not supported ({self.fast_dtype}; minigrad has no "
                "bfloat16). Disabling autocast.",
                stacklevel=2,
            )
            self._enabled = False
        self._prev = []

    def __enter__(self):
        global _active
        st = _state()
        self._prev.append(st.get(self.device_type, None))
        st[self.device_type] = self.fast_dtype if self._enabled else None
        with _active_lock:
            _active += 1
        return self

    def __exit__(self, *exc):
        global _active
        _state()[self.device_type] = self._prev.pop()
        with _active_lock:
            _active -= 1
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return wrapper


# ------------------------------------------------------------------------------------------ GradScaler
_READY, _UNSCALED, _STEPPED = 0, 1, 2


class GradScaler:
    """Dynamic loss scaling for float16 training (see the module docstring).

    Typical loop::

        scaler = minigrad.amp.GradScaler()
        for x, y in loader:
            opt.zero_grad()
            with minigrad.autocast('cuda'):
                loss = loss_fn(model(x), y)
            scaler.scale(loss).backward()
            scaler.step(opt)      # unscales, skips the step if a gradient is inf/NaN
            scaler.update()       # adapts the scale
    """

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ):
        self._device = backend.Device(device).type
        self._enabled = bool(enabled)
        if self._enabled and self._device == "cuda" and backend.gpu_module() is None:
            warnings.warn("GradScaler is enabled, but CUDA is not available. Disabling.", stacklevel=2)
            self._enabled = False
        if self._enabled and self._device == "cpu":
            warnings.warn(
                "GradScaler on 'cpu': minigrad's CPU autocast is off, so there is nothing to scale. Disabling.",
                stacklevel=2,
            )
            self._enabled = False
        if growth_factor <= 1.0:
            raise ValueError("The growth factor must be > 1.0.")
        if backoff_factor >= 1.0:
            raise ValueError("The backoff factor must be < 1.0.")
        self._init_scale = float(init_scale)
        self._scale = None  # float32 value held as a Python float once first used
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._per_optimizer = {}  # id(optimizer) -> {"stage": ..., "found_inf": bool or None}

    # ---------------------------------------------------------------- scaling
    def _f32(self, v: float) -> float:
        import numpy as np

        return float(np.float32(v))  # torch keeps the scale in a float32 tensor

    def scale(self, outputs):
        """``outputs * scale`` (a tensor, or a list/tuple of tensors, nested); unchanged when disabled."""
        if not self._enabled:
            return outputs
        if self._scale is None:
            self._scale = self._f32(self._init_scale)

        def apply(o):
            if isinstance(o, Tensor):
                return o * creation.tensor(self._scale, dtype=_dt.float32, device=o.device)
            if isinstance(o, (list, tuple)):
                return type(o)(apply(v) for v in o)
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")

        return apply(outputs)

    def _opt_state(self, optimizer):
        return self._per_optimizer.setdefault(id(optimizer), {"stage": _READY, "found_inf": None})

    def unscale_(self, optimizer) -> None:
        """Divide ``optimizer``'s gradients by the scale, in place, and note whether any is inf/NaN."""
        if not self._enabled:
            return
        st = self._opt_state(optimizer)
        if st["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if st["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        if self._scale is None:
            raise RuntimeError(
                "Attempted unscale_ but _scale is None.  This may indicate your script did not use "
                "scaler.scale(loss or outputs) earlier in the iteration."
            )
        inv = self._f32(1.0 / self._scale)
        found = None
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.array
                if g.dtype.itemsize == 2:
                    raise ValueError("Attempting to unscale FP16 gradients.")
                xp = backend.get_array_module(g)
                bad = bool(~xp.isfinite(g).all())  # one device->host sync per parameter
                found = bad if found is None else (found or bad)
                g *= g.dtype.type(inv)
        st["found_inf"] = found
        st["stage"] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """Unscale (if not done yet) and call ``optimizer.step()`` unless a gradient was inf/NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        st = self._opt_state(optimizer)
        if st["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if st["stage"] == _READY:
            self.unscale_(optimizer)
        if st["found_inf"] is None:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = None
        if not st["found_inf"]:
            retval = optimizer.step(*args, **kwargs)
        st["stage"] = _STEPPED
        return retval

    def update(self, new_scale=None) -> None:
        """Adapt the scale: back off after an inf/NaN step, grow after ``growth_interval`` clean steps."""
        if not self._enabled:
            return
        if new_scale is not None:
            if isinstance(new_scale, Tensor):
                if new_scale.numel() != 1:
                    raise AssertionError("new_scale should be a single-element tensor")
                new_scale = new_scale.item()
            self._scale = self._f32(new_scale)
        else:
            found = [st["found_inf"] for st in self._per_optimizer.values() if st["found_inf"] is not None]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            if self._scale is None:
                self._scale = self._f32(self._init_scale)
            if any(found):
                self._scale = self._f32(self._scale * self._backoff_factor)
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = self._f32(self._scale * self._growth_factor)
                    if grown != float("inf"):
                        self._scale = grown
                    self._growth_tracker = 0
        self._per_optimizer = {}

    # ---------------------------------------------------------------- accessors (torch's names)
    def get_scale(self) -> float:
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> dict:
        if not self._enabled:
            return {}
        return {
            "scale": self.get_scale(),
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._growth_tracker,
        }

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved from a disabled instance of GradScaler."
            )
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale = self._f32(self._init_scale)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])


__all__ = ["autocast", "GradScaler", "get_autocast_dtype", "is_autocast_enabled", "autocast_inputs"]
