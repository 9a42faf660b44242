# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 01 — Tensor: the data structure under everything
#
# Every number a neural network touches — an input image, a weight matrix, a prediction, a
# gradient — lives in a **tensor**: an n-dimensional array of numbers with a shape and a dtype.
# In this module you build TinyTorch's `Tensor` on top of NumPy.
#
# **Goals of this module**
# - Describe data by its **shape** (how many numbers along each axis) and **dtype** (what kind of
#   number).
# - Implement `Tensor` creation with sensible dtype defaults.
# - Implement elementwise arithmetic with broadcasting, matrix multiplication, reshaping and
#   transposing, and reductions (`sum`, `mean`) along an axis.
# - See why `Tensor` lets unknown types take over (`NotImplemented`), so module 07 can add
#   automatic differentiation without touching this code.
#
# Your `Tensor` is not a warm-up: module 07's `Variable` computes every value of every network
# in this course — forward and backward — by calling the methods you write here. A bug in `add`
# shows up as a network that does not learn in module 08; a correct `Tensor` is what makes the
# digits milestone work.

# %%
#| default_exp core.tensor

# %%
#| export
import numbers

import numpy as np
from fastcore.basics import patch

# %% [markdown]
# ## 1. What is a tensor?
#
# A tensor is a grid of numbers. Its **rank** (`ndim`) is the number of axes, its **shape** lists
# the length of each axis, and its **size** is how many numbers it holds in total:
#
# | rank | name | example | shape |
# |---|---|---|---|
# | 0 | scalar | a loss value `0.25` | `()` |
# | 1 | vector | one pixel row, a bias | `(3,)` |
# | 2 | matrix | a weight matrix, a batch of feature vectors | `(2, 3)` |
# | 3+ | batch | 32 grey images of 28×28 pixels | `(32, 28, 28)` |
#
# The **dtype** says how each number is stored. Deep learning mostly uses `float32`: half the
# memory of NumPy's default `float64`, and plenty of precision for training.
#
# NumPy already stores such grids efficiently. Our `Tensor` wraps a NumPy array and adds the
# rules a framework needs. A worked example with plain NumPy first:

# %%
batch = np.zeros((32, 28, 28), dtype=np.float32)
print("scalar:", np.array(0.25).shape, " vector:", np.array([1, 2, 3]).shape,
      " matrix:", np.ones((2, 3)).shape)
print("batch of images:", batch.shape, "ndim", batch.ndim, "size", batch.size, batch.dtype)
print("NumPy's default for Python floats:", np.array([1.0, 2.0]).dtype)

# %% [markdown]
# ## 2. Creating tensors: the dtype rules
#
# `Tensor(data, dtype=None)` accepts a Python number, a (nested) list, a NumPy array or another
# `Tensor`, and keeps its numbers in a NumPy array, `self._data`. When you don't pass a `dtype`:
#
# - floating-point data becomes **`float32`** (NumPy would pick `float64`);
# - Python integers become NumPy's default integer, **`int64`**; booleans stay **`bool`**;
# - a `Tensor` keeps its own dtype (it was already decided when that tensor was made).
#
# An explicit `dtype` (`np.float64`, `"int32"`, …) always wins. Data that is not numeric (a dict,
# strings) raises `TypeError`; ragged lists like `[[1, 2], [3]]` raise `ValueError`. The helper
# `_to_numpy` below (given) does the conversion and the error messages; your `__init__` applies
# the dtype rules.
#
# Each tensor also exposes read-only **properties** — `data`, `shape`, `size`, `dtype`, `ndim` —
# so `t.shape` reads like NumPy but nobody can assign `t.shape = ...` by accident.
#
# ## 3. Arithmetic and broadcasting
#
# `a + b`, `a - b`, `a * b`, `a / b` work elementwise. When shapes differ, NumPy's
# **broadcasting** lines them up from the right; an axis of length 1 (or a missing axis) is
# stretched to match. A `(2, 3)` matrix plus a `(3,)` bias adds the bias to every row:
#
# ```
# (2, 3) + (3,)  ->  (2, 3)        (4, 1) * (3,)  ->  (4, 3)        (2, 3) + (2,)  ->  error
# ```
#
# Python calls `a.__add__(b)` for `a + b`, and `b.__radd__(a)` when `a` doesn't know how (as in
# `2 + t`). You write `add` and `multiply`; the given operators `+` and `*` call them (`-` and
# `/` are given in full: `subtract` and `divide` follow the same pattern).

# %%
bias = np.array([10.0, 20.0, 30.0])
print(np.ones((2, 3)) + bias)                     # bias added to each row
print((np.arange(4.0).reshape(4, 1) * bias).shape)  # (4, 1) * (3,) -> (4, 3)

# %% [markdown]
# ## 4. Matrix multiplication
#
# `a @ b` multiplies matrices: entry `(i, j)` of the result is the dot product of row `i` of `a`
# with column `j` of `b`. The inner dimensions must agree: `(m, k) @ (k, n) -> (m, n)`. A dense
# layer is exactly this: `(batch, features_in) @ (features_in, features_out)`. With more than two
# axes, the last two are the matrices and the leading axes are a batch.
#
# When the inner dimensions don't agree, NumPy's error speaks of its internal signature
# `(n?,k),(k,m?)->(n?,m?)` and "core dimensions", not of your shapes. Your `matmul` raises a
# `ValueError` that names both shapes.

# %%
x = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])   # (3, 2)
w = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 1.0]])    # (2, 3)
print((x @ w).shape, "\n", x @ w)
print("row 0, column 2:", x[0] @ w[:, 2])

# %% [markdown]
# ## 5. Reshape and transpose
#
# `reshape` reads the numbers in order and lays them out in a new shape with the same size;
# one dimension may be `-1`, meaning "whatever fits". `transpose` reorders the axes; with no
# arguments it reverses them, so for a matrix it swaps rows and columns. `t.T` is shorthand for
# `t.transpose()`. Both accept the shape or axes as separate numbers or as one tuple:
# `t.reshape(2, 3)` and `t.reshape((2, 3))` mean the same.

# %%
m = np.arange(6).reshape(2, 3)
print(m, "\n->", m.reshape(3, -1).tolist(), "\n.T ->", m.T.tolist())
print("axes reordered:", np.zeros((2, 3, 4)).transpose(2, 0, 1).shape)

