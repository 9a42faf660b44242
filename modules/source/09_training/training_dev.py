# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 09 — Training: losses, metrics and a training loop
#
# You have tensors, layers, networks, data loaders, gradients and optimizers. This module ties
# them together so that a network you built learns to read handwritten digits.
#
# **Goals of this module**
# - Measure how wrong a model is: mean squared error, cross-entropy (for classes) and binary
#   cross-entropy (for yes/no answers).
# - Write cross-entropy as **one** graph node with a hand-derived gradient, and check it.
# - Measure how right it is: accuracy.
# - Wrap the loop (forward, loss, backward, step) into a `Trainer` that records history.
# - Save a trained model's parameters and load them back.

# %%
#| default_exp core.training

# %%
#| export
import os
import sys

import numpy as np

from tinytorch.core.activations import Softmax
from tinytorch.core.autograd import GradFn, Variable
from tinytorch.core.tensor import Tensor

# %%
SHOW = __name__ == "__main__" and not os.environ.get("TINYTORCH_GRADING")  # demos only when you run it

# %% [markdown]
# ## Step 1 — Mean squared error
#
# For predictions $p$ and targets $t$ with $n$ elements in total,
#
# $$\text{MSE} = \frac{1}{n}\sum_i (p_i - t_i)^2 .$$
#
# Written with Tensor operators, the same code returns a plain `Tensor` for plain inputs and a
# `Variable` (with a graph behind it) when the predictions came from a network with parameters,
# so `loss.backward()` just works. `_as_target` (given) turns targets into a Tensor of the
# predictions' shape, or explains why it can't.

# %%
#| export
def _as_target(targets, predictions):
    """`targets` as a float Tensor with the predictions' shape (a (N,) vector may fill (N, 1))."""
    values = np.asarray(targets)
    dtype = predictions.dtype if predictions.dtype.kind == "f" else np.float32
    if values.shape != predictions.shape:
        if values.size != int(np.prod(predictions.shape)):
            raise ValueError(f"targets of shape {values.shape} don't match predictions of shape "
                             f"{tuple(predictions.shape)}")
        values = values.reshape(predictions.shape)
    return Tensor(values, dtype=dtype)


# %% nbgrader={"grade": false, "grade_id": "mse", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class MeanSquaredError:
    """Mean over all elements of (predictions - targets)²."""

    name = "mse"

    def forward(self, predictions, targets):
        """A scalar Tensor (a Variable when predictions is one): the mean squared difference."""
        if not isinstance(predictions, Tensor):
            predictions = Tensor(predictions)
        targets = _as_target(targets, predictions)
        # TODO: the difference, squared, averaged over every element — with Tensor operators
        #       (-, * or ** 2, .mean()), never through .data, so gradients can flow.
        ### BEGIN SOLUTION
        diff = predictions - targets
        return (diff * diff).mean()
        ### END SOLUTION

    def __call__(self, predictions, targets):
        return self.forward(predictions, targets)


# %% nbgrader={"grade": true, "grade_id": "test-mse", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
p = np.array([[0.5, 1.0], [2.0, -1.0]], dtype=np.float32)
t = np.array([[0.0, 1.0], [1.0, 1.0]], dtype=np.float32)
value = MeanSquaredError()(Tensor(p), Tensor(t))
assert isinstance(value, Tensor) and value.shape == (), \
    f"the loss should be a scalar Tensor (shape ()), got {value!r}"
assert np.isclose(value.item(), np.mean((p - t) ** 2)), f"MSE should be {np.mean((p - t) ** 2)}, got {value.item()}"
pv = Variable(p)
MeanSquaredError()(pv, t).backward()
assert pv.grad is not None and np.allclose(pv.grad.data.data, 2 * (p - t) / p.size), \
    f"d MSE / d p should be 2 (p - t) / n = {(2 * (p - t) / p.size).tolist()}, got {pv.grad!r}"
print("✅ MeanSquaredError: value and gradient")
### BEGIN HIDDEN TESTS
column = MeanSquaredError()(Tensor([[1.0], [2.0], [3.0]]), [1.0, 2.0, 5.0])
assert np.isclose(column.item(), 4.0 / 3.0), \
    f"targets (N,) should fill predictions (N, 1): expected 4/3, got {column.item()}"
assert MeanSquaredError()(Tensor(p), Tensor(p)).item() == 0.0, \
    f"MSE of p against itself should be 0.0, got {MeanSquaredError()(Tensor(p), Tensor(p)).item()}"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 2 — Cross-entropy from logits
