# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 02 — Activations: the nonlinearity that makes depth worth it
#
# A layer of a network multiplies by a matrix and adds a vector. Stack two such layers and you
# still have one matrix and one vector: `(x @ W1 + b1) @ W2 + b2 = x @ (W1 @ W2) + (b1 @ W2 + b2)`.
# Depth buys nothing until something *bends* the line between layers. That something is an
# activation function, applied to every element on its own.
#
# **Goals of this module**
# - Implement `ReLU`, `Sigmoid`, `Tanh` and `Softmax` as classes with `forward(x)` and `__call__(x)`.
# - Make `Sigmoid` and `Softmax` numerically stable: no overflow, no `nan`, even for inputs of ±1000.
# - Write them only with operators and NumPy ufuncs *on the Tensor you are given*, so that the
#   same code will later carry gradients (module 07) without a single change.

# %%
#| default_exp core.activations

# %%
#| export
import numpy as np

from tinytorch.core.tensor import Tensor

# %%
import os

# %% [markdown]
# ## The one rule: compute on `x`, not on `x.data`
#
# Your `Tensor` from module 01 understands NumPy ufuncs: `np.exp(t)`, `np.tanh(t)` and
# `np.maximum(t, 0)` return Tensors. In module 07 you will write `Variable`, a subclass of `Tensor`
# that records every operation so it can compute gradients. It can only record what it sees: if an
# activation unpacks the raw array (`x.data`), computes on it and wraps a new `Tensor` around the
# result, the record is broken and nothing before that activation can learn.
#
# So every activation here is written with operators (`+ - * /`), methods (`max`, `sum`) and the
# ufuncs `np.exp`, `np.tanh`, `np.maximum` applied to `x` itself. Watch what that looks like:

# %%
t = Tensor([[-2.0, 0.0, 3.0]])
print(np.maximum(t, 0))        # a Tensor, computed by your Tensor's ufunc support
print(0.5 * t + 1)             # operators mix Tensors and numbers from either side
print(t.max(axis=-1, keepdims=True))

# %% [markdown]
# The tests below check the rule with `NoPeeking`, a Tensor whose `.data` raises an error.
# Operators and ufuncs work on it (they read the array internally), reaching into `.data` fails:

# %%
class NoPeeking(Tensor):
    """A Tensor that refuses `.data`: activations must compute on the Tensor itself."""

    @property
    def data(self):
        raise AssertionError("compute with operators and ufuncs on x, not on x.data")


try:
    NoPeeking([1.0, -1.0]).data
except AssertionError as err:
    print("NoPeeking says:", err)
print(np.maximum(NoPeeking([1.0, -1.0]), 0))

# %% [markdown]
# Each class also accepts a plain list or NumPy array and turns it into a `Tensor` first, so
# `ReLU()([-1, 2])` works. `__call__` simply calls `forward`, which lets a layer be used like a
# function: `relu(x)`.

# %% [markdown]
# ## Step 1 — ReLU
#
# The rectified linear unit keeps positive values and zeroes the rest:
#
# $$\mathrm{ReLU}(x) = \max(x, 0)$$
#
# It is cheap, its gradient is 1 wherever the unit is active (so signals don't fade through many
# layers), and it is the default choice for hidden layers.

# %% nbgrader={"grade": false, "grade_id": "relu", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class ReLU:
    """Rectified linear unit: max(x, 0), elementwise."""

    def forward(self, x):
        """Return a Tensor of x's shape with every negative entry replaced by 0."""
        if not isinstance(x, Tensor):
            x = Tensor(x)
        # TODO: return the elementwise maximum of x and 0.
        # HINT: one ufunc call on x itself: np.maximum(x, 0). Don't touch x.data.
        ### BEGIN SOLUTION
        return np.maximum(x, 0)
        ### END SOLUTION

    def __call__(self, x):
        return self.forward(x)

    def __repr__(self):
        return f"{type(self).__name__}()"


# %% [markdown]
# A worked example: negative entries become 0, the rest pass through unchanged.

# %%
relu = ReLU()
print(relu(Tensor([[-3.0, -0.5, 0.0, 0.5, 3.0]])))   # → [[0.  0.  0.  0.5 3. ]]