# %% [markdown]
# ## 6. Reductions: sum and mean along an axis
#
# A reduction collapses an axis. `axis=None` reduces everything to a scalar; `axis=0` collapses
# the rows (one result per column); `axis=-1` collapses the last axis. `keepdims=True` keeps the
# reduced axis with length 1, so the result still broadcasts against the input — handy for
# "subtract each row's mean".

# %%
scores = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
print(scores.sum(), scores.sum(axis=0), scores.mean(axis=1))
print(scores - scores.mean(axis=1, keepdims=True))

# %% [markdown]
# ## 7. The Tensor class, one step at a time
#
# You build `Tensor` in six steps. Step 1 below defines the class with its constructor; each later
# step adds one group of methods to it with `@patch`, from the `fastcore` library (the one nbdev
# projects use to teach a class across cells):
#
# ```python
# @patch
# def add(self: Tensor, other):   # the annotation of `self` names the class
#     ...                         # now every Tensor has t.add(other)
# ```
#
# `@patch` sets the function as a method of the class named in the annotation, as if it had been
# written inside `class Tensor:`. All of it lives in this module, so
# `from tinytorch.core.tensor import Tensor` gives the whole class.
#
# Some code is given, plumbing you can read but don't have to write:
#
# - `_to_numpy` turns accepted data into an array, with clear errors for everything else.
# - `_operand` reads the other operand of an operation: a `Tensor` gives its `_data`, a number
#   stays a number, a list or array is converted like `Tensor(...)` would. For any other type it
#   returns `NotImplemented`, and so do the operators — Python then asks the other object (its
#   `__radd__`, …), so types `Tensor` has never heard of can still combine with it.
# - `_result` wraps a NumPy result as a `Tensor`. It keeps NumPy's dtype except one case: a
#   `float64` result becomes `float32` unless an input tensor was already `float64`
#   (so `int_tensor / 2` is `float32`, but a `float64` tensor stays `float64`).
#
# Inside the class, read operands through `self._data` and `_operand(other)`, never through
# `.data`: module 07's `Variable`, a subclass, redefines `data`, and this code must still work on
# it. (Module 07 hands your methods plain Tensors — a Variable's value — and wraps the Tensor
# they return.)
#
# Each step's cell has a `TODO` (it replaces a `raise NotImplementedError()`), and the test right
# after it checks that step.

# %% [markdown]
# ### Step 1 — creating tensors
#
# The class itself: `__init__` applies the dtype rules of section 2; the read-only properties,
# indexing, `len`, `item()` and `numpy()` are given.

# %% nbgrader={"grade": false, "grade_id": "tensor-class", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
_ACCEPTED = "a number, a bool, a (nested) list or tuple of numbers, a NumPy array, or a Tensor"


def _to_numpy(data, dtype=None):
    """Convert accepted tensor data into a new NumPy array; reject anything else clearly."""
    if isinstance(data, Tensor):
        return np.array(data._data, dtype=dtype)
    if not isinstance(data, (numbers.Number, np.bool_, np.generic, list, tuple, np.ndarray)):
        raise TypeError(f"Tensor data must be {_ACCEPTED}; got {type(data).__name__}")
    try:
        array = np.array(data, dtype=dtype)
    except ValueError as err:
        raise ValueError(f"Tensor data must be rectangular and numeric ({_ACCEPTED}); "
                         f"got {_short(data)}: {err}") from None
    if array.dtype.kind not in "biufc":
        raise TypeError(f"Tensor data must be {_ACCEPTED}; got {_short(data)} "
                        f"(NumPy made dtype {array.dtype}, which is not numeric)")
    return array


def _short(data):
    text = repr(data)
    return f"{type(data).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _operand(other):
    """The array (or plain number) behind an operand, or NotImplemented for an unknown type."""
    if isinstance(other, Tensor):
        return other._data
    if isinstance(other, (bool, int, float, complex)):
        return other
    if isinstance(other, np.generic):   # NumPy scalar: use the Python number (weakly typed)
        return other.item() if other.dtype.kind in "biufc" else NotImplemented
    if isinstance(other, (list, tuple, np.ndarray)):
        return Tensor(other)._data
    return NotImplemented


def _result(array, *inputs):
    """Wrap a NumPy result as a plain Tensor: float64 becomes float32 unless an input was float64."""
    if type(array) is not np.ndarray:
        array = np.asarray(array)
    if array.dtype.char == "d" and not any(
            isinstance(x, Tensor) and x._data.dtype.char == "d" for x in inputs):
        array = array.astype(np.float32)
    out = Tensor.__new__(Tensor)     # a Tensor around `array` as is (no copy, no dtype rules)
    out._data = array
    return out


class Tensor:
    """An n-dimensional array of numbers with a shape and a dtype, backed by NumPy."""

    def __init__(self, data, dtype=None):
        """Store `data` as a NumPy array in `self._data`, applying the dtype rules."""
        # TODO: convert `data` with the given helper `_to_numpy(data, dtype)`, apply the float32
        #       default, and store the array in `self._data`.
        # HINTS: - NumPy turns Python floats into float64: check `array.dtype == np.float64`.
        #        - Only convert when no dtype was given and `data` is not already a Tensor.
        #        - `array.astype(np.float32)` returns a converted copy.
        ### BEGIN SOLUTION
        array = _to_numpy(data, dtype)
        if dtype is None and not isinstance(data, Tensor) and array.dtype == np.float64:
            array = array.astype(np.float32)
        self._data = array
        ### END SOLUTION

    # ---- read-only properties (given) ------------------------------------------------------
    @property
    def data(self):
        """The underlying NumPy array."""
        return self._data

    @property
    def shape(self):
        """Length of each axis, as a tuple."""
        return self._data.shape

    @property
    def size(self):
        """Total number of elements."""
        return int(self._data.size)

    @property
    def dtype(self):
        """NumPy dtype of the elements."""
        return self._data.dtype

    @property
    def ndim(self):
        """Number of axes."""
        return self._data.ndim

    # ---- indexing and conversion (given) --------------------------------------------------------
    def __getitem__(self, key):
        return _result(self._data[key], self)   # NumPy reads Tensor indices through __array__

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d Tensor")
        return (self[i] for i in range(len(self._data)))

    def __bool__(self):
        return bool(self._data)

    def item(self):
        """The single element as a Python number (the tensor must have size 1)."""
        return self._data.item()

    def numpy(self):
        """A copy of the data as a NumPy array."""
        return self._data.copy()

    def __repr__(self):
        body = np.array2string(self._data, prefix="Tensor(", separator=" ")
        return f"Tensor({body}, shape={self.shape}, dtype={self.dtype})"

