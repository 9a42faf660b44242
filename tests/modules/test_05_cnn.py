"""Package tests for module 05: tinytorch.core.cnn, against NumPy's sliding_window_view."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from strategies import FAST, arrays
from tinytorch.core.cnn import (Conv2D, Flatten, MultiChannelConv2D, conv2d_naive, conv2d_vectorized, flatten,
                                flatten_batch)
from tinytorch.core.layers import make_parameter
from tinytorch.core.tensor import Tensor


def as_array(t):
    """The NumPy array inside a Tensor (or a Variable, whose data is a Tensor)."""
    while not isinstance(t, np.ndarray):
        t = t.data
    return t


def reference(x, w):
    """im2col as a strided view, then one contraction: (N, C, H, W) x (O, C, kH, kW) -> (N, O, oh, ow)."""
    windows = sliding_window_view(x.astype(np.float64), w.shape[2:], axis=(2, 3))
    return np.einsum("ncyxij,ocij->noyx", windows, w.astype(np.float64))


@st.composite
def conv_problems(draw, max_side=7, max_channels=3):
    """(x, w): x (N, C, H, W), w (O, C, kH, kW) with the kernel fitting inside the image."""
    n, c, o = draw(st.integers(1, 3)), draw(st.integers(1, max_channels)), draw(st.integers(1, max_channels))
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    kh, kw = draw(st.integers(1, h)), draw(st.integers(1, w))
    return draw(arrays((n, c, h, w))), draw(arrays((o, c, kh, kw)))


# ---- conv2d_naive -------------------------------------------------------------------------------

def test_conv2d_naive_worked_example():
    x = np.arange(1.0, 10.0).reshape(3, 3)
    np.testing.assert_array_equal(conv2d_naive(x, np.eye(2)), [[6, 8], [12, 14]])


@FAST
@given(conv_problems(max_channels=1))
def test_conv2d_naive_matches_sliding_window_view(problem):
    x, w = problem
    out = conv2d_naive(x[0, 0], w[0, 0])
    assert out.shape == (x.shape[2] - w.shape[2] + 1, x.shape[3] - w.shape[3] + 1)
    assert out.dtype.kind == "f"
    np.testing.assert_allclose(out, reference(x[:1, :1], w[:1])[0, 0], rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("x_shape, k_shape", [((5, 5), (6, 2)), ((5, 5), (2, 6)), ((5,), (2, 2)),
                                               ((5, 5, 1), (2, 2)), ((5, 5), (2,))])
def test_conv2d_naive_bad_shapes(x_shape, k_shape):
    with pytest.raises(ValueError, match=r"expected .*got") as err:
        conv2d_naive(np.ones(x_shape), np.ones(k_shape))
    assert str(x_shape[-1]) in str(err.value)


# ---- conv2d_vectorized ----------------------------------------------------------------------------

@FAST
@given(conv_problems(), st.booleans())
def test_conv2d_vectorized_matches_reference(problem, use_bias):
    x, w = problem
    bias = np.linspace(-1, 1, w.shape[0]).astype(np.float32) if use_bias else None
    expected = reference(x, w) + (bias.reshape(1, -1, 1, 1) if use_bias else 0)
    out = conv2d_vectorized(x, w, bias)                       # NumPy arrays in, NumPy out
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-3)
    out_t = conv2d_vectorized(Tensor(x), Tensor(w), None if bias is None else Tensor(bias))
    assert type(out_t) is Tensor and out_t.dtype == np.float32
    np.testing.assert_allclose(out_t.data, expected, rtol=1e-4, atol=1e-3)


@FAST
@given(conv_problems(max_channels=1))
def test_conv2d_vectorized_matches_naive_loop(problem):
    x, w = problem
    for n in range(x.shape[0]):
        np.testing.assert_allclose(conv2d_vectorized(x, w)[n, 0], conv2d_naive(x[n, 0], w[0, 0]),
                                   rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("x_shape, w_shape, needle", [
    ((1, 2, 5, 5), (3, 3, 2, 2), "3 channels"),       # channel mismatch
    ((1, 1, 3, 3), (1, 1, 4, 1), r"\(4, 1\)"),          # kernel larger than the image
    ((1, 5, 5), (1, 1, 2, 2), r"\(1, 5, 5\)"),          # not 4-D
])
def test_conv2d_vectorized_bad_shapes(x_shape, w_shape, needle):
    with pytest.raises(ValueError, match=needle) as err:
        conv2d_vectorized(np.ones(x_shape), np.ones(w_shape))
    assert "expected" in str(err.value) and "got" in str(err.value)


# ---- Conv2D -------------------------------------------------------------------------------------

def test_conv2d_layer_parameter():
    np.random.seed(0)
    layer = Conv2D((2, 3))
    assert layer.kernel.shape == (2, 3) and layer.kernel.dtype == np.float32
    assert type(layer.kernel) is type(make_parameter(np.zeros(1)))
    assert layer.parameters() == [layer.kernel]
    assert Conv2D(3).kernel.shape == (3, 3)


@FAST
@given(conv_problems(max_channels=1))
def test_conv2d_layer_matches_naive_loop(problem):
    x, w = problem
    layer = Conv2D(w.shape[2:])
    layer.kernel = make_parameter(w[0, 0])
    out = layer(Tensor(x[0, 0]))
    assert isinstance(out, Tensor) and out.shape == (x.shape[2] - w.shape[2] + 1, x.shape[3] - w.shape[3] + 1)
    np.testing.assert_allclose(as_array(out), conv2d_naive(x[0, 0], w[0, 0]), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(as_array(layer.forward(Tensor(x[0, 0]))), as_array(out))


@pytest.mark.parametrize("size", [0, -1, (2,), (2, 3, 4), (2, 0), 2.5, "3", True, (2, 2.0)])
def test_conv2d_bad_kernel_size(size):
    with pytest.raises(ValueError, match="expected .*got"):
        Conv2D(size)


def test_conv2d_layer_bad_input():
    with pytest.raises(ValueError, match=r"expected a 2-D image .*got shape \(1, 6, 6\)"):
        Conv2D(3)(Tensor(np.ones((1, 6, 6))))
    with pytest.raises(ValueError, match="expected"):
        Conv2D(4)(Tensor(np.ones((3, 6))))


# ---- MultiChannelConv2D -----------------------------------------------------------------------------

def test_multichannel_parameters():
    np.random.seed(0)
    conv = MultiChannelConv2D(3, 8, (3, 2))
    assert conv.weight.shape == (8, 3, 3, 2) and conv.weight.dtype == np.float32
    assert conv.bias.shape == (8,) and not as_array(conv.bias).any()
    assert conv.parameters() == [conv.weight, conv.bias]
    spread = as_array(MultiChannelConv2D(8, 16, 3).weight).std()
    assert 0.5 * np.sqrt(2 / 72) < spread < 1.5 * np.sqrt(2 / 72), "He scaling: std ≈ sqrt(2 / fan_in)"
    nobias = MultiChannelConv2D(1, 2, 3, use_bias=False)
    assert nobias.bias is None and nobias.parameters() == [nobias.weight]


@FAST
@given(conv_problems())
def test_multichannel_forward_matches_reference(problem):
    x, w = problem
    conv = MultiChannelConv2D(w.shape[1], w.shape[0], w.shape[2:])
    conv.weight = make_parameter(w)
    conv.bias = make_parameter(np.arange(w.shape[0], dtype=np.float32))
    out = conv(Tensor(x))
    assert isinstance(out, Tensor)
    expected = reference(x, w) + np.arange(w.shape[0]).reshape(1, -1, 1, 1)
    np.testing.assert_allclose(as_array(out), expected, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("args", [(0, 1, 3), (1, -2, 3), (1.5, 2, 3), (1, 2, 0)])
def test_multichannel_bad_arguments(args):
    with pytest.raises(ValueError, match="expected .*got"):
        MultiChannelConv2D(*args)


@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (3, 8, 8), (2, 1, 2, 8)])
def test_multichannel_bad_input(shape):
    with pytest.raises(ValueError, match=r"expected .*got"):
        MultiChannelConv2D(1, 4, 3)(Tensor(np.ones(shape)))


# ---- flatten --------------------------------------------------------------------------------------

@FAST
@given(arrays(min_dims=1, max_dims=4))
def test_flatten(x):
    f = flatten(Tensor(x))
    assert type(f) is Tensor and f.shape == (1, x.size)
    np.testing.assert_array_equal(f.data, x.reshape(1, -1))
    fb = flatten_batch(Tensor(x))
    assert fb.shape == (x.shape[0], x.size // x.shape[0])
    np.testing.assert_array_equal(fb.data, x.reshape(x.shape[0], -1))
    np.testing.assert_array_equal(Flatten()(Tensor(x)).data, fb.data)
    assert Flatten().parameters() == []


def test_flatten_batch_needs_a_batch_axis():
    with pytest.raises(ValueError, match="expected .*got shape \\(\\)"):
        flatten_batch(Tensor(3.0))


# ---- the array protocol: a Tensor subclass flows through (module 07's Variable will) ---------------

ALLOWED = {"__add__", "__radd__", "__mul__", "__rmul__", "__matmul__", "__rmatmul__", "__getitem__",
           "reshape", "transpose"}


class Traced(Tensor):
    """A Tensor subclass that overrides the operators, records them, and keeps its own type."""

    log: list[str] = []

    @classmethod
    def of(cls, values):
        out = cls.__new__(cls)
        out._data = np.asarray(values.data if isinstance(values, Tensor) else values, dtype=np.float32)
        return out

    @property
    def data(self):
        Traced.log.append("data")
        return self._data

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        Traced.log.append(f"ufunc {ufunc.__name__}")
        return Traced.of(Tensor.__array_ufunc__(self, ufunc, method, *inputs, **kwargs))

    def __array__(self, dtype=None, copy=None):
        Traced.log.append("__array__")
        return Tensor.__array__(self, dtype, copy)


def _traced(name):
    def method(self, *args, **kwargs):
        Traced.log.append(name)
        result = getattr(Tensor, name)(self, *args, **kwargs)
        return result if result is NotImplemented else Traced.of(result)
    method.__name__ = name
    return method


for _name in sorted(ALLOWED | {"__sub__", "__rsub__", "__truediv__", "__rtruediv__", "__neg__", "__pow__",
                                "sum", "mean", "max"}):
    setattr(Traced, _name, _traced(_name))


@pytest.fixture
def trace():
    Traced.log = []
    yield Traced.log
    Traced.log = []


def test_conv2d_forward_flows_a_tensor_subclass(trace):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 5)).astype(np.float32)
    layer = Conv2D((3, 2))
    out = layer(Traced.of(x))
    assert type(out) is Traced, "the input's type must flow through Conv2D.forward"
    np.testing.assert_allclose(out._data, conv2d_naive(x, as_array(layer.kernel)), rtol=1e-5, atol=1e-5)
    assert trace and set(trace) <= ALLOWED, f"Conv2D used operations outside the protocol: {set(trace) - ALLOWED}"


def test_conv2d_kernel_subclass_takes_over(trace):
    """A parameter of a subclass type (as make_parameter gives with autograd) makes the output that type."""
    x = np.random.default_rng(1).normal(size=(5, 5)).astype(np.float32)
    layer = Conv2D(3)
    kernel = as_array(layer.kernel)
    layer.kernel = Traced.of(kernel)
    out = layer(Tensor(x))
    assert type(out) is Traced
    np.testing.assert_allclose(out._data, conv2d_naive(x, kernel), rtol=1e-5, atol=1e-5)
    assert set(trace) <= ALLOWED


def test_multichannel_forward_flows_a_tensor_subclass(trace):
    x = np.random.default_rng(2).normal(size=(2, 3, 6, 6)).astype(np.float32)
    conv = MultiChannelConv2D(3, 4, 3)
    w = as_array(conv.weight)
    conv.weight, conv.bias = Traced.of(w), Traced.of(np.ones(4))
    out = conv(Tensor(x))
    assert type(out) is Traced and out.shape == (2, 4, 4, 4)
    np.testing.assert_allclose(out._data, reference(x, w) + 1, rtol=1e-4, atol=1e-4)
    assert set(trace) <= ALLOWED, f"operations outside the protocol: {set(trace) - ALLOWED}"
    trace.clear()
    flat = Flatten()(Traced.of(x))
    assert type(flat) is Traced and set(trace) <= ALLOWED
