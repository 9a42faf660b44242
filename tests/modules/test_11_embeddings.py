"""Package tests for module 11: tinytorch.core.embeddings.

References: NumPy indexing and one-hot products for the forward pass, central finite differences
(float64) for the gradients, and a per-element loop over the formula of Vaswani et al.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import FAST

from tinytorch.core.autograd import Variable
from tinytorch.core.embeddings import Embedding, PositionalEmbedding, sinusoidal_positions
from tinytorch.core.tensor import Tensor


def finite_difference(f, w, h=1e-6):
    """Central differences of the scalar f(w) (a NumPy function) with respect to every entry of w."""
    grad = np.zeros_like(w)
    for i in np.ndindex(w.shape):
        old = w[i]
        w[i] = old + h
        up = f(w)
        w[i] = old - h
        down = f(w)
        w[i] = old
        grad[i] = (up - down) / (2 * h)
    return grad


@FAST
@given(st.integers(1, 7), st.integers(1, 5), st.lists(st.integers(1, 3), min_size=0, max_size=3), st.integers(0, 2**31 - 1))
def test_forward_matches_one_hot_product(vocab, dim, shape, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, size=tuple(shape))
    emb = Embedding(vocab, dim)
    out = emb(ids)
    assert out.shape == (*ids.shape, dim) and out.dtype == np.float32
    table = np.asarray(emb.weight)
    assert np.array_equal(np.asarray(out), table[ids])
    assert np.allclose(np.asarray(out), np.eye(vocab)[ids] @ table, atol=1e-6)


def test_gradient_against_finite_differences_with_repeated_ids():
    rng = np.random.default_rng(0)
    ids = np.array([[3, 1, 3, 3], [0, 1, 4, 3]])
    upstream = rng.normal(size=(2, 4, 3))
    emb = Embedding(5, 3)
    emb.weight = Variable(rng.normal(size=(5, 3)))           # float64 for the comparison
    (emb(ids) * Tensor(upstream, dtype=np.float64)).sum().backward()
    numeric = finite_difference(lambda w: float(np.sum(w[ids] * upstream)), np.asarray(emb.weight).copy())
    assert np.allclose(np.asarray(emb.weight.grad), numeric, atol=1e-7)
    assert np.allclose(np.asarray(emb.weight.grad)[2], 0), "an unused row gets no gradient"


def test_gradients_accumulate_over_backward_calls_and_uses():
    emb = Embedding(3, 2)
    emb([0, 0]).sum().backward()
    emb([0, 2]).sum().backward()
    assert np.allclose(np.asarray(emb.weight.grad), [[3, 3], [0, 0], [1, 1]])


@pytest.mark.parametrize("bad", [[5], [-1], [[0, 1], [2, 7]]])
def test_bad_indices_name_index_and_size(bad):
    with pytest.raises(ValueError) as err:
        Embedding(5, 2)(np.array(bad))
    flat = np.array(bad).ravel()
    culprit = flat[(flat < 0) | (flat >= 5)][0]
    assert str(culprit) in str(err.value) and "num_embeddings=5" in str(err.value)


def test_non_integer_indices_and_sizes_are_rejected():
    with pytest.raises(ValueError, match="integer"):
        Embedding(5, 2)(np.array([0.0, 1.0]))
    for args in [(0, 2), (3, -1), (2.0, 2)]:
        with pytest.raises(ValueError):
            Embedding(*args)


def test_initialisation_is_standard_normal():
    np.random.seed(0)
    w = np.asarray(Embedding(500, 40).weight)
    assert w.dtype == np.float32 and abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02


# ---- positions -----------------------------------------------------------------------------------

def reference_sinusoid(length, dim):
    table = np.zeros((length, dim))
    for pos in range(length):
        for col in range(dim):
            angle = pos / 10000 ** ((col - col % 2) / dim)
            table[pos, col] = np.sin(angle) if col % 2 == 0 else np.cos(angle)
    return table


@pytest.mark.parametrize("length, dim", [(1, 1), (5, 2), (17, 7), (64, 32)])
def test_sinusoidal_positions_against_the_formula(length, dim):
    table = sinusoidal_positions(length, dim)
    assert isinstance(table, Tensor) and table.shape == (length, dim) and table.dtype == np.float32
    assert np.allclose(np.asarray(table), reference_sinusoid(length, dim), atol=1e-6)


def test_positional_embedding_adds_rows_and_learns():
    np.random.seed(3)
    pos = PositionalEmbedding(6, 3)
    assert pos.weight.shape == (6, 3) and pos.parameters() == [pos.weight]
    x = Variable(np.random.default_rng(1).normal(size=(2, 4, 3)).astype(np.float32))
    y = pos(x, offset=1)
    assert np.allclose(np.asarray(y), np.asarray(x) + np.asarray(pos.weight)[1:5])
    upstream = np.random.default_rng(2).normal(size=(2, 4, 3)).astype(np.float32)
    (y * Tensor(upstream)).sum().backward()
    expected = np.zeros((6, 3), dtype=np.float32)
    expected[1:5] = upstream.sum(axis=0)
    assert np.allclose(np.asarray(pos.weight.grad), expected, atol=1e-6)
    assert np.allclose(np.asarray(x.grad), upstream)
    with pytest.raises(ValueError, match="max_length=6"):
        pos(x, offset=3)
    with pytest.raises(ValueError):
        pos(Tensor(np.ones((2, 4, 5), dtype=np.float32)))