# %% [markdown]
# Run this after writing `__init__`. Watch the dtypes: the float list becomes `float32`, the
# integers `int64`, and the explicit `dtype` wins.

# %%
print(repr(Tensor([1.0, 2.0, 3.0])))
print(repr(Tensor([[1, 2], [3, 4]])), "| size", Tensor([[1, 2], [3, 4]]).size)
print(repr(Tensor(5)), repr(Tensor(True)), repr(Tensor([1, 2], dtype="float64")))

# %% nbgrader={"grade": true, "grade_id": "test-tensor-init", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
t = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
assert isinstance(t.data, np.ndarray), f"t.data should be the NumPy array; got a {type(t.data).__name__}"
assert t.shape == (2, 3) and t.size == 6 and t.ndim == 2, \
    f"expected shape (2, 3), size 6, ndim 2; got shape {t.shape}, size {t.size}, ndim {t.ndim}"
assert t.dtype == np.float32, f"float data should default to float32, got {t.dtype}"
scalar = Tensor(3.5)
assert scalar.shape == () and scalar.dtype == np.float32, \
    f"a Python float should be a float32 scalar of shape (); got shape {scalar.shape}, dtype {scalar.dtype}"
assert Tensor([1, 2, 3]).dtype == np.int64, f"Python ints should become int64, got {Tensor([1, 2, 3]).dtype}"
assert Tensor([True, False]).dtype == np.bool_, f"bools should stay bool, got {Tensor([True, False]).dtype}"
assert Tensor([1, 2], dtype=np.float64).dtype == np.float64, \
    f"an explicit dtype wins: expected float64, got {Tensor([1, 2], dtype=np.float64).dtype}"
assert Tensor(np.zeros(3)).dtype == np.float32, \
    f"a float64 array becomes float32 by default, got {Tensor(np.zeros(3)).dtype}"
print("✅ Tensor creation works")
### BEGIN HIDDEN TESTS
assert Tensor([1.5], dtype="float16").dtype == np.float16, \
    f"dtype='float16' should give float16, got {Tensor([1.5], dtype='float16').dtype}"
copy = Tensor(t)
assert copy.dtype == np.float32 and copy.shape == (2, 3) and copy.data is not t.data, \
    f"Tensor(t) should be a float32 (2, 3) copy; got {copy.dtype} {copy.shape}, shared memory: {copy.data is t.data}"
wide = Tensor(np.ones(2), dtype=np.float64)
assert Tensor(wide).dtype == np.float64, f"a Tensor keeps its dtype: expected float64, got {Tensor(wide).dtype}"
source = np.array([1.0, 2.0], dtype=np.float32)
assert Tensor(source).data is not source, "Tensor should copy its data, but it kept the caller's array"
for bad in ({"a": 1}, "text", None):
    try:
        Tensor(bad)
    except TypeError:
        pass
    else:
        raise AssertionError(f"Tensor({bad!r}) should raise TypeError")
try:
    Tensor([[1, 2], [3]])
except ValueError:
    pass
