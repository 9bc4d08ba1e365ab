"""The fake GPU stand-in (minigrad._fakegpu) itself: it must behave like CuPy at the type boundary,
or the device tests built on it would prove nothing."""

import copy
import pickle

import numpy as np
import pytest

import minigrad as mg
from minigrad import _fakegpu as fg
from minigrad import backend


@pytest.fixture(autouse=True)
def fake_gpu(monkeypatch):
    monkeypatch.setattr(backend, "_gpu_module", fg)
    yield fg


def dev(a):
    return fg.asarray(np.asarray(a))


def test_arrays_are_a_distinct_type_and_compute_like_numpy():
    h = np.arange(6.0).reshape(2, 3)
    a = dev(h)
    assert isinstance(a, fg.ndarray) and not isinstance(a, np.ndarray)
    assert backend.get_array_module(a) is fg and fg.get_array_module(a) is fg and fg.get_array_module(h) is np
    np.testing.assert_array_equal(fg.asnumpy(fg.exp(a) * 2 - (a @ a.T)[:, :1]), np.exp(h) * 2 - (h @ h.T)[:, :1])
    assert a.shape == (2, 3) and a.dtype == np.float64 and a.ndim == 2 and a.size == 6 and a.nbytes == 48
    assert a.strides == h.strides and a.T.shape == (3, 2) and a.device.id == 0


