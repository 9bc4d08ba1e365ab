"""autograd.Function with several outputs, set_materialize_grads, once_differentiable, create_graph through a
Function, and autograd.graph.saved_tensors_hooks: each case runs the same code on minigrad and on torch (float64)
and compares values, gradients and what the user's backward received."""

import threading

import numpy as np
import pytest
import torch

import minigrad as mg


def _np(x):
    """A comparable form: arrays for tensors, recursively through tuples and lists; other values as they are."""
    if isinstance(x, (tuple, list)):
        return [_np(v) for v in x]
    if isinstance(x, (mg.Tensor, torch.Tensor)):
        return x.detach().cpu().numpy()
    return x


def _same(got, want, path="result"):
    """Compare the results of one case run on minigrad (``got``) and torch (``want``), structure included."""
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: {got!r} vs {want!r}"
        for i, (g, w) in enumerate(zip(got, want)):
            _same(g, w, f"{path}[{i}]")
    elif isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray), f"{path}: got {got!r}, torch has an array"
        assert got.shape == want.shape and got.dtype == want.dtype, f"{path}: {got.shape} {got.dtype} vs {want}"
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14, err_msg=path)
    else:
        assert not isinstance(got, np.ndarray) and got == want, f"{path}: {got!r} vs {want!r}"


def _both(case):
    _same(_np(case(mg)), _np(case(torch)))


def _x(lib, values=(0.5, -1.25, 2.0)):
    return lib.tensor(list(values), dtype=lib.float64, requires_grad=True)