#
# A classifier's last layer gives one raw score (a **logit**) $z_c$ per class. Softmax turns them
# into probabilities, and cross-entropy is the negative log-probability of the true class $y$,
# averaged over the $N$ samples of the batch:
#
# $$\log p_y = z_y - \log\sum_c e^{z_c}, \qquad L = -\frac{1}{N}\sum_n \log p_{y_n}.$$
#
# **Stability.** $e^{1000}$ overflows. Subtracting the row maximum $m$ first changes nothing
# mathematically — $\log\sum_c e^{z_c} = m + \log\sum_c e^{z_c - m}$ — and keeps every
# exponent $\le 0$. This is the *log-softmax* trick: never compute a probability and then take
# its log.
#
# **Gradient.** Differentiating $L$ by $z_{n,c}$ gives a strikingly simple result:
#
# $$\frac{\partial L}{\partial z_{n,c}} = \frac{\text{softmax}(z_n)_c - [c = y_n]}{N},$$
#
# the predicted probabilities minus the one-hot labels, divided by $N$. Rather than let autograd
# chain a dozen small nodes (max, subtract, exp, sum, log, index, mean), we compute the loss on
# the plain `Tensor` of the logits — with *your* module 01 methods, so no graph is built — take
# the probabilities from *your* module 02 `Softmax`, and record **one** node whose backward rule
# is this formula: fewer nodes, less memory, faster steps. First the value and the gradient:

# %% nbgrader={"grade": false, "grade_id": "softmax-cross-entropy", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def softmax_cross_entropy(logits, labels):
    """(loss, probabilities) as Tensors for logits (N, C) and integer labels (N,): mean of -log softmax(z)[y]."""
    z = logits if isinstance(logits, Tensor) else Tensor(logits, dtype=np.asarray(logits).dtype)
    labels = np.asarray(labels)
    rows = np.arange(len(labels))
    # TODO: with Tensor methods and operators on z (module 01):
    #       1. shifted = z minus each row's maximum (keepdims=True)
    #       2. log_sums = the log of the sum over axis 1 of shifted's exp: shifted.exp().sum(axis=1).log()
    #       3. the log-probability of the true class in row n: shifted[rows, labels] - log_sums
    #       4. loss = minus the mean of those
    #       and probabilities = Softmax()(z) (module 02). Return (loss, probabilities).
    ### BEGIN SOLUTION
    shifted = z - z.max(axis=1, keepdims=True)
    log_sums = shifted.exp().sum(axis=1).log()
    loss = -(shifted[rows, labels] - log_sums).mean()
    return loss, Softmax()(z)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "cross-entropy-gradient", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def cross_entropy_gradient(probabilities, labels):
    """d loss / d logits = (probabilities - onehot(labels)) / N, an (N, C) array."""
    probabilities, labels = np.asarray(probabilities), np.asarray(labels)
    # TODO: copy the probabilities, subtract 1 at [row n, column labels[n]] for every row, then
    #       divide by N. Don't change the array you were given.
    ### BEGIN SOLUTION
    grad = probabilities.copy()
    grad[np.arange(len(labels)), labels] -= 1
    grad /= len(labels)
    return grad
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-softmax-cross-entropy", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
z = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]], dtype=np.float32)
y = np.array([0, 1])
loss, probs = softmax_cross_entropy(z, y)
log_softmax = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
assert np.isclose(loss, -log_softmax[[0, 1], y].mean(), atol=1e-6), f"loss {loss} should be {-log_softmax[[0, 1], y].mean()}"
assert np.allclose(probs, np.exp(log_softmax), atol=1e-6) and np.allclose(probs.sum(axis=1), 1), \
    f"probs should be softmax(z) = {np.exp(log_softmax).round(4).tolist()} (rows summing to 1), got {np.round(probs, 4).tolist()}"
assert np.isclose(softmax_cross_entropy(np.zeros((4, 10)), np.arange(4))[0], np.log(10)), \
    f"equal logits: loss = log C = {np.log(10):.4f}, got {softmax_cross_entropy(np.zeros((4, 10)), np.arange(4))[0]}"
big, _ = softmax_cross_entropy(np.array([[1000.0, 0.0], [0.0, 1000.0]]), np.array([0, 0]))
assert np.isfinite(big) and np.isclose(big, 500.0), f"logits of 1000 must not overflow; got {big}"
grad = cross_entropy_gradient(probs, y)
onehot = np.eye(3)[y]
assert np.allclose(grad, (probs - onehot) / 2), \
    f"gradient should be (softmax - onehot) / N = {((probs - onehot) / 2).round(4).tolist()}, got {np.round(grad, 4).tolist()}"
assert np.allclose(probs.sum(axis=1), 1), \
    f"cross_entropy_gradient must not change its input: rows of probs should still sum to 1, got {probs.sum(axis=1)}"
