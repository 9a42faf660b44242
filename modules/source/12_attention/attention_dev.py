# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 12 — Attention: every token looks at the others
#
# After module 11 each token is a vector, but each vector knows only its own token and position.
# To predict the next word of "the dog bit the …", the model must *combine* information from
# earlier tokens. **Attention** does this: every token asks a question (a query), every token
# offers an answer key, and each token collects the values of the tokens whose keys match its
# query best.
#
# **Goals of this module**
# - Write a numerically stable `softmax` (and `log_softmax`) along any axis from operations
#   module 07 already differentiates.
# - Mask scores: `masked_fill`, and the **causal** mask that keeps a language model from peeking
#   at the future.
# - Build `scaled_dot_product_attention` on `(..., T, d)` inputs, and read its weights as a heat
#   map of a real sentence.
# - Split the work over several heads: `MultiHeadAttention`.

# %%
#| default_exp core.attention

# %%
#| export
import numpy as np

from tinytorch.core.layers import Dense
from tinytorch.core.tensor import Tensor

# %%
import os

SHOW = __name__ == "__main__" and not os.environ.get("TINYTORCH_GRADING")  # demos only when you run it

# %% [markdown]
# ## Step 1 — Softmax along an axis, without overflow
#
# Softmax turns a row of scores into weights that are positive and sum to 1:
#
# $$\operatorname{softmax}(x)_i = \frac{e^{x_i}}{\sum_j e^{x_j}}$$
#
# In float32, `np.exp(np.float32(89))` is already `inf`, and `inf / inf` is `nan`. The cure: softmax does not
# change when the same number is subtracted from every score (it cancels between numerator and
# denominator), so subtract each row's maximum first. The largest exponent is then `e⁰ = 1`, and
# nothing overflows. (A very negative score underflows to 0, which is the right answer.)
#
# Since the maximum's only job is to shift, it enters as a **constant** — a plain `Tensor` of
# the values, `Tensor(np.asarray(x).max(axis=axis, keepdims=True))`, outside the graph; its
# gradient would be zero anyway. Everything else uses operators and ufuncs on `x` itself, so
# module 07 builds the graph and we get the gradient for free.
#
# `log_softmax` is the logarithm of the same thing, written so that it never takes `log(0)`:
#
# $$\log\operatorname{softmax}(x)_i = (x_i - m) - \log\sum_j e^{x_j - m}$$

# %% nbgrader={"grade": false, "grade_id": "softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _constant_max(x, axis):
    """Each slice's maximum along `axis` as a constant Tensor (kept axis), for shifting."""
    top = np.asarray(x).max(axis=axis, keepdims=True)
    return Tensor(top, dtype=top.dtype)


def softmax(x, axis=-1):
    """exp(x - max) / sum(exp(x - max)) along `axis`: positive weights that sum to 1."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    # TODO: shifted = x - _constant_max(x, axis); exps = np.exp(shifted);
    #       return exps divided by their sum along `axis` (keepdims=True).
    ### BEGIN SOLUTION
    exps = np.exp(x - _constant_max(x, axis))
    return exps / exps.sum(axis=axis, keepdims=True)
    ### END SOLUTION


def log_softmax(x, axis=-1):
    """(x - max) - log(sum(exp(x - max))) along `axis`: log-probabilities, never log(0)."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    # TODO: shifted = x - _constant_max(x, axis); return shifted minus
    #       np.log of the sum of np.exp(shifted) along `axis` (keepdims=True).
    ### BEGIN SOLUTION
    shifted = x - _constant_max(x, axis)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-softmax", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
from tinytorch.core.autograd import Variable


