"""Package tests for module 03: tinytorch.core.layers (matmul_naive, make_parameter, Dense)."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies import FAST, arrays
from tinytorch.core.layers import Dense, make_parameter, matmul_naive
from tinytorch.core.tensor import Tensor
from tracked import Tracked, tracked_ops


# ---- matmul_naive ------------------------------------------------------------------------------

@st.composite
def matrix_pairs(draw, dtypes=(np.float32, np.float64, np.int64)):
    m, k, n = (draw(st.integers(1, 5)) for _ in range(3))
    dt_a, dt_b = draw(st.sampled_from(dtypes)), draw(st.sampled_from(dtypes))
    return draw(arrays((m, k), dt_a, bound=10.0)), draw(arrays((k, n), dt_b, bound=10.0))


@FAST
@given(pair=matrix_pairs())
def test_matmul_naive_matches_numpy(pair):
    A, B = pair
    C = matmul_naive(A, B)
    assert isinstance(C, np.ndarray) and C.shape == (A.shape[0], B.shape[1])
    assert C.dtype == np.result_type(A, B)
    np.testing.assert_allclose(C, A @ B, rtol=1e-5, atol=1e-4)


def test_matmul_naive_worked_example_and_lists():
    A = [[1, 2, 3], [4, 5, 6]]
    B = [[7, 8], [9, 10], [11, 12]]
    assert matmul_naive(A, B).tolist() == [[58, 64], [139, 154]]


@pytest.mark.parametrize("a_shape, b_shape", [((2, 3), (2, 2)), ((1, 4), (3, 1)), ((5, 2), (3, 5))])
def test_matmul_naive_mismatch_names_both_shapes(a_shape, b_shape):
    with pytest.raises(ValueError) as err:
        matmul_naive(np.ones(a_shape), np.ones(b_shape))
    assert str(a_shape) in str(err.value) and str(b_shape) in str(err.value)


@pytest.mark.parametrize("a_shape, b_shape", [((3,), (3, 2)), ((2, 3), (3,)), ((2, 2, 2), (2, 2))])
def test_matmul_naive_requires_2d(a_shape, b_shape):
    with pytest.raises(ValueError, match="2-D") as err:
        matmul_naive(np.ones(a_shape), np.ones(b_shape))
    assert str(a_shape) in str(err.value) and str(b_shape) in str(err.value)


# ---- make_parameter ----------------------------------------------------------------------------

AUTOGRAD = "tinytorch.core.autograd"


def _fake_autograd(monkeypatch, variable_class=None):
    module = types.ModuleType(AUTOGRAD)
    if variable_class is not None:
        module.Variable = variable_class
    monkeypatch.setitem(sys.modules, AUTOGRAD, module)


def test_make_parameter_without_autograd_module_gives_tensor(monkeypatch):
    monkeypatch.setitem(sys.modules, AUTOGRAD, None)      # import now raises ImportError
    param = make_parameter(np.ones((2, 3)))
    assert type(param) is Tensor and param.shape == (2, 3) and param.dtype == np.float32


def test_make_parameter_without_variable_gives_tensor(monkeypatch):
    _fake_autograd(monkeypatch)
    assert type(make_parameter([1.0, 2.0])) is Tensor


def test_make_parameter_with_stub_variable_gives_tensor(monkeypatch):
    class StubVariable(Tensor):
        def __init__(self, data, requires_grad=True, grad_fn=None):
            raise NotImplementedError()

    _fake_autograd(monkeypatch, StubVariable)
    assert type(make_parameter([1.0, 2.0])) is Tensor


def test_make_parameter_with_working_variable(monkeypatch):
    class FakeVariable(Tensor):
        def __init__(self, data, requires_grad=True, grad_fn=None):
            super().__init__(data)
            self.wrapped, self.requires_grad = data, requires_grad

    _fake_autograd(monkeypatch, FakeVariable)
    param = make_parameter(np.array([1.0, 2.0], dtype=np.float32))
    assert type(param) is FakeVariable and param.requires_grad is True
    assert type(param.wrapped) is Tensor and np.asarray(param.wrapped).tolist() == [1.0, 2.0]
    layer = Dense(2, 3)
    assert all(type(p) is FakeVariable for p in layer.parameters())


def test_make_parameter_with_real_autograd_when_present():
    """Whatever module 07's state, the result is a Tensor holding the values."""
    param = make_parameter(np.arange(3, dtype=np.float32))
    assert isinstance(param, Tensor) and param.shape == (3,)
    np.testing.assert_array_equal(np.asarray(param), [0.0, 1.0, 2.0])


# ---- Dense -------------------------------------------------------------------------------------

def arrays_of(layer):
    return np.asarray(layer.weights), (None if layer.bias is None else np.asarray(layer.bias))


