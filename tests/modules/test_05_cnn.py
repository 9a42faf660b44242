"""Package tests for module 05: tinytorch.core.cnn, against NumPy's sliding_window_view, the naive loop,
finite differences, and the unfused (operation by operation) autograd path."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from strategies import FAST, arrays
from tinytorch.core.autograd import Variable
from tinytorch.core.cnn import (Conv2D, Flatten, MultiChannelConv2D, col2im, conv2d, conv2d_gemm, conv2d_grad_bias,
                                conv2d_grad_input, conv2d_grad_weight, conv2d_naive, conv2d_vectorized, flatten,
                                flatten_batch, im2col)
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


def test_conv2d_vectorized_flows_a_tensor_subclass(trace):
    """The unfused convolution keeps to the array protocol (MultiChannelConv2D uses the fused node instead)."""
    x = np.random.default_rng(2).normal(size=(2, 3, 6, 6)).astype(np.float32)
    w = np.random.default_rng(3).normal(size=(4, 3, 3, 3)).astype(np.float32)
    out = conv2d_vectorized(Tensor(x), Traced.of(w), Traced.of(np.ones(4)))
    assert type(out) is Traced and out.shape == (2, 4, 4, 4)
    np.testing.assert_allclose(out._data, reference(x, w) + 1, rtol=1e-4, atol=1e-4)
    assert set(trace) <= ALLOWED, f"operations outside the protocol: {set(trace) - ALLOWED}"
    trace.clear()
    flat = Flatten()(Traced.of(x))
    assert type(flat) is Traced and set(trace) <= ALLOWED


# ---- im2col, col2im, the GEMM forward and its backward -------------------------------------------

@FAST
@given(conv_problems())
def test_im2col_matches_sliding_window_view(problem):
    x, w = problem
    n, c, h, wd = x.shape
    kh, kw = w.shape[2:]
    oh, ow = h - kh + 1, wd - kw + 1
    cols = im2col(x, (kh, kw))
    assert cols.shape == (c * kh * kw, n * oh * ow) and cols.dtype == x.dtype
    windows = sliding_window_view(x, (kh, kw), axis=(2, 3))            # (N, C, oh, ow, kH, kW)
    np.testing.assert_array_equal(cols, windows.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, -1))


@FAST
@given(conv_problems())
def test_col2im_is_the_adjoint_of_im2col(problem):
    """<im2col(x), C> == <x, col2im(C)> for every x and C: col2im is im2col's transpose."""
    x, w = problem
    x = x.astype(np.float64)
    size = w.shape[2:]
    other = np.random.default_rng(0).normal(size=im2col(x, size).shape)
    back = col2im(other, x.shape, size)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(im2col(x, size) * other), np.sum(x * back), rtol=1e-9, atol=1e-9)


