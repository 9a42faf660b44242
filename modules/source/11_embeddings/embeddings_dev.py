# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 11 — Embeddings: from token ids to vectors
#
# Module 10 turned text into integers. An integer is a name, not a quantity: token 41 is not
# "bigger" than token 40. A model needs, for each token, a vector it can learn — an **embedding**.
# And because attention (module 12) looks at all tokens at once, with no notion of order, each
# *position* needs a vector too.
#
# **Goals of this module**
# - See that looking up a row of a matrix is the same as multiplying a one-hot vector by it.
# - Build `Embedding`: a trainable table, indexed by integer arrays of any shape, whose gradient
#   adds up when the same token appears twice.
# - Build positions two ways: learned (`PositionalEmbedding`, as GPT-2) and fixed sinusoids
#   (`sinusoidal_positions`, as the original Transformer).

# %%
#| default_exp core.embeddings

# %%
#| export
import numpy as np

from tinytorch.core.layers import make_parameter
from tinytorch.core.tensor import Tensor

# %%
import os

SHOW = __name__ == "__main__" and not os.environ.get("TINYTORCH_GRADING")  # demos only when you run it

# %% [markdown]
# ## Step 1 — A lookup is a matrix product
#
# Give every token of a vocabulary of size `V` a row of a matrix `W` of shape `(V, d)`. Token `i`
# written as a one-hot vector `e_i` (a 1 at position `i`, zeros elsewhere) times `W` picks out row
# `i`:
#
# $$e_i^\top W = W_{i,:}$$
#
# So an embedding is a `Dense` layer without bias whose input is one-hot — but multiplying by a
# vector that is almost all zeros wastes `V` times the work. Indexing `W[ids]` does the same in
# one step, and NumPy's integer-array indexing takes ids of any shape: for ids of shape `(B, T)`,
# `W[ids]` has shape `(B, T, d)`.

# %%
W = np.arange(12, dtype=np.float32).reshape(4, 3)          # 4 tokens, 3 numbers each
ids = np.array([[2, 0], [2, 3]])
one_hot = np.eye(4, dtype=np.float32)[ids]                  # (2, 2, 4)
print("one-hot @ W:\n", one_hot @ W)
print("W[ids] (the same):\n", W[ids])

# %% [markdown]
# The gradient follows the same picture. If token 2 appears twice, row 2 of `W` was used twice,
# so its gradient is the **sum** of the gradients flowing back to both uses (as for any value used
# twice in module 07). Module 07's `Variable` already does this for integer-array indexing: its
# backward adds with `np.add.at`, which, unlike `grad[ids] += g`, counts repeated ids.
#
# ## Step 2 — `Embedding`
#
# `Embedding(num_embeddings, embedding_dim)` holds `weight`, a parameter of shape
# `(num_embeddings, embedding_dim)` made with `make_parameter` (module 03), drawn from a standard
# normal distribution as in PyTorch's `nn.Embedding` (a model may rescale it; GPT-2 uses a standard
# deviation of 0.02, module 13).
#
# `forward(indices)` accepts a list, a NumPy array or a `Tensor` of integers of any shape and
# returns `weight[indices]`, of shape `(*indices.shape, embedding_dim)`. It checks the indices
# first: NumPy would read `-1` as the last row, and an index past the end as an `IndexError` with
# no hint of which layer it came from. A bad index raises a `ValueError` naming the index and
# `num_embeddings`; so do non-integer indices (a float id is almost always a bug).

# %% nbgrader={"grade": false, "grade_id": "embedding", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _index_array(indices):
    """Integer indices as an ndarray (lists, arrays and Tensors); ValueError for anything else."""
    values = np.asarray(indices)
    if values.dtype.kind not in "iu":
        raise ValueError(f"embedding indices must be integers, got an array of dtype {values.dtype}")
    return values