print("✅ softmax_cross_entropy is stable and its gradient has the closed form")
### BEGIN HIDDEN TESTS
z32 = np.random.default_rng(3).normal(size=(5, 4)).astype(np.float32)
l32, p32 = softmax_cross_entropy(z32, np.array([0, 1, 2, 3, 0]))
assert np.asarray(l32).dtype == np.float32 and p32.dtype == np.float32, \
    f"float32 logits should give a float32 loss and probs, got {np.asarray(l32).dtype} and {p32.dtype}"
### END HIDDEN TESTS

# %% [markdown]
# Now the loss object. When the logits are a `Variable` that needs gradients, we build the graph
# node ourselves: `Variable(value, requires_grad=True, grad_fn=GradFn(name, edges))`, where
# `edges` lists `(input, rule)` pairs and `rule(g)` turns the gradient `g` arriving at the loss
# into the gradient for that input — exactly how module 07's operations record themselves. Here
# `g` is a scalar (usually 1), so the rule is `g * cross_entropy_gradient(probabilities, labels)`;
# that array is new, so it can be scaled in place (`grad *= g`) without allocating another.
#
# `_class_labels` (given) checks that the labels are whole numbers in `[0, C)`, one per row.
#
# Sequence models (module 13's GPT) predict a class at every position: logits `(B, T, C)` with
# labels `(B, T)`. `_as_rows` (given) reshapes them to `(B·T, C)` and `(B·T,)` — a `Variable`
# through its own `reshape`, so the gradient flows back in the `(B, T, C)` shape — and the loss
# is the mean over all `B·T` positions.

# %%
#| export
def _class_labels(labels, logits_shape):
    """Integer class labels (N,) that fit logits of shape (N, C); ValueError otherwise."""
    if len(logits_shape) != 2:
        raise ValueError(f"CrossEntropyLoss expects logits of shape (N, C), got {tuple(logits_shape)}")
    values = np.asarray(labels).reshape(-1)
    n, classes = logits_shape
    if values.shape[0] != n:
        raise ValueError(f"CrossEntropyLoss got {values.shape[0]} labels for {n} rows of logits")
    if values.dtype.kind not in "iub":
        if values.dtype.kind != "f" or not np.all(values == np.round(values)):
            raise ValueError("CrossEntropyLoss expects integer class labels (not one-hot rows)")
    values = values.astype(np.intp)
    # Seen as unsigned integers, negative labels become huge, so one max() checks both ends.
    if n and values.view(np.uintp).max() >= classes:
        raise ValueError(f"labels must lie in [0, {classes}), got values from {values.min()} to {values.max()}")
    return values


def _as_rows(logits, labels, shape):
    """(..., C) logits and (...) labels as (N, C) and (N,): a Variable is reshaped in the graph,
    so its gradient comes back in the shape it had."""
    label_shape = tuple(np.shape(labels._data if isinstance(labels, Tensor) else labels))
    if label_shape != shape[:-1]:
        raise ValueError(f"CrossEntropyLoss: logits of shape {shape} need labels of shape {shape[:-1]}, "
                         f"got {label_shape}")
    rows = logits.reshape(-1, shape[-1]) if isinstance(logits, Tensor) else np.reshape(logits, (-1, shape[-1]))
    flat = labels._data.reshape(-1) if isinstance(labels, Tensor) else np.reshape(labels, -1)
    return rows, flat


# %% nbgrader={"grade": false, "grade_id": "cross-entropy-loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class CrossEntropyLoss:
    """Mean cross-entropy of softmax(logits) against integer labels, as one graph node."""

    name = "cross_entropy"

    def forward(self, logits, labels):
        """A scalar: a Variable wired to `logits` when they need gradients, else a Tensor.
        Logits (N, C) with labels (N,), or (B, T, C) with labels (B, T): one row per position."""
        shape = tuple(np.shape(logits._data if isinstance(logits, Tensor) else logits))
        if len(shape) > 2:                      # a sequence model: the mean over every position
            return self.forward(*_as_rows(logits, labels, shape))
        if isinstance(logits, Tensor):            # a Variable's value is a Tensor: no graph is built
            z = logits.data if isinstance(logits, Variable) else logits
        else:
            values = np.asarray(logits)
            z = Tensor(values, dtype=values.dtype if values.dtype.kind == "f" else np.float32)
        if z.dtype.kind != "f":
            z = Tensor(z, dtype=np.float32)
        labels = _class_labels(labels, z.shape)
        loss, probabilities = softmax_cross_entropy(z, labels)
        if not (isinstance(logits, Variable) and logits.requires_grad):
            return loss
        # TODO: return a Variable holding `loss`, with requires_grad=True and a
        #       grad_fn=GradFn("CrossEntropy", [(logits, rule)]), where rule(g) returns
        #       g * cross_entropy_gradient(probabilities, labels) (scaled in place).
        ### BEGIN SOLUTION
        def rule(g):
            grad = cross_entropy_gradient(probabilities, labels)
            grad *= g
            return grad
        return Variable(loss, requires_grad=True, grad_fn=GradFn("CrossEntropy", [(logits, rule)]))
        ### END SOLUTION

    def __call__(self, logits, labels):
        return self.forward(logits, labels)


