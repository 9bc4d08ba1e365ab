"""minigrad.autograd.functional (jacobian, hessian, vjp, jvp, vhp, hvp) gives torch's results, structure and errors."""

import numpy as np
import pytest
import torch

import minigrad as mg


def _f_single(lib, x):
    return (x.sin() * x).cumsum(0)


def _f_multi(lib, a, b):
    return (a @ b).tanh(), (a * a).sum(1)


def _tensors(lib, arrays):
    return tuple(lib.tensor(a) for a in arrays)


def _same(got, want):
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w)
        return
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-14)


ARGS = {
    "single": (_f_single, [np.linspace(-1, 2, 4)]),
    "multi": (_f_multi, [np.arange(6.0).reshape(2, 3) / 7, np.arange(12.0).reshape(3, 4) / 11]),
}


@pytest.mark.parametrize("case", list(ARGS))
def test_jacobian_matches_torch(case):
    fn, arrays = ARGS[case]
    for inputs_as_tuple in (True, False) if len(arrays) == 1 else (True,):

        def call(lib, arrays=arrays, as_tuple=inputs_as_tuple, fn=fn):
            inputs = _tensors(lib, arrays)
            return lib.autograd.functional.jacobian(lambda *xs: fn(lib, *xs), inputs if as_tuple else inputs[0])

        _same(call(mg), call(torch))


@pytest.mark.parametrize("case", list(ARGS))
def test_forward_mode_jacobian_matches_torch(case):
    fn, arrays = ARGS[case]

    def call(lib):
        f = lambda *xs: fn(lib, *xs)  # noqa: E731
        return lib.autograd.functional.jacobian(f, _tensors(lib, arrays), strategy="forward-mode", vectorize=True)

    _same(call(mg), call(torch))
    with pytest.raises(NotImplementedError, match="requires `vectorize=True`"):
        mg.autograd.functional.jacobian(lambda x: x, mg.ones(2), strategy="forward-mode")


def _scalar(lib, a, b):
    return (a.exp() @ b.sin()).sum() + (a * a).sum() * b.cos().sum()


SCALAR_ARRAYS = [np.arange(6.0).reshape(2, 3) / 7, np.arange(12.0).reshape(3, 4) / 11 - 0.4]


def test_hessian_matches_torch():
    def call(lib, *arrays):
        return lib.autograd.functional.hessian(lambda *xs: _scalar(lib, *xs), _tensors(lib, arrays))

    _same(call(mg, *SCALAR_ARRAYS), call(torch, *SCALAR_ARRAYS))

    def single(lib):
        return lib.autograd.functional.hessian(
            lambda x: (x.sin() * x).sum(), lib.tensor([0.3, -1.0], dtype=lib.float64)
        )

    _same(single(mg), single(torch))


@pytest.mark.parametrize("kind", ["vhp", "hvp"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_hessian_vector_products_match_torch(kind, create_graph):
    rng = np.random.default_rng(2)
    vs = [rng.standard_normal(a.shape) for a in SCALAR_ARRAYS]
    results = {}
    for lib in (mg, torch):
        inputs = tuple(lib.tensor(a, requires_grad=create_graph) for a in SCALAR_ARRAYS)
        out, prod = getattr(lib.autograd.functional, kind)(
            lambda *xs: _scalar(lib, *xs), inputs, tuple(lib.tensor(v) for v in vs), create_graph=create_graph
        )
        assert all(p.requires_grad == create_graph for p in prod)
        if create_graph:  # the product is differentiable again, back to the inputs
            sum(p.sum() for p in prod).backward()
            prod = prod + tuple(x.grad for x in inputs)
        results[lib] = (out, *prod)
    _same(results[mg], results[torch])


def test_create_graph_keeps_jacobian_and_vjp_differentiable():
    results = {}
    for lib in (mg, torch):
        x = lib.tensor(np.linspace(-1, 2, 4), requires_grad=True)
        jac = lib.autograd.functional.jacobian(lambda t: (t.sin() * t).cumsum(0), x, create_graph=True)
        _, v = lib.autograd.functional.vjp(lambda t: t.exp() * t, x, lib.ones(4, dtype=lib.float64), create_graph=True)
        (jac.sum() + v.sum()).backward()
        results[lib] = (jac, v, x.grad)
    _same(results[mg], results[torch])


@pytest.mark.parametrize("case", list(ARGS))
@pytest.mark.parametrize("kind", ["vjp", "jvp"])
def test_vector_products_match_torch(case, kind):
    fn, arrays = ARGS[case]
    rng = np.random.default_rng(1)
    probe = {lib: fn(lib, *_tensors(lib, arrays)) for lib in (torch,)}[torch]
    probe = probe if isinstance(probe, tuple) else (probe,)
    shapes = [tuple(p.shape) for p in probe] if kind == "vjp" else [a.shape for a in arrays]
    vs = [rng.standard_normal(s) for s in shapes]

    def call(lib):
        v = tuple(lib.tensor(x) for x in vs)
        inputs = _tensors(lib, arrays)
        return getattr(lib.autograd.functional, kind)(
            lambda *xs: fn(lib, *xs),
            inputs if len(inputs) > 1 else inputs[0],
            v if len(v) > 1 else v[0],
        )

    _same(call(mg), call(torch))


def test_strict_mode_and_errors_match_torch():
    for lib in (torch, mg):
        x = lib.tensor([1.0, 2.0])
        with pytest.raises(RuntimeError, match="does not require gradients"):
            lib.autograd.functional.jacobian(lambda a: lib.ones(2), x, strict=True)
        with pytest.raises(RuntimeError, match="can only be None"):
            lib.autograd.functional.vjp(lambda a: a * 2, x)
        with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
            lib.autograd.functional.jacobian(lambda a: a, [1.0])
    _same(mg.autograd.functional.jacobian(lambda a: mg.ones(2), mg.tensor([1.0, 2.0])), torch.zeros(2, 2))


def test_the_inputs_are_not_modified_and_need_no_grad():
    x = mg.tensor([1.0, 2.0])
    mg.autograd.functional.jacobian(lambda a: a**2, x)
    assert not x.requires_grad and x.grad is None
