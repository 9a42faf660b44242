# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 05 — CNN: convolution, from a loop to a layer
#
# A `Dense` layer connects every input to every output, so it has no idea that neighbouring pixels
# belong together. A **convolution** slides one small set of weights (a *kernel*) over the image and
# asks the same question everywhere: "does this patch look like my pattern?"
#
# **Goals of this module**
# - Write a 2-D convolution with explicit loops, so you know exactly what it computes.
# - Rewrite it without a loop over pixels: a sum over kernel offsets of shifted slices, each
#   multiplied by a matrix. Connect that to *im2col*, the trick real frameworks use.
# - Wrap it in a layer, `Conv2D` (one channel, one kernel), built only from operations that
#   module 07 will be able to differentiate.
# - Build *im2col*: the whole convolution as one matrix product forward and two backward, and
#   use it in `MultiChannelConv2D` (a batch of images with several channels in and out) — a
#   single graph node that trains fast.
# - Flatten feature maps so a `Dense` layer can read them.

# %%
#| default_exp core.cnn

# %%
#| export
import numpy as np

from tinytorch.core.layers import make_parameter
from tinytorch.core.tensor import Tensor

# %%
import os

SHOW = __name__ == "__main__" and not os.environ.get("TINYTORCH_GRADING")  # demos only when you run it


def as_array(t):
    """The NumPy array inside a Tensor (or inside a Variable, whose data is a Tensor)."""
    while not isinstance(t, np.ndarray):
        t = t.data
    return t

# %% [markdown]
# ## Step 1 — Convolution by hand
#
# Take an image `X` of shape `(H, W)` and a kernel `K` of shape `(kH, kW)`. Put the kernel's top-left
# corner on pixel `(r, c)`, multiply the overlapping numbers and add them up:
#
# $$Y[r, c] = \sum_{i=0}^{kH-1} \sum_{j=0}^{kW-1} X[r+i,\ c+j]\; K[i, j]$$
#
# The kernel must fit entirely inside the image ("valid" convolution), so `r` runs over
# `H - kH + 1` positions and `c` over `W - kW + 1`. Strictly this is *cross-correlation* (a
# mathematician's convolution flips the kernel first); deep-learning libraries all compute this
# version and call it convolution, and so do we.
#
# A worked example with a 3×3 image and a 2×2 kernel:
#
# ```
# X = 1 2 3      K = 1 0      Y[0,0] = 1·1 + 2·0 + 4·0 + 5·1 = 6
#     4 5 6          0 1      Y[0,1] = 2 + 6 = 8,  Y[1,0] = 4 + 8 = 12,  Y[1,1] = 5 + 9 = 14
#     7 8 9
# ```
#
# The helper below checks shapes, so every function in this module reports a bad input the same way.

# %%
#| export
def _check_conv_shapes(name, x_shape, k_shape, ndim):
    """Raise ValueError unless x and kernel have `ndim` axes and the kernel fits inside x."""
    if len(x_shape) != ndim or len(k_shape) != ndim:
        layout = "(H, W) input and (kH, kW) kernel" if ndim == 2 else "(N, C, H, W) input and (out, C, kH, kW) weight"
        raise ValueError(f"{name}: expected a {layout}, got input shape {tuple(x_shape)} "
                         f"and kernel shape {tuple(k_shape)}")
    if ndim == 4 and x_shape[1] != k_shape[1]:
        raise ValueError(f"{name}: expected input with {k_shape[1]} channels (weight shape {tuple(k_shape)}), "
                         f"got {x_shape[1]} channels (input shape {tuple(x_shape)})")
    if x_shape[-2] < k_shape[-2] or x_shape[-1] < k_shape[-1]:
        raise ValueError(f"{name}: expected an input at least as large as the kernel "
                         f"{tuple(k_shape[-2:])}, got input of spatial size {tuple(x_shape[-2:])}")


# %% nbgrader={"grade": false, "grade_id": "conv2d-naive", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def conv2d_naive(input, kernel):
    """Valid 2-D cross-correlation with loops: (H, W) x (kH, kW) -> (H-kH+1, W-kW+1)."""
    input, kernel = np.asarray(input), np.asarray(kernel)
    _check_conv_shapes("conv2d_naive", input.shape, kernel.shape, ndim=2)
    # TODO: compute Y[r, c] = sum over i, j of input[r+i, c+j] * kernel[i, j].
    # HINTS:
    # - out_h = H - kH + 1 and out_w = W - kW + 1; start from np.zeros((out_h, out_w)).
    # - Four nested loops: r, c over the output; i, j over the kernel. No slicing tricks yet.
    # - Use a float result dtype: np.result_type(input.dtype, kernel.dtype, np.float32).
    ### BEGIN SOLUTION
    H, W = input.shape
    kH, kW = kernel.shape
    out_h, out_w = H - kH + 1, W - kW + 1
    output = np.zeros((out_h, out_w), dtype=np.result_type(input.dtype, kernel.dtype, np.float32))
    for r in range(out_h):
        for c in range(out_w):
            total = 0.0
            for i in range(kH):
                for j in range(kW):
                    total += input[r + i, c + j] * kernel[i, j]
            output[r, c] = total
    return output
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-conv2d-naive", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
X = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], dtype=np.float32)
K = np.array([[1, 0], [0, 1]], dtype=np.float32)
Y = conv2d_naive(X, K)
assert Y.shape == (2, 2), f"output shape should be (2, 2), got {Y.shape}"
assert np.allclose(Y, [[6, 8], [12, 14]]), f"expected [[6, 8], [12, 14]], got {Y}"
assert np.allclose(conv2d_naive(np.ones((5, 7)), np.ones((3, 2))), 6 * np.ones((3, 6))), "sum of a 3x2 window of ones is 6"
try:
    conv2d_naive(np.ones((2, 2)), np.ones((3, 3)))
    raise AssertionError("a kernel larger than the image should raise ValueError")
except ValueError as err:
    print("bad shapes are reported:", err)
print("✅ conv2d_naive works")
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(5)
x, k = rng.normal(size=(6, 9)), rng.normal(size=(3, 4))
expected = np.array([[np.sum(x[r:r + 3, c:c + 4] * k) for c in range(6)] for r in range(4)])
got = conv2d_naive(x, k)
assert np.allclose(got, expected), \
    f"conv2d_naive (6x9 image, 3x4 kernel): max |got - expected| = {np.abs(got - expected).max():.3g}"
assert np.allclose(conv2d_naive(x, np.ones((1, 1))), x), "a 1x1 kernel of one is the identity"
got_shape = conv2d_naive(np.ones((4, 4)), np.ones((4, 4))).shape
assert got_shape == (1, 1), f"a 4x4 kernel on a 4x4 image fits once: expected shape (1, 1), got {got_shape}"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 2 — The same sum, one kernel offset at a time
#
# The loops visit every output pixel and, inside, every kernel offset `(i, j)`. Swap the order:
# for one fixed offset, the terms `X[r+i, c+j]·K[i, j]` over **all** `(r, c)` are just the slice
# `X[i:i+oh, j:j+ow]` times the number `K[i, j]`. So
#
# $$Y = \sum_{i,j} K[i, j]\; X[i:i+oh,\ j:j+ow]$$
#
# — `kH·kW` whole-array operations instead of `oh·ow·kH·kW` scalar ones. Try it:

