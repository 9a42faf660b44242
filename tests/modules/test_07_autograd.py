"""Package tests for module 07: tinytorch.core.autograd.

Every gradient is checked against central finite differences of an independent NumPy forward
pass (float64), over hypothesis-drawn shapes including broadcasting.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies import FAST, arrays, axes_for, broadcastable_pairs, matmul_pairs, shapes
from tinytorch.core.activations import ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.autograd import Variable, add, maximum, multiply, subtract, topological_order
from tinytorch.core.cnn import Conv2D, MultiChannelConv2D, flatten_batch
from tinytorch.core.layers import Dense, make_parameter
from tinytorch.core.networks import Sequential, create_mlp
from tinytorch.core.tensor import Tensor

F64 = np.float64


def numeric_grad(f, arrays_in, which, h=1e-6):
    """d sum(f(*arrays) * weights) / d arrays[which] by central differences (f works on ndarrays)."""
    xs = [np.array(a, dtype=F64) for a in arrays_in]
    x = xs[which]
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        up = np.sum(f(*xs))
        x[i] = old - h
        down = np.sum(f(*xs))
        x[i] = old
        grad[i] = (up - down) / (2 * h)
    return grad


def check(np_f, tt_f, *inputs, atol=1e-5, rtol=1e-4):
    """backward() through tt_f matches finite differences of np_f, for every input."""
    inputs = [np.array(a, dtype=F64) for a in inputs]
    out_shape = np.shape(np_f(*inputs))
    weights = np.random.default_rng(0).uniform(0.5, 1.5, size=out_shape)   # break symmetries
    variables = [Variable(a.copy()) for a in inputs]
    out = tt_f(*variables)
    assert isinstance(out, Variable)
    np.testing.assert_allclose(out.data.data, np_f(*inputs), rtol=1e-10, atol=1e-10)
    (out * weights).sum().backward()
    for k, v in enumerate(variables):
        expected = numeric_grad(lambda *xs: np_f(*xs) * weights, inputs, k)
        assert v.grad is not None and v.grad.shape == v.shape
        np.testing.assert_allclose(v.grad.data.data, expected, atol=atol, rtol=rtol)


# ---- elementwise binary operations, with broadcasting ------------------------------------------

BINARY = {
    "add": (np.add, lambda a, b: a + b),
    "sub": (np.subtract, lambda a, b: a - b),
    "mul": (np.multiply, lambda a, b: a * b),
    "div": (np.divide, lambda a, b: a / b),
    "add-fn": (np.add, add),
    "mul-fn": (np.multiply, multiply),
    "sub-fn": (np.subtract, subtract),
    "np.maximum": (np.maximum, np.maximum),
    "np.minimum": (np.minimum, np.minimum),
    "np.add": (np.add, np.add),
    "np.multiply": (np.multiply, np.multiply),
}


@FAST
@given(st.sampled_from(sorted(BINARY)), broadcastable_pairs(dtype=F64, bound=3.0, min_magnitude_b=0.5, max_dims=3))
def test_binary_gradients_with_broadcasting(name, pair):
    a, b = pair
    if name.startswith("np.m"):    # keep maximum/minimum away from ties (no derivative there)
        b = b + 0.25 * np.sign(b - np.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape))).mean()
        if np.any(np.isclose(np.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape)), b, atol=1e-3)):
            return
    np_f, tt_f = BINARY[name]
    check(np_f, tt_f, a, b)


@FAST
@given(arrays(dtype=F64, bound=3.0, max_dims=3), st.floats(-3, 3), st.sampled_from(["+", "-", "*", "/"]))
def test_numbers_on_either_side(a, c, op):
    ops = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y,
           "/": lambda x, y: x / y}
    f = ops[op]
    if op != "/":
        check(lambda x: f(c, x), lambda x: f(c, x), a)
    check(lambda x: f(x, c + 5.0), lambda x: f(x, c + 5.0), a)


# ---- unary operations -------------------------------------------------------------------------

UNARY = {
    "neg": (lambda x: -x, lambda v: -v),
    "pow3": (lambda x: x ** 3, lambda v: v ** 3),
    "square": (lambda x: x ** 2, lambda v: v ** 2),
    "pow-frac": (lambda x: (x * x + 1) ** 1.5, lambda v: (v * v + 1) ** 1.5),
    "exp": (np.exp, np.exp),
    "log": (lambda x: np.log(x * x + 0.5), lambda v: np.log(v * v + 0.5)),
    "tanh": (np.tanh, np.tanh),
    "sqrt": (lambda x: np.sqrt(x * x + 0.5), lambda v: np.sqrt(v * v + 0.5)),
    "rpow": (lambda x: 2.0 ** x, lambda v: 2.0 ** v),
}


@FAST
@given(st.sampled_from(sorted(UNARY)), arrays(dtype=F64, bound=2.0, max_dims=3))
def test_unary_gradients(name, a):
    np_f, tt_f = UNARY[name]
    check(np_f, tt_f, a)


# ---- matmul, reductions, shapes, indexing ------------------------------------------------------

@FAST
@given(matmul_pairs(dtype=F64, bound=3.0))
def test_matmul_gradients(pair):
    a, b = pair
    check(np.matmul, lambda x, y: x @ y, a, b)


@FAST
@given(st.data(), st.sampled_from(["sum", "mean", "max"]), st.booleans())
def test_reduction_gradients(data, name, keepdims):
    a = data.draw(arrays(dtype=F64, bound=3.0, max_dims=3))
    axis = data.draw(axes_for(a.ndim))
    if name == "max":   # distinct values: the maximum is unique, so it has a derivative
        a = a + np.arange(a.size).reshape(a.shape) * 1e-2
    np_f = lambda x: getattr(np, name)(x, axis=axis, keepdims=keepdims)
    check(np_f, lambda v: getattr(v, name)(axis=axis, keepdims=keepdims), a)


@FAST
@given(arrays(dtype=F64, bound=3.0, min_dims=2, max_dims=4))
def test_reshape_transpose_T(a):
    check(lambda x: x.reshape(-1), lambda v: v.reshape(-1), a)
    check(lambda x: x.reshape(x.shape[::-1]), lambda v: v.reshape(*v.shape[::-1]), a)
    check(lambda x: x.T, lambda v: v.T, a)
    axes = tuple(np.roll(np.arange(a.ndim), 1))
    check(lambda x: x.transpose(axes), lambda v: v.transpose(*axes), a)


@FAST
@given(arrays(dtype=F64, bound=3.0, shape=shapes(min_dims=3, max_dims=3, min_side=2)))
def test_indexing_and_slicing(a):
    check(lambda x: x[:, :, 1:], lambda v: v[:, :, 1:], a)
    check(lambda x: x[0], lambda v: v[0], a)
    check(lambda x: x[..., ::-1][:, 0], lambda v: v[..., ::-1][:, 0], a)
    idx = np.array([0, 1, 0, 0])   # a repeated index sums its gradients
    check(lambda x: x[idx], lambda v: v[idx], a)


# ---- the module-02 activations ------------------------------------------------------------------

def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


ACTIVATIONS = {"ReLU": (ReLU, lambda x: np.maximum(x, 0)), "Sigmoid": (Sigmoid, _sigmoid),
               "Tanh": (Tanh, np.tanh), "Softmax": (Softmax, _softmax)}


@FAST
@given(st.sampled_from(sorted(ACTIVATIONS)), arrays(dtype=F64, bound=4.0, min_dims=1, max_dims=3))
def test_activation_gradients(name, a):
    cls, np_f = ACTIVATIONS[name]
    a = np.where(np.abs(a) < 1e-3, 0.5, a)      # away from ReLU's kink
    check(np_f, cls(), a)


def test_activation_derivatives_are_the_textbook_ones():
    x = np.linspace(-3, 3, 13)
    for cls, derivative in ((Sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x))),
                            (Tanh, lambda x: 1 - np.tanh(x) ** 2),
                            (ReLU, lambda x: (x > 0).astype(float))):
        v = Variable(x)
        cls()(v).sum().backward()
        np.testing.assert_allclose(v.grad.data.data, derivative(x), atol=1e-12)


# ---- backward(): order, accumulation, errors ----------------------------------------------------

def test_reused_values_deep_chain_is_linear_and_correct():
    x = Variable(1.0)
    y = x
    for _ in range(40):
        y = y * 1 + y * 0        # each level uses y twice: 2**40 paths, 160 nodes
    y.backward()
    assert x.grad.item() == 1.0


def test_very_deep_graph_has_no_recursion_limit():
    x = Variable(0.0)
    y = x
    for _ in range(5000):
        y = y + 1.0
    y.backward()
    assert x.grad.item() == 1.0 and y.item() == 5000.0


def test_gradients_accumulate_until_zero_grad():
    x = Variable([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data.data, [3 + 2, 3 + 4])
    x.zero_grad()
    assert x.grad is None


def test_seed_gradient_and_its_shape_check():
    x = Variable([1.0, 2.0, 3.0])
    y = x * 2
    y.backward(Variable([1.0, 0.0, -1.0]))
    np.testing.assert_allclose(x.grad.data.data, [2.0, 0.0, -2.0])
    with pytest.raises(ValueError, match=r"shape \(2,\).*shape \(3,\)"):
        y.backward(np.ones(2))
    with pytest.raises(RuntimeError, match="does not require gradients"):
        Variable(1.0, requires_grad=False).backward()


def test_scalar_seed_defaults_to_one():
    x = Variable(3.0)
    (x * x).backward()
    assert x.grad.item() == 6.0 and isinstance(x.grad, Variable) and not x.grad.requires_grad


# ---- lean: dtypes, no wasted gradients, no graph without need -----------------------------------

def test_float32_end_to_end():
    w = Variable(np.ones((3, 2), dtype=np.float32))
    b = Variable(np.zeros(2, dtype=np.float32))
    x = Tensor([[1.0, 2.0, 3.0]])
    loss = ((np.tanh(x @ w + b) * 2.5 - np.maximum(x @ w, 0) - 1) ** 2).mean()
    assert loss.dtype == np.float32
    loss.backward()
    assert w.grad.dtype == np.float32 and b.grad.dtype == np.float32
    assert all(node.dtype == np.float32 for node in topological_order(loss))
    assert Variable(2.0).dtype == np.float32 and Variable([1, 2]).dtype == np.float32


def test_only_inputs_that_require_gradients_get_them():
    x = Variable(np.ones((4, 3)), requires_grad=False)
    w = Variable(np.ones((3, 2)))
    out = x @ w
    assert [edge[0] for edge in out.grad_fn.edges] == [w]     # no rule kept for x
    out.sum().backward()
    assert x.grad is None and w.grad is not None


def test_no_graph_when_nothing_requires_grad():
    x = Variable([1.0, 2.0], requires_grad=False)
    y = np.exp(x * 2 + 1).sum()
    assert isinstance(y, Variable) and not y.requires_grad and y.grad_fn is None and y.is_leaf


# ---- the Variable API and the array protocol ------------------------------------------------------

def test_variable_api():
    v = Variable([[1.0, 2.0], [3.0, 4.0]])
    assert isinstance(v, Tensor) and isinstance(v.data, Tensor)
    assert v.shape == (2, 2) and v.size == 4 and v.requires_grad and v.is_leaf and v.grad is None
    assert v.data.data is v.data.data, "data shares the Variable's array (no copy)"
    v.data.data[0, 0] = 10.0
    assert (v * 1).data.data[0, 0] == 10.0
    v.data = Tensor([[5.0, 6.0], [7.0, 8.0]])
    assert (v + 0).data.data.tolist() == [[5.0, 6.0], [7.0, 8.0]]
    y = v * 2
    assert not y.is_leaf and y.grad_fn is not None and y.requires_grad
    assert hash(v) != hash(y) and {v: 1}[v] == 1


@pytest.mark.parametrize("left", [Tensor([1.0, 2.0]), np.array([1.0, 2.0], dtype=np.float32), 3.0, 2])
def test_mixed_operands_give_variables(left):
    v = Variable([1.0, 2.0])
    for result in (left + v, left - v, left * v, left / v, v + left, v * left, v / left):
        assert isinstance(result, Variable) and result.requires_grad
    (left * v).sum().backward()
    np.testing.assert_allclose(v.grad.data.data, np.broadcast_to(np.asarray(left, dtype=F64), (2,)))


def test_comparisons_give_boolean_variables_without_gradient():
    v = Variable([-1.0, 0.5, 2.0])
    mask = v > 0
    assert isinstance(mask, Variable) and not mask.requires_grad and mask.dtype == bool
    (v * mask).sum().backward()
    np.testing.assert_allclose(v.grad.data.data, [0.0, 1.0, 1.0])


def test_every_tensor_operation_is_overridden():
    """A Tensor method that Variable didn't override would silently drop the graph."""
    inherited_ok = {"__len__", "__iter__", "__bool__", "item", "numpy", "__array__", "_compare",
                    "__float__", "__int__",
                    "__dict__", "__weakref__", "__module__", "__doc__", "__init__", "__hash__"}
    missing = [name for name in vars(Tensor) if name not in vars(Variable) and name not in inherited_ok
               and not name.startswith("_orig_")]    # fastcore's @patch keeps what it replaced there
    assert not missing, f"Variable must override {missing}"