# %% [markdown]
# ### Test ReLU

# %% nbgrader={"grade": true, "grade_id": "test-relu", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
values = np.array([[-3.0, -0.5, 0.0, 0.5, 3.0], [1.0, -1.0, 2.0, -2.0, 0.25]], dtype=np.float32)
out = ReLU()(Tensor(values))
assert isinstance(out, Tensor), f"ReLU should return a Tensor, got {type(out).__name__}"
assert out.shape == values.shape, f"shape should stay {values.shape}, got {out.shape}"
assert np.array_equal(np.asarray(out), np.maximum(values, 0)), f"wrong values: {out}"
assert out.dtype == np.float32, f"float32 in should give float32 out, got {out.dtype}"
assert np.array_equal(np.asarray(ReLU().forward([-1.0, 2.0])), [0.0, 2.0]), "forward should accept a list"
def _refuses_data(t):
    try:
        t.data
    except AssertionError:
        return True
    return False


probe = NoPeeking(values)   # given in an editable cell above, so the test checks it still refuses .data
assert isinstance(probe, Tensor) and _refuses_data(probe), \
    "NoPeeking (given above) must stay a Tensor whose .data raises: restore its cell"
peeked = np.asarray(ReLU()(probe))
assert np.allclose(peeked, np.maximum(values, 0), atol=1e-6), \
    f"ReLU() must compute on the Tensor itself (operators and ufuncs, not .data), got {peeked}"
print("✅ ReLU works")
### BEGIN HIDDEN TESTS
big = np.random.default_rng(0).normal(size=(7, 3, 5)).astype(np.float32)
assert np.array_equal(np.asarray(ReLU()(Tensor(big))), np.maximum(big, 0)), \
    "ReLU of a (7, 3, 5) tensor should be np.maximum(x, 0) elementwise, with the same shape"
assert np.array_equal(np.asarray(ReLU()(Tensor(np.array([-1e30, 1e30], dtype=np.float32)))), np.array([0, 1e30], dtype=np.float32)), \
    f"ReLU([-1e30, 1e30]) should be [0, 1e30], got {np.asarray(ReLU()(Tensor(np.array([-1e30, 1e30], dtype=np.float32))))}"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 2 — Sigmoid, without overflow
#
# The sigmoid squashes any real number into (0, 1), which makes it the natural output for a
# yes/no probability:
#
# $$\sigma(x) = \frac{1}{1 + e^{-x}}$$
#
# Written literally, it breaks for large negative inputs: `np.exp(1000)` overflows to `inf` (in
# float32 already past `x ≈ 89`) and NumPy warns. The answer, 0, happens to come out right, but a
# warning in every training step hides real problems. A rearrangement avoids the large exponent
# altogether — multiply top and bottom by $e^{x/2}$ and you get
#
# $$\sigma(x) = \tfrac12\left(1 + \tanh\tfrac{x}{2}\right)$$
#
# and `tanh` saturates quietly at ±1 instead of overflowing.

# %%
with np.errstate(over="ignore"):
    print("literal formula at -1000:", 1 / (1 + np.exp(np.float32(1000))), "(np.exp overflowed to inf)")
print("tanh form at -1000:     ", 0.5 * (np.tanh(np.float32(-500)) + 1))

# %% nbgrader={"grade": false, "grade_id": "sigmoid", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Sigmoid:
    """Logistic sigmoid 1 / (1 + exp(-x)), computed as 0.5 * (tanh(x / 2) + 1) so it never overflows."""

    def forward(self, x):
        """Return a Tensor of x's shape with values in [0, 1]."""
        if not isinstance(x, Tensor):
            x = Tensor(x)
        # TODO: compute the sigmoid of x with the tanh form above.
        # HINT: operators on x and np.tanh(...) — a single expression. Numbers such as 0.5 mix
        #       with x without changing its float32 dtype.
        ### BEGIN SOLUTION
        return 0.5 * (np.tanh(0.5 * x) + 1)
        ### END SOLUTION

    def __call__(self, x):
        return self.forward(x)

    def __repr__(self):
        return f"{type(self).__name__}()"