# %%
X = np.arange(1.0, 10.0).reshape(3, 3)
K = np.array([[1.0, 0.0], [0.0, 1.0]])
Y = sum(K[i, j] * X[i:i + 2, j:j + 2] for i in range(2) for j in range(2))
print(Y)   # the same [[6, 8], [12, 14]] as the worked example

# %% [markdown]
# ### Batches and channels
#
# Real layers see a **batch** of `N` images, each with `C` input channels (1 for grey digits, 3
# for RGB, or the feature maps of an earlier layer), and produce `out` channels, each from its
# own `C × kH × kW` kernel. The weight has shape `(out, C, kH, kW)` and
#
# $$Y[n, o, r, c] = \sum_{ch, i, j} X[n, ch, r+i, c+j]\; W[o, ch, i, j]$$
#
# For one offset `(i, j)` the sum over channels is a matrix product:
#
# - **Input side.** Put the channel axis last, once: `xh = x.transpose(0, 2, 3, 1)`, shape
#   `(N, H, W, C)`. The slice `xh[:, i:i+oh, j:j+ow, :]` flattened to `(N·oh·ow, C)` has one row
#   per output pixel.
# - **Weight side.** Move the weight's axes to `(kH, kW, C, out)` and flatten it to a matrix
#   `(kH·kW·C, out)`. Its rows come in blocks of `C`: block `k = i·kW + j`, rows `k·C` to
#   `k·C + C - 1`, holds the `(C, out)` weights of offset `(i, j)`.
#
# Multiply each slice by its block, add the `kH·kW` products, add a bias per output channel,
# reshape to `(N, oh, ow, out)` and move the channels back: `(N, out, oh, ow)`.
#
# ### How this relates to im2col
#
# Frameworks often compute convolution with **im2col**: copy every window into one row of a big
# matrix `(N·oh·ow, kH·kW·C)` and do a single matrix product with the weight matrix
# `(kH·kW·C, out)` — the same weight matrix as ours. NumPy can even build the big matrix as a view,
# without copying, with `sliding_window_view`: the reference below is im2col followed by the
# product, written with `einsum`.
#
# Our version is the same computation with the big product split into blocks: the columns of the
# im2col matrix that belong to offset `(i, j)` are exactly our flattened slice, and
# `[A₁ A₂ …] @ [B₁; B₂; …] = A₁@B₁ + A₂@B₂ + …`. We start with the split version because it
# uses only slicing, `transpose`, `reshape`, `@` and `+`, which autograd (module 07) will
# differentiate — so it becomes trainable later without changes. Step 4 builds the big matrix
# itself, for speed, and writes its backward pass by hand.
#
# A practical detail: NumPy's `@` hands its operands to BLAS, which wants each one laid out row-
# or column-contiguous in memory. The blocks of the weight matrix are (where the reshape can't
# keep that layout, NumPy copies the data into it); a slice such as `weight[:, :, i, j].T` is
# not. NumPy 2.3 and later copy such an operand before calling BLAS; older versions multiply it
# with a much slower loop of their own. Contiguous blocks are fast on every version.

# %%
from numpy.lib.stride_tricks import sliding_window_view


def conv2d_reference(x, weight):
    """NumPy-only reference: im2col as a strided view, then one contraction."""
    windows = sliding_window_view(x, weight.shape[2:], axis=(2, 3))   # (N, C, oh, ow, kH, kW)
    return np.einsum("ncyxij,ocij->noyx", windows, weight)


x_demo = np.random.default_rng(0).normal(size=(2, 3, 5, 5))
w_demo = np.random.default_rng(1).normal(size=(4, 3, 3, 3))
print("reference output shape:", conv2d_reference(x_demo, w_demo).shape)   # (2, 4, 3, 3)

# %% [markdown]
# Now write the vectorised convolution. Use **only** slicing, `.transpose(...)`, `.reshape(...)`,
# `.T`, `@` and `+` on `x` and `weight` — no `np.` functions on them and no `.data` — so the same
# code runs on NumPy arrays, on `Tensor`s, and later on autograd `Variable`s.

# %% nbgrader={"grade": false, "grade_id": "conv2d-vectorized", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def conv2d_vectorized(x, weight, bias=None):
    """Batched multi-channel valid convolution: (N, C, H, W) x (out, C, kH, kW) [+ bias (out,)] -> (N, out, oh, ow)."""
    _check_conv_shapes("conv2d_vectorized", x.shape, weight.shape, ndim=4)
    N, C, H, W = x.shape
    out_channels, _, kH, kW = weight.shape
    oh, ow = H - kH + 1, W - kW + 1
    # TODO: sum over offsets (i, j) of  (flattened slice of xh) @ (that offset's block of wm).
    # HINTS:
    # - xh = x.transpose(0, 2, 3, 1); wm = weight.transpose(2, 3, 1, 0).reshape(kH * kW * C, out_channels)
    # - patch = xh[:, i:i + oh, j:j + ow, :].reshape(N * oh * ow, C); block: k = (i * kW + j) * C,
    #   wm[k:k + C]
    # - start with total = None and add each product; a Python `sum()` would add a plain 0 first.
    # - if bias is not None: total = total + bias   (broadcasts over rows, like Dense)
    # - finish with total.reshape(N, oh, ow, out_channels).transpose(0, 3, 1, 2)
    ### BEGIN SOLUTION
    xh = x.transpose(0, 2, 3, 1)                                        # (N, H, W, C)
    wm = weight.transpose(2, 3, 1, 0).reshape(kH * kW * C, out_channels)  # rows in (i, j, c) order
    total = None
    for i in range(kH):
        for j in range(kW):
            k = (i * kW + j) * C
            term = xh[:, i:i + oh, j:j + ow, :].reshape(N * oh * ow, C) @ wm[k:k + C]
            total = term if total is None else total + term
    if bias is not None:
        total = total + bias
    return total.reshape(N, oh, ow, out_channels).transpose(0, 3, 1, 2)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-conv2d-vectorized", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
from numpy.lib.stride_tricks import sliding_window_view as _windows


def _reference_conv(x, weight):
    """This test's own NumPy convolution (N, C, H, W) x (out, C, kH, kW): the value a grade trusts."""
    x, weight = np.asarray(x, dtype=np.float64), np.asarray(weight, dtype=np.float64)
    return np.einsum("ncyxij,ocij->noyx", _windows(x, weight.shape[2:], axis=(2, 3)), weight)