def test_ufunc_without_gradient_rule_is_an_error():
    with pytest.raises(TypeError, match="no gradient rule"):
        np.sin(Variable([1.0]))
    assert isinstance(np.sin(Variable([1.0], requires_grad=False)), Variable)


# ---- layers become trainable without patches ---------------------------------------------------

def _fd_param(loss_fn, param, h=1e-3):
    """Finite differences of loss_fn() w.r.t. a float32 parameter, computed in float64."""
    original = param.data.data.copy()
    grad = np.zeros(original.shape)
    for i in np.ndindex(original.shape):
        vals = []
        for delta in (h, -h):
            trial = original.astype(F64)
            trial[i] += delta
            param.data = Tensor(trial, dtype=F64)
            vals.append(float(loss_fn().item()))
        grad[i] = (vals[0] - vals[1]) / (2 * h)
    param.data = Tensor(original)
    return grad


def test_make_parameter_gives_variables_and_dense_is_trainable():
    np.random.seed(0)
    p = make_parameter(np.ones(3, dtype=np.float32))
    assert isinstance(p, Variable) and p.requires_grad
    layer = Dense(3, 2)
    assert layer.weights.shape == (3, 2) and layer.bias.shape == (2,)
    assert layer.parameters() == [layer.weights, layer.bias]
    x = Tensor(np.random.randn(5, 3))
    loss = lambda: (layer(x) ** 2).mean()
    loss().backward()
    for param in layer.parameters():
        np.testing.assert_allclose(param.grad.data.data, _fd_param(loss, param), atol=2e-3, rtol=2e-3)