# ------------------------------------------------------------------ several outputs
def _split_fn(lib, seen, materialize=True):
    """Four outputs: two differentiable, an integer mask, a Python int."""

    class Split(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.set_materialize_grads(materialize)
            ctx.save_for_backward(x, y)
            return x * y, x.sin(), (x > 0).long(), 7

        @staticmethod
        def backward(ctx, g_prod, g_sin, g_mask, g_int):
            seen.append([g_prod, g_sin, g_mask, g_int])
            x, y = ctx.saved_tensors
            gx = None if g_prod is None else g_prod * y
            if g_sin is not None:
                gx = g_sin * x.cos() if gx is None else gx + g_sin * x.cos()
            return gx, (None if g_prod is None else g_prod * x)

    return Split


@pytest.mark.parametrize("materialize", [True, False])
@pytest.mark.parametrize("use", ["both", "first", "second"])
def test_several_outputs_match_torch(materialize, use):
    def case(lib):
        seen = []
        x, y = _x(lib), _x(lib, (1.5, 0.25, -3.0))
        prod, sin, mask, seven = _split_fn(lib, seen, materialize).apply(x, y)
        w = lib.tensor([1.0, -2.0, 0.5], dtype=lib.float64)
        loss = {"both": (prod * w).sum() + (sin * sin).sum(), "first": (prod * w).sum(), "second": sin.sum()}[use]
        loss.backward()
        flags = [prod.requires_grad, sin.requires_grad, mask.requires_grad, mask.grad_fn is None, seven]
        return [x.grad, y.grad, seen, flags, mask, prod, sin]

    _both(case)


def test_each_output_shows_the_function_node():
    def case(lib):
        prod, sin, mask, _ = _split_fn(lib, []).apply(_x(lib), _x(lib))
        nodes = [prod.grad_fn, sin.grad_fn]
        return [[n.name() for n in nodes], [len(n.next_functions) for n in nodes], mask.grad_fn]

    _both(case)
    prod, *_ = _split_fn(mg, []).apply(_x(mg), _x(mg))
    assert repr(prod.grad_fn) == "<SplitBackward>"
    prod.grad_fn.metadata["k"] = 1  # one node in torch: the outputs' nodes share their metadata
    assert prod.grad_fn.next_functions[0][0].variable is not None


def test_a_single_output_in_a_tuple_and_autograd_grad():
    def case(lib):
        class Twice(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return (x * 2,)

            @staticmethod
            def backward(ctx, g):
                return g * 2

        x = _x(lib)
        out = Twice.apply(x)
        (gx,) = lib.autograd.grad(out[0].sum(), x)
        return [type(out).__name__, len(out), gx]

    _both(case)


def test_autograd_grad_of_several_outputs_and_retain_graph():
    def case(lib):
        seen = []
        x, y = _x(lib), _x(lib, (2.0, 3.0, 4.0))
        prod, sin, _, _ = _split_fn(lib, seen).apply(x, y)
        gy = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)
        first = lib.autograd.grad([prod, sin], [x, y], [gy, gy * -1], retain_graph=True)
        second = lib.autograd.grad(sin.sum(), x, allow_unused=True)
        return [first, second, seen]

    _both(case)


def test_outputs_marked_non_differentiable_and_dirty():
    def case(lib, materialize):
        seen = []

        class SortLike(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, buf):
                ctx.set_materialize_grads(materialize)
                buf.mul_(2)
                idx = x.argsort()
                ctx.mark_dirty(buf)
                ctx.mark_non_differentiable(idx)
                ctx.save_for_backward(idx)
                return x[idx], idx, buf

            @staticmethod
            def backward(ctx, g_vals, g_idx, g_buf):
                seen.append([g_vals, g_idx, g_buf])
                (idx,) = ctx.saved_tensors
                gx = lib.zeros_like(g_vals)
                gx[idx] = g_vals
                return gx, (None if g_buf is None else g_buf * 2)

        x, b = _x(lib, (3.0, 1.0, 2.0)), _x(lib, (1.0, 1.0, 1.0))
        buf = b * 1
        vals, idx, out_buf = SortLike.apply(x, buf)
        (vals * lib.tensor([1.0, 10.0, 100.0], dtype=lib.float64)).sum().backward()
        return [x.grad, b.grad, seen, idx, idx.requires_grad, out_buf is buf, out_buf.requires_grad]

    for materialize in (True, False):
        _same(_np(case(mg, materialize)), _np(case(torch, materialize)), f"materialize={materialize}")


def test_an_input_returned_as_it_is_becomes_a_new_tensor():
    def case(lib):
        class Pass(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x, x * 3

            @staticmethod
            def backward(ctx, g1, g2):
                return g1 + 3 * g2

        x = _x(lib)
        same, triple = Pass.apply(x)
        (same * 2 + triple).sum().backward()
        return [same is x, same.grad_fn is not None, x.grad]

    _both(case)


def test_wrong_number_of_gradients_raises_like_torch():
    def case(lib):
        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 1, x * 2

            @staticmethod
            def backward(ctx, g1, g2):
                return g1, g2

        a, b = Bad.apply(_x(lib))
        with pytest.raises(RuntimeError, match="returned an incorrect number of gradients") as e:
            (a + b).sum().backward()
        return str(e.value).split("(")[0].replace("function ", "")

    _both(case)


# ------------------------------------------------------------------ set_materialize_grads, one output
@pytest.mark.parametrize("materialize", [True, False])
def test_materialize_grads_with_one_output(materialize):
    def case(lib):
        seen = []

        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(materialize)
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, g):
                seen.append(g)
                (x,) = ctx.saved_tensors
                return None if g is None else 2 * g * x

        x = _x(lib)
        y = Square.apply(x)
        (y * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)).sum().backward()
        return [x.grad, seen]

    _both(case)