rng = np.random.default_rng(42)
x = rng.normal(size=(2, 3, 6, 5))
w = rng.normal(size=(4, 3, 3, 2))
y = conv2d_vectorized(x, w)
assert y.shape == (2, 4, 4, 4), f"output shape should be (N, out, oh, ow) = (2, 4, 4, 4), got {y.shape}"
assert np.allclose(y, _reference_conv(x, w)), "conv2d_vectorized disagrees with the sliding_window_view reference"
# one channel in, one out: the naive loop
img, k = rng.normal(size=(7, 7)), rng.normal(size=(3, 3))
got, want = conv2d_vectorized(img.reshape(1, 1, 7, 7), k.reshape(1, 1, 3, 3))[0, 0], _reference_conv(img.reshape(1, 1, 7, 7), k.reshape(1, 1, 3, 3))[0, 0]
assert np.allclose(got, want), \
    f"one channel in and out should match a single-channel convolution: max |diff| = {np.abs(got - want).max():.3g}"
b = np.array([1.0, -1.0, 0.5, 0.0])
assert np.allclose(conv2d_vectorized(x, w, b), y + b.reshape(1, 4, 1, 1)), "bias is added per output channel"
assert isinstance(conv2d_vectorized(Tensor(x), Tensor(w)), Tensor), "Tensor in, Tensor out"
print("✅ conv2d_vectorized matches the loops and the im2col reference")
### BEGIN HIDDEN TESTS
for shape, wshape in [((1, 1, 3, 3), (1, 1, 3, 3)), ((3, 2, 4, 6), (5, 2, 1, 1)), ((2, 1, 8, 8), (8, 1, 3, 3))]:
    xs, ws = rng.normal(size=shape), rng.normal(size=wshape)
    got, want = conv2d_vectorized(xs, ws), _reference_conv(xs, ws)
    assert np.allclose(got, want), \
        f"x {shape}, w {wshape}: max |conv2d_vectorized - reference| = {np.abs(got - want).max():.3g}"
try:
    conv2d_vectorized(np.ones((1, 2, 5, 5)), np.ones((1, 3, 3, 3)))
    raise AssertionError("channel mismatch should raise ValueError")
except ValueError:
    pass
### END HIDDEN TESTS

# %% [markdown]
# ## Step 3 — `Conv2D`: one learnable kernel
#
# The layer owns a kernel of shape `kernel_size` (an `(kH, kW)` pair, or one int for a square
# kernel), created with `make_parameter` from module 03 so that module 07 can train it. Start it
# with small random values, scaled by `sqrt(2 / (kH·kW))` (He initialisation: with a ReLU after
# each layer, the signal keeps about the same size from layer to layer).
#
# `forward(x)` takes one 2-D image. Don't write a new loop: a single image is a batch of one with
# one channel, so reshape `x` to `(1, 1, H, W)` and the kernel to `(1, 1, kH, kW)`, call
# `conv2d_vectorized`, and reshape the result back to `(oh, ow)`.

# %%
#| export
def _pair(kernel_size):
    """(kH, kW) from an int or a pair of positive ints; ValueError otherwise."""
    is_int = isinstance(kernel_size, (int, np.integer)) and not isinstance(kernel_size, bool)
    size = (kernel_size, kernel_size) if is_int else kernel_size
    if not isinstance(size, (tuple, list)) or len(size) != 2 or not all(
            isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k > 0 for k in size):
        raise ValueError(f"kernel_size: expected an int or a pair of positive ints (kH, kW), got {kernel_size!r}")
    return int(size[0]), int(size[1])


# %% nbgrader={"grade": false, "grade_id": "conv2d-layer", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Conv2D:
    """One-channel convolution layer: a learnable (kH, kW) kernel slid over a 2-D image."""

    def __init__(self, kernel_size):
        self.kernel_size = _pair(kernel_size)
        # TODO: self.kernel = make_parameter(...) of shape self.kernel_size, float32,
        #       random normal values times sqrt(2 / (kH * kW)).
        ### BEGIN SOLUTION
        kH, kW = self.kernel_size
        values = np.random.randn(kH, kW) * np.sqrt(2.0 / (kH * kW))
        self.kernel = make_parameter(values.astype(np.float32))
        ### END SOLUTION

    def forward(self, x):
        """(H, W) -> (H-kH+1, W-kW+1), the same numbers as conv2d_naive(x, kernel)."""
        if len(x.shape) != 2:
            raise ValueError(f"Conv2D: expected a 2-D image (H, W), got shape {tuple(x.shape)}")
        H, W = x.shape
        kH, kW = self.kernel_size
        # TODO: reshape x to (1, 1, H, W) and the kernel to (1, 1, kH, kW), call
        #       conv2d_vectorized, reshape the result to (H - kH + 1, W - kW + 1).
        ### BEGIN SOLUTION
        out = conv2d_vectorized(x.reshape(1, 1, H, W), self.kernel.reshape(1, 1, kH, kW))
        return out.reshape(H - kH + 1, W - kW + 1)
        ### END SOLUTION

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        return [self.kernel]


# %% nbgrader={"grade": true, "grade_id": "test-conv2d-layer", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
from numpy.lib.stride_tricks import sliding_window_view as _windows


def _reference_conv(x, weight):
    """This test's own NumPy convolution (N, C, H, W) x (out, C, kH, kW): the value a grade trusts."""
    x, weight = np.asarray(x, dtype=np.float64), np.asarray(weight, dtype=np.float64)
    return np.einsum("ncyxij,ocij->noyx", _windows(x, weight.shape[2:], axis=(2, 3)), weight)


def _array_in(t):
    """The NumPy array inside a Tensor (or a Variable, whose data is a Tensor), read by this test."""
    for _ in range(4):
        if isinstance(t, np.ndarray):
            return t
        t = t.data
    raise AssertionError(f"expected a Tensor holding a NumPy array, got {type(t).__name__}")


np.random.seed(0)
layer = Conv2D((2, 3))
assert layer.kernel.shape == (2, 3), f"kernel shape should be (2, 3), got {layer.kernel.shape}"
params = layer.parameters()
assert params == [layer.kernel], \
    f"Conv2D.parameters() should be [layer.kernel] itself, got shapes {[getattr(p, 'shape', p) for p in params]}"
image = Tensor(np.random.rand(6, 6).astype(np.float32))
out = layer(image)
assert isinstance(out, Tensor), f"Conv2D should return a Tensor, got {type(out).__name__}"
assert out.shape == (5, 4), f"output shape should be (5, 4), got {out.shape}"
kernel = _array_in(layer.kernel)
got, want = _array_in(out), _reference_conv(_array_in(image)[None, None], kernel[None, None])[0, 0]
assert np.allclose(got, want, atol=1e-5), \
    f"Conv2D should equal the convolution of image and kernel: max |diff| = {np.abs(got - want).max():.3g}"
assert Conv2D(3).kernel.shape == (3, 3), "an int kernel_size means a square kernel"
print("✅ Conv2D agrees with conv2d_naive")
### BEGIN HIDDEN TESTS
kernel_std = float(np.std(_array_in(Conv2D((5, 5)).kernel)))
assert 0.05 < kernel_std < 1.0, \
    f"a 5x5 kernel is randn * sqrt(2/25) ~ 0.28: expected 0.05 < std < 1.0, got std {kernel_std:.3g}"
try:
    layer(Tensor(np.ones((1, 6, 6))))
    raise AssertionError("a 3-D input should raise ValueError")