else:
    raise AssertionError("a ragged list should raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ### Step 2 — arithmetic
#
# Write `add` and `multiply` (section 3); the operators `+` and `*` call them from either side.
# `-` and `/` are given in full (`subtract` and `divide` follow the same pattern), and so are the
# comparisons, which give `bool` tensors. Each operator returns `NotImplemented` for an unknown
# operand type, so Python can ask the other operand instead.

# %% nbgrader={"grade": false, "grade_id": "tensor-arithmetic", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@patch
def add(self: Tensor, other):
    """Elementwise self + other, with broadcasting; other: Tensor, number, list or array."""
    b = _operand(other)
    if b is NotImplemented:
        raise TypeError(f"cannot add a Tensor and a {type(other).__name__}")
    # TODO: add self's array and b (NumPy broadcasts for you), and return the sum as a Tensor.
    # HINT: wrap NumPy results with `_result(array, self, other)` so the dtype rule applies.
    ### BEGIN SOLUTION
    return _result(self._data + b, self, other)
    ### END SOLUTION


@patch
def multiply(self: Tensor, other):
    """Elementwise self * other, with broadcasting; other: Tensor, number, list or array."""
    b = _operand(other)
    if b is NotImplemented:
        raise TypeError(f"cannot multiply a Tensor and a {type(other).__name__}")
    # TODO: as in `add`, with elementwise multiplication.
    ### BEGIN SOLUTION
    return _result(self._data * b, self, other)
    ### END SOLUTION


@patch
def subtract(self: Tensor, other):
    """Elementwise self - other, with broadcasting."""
    b = _operand(other)
    if b is NotImplemented:
        raise TypeError(f"cannot subtract a {type(other).__name__} from a Tensor")
    return _result(self._data - b, self, other)


@patch
def divide(self: Tensor, other):
    """Elementwise self / other (true division), with broadcasting."""
    b = _operand(other)
    if b is NotImplemented:
        raise TypeError(f"cannot divide a Tensor by a {type(other).__name__}")
    return _result(self._data / b, self, other)


# Operators (given).
@patch
def __add__(self: Tensor, other):
    return NotImplemented if _operand(other) is NotImplemented else self.add(other)


@patch
def __radd__(self: Tensor, other):
    return NotImplemented if _operand(other) is NotImplemented else self.add(other)


@patch
def __mul__(self: Tensor, other):
    return NotImplemented if _operand(other) is NotImplemented else self.multiply(other)


@patch
def __rmul__(self: Tensor, other):
    return NotImplemented if _operand(other) is NotImplemented else self.multiply(other)


@patch
def __sub__(self: Tensor, other):
    return NotImplemented if _operand(other) is NotImplemented else self.subtract(other)


@patch
def __rsub__(self: Tensor, other):
    b = _operand(other)
    return NotImplemented if b is NotImplemented else _result(b - self._data, self, other)


@patch
def __truediv__(self: Tensor, other):
    return NotImplemented if _operand(other) is NotImplemented else self.divide(other)


@patch
def __rtruediv__(self: Tensor, other):
    b = _operand(other)
    return NotImplemented if b is NotImplemented else _result(b / self._data, self, other)


@patch
def __neg__(self: Tensor):
    return _result(-self._data, self)


@patch
def __pow__(self: Tensor, exponent):
    b = _operand(exponent)
    return NotImplemented if b is NotImplemented else _result(self._data ** b, self, exponent)


# Comparisons (given): elementwise, returning bool tensors.
@patch
def _compare(self: Tensor, other, op):
    b = _operand(other)
    return NotImplemented if b is NotImplemented else _result(op(self._data, b))


@patch
def __eq__(self: Tensor, other):
    return self._compare(other, np.equal)


@patch
def __ne__(self: Tensor, other):
    return self._compare(other, np.not_equal)


@patch
def __lt__(self: Tensor, other):
    return self._compare(other, np.less)


@patch
def __le__(self: Tensor, other):
    return self._compare(other, np.less_equal)


@patch
def __gt__(self: Tensor, other):
    return self._compare(other, np.greater)


@patch
def __ge__(self: Tensor, other):
    return self._compare(other, np.greater_equal)


# %% [markdown]
# With `add` and `multiply` written, all four operators work from either side, with numbers and
# with broadcasting:

# %%
a = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
print(a + Tensor([10.0, 20.0, 30.0]))   # bias added to each row
print(2 * a - 1)                        # number on the left, then on the right
print(1 / Tensor([1.0, 2.0, 4.0]), -a.add(a).multiply(0.5))

# %% nbgrader={"grade": true, "grade_id": "test-tensor-arithmetic", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
a = Tensor([[1.0, 2.0], [3.0, 4.0]])
b = Tensor([10.0, 20.0])
assert isinstance(a.add(b), Tensor), f"add should return a Tensor, got a {type(a.add(b)).__name__}"
assert np.allclose(a.add(b).data, [[11, 22], [13, 24]]), \
    f"add should broadcast (2, 2) + (2,): expected [[11, 22], [13, 24]], got {a.add(b).data.tolist()}"
assert np.allclose(a.multiply(b).data, [[10, 40], [30, 80]]), \
    f"multiply: expected [[10, 40], [30, 80]], got {a.multiply(b).data.tolist()}"
assert np.allclose((a + 1).data, [[2, 3], [4, 5]]) and np.allclose((1 + a).data, (a + 1).data), \
    f"a + 1 and 1 + a: expected [[2, 3], [4, 5]], got {(a + 1).data.tolist()} and {(1 + a).data.tolist()}"
assert np.allclose((3 * a).data, (a * 3).data) and np.allclose((3 * a).data, [[3, 6], [9, 12]]), \
    f"3 * a and a * 3: expected [[3, 6], [9, 12]], got {(3 * a).data.tolist()} and {(a * 3).data.tolist()}"
assert np.allclose((a - b).data, [[-9, -18], [-7, -16]]) and np.allclose((10 - a).data, [[9, 8], [7, 6]]), \
    f"a - b and 10 - a: expected [[-9, -18], [-7, -16]] and [[9, 8], [7, 6]], got {(a - b).data.tolist()} and {(10 - a).data.tolist()}"
assert np.allclose((a / 2).data, [[0.5, 1], [1.5, 2]]) and (a * 2).dtype == np.float32, \
    f"a / 2: expected [[0.5, 1], [1.5, 2]] and a float32 a * 2, got {(a / 2).data.tolist()} and {(a * 2).dtype}"
print("✅ arithmetic works")
### BEGIN HIDDEN TESTS
x = np.random.default_rng(0).normal(size=(3, 1, 4)).astype(np.float32)
y = np.random.default_rng(1).normal(size=(5, 1)).astype(np.float32)
assert np.allclose((Tensor(x) + Tensor(y)).data, x + y) and (Tensor(x) * Tensor(y)).shape == (3, 5, 4), \
    f"(3, 1, 4) + (5, 1) should broadcast to (3, 5, 4) like NumPy; got shape {(Tensor(x) * Tensor(y)).shape}"
assert np.allclose((Tensor(x) * Tensor(y)).data, x * y), "(3, 1, 4) * (5, 1) differs from NumPy's x * y"
assert np.allclose(Tensor([1.0, 2.0]).add([3.0, 4.0]).data, [4, 6]), \
    f"add with a list: expected [4, 6], got {Tensor([1.0, 2.0]).add([3.0, 4.0]).data.tolist()}"
assert (Tensor([1, 2]) + Tensor([3, 4])).dtype == np.int64, \
    f"int64 + int64 should stay int64, got {(Tensor([1, 2]) + Tensor([3, 4])).dtype}"
assert (Tensor([1, 2]) * Tensor([3.0, 4.0])).dtype == np.float32, \
    f"int64 * float32 should be float32, got {(Tensor([1, 2]) * Tensor([3.0, 4.0])).dtype}"
### END HIDDEN TESTS

# %% [markdown]
# ### See it: broadcasting, drawn from your `Tensor`
#
# `column + row` with shapes `(4, 1)` and `(3,)`. Lined up from the right, `(3,)` counts as
# `(1, 3)`; each axis of length 1 is stretched to the other operand's length, so both become
# `(4, 3)`. Dark cells hold the values you passed in, pale ones the stretched copies (NumPy never
# makes them in memory); the right panel is what your `+` returned.

# %% tags=["hide-input"]
import os

if __name__ == "__main__" and not os.environ.get("TINYTORCH_GRADING"):
    try:
        import matplotlib.pyplot as plt

        column = Tensor([[0.0], [10.0], [20.0], [30.0]])
        row = Tensor([1.0, 2.0, 3.0])
        total = column + row
        rows, cols = total.shape
        panels = [("column  (4, 1)", np.broadcast_to(column.data, (rows, cols)), (slice(None), slice(0, 1))),
                  ("row  (3,) → (1, 3)", np.broadcast_to(row.data, (rows, cols)), (slice(0, 1), slice(None))),
                  (f"column + row  {total.shape}", total.data, (slice(None), slice(None)))]
        fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
        for ax, (title, values, given) in zip(axes, panels):
            solid = np.zeros((rows, cols), dtype=bool)
            solid[given] = True
            for (i, j), value in np.ndenumerate(values):
                ax.add_patch(plt.Rectangle((j, rows - 1 - i), 0.95, 0.95,
                                           color="#3b6fb6" if solid[i, j] else "#c9d8ee"))
                ax.text(j + 0.475, rows - 0.525 - i, f"{value:g}", ha="center", va="center",
                        color="white" if solid[i, j] else "#3b6fb6", fontsize=12)
            ax.set_xlim(-0.1, cols)
            ax.set_ylim(-0.1, rows)
            ax.set_aspect("equal")
            ax.axis("off")
            ax.set_title(title)
        fig.text(0.355, 0.45, "+", fontsize=22, ha="center")
        fig.text(0.655, 0.45, "=", fontsize=22, ha="center")
        plt.show()
    except NotImplementedError:
        print("Finish Tensor's add (and __init__) above to see broadcasting drawn.")

# %% [markdown]
# ### Step 3 — matrix multiplication
#
# Write `matmul` (section 4); `@` calls it from either side.

# %% nbgrader={"grade": false, "grade_id": "tensor-matmul", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@patch
def matmul(self: Tensor, other):
    """Matrix product self @ other: (..., m, k) @ (..., k, n) -> (..., m, n)."""
    b = _operand(other)
    if b is NotImplemented:
        raise TypeError(f"cannot matmul a Tensor and a {type(other).__name__}")
    a, b = self._data, np.asarray(b)
    # TODO: return the matrix product of a and b as a Tensor (`np.matmul`, then `_result`).
    #       When the shapes don't fit, raise a ValueError whose message names both shapes.
    # HINTS: - np.matmul raises ValueError for mismatched inner dimensions or a 0-d operand;
    #          catch it (try/except ValueError) and raise your own with a.shape and b.shape.
    #        - `raise ... from None` hides NumPy's message behind yours.
    ### BEGIN SOLUTION
    try:
        product = np.matmul(a, b)
    except ValueError:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned; "
                         "(m, k) @ (k, n) needs the same k, and neither operand may be a "
                         "scalar") from None
    return _result(product, self, other)
    ### END SOLUTION