# %%
print(Sigmoid()(Tensor([-1000.0, -2.0, 0.0, 2.0, 1000.0])))   # → [0. 0.119 0.5 0.881 1.]

# %% nbgrader={"grade": true, "grade_id": "test-sigmoid", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
values = np.linspace(-8, 8, 33, dtype=np.float32).reshape(3, 11)
out = Sigmoid()(Tensor(values))
assert isinstance(out, Tensor) and out.shape == values.shape, "Sigmoid should return a Tensor of the same shape"
assert out.dtype == np.float32, f"float32 in should give float32 out, got {out.dtype}"
expected = 1 / (1 + np.exp(-values.astype(np.float64)))
assert np.allclose(np.asarray(out), expected, atol=1e-6), f"wrong values: {out}"
# (np.errstate here would not reach your code, which the grader runs in another process: the
# values are what is checked)
extreme = np.asarray(Sigmoid()(Tensor([-1000.0, 1000.0])))
assert np.allclose(extreme, [0.0, 1.0]) and not np.isnan(extreme).any(), f"Sigmoid(±1000) should be [0, 1], got {extreme}"
def _refuses_data(t):
    try:
        t.data
    except AssertionError:
        return True
    return False


probe = NoPeeking(values)   # given in an editable cell above, so the test checks it still refuses .data
assert isinstance(probe, Tensor) and _refuses_data(probe), \
    "NoPeeking (given above) must stay a Tensor whose .data raises: restore its cell"
peeked = np.asarray(Sigmoid()(probe))
assert np.allclose(peeked, expected, atol=1e-6), \
    f"Sigmoid() must compute on the Tensor itself (operators and ufuncs, not .data), got {peeked}"
print("✅ Sigmoid works, even at ±1000")
### BEGIN HIDDEN TESTS
assert np.asarray(Sigmoid()(Tensor([0.0]))).tolist() == [0.5], \
    f"Sigmoid(0) should be exactly 0.5, got {np.asarray(Sigmoid()(Tensor([0.0]))).tolist()}"
sym = np.asarray(Sigmoid()(Tensor(values))) + np.asarray(Sigmoid()(Tensor(-values)))
assert np.allclose(sym, 1.0, atol=1e-6), "sigmoid(x) + sigmoid(-x) should be 1"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 3 — Tanh
#
# The hyperbolic tangent is a sigmoid stretched to (-1, 1) and centred on 0:
# $\tanh(x) = 2\sigma(2x) - 1$. Zero-centred outputs keep the next layer's inputs balanced, which
# is why `tanh` was the classic hidden-layer activation before ReLU. NumPy already has a stable
# `np.tanh`; your job is only to apply it to the Tensor.

# %% nbgrader={"grade": false, "grade_id": "tanh", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Tanh:
    """Hyperbolic tangent, elementwise; outputs lie in [-1, 1]."""

    def forward(self, x):
        """Return a Tensor of x's shape holding tanh of each entry."""
        if not isinstance(x, Tensor):
            x = Tensor(x)
        # TODO: apply np.tanh to x (the Tensor, not its array).
        ### BEGIN SOLUTION
        return np.tanh(x)
        ### END SOLUTION

    def __call__(self, x):
        return self.forward(x)

    def __repr__(self):
        return f"{type(self).__name__}()"


# %% nbgrader={"grade": true, "grade_id": "test-tanh", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
values = np.linspace(-5, 5, 24, dtype=np.float32).reshape(2, 3, 4)
out = Tanh()(Tensor(values))
assert isinstance(out, Tensor) and out.shape == values.shape, "Tanh should return a Tensor of the same shape"
assert out.dtype == np.float32, f"float32 in should give float32 out, got {out.dtype}"
assert np.allclose(np.asarray(out), np.tanh(values), atol=1e-6), f"wrong values: {out}"
def _refuses_data(t):
    try:
        t.data
    except AssertionError:
        return True
    return False


probe = NoPeeking(values)   # given in an editable cell above, so the test checks it still refuses .data
assert isinstance(probe, Tensor) and _refuses_data(probe), \
    "NoPeeking (given above) must stay a Tensor whose .data raises: restore its cell"