except ValueError:
    pass
### END HIDDEN TESTS

# %% [markdown]
# ## Step 4 — im2col: the whole convolution as one matrix product
#
# `conv2d_vectorized` is quick to run but slow to *train*. Module 07 will differentiate it one
# operation at a time: for a 3×3 kernel that is 9 patch copies, 9 products and 8 sums, all kept
# in memory for the backward pass, and as many operations again on the way back. Frameworks
# instead treat a convolution as **one** operation whose backward is written by hand. So do we.
#
# **im2col.** Copy the input into one matrix `cols` of shape `(C·kH·kW, N·oh·ow)` — step 2's
# one-row-per-window matrix turned on its side: one column per output pixel, holding the window
# under it. Row `c·kH·kW + i·kW + j` holds input channel `c` shifted by offset `(i, j)`, for
# every image and pixel at once — that row is the slice `x[:, c, i:i+oh, j:j+ow]`, flattened. (This is the layout of Caffe's im2col, with the batch
# folded into the columns.) The rows come in the order `(c, i, j)`, the order of
# `weight.reshape(out, C·kH·kW)` — call that matrix `Wm` — so the whole convolution is **one**
# matrix product:
#
# $$\text{out} = W_m \cdot \text{cols}: \quad (\text{out},\ C·kH·kW) \times (C·kH·kW,\ N·oh·ow)
#   \to (\text{out},\ N·oh·ow)$$
#
# plus the bias of each output channel on its row. Reshape to `(out, N, oh, ow)` and move the
# batch axis first. A few large products instead of many small ones is what BLAS's GEMM
# (general matrix multiply) routine is good at.
#
# **Backward.** Let `G` be the gradient of the loss with respect to `out`, as the same
# `(out, N·oh·ow)` matrix. The rules of a matrix product (module 07 derives them for every `@`)
# give two more products and a sum:
#
# - `dL/dWm = G @ cols.T` — reshaped to the weight's shape `(out, C, kH, kW)`;
# - `dL/dcols = Wm.T @ G` — one gradient per copied pixel;
# - `dL/dbias` = the rows of `G` summed (over batch and pixels).
#
# An input pixel was copied into several columns of `cols`, so its gradient is the **sum** of
# the gradients of its copies. **col2im** adds every row of `dL/dcols` back at the offset it was
# copied from: im2col's loop run backwards, with `+=` where im2col had `=`.

# %% nbgrader={"grade": false, "grade_id": "im2col", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def im2col(x, kernel_size):
    """(N, C, H, W) array -> (C·kH·kW, N·oh·ow) matrix; row (c, i, j) is x[:, c, i:i+oh, j:j+ow] flattened."""
    x = np.asarray(x)
    kH, kW = kernel_size
    if x.ndim != 4 or x.shape[2] < kH or x.shape[3] < kW:
        raise ValueError(f"im2col: expected an (N, C, H, W) input at least as large as the kernel "
                         f"{(kH, kW)}, got shape {x.shape}")
    N, C, H, W = x.shape
    oh, ow = H - kH + 1, W - kW + 1
    # TODO: cols = np.empty((C, kH, kW, N, oh, ow), dtype=x.dtype); for each offset (i, j) fill
    #       cols[:, i, j] (shape (C, N, oh, ow)) from the slice of x at that offset, with the
    #       channel axis moved in front of the batch axis; return cols reshaped to 2-D.
    ### BEGIN SOLUTION
    cols = np.empty((C, kH, kW, N, oh, ow), dtype=x.dtype)
    for i in range(kH):
        for j in range(kW):
            cols[:, i, j] = x[:, :, i:i + oh, j:j + ow].transpose(1, 0, 2, 3)
    return cols.reshape(C * kH * kW, N * oh * ow)
    ### END SOLUTION


def col2im(cols, x_shape, kernel_size):
    """The reverse of im2col: add each row of cols (C·kH·kW, N·oh·ow) back at its offset -> (N, C, H, W)."""
    cols = np.asarray(cols)
    N, C, H, W = x_shape
    kH, kW = kernel_size
    oh, ow = H - kH + 1, W - kW + 1
    if cols.shape != (C * kH * kW, N * oh * ow):
        raise ValueError(f"col2im: expected cols of shape {(C * kH * kW, N * oh * ow)} for input shape "
                         f"{tuple(x_shape)} and kernel {(kH, kW)}, got {cols.shape}")
    # TODO: grad = np.zeros((C, N, H, W), dtype=cols.dtype); view cols as (C, kH, kW, N, oh, ow);
    #       for each offset (i, j) add block [:, i, j] into grad[:, :, i:i + oh, j:j + ow];
    #       return grad with the batch axis moved back in front: (N, C, H, W).
    ### BEGIN SOLUTION
    grad = np.zeros((C, N, H, W), dtype=cols.dtype)
    blocks = cols.reshape(C, kH, kW, N, oh, ow)
    for i in range(kH):
        for j in range(kW):
            grad[:, :, i:i + oh, j:j + ow] += blocks[:, i, j]
    return grad.transpose(1, 0, 2, 3)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-im2col", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)          # the worked example of step 1
cols = im2col(x, (2, 2))
assert cols.shape == (4, 4), f"(C·kH·kW, N·oh·ow) should be (4, 4), got {cols.shape}"
assert np.array_equal(cols[:, 0], [1, 2, 4, 5]), f"column 0 should be the top-left window [1, 2, 4, 5], got {cols[:, 0]}"
assert np.array_equal(cols[3], [5, 6, 8, 9]), f"row 3 (offset (1, 1)) should be [5, 6, 8, 9], got {cols[3]}"
assert np.allclose(np.array([[1.0, 0.0, 0.0, 1.0]]) @ cols, [[6, 8, 12, 14]]), "one product gives the worked example"
counts = col2im(np.ones_like(cols), x.shape, (2, 2))
assert counts.shape == (1, 1, 3, 3), f"col2im should give the input's shape (1, 1, 3, 3), got {counts.shape}"
assert np.array_equal(counts[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]]), \
    f"col2im of ones counts how many windows cover each pixel, got {counts[0, 0]}"
print("✅ im2col and col2im work")
### BEGIN HIDDEN TESTS
from numpy.lib.stride_tricks import sliding_window_view as _windows

rng = np.random.default_rng(7)
xs = rng.normal(size=(2, 3, 5, 4))
windows = _windows(xs, (2, 3), axis=(2, 3))            # (N, C, oh, ow, kH, kW)
got, want = im2col(xs, (2, 3)), windows.transpose(1, 4, 5, 0, 2, 3).reshape(18, 2 * 4 * 2)
assert np.allclose(got, want), \
    f"im2col(x (2, 3, 5, 4), (2, 3)): shape {np.shape(got)} (want {want.shape}), max |diff| = {np.abs(got - want).max():.3g}"
other = rng.normal(size=(18, 16))
assert np.isclose(np.sum(im2col(xs, (2, 3)) * other), np.sum(xs * col2im(other, xs.shape, (2, 3)))), \
    "col2im is the adjoint of im2col"
