"""Package tests for module 02: tinytorch.core.activations, against NumPy references."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given

from strategies import FAST, arrays, shapes
from tinytorch.core.activations import ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.tensor import Tensor
from tracked import Tracked, tracked_ops


def ref_sigmoid(x):
    x = np.asarray(x, dtype=np.float64)
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def ref_softmax(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


REFERENCES = {
    ReLU: lambda x: np.maximum(x, 0),
    Sigmoid: ref_sigmoid,
    Tanh: np.tanh,
    Softmax: ref_softmax,
}
ALL = list(REFERENCES)


@FAST
@given(x=arrays(shape=shapes(min_dims=1, max_dims=3, max_side=6), bound=50.0))
def test_matches_numpy_keeps_shape_and_float32(x):
    for cls, ref in REFERENCES.items():
        out = cls()(Tensor(x))
        assert type(out) is Tensor, cls.__name__
        assert out.shape == x.shape and out.dtype == np.float32, (cls.__name__, out.shape, out.dtype)
        np.testing.assert_allclose(np.asarray(out), ref(x), rtol=1e-5, atol=1e-6, err_msg=cls.__name__)


@pytest.mark.parametrize("cls", ALL)
def test_forward_and_call_agree_and_accept_arrays_and_lists(cls):
    values = np.array([[-2.0, 0.5, 3.0], [1.0, -1.0, 0.0]], dtype=np.float32)
    by_call = np.asarray(cls()(Tensor(values)))
    np.testing.assert_array_equal(np.asarray(cls().forward(Tensor(values))), by_call)
    np.testing.assert_array_equal(np.asarray(cls()(values)), by_call)
    np.testing.assert_array_equal(np.asarray(cls()(values.tolist())), by_call)


def test_relu_exact_values():
    out = ReLU()(Tensor([[-3.0, -0.0, 0.0, 2.5]]))
    assert np.asarray(out).tolist() == [[0.0, 0.0, 0.0, 2.5]]


@FAST
@given(x=arrays(shape=shapes(min_dims=1, max_dims=3), bound=100.0))
def test_sigmoid_range_and_symmetry(x):
    s, s_neg = np.asarray(Sigmoid()(Tensor(x))), np.asarray(Sigmoid()(Tensor(-x)))
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(s + s_neg, 1.0, atol=1e-6)


@pytest.mark.parametrize("cls", ALL)
def test_extreme_inputs_no_overflow_no_warning_no_nan(cls):
    x = Tensor(np.array([[-1000.0, -100.0, 0.0, 100.0, 1000.0]], dtype=np.float32))
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        out = np.asarray(cls()(x))
    assert np.all(np.isfinite(out)), (cls.__name__, out)


def test_sigmoid_at_plus_minus_1000():
    out = np.asarray(Sigmoid()(Tensor([-1000.0, 0.0, 1000.0])))
    np.testing.assert_allclose(out, [0.0, 0.5, 1.0], atol=1e-7)


def test_softmax_thousands_give_thirds():
    with np.errstate(over="raise", invalid="raise"):
        out = np.asarray(Softmax()(Tensor([1000.0, 1000.0, 1000.0])))
    np.testing.assert_allclose(out, [1 / 3] * 3, rtol=1e-6)


@FAST
@given(x=arrays(shape=shapes(min_dims=1, max_dims=3, max_side=6), bound=1e4))
def test_softmax_rows_sum_to_one_for_large_scores(x):
    out = np.asarray(Softmax()(Tensor(x)))
    assert np.all(out >= 0) and np.all(np.isfinite(out))
    np.testing.assert_allclose(out.sum(axis=-1), 1.0, rtol=1e-5)


@FAST
@given(x=arrays(shape=shapes(min_dims=1, max_dims=3, max_side=6), bound=50.0))
def test_softmax_shift_invariant(x):
    shifted_input = x + np.float32(1000)           # float32 rounding of x + 1000 is at most ~3e-5
    shifted = np.asarray(Softmax()(Tensor(shifted_input)))
    np.testing.assert_allclose(shifted, ref_softmax(shifted_input), atol=1e-5)
    np.testing.assert_allclose(shifted, np.asarray(Softmax()(Tensor(x))), atol=1e-4)


def test_softmax_works_along_last_axis_only():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 5
    out = np.asarray(Softmax()(Tensor(x)))
    np.testing.assert_allclose(out.sum(axis=-1), np.ones((2, 3)), rtol=1e-6)
    assert not np.allclose(out.sum(axis=0), 1.0)


EXPECTED_OPS = {ReLU: {"maximum"}, Sigmoid: {"tanh"}, Tanh: {"tanh"}, Softmax: {"exp", "max", "sum"}}


@pytest.mark.parametrize("cls", ALL)
def test_a_tensor_subclass_flows_through(cls):
    """What module 07 relies on: the subclass's own operators run, and no one touches `.data`."""
    values = np.array([[-1.5, 0.0, 2.0], [3.0, -4.0, 0.5]], dtype=np.float32)
    out, ops = tracked_ops(cls(), Tracked(values))
    assert type(out) is Tracked, f"{cls.__name__} returned {type(out).__name__}, not the input's subclass"
    assert EXPECTED_OPS[cls] <= set(ops), (cls.__name__, ops)
    np.testing.assert_allclose(np.asarray(out), REFERENCES[cls](values), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", ALL)
def test_repr(cls):
    assert repr(cls()) == f"{cls.__name__}()"