def test_sequential_parameters_in_layer_order_and_gradients():
    np.random.seed(1)
    net = create_mlp(4, [5, 3], 2)
    params = net.parameters()
    dense = [layer for layer in net.layers if isinstance(layer, Dense)]
    assert params == [p for layer in dense for p in (layer.weights, layer.bias)]
    x = Tensor(np.random.randn(6, 4))
    out = net(x)
    assert isinstance(out, Variable) and out.shape == (6, 2)
    loss = lambda: ((net(x) - 0.5) ** 2).mean()
    loss().backward()
    for param in params:
        np.testing.assert_allclose(param.grad.data.data, _fd_param(loss, param), atol=2e-3, rtol=2e-3)


def test_variable_input_flows_through_layers():
    np.random.seed(2)
    net = Sequential([Dense(3, 4), Tanh(), Dense(4, 2), Softmax()])
    x = Variable(np.random.randn(2, 3))
    net(x)[:, 0].sum().backward()
    assert x.grad is not None and x.grad.shape == (2, 3)
    assert all(p.grad is not None for p in net.parameters())


def test_plain_tensor_still_works_without_gradients():
    np.random.seed(3)
    layer = Dense(3, 2)
    x = Tensor(np.ones((1, 3)))
    out = layer(x)
    np.testing.assert_allclose(out.data.data, np.ones((1, 3)) @ layer.weights.data.data + layer.bias.data.data,
                               rtol=1e-6)