peeked = np.asarray(Tanh()(probe))
assert np.allclose(peeked, np.tanh(values), atol=1e-6), \
    f"Tanh() must compute on the Tensor itself (operators and ufuncs, not .data), got {peeked}"
print("✅ Tanh works")
### BEGIN HIDDEN TESTS
assert np.allclose(np.asarray(Tanh()(Tensor([-1000.0, 0.0, 1000.0]))), [-1.0, 0.0, 1.0]), \
    f"Tanh([-1000, 0, 1000]) should be [-1, 0, 1], got {np.asarray(Tanh()(Tensor([-1000.0, 0.0, 1000.0])))}"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 4 — Softmax, stable along the last axis
#
# Softmax turns a row of scores (logits) into a probability distribution over classes:
#
# $$\mathrm{softmax}(x)_i = \frac{e^{x_i}}{\sum_j e^{x_j}}$$
#
# Every output is positive and each row sums to 1. For a batch of shape `(N, classes)` it works on
# each row separately, i.e. along the **last axis**.
#
# The literal formula overflows for scores like `[1000, 1000, 1000]`: `inf / inf = nan`. The fix
# uses a property of the formula: subtracting the same number $c$ from every score of a row
# doesn't change the result, because $e^{x_i - c} / \sum_j e^{x_j - c}$ cancels $e^{-c}$ top and
# bottom. Choose $c$ = the row's maximum: the largest exponent becomes $e^0 = 1$, nothing can
# overflow, and the sum is at least 1, so nothing divides by zero.
#
# `keepdims=True` keeps the reduced axis with length 1, so the `(N, 1)` maxima and sums
# broadcast against the `(N, classes)` scores.

# %%
scores = Tensor([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]])
row_max = scores.max(axis=-1, keepdims=True)
print("row maxima, shape", row_max.shape, ":", row_max)
print("shifted scores:", scores - row_max)

# %% nbgrader={"grade": false, "grade_id": "softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Softmax:
    """Softmax along the last axis: exp(x - max) / sum(exp(x - max)); each row sums to 1."""

    def forward(self, x):
        """Return a Tensor of x's shape; entries are positive and sum to 1 along the last axis."""
        if not isinstance(x, Tensor):
            x = Tensor(x)
        # TODO: stable softmax along the last axis.
        # HINTS:
        # 1. shifted = x - x.max(axis=-1, keepdims=True)
        # 2. exps = np.exp(shifted)
        # 3. divide exps by its sum along the same axis (keepdims=True again)
        ### BEGIN SOLUTION
        shifted = x - x.max(axis=-1, keepdims=True)
        exps = np.exp(shifted)
        return exps / exps.sum(axis=-1, keepdims=True)
        ### END SOLUTION

    def __call__(self, x):
        return self.forward(x)

    def __repr__(self):
        return f"{type(self).__name__}()"


# %%
print(Softmax()(Tensor([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]])))   # → [[0.09 0.245 0.665] [⅓ ⅓ ⅓]]

# %% nbgrader={"grade": true, "grade_id": "test-softmax", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
values = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 1.0], [5.0, 5.0, 5.0], [0.0, -50.0, 50.0]], dtype=np.float32)
out = Softmax()(Tensor(values))
assert isinstance(out, Tensor) and out.shape == values.shape, "Softmax should return a Tensor of the same shape"
assert out.dtype == np.float32, f"float32 in should give float32 out, got {out.dtype}"
exps = np.exp(values - values.max(axis=-1, keepdims=True))
assert np.allclose(np.asarray(out), exps / exps.sum(axis=-1, keepdims=True), atol=1e-6), f"wrong values: {out}"
assert np.allclose(np.asarray(out).sum(axis=-1), 1.0, atol=1e-6), "each row should sum to 1"
stable = np.asarray(Softmax()(Tensor([1000.0, 1000.0, 1000.0])))   # exp(1000) alone is inf: inf/inf is nan
assert np.allclose(stable, 1 / 3) and not np.isnan(stable).any(), f"[1000, 1000, 1000] should give thirds, got {stable}"
def _refuses_data(t):
    try:
        t.data
    except AssertionError:
        return True
    return False


