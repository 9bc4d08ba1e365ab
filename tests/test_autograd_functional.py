"""minigrad.autograd.functional (jacobian, vjp, jvp) gives torch's results, structure and errors."""

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
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-14)


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
