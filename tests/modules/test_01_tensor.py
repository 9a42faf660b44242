"""Package tests for module 01: tinytorch.core.tensor.Tensor, with NumPy as the reference."""
from __future__ import annotations

import operator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies import FAST, FLOAT_DTYPES, arrays, axes_for, broadcastable_pairs, dtypes, matmul_pairs, shapes
from tinytorch.core.tensor import Tensor

F32_OR_INT = (np.float32, np.int32, np.int64)


def T(array):
    """A Tensor that keeps the array's dtype exactly (float64 included)."""
    return Tensor(array, dtype=array.dtype)


def expected_result(array, *inputs):
    """NumPy's result, with TinyTorch's rule: float64 becomes float32 unless an input tensor was float64."""
    array = np.asarray(array)
    if array.dtype == np.float64 and not any(np.asarray(x).dtype == np.float64 for x in inputs
                                             if isinstance(x, np.ndarray)):
        array = array.astype(np.float32)
    return array


def assert_tensor_equal(tensor, expected):
    assert type(tensor) is Tensor, f"expected a Tensor, got {type(tensor).__name__}"
    assert tensor.dtype == expected.dtype, f"dtype {tensor.dtype}, expected {expected.dtype}"
    assert tensor.shape == expected.shape, f"shape {tensor.shape}, expected {expected.shape}"
    np.testing.assert_array_equal(tensor.data, expected)


# ---- creation and dtype rules ------------------------------------------------------------------

@pytest.mark.parametrize("data, dtype, expected", [
    (1.5, None, np.float32),
    ([1.0, 2.0], None, np.float32),
    ([[1.0], [2.0]], None, np.float32),
    (np.zeros(3), None, np.float32),                 # float64 array -> float32
    (np.float64(2.0), None, np.float32),
    (np.zeros(3, dtype=np.float16), None, np.float16),
    (3, None, np.int64),
    ([1, 2, 3], None, np.int64),
    (np.array([1, 2], dtype=np.int32), None, np.int32),
    (True, None, np.bool_),
    ([True, False], None, np.bool_),
    ([1, 2.5], None, np.float32),
    ((1, 2), None, np.int64),
    ([1, 2], np.float64, np.float64),
    ([1.7, 2.2], "int32", np.int32),
    (np.zeros(2), "float64", np.float64),
    (1, np.float32, np.float32),
])
def test_dtype_rules(data, dtype, expected):
    t = Tensor(data, dtype=dtype)
    assert t.dtype == np.dtype(expected)
    np.testing.assert_array_equal(t.data, np.array(data).astype(expected))


def test_tensor_from_tensor_keeps_dtype_and_copies():
    wide = Tensor([1.0, 2.0], dtype=np.float64)
    copy = Tensor(wide)
    assert copy.dtype == np.float64 and copy.data is not wide.data
    assert Tensor(wide, dtype=np.int64).dtype == np.int64


def test_creation_copies_arrays():
    source = np.array([1.0, 2.0], dtype=np.float32)
    t = Tensor(source)
    source[0] = 99.0
    assert t.data[0] == 1.0


@FAST
@given(arrays(dtype=dtypes()))
def test_shape_size_ndim_match_numpy(array):
    t = T(array)
    assert t.shape == array.shape and isinstance(t.shape, tuple)
    assert t.size == array.size and type(t.size) is int
    assert t.ndim == array.ndim and t.dtype == array.dtype
    assert isinstance(t.dtype, np.dtype) and isinstance(t.data, np.ndarray)
    np.testing.assert_array_equal(t.data, array)


@pytest.mark.parametrize("name", ["data", "shape", "size", "dtype", "ndim"])
def test_properties_are_read_only(name):
    t = Tensor([1.0, 2.0])
    with pytest.raises(AttributeError):
        setattr(t, name, getattr(t, name))


@pytest.mark.parametrize("bad, kind", [
    ({"a": 1}, "dict"), ("text", "str"), (None, "NoneType"), (object(), "object"), ({1, 2}, "set"),
    ([{"a": 1}], "list"), (["a", "b"], "list"),
])
def test_non_numeric_data_raises_type_error_saying_what_was_given(bad, kind):
    with pytest.raises(TypeError) as info:
        Tensor(bad)
    message = str(info.value)
    assert kind in message and "list" in message and "NumPy array" in message, message


