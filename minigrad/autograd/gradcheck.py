"""Finite-difference gradient checks.

For a function ``f`` and a random upstream gradient ``u`` (one per output), the analytic
vector-Jacobian product ``u^T J`` from the backward pass must equal the central difference
``(L(x + eps e_i) - L(x - eps e_i)) / (2 eps)`` of ``L(x) = sum(u * f(x))`` for every input
element ``i``. A random ``u`` matters: with ``u = 1`` (``f(x).sum()``) a wrong softmax backward
still passes, because the gradient of a sum of probabilities is zero whatever the code does.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from .grad_mode import enable_grad, no_grad


class GradcheckError(RuntimeError):
    """Raised when an analytic gradient disagrees with its finite-difference estimate."""


def _outputs(res):
    from ..tensor import Tensor

    outs = res if isinstance(res, (tuple, list)) else (res,)
    return [o for o in outs if isinstance(o, Tensor) and o.array.dtype.kind == "f"]


def gradcheck(
    fn,
    inputs,
    eps=1e-6,
    atol=1e-5,
    rtol=1e-3,
    raise_exception=True,
    seed=0,
    check_forward_ad=False,
    check_backward_ad=True,
    **_ignored,
):
    """Check ``fn``'s backward (and, with ``check_forward_ad``, its forward-mode tangents) against central
    differences, for every input that requires grad.

    Inputs should be float64 (a float32 check warns: its differences are too noisy to mean much).
    Returns True, or raises :class:`GradcheckError` naming the input, the element, and both values.
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    if check_forward_ad and not _check_tangents(fn, inputs, eps, atol, rtol, raise_exception, seed):
        return False
    if not check_backward_ad:
        return True
    return _check_backward(fn, inputs, eps, atol, rtol, raise_exception, seed)


def _check_tangents(fn, inputs, eps, atol, rtol, raise_exception, seed) -> bool:
    """Forward mode: for each input, the tangent of the outputs along a random direction ``v`` against
    ``(f(x + eps v) - f(x - eps v)) / 2 eps``."""
    from ..tensor import Tensor
    from . import forward_ad

    rng = np.random.default_rng(seed + 3)
    for i, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        v = rng.standard_normal(x.shape).astype(x.array.dtype)
        vt = Tensor._make(backend.to_device(v, x.device))
        with forward_ad.dual_level():
            args = [forward_ad.make_dual(x.detach(), vt) if k == i else a for k, a in enumerate(inputs)]
            tangents = [forward_ad.unpack_dual(o).tangent for o in _outputs(fn(*args))]

        def shifted(sign, i=i, x=x, v=v):
            moved = Tensor._make(x.array + sign * eps * backend.to_device(v, x.device))
            with no_grad():
                outs = _outputs(fn(*[moved if k == i else a for k, a in enumerate(inputs)]))
            return [backend.to_device(o.array, backend.CPU).astype(np.float64) for o in outs]

        for k, (t, up, down) in enumerate(zip(tangents, shifted(1), shifted(-1))):
            numeric = (up - down) / (2 * eps)
            got = np.zeros_like(numeric) if t is None else backend.to_device(t.array, backend.CPU)
            bad = np.abs(got - numeric) > atol + rtol * np.abs(numeric)
            if bad.any():
                j = np.flatnonzero(bad)[0]
                msg = (
                    f"gradcheck: forward-mode tangent mismatch for output {k} along a direction of input {i}: "
                    f"{int(bad.sum())} of {bad.size} elements differ (first: {got.reshape(-1)[j]!r} "
                    f"vs numerical {numeric.reshape(-1)[j]!r})"
                )
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def _check_backward(fn, inputs, eps, atol, rtol, raise_exception, seed) -> bool:
    from ..tensor import Tensor
    from . import grad as autograd_grad

    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for i in checked:
        if inputs[i].array.dtype != np.float64:
            import warnings

            warnings.warn(
                f"gradcheck: input {i} is {inputs[i].dtype}, not float64; the check may be unreliable", stacklevel=2
            )
    rng = np.random.default_rng(seed)
    outs = _outputs(fn(*inputs))
    ups = []
    for o in outs:
        u = rng.standard_normal(o.shape).astype(o.array.dtype)
        ups.append(backend.to_device(u, o.device))

    def loss_value():
        with no_grad():
            vals = _outputs(fn(*inputs))
        return sum(
            float(
                (backend.to_device(v.array, backend.CPU).astype(np.float64) * backend.to_device(u, backend.CPU)).sum()
            )
            for v, u in zip(vals, ups)
        )

    diff_outs = [(o, u) for o, u in zip(outs, ups) if o.requires_grad]
    if diff_outs:
        analytic = autograd_grad(
            [o for o, _ in diff_outs],
            [inputs[i] for i in checked],
            grad_outputs=[Tensor._make(u) for _, u in diff_outs],
            allow_unused=True,
        )
    else:
        analytic = [None] * len(checked)

    for k, i in enumerate(checked):
        x = inputs[i]
        host = backend.to_device(x.array, backend.CPU)
        a = np.zeros(host.shape) if analytic[k] is None else backend.to_device(analytic[k].array, backend.CPU)
        flat = host.reshape(-1).copy()
        numeric = np.zeros(flat.size)
        for j in range(flat.size):
            orig = flat[j]
            for sign in (1, -1):
                flat[j] = orig + sign * eps
                x.array = backend.to_device(flat.reshape(host.shape).copy(), x.device)
                numeric[j] += sign * loss_value()
            flat[j] = orig
        x.array = backend.to_device(host, x.device)
        numeric /= 2 * eps
        a = a.reshape(-1)
        bad = np.abs(a - numeric) > atol + rtol * np.abs(numeric)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            idx = np.unravel_index(j, host.shape) if host.shape else ()
            msg = (
                f"gradcheck: Jacobian mismatch for input {i} (shape {tuple(host.shape)}) at element "
                f"{tuple(int(v) for v in idx)}: analytic {a[j]!r} vs numerical {numeric[j]!r} "
                f"({int(bad.sum())} of {bad.size} elements differ; atol={atol}, rtol={rtol})"
            )
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(
    fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0, **_ignored
):
    """Check the *second* derivatives of ``fn`` against central differences, as torch's ``gradgradcheck``.

    The first derivatives ``u^T J`` (for upstream gradients ``u``: ``grad_outputs``, or random ones) are
    computed with ``create_graph=True``; :func:`gradcheck` then checks that function of the inputs and
    of ``u`` against its finite differences: a double backward that is wrong anywhere fails here.
    """
    from ..tensor import Tensor
    from . import grad as autograd_grad

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    n = len(inputs)
    diff = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradgradcheck: no input requires grad")
    outs = [o for o in _outputs(fn(*inputs)) if o.requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(seed + 1)
        ups = [
            Tensor._make(backend.to_device(rng.standard_normal(o.shape).astype(o.array.dtype), o.device), True)
            for o in outs
        ]
    else:
        ups = list(grad_outputs) if isinstance(grad_outputs, (tuple, list)) else [grad_outputs]

    def first_derivatives(*args):
        xs, us = args[:n], args[n:]
        with enable_grad():  # gradcheck evaluates its function under no_grad: these need their graph
            ys = [o for o in _outputs(fn(*xs)) if o.requires_grad]
            wrt = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
            got = autograd_grad(ys, wrt, us, create_graph=True, allow_unused=True)
        return tuple(g for g in got if g is not None)

    return gradcheck(
        first_derivatives,
        inputs + tuple(ups),
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
        seed=seed,
    )