# %% [markdown]
# The gradient is checked two independent ways: against the closed form above, and against
# **central finite differences** — nudge each logit by ±h and watch the loss change.

# %% nbgrader={"grade": true, "grade_id": "test-cross-entropy-loss", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def _central_difference(f, x, h=1e-6):
    """Finite differences of sum(f(x)), computed here in the test: the reference a grade trusts."""
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
z = rng.normal(size=(4, 3))
y = np.array([2, 0, 1, 1])
criterion = CrossEntropyLoss()
logits = Variable(z)
loss = criterion(logits, Tensor(y))
assert isinstance(loss, Variable) and loss.requires_grad, \
    f"the loss of Variable logits must be a Variable in the graph (requires_grad), got {loss!r}"
loss.backward()
probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
assert logits.grad is not None and np.allclose(logits.grad.data.data, (probs - np.eye(3)[y]) / 4), \
    f"gradient should be (softmax - onehot) / N = {((probs - np.eye(3)[y]) / 4).round(4).tolist()}, got {logits.grad!r}"
numeric = _central_difference(lambda v: criterion(v, y), z)
assert np.allclose(logits.grad.data.data, numeric, atol=1e-6), \
    f"gradient disagrees with finite differences by up to {np.abs(logits.grad.data.data - numeric).max():.3g} (expected < 1e-6)"
plain = criterion(Tensor(z.astype(np.float32)), y)
assert isinstance(plain, Tensor) and not isinstance(plain, Variable), \
    f"plain Tensor logits give a plain Tensor loss, got a {type(plain).__name__}"
print("✅ CrossEntropyLoss: one node, gradient matches the closed form and finite differences")
### BEGIN HIDDEN TESTS
scaled = Variable(z)
(criterion(scaled, y) * 3.0).backward()
assert np.allclose(scaled.grad.data.data, 3 * (probs - np.eye(3)[y]) / 4), \
    f"the rule must scale with g: expected 3 (softmax - onehot) / N, got {scaled.grad!r}"
try:
    criterion(Tensor(z), np.array([0, 1, 2, 3]))
    raise AssertionError("label 3 with 3 classes should be rejected")
except ValueError:
    pass
### END HIDDEN TESTS

# %% [markdown]
# ## Step 3 — Binary cross-entropy from logits
#
# For yes/no problems the network gives one logit $x$ per sample; the probability of "yes" is
# $\sigma(x)$. The loss $-[t\log\sigma(x) + (1-t)\log(1-\sigma(x))]$ simplifies to
#
# $$\ell(x, t) = \max(x, 0) - x\,t + \log\bigl(1 + e^{-|x|}\bigr),$$
#
# which never overflows. Here we compose it from operations autograd already knows, so there is
# no backward rule to write. Write $-|x|$ as `np.minimum(-x, x)`: on a tie (x = 0) autograd sends
# the gradient to the second argument, which makes the gradient at 0 come out right,
# $\sigma(0) - t$.

# %% nbgrader={"grade": false, "grade_id": "bce", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class BinaryCrossEntropyLoss:
    """Mean binary cross-entropy of sigmoid(logits) against 0/1 targets, computed stably."""

    name = "bce"

    def forward(self, logits, targets):
        """A scalar Tensor (Variable for Variable logits): mean of max(x,0) - x t + log(1 + e^-|x|)."""
        if not isinstance(logits, Tensor):
            logits = Tensor(logits)
        targets = _as_target(targets, logits)
        # TODO: the formula above with Tensor operators and np.maximum / np.minimum / np.exp /
        #       np.log applied to the Tensor itself; then .mean().
        ### BEGIN SOLUTION
        x = logits
        losses = np.maximum(x, 0) - x * targets + np.log(1 + np.exp(np.minimum(-x, x)))
        return losses.mean()
        ### END SOLUTION

    def __call__(self, logits, targets):
        return self.forward(logits, targets)