def test_ragged_list_raises_value_error():
    with pytest.raises(ValueError) as info:
        Tensor([[1, 2], [3]])
    assert "[[1, 2], [3]]" in str(info.value) and "rectangular" in str(info.value)


# ---- arithmetic ----------------------------------------------------------------------------------

BINARY = [(operator.add, "add"), (operator.sub, "subtract"), (operator.mul, "multiply"),
          (operator.truediv, "divide")]


@FAST
@given(data=st.data(), op=st.sampled_from(BINARY))
def test_binary_ops_match_numpy_with_broadcasting(data, op):
    fn, method = op
    a, b = data.draw(broadcastable_pairs(dtype=dtypes(), min_magnitude_b=1.0))
    expected = expected_result(fn(a, b), a, b)
    assert_tensor_equal(fn(T(a), T(b)), expected)
    assert_tensor_equal(getattr(T(a), method)(T(b)), expected)


@FAST
@given(a=arrays(dtype=dtypes(F32_OR_INT)), number=st.sampled_from([2, -3, 0.5, 1.25, True]),
       op=st.sampled_from(BINARY))
def test_numbers_from_either_side(a, number, op):
    fn, _ = op
    if fn is operator.truediv:
        a = np.where(a == 0, 1, a).astype(a.dtype)
    assert_tensor_equal(fn(T(a), number), expected_result(fn(a, number), a))
    assert_tensor_equal(fn(number, T(a)), expected_result(fn(number, a), a))
    assert_tensor_equal(fn(T(a), np.float64(number)), expected_result(fn(a, float(number)), a))


@FAST
@given(pair=broadcastable_pairs(dtype=np.float32, min_magnitude_b=1.0), op=st.sampled_from(BINARY))
def test_arrays_and_lists_from_either_side(pair, op):
    fn, _ = op
    a, b = pair
    if fn is operator.truediv:                          # a is the divisor of the reflected case
        a = np.where(a == 0, 1, a).astype(a.dtype)
    expected = expected_result(fn(a, b), a, b)
    assert_tensor_equal(fn(T(a), b), expected)          # Tensor op ndarray
    assert_tensor_equal(fn(a, T(b)), expected)          # ndarray op Tensor (through __array_ufunc__)
    if b.ndim:
        assert_tensor_equal(fn(T(a), b.tolist()), expected)
        assert_tensor_equal(fn(b.tolist(), T(a)), expected_result(fn(b, a), a, b))


def test_float64_array_operand_is_converted_like_a_tensor():
    t = Tensor([1.0, 2.0])                              # float32
    assert (t + np.array([0.5, 0.5])).dtype == np.float32
    assert (Tensor([1.0], dtype=np.float64) + 1.0).dtype == np.float64
    assert (Tensor([1, 2]) / 2).dtype == np.float32     # int / int is float32, not float64
    assert (Tensor([1, 2]) + Tensor([3, 4])).dtype == np.int64


@FAST
@given(arrays(dtype=dtypes(FLOAT_DTYPES)))
def test_negation_and_power(a):
    assert_tensor_equal(-T(a), -a)
    assert_tensor_equal(T(a) ** 2, a ** 2)
    assert_tensor_equal(T(a) ** 3, a ** 3)
    positive = np.abs(a) + 1
    assert_tensor_equal(T(positive) ** 0.5, positive ** 0.5)


def test_broadcasting_mismatch_raises_value_error():
    with pytest.raises(ValueError):
        Tensor(np.ones((2, 3))) + Tensor(np.ones(2))


# ---- matmul ----------------------------------------------------------------------------------------

@FAST
@given(matmul_pairs(dtype=np.float32))
def test_matmul_matches_numpy(pair):
    a, b = pair
    expected = np.matmul(a, b)
    assert_tensor_equal(T(a) @ T(b), expected)
    assert_tensor_equal(T(a).matmul(T(b)), expected)
    assert_tensor_equal(a @ T(b), expected)
    assert_tensor_equal(T(a) @ b, expected)


def test_matmul_of_float64_stays_float64():
    a = np.arange(6.0).reshape(2, 3)
    assert (T(a) @ T(a.T)).dtype == np.float64
    assert (Tensor([[1, 2]]) @ Tensor([[3], [4]])).data.tolist() == [[11]]


@pytest.mark.parametrize("left, right", [((3, 2), (3, 2)), ((2, 3), (4,)), ((3,), (1, 2)),
                                         ((2, 2, 3), (4, 3, 2)), ((), (2, 2))])
