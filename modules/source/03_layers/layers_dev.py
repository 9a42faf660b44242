# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 03 — Layers: matrix multiplication and `Dense`
#
# A dense (fully connected) layer connects every input feature to every output feature with its
# own weight, then adds a bias per output. For a batch of `N` samples it is one line of algebra:
#
# $$Y = X W + b, \qquad X: (N, \text{in}),\; W: (\text{in}, \text{out}),\; b: (\text{out},),\; Y: (N, \text{out})$$
#
# **Goals of this module**
# - Write matrix multiplication yourself with loops, so `@` holds no mystery.
# - Learn how a layer creates its parameters (`make_parameter`) so that module 07 can train them.
# - Build `Dense(input_size, output_size, use_bias=True, use_naive_matmul=False)` with
#   Xavier/Glorot-scaled weights, and see why the scale matters.

# %%
#| default_exp core.layers

# %%
#| export
import numpy as np

from tinytorch.core.tensor import Tensor

# %% [markdown]
# ## Step 1 — Matrix multiplication by hand
#
# For `A` of shape `(m, k)` and `B` of shape `(k, n)`, the product `C = A @ B` has shape `(m, n)`,
# and each entry is a dot product of a row of `A` with a column of `B`:
#
# $$C_{ij} = \sum_{p=0}^{k-1} A_{ip} B_{pj}$$
#
# ```
#   A (2×3)        B (3×2)          C (2×2)
# [1 2 3]   ·   [ 7  8]    =   [1·7+2·9+3·11  1·8+2·10+3·12]   = [ 58  64]
# [4 5 6]       [ 9 10]        [4·7+5·9+6·11  4·8+5·10+6·12]     [139 154]
#               [11 12]
# ```
#
# The inner sizes must agree (`k`): a 2×3 times a 2×2 is meaningless. When they don't, say so
# with both shapes — that message is what you will want when a network's shapes don't line up.

# %% nbgrader={"grade": false, "grade_id": "matmul-naive", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def matmul_naive(A, B):
    """C = A @ B for 2-D NumPy arrays, with explicit loops: C[i, j] = sum_p A[i, p] * B[p, j]."""
    A, B = np.asarray(A), np.asarray(B)
    if A.ndim != 2 or B.ndim != 2:
        raise ValueError(f"matmul_naive needs 2-D arrays, got A with shape {A.shape} and B with shape {B.shape}")
    # TODO: 1. if A's columns don't match B's rows, raise a ValueError that names both shapes.
    #       2. make C = np.zeros((m, n), dtype=np.result_type(A, B)).
    #       3. fill C[i, j] with the dot product of row i of A and column j of B, using loops
    #          over i, j and p (no @, np.dot or np.matmul).
    ### BEGIN SOLUTION
    (m, k), (k2, n) = A.shape, B.shape
    if k != k2:
        raise ValueError(f"matmul_naive: A has shape {A.shape} and B has shape {B.shape}; "
                         f"A's {k} columns must equal B's {k2} rows")
    C = np.zeros((m, n), dtype=np.result_type(A, B))
    for i in range(m):
        for j in range(n):
            total = 0
            for p in range(k):
                total += A[i, p] * B[p, j]
            C[i, j] = total
    return C
    ### END SOLUTION


# %%
A = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
B = np.array([[7, 8], [9, 10], [11, 12]], dtype=np.float32)
print(matmul_naive(A, B))    # → [[ 58.  64.] [139. 154.]]

# %% nbgrader={"grade": true, "grade_id": "test-matmul-naive", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
A = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
B = np.array([[7, 8], [9, 10], [11, 12]], dtype=np.float32)
C = matmul_naive(A, B)
assert isinstance(C, np.ndarray) and C.shape == (2, 2), f"expected a (2, 2) array, got {getattr(C, 'shape', C)}"
assert np.array_equal(C, A @ B), f"wrong product: {C}"
assert C.dtype == np.float32, f"float32 inputs should give float32, got {C.dtype}"
rng = np.random.default_rng(0)
X, Y = rng.normal(size=(4, 5)), rng.normal(size=(5, 3))
assert np.allclose(matmul_naive(X, Y), X @ Y), "matmul_naive disagrees with @ on random matrices"
try:
    matmul_naive(np.ones((2, 3)), np.ones((2, 2)))
except ValueError as err:
    assert "(2, 3)" in str(err) and "(2, 2)" in str(err), f"the error should name both shapes: {err}"
else:
    raise AssertionError("mismatched shapes (2, 3) @ (2, 2) should raise ValueError")