@patch
def __matmul__(self: Tensor, other):
    return NotImplemented if _operand(other) is NotImplemented else self.matmul(other)


@patch
def __rmatmul__(self: Tensor, other):
    b = _operand(other)
    return NotImplemented if b is NotImplemented else _result(b).matmul(self)

# %%
x = Tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
w = Tensor([[1.0, 0.0, -1.0], [0.0, 1.0, 1.0]])
print(x @ w)
try:
    x @ x
except ValueError as err:
    print("ValueError:", err)

# %% nbgrader={"grade": true, "grade_id": "test-tensor-matmul", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = Tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
w = Tensor([[1.0, 0.0, -1.0], [0.0, 1.0, 1.0]])
product = x @ w
assert isinstance(product, Tensor) and product.shape == (3, 3), \
    f"(3, 2) @ (2, 3) should be a (3, 3) Tensor, got a {type(product).__name__} of shape {product.shape}"
assert np.allclose(product.data, x.data @ w.data), \
    f"x @ w: expected {(x.data @ w.data).tolist()}, got {product.data.tolist()}"
assert np.allclose(x.matmul(w).data, product.data), \
    f"x.matmul(w) should equal x @ w, got {x.matmul(w).data.tolist()}"
try:
    x @ x
except ValueError as err:
    assert "(3, 2)" in str(err), f"the error should name the shapes (3, 2), got: {err}"
else:
    raise AssertionError("(3, 2) @ (3, 2) should raise ValueError")
print("✅ matmul works")
### BEGIN HIDDEN TESTS
batch = np.random.default_rng(2).normal(size=(4, 3, 2)).astype(np.float32)
assert np.allclose((Tensor(batch) @ w).data, batch @ w.data, atol=1e-6), \
    "a stack (4, 3, 2) @ (2, 3) differs from NumPy's batch @ w"
assert np.allclose((Tensor([1.0, 2.0]) @ w).data, [1.0, 2.0, 1.0]), \
    f"vector @ matrix: expected [1, 2, 1], got {(Tensor([1.0, 2.0]) @ w).data.tolist()}"
try:
    Tensor([1.0, 2.0, 3.0]) @ Tensor([[1.0, 2.0]])
except ValueError as err:
    assert "(3,)" in str(err) and "(1, 2)" in str(err), f"the error should name (3,) and (1, 2), got: {err}"