def test_matmul_mismatch_names_both_shapes(left, right):
    with pytest.raises(ValueError) as info:
        Tensor(np.ones(left)) @ Tensor(np.ones(right))
    assert str(left) in str(info.value) and str(right) in str(info.value), str(info.value)


# ---- shapes ----------------------------------------------------------------------------------------

@FAST
@given(array=arrays(dtype=dtypes()), data=st.data())
def test_reshape_matches_numpy(array, data):
    sizes = [d for d in range(1, array.size + 1) if array.size % d == 0]
    rows = data.draw(st.sampled_from(sizes))
    target = (rows, array.size // rows)
    t = T(array)
    assert_tensor_equal(t.reshape(*target), array.reshape(target))
    assert_tensor_equal(t.reshape(target), array.reshape(target))
    assert_tensor_equal(t.reshape([rows, -1]), array.reshape(rows, -1))
    assert_tensor_equal(t.reshape(-1), array.reshape(-1))


def test_reshape_to_wrong_size_raises():
    with pytest.raises(ValueError):
        Tensor(np.arange(6)).reshape(4, 2)


@FAST
@given(array=arrays(dtype=np.float32), data=st.data())
def test_transpose_matches_numpy(array, data):
    axes = tuple(data.draw(st.permutations(range(array.ndim))))
    t = T(array)
    assert_tensor_equal(t.transpose(*axes), array.transpose(axes))
    assert_tensor_equal(t.transpose(axes), array.transpose(axes))
    assert_tensor_equal(t.transpose(), array.T)
    assert_tensor_equal(t.T, array.T)


# ---- reductions --------------------------------------------------------------------------------------

@FAST
@given(array=arrays(dtype=dtypes()), data=st.data(), keepdims=st.booleans(),
       name=st.sampled_from(["sum", "mean", "max"]))
def test_reductions_match_numpy(array, data, keepdims, name):
    axis = data.draw(axes_for(array.ndim))
    expected = expected_result(getattr(array, name)(axis=axis, keepdims=keepdims), array)
    result = getattr(T(array), name)(axis=axis, keepdims=keepdims)
    assert type(result) is Tensor and result.shape == expected.shape and result.dtype == expected.dtype
    np.testing.assert_allclose(result.data, expected, rtol=1e-6, atol=1e-6)
    if isinstance(axis, tuple):    # a list of axes works too
        list_result = getattr(T(array), name)(axis=list(axis), keepdims=keepdims)
        np.testing.assert_array_equal(list_result.data, result.data)


def test_reduction_defaults_and_item():
    s = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert s.sum().shape == () and s.sum().item() == 21.0 and isinstance(s.sum().item(), float)
    assert s.mean().item() == 3.5 and s.max().item() == 6.0
    assert Tensor([1, 2]).mean().dtype == np.float32
    with pytest.raises(ValueError):
        s.item()


# ---- comparisons, indexing, conversion ----------------------------------------------------------

COMPARISONS = [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge]


@FAST
@given(pair=broadcastable_pairs(dtype=np.int64, bound=3), op=st.sampled_from(COMPARISONS))
def test_comparisons_are_elementwise_bool_tensors(pair, op):
    a, b = pair
    assert_tensor_equal(op(T(a), T(b)), op(a, b))
    assert_tensor_equal(op(T(a), 1), op(a, 1))
    assert_tensor_equal(op(1, T(a)), op(1, a))


def test_tensors_hash_by_identity():
    a, b = Tensor([1.0]), Tensor([1.0])
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b" and hash(a) == object.__hash__(a)
    assert (a == b).data.tolist() == [True]
    assert (a == None) is False and (a != "text") is True  # noqa: E711 (unknown types: identity)


@FAST
@given(array=arrays(dtype=np.float32, min_dims=1), data=st.data())
def test_indexing_returns_tensors(array, data):
    t = T(array)
    i = data.draw(st.integers(-array.shape[0], array.shape[0] - 1))
    assert_tensor_equal(t[i], np.asarray(array[i]))
    assert_tensor_equal(t[1:], array[1:])
    assert_tensor_equal(t[..., :1], array[..., :1])
    mask = array > 0
    assert_tensor_equal(t[T(mask)], array[mask])
    assert_tensor_equal(t[(T(np.array([0, 0])),)], array[[0, 0]])   # Tensors inside a tuple key
    assert len(t) == len(array)
    assert [x.shape for x in t] == [row.shape for row in array]


def test_len_and_iteration_of_scalar_raise():
    with pytest.raises(TypeError):
        len(Tensor(1.0))
    with pytest.raises(TypeError):
        iter(Tensor(1.0))


def test_numpy_returns_a_copy_and_array_protocol():
    t = Tensor([1.0, 2.0])
    copy = t.numpy()
    copy[0] = 5.0
    assert t.data[0] == 1.0
    assert np.asarray(t) is t.data
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.array(t) is not t.data and np.array(t).tolist() == [1.0, 2.0]
    assert t.__array__(copy=True) is not t.data
    with pytest.raises(ValueError):
        t.__array__(dtype=np.float64, copy=False)
    assert np.stack([t, t]).shape == (2, 2)


def test_repr():
    assert repr(Tensor([1.0, 2.0, 3.0])) == "Tensor([1. 2. 3.], shape=(3,), dtype=float32)"
    assert repr(Tensor(5)) == "Tensor(5, shape=(), dtype=int64)"
    assert repr(Tensor([[1, 2], [3, 4]])) == "Tensor([[1 2]\n        [3 4]], shape=(2, 2), dtype=int64)"


def test_bool_follows_numpy():
    assert bool(Tensor(1.0)) and not bool(Tensor([0]))
    with pytest.raises(ValueError):
        bool(Tensor([1, 2]))


# ---- NumPy ufuncs ---------------------------------------------------------------------------------

UFUNCS = [np.exp, np.tanh, np.negative, np.abs, np.sqrt, np.log]


@FAST
@given(array=arrays(dtype=dtypes(FLOAT_DTYPES)), ufunc=st.sampled_from(UFUNCS))
def test_unary_ufuncs_return_tensors(array, ufunc):
    if ufunc in (np.sqrt, np.log):
        array = np.abs(array) + 1
    assert_tensor_equal(ufunc(T(array)), ufunc(array))


@FAST
@given(pair=broadcastable_pairs(dtype=np.float32), ufunc=st.sampled_from([np.maximum, np.minimum, np.add]))
def test_binary_ufuncs_return_tensors(pair, ufunc):
    a, b = pair
    assert_tensor_equal(ufunc(T(a), T(b)), ufunc(a, b))
    assert_tensor_equal(ufunc(T(a), 0), ufunc(a, 0))
    assert_tensor_equal(ufunc(a, T(b)), ufunc(a, b))


def test_ufunc_of_int_tensor_is_float32_and_out_works():
    assert np.exp(Tensor([0, 1])).dtype == np.float32
    out = Tensor([0.0, 0.0])
    assert np.add(Tensor([1.0, 2.0]), 1, out=out) is out and out.data.tolist() == [2.0, 3.0]
    assert np.add.reduce(Tensor([1.0, 2.0, 3.0])).item() == 6.0
    quotient, remainder = np.divmod(Tensor([7, 8]), 3)
    assert quotient.data.tolist() == [2, 2] and remainder.data.tolist() == [1, 2]


# ---- the extensibility contract --------------------------------------------------------------

class Unknown:
    """A type Tensor knows nothing about, that knows how to combine with Tensors."""

    def __radd__(self, other):
        return "Unknown.__radd__"

    def __rmatmul__(self, other):
        return "Unknown.__rmatmul__"

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return f"Unknown:{ufunc.__name__}"


@pytest.mark.parametrize("name", ["__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
                                  "__truediv__", "__rtruediv__", "__matmul__", "__rmatmul__", "__pow__",
                                  "__eq__", "__lt__", "__ge__"])
def test_operators_return_not_implemented_for_unknown_types(name):
    assert getattr(Tensor([1.0]), name)(Unknown()) is NotImplemented
    assert getattr(Tensor([1.0]), name)({"a": 1}) is NotImplemented
    assert getattr(Tensor([1.0]), name)(np.str_("a")) is NotImplemented


def test_unknown_types_take_over():
    t = Tensor([1.0, 2.0])
    assert t + Unknown() == "Unknown.__radd__"
    assert t @ Unknown() == "Unknown.__rmatmul__"
    assert np.add(t, Unknown()) == "Unknown:add"
    assert t.__array_ufunc__(np.add, "__call__", t, Unknown()) is NotImplemented
    with pytest.raises(TypeError):
        t + object()
    with pytest.raises(TypeError):
        t.add(object())


class Recorded(Tensor):
    """A subclass in the style of module 07's Variable: its own reflected operators and ufuncs."""

    def __radd__(self, other):
        return ("Recorded.__radd__", other)

    def __rmul__(self, other):
        return ("Recorded.__rmul__", other)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return ("Recorded.__array_ufunc__", ufunc.__name__)

    @property
    def data(self):            # like Variable.data, which is a Tensor, not an array
        return Tensor(self._data)


def test_subclass_takes_over_operators_and_ufuncs():
    t, r = Tensor([1.0, 2.0]), Recorded([3.0, 4.0])
    assert isinstance(r, Tensor)
    assert t + r == ("Recorded.__radd__", t)
    assert t * r == ("Recorded.__rmul__", t)
    assert 2 + r == ("Recorded.__radd__", 2)
    assert np.exp(r) == ("Recorded.__array_ufunc__", "exp")
    assert np.maximum(t, r) == ("Recorded.__array_ufunc__", "maximum")


def test_tensor_methods_read_arrays_not_data_property():
    r = Recorded([3.0, 4.0])
    # Tensor's own methods work on a subclass whose `data` is not an array, and return plain Tensors.
    for result in (Tensor([1.0, 2.0]) - r, Tensor.add(r, 1), r.sum(), r.reshape(2, 1), r.T, r @ [1.0, 1.0],
                   Tensor(r), r[0], r > 3):
        assert type(result) is Tensor
    assert (Tensor([1.0, 2.0]) - r).data.tolist() == [-2.0, -2.0]
    assert r.sum().item() == 7.0 and np.asarray(r).tolist() == [3.0, 4.0]


# ---- NumPy's reduction protocol, abs / float / round / flatten, elementwise methods ------------

@FAST
@given(array=arrays(dtype=dtypes()), data=st.data(), keepdims=st.booleans(),
       name=st.sampled_from(["sum", "mean", "max"]))
def test_numpy_reduction_functions_on_tensors(array, data, keepdims, name):
    """np.sum(t, ...) calls t.sum(axis=..., dtype=..., out=...): the result is what NumPy gives."""
    axis = data.draw(axes_for(array.ndim))
    np_f = getattr(np, name)
    expected = expected_result(np_f(array, axis=axis, keepdims=keepdims), array)
    result = np_f(T(array), axis=axis, keepdims=keepdims)
    assert type(result) is Tensor and result.shape == expected.shape and result.dtype == expected.dtype
    np.testing.assert_allclose(result.data, expected, rtol=1e-6, atol=1e-6)
    out = np.empty(expected.shape, dtype=np.float64)
    assert np_f(T(array), axis=axis, keepdims=keepdims, out=out) is out     # out= is filled and returned
    np.testing.assert_allclose(out, np_f(array.astype(np.float64), axis=axis, keepdims=keepdims),
                               rtol=1e-6, atol=1e-6)


def test_numpy_reduction_dtype_and_tensor_out():
    t = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert np.sum(t).item() == 21.0 and np.mean(t).item() == 3.5 and np.max(t).item() == 6.0
    wide = np.sum(t, axis=0, dtype=np.float64)
    assert type(wide) is Tensor and wide.dtype == np.float64 and wide.data.tolist() == [5.0, 7.0, 9.0]
    assert np.mean(Tensor([1, 2]), dtype=np.float64).dtype == np.float64
    target = Tensor([0.0, 0.0])
    assert np.max(t, axis=1, out=target) is target and target.data.tolist() == [3.0, 6.0]
    with pytest.raises(TypeError, match="out= must be"):
        np.sum(t, out=[0.0])
    # The original course's check on a layer's output:
    from tinytorch.core.activations import Softmax
    probabilities = Softmax()(Tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]))
    for i in range(2):
        assert abs(np.sum(probabilities.data[i]) - 1.0) < 1e-6
        assert abs(np.sum(probabilities[i]) - 1.0) < 1e-6