class Embedding:
    """A trainable table of vectors: forward(ids) = weight[ids], shape (*ids.shape, embedding_dim)."""

    def __init__(self, num_embeddings, embedding_dim):
        self.num_embeddings = _positive_int("num_embeddings", num_embeddings)
        self.embedding_dim = _positive_int("embedding_dim", embedding_dim)
        # TODO: self.weight = make_parameter(standard normal samples of shape
        #       (num_embeddings, embedding_dim), as float32).
        ### BEGIN SOLUTION
        values = np.random.randn(self.num_embeddings, self.embedding_dim).astype(np.float32)
        self.weight = make_parameter(values)
        ### END SOLUTION

    def forward(self, indices):
        """The rows of `weight` for each index: (*indices.shape, embedding_dim)."""
        ids = _index_array(indices)
        # TODO: 1. find the indices outside [0, num_embeddings); if there are any, raise
        #          ValueError(f"embedding index {bad} is out of range for num_embeddings={...}")
        #          with `bad` the first offending index (ids[~ok][0], ok the boolean mask of good ones).
        #       2. return self.weight[ids] (the Variable's indexing keeps the graph).
        ### BEGIN SOLUTION
        ok = (ids >= 0) & (ids < self.num_embeddings)
        if not ok.all():
            bad = ids[~ok][0]
            raise ValueError(f"embedding index {bad} is out of range for num_embeddings={self.num_embeddings} "
                             f"(valid indices: 0 to {self.num_embeddings - 1})")
        return self.weight[ids]
        ### END SOLUTION

    def __call__(self, indices):
        return self.forward(indices)

    def parameters(self):
        return [self.weight]

    def __repr__(self):
        return f"Embedding({self.num_embeddings}, {self.embedding_dim})"


# %% nbgrader={"grade": true, "grade_id": "test-embedding", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
from tinytorch.core.autograd import Variable

np.random.seed(0)
emb = Embedding(10, 4)
assert emb.weight.shape == (10, 4), f"Embedding(10, 4).weight: expected shape (10, 4), got {emb.weight.shape}"
assert isinstance(emb.weight, Variable), f"Embedding.weight: expected a Variable, got {type(emb.weight).__name__}"
assert emb.weight.requires_grad, f"Embedding.weight.requires_grad: expected True, got {emb.weight.requires_grad!r}"
assert emb.parameters() == [emb.weight], \
    f"Embedding.parameters(): expected [emb.weight] (the weight Variable itself), got {emb.parameters()!r:.80}"
table = np.asarray(emb.weight)
out = emb(np.array([[1, 2, 3], [3, 0, 9]]))
assert out.shape == (2, 3, 4), f"(B, T) ids give (B, T, embedding_dim), got {out.shape}"
assert np.array_equal(np.asarray(out), table[[[1, 2, 3], [3, 0, 9]]]), \
    f"Embedding.forward: expected rows [[1, 2, 3], [3, 0, 9]] of the weight, max abs difference {np.abs(np.asarray(out) - table[[[1, 2, 3], [3, 0, 9]]]).max():.3g}"
assert emb([5]).shape == (1, 4), f"Embedding.forward([5]): expected shape (1, 4), got {emb([5]).shape}"
assert emb(np.array(7)).shape == (4,), f"a single id gives one vector: emb(np.array(7)) expected shape (4,), got {emb(np.array(7)).shape}"
assert emb(Tensor(np.array([1, 1]))).shape == (2, 4), \
    f"a Tensor of ids works too: emb(Tensor([1, 1])) expected shape (2, 4), got {emb(Tensor(np.array([1, 1]))).shape}"
for bad in ([10], [0, -1]):
    try:
        emb(bad)
        raise AssertionError(f"index {bad[-1]} is out of range: forward must raise ValueError")
    except ValueError as err:
        assert str(bad[-1]) in str(err) and "10" in str(err), f"name the index and num_embeddings: {err}"
