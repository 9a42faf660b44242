"""Package tests for module 13: tinytorch.core.transformer.

References: NumPy (float64) for LayerNorm, GELU and a whole GPT forward pass written here from
the equations; central finite differences for concatenate, LayerNorm, GELU and a GPT parameter;
hypothesis for causality; the no-cache path for the KV cache.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import FAST

from tinytorch.core.autograd import Variable, numerical_gradient
from tinytorch.core.optimizers import Adam
from tinytorch.core.tensor import Tensor
from tinytorch.core.transformer import (GELU, GPT, KVCache, LayerNorm, TransformerBlock, concatenate,
                                        sample_next, split)


def f64(a):
    return np.asarray(a, dtype=np.float64)


def np_layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(x.var(-1, keepdims=True) + eps) * w + b


def np_gelu(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def np_dense(layer, x):
    out = x @ f64(layer.weights)
    return out if layer.bias is None else out + f64(layer.bias)


def np_gpt(model, ids):
    """The GPT forward pass from the equations, head by head, in float64."""
    T = ids.shape[1]
    x = f64(model.token_embedding.weight)[ids] + f64(model.position_embedding.weight)[:T]
    future = np.triu(np.ones((T, T), dtype=bool), 1)
    for block in model.blocks:
        a = block.attention
        h = np_layer_norm(x, f64(block.ln1.weight), f64(block.ln1.bias))
        q, k, v = (np_dense(layer, h) for layer in (a.query, a.key, a.value))
        heads = []
        for i in range(a.num_heads):
            cols = slice(i * a.head_dim, (i + 1) * a.head_dim)
            s = q[..., cols] @ np.swapaxes(k[..., cols], 1, 2) / math.sqrt(a.head_dim)
            s[:, future] = -np.inf
            p = np.exp(s - s.max(-1, keepdims=True))
            heads.append(p / p.sum(-1, keepdims=True) @ v[..., cols])
        x = x + np_dense(a.out, np.concatenate(heads, -1))
        h = np_layer_norm(x, f64(block.ln2.weight), f64(block.ln2.bias))
        x = x + np_dense(block.proj, np_gelu(np_dense(block.fc, h)))
    return np_dense(model.head, np_layer_norm(x, f64(model.ln_f.weight), f64(model.ln_f.bias)))


# ---- concatenate / split ----------------------------------------------------------------------

@FAST
@given(st.integers(0, 2**31 - 1), st.integers(0, 2), st.lists(st.integers(1, 3), min_size=1, max_size=3))
def test_concatenate_and_split_against_numpy_and_finite_differences(seed, axis, lengths):
    rng = np.random.default_rng(seed)
    shapes = [tuple(n if d == axis else 2 for d in range(3)) for n in lengths]
    arrays = [rng.normal(size=s) for s in shapes]
    variables = [Variable(a) for a in arrays]
    joined = concatenate(variables, axis=axis)
    assert np.array_equal(np.asarray(joined), np.concatenate(arrays, axis=axis))
    w = rng.normal(size=joined.shape)
    (joined * Tensor(w, dtype=np.float64)).sum().backward()
    for i, (a, v) in enumerate(zip(arrays, variables)):
        def f(x, i=i):
            parts = [x if j == i else Tensor(arrays[j], dtype=np.float64) for j in range(len(arrays))]
            return concatenate(parts, axis=axis) * Tensor(w, dtype=np.float64)
        assert np.allclose(np.asarray(v.grad), numerical_gradient(f, a), atol=1e-7)
    pieces = split(Variable(np.concatenate(arrays, axis=axis)), lengths, axis=axis)
    assert all(np.array_equal(np.asarray(p), a) for p, a in zip(pieces, arrays))
    with pytest.raises(ValueError):
        split(Variable(arrays[0]), [lengths[0] + 1], axis=axis)


# ---- LayerNorm and GELU --------------------------------------------------------------------------

@FAST
@given(st.integers(0, 2**31 - 1), st.sampled_from([1e-5, 1e-2]))
def test_layer_norm_matches_numpy_and_finite_differences(seed, eps):
    rng = np.random.default_rng(seed)
    x, w, b = rng.normal(size=(2, 3, 5)), rng.normal(size=5), rng.normal(size=5)
    ln = LayerNorm(5, eps=eps)
    ln.weight.data, ln.bias.data = Tensor(w, dtype=np.float64), Tensor(b, dtype=np.float64)
    assert np.allclose(np.asarray(ln(Tensor(x, dtype=np.float64))), np_layer_norm(x, w, b, eps))
    up = rng.normal(size=x.shape)
    xv = Variable(x)
    (ln(xv) * Tensor(up, dtype=np.float64)).sum().backward()
    assert np.allclose(np.asarray(xv.grad), numerical_gradient(lambda t: ln(t) * Tensor(up, dtype=np.float64), x),
                       atol=1e-5)
    expected_w = (up * np_layer_norm(x, 1, 0, eps)).sum(axis=(0, 1))
    assert np.allclose(np.asarray(ln.weight.grad), expected_w, atol=1e-6)
    assert np.allclose(np.asarray(ln.bias.grad), up.sum(axis=(0, 1)))


def test_layer_norm_defaults_and_errors():
    ln = LayerNorm(3)
    assert ln.eps == 1e-5 and np.array_equal(np.asarray(ln.weight), np.ones(3)) and np.asarray(ln.bias).sum() == 0
    assert np.asarray(ln(Tensor(np.ones((2, 3), dtype=np.float32)))).dtype == np.float32
    with pytest.raises(ValueError):
        ln(Tensor(np.ones((2, 4), dtype=np.float32)))
    with pytest.raises(ValueError):
        LayerNorm(0)


def test_gelu_matches_formula_and_gradient():
    x = np.linspace(-5, 5, 41)
    assert np.allclose(np.asarray(GELU()(Tensor(x, dtype=np.float64))), np_gelu(x))
    xv = Variable(x)
    GELU()(xv).sum().backward()
    assert np.allclose(np.asarray(xv.grad), numerical_gradient(GELU(), x), atol=1e-6)


# ---- GPT -------------------------------------------------------------------------------------------

def small_gpt(seed=0, **kw):
    config = dict(vocab_size=11, block_size=7, n_layer=2, n_head=2, n_embd=8)
    config.update(kw)
    np.random.seed(seed)
    return GPT(**config, seed=seed)


def test_gpt_forward_matches_numpy_reference():
    model = small_gpt()
    ids = np.random.default_rng(0).integers(0, 11, size=(3, 7))
    logits = model(ids)
    assert logits.shape == (3, 7, 11) and logits.dtype == np.float32
    assert np.allclose(np.asarray(logits), np_gpt(model, ids), atol=1e-5)


def test_gpt_initialisation_and_untrained_loss():
    model = GPT(vocab_size=65, block_size=32, n_layer=2, n_head=4, n_embd=64, seed=1)
    for block in model.blocks:
        for layer in (block.attention.query, block.attention.out, block.fc, block.proj):
            assert abs(np.asarray(layer.weights).std() - 0.02) < 0.002 and not np.asarray(layer.bias).any()
    assert abs(np.asarray(model.token_embedding.weight).std() - 0.02) < 0.002
    assert model.head.bias is None and all(p.dtype == np.float32 for p in model.parameters())
    ids = np.random.default_rng(2).integers(0, 65, size=(4, 33))
    loss = model.loss(ids[:, :-1], ids[:, 1:]).item()
    assert abs(loss - math.log(65)) < 0.02


def test_gpt_parameter_gradient_against_finite_differences():
    model = small_gpt(vocab_size=5, block_size=4, n_layer=1, n_head=2, n_embd=4)
    for p in model.parameters():
        p.data = Tensor(np.asarray(p) * 20, dtype=np.float64)        # larger weights: a real gradient
    ids = np.array([[1, 2, 3, 4], [0, 0, 1, 2]])
    targets = np.array([[2, 3, 4, 0], [0, 1, 2, 3]])
    model.loss(ids, targets).backward()
    for param in (model.blocks[0].attention.query.weights, model.blocks[0].ln2.weight, model.token_embedding.weight):
        analytic, original = np.asarray(param.grad).copy(), np.asarray(param).copy()
        def f(values, param=param):
            param.data = Tensor(np.asarray(values), dtype=np.float64)
            return model.loss(ids, targets)
        numeric = numerical_gradient(f, original)
        param.data = Tensor(original, dtype=np.float64)
        assert np.allclose(analytic, numeric, atol=1e-6), param.shape


@FAST
@given(st.integers(0, 2**31 - 1), st.data())
def test_gpt_is_causal(seed, data):
    model = small_gpt(seed % 100)
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 11, size=(2, 7))
    t = data.draw(st.integers(0, 5))
    changed = ids.copy()
    changed[:, t + 1:] = rng.integers(0, 11, size=changed[:, t + 1:].shape)
    assert np.allclose(np.asarray(model(ids))[:, :t + 1], np.asarray(model(changed))[:, :t + 1], atol=1e-5)


def test_gpt_learns_a_repeating_pattern():
    model = small_gpt(vocab_size=6, block_size=8, n_layer=1, n_head=2, n_embd=16)
    data = np.array([[0, 1, 2, 3, 4, 5, 0, 1, 2]] * 4)
    optimizer = Adam(model.parameters(), learning_rate=0.01)
    losses = []
    for _ in range(40):
        loss = model.loss(data[:, :-1], data[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[0] > 1.6 and losses[-1] < 0.2, (losses[0], losses[-1])


def test_gpt_rejects_bad_input():
    model = small_gpt()
    with pytest.raises(ValueError, match="block_size=7"):
        model(np.zeros((1, 8), dtype=int))
    with pytest.raises(ValueError):
        model(np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match="out of range"):
        model(np.full((1, 3), 11))
    with pytest.raises(ValueError):
        GPT(10, 8, 1, 3, 8)                       # 8 dims don't split into 3 heads


# ---- generation ------------------------------------------------------------------------------------

@pytest.mark.parametrize("prompt_length, new", [(1, 6), (3, 12), (7, 3)])
def test_kv_cache_gives_identical_tokens(prompt_length, new):
    model = small_gpt(3)
    prompts = np.random.default_rng(prompt_length).integers(0, 11, size=(3, prompt_length))
    cached = model.generate(prompts, new, top_k=1, use_cache=True)
    plain = model.generate(prompts, new, top_k=1, use_cache=False)
    assert cached.shape == (3, prompt_length + new) and np.array_equal(cached[:, :prompt_length], prompts)
    assert np.array_equal(cached, plain)
    sampled = [model.generate(prompts, new, temperature=2.0, top_k=5, seed=4, use_cache=c) for c in (True, False)]
    assert np.array_equal(*sampled)


def test_cached_logits_equal_full_forward():
    model = small_gpt(5)
    ids = np.random.default_rng(0).integers(0, 11, size=(2, 7))
    cache = KVCache(model.n_layer)
    steps = [np.asarray(model(ids[:, :3], cache))] + [np.asarray(model(ids[:, t:t + 1], cache)) for t in range(3, 7)]
    assert cache.length == 7
    assert np.allclose(np.concatenate(steps, axis=1), np.asarray(model(ids)), atol=1e-5)
    with pytest.raises(ValueError):
        model(ids[:, :1], cache)                  # position 7 does not exist


def test_sample_next_distribution_and_seed():
    rng = np.random.default_rng(0)
    logits = np.log(np.array([[0.1, 0.2, 0.7]]))
    draws = np.concatenate([sample_next(logits, rng=rng) for _ in range(6000)])
    assert np.allclose(np.bincount(draws, minlength=3) / 6000, [0.1, 0.2, 0.7], atol=0.02)
    hot = np.concatenate([sample_next(logits, temperature=2.0, rng=rng) for _ in range(6000)])
    p = np.array([0.1, 0.2, 0.7]) ** 0.5
    assert np.allclose(np.bincount(hot, minlength=3) / 6000, p / p.sum(), atol=0.02)
    top = np.concatenate([sample_next(logits, top_k=2, rng=rng) for _ in range(3000)])
    assert np.allclose(np.bincount(top, minlength=3) / 3000, [0, 2 / 9, 7 / 9], atol=0.02)
    model = small_gpt()
    a, b = (model.generate(np.array([[1], [2]]), 5, seed=9) for _ in range(2))
    assert np.array_equal(a, b)


def test_generate_rejects_bad_arguments():
    model = small_gpt()
    for kwargs in (dict(temperature=0.0), dict(temperature=-1.0), dict(top_k=0), dict(max_new_tokens=-1)):
        with pytest.raises(ValueError):
            model.generate(np.array([[1]]), **{"max_new_tokens": 2, **kwargs})
    with pytest.raises(ValueError):
        model.generate(np.array([1, 2]), 2)


def test_transformer_block_is_pre_norm_residual():
    np.random.seed(0)
    block = TransformerBlock(8, 2)
    for layer in (block.attention.out, block.proj):        # silence both branches
        layer.weights.data = Tensor(np.zeros(layer.weights.shape, dtype=np.float32))
        layer.bias.data = Tensor(np.zeros(layer.bias.shape, dtype=np.float32))
    x = np.random.default_rng(0).normal(size=(2, 3, 8)).astype(np.float32)
    assert np.allclose(np.asarray(block(Tensor(x))), x), "with both branches silent, the block is the identity"