# ------------------------------------------------------------------ create_graph through a Function
def _exp_sin(lib):
    """Two outputs; backward reads the saved *outputs*, so double backward goes through the node again."""

    class ExpSin(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            e, s = x.exp(), x.sin()
            ctx.save_for_backward(x, e)
            return e, s

        @staticmethod
        def backward(ctx, g_e, g_s):
            x, e = ctx.saved_tensors
            return g_e * e + g_s * x.cos()

    return ExpSin


def _cube(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(x):
            return x**3

        @staticmethod
        def setup_context(ctx, inputs, output):
            (x,) = inputs
            ctx.save_for_backward(x, output)

        @staticmethod
        def backward(ctx, g):
            x, out = ctx.saved_tensors
            return g * 3 * out / x

    return Cube


@pytest.mark.parametrize("fn", [_exp_sin, _cube])
def test_create_graph_through_a_function_matches_torch(fn):
    def case(lib):
        x = _x(lib)
        w = lib.tensor([0.3, -0.7, 1.1], dtype=lib.float64, requires_grad=True)
        out = fn(lib).apply(x)
        outs = out if isinstance(out, tuple) else (out,)
        loss = sum((o * w * o).sum() for o in outs)
        gx, gw = lib.autograd.grad(loss, [x, w], create_graph=True)
        hx, hw = lib.autograd.grad((gx * gx).sum() + gw.sum(), [x, w], retain_graph=True)
        third = lib.autograd.grad(gx.sum(), x, create_graph=True)[0]
        (fourth,) = lib.autograd.grad(third.sum(), x)
        return [gx, gw, hx, hw, third, fourth, gx.requires_grad]

    _both(case)


def test_backward_create_graph_then_grad_of_grad():
    def case(lib):
        x = _x(lib)
        e, s = _exp_sin(lib).apply(x)
        (e * s).sum().backward(create_graph=True)
        g = x.grad
        x.grad = None
        (g.sin().sum()).backward()
        return [g, x.grad]

    _both(case)


# ------------------------------------------------------------------ once_differentiable
def _once(lib):
    class Once(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x, x.exp()

        @staticmethod
        @lib.autograd.function.once_differentiable
        def backward(ctx, g_sq, g_exp):
            (x,) = ctx.saved_tensors
            return g_sq * 2 * x + g_exp * x.exp()

    return Once


def test_once_differentiable_with_several_outputs():
    def case(lib):
        x = _x(lib)
        sq, ex = _once(lib).apply(x)
        (sq.sum() + (ex * 3).sum()).backward()
        w = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        sq, ex = _once(lib).apply(x)
        (gx,) = lib.autograd.grad((sq * w).sum(), x, create_graph=True)
        with pytest.raises(RuntimeError, match="@once_differentiable") as e:
            gx.sum().backward()  # torch delays the error to here: a silent zero would be a wrong answer
        (plain,) = lib.autograd.grad(_once(lib).apply(x)[0].sum(), x, create_graph=True)
        return [x.grad, gx, gx.requires_grad, str(e.value), plain.requires_grad]

    _both(case)


# ------------------------------------------------------------------ saved_tensors_hooks
def _model_loss(lib, x, w, b):
    """Ops that save inputs (mul, matmul), outputs (exp, tanh), both, plus a user Function."""
    h = (x @ w + b).tanh()
    e, s = _exp_sin(lib).apply(h)
    return (e * s).sum() + (h**2).mean() + lib.nn.functional.softmax(h, dim=1).max()


def _params(lib):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.normal(size=(4, 3)), dtype=lib.float64, requires_grad=True)
    w = lib.tensor(rng.normal(size=(3, 5)), dtype=lib.float64, requires_grad=True)
    b = lib.tensor(rng.normal(size=(5,)), dtype=lib.float64, requires_grad=True)
    return x, w, b


def _numpy_hooks(lib, calls):
    def pack(t):
        calls[0] += 1
        return t.detach().cpu().numpy().copy()  # the graph keeps only a NumPy copy

    def unpack(a):
        calls[1] += 1
        return lib.from_numpy(a)

    return pack, unpack


def test_hooks_move_saved_tensors_to_numpy_and_back():
    def case(lib):
        calls = [0, 0]
        params = _params(lib)
        with lib.autograd.graph.saved_tensors_hooks(*_numpy_hooks(lib, calls)):
            loss = _model_loss(lib, *params)
        packed = calls[0]
        loss.backward()
        # every packed tensor is unpacked when backward needs it (counts below may differ from torch's: each
        # minigrad node packs the arrays it keeps, e.g. pow keeps its result where torch recomputes it)
        assert packed > 0 and calls[1] == packed
        return [loss, *(p.grad for p in params)]

    _both(case)


def test_hook_calls_are_counted_like_torch_on_simple_ops():
    def case(lib):
        calls = [0, 0]

        def pack(t):
            calls[0] += 1
            return t

        def unpack(t):
            calls[1] += 1
            return t

        x, w, _ = _params(lib)
        with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = (x @ w).exp()
            z = (y * w.sum()).tanh().sum()
            e, s = _exp_sin(lib).apply(x)
        after_forward = list(calls)
        z.backward(retain_graph=True)
        z.backward()  # a second backward unpacks again
        (e + s).sum().backward()
        return [after_forward, calls, x.grad, w.grad]

    _both(case)


def test_hooks_under_create_graph_match_torch():
    def case(lib):
        calls = [0, 0]
        params = _params(lib)
        with lib.autograd.graph.saved_tensors_hooks(*_numpy_hooks(lib, calls)):
            loss = _model_loss(lib, *params)
        grads = lib.autograd.grad(loss, params, create_graph=True)
        second = lib.autograd.grad(sum((g * g).sum() for g in grads), params)
        return [grads, second]

    _both(case)


def test_nested_hooks_use_the_innermost_pair():
    def case(lib):
        outer, inner = [0, 0], [0, 0]
        x, w, _ = _params(lib)
        with lib.autograd.graph.saved_tensors_hooks(*_numpy_hooks(lib, outer)):
            a = x * w.sum()
            with lib.autograd.graph.saved_tensors_hooks(*_numpy_hooks(lib, inner)):
                c = (a * x).exp()
        c.sum().backward()
        return [outer, inner, x.grad]

    _both(case)


def test_save_on_cpu_keeps_values_and_gradients():
    def case(lib):
        params = _params(lib)
        with lib.autograd.graph.save_on_cpu():
            loss = _model_loss(lib, *params)
        loss.backward()
        return [loss, *(p.grad for p in params)]

    _both(case)


def test_unpack_hook_of_the_wrong_shape_raises():
    x, w, _ = _params(mg)
    with mg.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t[:1]):
        loss = (x @ w).sum()
    # torch computes with whatever the hook returns; minigrad refuses, rather than give a wrong gradient
    with pytest.raises(RuntimeError, match=r"unpack_hook returned a tensor of shape \[1, 3\] for a tensor of shape"):
        loss.backward()
    with mg.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t[:1]):
        out = _exp_sin(mg).apply(x)[0].sum()
    with pytest.raises(RuntimeError, match="unpack_hook returned a tensor of shape"):
        out.backward()