def numerical_gradient(f, x, h=1e-6):
    """Central differences of sum(f(x)), computed here in the test: the reference a grade trusts."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        up = float(np.sum(np.asarray(f(Variable(x.copy(), requires_grad=False)))))
        x[i] = old - h
        down = float(np.sum(np.asarray(f(Variable(x.copy(), requires_grad=False)))))
        x[i] = old
        grad[i] = (up - down) / (2 * h)
    return grad


p = np.asarray(softmax(Tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])))
e = np.exp([1.0, 2.0, 3.0])
assert np.allclose(p[0], e / e.sum()) and np.allclose(p[1], 1 / 3), p
big = np.asarray(softmax(Tensor(np.array([1000.0, 1001.0], dtype=np.float32))))
assert np.all(np.isfinite(big)) and np.allclose(big, [1 / (1 + np.e), np.e / (1 + np.e)]), "no overflow"
cols = np.asarray(softmax(Tensor([[1.0, 5.0], [1.0, 5.0]]), axis=0))
assert np.allclose(cols, 0.5), "axis=0 normalises each column"
logp = np.asarray(log_softmax(Tensor([[1.0, 2.0, 3.0]])))
assert np.allclose(logp, np.log(e / e.sum())), \
    f"log_softmax: expected {np.log(e / e.sum())}, got {logp}"
tiny = np.asarray(log_softmax(Tensor(np.array([0.0, -1000.0], dtype=np.float32))))
assert np.isfinite(tiny).all(), f"log_softmax([0, -1000]): expected finite values (about [0, -1000]), got {tiny}"
x0 = np.random.default_rng(0).normal(size=(2, 4))
weights = np.random.default_rng(1).normal(size=(2, 4))
def weighted(x):
    return softmax(x) * Tensor(weights)
v = Variable(x0)
weighted(v).sum().backward()
assert np.allclose(np.asarray(v.grad), numerical_gradient(weighted, x0), atol=1e-6), "softmax gradient"
print("✅ softmax and log_softmax are stable and differentiable")
### BEGIN HIDDEN TESTS
v2 = Variable(x0)
(log_softmax(v2, axis=0) * Tensor(weights)).sum().backward()
num_log = numerical_gradient(lambda x: log_softmax(x, axis=0) * Tensor(weights), x0)
assert np.allclose(np.asarray(v2.grad), num_log, atol=1e-6), \
    f"log_softmax(axis=0) gradient: max abs difference from finite differences {np.abs(np.asarray(v2.grad) - num_log).max():.3g} (tolerance 1e-6)"
soft32 = np.asarray(softmax(Tensor(np.zeros((2, 3), dtype=np.float32))))
assert soft32.dtype == np.float32, f"softmax of float32: expected dtype float32, got {soft32.dtype}"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 2 — Masks
#
# Sometimes a score must not count: a padding token, or — in a language model — a token from the
# future. Setting its score to `−∞` does it: `e^{−∞} = 0`, so it gets weight 0 and no gradient.
#
# `masked_fill(x, keep, value)` returns `x` where the boolean array `keep` is True and `value`
# elsewhere. It is composed from what module 07 knows: `x * keep + fill`, with two constant
# arrays — `keep` as 0/1 numbers and `fill` holding `value` where `keep` is False and 0 elsewhere.
# (`x * 0` is `0` for every finite score, so the filled positions hold exactly `value`, and the
# gradient there is `0`.)
#
# **The causal mask.** A language model predicts token `t + 1` from tokens `0 … t`; if position
# `t` could see position `t + 1`, training would teach it to copy the answer. So query `i` may
# attend to key `j` only when `j ≤ i`: a lower-triangular matrix of True. `causal_mask(Tq, Tk)`
# builds it. When there are fewer queries than keys (module 13 feeds new tokens one at a time
# while keeping the old keys), the queries are the *last* `Tq` positions, so query `i` stands at
# position `Tk − Tq + i` and may see keys `j ≤ Tk − Tq + i` — `np.tril(…, k=Tk − Tq)`. (For
# `Tq == Tk` this is PyTorch's `is_causal=True`.)

# %% nbgrader={"grade": false, "grade_id": "masks", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def masked_fill(x, keep, value):
    """x where `keep` (boolean, broadcastable to x) is True, `value` elsewhere; no gradient where filled."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    keep = np.asarray(keep)
    if keep.dtype != np.bool_:
        raise ValueError(f"the mask must be boolean (True = keep), got dtype {keep.dtype}")
    dtype = x.dtype if x.dtype.kind == "f" else np.float32
    # TODO: return x * Tensor(keep, dtype=dtype) (0/1 numbers) + Tensor(np.where(keep, 0, value), dtype=dtype).
    ### BEGIN SOLUTION
    ones = Tensor(keep, dtype=dtype)
    fill = Tensor(np.where(keep, 0, value), dtype=dtype)
    return x * ones + fill
    ### END SOLUTION