@FAST
@given(arrays(dtype=dtypes()))
def test_abs_round_flatten_match_numpy(array):
    assert_tensor_equal(abs(T(array)), np.abs(array))
    assert_tensor_equal(T(array).abs(), np.abs(array))
    assert_tensor_equal(T(array).flatten(), array.flatten())
    assert_tensor_equal(round(T(array)), expected_result(np.round(array), array))
    assert_tensor_equal(round(T(array), 1), expected_result(np.round(array, 1), array))


def test_float_and_int_of_one_element():
    assert float(Tensor(2.5)) == 2.5 and isinstance(float(Tensor([2.5])), float)
    assert int(Tensor([[7]])) == 7 and int(Tensor(7.9)) == 7
    with pytest.raises(ValueError):
        float(Tensor([1.0, 2.0]))


UNARY_METHODS = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "tanh": np.tanh, "abs": np.abs}


@FAST
@given(array=arrays(dtype=dtypes(FLOAT_DTYPES), bound=3.0), name=st.sampled_from(sorted(UNARY_METHODS)))
def test_elementwise_methods_match_numpy(array, name):
    if name in ("log", "sqrt"):
        array = np.asarray(np.abs(array) + 0.5)
    expected = expected_result(UNARY_METHODS[name](array), array)
    np.testing.assert_allclose(getattr(T(array), name)().data, expected, rtol=1e-6)
    assert getattr(T(array), name)().dtype == expected.dtype