def test_unpack_hook_that_returns_no_tensor_raises_like_torch():
    def case(lib):
        x, w, _ = _params(lib)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: 3):
            loss = (x @ w).sum()
        with pytest.raises(TypeError) as e:
            loss.backward()
        return str(e.value)

    _both(case)


def test_hooks_are_per_thread_and_off_outside_the_block():
    calls = [0, 0]
    x, w, _ = _params(mg)
    other = []
    with mg.autograd.graph.saved_tensors_hooks(*_numpy_hooks(mg, calls)):
        thread = threading.Thread(target=lambda: other.append((x * w.sum()).sum()))
        thread.start()
        thread.join()
    (x * w.sum()).sum().backward()
    other[0].backward()
    assert calls == [0, 0]


# ------------------------------------------------------------------ in-place writes, node hooks, second backward
def _mul_saving_output(lib):
    class MulOut(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            out = x * y
            ctx.save_for_backward(x, out)
            return out

        @staticmethod
        def backward(ctx, g):
            x, out = ctx.saved_tensors
            return g * out / x, g * x

    return MulOut


@pytest.mark.parametrize("written", ["saved leaf", "saved input", "unsaved input", "output"])
def test_in_place_write_to_a_saved_tensor_raises_like_torch(written):
    def case(lib):
        x0, y0 = _x(lib, (1.0, 2.0)), _x(lib, (3.0, 4.0))
        x, y = x0 * 1, y0 * 1
        out = _mul_saving_output(lib).apply(x0 if written == "saved leaf" else x, y)
        if written == "saved leaf":
            with lib.no_grad():
                x0.add_(1)
        else:
            {"saved input": x, "unsaved input": y, "output": out}[written].add_(1)
        try:
            out.sum().backward()
        except RuntimeError as e:
            return str(e).split(":")[0]  # the kinds of tensor in the rest of the message differ by name
        return [x0.grad, y0.grad]

    _both(case)


def test_node_hooks_on_a_function_with_several_outputs():
    def case(lib):
        seen = []
        x, y = _x(lib), _x(lib, (2.0, 3.0, 4.0))
        prod, sin, _, _ = _split_fn(lib, []).apply(x, y)
        prod.grad_fn.register_prehook(lambda go: seen.append(["pre", *go]) or (go[0] * 10, *go[1:]))
        handle = sin.grad_fn.register_hook(lambda gi, go: seen.append(["post", *gi, *go]))
        (prod * 2).sum().backward(retain_graph=True)
        handle.remove()
        prod.sum().backward()
        return [x.grad, y.grad, seen]

    _both(case)

    def wrong_count(lib):
        prod, *_ = _split_fn(lib, []).apply(_x(lib), _x(lib))
        prod.grad_fn.register_prehook(lambda go: go[:2])
        with pytest.raises(RuntimeError, match="has returned an incorrect number of values") as e:
            prod.sum().backward()
        return str(e.value)

    _same(wrong_count(mg), wrong_count(torch))


def test_a_second_backward_runs_when_nothing_was_saved_and_raises_when_something_was():
    def case(lib):
        class Scale(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 3, x * 4

            @staticmethod
            def backward(ctx, ga, gb):
                return ga * 3 + gb * 4

        x = _x(lib)
        a, b = Scale.apply(x)
        a.sum().backward()
        a.sum().backward()  # nothing saved: torch runs the node again
        e = _exp_sin(lib).apply(x)[0].sum()
        e.backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            e.backward()
        return x.grad

    _both(case)


def test_gradcheck_and_gradgradcheck_of_functions_with_several_outputs():
    def case(lib):
        split = _split_fn(lib, [])
        y = _x(lib, (1.5, 0.25, -3.0))
        first = lib.autograd.gradcheck(lambda a, b: split.apply(a, b)[:2], (_x(lib), y))
        second = lib.autograd.gradgradcheck(lambda a: _exp_sin(lib).apply(a), (_x(lib),))
        return [first, second]

    _both(case)


def test_outputs_that_are_views_of_the_input():
    def case(lib):
        class Views(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x[1:], x.view(3, 1)

            @staticmethod
            def backward(ctx, g_tail, g_col):
                g = g_col.reshape(3).clone()
                g[1:] += g_tail
                return g

        x = _x(lib)
        tail, col = Views.apply(x)
        (tail.sum() * 2 + (col * col).sum()).backward()
        return [x.grad, tail, col]

    _both(case)


def test_hooks_on_the_course_cnn_match_torch():
    """Every op of the course CNN (embedding, conv1d, relu, pooling, linear, cross-entropy) through NumPy copies."""
    from solubility.model import build_model

    tokens, labels = np.array([[3, 7, 1, 12, 5, 9, 2], [4, 4, 18, 6, 11, 0, 0]]), np.array([1, 0])
    torch.manual_seed(0)
    kw = dict(embed_dim=6, hidden_dim=5, dropout=0.0)
    tm = build_model(torch, dtype=torch.float64, **kw)
    mm = build_model(mg, dtype=mg.float64, **kw)
    mm.load_state_dict({k: mg.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    grads = {}
    for lib, model in ((mg, mm), (torch, tm)):
        calls = [0, 0]
        with lib.autograd.graph.saved_tensors_hooks(*_numpy_hooks(lib, calls)):
            loss = lib.nn.functional.cross_entropy(model(lib.tensor(tokens)), lib.tensor(labels))
        loss.backward()
        assert calls[0] > 0 and calls[1] == calls[0]
        grads[lib] = [loss, *(p.grad for _, p in sorted(model.named_parameters()))]
    _same(_np(grads[mg]), _np(grads[torch]))


@pytest.mark.parametrize("hooks", ["identity", "numpy copy"])
def test_hooks_own_saved_tensors_so_in_place_writes_do_not_raise(hooks):
    """torch compares no version for a tensor given to hooks: backward reads what unpack returns (the written
    values for hooks that keep the tensor itself, the values at record time for a copy)."""

    def case(lib):
        pair = (lambda t: t, lambda t: t) if hooks == "identity" else _numpy_hooks(lib, [0, 0])
        x, w = _x(lib, (1.0, 2.0)), _x(lib, (3.0, 4.0))
        a = x * 1
        with lib.autograd.graph.saved_tensors_hooks(*pair):
            y = (a * w).sum()
        a.add_(1)
        y.backward()
        return [w.grad, x.grad]

    _both(case)


def test_save_on_cpu_and_several_outputs_on_a_gpu(monkeypatch):
    """On a (fake) GPU: what save_on_cpu packs lives in host memory, and the gradients equal the CPU run's."""
    from minigrad import _fakegpu, backend

    monkeypatch.setattr(backend, "_gpu_module", _fakegpu)

    def run(device):
        params = [p.detach().to(device).requires_grad_() for p in _params(mg)]
        with mg.autograd.graph.save_on_cpu():
            loss = _model_loss(mg, *params)
            probe = params[0] * params[0]
        (payload, _shape, _device) = probe.grad_fn._packed.entries[0][1]
        assert payload[0].type == device and payload[1].device.type == "cpu"
        loss.backward()
        assert all(p.grad.device.type == device for p in params)
        return [loss.cpu(), *(p.grad.cpu() for p in params)]

    _same(_np(run("cuda")), _np(run("cpu")))


def test_chained_functions_mixed_dtypes_retain_grad_and_tensor_hooks():
    def case(lib):
        seen = []

        class Halves(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return (x * 0.5).float(), x * 1.5

            @staticmethod
            def backward(ctx, g_low, g_high):
                seen.append([g_low, g_high, ctx.needs_input_grad])
                return g_low.double() * 0.5 + g_high * 1.5

        x = _x(lib)
        low, high = Halves.apply(x)
        low.retain_grad()
        high.register_hook(lambda g: g * 2)
        low2, high2 = Halves.apply(high)
        (low.double() * 3 + low2.double() * high2).sum().backward()
        return [x.grad, low.grad, low.dtype == lib.float32, seen]

    _both(case)


@pytest.mark.parametrize("boom_first", [True, False])
def test_a_failed_pass_leaves_no_gradient_behind(boom_first):
    """A backward that raises after one output's gradient was handed over must not leak it into the next."""

    def case(lib):
        class Boom(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 1

            @staticmethod
            def backward(ctx, g):
                raise ValueError("boom")

        seen = []
        x, y = _x(lib), _x(lib)
        prod, sin, _, _ = _split_fn(lib, seen).apply(x, y)
        parts = [Boom.apply(sin).sum(), (prod * 5).sum()]
        with pytest.raises(ValueError, match="boom"):
            (parts[0] + parts[1] if boom_first else parts[1] + parts[0]).backward(retain_graph=True)
        sin.sum().backward()
        return [x.grad, y.grad, seen]

    _both(case)


def test_pack_hooks_run_with_recording_off_and_save_on_cpu_keeps_cpu_tensors():
    def case(lib):
        modes = []

        def pack(t):
            modes.append([lib.is_grad_enabled(), (t * t).requires_grad])
            return t

        x, w = _x(lib, (1.0, 2.0)), _x(lib, (3.0, 4.0))
        with lib.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            (x * w).sum()
        a = x * 1
        with lib.autograd.graph.save_on_cpu():
            y = (a * w).sum()
        a.add_(10)  # save_on_cpu keeps a CPU tensor itself (no copy): the gradient sees the write, as torch's
        y.backward()
        return [modes, w.grad, x.grad]

    _both(case)


def test_unpack_hook_that_returns_another_device_raises(monkeypatch):
    from minigrad import _fakegpu, backend

    monkeypatch.setattr(backend, "_gpu_module", _fakegpu)
    x, w = (p.detach().to("cuda").requires_grad_() for p in _params(mg)[:2])
    with mg.autograd.graph.saved_tensors_hooks(lambda t: t.cpu(), lambda t: t):  # forgets to move it back
        loss = (x @ w).sum()
    with pytest.raises(RuntimeError, match="unpack_hook returned a tensor on cpu for a tensor saved on cuda"):
        loss.backward()