def test_col2im_counts_the_windows_over_each_pixel():
    counts = col2im(np.ones((4, 4)), (1, 1, 3, 3), (2, 2))
    np.testing.assert_array_equal(counts[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_im2col_col2im_bad_shapes():
    with pytest.raises(ValueError, match=r"im2col: expected .*got shape \(1, 5, 5\)"):
        im2col(np.ones((1, 5, 5)), (2, 2))
    with pytest.raises(ValueError, match=r"im2col: expected .*got shape \(1, 1, 2, 5\)"):
        im2col(np.ones((1, 1, 2, 5)), (3, 3))
    with pytest.raises(ValueError, match=r"col2im: expected cols of shape \(4, 4\) .*got \(4, 5\)"):
        col2im(np.ones((4, 5)), (1, 1, 3, 3), (2, 2))


@FAST
@given(conv_problems(), st.booleans())
def test_conv2d_gemm_matches_reference_and_vectorized(problem, use_bias):
    x, w = problem
    bias = np.linspace(-1, 1, w.shape[0]).astype(np.float32) if use_bias else None
    out, cols = conv2d_gemm(x, w, bias)
    expected = reference(x, w) + (bias.reshape(1, -1, 1, 1) if use_bias else 0)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(out, conv2d_vectorized(x, w, bias), rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(cols, im2col(x, w.shape[2:]))


def numeric_gradient(loss, array, eps=1e-6):
    """Central differences of loss() with respect to every element of the float64 `array` (restored after)."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + eps
        up = loss()
        array[index] = saved - eps
        down = loss()
        array[index] = saved
        grad[index] = (up - down) / (2 * eps)
    return grad


@FAST
@given(conv_problems(max_side=5, max_channels=2))
def test_conv2d_backward_functions_match_finite_differences(problem):
    x, w = (a.astype(np.float64) for a in problem)
    b = np.linspace(-1, 1, w.shape[0])
    out, cols = conv2d_gemm(x, w, b)
    r = np.random.default_rng(1).normal(size=out.shape)           # loss = sum(out * r): dL/dout = r
    loss = lambda: float(np.sum(conv2d_gemm(x, w, b)[0] * r))
    np.testing.assert_allclose(conv2d_grad_weight(r, cols, w.shape), numeric_gradient(loss, w), atol=1e-6)
    np.testing.assert_allclose(conv2d_grad_input(r, w, x.shape), numeric_gradient(loss, x), atol=1e-6)
    np.testing.assert_allclose(conv2d_grad_bias(r), numeric_gradient(loss, b), atol=1e-6)


# ---- conv2d: the fused graph node ---------------------------------------------------------------

def test_conv2d_returns_what_it_was_given():
    rng = np.random.default_rng(0)
    x, w, b = (rng.normal(size=s).astype(np.float32) for s in ((2, 3, 5, 5), (4, 3, 3, 3), (4,)))
    expected = reference(x, w) + b.reshape(1, 4, 1, 1)
    out = conv2d(x, w, b)
    assert type(out) is np.ndarray
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    out_t = conv2d(Tensor(x), Tensor(w), Tensor(b))
    assert type(out_t) is Tensor and out_t.dtype == np.float32
    np.testing.assert_allclose(out_t.data, expected, rtol=1e-5, atol=1e-5)


def test_conv2d_is_one_node_with_an_edge_per_input_that_needs_a_gradient():
    rng = np.random.default_rng(1)
    x = Tensor(rng.normal(size=(2, 1, 6, 6)))
    conv = MultiChannelConv2D(1, 3, 3)
    out = conv(x)
    assert isinstance(out, Variable) and out.requires_grad and out.grad_fn.name == "Conv2D"
    assert [parent for parent, _ in out.grad_fn.edges] == [conv.weight, conv.bias], "no edge for a constant input"
    xv = Variable(rng.normal(size=(2, 1, 6, 6)).astype(np.float32), requires_grad=True)
    out = conv2d(xv, Tensor(as_array(conv.weight)))
    assert [parent for parent, _ in out.grad_fn.edges] == [xv]
    constant = conv2d(Variable(as_array(xv), requires_grad=False), Tensor(as_array(conv.weight)))
    assert type(constant) is Tensor, "nothing needs a gradient: no graph node"


@FAST
@given(conv_problems(max_side=5, max_channels=2), st.booleans())
def test_conv2d_node_gradients_match_finite_differences(problem, use_bias):
    x, w = (a.astype(np.float64) for a in problem)
    b = np.linspace(-0.5, 0.5, w.shape[0]) if use_bias else None
    r = np.random.default_rng(2).normal(size=(x.shape[0], w.shape[0], x.shape[2] - w.shape[2] + 1,
                                              x.shape[3] - w.shape[3] + 1))
    leaves = [Variable(a, requires_grad=True) for a in (x, w) + ((b,) if use_bias else ())]
    out = conv2d(*leaves)
    out.backward(r)
    loss = lambda: float(np.sum(conv2d(x, w, b) * r))
    for leaf, array in zip(leaves, (x, w, b)):
        assert leaf.grad.shape == array.shape
        np.testing.assert_allclose(as_array(leaf.grad), numeric_gradient(loss, array), atol=1e-6)


@FAST
@given(conv_problems(max_side=6), st.booleans())
def test_conv2d_node_matches_the_unfused_graph(problem, use_bias):
    """The fused node and conv2d_vectorized differentiated op by op (module 07) give the same gradients."""
    x, w = problem
    b = np.linspace(-1, 1, w.shape[0]).astype(np.float32)
    r = np.random.default_rng(3).normal(size=(x.shape[0], w.shape[0], x.shape[2] - w.shape[2] + 1,
                                              x.shape[3] - w.shape[3] + 1)).astype(np.float32)
    grads = []
    for fn in (conv2d, conv2d_vectorized):
        leaves = [Variable(a.copy(), requires_grad=True) for a in (x, w) + ((b,) if use_bias else ())]
        out = fn(*leaves)
        (out * Tensor(r)).sum().backward()
        grads.append([as_array(leaf.grad) for leaf in leaves])
        np.testing.assert_allclose(as_array(out), reference(x, w) + (b.reshape(1, -1, 1, 1) if use_bias else 0),
                                   rtol=1e-4, atol=1e-3)
    for fused, unfused in zip(*grads):
        assert fused.dtype == np.float32
        np.testing.assert_allclose(fused, unfused, rtol=1e-4, atol=1e-3)


def test_conv2d_node_matches_the_naive_loop_in_training():
    """One channel in and out: the node's gradients are those of the loop's loss, by finite differences."""
    rng = np.random.default_rng(4)
    image, kernel = rng.normal(size=(6, 7)), rng.normal(size=(3, 2))
    r = rng.normal(size=(4, 6))
    k = Variable(kernel.reshape(1, 1, 3, 2), requires_grad=True)
    img = Variable(image.reshape(1, 1, 6, 7), requires_grad=True)
    out = conv2d(img, k)
    np.testing.assert_allclose(as_array(out)[0, 0], conv2d_naive(image, kernel), rtol=1e-12)
    (out * Tensor(r.reshape(1, 1, 4, 6), dtype=np.float64)).sum().backward()
    loss = lambda: float(np.sum(conv2d_naive(image, kernel) * r))
    np.testing.assert_allclose(as_array(k.grad)[0, 0], numeric_gradient(loss, kernel), atol=1e-6)
    np.testing.assert_allclose(as_array(img.grad)[0, 0], numeric_gradient(loss, image), atol=1e-6)


def test_multichannel_layer_trains_through_the_node():
    np.random.seed(5)
    conv = MultiChannelConv2D(2, 3, 2)
    x = Tensor(np.random.randn(2, 2, 4, 5))
    w0 = as_array(conv.weight).copy()
    (flatten_batch(conv(x)) ** 2).mean().backward()
    grads = [as_array(p.grad) for p in conv.parameters()]
    leaves = [Variable(as_array(p).copy(), requires_grad=True) for p in conv.parameters()]
    (flatten_batch(conv2d_vectorized(x, *leaves)) ** 2).mean().backward()
    for fused, leaf in zip(grads, leaves):
        np.testing.assert_allclose(fused, as_array(leaf.grad), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(as_array(conv.weight), w0, "backward must not change the weights")


@pytest.mark.parametrize("stub", ["missing", "unfinished"])
def test_conv2d_without_a_working_autograd(monkeypatch, stub):
    """Before module 07 (import fails) or while it is a stub (raises NotImplementedError): a plain Tensor."""
    if stub == "missing":
        monkeypatch.setitem(sys.modules, "tinytorch.core.autograd", None)      # import raises ImportError
    else:
        fake = types.ModuleType("tinytorch.core.autograd")

        class Unfinished(Tensor):
            def __init__(self, *args, **kwargs):
                raise NotImplementedError()
        fake.Variable, fake.GradFn = Unfinished, Unfinished
        monkeypatch.setitem(sys.modules, "tinytorch.core.autograd", fake)
    x = np.random.default_rng(5).normal(size=(1, 2, 4, 4)).astype(np.float32)
    conv = MultiChannelConv2D(2, 3, 3)                    # make_parameter falls back to Tensors too
    assert type(conv.weight) is Tensor
    out = conv(Tensor(x))
    assert type(out) is Tensor and out.shape == (1, 3, 2, 2)
    np.testing.assert_allclose(out.data, reference(x, as_array(conv.weight)), rtol=1e-5, atol=1e-5)


def test_conv2d_bad_input():
    with pytest.raises(ValueError, match=r"conv2d: expected a bias of shape \(4,\), got \(3,\)"):
        conv2d(np.ones((1, 2, 5, 5)), np.ones((4, 2, 3, 3)), np.ones(3))
    with pytest.raises(ValueError, match=r"conv2d: expected input with 2 channels"):
        conv2d(np.ones((1, 3, 5, 5)), np.ones((4, 2, 3, 3)))


@pytest.mark.parametrize("chunk_bytes", [1, 3100])     # 1 and 2 images (2 + 2 + 1) a piece
def test_conv2d_in_chunks_of_images_gives_the_same_gradients(monkeypatch, chunk_bytes):
    """The node works through the batch a few images at a time; the pieces must add up to the whole."""
    import tinytorch.core.cnn as cnn
    rng = np.random.default_rng(6)
    x, w, b = (rng.normal(size=s) for s in ((5, 2, 6, 5), (3, 2, 3, 2), (3,)))
    r = rng.normal(size=(5, 3, 4, 4))
    results = []
    for size in (cnn.CHUNK_BYTES, chunk_bytes):
        monkeypatch.setattr(cnn, "CHUNK_BYTES", size)
        leaves = [Variable(a.copy(), requires_grad=True) for a in (x, w, b)]
        out = conv2d(*leaves)
        out.backward(r)
        results.append([as_array(out)] + [as_array(leaf.grad) for leaf in leaves])
    assert len(cnn._image_chunks(x.shape, w.shape, 8)) > 1, "the small budget must split the batch"
    for whole, pieces in zip(*results):
        np.testing.assert_allclose(pieces, whole, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(results[0][0], reference(x, w) + b.reshape(1, 3, 1, 1), rtol=1e-10)