# %% nbgrader={"grade": true, "grade_id": "test-bce", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = np.array([[-2.0], [0.5], [3.0], [-0.7]])
t = np.array([[0.0], [1.0], [0.0], [1.0]])
sig = 1 / (1 + np.exp(-x))
expected = -np.mean(t * np.log(sig) + (1 - t) * np.log(1 - sig))
value = BinaryCrossEntropyLoss()(Tensor(x), Tensor(t))
assert np.isclose(value.item(), expected, atol=1e-6), f"BCE should be {expected}, got {value.item()}"
xv = Variable(x)
BinaryCrossEntropyLoss()(xv, t).backward()
assert xv.grad is not None and np.allclose(xv.grad.data.data, (sig - t) / 4, atol=1e-6), \
    f"gradient should be (sigmoid(x) - t) / N = {((sig - t) / 4).round(4).tolist()}, got {xv.grad!r}"
huge = BinaryCrossEntropyLoss()(Tensor([[1000.0], [-1000.0]]), Tensor([[1.0], [0.0]]))
assert np.isfinite(huge.item()) and huge.item() < 1e-6, \
    f"large logits must not overflow: expected a finite loss near 0, got {huge.item()}"
print("✅ BinaryCrossEntropyLoss: stable, with the sigmoid - target gradient")
### BEGIN HIDDEN TESTS
wrong = BinaryCrossEntropyLoss()(Tensor([[1000.0]]), Tensor([[0.0]]))
assert np.isclose(wrong.item(), 1000.0), f"a confident wrong answer costs about |x| = 1000, got {wrong.item()}"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 4 — Accuracy
#
# Loss is what we optimise; accuracy is what we report. With one column per class the prediction
# is the column with the largest score (`argmax`). With a single column the output is read as a
# probability of class 1 and compared with `threshold` (0.5; use 0.0 for logits).

# %% nbgrader={"grade": false, "grade_id": "accuracy", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Accuracy:
    """Fraction of samples whose predicted class equals the label."""

    name = "accuracy"

    def __init__(self, threshold=0.5):
        self.threshold = threshold

    def __call__(self, predictions, targets):
        """A float in [0, 1]; predictions (N, C) scores or (N,)/(N, 1) probabilities, targets (N,)."""
        scores = np.asarray(predictions)
        labels = np.asarray(targets).reshape(-1)
        # TODO: if scores has 2 axes and more than one column: predicted = argmax over axis 1;
        #       otherwise: predicted = (scores.reshape(-1) > self.threshold) as integers.
        #       Return the mean of (predicted == labels) as a Python float.
        ### BEGIN SOLUTION
        if scores.ndim == 2 and scores.shape[1] > 1:
            predicted = scores.argmax(axis=1)
        else:
            predicted = (scores.reshape(-1) > self.threshold).astype(np.int64)
        return float(np.mean(predicted == labels))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-accuracy", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
acc = Accuracy()
scores_acc = acc(Tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]), Tensor([1, 0, 0]))
assert scores_acc == 2 / 3, f"class scores: the argmax is right for 2 of 3 rows, expected {2 / 3}, got {scores_acc}"
prob_acc = acc(np.array([[0.9], [0.2], [0.6], [0.4]]), np.array([1, 0, 0, 0]))
assert prob_acc == 0.75, f"probabilities (N, 1) thresholded at 0.5: 3 of 4 right, expected 0.75, got {prob_acc}"
assert isinstance(acc(np.eye(3), np.arange(3)), float), \
    f"accuracy should be a Python float, got a {type(acc(np.eye(3), np.arange(3))).__name__}"
print("✅ Accuracy for class scores and for probabilities")
### BEGIN HIDDEN TESTS
logit_acc = Accuracy(threshold=0.0)(np.array([-1.0, 2.0, 0.5]), np.array([0, 1, 0]))
assert logit_acc == 2 / 3, f"threshold=0.0 on logits: 2 of 3 right, expected {2 / 3}, got {logit_acc}"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 5 — The Trainer
#
# Every training loop is the same: for each batch, **forward** → **loss** → `zero_grad()` →
# **backward** → **step**. Per epoch we average the loss and metrics over the samples, then
# measure the same on held-out validation data without updating anything. `Trainer` packages
# that:
#
# ```python
# trainer = Trainer(model, Adam(model.parameters(), 0.001), CrossEntropyLoss(), [Accuracy()])
# history = trainer.fit(train_loader, val_loader, epochs=20)
# history["val_accuracy"][-1]
# ```
#
# `history` maps `"epoch"`, `"lr"`, `"train_loss"`, `"val_loss"` and `"train_<metric>"` /
# `"val_<metric>"` to lists with one entry per epoch (the `val_` keys only when there is a
# `val_loader`). An optional `scheduler` (such as `StepLR` from module 08) gets one `step()` at
# the start of every epoch. By default the progress bar (rich) appears only in a terminal and
# never under the grader; `_Averages` and `_progress` are given.