cols_dtype = im2col(np.ones((1, 2, 1, 1), dtype=np.float32), (1, 1)).dtype
assert cols_dtype == np.float32, f"im2col should keep a float32 input float32, got {cols_dtype}"
### END HIDDEN TESTS

# %% [markdown]
# Now the forward pass with one product. `weight` and `bias` are NumPy arrays here; return the
# output **and** `cols`, which the weight's gradient will need.

# %% nbgrader={"grade": false, "grade_id": "conv2d-gemm", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def conv2d_gemm(x, weight, bias=None):
    """(output (N, out, oh, ow), cols): the convolution as Wm @ im2col(x) [+ bias], for NumPy arrays."""
    x, weight = np.asarray(x), np.asarray(weight)
    _check_conv_shapes("conv2d_gemm", x.shape, weight.shape, ndim=4)
    N, C, H, W = x.shape
    out_channels, _, kH, kW = weight.shape
    oh, ow = H - kH + 1, W - kW + 1
    # TODO: cols = im2col(x, (kH, kW)); out = weight as an (out_channels, C·kH·kW) matrix @ cols;
    #       add the bias as a column (shape (out_channels, 1)) when there is one; return
    #       (out reshaped to (out_channels, N, oh, ow) with the first two axes swapped, cols).
    ### BEGIN SOLUTION
    cols = im2col(x, (kH, kW))
    out = weight.reshape(out_channels, C * kH * kW) @ cols
    if bias is not None:
        out += np.asarray(bias).reshape(out_channels, 1)
    return out.reshape(out_channels, N, oh, ow).transpose(1, 0, 2, 3), cols
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-conv2d-gemm", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from numpy.lib.stride_tricks import sliding_window_view as _windows


def _reference_conv(x, weight):
    """This test's own NumPy convolution (N, C, H, W) x (out, C, kH, kW): the value a grade trusts."""
    x, weight = np.asarray(x, dtype=np.float64), np.asarray(weight, dtype=np.float64)
    return np.einsum("ncyxij,ocij->noyx", _windows(x, weight.shape[2:], axis=(2, 3)), weight)


rng = np.random.default_rng(3)
x, w, b = rng.normal(size=(2, 3, 6, 5)), rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4)
out, cols = conv2d_gemm(x, w, b)
assert out.shape == (2, 4, 4, 4), f"output shape should be (N, out, oh, ow) = (2, 4, 4, 4), got {out.shape}"
assert cols.shape == (18, 32), f"cols should be im2col(x): shape (18, 32), got {cols.shape}"
assert np.allclose(out, _reference_conv(x, w) + b.reshape(1, 4, 1, 1)), "conv2d_gemm disagrees with the reference"
assert np.allclose(conv2d_gemm(x, w)[0], _reference_conv(x, w)), "without a bias: the convolution alone"
print("✅ conv2d_gemm: one product, the same numbers")
### BEGIN HIDDEN TESTS
img, k = rng.normal(size=(9, 7)), rng.normal(size=(4, 2))
got, want = conv2d_gemm(img.reshape(1, 1, 9, 7), k.reshape(1, 1, 4, 2))[0][0, 0], _reference_conv(img.reshape(1, 1, 9, 7), k.reshape(1, 1, 4, 2))[0, 0]
assert np.allclose(got, want), \
    f"one channel in and out should match a single-channel convolution: max |diff| = {np.abs(got - want).max():.3g}"
try:
    conv2d_gemm(np.ones((1, 2, 5, 5)), np.ones((1, 3, 3, 3)))
    raise AssertionError("channel mismatch should raise ValueError")
except ValueError:
    pass
### END HIDDEN TESTS

# %% [markdown]
# And the backward pass: three functions, one per input, each given `grad_out`, the gradient of
# the loss with respect to the output, shape `(N, out, oh, ow)`. First turn it into the matrix
# `G` of shape `(out, N·oh·ow)` — swap the first two axes, then reshape — so its columns line up
# with those of `cols` (the helper `_gradient_matrix` does this).
#
# A detail of BLAS again. `G @ cols.T` multiplies along the long axis `N·oh·ow`, with the second
# operand transposed, and OpenBLAS is slow at that case — about 4× slower than the same product
# with both operands stored row by row, measured on the Intel Xeon this module was written on. So
# compute the weight gradient transposed, `dL/dWmᵀ = cols @ Gᵀ`, with `Gᵀ` built directly in its
# own row-major layout: move the channel axis of `grad_out` last, then reshape to
# `(N·oh·ow, out)`. The numbers are the same; then transpose back and reshape.

# %% nbgrader={"grade": false, "grade_id": "conv2d-gradients", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _gradient_matrix(grad_out):
    """(N, out, oh, ow) -> G (out, N·oh·ow), columns in the order of im2col's."""
    grad_out = np.asarray(grad_out)
    return grad_out.transpose(1, 0, 2, 3).reshape(grad_out.shape[1], -1)


def conv2d_grad_weight(grad_out, cols, weight_shape):
    """dL/dweight = G @ cols.T, computed as (cols @ Gᵀ)ᵀ and reshaped to weight_shape (out, C, kH, kW)."""
    # TODO: G_T = grad_out with its axes moved to (N, oh, ow, out), reshaped to (N·oh·ow, out);
    #       one product cols @ G_T; transpose it and reshape to weight_shape.
    ### BEGIN SOLUTION
    grad_out = np.asarray(grad_out)
    g_t = grad_out.transpose(0, 2, 3, 1).reshape(-1, grad_out.shape[1])
    return (cols @ g_t).T.reshape(weight_shape)
    ### END SOLUTION


def conv2d_grad_input(grad_out, weight, x_shape):
    """dL/dx = col2im(Wm.T @ G): the gradient of every copy, added back onto its pixel."""
    # TODO: Wm = weight as an (out, C·kH·kW) matrix; one product Wm.T @ G; col2im to x_shape.
    ### BEGIN SOLUTION
    weight = np.asarray(weight)
    out_channels, _, kH, kW = weight.shape
    d_cols = weight.reshape(out_channels, -1).T @ _gradient_matrix(grad_out)
    return col2im(d_cols, x_shape, (kH, kW))
    ### END SOLUTION


def conv2d_grad_bias(grad_out):
    """dL/dbias: grad_out summed over batch and pixels -> (out,)."""
    # TODO: sum over axes 0, 2 and 3.
    ### BEGIN SOLUTION
    return np.asarray(grad_out).sum(axis=(0, 2, 3))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-conv2d-gradients", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def numeric_gradient(loss, array, eps=1e-6):
    """Central differences: d loss() / d array[index] for every index (array is changed and restored)."""
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