def test_dense_parameters_shapes_dtypes_and_init():
    np.random.seed(0)
    layer = Dense(400, 200)
    W, b = arrays_of(layer)
    assert (layer.input_size, layer.output_size, layer.use_naive_matmul) == (400, 200, False)
    assert W.shape == (400, 200) and b.shape == (200,)
    assert W.dtype == np.float32 and b.dtype == np.float32
    assert np.all(b == 0)
    xavier = np.sqrt(2.0 / (400 + 200))
    assert abs(W.std() - xavier) < 0.02 * xavier       # 80,000 samples: std is within ~0.3 %
    assert abs(W.mean()) < 0.02 * xavier           # std of the mean is ~0.0035 * xavier
    assert layer.parameters() == [layer.weights, layer.bias]
    assert layer.parameters()[0] is layer.weights and layer.parameters()[1] is layer.bias


def test_dense_without_bias():
    layer = Dense(4, 3, use_bias=False)
    assert layer.bias is None
    assert len(layer.parameters()) == 1 and layer.parameters()[0] is layer.weights


def test_dense_seeded_init_is_repeatable():
    np.random.seed(7)
    first = arrays_of(Dense(5, 4))[0].copy()
    np.random.seed(7)
    np.testing.assert_array_equal(arrays_of(Dense(5, 4))[0], first)


@FAST
@given(n=st.integers(1, 6), d_in=st.integers(1, 6), d_out=st.integers(1, 6), use_bias=st.booleans(),
       data=st.data())
def test_dense_forward_matches_numpy_fast_and_naive(n, d_in, d_out, use_bias, data):
    x = data.draw(arrays((n, d_in), np.float32, bound=5.0))
    layer = Dense(d_in, d_out, use_bias=use_bias)
    if use_bias:
        layer.bias = Tensor(data.draw(arrays((d_out,), np.float32, bound=5.0)))
    W, b = arrays_of(layer)
    expected = x.astype(np.float64) @ W + (0 if b is None else b)
    out = layer(Tensor(x))
    assert isinstance(out, Tensor) and out.shape == (n, d_out) and out.dtype == np.float32
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-4, atol=1e-4)
    layer.use_naive_matmul = True
    naive = layer(Tensor(x))
    assert type(naive) is Tensor and naive.shape == (n, d_out) and naive.dtype == np.float32
    np.testing.assert_allclose(np.asarray(naive), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("naive", [False, True])
def test_dense_single_sample_batch_dims_and_lists(naive):
    np.random.seed(1)
    layer = Dense(3, 2, use_naive_matmul=naive)
    W, b = arrays_of(layer)
    x = np.random.randn(4, 5, 3).astype(np.float32)
    np.testing.assert_allclose(np.asarray(layer(Tensor(x))), x @ W + b, rtol=1e-5, atol=1e-6)
    assert layer(Tensor(x[0, 0])).shape == (2,)
    np.testing.assert_allclose(np.asarray(layer.forward(x[0].tolist())), x[0] @ W + b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("naive", [False, True])
@pytest.mark.parametrize("shape", [(5, 2), (2,), (1, 4), (2, 3, 4)])
def test_dense_wrong_width_says_expected_and_given(naive, shape):
    layer = Dense(3, 4, use_naive_matmul=naive)
    with pytest.raises(ValueError) as err:
        layer(Tensor(np.ones(shape, dtype=np.float32)))
    message = str(err.value)
    assert "3" in message and str(shape) in message, message


def test_dense_scalar_input_is_rejected():
    with pytest.raises(ValueError, match=r"\(\)"):
        Dense(3, 4)(Tensor(1.0))


@pytest.mark.parametrize("sizes", [(0, 3), (3, 0), (-1, 2), (2.5, 2), (2, "3"), (True, 2)])
def test_dense_bad_sizes(sizes):
    with pytest.raises(ValueError, match="positive integer"):
        Dense(*sizes)


@pytest.mark.parametrize("use_bias", [True, False])
def test_a_tensor_subclass_flows_through_dense(use_bias):
    """Parameters and input of a graph-building subclass: Dense uses their operators, not `.data`."""
    np.random.seed(2)
    layer = Dense(3, 2, use_bias=use_bias)
    W = np.random.randn(3, 2).astype(np.float32)
    b = np.array([0.5, -1.0], dtype=np.float32)
    layer.weights = Tracked(W)
    layer.bias = Tracked(b) if use_bias else None
    x = np.random.randn(4, 3).astype(np.float32)
    for given_x in (Tracked(x), Tensor(x)):        # Tensor @ Tracked: the subclass's __rmatmul__ wins
        out, ops = tracked_ops(layer, given_x)
        assert type(out) is Tracked
        assert {"matmul", "rmatmul"} & set(ops)
        assert ("add" in ops or "radd" in ops) == use_bias
        np.testing.assert_allclose(np.asarray(out), x @ W + (b if use_bias else 0), rtol=1e-5, atol=1e-6)


def test_repr():
    assert repr(Dense(3, 4)) == "Dense(3, 4, use_bias=True)"
    assert repr(Dense(3, 4, use_bias=False)) == "Dense(3, 4, use_bias=False)"