def causal_mask(num_queries, num_keys=None):
    """Boolean (Tq, Tk): True where query i (at position Tk - Tq + i) may attend to key j <= its position."""
    num_keys = num_queries if num_keys is None else num_keys
    if num_keys < num_queries:
        raise ValueError(f"a causal mask needs at least as many keys as queries, got {num_queries} "
                         f"queries and {num_keys} keys")
    # TODO: np.tril of a (num_queries, num_keys) array of True, with k=num_keys - num_queries.
    ### BEGIN SOLUTION
    return np.tril(np.ones((num_queries, num_keys), dtype=bool), k=num_keys - num_queries)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-masks", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert np.array_equal(causal_mask(3), [[1, 0, 0], [1, 1, 0], [1, 1, 1]]), \
    f"causal_mask(3): expected a lower-triangular matrix of ones, got {np.asarray(causal_mask(3)).tolist()}"
assert np.array_equal(causal_mask(2, 4), [[1, 1, 1, 0], [1, 1, 1, 1]]), "queries are the last positions"
assert causal_mask(1, 5).all(), "one new token sees every key so far"
filled = np.asarray(masked_fill(Tensor([[1.0, 2.0], [3.0, 4.0]]), np.array([[True, False], [False, True]]), -np.inf))
assert filled[0, 0] == 1 and filled[1, 1] == 4 and filled[0, 1] == -np.inf and filled[1, 0] == -np.inf, filled
p = np.asarray(softmax(masked_fill(Tensor([[5.0, 1.0, 9.0]]), np.array([True, True, False]), -np.inf)))
assert p[0, 2] == 0 and np.isclose(p[0, :2].sum(), 1), "a masked score gets weight 0"
xv = Variable(np.array([[1.0, 2.0, 3.0]]))
masked_fill(xv, np.array([True, False, True]), -5.0).sum().backward()
assert np.array_equal(np.asarray(xv.grad), [[1, 0, 1]]), "no gradient where filled"
print("✅ masked_fill and the causal mask")
### BEGIN HIDDEN TESTS
try:
    masked_fill(Tensor([1.0]), np.array([1]), 0.0)
    raise AssertionError("a non-boolean mask must raise ValueError")
except ValueError:
    pass
try:
    causal_mask(4, 2)
    raise AssertionError("fewer keys than queries must raise ValueError")
except ValueError:
    pass
one = np.asarray(causal_mask(1))
assert one.shape == (1, 1) and one[0, 0], f"causal_mask(1): expected [[True]], got {one.tolist()}"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 3 — Scaled dot-product attention
#
# Queries `Q` (shape `(..., Tq, d)`), keys `K` (`(..., Tk, d)`) and values `V` (`(..., Tk, dv)`):
#
# $$\operatorname{Attention}(Q, K, V) = \operatorname{softmax}\!\left(\frac{QK^\top}{\sqrt d}\right) V$$
#
# - `Q @ Kᵀ` (transposing the last two axes of `K`) is a `(..., Tq, Tk)` matrix of dot products:
#   how well each query matches each key. The `...` axes (batch, heads) ride along: module 07's
#   matmul multiplies stacks of matrices pairwise.
# - Dividing by `√d` keeps the scores' spread independent of `d`: the dot product of two random
#   vectors with unit-variance entries has variance `d`, and a softmax of large scores is almost
#   one-hot, with vanishing gradients.
# - The softmax along the last axis turns each query's row into weights over the keys.
# - Multiplying by `V` gives each query the weighted average of the values.
#
# `mask` (optional) is a boolean array broadcastable to `(..., Tq, Tk)`, **True where attention is
# allowed** (PyTorch's convention); `causal=True` adds the causal mask. Disallowed scores become
# `−∞` before the softmax. A query left with no key at all would get `0/0`; that is a bug in the
# mask, and `attention_weights` raises a `ValueError` for it.
#
# `attention_weights(q, k, mask, causal)` returns the `(..., Tq, Tk)` weights;
# `scaled_dot_product_attention` multiplies them by `v`.

