"""Package tests for module 12: tinytorch.core.attention.

References: NumPy (float64) for every forward pass, central finite differences for the
gradients, and hypothesis for causality (changing inputs after position t never changes the
outputs at t) and for softmax's invariances.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import FAST

from tinytorch.core.attention import (MultiHeadAttention, attention_weights, causal_mask, log_softmax,
                                      masked_fill, scaled_dot_product_attention, softmax)
from tinytorch.core.autograd import Variable, numerical_gradient
from tinytorch.core.tensor import Tensor


def np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_attention(q, k, v, allowed=None):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if allowed is not None:
        s = np.where(allowed, s, -np.inf)
    return np_softmax(s) @ v


seeds = st.integers(0, 2**31 - 1)


# ---- softmax ---------------------------------------------------------------------------------

@FAST
@given(seeds, st.integers(0, 2), st.sampled_from([0.1, 1.0, 30.0]))
def test_softmax_and_log_softmax_match_numpy(seed, axis, scale):
    x = np.random.default_rng(seed).normal(scale=scale, size=(2, 3, 4))
    assert np.allclose(np.asarray(softmax(Tensor(x, dtype=np.float64), axis=axis)), np_softmax(x, axis))
    assert np.allclose(np.asarray(log_softmax(Tensor(x, dtype=np.float64), axis=axis)), np.log(np_softmax(x, axis)))


@FAST
@given(seeds, st.floats(-50, 50))
def test_softmax_ignores_a_constant_shift(seed, shift):
    x = np.random.default_rng(seed).normal(size=(3, 5)).astype(np.float32)
    assert np.allclose(np.asarray(softmax(Tensor(x))), np.asarray(softmax(Tensor(x + np.float32(shift)))), atol=1e-5)


def test_softmax_is_stable_in_float32():
    x = Tensor(np.array([[1e4, 1e4 + 1, -1e4]], dtype=np.float32))
    p = np.asarray(softmax(x))
    assert p.dtype == np.float32 and np.all(np.isfinite(p)) and np.isclose(p.sum(), 1)
    assert np.all(np.isfinite(np.asarray(log_softmax(x))))


@pytest.mark.parametrize("function", [softmax, log_softmax])
@pytest.mark.parametrize("axis", [0, -1])
def test_softmax_gradients_against_finite_differences(function, axis):
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    f = lambda t: function(t, axis=axis) * Tensor(w, dtype=np.float64)  # noqa: E731
    v = Variable(x)
    f(v).sum().backward()
    assert np.allclose(np.asarray(v.grad), numerical_gradient(f, x), atol=1e-7)


# ---- masks --------------------------------------------------------------------------------------

def test_masked_fill_and_causal_mask():
    x = Variable(np.arange(6.0).reshape(2, 3))
    keep = np.array([[True, False, True], [False, True, True]])
    y = masked_fill(x, keep, -1.5)
    assert np.array_equal(np.asarray(y), np.where(keep, np.arange(6.0).reshape(2, 3), -1.5))
    (y * Tensor(np.arange(6.0).reshape(2, 3) + 1, dtype=np.float64)).sum().backward()
    assert np.array_equal(np.asarray(x.grad), np.where(keep, np.arange(6.0).reshape(2, 3) + 1, 0))
    for tq, tk in [(1, 1), (3, 3), (2, 5), (1, 4)]:
        expected = np.array([[j <= tk - tq + i for j in range(tk)] for i in range(tq)])
        assert np.array_equal(causal_mask(tq, tk), expected)
    with pytest.raises(ValueError):
        masked_fill(x, np.ones((2, 3)), 0.0)


# ---- attention -------------------------------------------------------------------------------------

@FAST
@given(seeds, st.integers(1, 5), st.integers(1, 5), st.booleans())
def test_attention_matches_numpy(seed, tq, extra, causal):
    rng = np.random.default_rng(seed)
    tk = tq + extra - 1
    q, k, v = rng.normal(size=(2, 3, tq, 4)), rng.normal(size=(2, 3, tk, 4)), rng.normal(size=(2, 3, tk, 2))
    allowed = causal_mask(tq, tk) if causal else None
    out = scaled_dot_product_attention(Tensor(q, dtype=np.float64), Tensor(k, dtype=np.float64),
                                       Tensor(v, dtype=np.float64), causal=causal)
    assert out.shape == (2, 3, tq, 2)
    assert np.allclose(np.asarray(out), np_attention(q, k, v, allowed))


def test_attention_gradients_with_a_mask():
    rng = np.random.default_rng(2)
    q, k, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 4, 4)), rng.normal(size=(2, 4, 3))
    mask = rng.random((2, 3, 4)) < 0.7
    mask[..., 0] = True
    qv, kv, vv = Variable(q), Variable(k), Variable(v)
    w = rng.normal(size=(2, 3, 3))
    (scaled_dot_product_attention(qv, kv, vv, mask=mask) * Tensor(w, dtype=np.float64)).sum().backward()
    f = lambda a, b, c: scaled_dot_product_attention(a, b, c, mask=mask) * Tensor(w, dtype=np.float64)  # noqa: E731
    assert np.allclose(np.asarray(qv.grad), numerical_gradient(lambda x: f(x, k, v), q), atol=1e-7)
    assert np.allclose(np.asarray(kv.grad), numerical_gradient(lambda x: f(q, x, v), k), atol=1e-7)
    assert np.allclose(np.asarray(vv.grad), numerical_gradient(lambda x: f(q, k, x), v), atol=1e-7)


def test_attention_rejects_bad_masks_and_shapes():
    q = Tensor(np.ones((2, 3, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="no key"):
        attention_weights(q, q, mask=np.zeros((3, 3), dtype=bool))
    with pytest.raises(ValueError, match="boolean"):
        attention_weights(q, q, mask=np.ones((3, 3)))
    with pytest.raises(ValueError):
        attention_weights(q, Tensor(np.ones((2, 3, 5), dtype=np.float32)))
    with pytest.raises(ValueError):
        scaled_dot_product_attention(q, q, Tensor(np.ones((2, 4, 4), dtype=np.float32)))


@FAST
@given(seeds, st.integers(2, 7), st.data())
def test_causal_attention_never_looks_ahead(seed, length, data):
    """Changing q, k, v after position t leaves every output at positions <= t unchanged."""
    t = data.draw(st.integers(0, length - 2))
    rng = np.random.default_rng(seed)
    q, k, v = (rng.normal(size=(2, length, 4)).astype(np.float32) for _ in range(3))
    changed = [a.copy() for a in (q, k, v)]
    for a in changed:
        a[:, t + 1:] = rng.normal(scale=10, size=a[:, t + 1:].shape)
    before = np.asarray(scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), causal=True))
    after = np.asarray(scaled_dot_product_attention(*(Tensor(a) for a in changed), causal=True))
    assert np.allclose(before[:, :t + 1], after[:, :t + 1], atol=1e-5)


# ---- multi-head -----------------------------------------------------------------------------------

def np_multi_head(mha, x, allowed):
    layers = (mha.query, mha.key, mha.value)
    q, k, v = (x @ np.asarray(l.weights, dtype=np.float64) + np.asarray(l.bias, dtype=np.float64) for l in layers)
    h, d = mha.num_heads, mha.head_dim
    split = lambda a: a.reshape(*a.shape[:2], h, d).transpose(0, 2, 1, 3)  # noqa: E731
    out = np_attention(split(q), split(k), split(v), allowed).transpose(0, 2, 1, 3).reshape(x.shape)
    return out @ np.asarray(mha.out.weights, dtype=np.float64) + np.asarray(mha.out.bias, dtype=np.float64)


@pytest.mark.parametrize("heads", [1, 2, 4])
@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_matches_numpy(heads, causal):
    np.random.seed(heads)
    mha = MultiHeadAttention(8, heads, causal=causal)
    x = np.random.default_rng(0).normal(size=(3, 6, 8)).astype(np.float32)
    out = mha(Tensor(x))
    assert out.shape == (3, 6, 8) and out.dtype == np.float32
    assert np.allclose(np.asarray(out), np_multi_head(mha, x.astype(np.float64), causal_mask(6) if causal else None),
                       atol=1e-5)


def test_multi_head_attention_gradient_against_finite_differences():
    np.random.seed(5)
    mha = MultiHeadAttention(4, 2, causal=True)
    for p in mha.parameters():                       # float64 for the comparison
        p.data = Tensor(np.asarray(p), dtype=np.float64)
    x = np.random.default_rng(1).normal(size=(2, 3, 4))
    xv = Variable(x)
    w = np.random.default_rng(2).normal(size=(2, 3, 4))
    (mha(xv) * Tensor(w, dtype=np.float64)).sum().backward()
    assert np.allclose(np.asarray(xv.grad), numerical_gradient(lambda t: mha(t) * Tensor(w, dtype=np.float64), x),
                       atol=1e-6)
    weight = mha.key.weights
    analytic = np.asarray(weight.grad).copy()
    original = np.asarray(weight).copy()
    def f(values):
        weight.data = Tensor(np.asarray(values), dtype=np.float64)
        return mha(Tensor(x, dtype=np.float64)) * Tensor(w, dtype=np.float64)
    numeric = numerical_gradient(f, original)
    weight.data = Tensor(original, dtype=np.float64)
    assert np.allclose(analytic, numeric, atol=1e-6)


@FAST
@given(seeds, st.data())
def test_causal_multi_head_attention_never_looks_ahead(seed, data):
    np.random.seed(seed % 1000)
    mha = MultiHeadAttention(8, 2, causal=True)
    x = np.random.default_rng(seed).normal(size=(2, 6, 8)).astype(np.float32)
    t = data.draw(st.integers(0, 4))
    changed = x.copy()
    changed[:, t + 1:] = data.draw(st.floats(-20, 20))
    assert np.allclose(np.asarray(mha(Tensor(x)))[:, :t + 1], np.asarray(mha(Tensor(changed)))[:, :t + 1], atol=1e-4)


def test_multi_head_attention_rejects_bad_configurations():
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(6, 4)
    with pytest.raises(ValueError):
        MultiHeadAttention(0, 1)
    with pytest.raises(ValueError):
        MultiHeadAttention(4, 2)(Tensor(np.ones((2, 4), dtype=np.float32)))