probe = NoPeeking(values)   # given in an editable cell above, so the test checks it still refuses .data
assert isinstance(probe, Tensor) and _refuses_data(probe), \
    "NoPeeking (given above) must stay a Tensor whose .data raises: restore its cell"
peeked = np.asarray(Softmax()(probe))
assert np.allclose(peeked, exps / exps.sum(axis=-1, keepdims=True), atol=1e-6), \
    f"Softmax() must compute on the Tensor itself (operators and ufuncs, not .data), got {peeked}"
print("✅ Softmax works and is stable")
### BEGIN HIDDEN TESTS
cube = np.random.default_rng(1).normal(scale=30, size=(2, 3, 4)).astype(np.float32)
got = np.asarray(Softmax()(Tensor(cube)))
assert got.shape == (2, 3, 4) and np.allclose(got.sum(axis=-1), 1.0, atol=1e-5), "softmax must use the last axis"
assert np.allclose(np.asarray(Softmax()(Tensor(cube + 1000))), got, atol=1e-5), "shifting every score must not matter"
### END HIDDEN TESTS

# %% [markdown]
# ## Look at them
#
# The four curves side by side (Softmax over the pair `[x, 0]`, whose first entry is exactly
# `Sigmoid(x)` — a two-class softmax *is* a sigmoid). This cell draws only when you run the
# notebook yourself; the grader skips it.

# %%
if __name__ == "__main__" and not os.environ.get("TINYTORCH_GRADING"):
    try:
        import matplotlib.pyplot as plt

        xs = np.linspace(-6, 6, 241, dtype=np.float32)
        pairs = Tensor(np.stack([xs, np.zeros_like(xs)], axis=1))
        curves = {
            "ReLU": np.asarray(ReLU()(Tensor(xs))),
            "Sigmoid": np.asarray(Sigmoid()(Tensor(xs))),
            "Tanh": np.asarray(Tanh()(Tensor(xs))),
            "Softmax([x, 0])[0]": np.asarray(Softmax()(pairs))[:, 0],
        }
        fig, axes = plt.subplots(1, 4, figsize=(13, 3), sharex=True)
        for ax, (name, ys) in zip(axes, curves.items()):
            ax.plot(xs, ys)
            ax.axhline(0, color="grey", lw=0.5)
            ax.axvline(0, color="grey", lw=0.5)
            ax.set_title(name)
        fig.tight_layout()
        plt.show()
    except ImportError:
        print("Install matplotlib to see the curves.")
    except NotImplementedError:
        print("Implement all four activations above to see their curves.")

# %% [markdown]
# ## What you built
#
# | class | formula | output range | typical use |
# |---|---|---|---|
# | `ReLU` | `max(x, 0)` | [0, ∞) | hidden layers |
# | `Sigmoid` | `½(1 + tanh(x/2))` | [0, 1] (mathematically (0, 1); float32 rounds the tails) | binary outputs |
# | `Tanh` | `tanh(x)` | [-1, 1] | zero-centred hidden layers |
# | `Softmax` | `exp(x - max) / Σ exp(x - max)` | each row sums to 1 | class probabilities |
#
# `tito export 02` writes them to `tinytorch/core/activations.py`:
#
# ```python
# from tinytorch.core.activations import ReLU, Sigmoid, Tanh, Softmax
# ```
#
# Because they only use operators and ufuncs on the Tensor they receive, module 07's `Variable`
# flows through them and gets gradients for free. Next, module 03 builds the layer they sit
# between: `Dense`.

# %% [markdown]
# ## Exercises (not graded)
#
# 1. Write `LeakyReLU(slope=0.01)`: `x` where `x > 0`, else `slope * x`, using only operators and
#    `np.maximum`/`np.minimum` on `x` (the rule of this module), and plot it next to `ReLU`.
# 2. Show numerically that `Softmax()(Tensor([[x, 0.0]]))[0, 0]` equals `Sigmoid()(Tensor(x))` for a
#    few values of `x`, and explain the identity with one line of algebra.
# 3. `Softmax` subtracts the row maximum first. Compute `np.exp(1000.0)` to see what goes wrong
#    without it, then check that your `Softmax` handles `[[1000.0, 0.0]]`.