@FAST
@given(pair=broadcastable_pairs(), name=st.sampled_from(["maximum", "minimum"]))
def test_maximum_minimum_methods_match_numpy(pair, name):
    a, b = pair
    expected = expected_result(getattr(np, name)(a, b), a, b)
    assert_tensor_equal(getattr(T(a), name)(T(b)), expected)
    assert_tensor_equal(getattr(T(a), name)(2), expected_result(getattr(np, name)(a, 2), a))


def test_numpy_functions_call_the_tensor_methods(monkeypatch):
    """np.exp(t), np.maximum(t, 0), np.maximum(0, t), np.add(t, 1) run the Tensor methods."""
    calls = []
    for name in ("exp", "maximum", "add", "subtract"):
        original = getattr(Tensor, name)
        def spy(self, *args, _name=name, _original=original):
            calls.append(_name)
            return _original(self, *args)
        monkeypatch.setattr(Tensor, name, spy)
    t = Tensor([-1.0, 2.0])
    assert np.exp(t).data.tolist() == pytest.approx(np.exp([-1.0, 2.0]).tolist())
    assert np.maximum(t, 0).data.tolist() == [0.0, 2.0] and np.maximum(0, t).data.tolist() == [0.0, 2.0]
    assert np.add(t, 1).data.tolist() == [0.0, 3.0]
    assert np.subtract(1, t).data.tolist() == [2.0, -1.0]      # not commutative: computed by NumPy
    assert calls == ["exp", "maximum", "maximum", "add"]