# %%
#| export
class _Averages:
    """Sample-weighted running means of the loss and each metric over one epoch."""

    def __init__(self, names):
        self.totals = dict.fromkeys(names, 0.0)
        self.count = 0

    def add(self, values, n):
        for name, value in values.items():
            self.totals[name] += value * n
        self.count += n

    def means(self):
        return {name: total / max(self.count, 1) for name, total in self.totals.items()}


def _progress(enabled):
    """A rich Progress (transient) when enabled, else None."""
    if not enabled:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[status]}"), TimeRemainingColumn(), transient=True)


def _interactive():
    """Show a progress bar? Only in a terminal, and never while grading."""
    return sys.stdout.isatty() and not os.environ.get("TINYTORCH_GRADING")


# %% nbgrader={"grade": false, "grade_id": "trainer", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Trainer:
    """Trains `model` with `optimizer` on `loss_function`, tracking `metrics` per epoch."""

    def __init__(self, model, optimizer, loss_function, metrics=None, scheduler=None):
        self.model = model
        self.optimizer = optimizer
        self.loss_function = loss_function
        self.metrics = list(metrics or [])
        self.scheduler = scheduler
        self.history = {}

    def _names(self):
        return ["loss"] + [metric.name for metric in self.metrics]

    def _measure(self, outputs, loss, targets):
        values = {"loss": float(loss.item())}
        for metric in self.metrics:
            values[metric.name] = float(metric(outputs, targets))
        return values

    def train_step(self, inputs, targets):
        """One update on one batch; returns {"loss": ..., metric names: ...} for that batch."""
        # TODO: outputs = self.model(inputs); loss = self.loss_function(outputs, targets);
        #       zero the gradients, backward, optimizer step;
        #       return self._measure(outputs, loss, targets).
        ### BEGIN SOLUTION
        outputs = self.model(inputs)
        loss = self.loss_function(outputs, targets)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return self._measure(outputs, loss, targets)
        ### END SOLUTION

    def train_epoch(self, loader, progress=None):
        """One pass over `loader` with updates; sample-weighted mean loss and metrics."""
        averages = _Averages(self._names())
        task = progress.add_task("train", total=len(loader), status="") if progress else None
        for inputs, targets in loader:
            values = self.train_step(inputs, targets)
            averages.add(values, len(targets))
            if progress:
                progress.update(task, advance=1, status=f"loss {values['loss']:.4f}")
        if progress:
            progress.remove_task(task)
        return averages.means()

    def evaluate(self, loader):
        """Mean loss and metrics over `loader`, without changing the model."""
        # TODO: like train_epoch, but each batch only runs the model and measures
        #       (no zero_grad, backward or step). Use _Averages(self._names()).
        ### BEGIN SOLUTION
        averages = _Averages(self._names())
        for inputs, targets in loader:
            outputs = self.model(inputs)
            loss = self.loss_function(outputs, targets)
            averages.add(self._measure(outputs, loss, targets), len(targets))
        return averages.means()
        ### END SOLUTION

    def fit(self, train_loader, val_loader=None, epochs=10, verbose=True, progress=None):
        """Train for `epochs`; returns (and keeps in self.history) the per-epoch history dict."""
        show_bar = _interactive() if progress is None else bool(progress)
        history = {"epoch": [], "lr": []}
        for split in ("train", "val") if val_loader is not None else ("train",):
            for name in self._names():
                history[f"{split}_{name}"] = []
        bar = _progress(show_bar)
        if bar:
            bar.start()
        try:
            for epoch in range(1, epochs + 1):
                # TODO: 1. if self.scheduler: call its step()
                #       2. results = {"train": self.train_epoch(train_loader, bar)}, and
                #          results["val"] = self.evaluate(val_loader) when there is a val_loader
                #       3. append epoch and self.optimizer.learning_rate to history, and each
                #          result to history[f"{split}_{name}"]
                ### BEGIN SOLUTION
                if self.scheduler is not None:
                    self.scheduler.step()
                results = {"train": self.train_epoch(train_loader, bar)}
                if val_loader is not None:
                    results["val"] = self.evaluate(val_loader)
                history["epoch"].append(epoch)
                history["lr"].append(self.optimizer.learning_rate)
                for split, values in results.items():
                    for name, value in values.items():
                        history[f"{split}_{name}"].append(value)
                ### END SOLUTION
                if verbose:
                    shown = "  ".join(f"{key} {values[-1]:.4f}" for key, values in history.items()
                                      if key not in ("epoch", "lr"))
                    print(f"epoch {epoch:3d}/{epochs}  {shown}")
        finally:
            if bar:
                bar.stop()
        self.history = history
        return history

    def save(self, path):
        """Save the model's parameters to a .npz file (see save_parameters)."""
        return save_parameters(self.model, path)

    def load(self, path):
        """Load parameters saved by `save` into the model."""
        load_parameters(self.model, path)