# %% nbgrader={"grade": false, "grade_id": "attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _swap_last_two(x):
    """x with its last two axes swapped: Kᵀ for a stack of matrices."""
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return x.transpose(*axes)


def _allowed(mask, causal, num_queries, num_keys):
    """The combined boolean mask (True = allowed), or None when nothing is masked."""
    allowed = None
    if mask is not None:
        allowed = np.asarray(mask)
        if allowed.dtype != np.bool_:
            raise ValueError(f"mask must be boolean, True where attention is allowed; got dtype {allowed.dtype}")
    if causal:
        triangle = causal_mask(num_queries, num_keys)
        allowed = triangle if allowed is None else allowed & triangle
    return allowed


def attention_weights(q, k, mask=None, causal=False):
    """softmax(q @ kᵀ / sqrt(d)) over the keys, masked: shape (..., Tq, Tk)."""
    q = q if isinstance(q, Tensor) else Tensor(q)
    k = k if isinstance(k, Tensor) else Tensor(k)
    if q.ndim < 2 or k.ndim < 2 or q.shape[-1] != k.shape[-1]:
        raise ValueError(f"attention needs q (..., Tq, d) and k (..., Tk, d) with the same d; "
                         f"got shapes {q.shape} and {k.shape}")
    allowed = _allowed(mask, causal, q.shape[-2], k.shape[-2])
    # TODO: 1. scores = q @ _swap_last_two(k), divided by sqrt(d) (d = q.shape[-1]).
    #       2. if allowed is not None:
    #            if some query has no allowed key (np.broadcast_to(allowed, scores.shape).any(axis=-1)
    #            is not all True), raise ValueError("... no key to attend to ...");
    #            scores = masked_fill(scores, allowed, -np.inf).
    #       3. return softmax(scores, axis=-1).
    ### BEGIN SOLUTION
    scores = (q @ _swap_last_two(k)) / float(np.sqrt(q.shape[-1]))
    if allowed is not None:
        if not np.broadcast_to(allowed, scores.shape).any(axis=-1).all():
            raise ValueError("the mask leaves a query with no key to attend to (a row of all False)")
        scores = masked_fill(scores, allowed, -np.inf)
    return softmax(scores, axis=-1)
    ### END SOLUTION


