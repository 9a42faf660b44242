"""Package tests for module 09: tinytorch.core.training.

References: NumPy (log-softmax written independently, float64), central finite differences for
every gradient, and the composed-ops version of cross-entropy for the fused node.
"""
from __future__ import annotations

import io
import os
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import FAST

from tinytorch.core.autograd import Variable, numerical_gradient
from tinytorch.core.dataloader import DataLoader, SimpleDataset
from tinytorch.core.networks import create_mlp
from tinytorch.core.optimizers import SGD, Adam, StepLR
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import (Accuracy, BinaryCrossEntropyLoss, CrossEntropyLoss, MeanSquaredError,
                                     Trainer, cross_entropy_gradient, load_parameters, save_parameters,
                                     softmax_cross_entropy)


def grad_of(v):
    return v.grad.data.data


def reference_ce(z, y):
    """Mean -log softmax(z)[y] in float64, via scipy-free logsumexp."""
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
    return float(np.mean(lse - z[np.arange(len(y)), y]))


@st.composite
def logits_and_labels(draw, dtype=np.float64):
    n = draw(st.integers(1, 6))
    c = draw(st.integers(2, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from([0.1, 1.0, 5.0]))
    return (rng.normal(scale=scale, size=(n, c)).astype(dtype), rng.integers(0, c, size=n))


# ---- MSE -------------------------------------------------------------------------------------

@FAST
@given(logits_and_labels())
def test_mse_value_and_gradient(pair):
    p, _ = pair
    t = np.random.default_rng(0).normal(size=p.shape)
    pv = Variable(p)
    loss = MeanSquaredError()(pv, Tensor(t, dtype=np.float64))
    assert loss.item() == pytest.approx(np.mean((p - t) ** 2), rel=1e-9)
    loss.backward()
    np.testing.assert_allclose(grad_of(pv), 2 * (p - t) / p.size, rtol=1e-9)


def test_mse_shapes():
    assert MeanSquaredError()(Tensor([[1.0], [3.0]]), [1.0, 1.0]).item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="don't match"):
        MeanSquaredError()(Tensor([[1.0], [3.0]]), [1.0, 1.0, 1.0])


# ---- cross-entropy ---------------------------------------------------------------------------

@FAST
@given(logits_and_labels())
def test_cross_entropy_matches_numpy_and_closed_form(pair):
    z, y = pair
    loss, probs = softmax_cross_entropy(z, y)
    assert float(loss) == pytest.approx(reference_ce(z, y), rel=1e-9, abs=1e-12)
    softmax = np.exp(z - z.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probs, softmax, rtol=1e-9, atol=1e-12)
    zv = Variable(z)
    out = CrossEntropyLoss()(zv, y)
    out.backward()
    np.testing.assert_allclose(grad_of(zv), (softmax - np.eye(z.shape[1])[y]) / len(y), rtol=1e-9, atol=1e-12)


@FAST
@given(logits_and_labels())
def test_cross_entropy_gradient_matches_finite_differences(pair):
    z, y = pair
    zv = Variable(z)
    CrossEntropyLoss()(zv, y).backward()
    numeric = numerical_gradient(lambda v: CrossEntropyLoss()(v, y), z)
    np.testing.assert_allclose(grad_of(zv), numeric, atol=1e-6)


def test_fused_node_matches_composed_ops():
    """The one-node loss gives the same value and gradient as the chain of autograd ops."""
    rng = np.random.default_rng(1)
    z, y = rng.normal(size=(7, 5)), rng.integers(0, 5, size=7)
    a, b = Variable(z), Variable(z)
    fused = CrossEntropyLoss()(a, y)
    shifted = b - b.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    composed = -log_probs[np.arange(7), y].mean()
    assert fused.item() == pytest.approx(composed.item(), rel=1e-12)
    fused.backward()
    composed.backward()
    np.testing.assert_allclose(grad_of(a), grad_of(b), atol=1e-12)
    assert fused.grad_fn.name == "CrossEntropy" and len(fused.grad_fn.edges) == 1


def test_cross_entropy_chains_into_a_network():
    np.random.seed(0)
    model = create_mlp(3, [4], 2, output_activation=None)
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    y = np.array([0, 1, 1, 0, 1])
    loss = CrossEntropyLoss()(model(Tensor(x)), Tensor(y))
    assert loss.dtype == np.float32
    loss.backward()
    w = model.parameters()[0]
    assert w.grad is not None and w.grad.data.data.dtype == np.float32


def test_cross_entropy_is_stable_and_float32():
    z = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]], dtype=np.float32)
    loss, probs = softmax_cross_entropy(z, np.array([0, 2]))
    assert np.isfinite(loss) and float(loss) == pytest.approx(1e4 / 2, rel=1e-6)
    assert probs.dtype == np.float32 and np.all(np.isfinite(probs))
    out = CrossEntropyLoss()(Variable(z), [0, 1])
    assert out.dtype == np.float32 and out.item() == pytest.approx(0.0, abs=1e-6)