# %% [markdown]
# A quick check on a problem small enough to train in a blink: three clusters of points
# (`SimpleDataset` from module 06) and a small MLP with no output activation (the logits go
# straight into `CrossEntropyLoss`). One seeded data set of 300 points gives the same clusters
# to both parts: the first 240 points train, the last 60 validate.

# %% nbgrader={"grade": true, "grade_id": "test-trainer", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
from tinytorch.core.dataloader import DataLoader, SimpleDataset
from tinytorch.core.networks import create_mlp
from tinytorch.core.optimizers import Adam, StepLR

np.random.seed(0)
clusters = SimpleDataset(size=300, num_features=4, num_classes=3, seed=1)
train_data = SimpleDataset(size=240, num_features=4, num_classes=3, seed=1)   # = the first 240 points
val_data = SimpleDataset(size=60, num_features=4, num_classes=3, seed=1)
val_data.data, val_data.labels = clusters.data[240:], clusters.labels[240:]  # 60 points never trained on
model = create_mlp(4, [16], 3, output_activation=None)
optimizer = Adam(model.parameters(), learning_rate=0.03)
trainer = Trainer(model, optimizer, CrossEntropyLoss(), [Accuracy()], scheduler=StepLR(optimizer, 2, gamma=0.5))
history = trainer.fit(DataLoader(train_data, 32, seed=0), DataLoader(val_data, 32, shuffle=False), epochs=4, verbose=False)
for key in ("epoch", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy"):
    assert len(history[key]) == 4, f"history[{key!r}] should have one entry per epoch (4), got {len(history[key])}"
assert history["train_loss"][-1] < history["train_loss"][0], f"training loss should fall from epoch 1 to 4, got {history['train_loss']}"
assert history["val_accuracy"][-1] > 0.85, f"the clusters are easy: expected validation accuracy > 0.85, got {history['val_accuracy'][-1]}"
assert np.allclose(history["lr"], [0.03, 0.03, 0.015, 0.015]), f"StepLR steps once per epoch: expected lr [0.03, 0.03, 0.015, 0.015], got {history['lr']}"
assert trainer.history is history, "fit() should return the very dict it keeps in trainer.history, got a different object"
print("✅ Trainer.fit learns the clusters:", [round(a, 3) for a in history["val_accuracy"]])
### BEGIN HIDDEN TESTS
before = [p.data.data.copy() for p in model.parameters()]
again = trainer.evaluate(DataLoader(val_data, 7, shuffle=False))
assert all(np.array_equal(b, p.data.data) for b, p in zip(before, model.parameters())), "evaluate must not train, but the parameters changed"
assert np.isclose(again["accuracy"], history["val_accuracy"][-1]), f"accuracy must not depend on the batch size: expected {history['val_accuracy'][-1]}, got {again['accuracy']}"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 6 — Saving and loading
#
# A trained model is just its parameter arrays. `np.savez` stores several arrays in one `.npz`
# file under names of our choosing; we use `param_0`, `param_1`, … in `model.parameters()`
# order. Loading copies each array **into** the existing parameter (`array[...] = saved`), so
# optimizers and layers holding the parameter see the new values. A different number of
# parameters is refused before anything is copied; a parameter of the wrong shape raises an
# error that names both shapes.

# %% nbgrader={"grade": false, "grade_id": "save-load", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def save_parameters(model, path):
    """Write model.parameters() to `path` (.npz, keys param_0, param_1, ...); returns the path."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"                       # np.savez would add it anyway
    # TODO: np.savez(path, **{f"param_{i}": np.asarray(p) for each parameter p, i counting from 0})
    ### BEGIN SOLUTION
    np.savez(path, **{f"param_{i}": np.asarray(p) for i, p in enumerate(model.parameters())})
    ### END SOLUTION
    return path


def load_parameters(model, path):
    """Copy the arrays saved by save_parameters into model.parameters(), in place."""
    params = model.parameters()
    with np.load(os.fspath(path)) as saved:
        if len(saved.files) != len(params):
            raise ValueError(f"{path} holds {len(saved.files)} parameters, the model has {len(params)}")
        # TODO: for each i, p: values = saved[f"param_{i}"]; target = np.asarray(p);
        #       raise ValueError naming both shapes if they differ; else target[...] = values.
        ### BEGIN SOLUTION
        for i, p in enumerate(params):
            values, target = saved[f"param_{i}"], np.asarray(p)
            if values.shape != target.shape:
                raise ValueError(f"parameter {i}: saved shape {values.shape}, model shape {target.shape}")
            target[...] = values
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-save-load", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import tempfile

np.random.seed(1)
first, second = create_mlp(4, [8], 3, output_activation=None), create_mlp(4, [8], 3, output_activation=None)
inputs = Tensor(np.random.default_rng(2).normal(size=(5, 4)).astype(np.float32))
with tempfile.TemporaryDirectory() as folder:
    file = save_parameters(first, os.path.join(folder, "model"))
    assert file.endswith(".npz") and os.path.isfile(file), f"save_parameters should write and return a .npz file, got {file!r}"
    load_parameters(second, file)
    assert np.array_equal(np.asarray(first(inputs)), np.asarray(second(inputs))), "a loaded model should predict identically, but its outputs differ"
    try:
        load_parameters(create_mlp(4, [9], 3), file)
        raise AssertionError("loading into a different shape must fail")
    except ValueError:
        pass
print("✅ save_parameters / load_parameters round-trip")
### BEGIN HIDDEN TESTS
with tempfile.TemporaryDirectory() as folder:
    file = save_parameters(first, os.path.join(folder, "m.npz"))
    with np.load(file) as saved:
        assert sorted(saved.files) == ["param_0", "param_1", "param_2", "param_3"], \
            f"expected the arrays param_0 … param_3, got {sorted(saved.files)}"
        assert all(np.array_equal(saved[f"param_{i}"], np.asarray(p)) for i, p in enumerate(first.parameters())), \
            "param_i should hold the i-th parameter's values, but they differ"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 7 — Real digits, and the learning curves
#
# Time for the real thing: the 8×8 digits from module 06, an MLP `64 → 128 → 64 → 10`, Adam.
# A few seconds of training pass 95 % accuracy on digits the network has never seen (about
# 97 % after 15 epochs). `plot_history` (given) draws the loss and accuracy curves from a history.

# %%
#| export
def plot_history(history, path=None):
    """Loss and accuracy curves from Trainer.fit's history; saved to `path`, or shown."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    for key, values in history.items():
        if key.endswith("_loss"):
            left.plot(history["epoch"], values, label=key)
        elif key.endswith("_accuracy"):
            right.plot(history["epoch"], values, label=key)
    for axes, title in ((left, "loss"), (right, "accuracy")):
        axes.set_xlabel("epoch")
        axes.set_title(title)
        axes.legend()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
        plt.close(fig)
    else:
        plt.show()
    return fig


# %%
if SHOW:
    from tinytorch.core.dataloader import DataLoader, DigitsDataset
    from tinytorch.core.networks import create_mlp
    from tinytorch.core.optimizers import Adam

    np.random.seed(0)
    digits_model = create_mlp(64, [128, 64], 10, output_activation=None)
    digits_trainer = Trainer(digits_model, Adam(digits_model.parameters(), 0.002), CrossEntropyLoss(), [Accuracy()])
    digits_history = digits_trainer.fit(DataLoader(DigitsDataset(train=True, flatten=True), 32, seed=0),
                                        DataLoader(DigitsDataset(train=False, flatten=True), 128, shuffle=False),
                                        epochs=15)
    plot_history(digits_history)

# %% [markdown]
# ## What you built
#
# `tinytorch.core.training` holds the losses (`MeanSquaredError`, `CrossEntropyLoss`,
# `BinaryCrossEntropyLoss`), the `Accuracy` metric, the `Trainer`, and `save_parameters` /
# `load_parameters`:
#
# ```python
# from tinytorch.core.training import Trainer, CrossEntropyLoss, Accuracy
# ```
#
# With them the course comes full circle. Run the milestones from a terminal:
#
# ```bash
# tito milestone run 01    # an MLP reads handwritten digits (≥ 95 % on unseen digits)
# tito milestone run 02    # a small CNN does better (≥ 97 %)
# ```

# %% [markdown]
# ## Exercises (not graded)
#
# 1. Train the digits MLP with `learning_rate` 10× larger and 10× smaller than in Step 7 and plot
#    `history["train_loss"]` for all three: which symptoms of the learning-rate picture in module 08
#    do you recognise?
# 2. Pass a `StepLR` scheduler to the `Trainer` of Step 7 and compare `history["lr"]` with the
#    learning curves.
# 3. Use `save_parameters` / `load_parameters` to keep the model with the best `val_accuracy`
#    across epochs, and check that reloading it gives the same accuracy.