print("✅ matmul_naive matches @")
### BEGIN HIDDEN TESTS
assert np.allclose(matmul_naive(X[:1], Y), X[:1] @ Y) and np.allclose(matmul_naive(X, Y[:, :1]), X @ Y[:, :1]), \
    "a one-row left matrix and a one-column right matrix should give what @ gives"
assert np.array_equal(matmul_naive(np.arange(6).reshape(2, 3), np.arange(6).reshape(3, 2)),
                      np.arange(6).reshape(2, 3) @ np.arange(6).reshape(3, 2)), \
    (f"integer matrices: expected {(np.arange(6).reshape(2, 3) @ np.arange(6).reshape(3, 2)).tolist()}, "
     f"got {np.asarray(matmul_naive(np.arange(6).reshape(2, 3), np.arange(6).reshape(3, 2))).tolist()}")
### END HIDDEN TESTS

# %% [markdown]
# Three nested Python loops do `m·n·k` multiply-adds one at a time; `@` hands the same work to an
# optimised BLAS library that uses vector instructions, caches and, for large matrices, several
# cores. Time both:

# %%
rng = np.random.default_rng(0)
X64, Y64 = rng.normal(size=(64, 64)), rng.normal(size=(64, 64))
try:
    import timeit
    loops = timeit.timeit(lambda: matmul_naive(X64, Y64), number=1)
    blas = timeit.timeit(lambda: X64 @ Y64, number=100) / 100
    print(f"64×64 @ 64×64: loops {loops * 1e3:.1f} ms, @ {blas * 1e6:.1f} µs — about {loops / blas:,.0f}× slower")
except NotImplementedError:
    print("Implement matmul_naive above to time it.")

# %% [markdown]
# So `Dense` uses `@`, and keeps your loop version behind a switch for learning.
#
# ## Step 2 — Parameters that can learn later
#
# A layer's weights and bias are its **parameters**: the numbers training will adjust. Training
# needs gradients, and gradients arrive only in module 07, with `Variable` — a `Tensor` subclass
# that records operations. We don't want to come back and edit `Dense` then. So layers create
# every parameter through one small function:
#
# - If `tinytorch.core.autograd` exists and its `Variable` can be built, the parameter is a
#   `Variable` with `requires_grad=True`;
# - otherwise (before module 07, or while your module 07 is still a stub that raises
#   `NotImplementedError`) it is a plain `Tensor`.
#
# The import sits **inside** the function on purpose. At the top of this file the choice would be
# made once, when this module is imported (and the import would fail in a package without module
# 07). Inside, it is tried each time a parameter is made, so layers built once your module 07
# works get Variables automatically. This function is given; read it.

# %%
#| export
def make_parameter(values):
    """A trainable parameter: Variable(Tensor(values), requires_grad=True) once autograd works, else Tensor(values)."""
    tensor = Tensor(values)
    try:
        from tinytorch.core.autograd import Variable
        return Variable(tensor, requires_grad=True)
    except (ImportError, NotImplementedError):
        return tensor


# %%
param = make_parameter(np.zeros(3, dtype=np.float32))
print(f"make_parameter gives a {type(param).__name__}")   # Tensor until your module 07 works, then Variable

# %% [markdown]
# ## Step 3 — How big should the initial weights be?
#
# Each output of a layer sums `input_size` products. If the weights are drawn with standard
# deviation 1, the output's spread grows like $\sqrt{\text{input\_size}}$; ten layers later the
# numbers are huge (or, with tiny weights, they vanish). **Xavier/Glorot initialisation** draws
# weights from a normal distribution with
#
# $$\operatorname{std} = \sqrt{\frac{2}{\text{input\_size} + \text{output\_size}}}$$
#
# which keeps the spread of signals roughly constant going forward *and* of gradients going
# backward. (For deep ReLU networks, He initialisation, $\sqrt{2/\text{input\_size}}$, is the
# common refinement; Xavier is what `Dense` uses here.) Biases start at zero.
#
# ## Step 4 — `Dense`
#
# Your `Dense` stores `input_size`, `output_size`, `use_naive_matmul`, a `weights` parameter of
# shape `(input_size, output_size)` and a `bias` parameter of shape `(output_size,)` — or `None`
# when `use_bias=False`. Parameters are float32.
#
# `forward(x)` takes `x` of shape `(N, input_size)` (a single sample of shape `(input_size,)` works
# too) and returns `x @ weights + bias`, of shape `(N, output_size)`. The `+` broadcasts the bias
# over the batch. As in module 02, compute on `x` and the parameters with operators only — that
# is what lets gradients flow in module 07.
#
# With `use_naive_matmul=True`, `forward` multiplies with your `matmul_naive` instead. That works
# on plain NumPy arrays (`np.asarray(x)`), outside the Tensor world, so **no gradient flows
# through it**: it is for learning and checking, not for training.
#
# A wrong input width must fail loudly, with the expected and the given size, rather than deep
# inside NumPy.