def test_cross_entropy_gradient_leaves_input_alone():
    probs = np.full((2, 3), 1 / 3)
    before = probs.copy()
    cross_entropy_gradient(probs, np.array([0, 2]))
    np.testing.assert_array_equal(probs, before)


def test_cross_entropy_plain_tensor_and_bad_labels():
    z = Tensor(np.zeros((2, 3), dtype=np.float32))
    out = CrossEntropyLoss()(z, [0, 1])
    assert type(out) is Tensor and out.item() == pytest.approx(np.log(3), rel=1e-6)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        CrossEntropyLoss()(z, [0, 3])
    with pytest.raises(ValueError, match="2 labels|3 labels"):
        CrossEntropyLoss()(z, [0, 1, 2])
    with pytest.raises(ValueError, match="integer"):
        CrossEntropyLoss()(z, np.eye(3)[:2].ravel()[:2] + 0.5)
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        CrossEntropyLoss()(Tensor([1.0, 2.0]), [0])


@pytest.mark.parametrize("shape", [(2, 3, 5), (1, 4, 2), (2, 2, 3, 4)])
def test_cross_entropy_over_sequences(shape):
    """(B, T, C) logits with (B, T) labels: the mean over every position, gradient in (B, T, C)."""
    rng = np.random.default_rng(sum(shape))
    z = rng.normal(size=shape)
    y = rng.integers(0, shape[-1], size=shape[:-1])
    logits = Variable(z)
    loss = CrossEntropyLoss()(logits, Tensor(y))
    rows = z.reshape(-1, shape[-1])
    log_softmax = rows - np.log(np.exp(rows).sum(axis=1, keepdims=True))
    assert loss.item() == pytest.approx(-log_softmax[np.arange(rows.shape[0]), y.ravel()].mean(), rel=1e-9)
    loss.backward()
    assert logits.grad.shape == shape
    numeric = numerical_gradient(lambda v: CrossEntropyLoss()(v, y), z)
    np.testing.assert_allclose(logits.grad.data.data, numeric, atol=1e-6)
    plain = CrossEntropyLoss()(Tensor(z.astype(np.float32)), y)
    assert type(plain) is Tensor and plain.item() == pytest.approx(loss.item(), rel=1e-5)
    with pytest.raises(ValueError, match=r"need labels of shape"):
        CrossEntropyLoss()(logits, y.reshape(-1))


# ---- binary cross-entropy --------------------------------------------------------------------

@FAST
@given(logits_and_labels())
def test_bce_value_and_gradient(pair):
    x, y = pair
    t = (y[:, None] % 2 == 0).astype(np.float64) * np.ones_like(x)
    xv = Variable(x)
    loss = BinaryCrossEntropyLoss()(xv, t)
    ref = np.mean(np.logaddexp(0, x) - x * t)      # -[t log σ + (1-t) log(1-σ)]
    assert loss.item() == pytest.approx(ref, rel=1e-9, abs=1e-12)
    loss.backward()
    sigmoid = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(grad_of(xv), (sigmoid - t) / x.size, atol=1e-12)
    numeric = numerical_gradient(lambda v: BinaryCrossEntropyLoss()(v, t), x)
    np.testing.assert_allclose(grad_of(xv), numeric, atol=1e-6)


def test_bce_gradient_at_zero_is_sigmoid_minus_target():
    x = Variable(np.zeros((4, 1)))
    t = np.array([[0.0], [1.0], [1.0], [0.0]])
    BinaryCrossEntropyLoss()(x, t).backward()
    np.testing.assert_allclose(grad_of(x), (0.5 - t) / 4)


# ---- accuracy --------------------------------------------------------------------------------

@FAST
@given(logits_and_labels())
def test_accuracy_matches_argmax(pair):
    z, y = pair
    assert Accuracy()(Tensor(z), Tensor(y)) == pytest.approx(np.mean(z.argmax(axis=1) == y))


def test_accuracy_binary():
    assert Accuracy()(np.array([[0.7], [0.4], [0.9]]), np.array([1, 1, 1])) == pytest.approx(2 / 3)
    assert Accuracy(threshold=0.0)(np.array([-0.1, 0.1]), np.array([0, 1])) == 1.0


# ---- Trainer ---------------------------------------------------------------------------------

def clusters(seed=1):
    train = SimpleDataset(size=180, num_features=4, num_classes=3, seed=seed)
    val = SimpleDataset(size=60, num_features=4, num_classes=3, seed=seed)
    return DataLoader(train, 30, seed=0), DataLoader(val, 25, shuffle=False)


def new_trainer(lr=0.03, scheduler_step=None):
    np.random.seed(0)
    model = create_mlp(4, [16], 3, output_activation=None)
    optimizer = Adam(model.parameters(), learning_rate=lr)
    scheduler = StepLR(optimizer, scheduler_step, gamma=0.1) if scheduler_step else None
    return Trainer(model, optimizer, CrossEntropyLoss(), [Accuracy()], scheduler=scheduler)