rng = np.random.default_rng(11)
x, w, b = rng.normal(size=(2, 2, 5, 4)), rng.normal(size=(3, 2, 3, 2)), rng.normal(size=3)
R = rng.normal(size=(2, 3, 3, 3))                  # loss = sum(out * R), so dL/dout = R
loss = lambda: float(np.sum(conv2d_gemm(x, w, b)[0] * R))
cols = conv2d_gemm(x, w, b)[1]
dw, dx, db = conv2d_grad_weight(R, cols, w.shape), conv2d_grad_input(R, w, x.shape), conv2d_grad_bias(R)
assert dw.shape == w.shape and dx.shape == x.shape and db.shape == b.shape, "each gradient has its input's shape"
assert np.allclose(dw, numeric_gradient(loss, w), atol=1e-5), "conv2d_grad_weight disagrees with finite differences"
assert np.allclose(dx, numeric_gradient(loss, x), atol=1e-5), "conv2d_grad_input disagrees with finite differences"
assert np.allclose(db, numeric_gradient(loss, b), atol=1e-5), "conv2d_grad_bias disagrees with finite differences"
print("✅ the three backward functions match finite differences")
### BEGIN HIDDEN TESTS
x1, w1 = rng.normal(size=(1, 1, 4, 6)), rng.normal(size=(2, 1, 4, 1))
R1 = rng.normal(size=(1, 2, 1, 6))
loss1 = lambda: float(np.sum(conv2d_gemm(x1, w1)[0] * R1))
got, want = conv2d_grad_input(R1, w1, x1.shape), numeric_gradient(loss1, x1)
assert np.allclose(got, want, atol=1e-5), \
    f"conv2d_grad_input (4x1 kernel) vs finite differences: max |diff| = {np.abs(got - want).max():.3g}"
got, want = conv2d_grad_weight(R1, im2col(x1, (4, 1)), w1.shape), numeric_gradient(loss1, w1)
assert np.allclose(got, want, atol=1e-5), \
    f"conv2d_grad_weight (4x1 kernel) vs finite differences: max |diff| = {np.abs(got - want).max():.3g}"
got = conv2d_grad_bias(np.ones((2, 3, 4, 5)))
assert np.allclose(got, [40.0, 40.0, 40.0]), \
    f"dL/dout = ones (2, 3, 4, 5): each bias grad is N*H*W = 40; got shape {np.shape(got)}, {np.ravel(got)[:3]}"
### END HIDDEN TESTS

# %% [markdown]
# ### One graph node
#
# `conv2d(x, weight, bias)` (given) puts the pieces together. It computes the output with your
# `conv2d_gemm`. When an input is an autograd `Variable` that needs a gradient (module 07), it
# returns a `Variable` whose `grad_fn` lists one backward rule per such input — your three
# functions; otherwise it returns a plain `Tensor` (NumPy arrays in: a NumPy array out). Module
# 07 explains `Variable` and `GradFn`; before it exists, or while it is still unfinished in your
# workspace, `conv2d` simply returns a `Tensor`, and the layers built on it still run.
# Module 09's `CrossEntropyLoss` is one graph node in the same way.
#
# One more thing it does for speed: the im2col matrix is `kH·kW` times the size of the input —
# 33 MB for 64 images of 16×32×32 and a 3×3 kernel. Streaming a matrix that size through memory
# takes longer than the arithmetic on it, so `conv2d` hands your functions a few images at a
# time (as many as fit in an im2col matrix of about 1 MB, `CHUNK_BYTES`, which stays in the
# processor's cache; at least one image) and adds up the weight gradients of the pieces. With
# more than one piece, it calls `im2col` again during the backward pass rather than keeping
# every piece's matrix.

# %%
#| export
def _autograd():
    """(GradFn, Variable) from module 07, or None while it doesn't exist or is still a stub."""
    try:
        from tinytorch.core.autograd import GradFn, Variable
    except (ImportError, NotImplementedError):
        return None
    return GradFn, Variable


def _values(t):
    """The NumPy array behind a Tensor, a Variable or an array; integers become float32."""
    values = np.asarray(t)
    return values if values.dtype.kind == "f" else values.astype(np.float32)


CHUNK_BYTES = 1 << 20    # about 1 MB of im2col matrix at a time: small enough to stay in the CPU's cache


def _image_chunks(x_shape, weight_shape, itemsize):
    """Slices of the batch axis, as many images each as fit in an im2col matrix of CHUNK_BYTES."""
    N, C, H, W = x_shape
    _, _, kH, kW = weight_shape
    per_image = C * kH * kW * (H - kH + 1) * (W - kW + 1) * itemsize
    step = max(1, CHUNK_BYTES // max(per_image, 1))
    return [slice(n, n + step) for n in range(0, N, step)]


def conv2d(x, weight, bias=None):
    """Convolution as one graph node: (N, C, H, W) x (out, C, kH, kW) [+ bias (out,)] -> (N, out, oh, ow)."""
    _check_conv_shapes("conv2d", x.shape, weight.shape, ndim=4)
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"conv2d: expected a bias of shape ({weight.shape[0]},), got {tuple(bias.shape)}")
    xv, wv = _values(x), _values(weight)
    bv = None if bias is None else _values(bias)
    N, _, H, W = xv.shape
    out_channels, _, kH, kW = wv.shape
    chunks = _image_chunks(xv.shape, wv.shape, np.result_type(xv, wv).itemsize)
    out = np.empty((N, out_channels, H - kH + 1, W - kW + 1), dtype=np.result_type(xv, wv))
    for part in chunks:
        out[part], cols = conv2d_gemm(xv[part], wv, bv)
    if not any(isinstance(t, Tensor) for t in (x, weight, bias)):
        return out
    saved_cols = cols if len(chunks) == 1 else None      # one chunk: keep it; several: recompute

    def grad_input(g):
        grad = np.empty(xv.shape, dtype=np.result_type(g, wv))
        for part in chunks:
            grad[part] = conv2d_grad_input(g[part], wv, xv[part].shape)
        return grad

    def grad_weight(g):
        grad = 0
        for part in chunks:
            cols = saved_cols if saved_cols is not None else im2col(xv[part], (kH, kW))
            grad = grad + conv2d_grad_weight(g[part], cols, wv.shape)
        return grad

    autograd = _autograd()
    if autograd is not None:
        GradFn, Variable = autograd
        needs_grad = lambda t: isinstance(t, Variable) and t.requires_grad
        edges = [(t, rule) for t, rule in ((x, grad_input), (weight, grad_weight), (bias, conv2d_grad_bias))
                 if needs_grad(t)]
        if edges:
            try:
                return Variable(out, requires_grad=True, grad_fn=GradFn("Conv2D", edges))
            except NotImplementedError:       # module 07 still unfinished in this workspace
                pass
    return Tensor(out, dtype=out.dtype)


# %%
rng = np.random.default_rng(2)
x_demo, w_demo = rng.normal(size=(2, 3, 5, 5)), rng.normal(size=(4, 3, 3, 3))
print("conv2d on arrays:", type(conv2d(x_demo, w_demo)).__name__,
      "— on Tensors:", type(conv2d(Tensor(x_demo), Tensor(w_demo))).__name__)

