# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 13 — The transformer: a GPT of your own
#
# Tokens (module 10), embeddings (module 11) and attention (module 12) are the parts. This module
# assembles them the way GPT-2 does and makes the result write text.
#
# **Goals of this module**
# - `LayerNorm` and `GELU`, the two pieces of a transformer block not built yet.
# - `TransformerBlock`: pre-norm attention and MLP, each wrapped in a residual connection.
# - `GPT`: embeddings → blocks → final norm → logits over the vocabulary, initialised as GPT-2 is,
#   so that an untrained model's loss is close to `ln(vocab_size)`.
# - Generation: sampling with temperature and top-k, one token at a time.
# - The **KV cache**: keep the keys and values of earlier tokens instead of recomputing them —
#   identical tokens, much less work. We measure the speed-up.
# - `concatenate`, the one new graph node (the KV cache and many models need it).

# %%
#| default_exp core.transformer

# %%
#| export
import math

import numpy as np

from tinytorch.core.attention import MultiHeadAttention, project, scaled_dot_product_attention
from tinytorch.core.autograd import GradFn, Variable
from tinytorch.core.embeddings import Embedding, PositionalEmbedding
from tinytorch.core.layers import Dense, make_parameter
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import CrossEntropyLoss

# %%
import os
import time

SHOW = __name__ == "__main__" and not os.environ.get("TINYTORCH_GRADING")  # demos only when you run it

# %% [markdown]
# ## Step 1 — Concatenation, a new node
#
# Everything in modules 10–12 was composed from operations module 07 differentiates. Gluing
# arrays together is not among them: `np.concatenate` of Variables would hand NumPy the raw
# arrays and lose the graph. So `concatenate(tensors, axis)` is a graph node of its own, built
# like module 09's `CrossEntropyLoss`: compute the value with NumPy, then return
# `Variable(value, requires_grad=True, grad_fn=GradFn("Concatenate", edges))`, where `edges`
# lists `(input, rule)` for each input that needs a gradient.
#
# The backward rule is the forward read backwards: input `i` filled rows `start_i … stop_i` of the
# output along `axis`, so its gradient is that slice of the output's gradient `g`. When no input
# needs a gradient, the result is a plain `Tensor`.
#
# `split(x, sizes, axis)` needs no new node: it is slicing, which module 07 already handles.