def test_fit_records_history_and_learns():
    train, val = clusters()
    trainer = new_trainer(scheduler_step=2)
    history = trainer.fit(train, val, epochs=5, verbose=False)
    assert history["epoch"] == [1, 2, 3, 4, 5]
    assert history["lr"] == pytest.approx([0.03, 0.03, 0.003, 0.003, 0.0003])
    assert set(history) == {"epoch", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 5 for v in history.values())
    assert history["train_loss"][-1] < 0.5 * history["train_loss"][0]
    assert history["val_accuracy"][-1] >= 0.85
    assert trainer.history is history
    final = trainer.evaluate(val)
    assert final["accuracy"] == pytest.approx(history["val_accuracy"][-1])
    assert final["loss"] == pytest.approx(history["val_loss"][-1], rel=1e-5)


def test_evaluate_is_sample_weighted_and_changes_nothing():
    train, _ = clusters()
    trainer = new_trainer()
    before = [p.data.data.copy() for p in trainer.model.parameters()]
    dataset = train.dataset
    x = Tensor(dataset.data)
    logits = trainer.model(x)
    expected_loss = CrossEntropyLoss()(logits, dataset.labels).item()
    expected_acc = Accuracy()(logits, dataset.labels)
    result = trainer.evaluate(DataLoader(dataset, 7, shuffle=False))   # 180 = 25 * 7 + 5
    assert result["loss"] == pytest.approx(expected_loss, rel=1e-5)
    assert result["accuracy"] == pytest.approx(expected_acc)
    assert all(np.array_equal(b, p.data.data) for b, p in zip(before, trainer.model.parameters()))


def test_fit_without_validation_and_with_sgd_mse():
    np.random.seed(0)
    x = np.linspace(-1, 1, 64, dtype=np.float32).reshape(-1, 1)

    class Line(SimpleDataset):
        def __init__(self):
            self.data, self.labels, self.size = x, 3 * x[:, 0] - 1, 64

    model = create_mlp(1, [], 1, output_activation=None)
    trainer = Trainer(model, SGD(model.parameters(), learning_rate=0.2), MeanSquaredError())
    history = trainer.fit(DataLoader(Line(), 16, seed=0), epochs=30, verbose=False)
    assert set(history) == {"epoch", "lr", "train_loss"}
    assert history["train_loss"][-1] < 1e-3
    w, b = (p.data.data.item() for p in model.parameters())
    assert w == pytest.approx(3, abs=0.05) and b == pytest.approx(-1, abs=0.05)


def test_fit_is_quiet_when_not_a_terminal(monkeypatch, capsys):
    train, val = clusters()
    new_trainer().fit(train, val, epochs=1, verbose=False)
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("TINYTORCH_GRADING", "1")
    monkeypatch.setattr(sys, "stdout", type("Tty", (io.StringIO,), {"isatty": lambda self: True})())
    new_trainer().fit(train, val, epochs=1, verbose=False)
    assert sys.stdout.getvalue() == ""


def test_fit_verbose_prints_one_line_per_epoch(capsys):
    train, val = clusters()
    new_trainer().fit(train, val, epochs=3, verbose=True, progress=False)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[-1].startswith("epoch   3/3") and "val_accuracy" in lines[-1]


def test_fit_with_progress_bar_runs(capsys):
    train, val = clusters()
    history = new_trainer().fit(train, val, epochs=2, verbose=False, progress=True)
    assert len(history["train_loss"]) == 2


# ---- save / load -----------------------------------------------------------------------------

def test_save_load_round_trip_predicts_identically(tmp_path):
    train, val = clusters()
    trainer = new_trainer()
    trainer.fit(train, epochs=2, verbose=False)
    path = trainer.save(tmp_path / "model")
    assert path.endswith(".npz") and os.path.isfile(path)
    np.random.seed(5)
    other = new_trainer()
    for p in other.model.parameters():
        p.data.data[...] = np.random.normal(size=p.shape)
    other.load(path)
    x = Tensor(val.dataset.data)
    np.testing.assert_array_equal(np.asarray(trainer.model(x)), np.asarray(other.model(x)))
    # The optimizer still holds the same parameter objects, so training continues from the load.
    assert all(a is b for a, b in zip(other.optimizer.parameters, other.model.parameters()))


def test_load_rejects_mismatches(tmp_path):
    np.random.seed(0)
    path = save_parameters(create_mlp(4, [8], 3), tmp_path / "m.npz")
    with pytest.raises(ValueError, match="shape"):
        load_parameters(create_mlp(4, [9], 3), path)
    with pytest.raises(ValueError, match="parameters"):
        load_parameters(create_mlp(4, [8, 8], 3), path)


def test_plot_history_writes_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    from tinytorch.core.training import plot_history

    history = {"epoch": [1, 2], "lr": [0.1, 0.1], "train_loss": [1.0, 0.5], "val_loss": [1.1, 0.7],
               "train_accuracy": [0.5, 0.8], "val_accuracy": [0.4, 0.7]}
    plot_history(history, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 1000