def scaled_dot_product_attention(q, k, v, mask=None, causal=False):
    """softmax(q kᵀ / sqrt(d), masked) @ v for q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv)."""
    v = v if isinstance(v, Tensor) else Tensor(v)
    if v.ndim < 2 or np.ndim(k) < 2 or v.shape[-2] != np.shape(k)[-2]:
        raise ValueError(f"v must have one row per key: k has shape {np.shape(k)}, v has shape {v.shape}")
    # TODO: the attention weights (same arguments) @ v.
    ### BEGIN SOLUTION
    return attention_weights(q, k, mask=mask, causal=causal) @ v
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-attention", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def numerical_gradient(f, x, h=1e-6):
    """Central differences of sum(f(x)), computed here in the test: the reference a grade trusts."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        up = float(np.sum(np.asarray(f(Variable(x.copy(), requires_grad=False)))))
        x[i] = old - h
        down = float(np.sum(np.asarray(f(Variable(x.copy(), requires_grad=False)))))
        x[i] = old
        grad[i] = (up - down) / (2 * h)
    return grad


rng = np.random.default_rng(0)
q, k, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 6))
scores = q @ k.transpose(0, 2, 1) / 2.0
ref_w = np.exp(scores - scores.max(-1, keepdims=True))
ref_w /= ref_w.sum(-1, keepdims=True)
out = scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v))
assert out.shape == (2, 3, 6), f"(B, Tq, dv) expected, got {out.shape}"
assert np.allclose(np.asarray(out), ref_w @ v, atol=1e-5), "matches the NumPy formula"
w = np.asarray(attention_weights(Tensor(q), Tensor(k)))
assert np.allclose(w.sum(-1), 1, atol=1e-5) and w.shape == (2, 3, 5), \
    f"attention_weights: expected shape (2, 3, 5) with rows summing to 1, got shape {w.shape}, row sums {np.round(w.sum(-1), 4).tolist()}"
wc = np.asarray(attention_weights(Tensor(q[:, :3]), Tensor(k[:, :3]), causal=True))
assert np.allclose(np.triu(wc[0], 1), 0) and np.isclose(wc[0, 0, 0], 1), "causal: nothing from the future"
keep = np.array([True, True, False, False, True])
wm = np.asarray(attention_weights(Tensor(q), Tensor(k), mask=keep))
assert np.allclose(wm[..., 2:4], 0), "mask=False gets weight 0"
try:
    attention_weights(Tensor(q), Tensor(k), mask=np.zeros(5, dtype=bool))
    raise AssertionError("a query with no key must raise ValueError")
except ValueError:
    pass
qv, kv, vv = Variable(q[0]), Variable(k[0]), Variable(v[0])
scaled_dot_product_attention(qv, kv, vv, mask=keep).sum().backward()
num_q = numerical_gradient(lambda x: scaled_dot_product_attention(x, k[0], v[0], mask=keep), q[0])
assert np.allclose(np.asarray(qv.grad), num_q, atol=1e-6), "gradient with respect to q"
print("✅ scaled_dot_product_attention matches NumPy and masks correctly")
### BEGIN HIDDEN TESTS
num_k = numerical_gradient(lambda x: scaled_dot_product_attention(q[0], x, v[0], mask=keep), k[0])
num_v = numerical_gradient(lambda x: scaled_dot_product_attention(q[0], k[0], x, mask=keep), v[0])
assert np.allclose(np.asarray(kv.grad), num_k, atol=1e-6) and np.allclose(np.asarray(vv.grad), num_v, atol=1e-6), \
    (f"attention gradients w.r.t. k and v: max abs difference from finite differences "
     f"{np.abs(np.asarray(kv.grad) - num_k).max():.3g} (k), {np.abs(np.asarray(vv.grad) - num_v).max():.3g} (v), tolerance 1e-6")
assert np.allclose(np.asarray(kv.grad)[2:4], 0), "masked keys get no gradient"
four = rng.normal(size=(2, 2, 3, 4))
o4 = np.asarray(scaled_dot_product_attention(Tensor(four), Tensor(four), Tensor(four), causal=True))
assert o4.shape == (2, 2, 3, 4) and np.allclose(o4[..., 0, :], four[..., 0, :]), "position 0 sees only itself"
try:
    attention_weights(Tensor(q), Tensor(k), mask=np.ones(5))
    raise AssertionError("a float mask must raise ValueError")
except ValueError:
    pass
### END HIDDEN TESTS

# %% [markdown]
# ## Attention on a real sentence
#
# What does attention compute? Take a sentence of words, give each word a one-hot vector (its
# own direction, module 11's lookup with an identity table) and use it as query, key and value.
# A word's query then matches exactly the keys of the *same* word, so, with the causal mask, each
# word attends to its own earlier copies. Scaling the vectors sharpens the match. A trained model
# learns much richer queries and keys (module 13 and milestone 03), but the mechanism is this one.

# %%
if SHOW:
    import matplotlib.pyplot as plt

    words = "the dog bit the man and the man bit the dog".split()
    vocabulary = sorted(set(words))
    one_hot = np.eye(len(vocabulary), dtype=np.float32)[[vocabulary.index(w) for w in words]]
    x = Tensor(3.0 * one_hot)                                            # (T, V)
    weights = np.asarray(attention_weights(x, x, causal=True))
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    shown = ax.imshow(weights, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(words)), words, rotation=60)
    ax.set_yticks(range(len(words)), words)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    ax.set_title("causal attention weights: each word finds its earlier copies")
    fig.colorbar(shown, ax=ax, fraction=0.046)
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## Step 4 — Many heads
#
# One attention can only average one way. **Multi-head attention** runs `h` attentions side by
# side, each on its own `d/h`-dimensional slice of learned projections, so one head can follow
# the previous word while another finds the subject of the sentence:
#
# 1. Project the input `x` (shape `(B, T, E)`) to queries, keys and values with three `Dense`
#    layers (module 03) `query`, `key`, `value`, each `E → E`.
# 2. **Split the heads**: reshape `(B, T, E)` to `(B, T, h, E/h)` and move the head axis forward,
#    `(B, h, T, E/h)`. Each head is now a separate stack of `(T, E/h)` matrices, and attention runs
#    on all of them at once (batched matmul over `B` and `h`).
# 3. Attention per head: `(B, h, T, E/h)`.
# 4. **Merge the heads**: the inverse — transpose back to `(B, T, h, E/h)`, reshape to `(B, T, E)`.
# 5. A last `Dense` layer `out` (`E → E`) mixes what the heads found.
#
# `split_heads` and `merge_heads` are yours. `project` (given) applies a `Dense` layer to
# `(B, T, E)` by flattening to `(B·T, E)` rows first, which is one large matrix product instead
# of `B` small ones (and the same for the gradient).

# %% nbgrader={"grade": false, "grade_id": "multi-head-attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def project(layer, x):
    """A Dense layer applied to (..., E) by flattening the leading axes into rows."""
    rows = x.reshape(-1, x.shape[-1])
    return layer(rows).reshape(*x.shape[:-1], layer.output_size)


class MultiHeadAttention:
    """num_heads attentions on E/num_heads-dimensional projections of x (B, T, E), mixed by `out`."""

    def __init__(self, embed_dim, num_heads, causal=False):
        for name, value in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.embed_dim, self.num_heads, self.causal = int(embed_dim), int(num_heads), bool(causal)
        self.head_dim = self.embed_dim // self.num_heads
        self.query, self.key, self.value, self.out = (Dense(self.embed_dim, self.embed_dim) for _ in range(4))

    def split_heads(self, x):
        """(B, T, E) -> (B, num_heads, T, head_dim)."""
        # TODO: reshape to (B, T, num_heads, head_dim), then transpose(0, 2, 1, 3).
        ### BEGIN SOLUTION
        batch, length, _ = x.shape
        return x.reshape(batch, length, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)
        ### END SOLUTION

    def merge_heads(self, x):
        """(B, num_heads, T, head_dim) -> (B, T, E): the inverse of split_heads."""
        # TODO: transpose(0, 2, 1, 3), then reshape to (B, T, embed_dim).
        ### BEGIN SOLUTION
        batch, _, length, _ = x.shape
        return x.transpose(0, 2, 1, 3).reshape(batch, length, self.embed_dim)
        ### END SOLUTION

    def _check(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            raise ValueError(f"MultiHeadAttention expects (B, T, {self.embed_dim}), got shape {x.shape}")
        return x

    def heads(self, x):
        """Queries, keys and values of x, each split into heads: (B, num_heads, T, head_dim)."""
        x = self._check(x)
        return tuple(self.split_heads(project(layer, x)) for layer in (self.query, self.key, self.value))

    def forward(self, x, mask=None):
        """Attention of x (B, T, E) over itself: (B, T, E)."""
        # TODO: q, k, v = self.heads(x); attend with scaled_dot_product_attention (mask=mask,
        #       causal=self.causal); merge the heads and return project(self.out, merged).
        ### BEGIN SOLUTION
        q, k, v = self.heads(x)
        attended = scaled_dot_product_attention(q, k, v, mask=mask, causal=self.causal)
        return project(self.out, self.merge_heads(attended))
        ### END SOLUTION

    def attention_weights(self, x, mask=None):
        """Each head's attention weights for x: (B, num_heads, T, T)."""
        q, k, _ = self.heads(x)
        return attention_weights(q, k, mask=mask, causal=self.causal)

    def __call__(self, x, mask=None):
        return self.forward(x, mask)

    def parameters(self):
        return [p for layer in (self.query, self.key, self.value, self.out) for p in layer.parameters()]

    def __repr__(self):
        return f"MultiHeadAttention({self.embed_dim}, num_heads={self.num_heads}, causal={self.causal})"