def test_conv2d_layers_are_trainable():
    np.random.seed(4)
    conv = Conv2D(2)
    image = Tensor(np.random.randn(5, 4))
    loss = lambda: (conv(image) ** 2).sum()
    loss().backward()
    np.testing.assert_allclose(conv.kernel.grad.data.data, _fd_param(loss, conv.kernel), atol=5e-3, rtol=2e-3)

    multi = MultiChannelConv2D(2, 3, 2)
    batch = Tensor(np.random.randn(2, 2, 4, 4))
    loss = lambda: (flatten_batch(multi(batch)) ** 2).mean()
    loss().backward()
    for param in multi.parameters():
        np.testing.assert_allclose(param.grad.data.data, _fd_param(loss, param), atol=5e-3, rtol=2e-3)


# ---- NumPy's reduction protocol, abs / float / round / flatten on Variables ---------------------

@FAST
@given(st.data(), st.sampled_from(["sum", "mean", "max"]), st.booleans())
def test_numpy_reduction_functions_on_variables(data, name, keepdims):
    """np.sum(v, axis=..., keepdims=...) builds the graph like v.sum(...): gradients match finite differences."""
    a = data.draw(arrays(dtype=F64, bound=3.0, max_dims=3))
    axis = data.draw(axes_for(a.ndim))
    if name == "max":
        a = a + np.arange(a.size).reshape(a.shape) * 1e-2
    np_f = lambda x: getattr(np, name)(x, axis=axis, keepdims=keepdims)
    check(np_f, np_f, a)