print("✅ Embedding looks up rows and rejects bad indices")
### BEGIN HIDDEN TESTS
try:
    emb(np.array([1.0, 2.0]))
    raise AssertionError("float indices must raise ValueError")
except ValueError:
    pass
for bad in (0, -3, 2.5, True):
    try:
        Embedding(bad, 3)
        raise AssertionError(f"num_embeddings={bad!r} must raise ValueError")
    except ValueError:
        pass
assert np.asarray(emb.weight).dtype == np.float32, f"Embedding.weight: expected dtype float32, got {np.asarray(emb.weight).dtype}"
init_std = np.asarray(Embedding(400, 50).weight).std()
assert 0.5 < init_std < 1.5, f"standard normal initialisation: expected weight std in (0.5, 1.5), got {init_std:.3g}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test-embedding-gradient", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
np.random.seed(1)
emb = Embedding(5, 3)
out = emb(np.array([[4, 1, 4], [4, 0, 1]]))      # token 4 three times, 1 twice, 0 once, 2 and 3 never
out.sum().backward()
grad = np.asarray(emb.weight.grad)
assert np.allclose(grad, np.array([[1], [2], [0], [0], [3]]) * np.ones(3)), \
    f"each row counts its uses: expected rows of 1, 2, 0, 0, 3, got\n{grad}"
print("✅ repeated tokens add up their gradients")
### BEGIN HIDDEN TESTS
emb.weight.zero_grad()
upstream = np.random.default_rng(2).normal(size=(2, 3, 3)).astype(np.float32)
(emb(np.array([[4, 1, 4], [4, 0, 1]])) * Tensor(upstream)).sum().backward()
expected = np.zeros((5, 3), dtype=np.float32)
for (b, t), i in np.ndenumerate(np.array([[4, 1, 4], [4, 0, 1]])):
    expected[i] += upstream[b, t]
assert np.allclose(np.asarray(emb.weight.grad), expected, atol=1e-6), \
    f"weight.grad should scatter-add the upstream gradient: max abs difference {np.abs(np.asarray(emb.weight.grad) - expected).max():.3g}"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 3 — Where is each token?
#
# Attention, as module 12 will show, treats its input as a *set*: shuffle the tokens and each
# output is shuffled the same way, otherwise unchanged. "The dog bit the man" and "the man bit the
# dog" would look alike. The fix is to add to each token's vector a vector for its **position**.
#
# **Learned positions** (GPT-2): a second table, `PositionalEmbedding(max_length, embedding_dim)`,
# with one trainable row per position `0 … max_length − 1`. Its `weight` (shape
# `(max_length, embedding_dim)`) starts as normal noise with standard deviation 0.02, as in GPT-2.
# `forward(x)` takes token vectors `x` of shape `(..., T, embedding_dim)` and returns
# `x + weight[offset : offset + T]`, broadcast over the leading axes. `offset` (default 0) says at
# which position the first of the `T` tokens stands; module 13's KV cache feeds one token at a
# time, at offsets 0, 1, 2, …. A sequence that runs past `max_length` has no position vectors:
# `forward` raises a `ValueError` naming both numbers.

# %% nbgrader={"grade": false, "grade_id": "positional-embedding", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class PositionalEmbedding:
    """Learned positions: forward(x) = x + weight[offset:offset + T] for x of shape (..., T, embedding_dim)."""

    def __init__(self, max_length, embedding_dim):
        self.max_length = _positive_int("max_length", max_length)
        self.embedding_dim = _positive_int("embedding_dim", embedding_dim)
        values = np.random.randn(self.max_length, self.embedding_dim) * 0.02
        self.weight = make_parameter(values.astype(np.float32))

    def forward(self, x, offset=0):
        """Token vectors plus the vectors of positions offset … offset + T − 1."""
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.ndim < 2 or x.shape[-1] != self.embedding_dim:
            raise ValueError(f"PositionalEmbedding expects (..., T, {self.embedding_dim}), got shape {x.shape}")
        length = x.shape[-2]
        # TODO: if offset + length exceeds self.max_length, raise ValueError naming offset + length
        #       and max_length; otherwise return x + self.weight[offset:offset + length].
        ### BEGIN SOLUTION
        if offset < 0 or offset + length > self.max_length:
            raise ValueError(f"positions {offset} to {offset + length - 1} don't fit: this "
                             f"PositionalEmbedding has max_length={self.max_length}")
        return x + self.weight[offset:offset + length]
        ### END SOLUTION

    def __call__(self, x, offset=0):
        return self.forward(x, offset)

    def parameters(self):
        return [self.weight]

    def __repr__(self):
        return f"PositionalEmbedding({self.max_length}, {self.embedding_dim})"


