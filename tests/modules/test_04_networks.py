"""Package tests for module 04: tinytorch.core.networks (Sequential, create_mlp)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies import FAST, arrays
from tinytorch.core.activations import ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.layers import Dense
from tinytorch.core.networks import Sequential, create_mlp
from tinytorch.core.tensor import Tensor
from tracked import Tracked, tracked_ops


def numpy_forward(network, x):
    """The network's function, recomputed layer by layer in float64 NumPy."""
    x = np.asarray(x, dtype=np.float64)
    for layer in network.layers:
        if isinstance(layer, Dense):
            x = x @ np.asarray(layer.weights) + (0 if layer.bias is None else np.asarray(layer.bias))
        elif isinstance(layer, ReLU):
            x = np.maximum(x, 0)
        elif isinstance(layer, Sigmoid):
            x = 1 / (1 + np.exp(-x))
        elif isinstance(layer, Tanh):
            x = np.tanh(x)
        elif isinstance(layer, Softmax):
            e = np.exp(x - x.max(axis=-1, keepdims=True))
            x = e / e.sum(axis=-1, keepdims=True)
        else:
            raise AssertionError(f"no reference for {layer!r}")
    return x


def test_sequential_applies_layers_in_order():
    np.random.seed(0)
    net = Sequential([Dense(3, 4), ReLU(), Dense(4, 2), Sigmoid()])
    x = np.random.randn(5, 3).astype(np.float32)
    out = net(Tensor(x))
    assert isinstance(out, Tensor) and out.shape == (5, 2) and out.dtype == np.float32
    np.testing.assert_allclose(np.asarray(out), numpy_forward(net, x), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(net.forward(Tensor(x))), np.asarray(out))


def test_sequential_order_matters():
    calls = []

    class Step:
        def __init__(self, name):
            self.name = name

        def __call__(self, x):
            calls.append(self.name)
            return x

    Sequential([Step("a"), Step("b"), Step("c")])(Tensor([1.0]))
    assert calls == ["a", "b", "c"]


def test_sequential_layers_attribute_and_len():
    layers = [Dense(2, 2), ReLU()]
    net = Sequential(layers)
    assert net.layers == layers and len(net) == 2
    assert all(a is b for a, b in zip(net.layers, layers))


def test_sequential_parameters_in_layer_order():
    first, second, third = Dense(3, 4), Dense(4, 4, use_bias=False), Dense(4, 1)
    net = Sequential([first, ReLU(), second, Tanh(), third, Sigmoid()])
    expected = [first.weights, first.bias, second.weights, third.weights, third.bias]
    params = net.parameters()
    assert len(params) == len(expected) and all(p is q for p, q in zip(params, expected))


def test_sequential_parameterless_empty_and_nested():
    assert Sequential([ReLU(), Softmax()]).parameters() == []
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(np.asarray(Sequential([])(Tensor(x))), x)
    inner = Sequential([Dense(3, 2), ReLU()])
    outer = Sequential([inner, Dense(2, 1)])
    assert len(outer.parameters()) == 4 and outer(Tensor(x)).shape == (2, 1)


def test_sequential_rejects_non_callable_layers():
    with pytest.raises(TypeError, match="layer 1"):
        Sequential([ReLU(), 3])


def test_sequential_wrong_width_reports_expected_and_given():
    net = create_mlp(3, [4], 1)
    with pytest.raises(ValueError) as err:
        net(Tensor(np.ones((2, 5), dtype=np.float32)))
    assert "3" in str(err.value) and "(2, 5)" in str(err.value)


def test_create_mlp_structure_example():
    mlp = create_mlp(3, [4, 2], 1)
    assert isinstance(mlp, Sequential) and len(mlp.layers) == 6
    assert [type(layer) for layer in mlp.layers] == [Dense, ReLU, Dense, ReLU, Dense, Sigmoid]
    sizes = [(l.input_size, l.output_size) for l in mlp.layers if isinstance(l, Dense)]
    assert sizes == [(3, 4), (4, 2), (2, 1)]


@FAST
@given(input_size=st.integers(1, 6), hidden=st.lists(st.integers(1, 6), max_size=3),
       output_size=st.integers(1, 4), activation=st.sampled_from([ReLU, Tanh, Sigmoid]),
       output_activation=st.sampled_from([Sigmoid, Softmax, Tanh, None]), n=st.integers(1, 5), data=st.data())
def test_create_mlp_any_architecture(input_size, hidden, output_size, activation, output_activation, n, data):
    mlp = create_mlp(input_size, hidden, output_size, activation=activation, output_activation=output_activation)
    expected_types = []
    for _ in hidden:
        expected_types += [Dense, activation]
    expected_types += [Dense] + ([output_activation] if output_activation else [])
    assert [type(layer) for layer in mlp.layers] == expected_types
    widths = [input_size, *hidden, output_size]
    dense = [layer for layer in mlp.layers if isinstance(layer, Dense)]
    assert [(d.input_size, d.output_size) for d in dense] == list(zip(widths, widths[1:]))
    assert len(mlp.parameters()) == 2 * len(dense)
    activations = [layer for layer in mlp.layers if not isinstance(layer, Dense)]
    assert len({id(a) for a in activations}) == len(activations), "each position gets a fresh instance"
    x = data.draw(arrays((n, input_size), np.float32, bound=3.0))
    out = mlp(Tensor(x))
    assert out.shape == (n, output_size) and out.dtype == np.float32
    np.testing.assert_allclose(np.asarray(out), numpy_forward(mlp, x), rtol=1e-4, atol=1e-5)


def test_create_mlp_default_output_in_unit_interval():
    np.random.seed(3)
    out = np.asarray(create_mlp(4, [8, 8], 3)(Tensor(np.random.randn(10, 4) * 10)))
    assert out.shape == (10, 3) and np.all((out >= 0) & (out <= 1))


def test_a_tensor_subclass_flows_through_an_mlp():
    """Module 07's Variable will flow the same way: every Dense and activation uses its operators."""
    np.random.seed(4)
    mlp = create_mlp(3, [5, 4], 2, output_activation=Softmax)
    for layer in mlp.layers:
        if isinstance(layer, Dense):
            layer.weights, layer.bias = Tracked(np.asarray(layer.weights)), Tracked(np.asarray(layer.bias))
    x = np.random.randn(6, 3).astype(np.float32)
    expected = numpy_forward(mlp, x)
    out, ops = tracked_ops(mlp, Tracked(x))
    assert type(out) is Tracked
    assert ops.count("matmul") == 3 and {"maximum", "exp", "max", "sum"} <= set(ops)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-6)


def test_repr_lists_layers():
    text = repr(create_mlp(2, [3], 1))
    assert text.startswith("Sequential([") and "Dense(2, 3, use_bias=True)" in text and "Sigmoid()" in text