else:
    raise AssertionError("(3,) @ (1, 2) should raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ### Step 4 — reshape and transpose
#
# Write `reshape` and `transpose` (section 5). `t.T` and `t.flatten()` (the same as
# `reshape(-1)`) are given, built on them.

# %% nbgrader={"grade": false, "grade_id": "tensor-shape", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@patch
def reshape(self: Tensor, *shape):
    """Same elements in a new shape: t.reshape(2, 3) or t.reshape((2, 3)); one -1 allowed."""
    # TODO: return the data in the new shape, as a Tensor.
    # HINTS: - `t.reshape((2, 3))` arrives as shape == ((2, 3),): unpack a single tuple/list.
    #        - ndarray.reshape understands -1 and raises ValueError for a wrong size.
    ### BEGIN SOLUTION
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return _result(self._data.reshape(shape), self)
    ### END SOLUTION


@patch
def transpose(self: Tensor, *axes):
    """Reorder the axes; with no arguments reverse them: t.transpose(), t.transpose(1, 0)."""
    # TODO: return the data with its axes reordered, as a Tensor.
    # HINTS: - accept one tuple or separate numbers, as in `reshape`.
    #        - ndarray.transpose(None) reverses the axes; `axes or None` gives that when empty.
    ### BEGIN SOLUTION
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    return _result(self._data.transpose(axes or None), self)
    ### END SOLUTION


@patch(as_prop=True)
def T(self: Tensor):
    """The tensor with its axes reversed (rows and columns swapped for a matrix)."""
    return self.transpose()


@patch
def flatten(self: Tensor):
    """The elements in one axis, in order: the same as `reshape(-1)`."""
    return self.reshape(-1)

# %%
m = Tensor([[1, 2, 3], [4, 5, 6]])
print(m.reshape(3, 2), m.reshape((6,)).shape, m.reshape(-1, 1).shape)
print(m.T, Tensor(np.zeros((2, 3, 4))).transpose(2, 0, 1).shape, m.flatten())

# %% nbgrader={"grade": true, "grade_id": "test-tensor-shape", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
m = Tensor([[1, 2, 3], [4, 5, 6]])
assert isinstance(m.reshape(3, 2), Tensor), f"reshape should return a Tensor, got a {type(m.reshape(3, 2)).__name__}"
assert m.reshape(3, 2).data.tolist() == [[1, 2], [3, 4], [5, 6]], \
    f"reshape(3, 2): expected [[1, 2], [3, 4], [5, 6]], got {m.reshape(3, 2).data.tolist()}"
assert m.reshape((6,)).shape == (6,) and m.reshape(-1, 3).shape == (2, 3), \
    f"reshape((6,)) and reshape(-1, 3): expected (6,) and (2, 3), got {m.reshape((6,)).shape} and {m.reshape(-1, 3).shape}"
assert m.T.shape == (3, 2) and m.T.data.tolist() == [[1, 4], [2, 5], [3, 6]], \
    f"m.T: expected [[1, 4], [2, 5], [3, 6]], got {m.T.data.tolist()}"
assert Tensor(np.zeros((2, 3, 4))).transpose(2, 0, 1).shape == (4, 2, 3), \
    f"transpose(2, 0, 1) of (2, 3, 4): expected (4, 2, 3), got {Tensor(np.zeros((2, 3, 4))).transpose(2, 0, 1).shape}"
print("✅ reshape and transpose work")
### BEGIN HIDDEN TESTS
cube = np.arange(24).reshape(2, 3, 4)
assert np.array_equal(Tensor(cube).transpose((1, 2, 0)).data, cube.transpose(1, 2, 0)), \
    "transpose((1, 2, 0)) differs from NumPy's"
assert np.array_equal(Tensor(cube).T.data, cube.T) and np.array_equal(Tensor(cube).transpose().data, cube.T), \
    "T and transpose() should reverse the axes like NumPy's .T"
assert np.array_equal(Tensor(cube).reshape([4, -1]).data, cube.reshape(4, 6)), \
    f"reshape([4, -1]): expected shape (4, 6), got {Tensor(cube).reshape([4, -1]).shape}"
try:
    m.reshape(4, 2)
except ValueError:
    pass
else:
    raise AssertionError("reshaping 6 elements to (4, 2) should raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ### Step 5 — sum and mean
#
# Write `sum` and `mean` (section 6); `max` is given. NumPy's reduction functions call the method
# of the same name: `np.sum(t, axis=0)` is `t.sum(axis=0, dtype=None, out=None)`. So the
# reductions accept NumPy's `dtype=` (reduce in that dtype) and `out=` (write the result into that
# array or Tensor and return it); the given first lines hand those two to `_numpy_reduction` and
# leave the rest to your code.

# %% nbgrader={"grade": false, "grade_id": "tensor-reductions", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _numpy_reduction(method, tensor, axis, keepdims, dtype, out):
    """`np.sum(t, dtype=..., out=...)` and friends: reduce in `dtype`, then write into `out`."""
    source = tensor if dtype is None else Tensor(tensor, dtype=dtype)
    result = method(source, axis=axis, keepdims=keepdims)
    if out is None:
        return result
    target = out._data if isinstance(out, Tensor) else out
    if not isinstance(target, np.ndarray):
        raise TypeError(f"out= must be a NumPy array or a Tensor, got {type(out).__name__}")
    np.copyto(target, result._data, casting="same_kind")
    return out


@patch
def sum(self: Tensor, axis=None, keepdims=False, *, dtype=None, out=None):
    """Sum over `axis` (None: all elements); keepdims keeps reduced axes with length 1."""
    if dtype is not None or out is not None:     # np.sum(t, dtype=..., out=...) (given)
        return _numpy_reduction(Tensor.sum, self, axis, keepdims, dtype, out)
    axis = tuple(axis) if isinstance(axis, list) else axis
    # TODO: sum the data along `axis` and return a Tensor (a 0-d Tensor when axis is None).
    # HINT: ndarray.sum takes the same `axis` and `keepdims` arguments.
    ### BEGIN SOLUTION
    return _result(self._data.sum(axis=axis, keepdims=keepdims), self)
    ### END SOLUTION


@patch
def mean(self: Tensor, axis=None, keepdims=False, *, dtype=None, out=None):
    """Arithmetic mean over `axis` (None: all elements)."""
    if dtype is not None or out is not None:     # np.mean(t, dtype=..., out=...) (given)
        return _numpy_reduction(Tensor.mean, self, axis, keepdims, dtype, out)
    axis = tuple(axis) if isinstance(axis, list) else axis
    # TODO: as in `sum`, with the mean. (The mean of integers is float64 in NumPy;
    #       `_result` turns it into float32.)
    # HINT: ndarray.mean works; the sum divided by the count of values averaged is the same
    #       and skips ndarray.mean's few microseconds of Python bookkeeping.
    ### BEGIN SOLUTION
    total = self._data.sum(axis=axis, keepdims=keepdims)
    count = self._data.size // max(total.size, 1)      # values per mean
    return _result(total / count, self)
    ### END SOLUTION


@patch
def max(self: Tensor, axis=None, keepdims=False, *, out=None):
    """Largest element over `axis` (None: all elements)."""
    if out is not None:                          # np.max(t, out=...)
        return _numpy_reduction(Tensor.max, self, axis, keepdims, None, out)
    axis = tuple(axis) if isinstance(axis, list) else axis
    return _result(self._data.max(axis=axis, keepdims=keepdims), self)

# %%
scores = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
print(scores.sum(), scores.sum(axis=0), scores.mean(axis=1, keepdims=True))
print("largest:", scores.max().item(), "| row maxima:", scores.max(axis=1))

# %% nbgrader={"grade": true, "grade_id": "test-tensor-reductions", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
s = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
total = s.sum()
assert isinstance(total, Tensor) and total.shape == () and total.item() == 21.0, \
    f"s.sum() should be a 0-d Tensor holding 21.0, got a {type(total).__name__} of shape {total.shape}: {total.data}"
assert np.allclose(s.sum(axis=0).data, [5, 7, 9]) and np.allclose(s.sum(axis=1).data, [6, 15]), \
    f"sum(axis=0) and sum(axis=1): expected [5, 7, 9] and [6, 15], got {s.sum(axis=0).data.tolist()} and {s.sum(axis=1).data.tolist()}"
assert s.mean().item() == 3.5 and np.allclose(s.mean(axis=0).data, [2.5, 3.5, 4.5]), \
    f"mean() and mean(axis=0): expected 3.5 and [2.5, 3.5, 4.5], got {s.mean().item()} and {s.mean(axis=0).data.tolist()}"
assert s.sum(axis=1, keepdims=True).shape == (2, 1) and s.mean(axis=0, keepdims=True).shape == (1, 3), \
    f"keepdims=True: expected shapes (2, 1) and (1, 3), got {s.sum(axis=1, keepdims=True).shape} and {s.mean(axis=0, keepdims=True).shape}"
print("✅ sum and mean work")
### BEGIN HIDDEN TESTS
cube = np.random.default_rng(3).normal(size=(2, 3, 4)).astype(np.float32)
for axis in (None, 0, 1, -1, (0, 2)):
    for keep in (False, True):
        assert np.allclose(Tensor(cube).sum(axis=axis, keepdims=keep).data, cube.sum(axis=axis, keepdims=keep), atol=1e-5), \
            f"sum(axis={axis}, keepdims={keep}) differs from NumPy's"
        assert np.allclose(Tensor(cube).mean(axis=axis, keepdims=keep).data, cube.mean(axis=axis, keepdims=keep), atol=1e-6), \
            f"mean(axis={axis}, keepdims={keep}) differs from NumPy's"
assert Tensor([1, 2]).mean().dtype == np.float32 and Tensor(cube).sum().dtype == np.float32, \
    f"the mean of ints and the sum of float32 should be float32, got {Tensor([1, 2]).mean().dtype} and {Tensor(cube).sum().dtype}"
### END HIDDEN TESTS

# %% [markdown]
# ### Step 6 — elementwise functions and the NumPy protocol
#
# Write `exp`; the other elementwise functions — `log`, `sqrt`, `tanh`, `abs`, `maximum`,
# `minimum` — are given, each one NumPy call wrapped with `_result`. The rest of the cell makes
# `Tensor` a NumPy citizen:
#
# - `__array_ufunc__` makes NumPy's elementwise functions (ufuncs) return a `Tensor`: `np.exp(t)`
#   calls `t.exp()`, `np.maximum(t, 0)` calls `t.maximum(0)`, `np.add(t, 1)` calls `t.add(1)`
#   (other ufuncs, such as `np.sin`, compute on the array). `__array__` makes `np.asarray(t)`
#   return the array.
# - `abs(t)`, `float(t)`, `int(t)` and `round(t, 2)` work as in NumPy: `float` and `int` need a
#   one-element tensor, `round` rounds every element and returns a Tensor.

# %% nbgrader={"grade": false, "grade_id": "tensor-functions", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@patch
def exp(self: Tensor):
    """e ** x, elementwise."""
    # TODO: return e to the power of every element, as a Tensor.
    # HINT: `np.exp` on the array, wrapped with `_result(array, self)`.
    ### BEGIN SOLUTION
    return _result(np.exp(self._data), self)
    ### END SOLUTION


@patch
def log(self: Tensor):
    """Natural logarithm, elementwise."""
    return _result(np.log(self._data), self)


@patch
def sqrt(self: Tensor):
    """Square root, elementwise."""
    return _result(np.sqrt(self._data), self)


@patch
def tanh(self: Tensor):
    """Hyperbolic tangent, elementwise."""
    return _result(np.tanh(self._data), self)


@patch
def abs(self: Tensor):
    """Absolute value, elementwise (also `abs(t)`)."""
    return _result(np.abs(self._data), self)


@patch
def maximum(self: Tensor, other):
    """Elementwise larger of self and other, with broadcasting (`np.maximum(t, 0)` is ReLU)."""
    b = _operand(other)
    if b is NotImplemented:
        raise TypeError(f"cannot compare a Tensor and a {type(other).__name__}")
    return _result(np.maximum(self._data, b), self, other)


@patch
def minimum(self: Tensor, other):
    """Elementwise smaller of self and other, with broadcasting."""
    b = _operand(other)
    if b is NotImplemented:
        raise TypeError(f"cannot compare a Tensor and a {type(other).__name__}")
    return _result(np.minimum(self._data, b), self, other)


@patch
def __abs__(self: Tensor):
    return self.abs()


@patch
def __float__(self: Tensor):
    return float(self.item())    # float(t) for a one-element tensor; size > 1 raises ValueError


@patch
def __int__(self: Tensor):
    return int(self.item())


@patch
def __round__(self: Tensor, ndigits=None):
    """round(t) or round(t, 2): every element rounded (half to even, like NumPy), as a Tensor."""
    return _result(np.round(self._data, ndigits or 0), self)


@patch
def __array__(self: Tensor, dtype=None, copy=None):
    if copy is False and dtype is not None and np.dtype(dtype) != self._data.dtype:
        raise ValueError("a copy is needed to change the dtype, but copy=False was given")
    array = self._data if dtype is None else self._data.astype(dtype, copy=False)
    return array.copy() if copy else array


@patch
def __array_ufunc__(self: Tensor, ufunc, method, *inputs, **kwargs):
    """NumPy ufuncs on Tensors (np.exp(t), np.maximum(t, 0)) compute on the arrays, return Tensors."""
    arrays = [_operand(x) for x in inputs]
    if any(a is NotImplemented for a in arrays):
        return NotImplemented
    name = _UFUNC_METHODS.get(ufunc)
    if name is not None and method == "__call__" and not kwargs:   # np.exp(t) is t.exp()
        first = inputs[0]
        if isinstance(first, Tensor):
            return getattr(first, name)(*inputs[1:])
        if name in _COMMUTATIVE and isinstance(inputs[1], Tensor):   # np.maximum(0, t)
            return getattr(inputs[1], name)(first)
    out = kwargs.get("out")
    if out is not None:
        out_arrays = tuple(o._data if isinstance(o, Tensor) else o for o in out)
        if not all(isinstance(o, np.ndarray) for o in out_arrays):
            return NotImplemented
        kwargs["out"] = out_arrays
    if isinstance(kwargs.get("where"), Tensor):
        kwargs["where"] = kwargs["where"]._data
    result = getattr(ufunc, method)(*arrays, **kwargs)
    if out is not None:
        return out[0] if len(out) == 1 else out
    if method == "at":
        return None
    if isinstance(result, tuple):
        return tuple(_result(r, *inputs) for r in result)
    return _result(result, *inputs)


# NumPy functions that run the Tensor method of the same purpose (see __array_ufunc__).
_UFUNC_METHODS = {np.exp: "exp", np.log: "log", np.sqrt: "sqrt", np.tanh: "tanh", np.absolute: "abs",
                  np.maximum: "maximum", np.minimum: "minimum", np.add: "add", np.subtract: "subtract",
                  np.multiply: "multiply", np.true_divide: "divide", np.matmul: "matmul"}
_COMMUTATIVE = {"add", "multiply", "maximum", "minimum"}

# %% nbgrader={"grade": true, "grade_id": "test-tensor-functions", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
z = Tensor([-2.0, 0.0, 3.0])
assert isinstance(z.exp(), Tensor) and np.allclose(z.exp().data, np.exp([-2.0, 0.0, 3.0])), \
    f"exp: expected {np.exp([-2.0, 0.0, 3.0]).tolist()}, got {z.exp().data}"
assert z.exp().dtype == np.float32, f"exp of float32 should stay float32, got {z.exp().dtype}"
assert isinstance(np.exp(z), Tensor) and np.allclose(np.exp(z).data, z.exp().data), \
    f"np.exp(t) should call t.exp() and give a Tensor, got {np.exp(z)!r}"
assert np.allclose(np.maximum(z, 0).data, [0, 0, 3]) and np.allclose(abs(z).data, [2, 0, 3]), \
    f"np.maximum(z, 0) and abs(z): expected [0, 0, 3] and [2, 0, 3], got {np.maximum(z, 0).data} and {abs(z).data}"
assert float(Tensor([2.5])) == 2.5 and np.allclose(round(z / 3, 2).data, [-0.67, 0.0, 1.0]), \
    f"float(Tensor([2.5])) and round(z / 3, 2): expected 2.5 and [-0.67, 0.0, 1.0], got {float(Tensor([2.5]))} and {round(z / 3, 2).data.tolist()}"
assert isinstance(np.sum(z), Tensor) and np.sum(z).item() == 1.0, \
    f"np.sum(t) should call t.sum() and give Tensor(1.0), got {np.sum(z)!r}"
print("✅ elementwise functions and NumPy's functions work")
### BEGIN HIDDEN TESTS
r = np.random.default_rng(4).uniform(0.5, 2.0, size=(2, 3)).astype(np.float32)
assert np.allclose(np.exp(Tensor(r)).data, np.exp(r)), "np.exp(t) differs from NumPy's np.exp"
assert Tensor(r.astype(np.float64), dtype=np.float64).exp().dtype == np.float64, "exp of float64 should stay float64"
assert np.allclose(Tensor(r).exp().log().data, r, atol=1e-6), "log(exp(x)) should give x back"
### END HIDDEN TESTS

# %% [markdown]
# ## 8. The plumbing at work
#
# The given code makes `Tensor` behave like a NumPy citizen. NumPy ufuncs (`np.exp`,
# `np.maximum`, `np.tanh`, …) return Tensors, comparisons give `bool` tensors, and indexing gives
# Tensors — so the activation functions of the next module can be written once, with operators,
# methods and ufuncs only. NumPy's reductions call your methods, so `np.sum(t)` and `t.sum()` are
# the same thing, and `abs`, `float` and `round` work on tensors too.

# %%
z = Tensor([-2.0, 0.0, 3.0])
print(np.maximum(z, 0), np.exp(z), np.tanh(z))
print(np.sum(z), np.mean(z, dtype=np.float64), np.max(z), abs(z), float(z.sum()), round(z / 3, 2))
print(Tensor([[1, 2], [3, 4]]).flatten(), "| is np.sum(t) a Tensor?", isinstance(np.sum(z), Tensor))
print(z > 0, z[1:], z[z > 0], np.asarray(z).dtype)

# %% [markdown]
# Finally, how a richer type takes over. An operator that meets a type it doesn't know returns
# `NotImplemented`, and Python asks the other operand. When the right operand is a *subclass* that
# overrides the reflected operator (`__radd__`, …), Python even asks it first; NumPy likewise asks
# a subclass's `__array_ufunc__` first. Here a tiny subclass takes over `tensor + tagged` and
# `np.exp(tagged)`. Module 07's `Variable` uses exactly this to record a computation graph.

# %%
class Tagged(Tensor):
    def __radd__(self, other):
        return "Tagged.__radd__ ran"

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return f"Tagged handled np.{ufunc.__name__}"


tagged = Tagged([1.0, 2.0])
print(Tensor([1.0, 2.0]) + tagged, "|", np.exp(tagged))

# %% [markdown]
# ## What you built
#
# A `Tensor` that stores a NumPy array with a deliberate dtype, does elementwise arithmetic with
# broadcasting from either side, multiplies matrices with a helpful error, reshapes and transposes,
# and reduces along axes. Export it with `tito export 01`; later modules import it:
#
# ```python
# from tinytorch.core.tensor import Tensor
# ```
#
# Next, module 02 builds activation functions on top of it.

# %% [markdown]
# ## Exercises (not graded)
#
# 1. Predict the shape of `Tensor(np.ones((2, 1, 3))) + Tensor(np.ones((4, 1)))`, then check. Draw
#    it the way the broadcasting picture above does: which axes are stretched?
# 2. `Tensor([1, 2]) / 2` — what dtype does your Tensor give, and why is that the right choice for
#    a deep-learning library (compare NumPy's integer arrays)?
# 3. Write `t.mean(axis=0)` for a `(3, 4)` Tensor using only `sum`, `shape` and `/`, and check it
#    against your `mean`.