# %% nbgrader={"grade": true, "grade_id": "test-multi-head-attention", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
np.random.seed(0)
mha = MultiHeadAttention(8, 2, causal=True)
x = np.random.default_rng(3).normal(size=(2, 5, 8)).astype(np.float32)
split = mha.split_heads(Tensor(x))
assert split.shape == (2, 2, 5, 4) and np.array_equal(np.asarray(split)[1, 1, 3], x[1, 3, 4:]), \
    "head 1 of token 3 holds the token's second half"
assert np.array_equal(np.asarray(mha.merge_heads(split)), x), "merge_heads undoes split_heads"
y = mha(Tensor(x))
assert y.shape == (2, 5, 8), f"MultiHeadAttention.forward: expected shape (2, 5, 8), got {y.shape}"
assert len(mha.parameters()) == 8, "4 Dense layers, weights and bias each"
# reference: the same computation in NumPy, head by head
W = {name: (np.asarray(layer.weights), np.asarray(layer.bias)) for name, layer in
     zip("qkvo", (mha.query, mha.key, mha.value, mha.out))}
heads = []
for h in range(2):
    cols = slice(4 * h, 4 * h + 4)
    qh, kh, vh = ((x @ W[n][0] + W[n][1])[..., cols] for n in "qkv")
    s = qh @ kh.transpose(0, 2, 1) / 2.0 + np.where(np.tril(np.ones((5, 5))) > 0, 0, -np.inf)
    a = np.exp(s - s.max(-1, keepdims=True))
    heads.append((a / a.sum(-1, keepdims=True)) @ vh)