# ---- the class taught in steps with @patch is whole in the package ----------------------------

def test_the_package_defines_every_method_in_tensor_py():
    """Module 01 adds methods with fastcore's @patch; each one lives in tinytorch/core/tensor.py."""
    import tinytorch.core.tensor as tensor_module
    for name in ("__init__", "add", "multiply", "__add__", "__rsub__", "matmul", "__matmul__", "reshape",
                 "transpose", "flatten", "sum", "mean", "max", "exp", "log", "maximum", "__array_ufunc__"):
        method = getattr(Tensor, name)
        assert method.__module__ == tensor_module.__name__, f"Tensor.{name} comes from {method.__module__}"
        assert method.__qualname__ == f"Tensor.{name}", f"Tensor.{name} is named {method.__qualname__}"
    assert isinstance(vars(Tensor)["T"], property), "T should be a property"
    assert np.array_equal(Tensor([[1, 2], [3, 4]]).T.data, [[1, 3], [2, 4]])


def test_no_later_module_patches_tensor():
    """CONTRIBUTING: later modules compute with module 01's Tensor, never add or replace its methods."""
    import subprocess
    import sys
    script = (
        "import importlib, pkgutil, tinytorch.core, tinytorch.core.tensor as t\n"
        "before = dict(vars(t.Tensor))\n"
        "for m in pkgutil.iter_modules(tinytorch.core.__path__):\n"
        "    importlib.import_module('tinytorch.core.' + m.name)\n"
        "after = vars(t.Tensor)\n"
        "print(sorted(k for k in set(before) | set(after) if before.get(k) is not after.get(k)))\n")
    changed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert changed.strip() == "[]", f"importing later modules changed Tensor's attributes: {changed}"