# %% nbgrader={"grade": false, "grade_id": "dense", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Dense:
    """Fully connected layer: y = x @ weights + bias, weights (input_size, output_size), bias (output_size,)."""

    def __init__(self, input_size, output_size, use_bias=True, use_naive_matmul=False):
        for name, size in (("input_size", input_size), ("output_size", output_size)):
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
                raise ValueError(f"Dense {name} must be a positive integer, got {size!r}")
        self.input_size = int(input_size)
        self.output_size = int(output_size)
        self.use_naive_matmul = use_naive_matmul
        # TODO: create the parameters with make_parameter:
        #   self.weights — normal samples of shape (input_size, output_size), scaled by
        #                  sqrt(2 / (input_size + output_size)), as float32
        #   self.bias    — zeros of shape (output_size,), float32, or None when use_bias is False
        # HINT: np.random.randn(rows, cols) draws standard normal samples (np.random.seed makes
        #       them repeatable); .astype(np.float32) converts.
        ### BEGIN SOLUTION
        scale = np.sqrt(2.0 / (self.input_size + self.output_size))
        weights = np.random.randn(self.input_size, self.output_size) * scale
        self.weights = make_parameter(weights.astype(np.float32))
        self.bias = make_parameter(np.zeros(self.output_size, dtype=np.float32)) if use_bias else None
        ### END SOLUTION

    def forward(self, x):
        """x: (N, input_size) or (input_size,) -> x @ weights + bias: (N, output_size) or (output_size,)."""
        if not isinstance(x, Tensor):
            x = Tensor(x)
        shape = x.shape
        if not shape or shape[-1] != self.input_size:
            raise ValueError(f"Dense expected input of shape (N, {self.input_size}) — {self.input_size} "
                             f"features on the last axis — but was given shape {shape}")
        if self.use_naive_matmul:
            return self._forward_naive(x)
        # TODO: return x @ self.weights, plus self.bias when there is one.
        ### BEGIN SOLUTION
        out = x @ self.weights
        if self.bias is not None:
            out = out + self.bias
        return out
        ### END SOLUTION

    def _forward_naive(self, x):
        """The same result through matmul_naive on NumPy arrays (no gradient flows through this path)."""
        # TODO: flatten x to 2-D rows with np.asarray(x).reshape(-1, self.input_size), multiply
        #       with matmul_naive by np.asarray(self.weights), add np.asarray(self.bias) if there
        #       is a bias, reshape to x.shape[:-1] + (self.output_size,) and wrap it in a Tensor.
        ### BEGIN SOLUTION
        rows = np.asarray(x).reshape(-1, self.input_size)
        out = matmul_naive(rows, np.asarray(self.weights))
        if self.bias is not None:
            out = out + np.asarray(self.bias)
        return Tensor(out.reshape(x.shape[:-1] + (self.output_size,)))
        ### END SOLUTION

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        """The layer's parameters in order: [weights, bias] (just [weights] without a bias)."""
        return [self.weights] if self.bias is None else [self.weights, self.bias]

    def __repr__(self):
        return f"Dense({self.input_size}, {self.output_size}, use_bias={self.bias is not None})"


# %%
np.random.seed(0)
layer = Dense(3, 2)
x = Tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
print(layer, "weights", layer.weights.shape, "bias", layer.bias.shape)
print(layer(x))    # the second row is all zeros, so its output is just the bias: [0. 0.]

# %% nbgrader={"grade": true, "grade_id": "test-dense-init", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
np.random.seed(1)
layer = Dense(64, 32)
assert layer.weights.shape == (64, 32), f"weights should be (input_size, output_size) = (64, 32), got {layer.weights.shape}"
assert layer.bias.shape == (32,), f"bias should have shape (32,), got {layer.bias.shape}"
assert layer.weights.dtype == np.float32 and layer.bias.dtype == np.float32, "parameters should be float32"
assert np.array_equal(np.asarray(layer.bias), np.zeros(32)), "bias should start at zero"
std, target = float(np.asarray(layer.weights).std()), np.sqrt(2 / (64 + 32))
assert abs(std - target) < 0.15 * target, f"weights' std should be near sqrt(2/(in+out)) = {target:.3f}, got {std:.3f}"
assert Dense(4, 3, use_bias=False).bias is None, "use_bias=False should leave bias as None"
assert len(layer.parameters()) == 2 and len(Dense(4, 3, use_bias=False).parameters()) == 1, \
    (f"parameters() should list [weights, bias] (2), or [weights] (1) without bias; got "
     f"{len(layer.parameters())} and {len(Dense(4, 3, use_bias=False).parameters())}")