def test_numpy_reduction_dtype_and_out_on_variables():
    v = Variable(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))
    wide = np.sum(v, axis=0, dtype=np.float64)
    assert isinstance(wide, Variable) and wide.dtype == np.float64 and wide.requires_grad
    (wide * Variable(np.array([1.0, 2.0]), requires_grad=False)).sum().backward()
    assert v.grad.dtype == np.float32 and v.grad.data.data.tolist() == [[1.0, 2.0], [1.0, 2.0]]
    assert np.mean(v, dtype=np.float32).dtype == np.float32
    out = np.empty(2)
    assert np.max(v, axis=1, out=out) is out and out.tolist() == [2.0, 4.0]   # out=: values, no graph
    assert np.sum(v, out=np.empty(())) == 10.0


@FAST
@given(arrays(dtype=F64, bound=3.0, max_dims=3))
def test_abs_and_flatten_gradients(a):
    a = np.where(np.abs(a) < 0.1, 0.5, a)             # |x| has no derivative at 0
    check(np.abs, abs, a)
    check(np.abs, np.abs, a)
    check(np.abs, lambda v: v.abs(), a)
    check(lambda x: x.flatten(), lambda v: v.flatten(), a)


@FAST
@given(arrays(dtype=F64, bound=2.0, max_dims=3))
def test_elementwise_methods_on_variables(a):
    pos = np.abs(a) + 0.5
    check(np.exp, lambda v: v.exp(), a)
    check(np.tanh, lambda v: v.tanh(), a)
    check(np.log, lambda v: v.log(), pos)
    check(np.sqrt, lambda v: v.sqrt(), pos)
    shift = np.where(np.abs(a - 0.3) < 1e-3, 0.6, 0.3)
    check(lambda x: np.maximum(x, shift), lambda v: v.maximum(Variable(shift, requires_grad=False)), a)
    check(lambda x: np.minimum(x, shift), lambda v: v.minimum(Variable(shift, requires_grad=False)), a)


def test_float_int_round_of_variables():
    v = Variable(np.array([2.26]))
    assert float(v) == 2.26 and int(v) == 2 and float(Variable(3.0).sum()) == 3.0
    rounded = round(v * 1.0, 1)
    assert isinstance(rounded, Variable) and not rounded.requires_grad and rounded.item() == pytest.approx(2.3)
    with pytest.raises(ValueError):
        float(Variable([1.0, 2.0]))


def test_array_constants_keep_their_dtype():
    """A NumPy array operand is a constant of its own dtype (float64 stays float64), as before."""
    v = Variable(np.ones(2, dtype=np.float32))
    out = v * np.array([0.1, 0.2])
    assert out.dtype == np.float64 and out.data.data.tolist() == [0.1, 0.2]
    assert (v * [0.5, 0.25]).dtype == np.float32          # a list follows Tensor's rules


def test_maximum_with_a_constant_keeps_one_rule_and_still_unbroadcasts():
    """ReLU's maximum(x, 0) records a rule for x only; a constant of a larger shape still sums back."""
    v = Variable([1.0, -2.0, 3.0])
    relu = maximum(v, 0)
    assert [parent for parent, _ in relu.grad_fn.edges] == [v]
    relu.sum().backward()
    np.testing.assert_array_equal(v.grad.data.data, [1.0, 0.0, 1.0])
    w = Variable([1.0, -2.0, 3.0])
    maximum(w, np.zeros((2, 3), dtype=np.float32)).sum().backward()   # w broadcast over 2 rows
    np.testing.assert_array_equal(w.grad.data.data, [2.0, 0.0, 2.0])
    u = Variable([1.0, -2.0])
    np.maximum(0, u).sum().backward()                                   # the number first
    np.testing.assert_array_equal(u.grad.data.data, [1.0, 0.0])