# %% [markdown]
# ## Step 5 — `MultiChannelConv2D`: batches, channels in and out
#
# The layer a CNN is built from: `MultiChannelConv2D(in_channels, out_channels, kernel_size)`
# holds a `weight` of shape `(out_channels, in_channels, kH, kW)` and, unless `use_bias=False`, a
# `bias` of shape `(out_channels,)` starting at zero. Each output channel looks at all input
# channels, so the fan-in is `in_channels·kH·kW`: scale the random weights by
# `sqrt(2 / fan_in)`. `forward` maps `(N, in_channels, H, W)` to `(N, out_channels, oh, ow)`
# with one call to `conv2d`, so training it costs one product forward and two backward.

# %% nbgrader={"grade": false, "grade_id": "multichannel-conv2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class MultiChannelConv2D:
    """Batched convolution layer: (N, in_channels, H, W) -> (N, out_channels, H-kH+1, W-kW+1)."""

    def __init__(self, in_channels, out_channels, kernel_size, use_bias=True):
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"MultiChannelConv2D: expected {name} to be a positive int, got {value!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size)
        # TODO: self.weight (out, in, kH, kW) scaled by sqrt(2 / (in*kH*kW)), float32, via make_parameter;
        #       self.bias = make_parameter(zeros of shape (out,), float32) if use_bias else None.
        ### BEGIN SOLUTION
        kH, kW = self.kernel_size
        fan_in = self.in_channels * kH * kW
        values = np.random.randn(self.out_channels, self.in_channels, kH, kW) * np.sqrt(2.0 / fan_in)
        self.weight = make_parameter(values.astype(np.float32))
        self.bias = make_parameter(np.zeros(self.out_channels, dtype=np.float32)) if use_bias else None
        ### END SOLUTION

    def forward(self, x):
        if len(x.shape) != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"MultiChannelConv2D: expected input (N, {self.in_channels}, H, W), "
                             f"got shape {tuple(x.shape)}")
        # TODO: one call to conv2d (the graph node of step 4).
        ### BEGIN SOLUTION
        return conv2d(x, self.weight, self.bias)
        ### END SOLUTION

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        return [self.weight] if self.bias is None else [self.weight, self.bias]


# %% nbgrader={"grade": true, "grade_id": "test-multichannel-conv2d", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
from numpy.lib.stride_tricks import sliding_window_view as _windows


def _reference_conv(x, weight):
    """This test's own NumPy convolution (N, C, H, W) x (out, C, kH, kW): the value a grade trusts."""
    x, weight = np.asarray(x, dtype=np.float64), np.asarray(weight, dtype=np.float64)
    return np.einsum("ncyxij,ocij->noyx", _windows(x, weight.shape[2:], axis=(2, 3)), weight)


def _array_in(t):
    """The NumPy array inside a Tensor (or a Variable, whose data is a Tensor), read by this test."""
    for _ in range(4):
        if isinstance(t, np.ndarray):
            return t
        t = t.data
    raise AssertionError(f"expected a Tensor holding a NumPy array, got {type(t).__name__}")


np.random.seed(1)
conv = MultiChannelConv2D(in_channels=2, out_channels=5, kernel_size=3)
assert conv.weight.shape == (5, 2, 3, 3), f"weight shape should be (5, 2, 3, 3), got {conv.weight.shape}"
assert conv.bias.shape == (5,), f"bias shape should be (5,), got {conv.bias.shape}"
n_params = len(conv.parameters())
assert n_params == 2, f"with a bias, parameters() should be [weight, bias]: expected 2, got {n_params}"
batch = Tensor(np.random.rand(4, 2, 8, 8).astype(np.float32))
out = conv(batch)
assert isinstance(out, Tensor) and out.shape == (4, 5, 6, 6), f"expected a Tensor of shape (4, 5, 6, 6), got {out.shape}"
w = _array_in(conv.weight)
got, want = _array_in(out), _reference_conv(_array_in(batch), w)
assert np.allclose(got, want, atol=1e-5), \
    f"bias starts at zero, so out = conv(x, weight): max |diff| = {np.abs(got - want).max():.3g}"
print("✅ MultiChannelConv2D works")
### BEGIN HIDDEN TESTS
nobias = MultiChannelConv2D(1, 3, (2, 4), use_bias=False)
assert nobias.bias is None and nobias.parameters() == [nobias.weight] and nobias.weight.shape == (3, 1, 2, 4), \
    (f"use_bias=False: expected bias None, parameters() [weight], weight (3, 1, 2, 4); got bias "
     f"{type(nobias.bias).__name__}, {len(nobias.parameters())} parameter(s), weight {nobias.weight.shape}")
try:
    conv(Tensor(np.ones((4, 3, 8, 8))))
    raise AssertionError("wrong channel count should raise ValueError")
except ValueError:
    pass
### END HIDDEN TESTS

# %% [markdown]
# ## See it: how much faster?
#
# The same convolution three ways, timed on your machine: your loops (one `conv2d_naive` call per
# image and filter), the sum over offsets, and one im2col product — on a batch of 8 images of
# 28×28 pixels (the size of the classic MNIST digits) and 8 filters of 3×3. On tiny images such
# as this course's 8×8 digits there are so few pixels that Python's fixed cost per call
# dominates and the gaps look small; on 28×28 they don't. (Speed depends on your machine: the
# ratios are what to look at.)

# %%
if SHOW:
    import time

    def best_seconds(fn, repeat):
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    rng = np.random.default_rng(0)
    images = rng.random((8, 1, 28, 28)).astype(np.float32)
    filters = rng.normal(size=(8, 1, 3, 3)).astype(np.float32)
    loops = best_seconds(lambda: [[conv2d_naive(image[0], f[0]) for f in filters] for image in images], 1)
    offsets = best_seconds(lambda: conv2d_vectorized(images, filters), 20)
    gemm = best_seconds(lambda: conv2d_gemm(images, filters), 20)
    print(f"loops (conv2d_naive)          {loops * 1e3:9.2f} ms")
    print(f"sum over offsets (vectorized) {offsets * 1e3:9.2f} ms   {loops / offsets:7.0f}x faster than the loops")
    print(f"one product (conv2d_gemm)     {gemm * 1e3:9.2f} ms   {loops / gemm:7.0f}x faster than the loops")

# %% [markdown]
# ## Step 6 — Flatten
#
# After the convolutions, a `Dense` layer makes the decision, and it wants rows of numbers.
# `flatten(x)` turns a 2-D feature map into one row, shape `(1, N)` with `N = H·W`.
# `flatten_batch(x)` keeps the batch axis and flattens the rest: `(N, C, H, W) -> (N, C·H·W)`;
# the `Flatten` layer wraps it so it can sit in a `Sequential`. Use `reshape` only.

# %% nbgrader={"grade": false, "grade_id": "flatten", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def flatten(x):
    """Everything into one row: any shape -> (1, size)."""
    # TODO: x.reshape(1, size) where size is the product of x.shape
    ### BEGIN SOLUTION
    return x.reshape(1, int(np.prod(x.shape)))
    ### END SOLUTION


def flatten_batch(x):
    """Keep the batch axis: (N, ...) -> (N, product of the other axes)."""
    if len(x.shape) < 1:
        raise ValueError(f"flatten_batch: expected an input with a batch axis, got shape {tuple(x.shape)}")
    # TODO: x.reshape(N, rest)
    ### BEGIN SOLUTION
    return x.reshape(x.shape[0], int(np.prod(x.shape[1:])))
    ### END SOLUTION