@pytest.mark.parametrize("convert", [np.asarray, np.array, lambda a: np.add(np.ones(3), a), list])
def test_implicit_conversion_to_numpy_raises(convert):
    a = dev([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed|Unsupported type"):
        convert(a) if convert is not list else np.asarray(a)


def test_mixing_host_and_device_arrays_raises_everywhere():
    a, h = dev([1.0, 2.0, 3.0]), np.ones(3)
    for bad in (
        lambda: a + h,
        lambda: h + a,
        lambda: a * h,
        lambda: h < a,
        lambda: fg.add(a, h),
        lambda: fg.where(a > 1, a, h),
        lambda: fg.concatenate([a, h]),
        lambda: np.concatenate([a, h]),
        lambda: a.dot(h),
    ):
        with pytest.raises(TypeError, match="Unsupported type"):
            bad()
    with pytest.raises(TypeError, match="Unsupported type"):
        a[0:3] = h
    with pytest.raises(TypeError, match="Unsupported type"):
        a += h
    # scalars (Python and NumPy) are fine, as in CuPy
    np.testing.assert_array_equal((a + 1 + np.float64(2.0) * a).get(), [4.0, 7.0, 10.0])


def test_explicit_moves_copy():
    h = np.arange(3.0)
    a = fg.asarray(h)
    h[0] = 99.0  # the device copy does not see later host writes
    assert a.get()[0] == 0.0
    back = fg.asnumpy(a)
    back[1] = -1.0
    assert float(a[1]) == 1.0
    assert fg.asnumpy(h) is not None and fg.asarray(a) is a


def test_reductions_and_scalar_indexing_give_0d_device_arrays():
    a = dev([[1.0, 5.0], [3.0, 2.0]])
    for r in (a.sum(), a.max(), a[1, 0], fg.mean(a), a.argmax(), fg.sum(a)):
        assert isinstance(r, fg.ndarray) and r.shape == ()
    assert float(a.sum()) == 11.0 and int(a.argmax()) == 1 and a[0, 1].item() == 5.0 and bool(a[0, 0] == 1.0)
    assert a.tolist() == [[1.0, 5.0], [3.0, 2.0]]


def test_views_share_memory_and_in_place_ops_stay_in_place():
    a = dev(np.zeros((2, 3)))
    v = a[:, 1]
    v += 5.0
    a[0] = 1.0
    np.testing.assert_array_equal(a.get(), [[1.0, 1.0, 1.0], [0.0, 5.0, 0.0]])
    a[dev(np.array([1, 1]))] += 1.0  # device index arrays are fine
    a[np.array([0])] = 7.0  # host index arrays are converted, as CuPy does
    assert a.get()[0, 0] == 7.0 and a.get()[1, 0] == 1.0


def test_flags_are_cupys():
    a = dev(np.zeros((2, 3)))
    assert a.flags.c_contiguous and a.flags["C_CONTIGUOUS"] and not a.T.flags.c_contiguous
    assert not hasattr(a.flags, "writeable")  # CuPy has no writeable flag: code must not rely on it


def test_ufunc_methods_and_scatter_add_dtypes():
    g = dev(np.zeros(4))
    fg.add.at(g, dev(np.array([0, 2, 2, 2])), dev(np.array([1.0, 2.0, 3.0, 4.0])))
    np.testing.assert_array_equal(g.get(), [1.0, 0.0, 9.0, 0.0])  # repeated indices accumulate
    with pytest.raises(TypeError, match="does not support dtype int64"):
        fg.add.at(dev(np.zeros(3, np.int64)), dev(np.array([0])), 1)
    np.testing.assert_array_equal(fg.maximum.reduce(dev([[1.0, 4.0], [3.0, 2.0]]), axis=0).get(), [3.0, 4.0])
    np.testing.assert_array_equal(fg.multiply.outer(dev([1.0, 2.0]), dev([3.0])).get(), [[3.0], [6.0]])


def test_numpy_functions_on_device_arrays_stay_on_the_device():
    a = dev([1.0, 4.0])
    for r in (np.sqrt(a), np.concatenate([a, a]), np.stack([a, a]), np.where(a > 2, a, 0.0)):
        assert isinstance(r, fg.ndarray)


def test_what_cupy_lacks_is_missing():
    assert not hasattr(fg, "errstate")  # CuPy has no errstate: `with xp.errstate(...)` would break on a GPU
    with pytest.raises(NotImplementedError, match="cannot compile CUDA"):
        fg.ElementwiseKernel("T x", "T y", "y = x", "copy")
    assert fg.fuse(lambda x: x * 2)(3) == 6  # cupy.fuse-decorated Python still runs
    with pytest.raises(AttributeError):
        _ = fg.no_such_function


def test_no_floating_point_warnings_as_on_a_gpu():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = dev([0.0, 1.0]) / dev([0.0, 0.0])
    assert np.isnan(r.get()[0]) and np.isinf(r.get()[1])


def test_two_devices_current_device_and_mixing():
    with fg.cuda.Device(1):
        b = fg.asarray(np.ones(2))
        assert fg.zeros(2).device.id == 1
    a = fg.asarray(np.ones(2))
    assert a.device.id == 0 and b.device.id == 1 and (b + 1).device.id == 1
    with pytest.raises(ValueError, match="device"):
        a + b
    with pytest.raises(ValueError, match="device"):
        fg.add(a, b)
    assert b.copy().device.id == 0  # CuPy copies onto the *current* device
    with pytest.raises(RuntimeError, match="invalid device"):
        fg.cuda.Device(fg.DEVICE_COUNT)
    assert fg.cuda.runtime.getDeviceCount() == fg.DEVICE_COUNT


def test_pickle_and_deepcopy_keep_values_and_device():
    with fg.cuda.Device(1):
        a = fg.asarray(np.arange(3.0))
    for b in (pickle.loads(pickle.dumps(a)), copy.deepcopy(a), copy.copy(a)):
        assert isinstance(b, fg.ndarray) and b.device.id == 1
        np.testing.assert_array_equal(b.get(), [0.0, 1.0, 2.0])
    assert b._a is not a._a


def test_tensors_on_the_stand_in():
    x = mg.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    assert isinstance(x.array, fg.ndarray) and x.is_cuda and str(x.device) == "cuda:0"
    with pytest.raises(TypeError, match=r"Use Tensor.cpu\(\)"):
        x.detach().numpy()
    with pytest.raises(TypeError):
        np.asarray(x.detach())
    assert "device='cuda:0'" in repr(x)