# %% nbgrader={"grade": false, "grade_id": "concatenate", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def concatenate(tensors, axis=0):
    """Join tensors along `axis` (as np.concatenate); gradients flow back to each piece."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate needs at least one tensor")
    value = np.concatenate([np.asarray(t) for t in tensors], axis=axis)
    needs_grad = [isinstance(t, Variable) and t.requires_grad for t in tensors]
    if not any(needs_grad):
        return Tensor(value, dtype=value.dtype)
    axis = axis % value.ndim
    # TODO: edges = [(tensor, rule)] for each tensor that needs a gradient, where rule(g) returns
    #       the slice of g along `axis` that this tensor filled (start = sum of the earlier pieces'
    #       lengths along axis). Build the index as a tuple: slice(None) for every other axis.
    #       Return Variable(value, requires_grad=True, grad_fn=GradFn("Concatenate", edges)).
    # HINT: define rule inside a helper, make_rule(start, stop), so each rule keeps its own slice.
    ### BEGIN SOLUTION
    def make_rule(start, stop):
        index = (slice(None),) * axis + (slice(start, stop),)
        return lambda g: g[index]
    edges, start = [], 0
    for tensor, needed in zip(tensors, needs_grad):
        stop = start + tensor.shape[axis]
        if needed:
            edges.append((tensor, make_rule(start, stop)))
        start = stop
    return Variable(value, requires_grad=True, grad_fn=GradFn("Concatenate", edges))
    ### END SOLUTION


def split(x, sizes, axis=-1):
    """The pieces of x along `axis` with the given lengths (slices: gradients flow)."""
    if sum(sizes) != x.shape[axis]:
        raise ValueError(f"split sizes {list(sizes)} add up to {sum(sizes)}, but axis {axis} has length {x.shape[axis]}")
    axis = axis % x.ndim
    pieces, start = [], 0
    for size in sizes:
        pieces.append(x[(slice(None),) * axis + (slice(start, start + size),)])
        start += size
    return pieces


# %% nbgrader={"grade": true, "grade_id": "test-concatenate", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
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


a, b = Variable(np.arange(6.0).reshape(2, 3)), Variable(np.ones((2, 2)))
c = concatenate([a, b, Tensor(np.zeros((2, 1)))], axis=1)
assert c.shape == (2, 6) and np.all(np.asarray(c)[:, 3:5] == 1) and isinstance(c, Variable), \
    f"concatenate(axis=1): expected a Variable of shape (2, 6) with b's ones in columns 3:5, got {type(c).__name__} {c.shape}"
weights = np.arange(12.0).reshape(2, 6)
(c * Tensor(weights, dtype=np.float64)).sum().backward()
assert np.array_equal(np.asarray(a.grad), weights[:, :3]) and np.array_equal(np.asarray(b.grad), weights[:, 3:5]), \
    f"concatenate backward: expected each piece's slice of the output gradient, got a.grad {np.asarray(a.grad).tolist()}, b.grad {np.asarray(b.grad).tolist()}"
x0 = np.random.default_rng(0).normal(size=(2, 3))
numeric = numerical_gradient(lambda x: concatenate([x, x * 2], axis=0) * Tensor(np.arange(12.0).reshape(4, 3)), x0)
v = Variable(x0)
(concatenate([v, v * 2], axis=0) * Tensor(np.arange(12.0).reshape(4, 3))).sum().backward()
assert np.allclose(np.asarray(v.grad), numeric, atol=1e-6), "a piece used twice adds both gradients"
assert type(concatenate([Tensor([1.0]), Tensor([2.0])])) is Tensor, "no gradient needed: a plain Tensor"
print("✅ concatenate is a graph node with the right gradient")
### BEGIN HIDDEN TESTS
p, q = Variable(np.ones((2, 1, 3))), Variable(np.ones((2, 2, 3)), requires_grad=False)
out = concatenate([p, q], axis=-2)
assert out.shape == (2, 3, 3), f"concatenate(axis=-2): expected shape (2, 3, 3), got {out.shape}"
out.sum().backward()
assert np.array_equal(np.asarray(p.grad), np.ones((2, 1, 3))) and q.grad is None, \
    f"concatenate backward: expected p.grad all ones (2, 1, 3) and q.grad None, got p.grad {np.asarray(p.grad).tolist()}, q.grad {q.grad}"
left, right = split(Variable(np.arange(10.0).reshape(2, 5)), [2, 3])
assert left.shape == (2, 2) and np.array_equal(np.asarray(right)[0], [2, 3, 4]), \
    f"split([2, 3]): expected left shape (2, 2) and right[0] == [2, 3, 4], got {left.shape} and {np.asarray(right)[0].tolist()}"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 2 — Layer normalisation
#
# Deep stacks train well when each layer's input has a steady scale. `LayerNorm` rescales every
# token's vector on its own: subtract its mean, divide by its standard deviation, then apply a
# learned scale `weight` (ones at first) and shift `bias` (zeros):
#
# $$\operatorname{LN}(x) = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} \odot w + b \qquad \mu, \sigma^2 \text{: mean and (biased) variance over the last axes}$$
#
# `normalized_shape` is the size of the last axis (or a tuple of the last axes' sizes); `ε`
# (default `1e-5`, as PyTorch) keeps the division finite for a constant vector. Unlike batch
# normalisation, nothing depends on the other tokens or the batch, so training and generation
# compute the same thing.

# %% nbgrader={"grade": false, "grade_id": "layer-norm", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class LayerNorm:
    """(x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape) axes."""

    def __init__(self, normalized_shape, eps=1e-5):
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        if not shape or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 for n in shape):
            raise ValueError(f"normalized_shape must be a positive integer or a tuple of them, got {normalized_shape!r}")
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps = float(eps)
        self.weight = make_parameter(np.ones(self.normalized_shape, dtype=np.float32))
        self.bias = make_parameter(np.zeros(self.normalized_shape, dtype=np.float32))

    def forward(self, x):
        """The normalised x, same shape."""
        x = x if isinstance(x, Tensor) else Tensor(x)
        n = len(self.normalized_shape)
        if tuple(x.shape[-n:]) != self.normalized_shape:
            raise ValueError(f"LayerNorm{self.normalized_shape} got input of shape {x.shape}")
        axes = tuple(range(x.ndim - n, x.ndim))
        # TODO: mean over `axes` (keepdims=True); centered = x - mean; variance = mean of
        #       centered * centered over `axes` (keepdims=True); return
        #       centered / np.sqrt(variance + self.eps) * self.weight + self.bias.
        ### BEGIN SOLUTION
        centered = x - x.mean(axis=axes, keepdims=True)
        variance = (centered * centered).mean(axis=axes, keepdims=True)
        return centered / np.sqrt(variance + self.eps) * self.weight + self.bias
        ### END SOLUTION

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        return [self.weight, self.bias]

    def __repr__(self):
        return f"LayerNorm({self.normalized_shape}, eps={self.eps})"


# %% nbgrader={"grade": true, "grade_id": "test-layer-norm", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
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


ln = LayerNorm(4)
assert np.array_equal(np.asarray(ln.weight), np.ones(4)) and np.array_equal(np.asarray(ln.bias), np.zeros(4)), \
    f"LayerNorm(4): expected weight ones and bias zeros, got {np.asarray(ln.weight).tolist()} and {np.asarray(ln.bias).tolist()}"
x = np.array([[1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 2.0]], dtype=np.float32)
y = np.asarray(ln(Tensor(x)))
expected = (x[0] - 2.5) / np.sqrt(1.25 + 1e-5)
assert np.allclose(y[0], expected, atol=1e-5) and np.allclose(y[1], 0), y
assert y.dtype == np.float32, f"LayerNorm of float32: expected dtype float32, got {y.dtype}"
ln.weight.data, ln.bias.data = Tensor([1.0, 2.0, 1.0, 1.0]), Tensor([0.0, 0.0, 0.0, 5.0])
y2 = np.asarray(ln(Tensor(x)))
assert np.isclose(y2[0, 1], 2 * expected[1], atol=1e-5) and np.isclose(y2[0, 3], expected[3] + 5, atol=1e-5), \
    (f"LayerNorm weight/bias: expected y[0, 1] = {2 * expected[1]:.5f} and y[0, 3] = {expected[3] + 5:.5f}, "
     f"got {y2[0, 1]:.5f} and {y2[0, 3]:.5f}")
x64 = np.random.default_rng(0).normal(size=(3, 4))
w = np.random.default_rng(1).normal(size=(3, 4))
plain = LayerNorm(4)
xv = Variable(x64)
(plain(xv) * Tensor(w, dtype=np.float64)).sum().backward()
num_ln = numerical_gradient(lambda t: plain(t) * Tensor(w, dtype=np.float64), x64)
assert np.allclose(np.asarray(xv.grad), num_ln, atol=1e-5), \
    f"LayerNorm gradient: max abs difference from finite differences {np.abs(np.asarray(xv.grad) - num_ln).max():.3g} (tolerance 1e-5)"
print("✅ LayerNorm normalises each vector and is differentiable")
### BEGIN HIDDEN TESTS
ln2 = LayerNorm((2, 3))
z = np.random.default_rng(2).normal(size=(4, 2, 3))
zn = np.asarray(ln2(Tensor(z, dtype=np.float64)))
ref = (z - z.mean(axis=(1, 2), keepdims=True)) / np.sqrt(z.var(axis=(1, 2), keepdims=True) + 1e-5)
assert np.allclose(zn, ref, atol=1e-6), \
    f"LayerNorm((2, 3)): max abs difference from NumPy {np.abs(zn - ref).max():.3g} (tolerance 1e-6)"
try:
    LayerNorm(4)(Tensor(np.ones((2, 5))))
    raise AssertionError("wrong last axis must raise ValueError")
except ValueError:
    pass
### END HIDDEN TESTS

# %% [markdown]
# ## Step 3 — GELU
#
# The MLP inside each block uses GELU rather than ReLU: a smooth curve that lets small negative
# inputs through a little. GPT-2 uses its tanh approximation (Hendrycks & Gimpel, 2016):
#
# $$\operatorname{GELU}(x) \approx \tfrac12\,x\left(1 + \tanh\!\left(\sqrt{2/\pi}\,\bigl(x + 0.044715\,x^3\bigr)\right)\right)$$
#
# Written with `np.tanh` and products on the Tensor itself, module 07 differentiates it. (`x * x * x`
# is several times faster than `x ** 3`, which NumPy computes with the general `pow` function.)

# %% nbgrader={"grade": false, "grade_id": "gelu", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class GELU:
    """GELU, tanh approximation (as GPT-2): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x³)))."""

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        # TODO: the formula above.
        ### BEGIN SOLUTION
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (np.tanh(inner) + 1.0)
        ### END SOLUTION

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        return []


# %% nbgrader={"grade": true, "grade_id": "test-gelu", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
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


g = np.asarray(GELU()(Tensor([-3.0, -1.0, 0.0, 1.0, 3.0])))
assert np.allclose(g, [-0.0036373, -0.1588080, 0.0, 0.8411920, 2.9963627], atol=1e-6), g
xv = Variable(np.array([-2.0, -0.5, 0.3, 1.7]))
GELU()(xv).sum().backward()
num_gelu = numerical_gradient(GELU(), np.array([-2.0, -0.5, 0.3, 1.7]))
assert np.allclose(np.asarray(xv.grad), num_gelu, atol=1e-6), \
    f"GELU gradient: expected {num_gelu.round(6).tolist()} (finite differences), got {np.asarray(xv.grad).round(6).tolist()}"
print("✅ GELU (tanh approximation)")

# %% [markdown]
# ## Step 4 — The transformer block
#
# A block lets the tokens talk (attention), then lets each token think on its own (an MLP), and
# adds each result back to its input — a **residual connection**, so information and gradients
# can pass straight through a deep stack. GPT-2 normalises *before* each part (**pre-norm**):
#
# ```
# x = x + attention(LN₁(x))
# x = x + MLP(LN₂(x))           MLP(x) = Dense(4E → E)( GELU( Dense(E → 4E)(x) ) )
# ```
#
# `TransformerBlock(embed_dim, num_heads, mlp_ratio=4, causal=True)` holds `ln1`, `attention` (a
# `MultiHeadAttention`), `ln2`, `fc` (`E → mlp_ratio·E`), `gelu` and `proj` (`mlp_ratio·E → E`).
# Its `forward(x, cache=None, layer=0)` also takes a KV cache (Step 7); without one, it calls
# `self.attend(x)`, which is just `self.attention(x)`.

# %% nbgrader={"grade": false, "grade_id": "transformer-block", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class TransformerBlock:
    """Pre-norm block: x + attention(ln1(x)), then + proj(gelu(fc(ln2(x))))."""

    def __init__(self, embed_dim, num_heads, mlp_ratio=4, causal=True):
        if isinstance(mlp_ratio, bool) or not isinstance(mlp_ratio, (int, np.integer)) or mlp_ratio < 1:
            raise ValueError(f"mlp_ratio must be a positive integer, got {mlp_ratio!r}")
        self.embed_dim = embed_dim
        self.ln1 = LayerNorm(embed_dim)
        self.attention = MultiHeadAttention(embed_dim, num_heads, causal=causal)
        self.ln2 = LayerNorm(embed_dim)
        self.fc = Dense(embed_dim, mlp_ratio * embed_dim)
        self.gelu = GELU()
        self.proj = Dense(mlp_ratio * embed_dim, embed_dim)

    def mlp(self, x):
        """proj(gelu(fc(x))), applied to every token."""
        return project(self.proj, self.gelu(project(self.fc, x)))

    def forward(self, x, cache=None, layer=0):
        """(B, T, E) -> (B, T, E)."""
        # TODO: x = x + self.attend(self.ln1(x), cache, layer); then x = x + self.mlp(self.ln2(x)).
        ### BEGIN SOLUTION
        x = x + self.attend(self.ln1(x), cache, layer)
        return x + self.mlp(self.ln2(x))
        ### END SOLUTION

    def attend(self, x, cache=None, layer=0):
        """Self-attention of x; with a cache, over the cached keys and values as well (Step 7)."""
        if cache is None:
            return self.attention(x)
        return cached_attention(self.attention, x, cache, layer)

    def __call__(self, x, cache=None, layer=0):
        return self.forward(x, cache, layer)

    def parameters(self):
        return (self.ln1.parameters() + self.attention.parameters() + self.ln2.parameters()
                + self.fc.parameters() + self.proj.parameters())


# %% [markdown]
# ## Step 5 — GPT
#
# `GPT(vocab_size, block_size, n_layer, n_head, n_embd)`:
#
# ```
# ids (B, T) ─ Embedding(vocab_size, n_embd) ─ + PositionalEmbedding(block_size, n_embd)
#            ─ n_layer × TransformerBlock(n_embd, n_head, causal=True)
#            ─ LayerNorm(n_embd) ─ Dense(n_embd → vocab_size, no bias) ─ logits (B, T, vocab_size)
# ```
#
# The logits at position `t` are the model's scores for token `t + 1`. `block_size` is the longest
# context the model can read (it has that many position vectors).
#
# **Initialisation, as GPT-2:** every weight matrix and both embedding tables are drawn from
# `N(0, 0.02)`, biases are zero, LayerNorms start at ones and zeros. With such small weights the
# logits start near zero, every token gets probability ≈ `1/vocab_size`, and the loss of an
# untrained model is close to `ln(vocab_size)` — a good first check that nothing is broken.
# (`_gpt2_init` is given.)
#
# `parameters()` lists, in order: the two embedding tables, every block's parameters, the final
# LayerNorm's and the head's weight. `loss(indices, targets)` is the mean cross-entropy of the
# next-token predictions: module 09's `CrossEntropyLoss` takes `(N, C)` logits, so the
# `(B, T, V)` logits are reshaped to `(B·T, V)` rows and the `(B, T)` targets to `B·T` labels.

# %% nbgrader={"grade": false, "grade_id": "gpt", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _gpt2_init(model, std=0.02, seed=None):
    """Weights and embeddings ~ N(0, std), biases 0 (LayerNorms keep their ones and zeros)."""
    rng = np.random.default_rng(seed) if seed is not None else np.random
    def normal(param):
        param.data = Tensor(rng.normal(0.0, std, size=param.shape).astype(np.float32))
    normal(model.token_embedding.weight)
    normal(model.position_embedding.weight)
    for block in model.blocks:
        for layer in (block.attention.query, block.attention.key, block.attention.value, block.attention.out,
                      block.fc, block.proj):
            normal(layer.weights)
            layer.bias.data = Tensor(np.zeros(layer.bias.shape, dtype=np.float32))
    normal(model.head.weights)


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class GPT:
    """A GPT-2-style language model: forward(ids (B, T)) -> next-token logits (B, T, vocab_size)."""

    def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd, seed=None):
        self.vocab_size, self.block_size = _positive("vocab_size", vocab_size), _positive("block_size", block_size)
        self.n_layer, self.n_head = _positive("n_layer", n_layer), _positive("n_head", n_head)
        self.n_embd = _positive("n_embd", n_embd)
        self.token_embedding = Embedding(self.vocab_size, self.n_embd)
        self.position_embedding = PositionalEmbedding(self.block_size, self.n_embd)
        self.blocks = [TransformerBlock(self.n_embd, self.n_head, causal=True) for _ in range(self.n_layer)]
        self.ln_f = LayerNorm(self.n_embd)
        self.head = Dense(self.n_embd, self.vocab_size, use_bias=False)
        _gpt2_init(self, seed=seed)

    def _ids(self, indices, offset=0):
        ids = np.asarray(indices)
        if ids.ndim != 2 or ids.shape[1] < 1:
            raise ValueError(f"GPT expects token ids of shape (B, T), got shape {ids.shape}")
        if offset + ids.shape[1] > self.block_size:
            raise ValueError(f"{offset + ids.shape[1]} positions don't fit block_size={self.block_size}")
        return ids

    def forward(self, indices, cache=None):
        """Logits (B, T, vocab_size) for ids (B, T); with a KVCache, the ids continue the cached ones."""
        offset = cache.length if cache is not None else 0
        ids = self._ids(indices, offset)
        # TODO: x = the token embeddings of ids, plus positions (self.position_embedding(..., offset));
        #       pass x through every block (block(x, cache, layer number));
        #       return project(self.head, self.ln_f(x)).
        ### BEGIN SOLUTION
        x = self.position_embedding(self.token_embedding(ids), offset)
        for layer, block in enumerate(self.blocks):
            x = block(x, cache, layer)
        return project(self.head, self.ln_f(x))
        ### END SOLUTION

    def __call__(self, indices, cache=None):
        return self.forward(indices, cache)

    def loss(self, indices, targets):
        """Mean next-token cross-entropy (nats per token) of ids (B, T) against targets (B, T)."""
        logits = self.forward(indices)
        targets = np.asarray(targets)
        if targets.shape != np.shape(indices):
            raise ValueError(f"targets of shape {targets.shape} don't match ids of shape {np.shape(indices)}")
        # TODO: CrossEntropyLoss()(logits reshaped to (B*T, vocab_size), targets reshaped to (B*T,)).
        ### BEGIN SOLUTION
        return CrossEntropyLoss()(logits.reshape(-1, self.vocab_size), targets.reshape(-1))
        ### END SOLUTION

    def parameters(self):
        params = self.token_embedding.parameters() + self.position_embedding.parameters()
        for block in self.blocks:
            params += block.parameters()
        return params + self.ln_f.parameters() + self.head.parameters()

    def generate(self, indices, max_new_tokens, temperature=1.0, top_k=None, seed=None, use_cache=True):
        """The prompts (B, T) followed by max_new_tokens sampled tokens: (B, T + max_new_tokens)."""
        return generate(self, indices, max_new_tokens, temperature, top_k, seed, use_cache)

    def __repr__(self):
        count = sum(int(np.prod(p.shape)) for p in self.parameters())
        return (f"GPT(vocab_size={self.vocab_size}, block_size={self.block_size}, n_layer={self.n_layer}, "
                f"n_head={self.n_head}, n_embd={self.n_embd}; {count:,} parameters)")


# %% nbgrader={"grade": true, "grade_id": "test-gpt", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
np.random.seed(0)
block = TransformerBlock(16, 4)
x = Tensor(np.random.default_rng(0).normal(size=(2, 5, 16)).astype(np.float32))
block_out = block(x)
assert block_out.shape == (2, 5, 16) and len(block.parameters()) == 4 + 8 + 4, \
    f"TransformerBlock(16, 4): expected shape (2, 5, 16) and 16 parameters, got {block_out.shape} and {len(block.parameters())}"
model = GPT(vocab_size=30, block_size=8, n_layer=2, n_head=2, n_embd=16, seed=0)
ids = np.random.default_rng(1).integers(0, 30, size=(3, 8))
logits = model(ids)
assert logits.shape == (3, 8, 30), f"(B, T, vocab_size) expected, got {logits.shape}"
assert len(model.parameters()) == 2 + 2 * 16 + 2 + 1, \
    f"GPT(n_layer=2): expected {2 + 2 * 16 + 2 + 1} parameters, got {len(model.parameters())}"
w = np.asarray(model.blocks[0].fc.weights)
assert abs(w.std() - 0.02) < 0.003 and np.all(np.asarray(model.blocks[0].fc.bias) == 0), "GPT-2 initialisation"
loss = model.loss(ids[:, :-1], ids[:, 1:])
assert abs(loss.item() - np.log(30)) < 0.05, f"untrained loss should be near ln(30) = {np.log(30):.3f}, got {loss.item():.3f}"
loss.backward()
assert all(p.grad is not None for p in model.parameters()), "every parameter gets a gradient"
changed = ids.copy()
changed[:, 5:] = 0
assert np.allclose(np.asarray(model(changed))[:, :5], np.asarray(logits)[:, :5], atol=1e-5), "causal all the way"
try:
    model(np.zeros((1, 9), dtype=int))
    raise AssertionError("9 tokens don't fit block_size=8")
except ValueError:
    pass
print("✅ GPT: logits of the right shape, GPT-2 initialisation, loss ≈ ln(vocab_size), causal")
### BEGIN HIDDEN TESTS
from tinytorch.core.optimizers import Adam

np.random.seed(1)
tiny = GPT(vocab_size=5, block_size=6, n_layer=1, n_head=1, n_embd=8, seed=1)
pattern = np.array([[0, 1, 2, 3, 4, 0, 1]] * 4)
optimizer = Adam(tiny.parameters(), learning_rate=0.01)
first = None
for _ in range(40):
    step_loss = tiny.loss(pattern[:, :-1], pattern[:, 1:])
    first = step_loss.item() if first is None else first
    optimizer.zero_grad()
    step_loss.backward()
    optimizer.step()
assert step_loss.item() < 0.3 * first, f"a tiny GPT memorises a pattern: {first:.3f} -> {step_loss.item():.3f}"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 6 — Generating text
#
# To write, the model reads the prompt, turns the logits of the last position into probabilities,
# draws a token, appends it, and repeats. Two knobs shape the draw:
#
# - **temperature** `τ`: sample from `softmax(logits / τ)`. `τ < 1` sharpens the distribution
#   (safer, more repetitive), `τ > 1` flattens it (more surprising, more mistakes).
# - **top-k**: keep only the `k` most likely tokens (the others get probability 0). `top_k=1` is
#   greedy decoding: always the most likely token, no randomness left.
#
# `sample_next(logits, temperature, top_k, rng)` does one draw for each row of a `(B, V)` array of
# logits with a NumPy `Generator` (so `seed` makes a run repeatable); `generate` loops. Only the
# last `block_size` tokens fit in the model, so a long text is continued from its last
# `block_size` tokens.

# %% nbgrader={"grade": false, "grade_id": "sample-next", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def sample_next(logits, temperature=1.0, top_k=None, rng=None):
    """One token id per row of `logits` (B, V), drawn from softmax(logits / temperature), top-k only."""
    rng = np.random.default_rng() if rng is None else rng
    z = np.asarray(logits, dtype=np.float64) / temperature
    # TODO: 1. if top_k is given (and smaller than V): the k-th largest value of each row is
    #          np.sort(z, axis=-1)[:, -top_k]; set every z below its row's value to -np.inf.
    #       2. probabilities = the softmax of z along the last axis (subtract each row's max first).
    #       3. for each row, draw with rng.choice(V, p=row) and return the ids as an int64 array (B,).
    ### BEGIN SOLUTION
    if top_k is not None and top_k < z.shape[-1]:
        kth = np.sort(z, axis=-1)[:, -top_k][:, None]
        z = np.where(z < kth, -np.inf, z)
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    return np.array([rng.choice(p.shape[-1], p=row) for row in p], dtype=np.int64)
    ### END SOLUTION


def generate(model, indices, max_new_tokens, temperature=1.0, top_k=None, seed=None, use_cache=True):
    """The prompts (B, T) followed by max_new_tokens tokens sampled from `model`."""
    ids = np.array(indices, dtype=np.int64)
    if ids.ndim != 2 or ids.shape[1] < 1:
        raise ValueError(f"prompts must be token ids of shape (B, T) with T >= 1, got shape {ids.shape}")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer)) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be a non-negative integer, got {max_new_tokens!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise ValueError(f"top_k must be a positive integer or None, got {top_k!r}")
    rng = np.random.default_rng(seed)
    cache = None
    for _ in range(max_new_tokens):
        if not use_cache:
            logits = model(ids[:, -model.block_size:])
        elif cache is None or cache.length == model.block_size:
            cache = KVCache(model.n_layer)               # (re)read the last block_size tokens
            logits = model(ids[:, -model.block_size:], cache)
        else:
            logits = model(ids[:, -1:], cache)             # only the newest token
        next_ids = sample_next(np.asarray(logits)[:, -1, :], temperature, top_k, rng)
        ids = np.concatenate([ids, next_ids[:, None]], axis=1)
    return ids


# %% nbgrader={"grade": true, "grade_id": "test-sample-next", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(0)
logits = np.array([[0.0, 5.0, 1.0], [3.0, 0.0, 0.0]])
assert np.array_equal(sample_next(logits, top_k=1, rng=rng), [1, 0]), "top_k=1 is the argmax"
draws = np.array([sample_next(np.array([[0.0, np.log(3.0)]]), rng=rng)[0] for _ in range(4000)])
assert abs(draws.mean() - 0.75) < 0.03, f"probabilities 1/4 and 3/4, got {draws.mean():.3f}"
cold = np.array([sample_next(np.array([[0.0, 1.0]]), temperature=0.05, rng=rng)[0] for _ in range(200)])
assert cold.mean() > 0.99, "a low temperature is almost greedy"
top2 = np.array([sample_next(np.array([[2.0, 1.9, 0.0, -1.0]]), top_k=2, rng=rng)[0] for _ in range(500)])
assert set(top2) == {0, 1}, "top_k=2 keeps only the two best tokens"
print("✅ sample_next: temperature and top-k")
### BEGIN HIDDEN TESTS
same = [sample_next(np.zeros((3, 10)), rng=np.random.default_rng(7)) for _ in range(2)]
assert np.array_equal(*same) and same[0].dtype == np.int64 and same[0].shape == (3,), \
    f"sample_next with the same seed: expected two equal int64 arrays of shape (3,), got {same[0].tolist()} and {same[1].tolist()} (dtype {same[0].dtype})"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 7 — The KV cache
#
# Without help, generating token `t + 1` runs the model over all `t` tokens again, though the
# keys and values of tokens `0 … t − 1` have not changed (causal attention: a token's keys and
# values depend only on the tokens before it). Writing `n` tokens costs `1 + 2 + … + n ≈ n²/2`
# token-passes.
#
# A **KV cache** keeps, for every layer, the keys and values computed so far. Each new step feeds
# only the newest token: its query attends over the cached keys plus its own, and its key and
# value join the cache. One token-pass per token: `n` instead of `n²/2`.
#
# - `KVCache(n_layer)` (given) stores per layer the keys and values, `(B, heads, t, head_dim)`,
#   and `length`, the number of positions cached. `append(layer, k, v)` adds new ones with
#   `concatenate` along the time axis and returns all of them. The cache stores plain values
#   (no graph): it is for generation, not for training.
# - `cached_attention(attention, x, cache, layer)` is `MultiHeadAttention.forward` with the cache
#   in between: project `x` (the new tokens only), append its keys and values, attend with the new
#   queries over everything cached. The causal mask of module 12 already handles fewer queries
#   than keys (the queries are the last positions).
# - `GPT.forward(ids, cache)` starts the positions at `cache.length` (module 11's `offset`).
#
# The tokens are the same with and without the cache — the model computes the same numbers, only
# once — which the test checks with `top_k=1`.

# %% nbgrader={"grade": false, "grade_id": "kv-cache", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class KVCache:
    """Keys and values of the tokens seen so far, per layer: (B, heads, length, head_dim) each."""

    def __init__(self, n_layer):
        self.keys = [None] * n_layer
        self.values = [None] * n_layer

    @property
    def length(self):
        """How many positions are cached."""
        return 0 if self.keys[0] is None else self.keys[0].shape[-2]

    def append(self, layer, k, v):
        """Add the new keys and values of `layer` (values only, no graph); return all of them so far."""
        k, v = (Tensor(np.asarray(t), dtype=t.dtype) for t in (k, v))
        if self.keys[layer] is not None:
            k = concatenate([self.keys[layer], k], axis=2)
            v = concatenate([self.values[layer], v], axis=2)
        self.keys[layer], self.values[layer] = k, v
        return k, v


def cached_attention(attention, x, cache, layer):
    """Multi-head self-attention of the new tokens x (B, T_new, E) over the cache and themselves."""
    # TODO: q, k, v = attention.heads(x); k, v = cache.append(layer, k, v);
    #       attended = scaled_dot_product_attention(q, k, v, causal=attention.causal);
    #       return project(attention.out, attention.merge_heads(attended)).
    ### BEGIN SOLUTION
    q, k, v = attention.heads(x)
    k, v = cache.append(layer, k, v)
    attended = scaled_dot_product_attention(q, k, v, causal=attention.causal)
    return project(attention.out, attention.merge_heads(attended))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-kv-cache", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
model = GPT(vocab_size=20, block_size=12, n_layer=2, n_head=2, n_embd=16, seed=3)
prompt = np.array([[1, 2, 3], [4, 5, 6]])
cache = KVCache(model.n_layer)
step_by_step = [np.asarray(model(prompt[:, :2], cache))[:, -1], np.asarray(model(prompt[:, 2:], cache))[:, -1]]
assert cache.length == 3 and cache.keys[1].shape == (2, 2, 3, 8), \
    f"KVCache after 3 tokens: expected length 3 and keys[1] shape (2, 2, 3, 8), got {cache.length} and {cache.keys[1].shape}"
full = np.asarray(model(prompt))
assert np.allclose(step_by_step[1], full[:, 2], atol=1e-5), "the cached step computes the same logits"
with_cache = model.generate(prompt, 15, top_k=1, use_cache=True)
without = model.generate(prompt, 15, top_k=1, use_cache=False)
assert with_cache.shape == (2, 18) and np.array_equal(with_cache[:, :3], prompt), "prompt, then new tokens"
assert np.array_equal(with_cache, without), "identical tokens with and without the cache (also past block_size)"
a = model.generate(prompt, 6, temperature=1.5, seed=11)
b = model.generate(prompt, 6, temperature=1.5, seed=11, use_cache=False)
assert np.array_equal(a, b), "same seed, same tokens"
print("✅ the KV cache gives identical tokens")
### BEGIN HIDDEN TESTS
no_new = model.generate(prompt, 0)
assert no_new.shape == (2, 3), f"generate(prompt, 0): expected the prompt's shape (2, 3), got {no_new.shape}"
for bad in (dict(temperature=0), dict(top_k=0), dict(max_new_tokens=-1)):
    kwargs = {"max_new_tokens": 2, **bad}
    try:
        model.generate(prompt, **kwargs)
        raise AssertionError(f"{bad} must raise ValueError")
    except ValueError:
        pass
### END HIDDEN TESTS

# %% [markdown]
# ## How much the cache saves
#
# The demo below times both ways of generating for a small untrained model (the work doesn't
# depend on the weights), as the number of generated tokens grows up to `block_size`, and prints
# a table of the times and the speed-up. Left: seconds per generated token. Without the cache it
# grows with the length of the text; with it, it stays nearly flat (each step still attends over
# a longer cache, but that is cheap next to re-running every layer on every token). Right: the
# speed-up, which grows with the length. Times on a shared machine are noisy; the shape of the
# curves is what matters.

# %%
def time_generation(model, lengths, use_cache, repeats=3):
    """Seconds (the fastest of `repeats` runs: robust on a busy machine) to generate each number of tokens."""
    seconds = []
    for n in lengths:
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            model.generate(np.zeros((1, 1), dtype=np.int64), n, top_k=1, use_cache=use_cache)
            runs.append(time.perf_counter() - start)
        seconds.append(min(runs))
    return seconds


if SHOW:
    import matplotlib.pyplot as plt

    demo = GPT(vocab_size=64, block_size=128, n_layer=2, n_head=4, n_embd=64, seed=0)
    lengths = [16, 32, 64, 127]
    cached = time_generation(demo, lengths, use_cache=True)
    uncached = time_generation(demo, lengths, use_cache=False)
    print("tokens  no cache (s)  cache (s)  speed-up")
    for n, slow, fast in zip(lengths, uncached, cached):
        print(f"{n:6d}  {slow:12.3f}  {fast:9.3f}  {slow / fast:7.1f}×")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    left.plot(lengths, [s / n for s, n in zip(uncached, lengths)], marker="o", label="without cache")
    left.plot(lengths, [s / n for s, n in zip(cached, lengths)], marker="o", label="with KV cache")
    left.set_xlabel("tokens generated")
    left.set_ylabel("seconds per token")
    left.legend()
    right.plot(lengths, [s / f for s, f in zip(uncached, cached)], marker="o", color="C2")
    right.set_xlabel("tokens generated")
    right.set_ylabel("speed-up (×)")
    fig.suptitle("Generation with and without a KV cache (2 layers, 64 dims)")
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## What you built
#
# `tinytorch.core.transformer` holds `concatenate`, `split`, `LayerNorm`, `GELU`,
# `TransformerBlock`, `GPT`, `sample_next`, `generate`, `KVCache` and `cached_attention`:
#
# ```python
# from tinytorch.core.transformer import GPT
# model = GPT(vocab_size=62, block_size=64, n_layer=2, n_head=4, n_embd=64)
# loss = model.loss(ids[:, :-1], ids[:, 1:])      # ≈ ln(62) before training
# model.generate(prompt_ids, max_new_tokens=200, temperature=0.8, top_k=10)
# ```
#
# Everything underneath is yours: the Tensor of module 01, the Dense layers of module 03, the
# autograd of module 07, Adam from module 08 and the cross-entropy of module 09. Milestone 03
# trains this model on the King James Bible and lets it write:
#
# ```bash
# tito milestone run 03
# ```

# %% [markdown]
# ## Exercises (not graded)
#
# 1. Temperature and top-k: for the logits `[[2.0, 1.0, 0.0]]`, compute the probabilities that
#    `sample_next` draws from at temperatures 0.5, 1 and 2, then estimate them from 2,000 draws.
#    Why does `top_k=1` give the same token at every temperature? In milestone 03's `train.py`,
#    change the samples' `temperature=0.8, top_k=10` to 0.5 and to 1.5 and compare the verses.
# 2. Count the parameters of `GPT(vocab_size=62, block_size=64, n_layer=2, n_head=4, n_embd=64)`
#    from `parameters()` and check the formula `2·V·E + T·E + L·(12·E² + 13·E) + 2·E`: where does
#    each term come from? Which term grows fastest when you double `n_embd`?
# 3. The KV cache past `block_size`: time `generate` for 300 tokens with `block_size=128`, with and
#    without the cache. Read `generate`: what happens once the cache holds `block_size` positions,
#    and why can't it simply drop its oldest keys and values (think of the positions and of what
#    the later layers' keys depend on)?