# %% nbgrader={"grade": true, "grade_id": "test-positional-embedding", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
np.random.seed(2)
pos = PositionalEmbedding(8, 4)
assert pos.weight.shape == (8, 4), f"PositionalEmbedding(8, 4).weight: expected shape (8, 4), got {pos.weight.shape}"
assert abs(float(np.asarray(pos.weight).std()) - 0.02) < 0.01, \
    f"PositionalEmbedding init: expected weight std 0.02 ± 0.01, got {float(np.asarray(pos.weight).std()):.3g}"
x = Tensor(np.ones((2, 5, 4), dtype=np.float32))
y = pos(x)
assert y.shape == (2, 5, 4), f"PositionalEmbedding.forward: expected shape (2, 5, 4), got {y.shape}"
assert np.allclose(np.asarray(y)[1], 1 + np.asarray(pos.weight)[:5]), \
    f"each position gets its own row: max abs difference from x + weight[:5] {np.abs(np.asarray(y)[1] - 1 - np.asarray(pos.weight)[:5]).max():.3g}"
shifted = np.asarray(pos(x[:, :1], offset=3))[0, 0]
assert np.allclose(shifted, 1 + np.asarray(pos.weight)[3]), \
    f"offset shifts the rows: offset=3 should add weight[3], max abs difference {np.abs(shifted - 1 - np.asarray(pos.weight)[3]).max():.3g}"
try:
    pos(Tensor(np.ones((1, 9, 4), dtype=np.float32)))
    raise AssertionError("9 positions don't fit max_length=8: must raise ValueError")
except ValueError as err:
    assert "8" in str(err), f"the message should name max_length=8, got: {err}"
print("✅ PositionalEmbedding adds one learned vector per position")
### BEGIN HIDDEN TESTS
try:
    pos(Tensor(np.ones((1, 2, 4), dtype=np.float32)), offset=7)
    raise AssertionError("positions 7 and 8 don't fit max_length=8")
except ValueError:
    pass
yv = pos(Variable(np.ones((3, 2, 4), dtype=np.float32)))
yv.sum().backward()
pos_grad = np.asarray(pos.weight.grad)
assert np.allclose(pos_grad[:2], 3), \
    f"positions 0 and 1 are used by 3 sequences: expected gradient 3, max abs difference {np.abs(pos_grad[:2] - 3).max():.3g}"
assert np.allclose(pos_grad[2:], 0), f"unused positions get gradient 0, got max abs {np.abs(pos_grad[2:]).max():.3g}"
### END HIDDEN TESTS

# %% [markdown]
# **Sinusoidal positions** (Vaswani et al., 2017) need no training. Position `pos` gets, in
# columns `2i` and `2i + 1`, the sine and cosine of the same angle:
#
# $$P_{pos,\,2i} = \sin\!\left(\frac{pos}{10000^{2i/d}}\right) \qquad P_{pos,\,2i+1} = \cos\!\left(\frac{pos}{10000^{2i/d}}\right)$$
#
# The first columns turn fast (a full turn every 6 positions), the last ones slowly (almost
# 10000 × 2π positions a turn), like the hands of a clock. Two positions a fixed distance apart are related by
# the same rotation wherever they are, which makes relative distance easy to read off.
# `sinusoidal_positions(max_length, d)` returns the `(max_length, d)` table as a float32 `Tensor`
# (for an odd `d` the last column is a sine without its cosine).