class Flatten:
    """Layer form of flatten_batch, for use inside Sequential."""

    def forward(self, x):
        return flatten_batch(x)

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        return []


# %% nbgrader={"grade": true, "grade_id": "test-flatten", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def _array_in(t):
    """The NumPy array inside a Tensor (or a Variable, whose data is a Tensor), read by this test."""
    for _ in range(4):
        if isinstance(t, np.ndarray):
            return t
        t = t.data
    raise AssertionError(f"expected a Tensor holding a NumPy array, got {type(t).__name__}")


t = Tensor(np.arange(12.0).reshape(3, 4))
f = flatten(t)
assert isinstance(f, Tensor) and f.shape == (1, 12), f"flatten should give a Tensor of shape (1, 12), got {f.shape}"
assert np.allclose(_array_in(f), np.arange(12.0)[None, :]), \
    f"flatten should keep row-major order [[0, 1, ..., 11]], got {_array_in(f)}"
fb = flatten_batch(Tensor(np.zeros((5, 2, 3, 3))))
assert fb.shape == (5, 18), f"flatten_batch should give (5, 18), got {fb.shape}"
flat_shape = Flatten()(Tensor(np.zeros((2, 8, 6, 6)))).shape
assert flat_shape == (2, 288), f"Flatten() keeps the batch axis: expected (2, 288) from (2, 8, 6, 6), got {flat_shape}"
print("✅ flatten works")
### BEGIN HIDDEN TESTS
got = _array_in(flatten_batch(Tensor(np.arange(24.0).reshape(2, 3, 4))))
assert np.allclose(got, np.arange(24.0).reshape(2, 12)), \
    f"flatten_batch of arange(24) as (2, 3, 4): expected arange(24) as (2, 12), got {got}"
flat_shape = flatten(Tensor(np.ones((2, 3, 4)))).shape
assert flat_shape == (1, 24), f"flatten of (2, 3, 4) should give (1, 24), got {flat_shape}"
### END HIDDEN TESTS

# %% [markdown]
# ## See it: an edge detector on a handwritten digit
#
# A kernel that subtracts the pixels on the left from those on the right responds where brightness
# changes from left to right — vertical edges; its transpose finds horizontal edges. Here are
# both, applied with your `conv2d_naive` to a digit from the data set of module 06: red where ink
# begins (going right, or down), blue where it ends, white where nothing changes. The maps are
# 6×6: a valid convolution with a 3×3 kernel loses one pixel on each side.

# %%
if SHOW:
    import gzip
    from importlib.resources import files

    import matplotlib.pyplot as plt

    with gzip.open(files("tinytorch").joinpath("data", "digits.csv.gz").open("rb")) as handle:
        digit = np.loadtxt(handle, delimiter=",", max_rows=1)[:64].reshape(8, 8) / 16.0
    vertical = np.array([[-1.0, 0.0, 1.0]] * 3)
    maps = {"digit": digit, "vertical edges": conv2d_naive(digit, vertical),
            "horizontal edges": conv2d_naive(digit, vertical.T)}
    fig, axes = plt.subplots(1, 3, figsize=(9, 3))
    for ax, (title, image) in zip(axes, maps.items()):
        if title == "digit":
            ax.imshow(image, cmap="gray_r")
        else:
            limit = np.abs(image).max()
            ax.imshow(image, cmap="bwr", vmin=-limit, vmax=limit)
        ax.set_title(title)
        ax.axis("off")
    plt.show()

# %% [markdown]
# ### See it: the filters of a `MultiChannelConv2D`, and what they see
#
# A fresh `MultiChannelConv2D(1, 6, 3)`: top row, its six 3×3 filters (`weight[k, 0]`, red
# positive, blue negative); bottom row, the six feature maps your `forward` computes from the first
# digit of the data set (same colours) (bias 0, so each map is just that filter slid over the image). Random filters already
# respond to different strokes. Training (milestone 02) reshapes them into detectors that help
# tell digits apart.

# %% tags=["hide-input"]
import os

if __name__ == "__main__" and not os.environ.get("TINYTORCH_GRADING"):
    try:
        import gzip
        from importlib.resources import files

        import matplotlib.pyplot as plt

        with gzip.open(files("tinytorch").joinpath("data", "digits.csv.gz").open("rb")) as handle:
            digit = np.loadtxt(handle, delimiter=",", max_rows=1)[:64].reshape(8, 8) / 16.0
        np.random.seed(3)
        conv = MultiChannelConv2D(1, 6, 3)
        filters = np.asarray(conv.weight)[:, 0]
        maps = np.asarray(conv(Tensor(digit.reshape(1, 1, 8, 8).astype(np.float32))))[0]
        fig, axes = plt.subplots(2, 6, figsize=(10, 3.6))
        for k in range(6):
            limit = np.abs(filters[k]).max()
            axes[0, k].imshow(filters[k], cmap="bwr", vmin=-limit, vmax=limit)
            axes[0, k].set_title(f"filter {k}", fontsize=9)
            limit = np.abs(maps[k]).max()
            axes[1, k].imshow(maps[k], cmap="bwr", vmin=-limit, vmax=limit)
            axes[1, k].set_title(f"map {k}  {maps[k].shape[0]}×{maps[k].shape[1]}", fontsize=9)
        for ax in axes.flat:
            ax.axis("off")
        fig.tight_layout()
        plt.show()
    except NotImplementedError:
        print("Finish MultiChannelConv2D (and conv2d_vectorized) above to see its filters at work.")

# %% [markdown]
# ## What you built
#
# - `conv2d_naive`: the definition, four loops.
# - `conv2d_vectorized`: the same numbers from `kH·kW` shifted slices and matrix products — im2col,
#   one offset at a time, written with operations autograd will understand.
# - `im2col`, `col2im`, `conv2d_gemm` and the three gradient functions: the convolution as one
#   product forward and two backward, checked against finite differences.
# - `conv2d`: all of it as one graph node, ready for module 07.
# - `Conv2D` and `MultiChannelConv2D`: layers with parameters, checked against the loops and the
#   im2col reference.
# - `flatten`, `flatten_batch`, `Flatten`: the bridge from feature maps to `Dense`.
#
# ```python
# from tinytorch.core.cnn import MultiChannelConv2D, Flatten
# ```
#
# Next, module 06 feeds these layers real data: datasets, batches, and the handwritten digits.

# %% [markdown]
# ## Exercises (not graded)
#
# 1. Write the output shape of a valid convolution of an `(H, W)` image with a `(kH, kW)` kernel,
#    and check it for a 28×28 image and a 5×5 kernel.
# 2. Convolve a digit with the 3×3 averaging kernel (all entries `1/9`) using your `conv2d_naive`.
#    What does it do to the image, and what would a larger averaging kernel do?
# 3. Count the parameters of `MultiChannelConv2D(8, 16, 3)` and of a `Dense` layer mapping an
#    8×8×8 input to a 6×6×16 output. What do the convolution's shared weights save?