print("✅ Dense creates Xavier-scaled weights and a zero bias")
### BEGIN HIDDEN TESTS
assert layer.parameters()[0] is layer.weights and layer.parameters()[1] is layer.bias, \
    "parameters() should return the layer's own weights and bias objects, in that order (not copies)"
assert abs(float(np.asarray(layer.weights).mean())) < 0.05, "weights should be centred on 0"
np.random.seed(5); first = np.asarray(Dense(5, 4).weights).copy()
np.random.seed(5); assert np.array_equal(first, np.asarray(Dense(5, 4).weights)), "np.random.seed should make weights repeatable"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test-dense-forward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
np.random.seed(2)
layer = Dense(3, 4)
layer.bias = Tensor(np.array([0.5, -0.5, 1.0, 0.0], dtype=np.float32))
batch = np.random.randn(5, 3).astype(np.float32)
out = layer(Tensor(batch))
expected = batch @ np.asarray(layer.weights) + np.asarray(layer.bias)
assert isinstance(out, Tensor) and out.shape == (5, 4), f"expected a Tensor of shape (5, 4), got {getattr(out, 'shape', out)}"
assert out.dtype == np.float32, f"float32 in should give float32 out, got {out.dtype}"
assert np.allclose(np.asarray(out), expected, atol=1e-5), "forward should compute x @ weights + bias"
no_bias = Dense(3, 4, use_bias=False)
assert np.allclose(np.asarray(no_bias(Tensor(batch))), batch @ np.asarray(no_bias.weights), atol=1e-5), \
    "without a bias, forward should compute x @ weights only"
try:
    layer(Tensor(np.ones((5, 2), dtype=np.float32)))
except ValueError as err:
    assert "3" in str(err) and "(5, 2)" in str(err), f"the error should say 3 features expected and shape (5, 2) given: {err}"
else:
    raise AssertionError("an input with 2 features into Dense(3, 4) should raise ValueError")
print("✅ Dense forward computes x @ W + b")
### BEGIN HIDDEN TESTS
single = layer(Tensor(batch[0]))
assert single.shape == (4,) and np.allclose(np.asarray(single), expected[0], atol=1e-5), \
    f"one sample of shape (3,) should give shape (4,) = x @ W + b, got shape {single.shape}"
assert np.allclose(np.asarray(layer.forward(batch.tolist())), expected, atol=1e-5), "forward should accept a list"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test-dense-naive", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
np.random.seed(3)
fast = Dense(6, 3)
slow = Dense(6, 3, use_naive_matmul=True)
slow.weights, slow.bias = fast.weights, fast.bias
batch = np.random.randn(4, 6).astype(np.float32)
slow_out = slow(Tensor(batch))
assert isinstance(slow_out, Tensor) and slow_out.shape == (4, 3), "the naive path should return a (4, 3) Tensor"
assert np.allclose(np.asarray(slow_out), np.asarray(fast(Tensor(batch))), atol=1e-5), "naive and @ paths disagree"
print("✅ the naive path agrees with @")
### BEGIN HIDDEN TESTS
assert slow(Tensor(batch[0])).shape == (3,), \
    f"the naive path on one sample of shape (6,) should give shape (3,), got {slow(Tensor(batch[0])).shape}"
slow.bias = None
assert np.allclose(np.asarray(slow(Tensor(batch))), batch @ np.asarray(fast.weights), atol=1e-5), \
    "the naive path without a bias should compute x @ weights only"
### END HIDDEN TESTS

# %% [markdown]
# ## See why the scale matters
#
# Push a batch of random inputs through 10 layers of width 256 with `tanh` between them (the kind
# of network Glorot and Bengio studied when they proposed this scale), for three ways of drawing
# the weights. The table shows the spread (std) of the signal after every other layer, and the
# share of units stuck in `tanh`'s flat tails (|output| > 0.99, where its gradient is nearly 0)
# after the last one. Too small and the signal fades towards 0; too large and most units
# saturate, so little gradient would get through; Xavier keeps the signal alive without
# saturating.