# %% nbgrader={"grade": false, "grade_id": "sinusoidal-positions", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def sinusoidal_positions(max_length, embedding_dim):
    """The (max_length, embedding_dim) table of sines (even columns) and cosines (odd columns)."""
    length, dim = _positive_int("max_length", max_length), _positive_int("embedding_dim", embedding_dim)
    # TODO: positions = np.arange(length) as a column (length, 1); even = np.arange(0, dim, 2);
    #       angles = positions / 10000 ** (even / dim)  -> shape (length, number of even columns);
    #       table[:, 0::2] = sin(angles); table[:, 1::2] = cos of the angles that have an odd
    #       column (the first dim // 2 of them). Compute in float64, return Tensor(float32 table).
    ### BEGIN SOLUTION
    positions = np.arange(length, dtype=np.float64)[:, None]
    even = np.arange(0, dim, 2, dtype=np.float64)
    angles = positions / 10000.0 ** (even / dim)
    table = np.empty((length, dim), dtype=np.float64)
    table[:, 0::2] = np.sin(angles)
    table[:, 1::2] = np.cos(angles[:, : dim // 2])
    return Tensor(table.astype(np.float32))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-sinusoidal-positions", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
P = sinusoidal_positions(50, 6)
assert isinstance(P, Tensor), f"sinusoidal_positions: expected a Tensor, got {type(P).__name__}"
assert P.shape == (50, 6), f"sinusoidal_positions(50, 6): expected shape (50, 6), got {P.shape}"
assert P.dtype == np.float32, f"sinusoidal_positions: expected dtype float32, got {P.dtype}"
table = np.asarray(P)
assert np.allclose(table[0], [0, 1, 0, 1, 0, 1]), \
    f"position 0: sin 0 = 0, cos 0 = 1: expected [0, 1, 0, 1, 0, 1], got {table[0].tolist()!r:.80}"
assert np.isclose(table[1, 0], np.sin(1.0)), f"P[1, 0]: expected sin(1) = {np.sin(1.0):.6f}, got {table[1, 0]:.6f}"
assert np.isclose(table[1, 1], np.cos(1.0)), f"P[1, 1]: expected cos(1) = {np.cos(1.0):.6f}, got {table[1, 1]:.6f}"
assert np.isclose(table[7, 2], np.sin(7 / 10000 ** (2 / 6))), \
    f"P[7, 2]: expected sin(7 / 10000 ** (2 / 6)) = {np.sin(7 / 10000 ** (2 / 6)):.6f}, got {table[7, 2]:.6f}"
assert np.isclose(table[7, 5], np.cos(7 / 10000 ** (4 / 6))), \
    f"P[7, 5]: expected cos(7 / 10000 ** (4 / 6)) = {np.cos(7 / 10000 ** (4 / 6)):.6f}, got {table[7, 5]:.6f}"
assert np.allclose(table[:, 0::2] ** 2 + table[:, 1::2] ** 2, 1, atol=1e-6), \
    f"each sine has its cosine: sin² + cos² should be 1, max abs difference {np.abs(table[:, 0::2] ** 2 + table[:, 1::2] ** 2 - 1).max():.3g}"
print("✅ sinusoidal_positions follows Vaswani et al.")
### BEGIN HIDDEN TESTS
odd = np.asarray(sinusoidal_positions(4, 5))
assert odd.shape == (4, 5), f"sinusoidal_positions(4, 5): expected shape (4, 5), got {odd.shape}"
assert np.isclose(odd[3, 4], np.sin(3 / 10000 ** (4 / 5))), \
    f"odd width, last column is a sine: P[3, 4] expected {np.sin(3 / 10000 ** (4 / 5)):.6f}, got {odd[3, 4]:.6f}"
one_column = np.asarray(sinusoidal_positions(3, 1))
assert np.isclose(one_column[2, 0], np.sin(2.0)), \
    f"sinusoidal_positions(3, 1)[2, 0]: expected sin(2) = {np.sin(2.0):.6f}, got {one_column[2, 0]:.6f}"
### END HIDDEN TESTS

# %% [markdown]
# ## The two kinds of position, side by side
#
# Left: the sinusoidal table, one row per position — fast stripes on the left, slow on the right.
# Right: how similar (cosine similarity) each position's vector is to every other's. Nearby
# positions look alike and the likeness fades with distance: the table encodes *how far apart*
# two tokens are. A learned table starts as noise (similar only to itself) and has to discover
# this during training.

# %%
if SHOW:
    import matplotlib.pyplot as plt

    table = np.asarray(sinusoidal_positions(64, 64))
    unit = table / np.linalg.norm(table, axis=1, keepdims=True)
    learned = np.asarray(PositionalEmbedding(64, 64).weight)
    learned_unit = learned / np.linalg.norm(learned, axis=1, keepdims=True)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = [(table, "sinusoidal table (position × column)", "RdBu"),
              (unit @ unit.T, "sinusoidal: similarity of positions", "viridis"),
              (learned_unit @ learned_unit.T, "learned, before training: similarity", "viridis")]
    for ax, (image, title, cmap) in zip(axes, panels):
        shown = ax.imshow(image, cmap=cmap, aspect="auto")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("column" if image is table else "position")
        ax.set_ylabel("position")
        fig.colorbar(shown, ax=ax, fraction=0.046)
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## Putting it together: a sentence becomes a matrix
#
# Tokenizer, token embedding and positions give the input every transformer starts from: one
# vector per token, carrying both *what* the token is and *where* it stands.

# %%
from tinytorch.core.tokenization import CharTokenizer

try:
    sentence = "In the beginning"
    tok = CharTokenizer(sentence)
    np.random.seed(0)
    ids = np.array([tok.encode(sentence)])                  # (1, 16)
    tokens, positions = Embedding(tok.vocab_size, 8), PositionalEmbedding(32, 8)
    x = positions(tokens(ids))
    print(f"{sentence!r} -> ids {ids.shape} -> vectors {x.shape}")
except NotImplementedError:
    print("Embedding and PositionalEmbedding are not written yet.")

# %% [markdown]
# ## What you built
#
# `tinytorch.core.embeddings` holds `Embedding`, `PositionalEmbedding` and `sinusoidal_positions`:
#
# ```python
# from tinytorch.core.embeddings import Embedding, PositionalEmbedding
# x = PositionalEmbedding(block_size, d)(Embedding(vocab_size, d)(ids))   # (B, T, d)
# ```
#
# Next, module 12 lets every token look at the others: attention.

# %% [markdown]
# ## Exercises (not graded)
#
# 1. Check Step 1's gradient claim: for `e = Embedding(4, 3)`, call
#    `e(np.array([[2, 0], [2, 3]])).sum().backward()` and look at `e.weight.grad`. Which row is 2,
#    which is 0, and why?
# 2. With the normalised sinusoidal table `unit` of the figure cell, compute `unit[p] @ unit[p + 5]`
#    for `p = 0, 10, 40`. Show with the sum-of-angles formula why the similarity of two positions
#    depends only on their distance. Is that true of the learned table before training?
# 3. Learned vs sinusoidal: `PositionalEmbedding(32, 8)` raises a `ValueError` for 33 tokens, while
#    `sinusoidal_positions(1000, 8)` has a row for every position. Write a small
#    `SinusoidalPositions(max_length, d)` with the same `forward(x, offset=0)` and no parameters,
#    and use it in the "Putting it together" cell. What does each kind cost in parameters, and
#    which could a model trained on 64-token texts use at position 500?