reference = np.concatenate(heads, axis=-1) @ W["o"][0] + W["o"][1]
assert np.allclose(np.asarray(y), reference, atol=1e-5), "matches a head-by-head NumPy computation"
y.sum().backward()
assert all(p.grad is not None for p in mha.parameters()), "every projection gets a gradient"
print("✅ MultiHeadAttention splits, attends, merges and projects")
### BEGIN HIDDEN TESTS
try:
    MultiHeadAttention(10, 3)
    raise AssertionError("10 is not divisible by 3")
except ValueError:
    pass
try:
    mha(Tensor(np.ones((2, 5, 6), dtype=np.float32)))
    raise AssertionError("wrong embed_dim must raise ValueError")
except ValueError:
    pass
changed = x.copy()
changed[:, 3:] = 7.0
assert np.allclose(np.asarray(mha(Tensor(changed)))[:, :3], np.asarray(y)[:, :3], atol=1e-5), "causal"
mha_w = mha.attention_weights(Tensor(x))
assert mha_w.shape == (2, 2, 5, 5), f"MultiHeadAttention.attention_weights: expected shape (2, 2, 5, 5), got {mha_w.shape}"
### END HIDDEN TESTS

# %% [markdown]
# ## What you built
#
# `tinytorch.core.attention` holds `softmax`, `log_softmax`, `masked_fill`, `causal_mask`,
# `attention_weights`, `scaled_dot_product_attention` and `MultiHeadAttention`:
#
# ```python
# from tinytorch.core.attention import MultiHeadAttention
# attention = MultiHeadAttention(embed_dim=64, num_heads=4, causal=True)
# y = attention(x)            # x: (B, T, 64) -> y: (B, T, 64)
# ```
#
# Every one of them is composed from operations module 07 differentiates, so gradients flow
# through them without a single new backward rule. Next, module 13 stacks attention with
# normalisation and a small MLP into a transformer block, and the blocks into a GPT.

# %% [markdown]
# ## Exercises (not graded)
#
# 1. Redraw the heat map of "Attention on a real sentence" with `causal=False`. What changes in
#    the row of the first "the", and why is the figure no longer lower-triangular? Why would a
#    language model trained without the mask learn nothing useful?
# 2. In the same cell, replace the scale `3.0` by `1.0` and by `10.0`. How do the weights change,
#    and what does dividing by `sqrt(d)` in `attention_weights` protect against?
# 3. Make a mask of your own: each word may attend only to itself and the word just before it
#    (`np.tril(...) & np.triu(..., k=-1)`), pass it as `mask=` and draw it. Then make a mask with
#    a row of all `False`: what does `attention_weights` do, and why is that better than a row
#    of `nan`?
# 4. With `MultiHeadAttention(6, 2, causal=True)`, change the last token of an input and check
#    that the outputs at the earlier positions are unchanged. Does that still hold with
#    `causal=False`?