# %%
def signal_spread(weight_std, depth=10, width=256, seed=0):
    """Std after every other Dense+tanh layer, and the share of saturated units at the end."""
    rng = np.random.default_rng(seed)
    x = Tensor(rng.normal(size=(128, width)).astype(np.float32))
    spreads = []
    for _ in range(depth):
        layer = Dense(width, width)
        xavier = np.sqrt(2.0 / (width + width))
        layer.weights = Tensor(np.asarray(layer.weights) * np.float32(weight_std / xavier))
        x = np.tanh(layer(x))
        spreads.append(float(np.asarray(x).std()))
    saturated = float((np.abs(np.asarray(x)) > 0.99).mean())
    return spreads[1::2], saturated


try:
    np.random.seed(0)
    print(f"{'weights':>10}  " + "  ".join(f"layer {n:>2}" for n in range(2, 11, 2)) + "  saturated")
    for name, weight_std in [("std 0.01", 0.01), ("Xavier", np.sqrt(2.0 / 512)), ("std 1", 1.0)]:
        spreads, saturated = signal_spread(weight_std)
        print(f"{name:>10}  " + "  ".join(f"{s:8.3f}" for s in spreads) + f"  {saturated:8.0%}")
except NotImplementedError:
    print("Implement Dense above to run this experiment.")

# %% [markdown]
# ### See it: the weights, and the signal they let through
#
# Left: the weights of one of your `Dense(256, 256)` layers, against the normal curve with the
# Xavier standard deviation `sqrt(2 / 512) ≈ 0.0625` — the histogram should follow it. Right: where the
# values end up after the 10 tanh layers of the experiment above, for the three scales: piled up
# at 0 (std 0.01), spread around 0 without reaching the tails (Xavier), or pushed into tanh's flat tails at ±1
# (std 1).

# %% tags=["hide-input"]
import os

if __name__ == "__main__" and not os.environ.get("TINYTORCH_GRADING"):
    try:
        import matplotlib.pyplot as plt

        np.random.seed(0)
        width, xavier = 256, np.sqrt(2.0 / 512)
        weights = np.asarray(Dense(width, width).weights).ravel()
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.4))
        left.hist(weights, bins=80, density=True, color="#c9d8ee")
        grid = np.linspace(weights.min(), weights.max(), 200)
        left.plot(grid, np.exp(-grid ** 2 / (2 * xavier ** 2)) / (xavier * np.sqrt(2 * np.pi)),
                  color="#3b6fb6", label=f"normal, std {xavier:.4f}")
        left.set_title(f"Dense({width}, {width}).weights: std {weights.std():.4f}")
        left.legend(fontsize=8)

        rng = np.random.default_rng(0)
        for name, std in [("std 0.01", 0.01), ("Xavier", xavier), ("std 1", 1.0)]:
            x = Tensor(rng.normal(size=(128, width)).astype(np.float32))
            for _ in range(10):
                layer = Dense(width, width)
                layer.weights = Tensor(np.asarray(layer.weights) * np.float32(std / xavier))
                x = np.tanh(layer(x))
            right.hist(np.asarray(x).ravel(), bins=80, range=(-1, 1), histtype="step", lw=1.5,
                       density=True, label=name)
        right.set_yscale("log")
        right.set_title("values after 10 Dense + tanh layers")
        right.legend(fontsize=8)
        fig.tight_layout()
        plt.show()
    except NotImplementedError:
        print("Finish Dense above to see its weights and the signal they let through.")

# %% [markdown]
# ## What you built
#
# - `matmul_naive(A, B)` — the loops behind `@`, with a shape check that names both shapes.
# - `make_parameter(values)` — `Tensor` today, trainable `Variable` after module 07.
# - `Dense(input_size, output_size, use_bias=True, use_naive_matmul=False)` — Xavier-initialised
#   weights `(input_size, output_size)`, zero bias `(output_size,)`, `forward`/`__call__` computing
#   `x @ weights + bias`, and `parameters()` listing `[weights, bias]`.
#
# `tito export 03` writes them to `tinytorch/core/layers.py`. Next, module 04 stacks layers and
# activations into networks.

# %% [markdown]
# ## Exercises (not graded)
#
# 1. Count the multiplications `matmul_naive` does for `(N, K) @ (K, M)`. How many does a
#    `Dense(784, 128)` layer do on a batch of 64?
# 2. Add He initialisation (`std = sqrt(2 / input_size)`) as an option to a copy of `Dense` and run
#    the scale experiment above with ReLU instead of tanh: which scale keeps the signal alive now?
# 3. A `Dense` layer without a bias maps a zero input to zero. Why can't a network of such layers
#    (and ReLUs) ever output anything but 0 for `x = 0`, and why does that matter?
