# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 08 — Optimizers: turning gradients into learning
#
# Module 07 tells us, for every parameter, which way the loss goes up. An optimizer uses that to
# move the parameters a little way *down*, step after step.
#
# **Goals of this module**
# - Write the basic gradient-descent update and see why the learning rate matters.
# - Build `SGD` with momentum and weight decay, and `Adam` with bias-corrected moments.
# - Schedule the learning rate with `StepLR`.
# - Train a tiny model end to end with each optimizer.
# - Measure what a training step costs next to the same step written by hand in NumPy.

# %%
#| default_exp core.optimizers

# %%
#| export
import numpy as np

from tinytorch.core.autograd import Variable, add, multiply, subtract
from tinytorch.core.tensor import Tensor

# %% [markdown]
# ## Step 1 — One step of gradient descent
#
# For a parameter `θ` with gradient `∇L(θ)`, one step of gradient descent is
#
# $$\theta \leftarrow \theta - \alpha\,\nabla L(\theta)$$
#
# where `α` is the learning rate. Too large and the steps overshoot the minimum; too small and
# training crawls. A parameter whose `grad` is `None` (nothing flowed back to it) is left alone.
#
# The value of a `Variable` is `param.data` (a `Tensor`), whose NumPy array is `param.data.data`;
# its gradient's array is `param.grad.data.data`. The same arrays sit in `param._data` and
# `param.grad._data` (where module 01's `Tensor` stores them), one attribute away instead of
# two — an optimizer touches them for every parameter at every step, so the code below uses
# `_data`. We update the array **in place** (`-=`): no new parameter array per step, and anything
# holding the parameter sees the new value.

# %% nbgrader={"grade": false, "grade_id": "gradient-descent-step", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def gradient_descent_step(parameter, learning_rate):
    """parameter ← parameter − learning_rate · parameter.grad (nothing happens when grad is None)."""
    # TODO: if parameter.grad is not None, subtract learning_rate * gradient array from the
    # parameter's array in place.
    ### BEGIN SOLUTION
    if parameter.grad is not None:
        _update(parameter, learning_rate * parameter.grad._data)
    ### END SOLUTION


# %% [markdown]
# `_update` (given) does the in-place subtraction. Where that is impossible (a read-only or
# integer array, or a step of another shape) it stores a new array instead, as
# `param.data = Tensor(...)` would.

# %%
#| export
def _update(param, step):
    """param.data ← param.data − step, in place when possible."""
    values = param._data
    try:
        values -= step
    except (TypeError, ValueError):      # read-only, integer, or a step of another shape
        param.data = Tensor(values - step)


def _check_optimizer_args(parameters, learning_rate):
    """The parameter list, or a clear error for bad input."""
    params = list(parameters)
    if not params:
        raise ValueError("optimizer got an empty parameter list; pass e.g. model.parameters()")
    for index, p in enumerate(params):
        if not isinstance(p, Variable):
            raise TypeError(f"optimizer parameters must be Variables; parameter {index} is a "
                            f"{type(p).__name__} (did module 07's autograd get exported?)")
    if not isinstance(learning_rate, (int, float, np.number)) or not learning_rate >= 0:
        raise ValueError(f"learning_rate must be a non-negative number, got {learning_rate!r}")
    return params


# %% nbgrader={"grade": true, "grade_id": "test-gradient-descent", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
w = Variable(2.0, requires_grad=True)
w.grad = Variable(0.5)
gradient_descent_step(w, learning_rate=0.1)
assert abs(w.data.data.item() - 1.95) < 1e-6, f"2.0 - 0.1 * 0.5 = 1.95, got {w.data.data.item()}"
w2 = Variable(1.0)
w2.grad = Variable(-0.2)
gradient_descent_step(w2, learning_rate=0.1)
assert abs(w2.data.data.item() - 1.02) < 1e-6, "a negative gradient moves the parameter up"
w3 = Variable(3.0)
gradient_descent_step(w3, learning_rate=0.1)
assert w3.data.data.item() == 3.0, "no gradient, no update"
print("✅ gradient_descent_step moves against the gradient")
### BEGIN HIDDEN TESTS
v = Variable(np.array([1.0, 2.0], dtype=np.float32))
values = v.data.data
v.grad = Variable(np.array([1.0, -1.0], dtype=np.float32))
gradient_descent_step(v, 0.5)
assert np.allclose(v.data.data, [0.5, 2.5]) and v.data.data is values, "update in place"
### END HIDDEN TESTS

# %% [markdown]
# ### See it: what the learning rate does
#
# Your `gradient_descent_step` on the bowl `L(θ) = ½(0.2·θ₁² + 4·θ₂²)`, from `θ = (-4.5, 1.5)`,
# for four learning rates. Along `θ₂` the bowl curves with strength 4, so each step multiplies
# `θ₂` by `1 − 4α`: below `α = 0.25` it creeps in, up to `0.5` it overshoots and swings back, and
# past `2 / 4 = 0.5` every swing is bigger than the last — the loss explodes. The flat `θ₁`
# direction (curvature 0.2) then sets the pace: even at `α = 0.45` a step removes only 9 % of `θ₁`
# (`1 − 0.2·0.45 = 0.91`).

# %% tags=["hide-input"]
import os

if __name__ == "__main__" and not os.environ.get("TINYTORCH_GRADING"):
    try:
        import matplotlib.pyplot as plt

        curvature = Tensor(np.array([0.2, 4.0]))

        def bowl(theta):
            """½ Σ curvature·θ², built from Variable operations so backward() can differentiate it."""
            return (theta * theta * curvature).sum() * 0.5

        fig, ax = plt.subplots(figsize=(7, 3.5))
        for rate in (0.05, 0.2, 0.45, 0.52):
            theta = Variable(np.array([-4.5, 1.5]))
            losses = []
            for _ in range(40):
                loss = bowl(theta)
                losses.append(loss.item())
                theta.zero_grad()
                loss.backward()
                gradient_descent_step(theta, rate)
            ax.semilogy(losses, label=f"α = {rate}")
        ax.set_xlabel("step")
        ax.set_ylabel("loss (log scale)")
        ax.set_title("gradient descent on the bowl, four learning rates")
        ax.legend()
        fig.tight_layout()
        plt.show()
    except NotImplementedError:
        print("Finish gradient_descent_step (and module 07's Variable) to see the learning-rate sweep.")

# %% [markdown]
# ## Step 2 — SGD with momentum
#
# Plain gradient descent zig-zags across narrow valleys. **Momentum** keeps a running velocity
# `v` (a buffer per parameter), so steps in a consistent direction build up and oscillations
# cancel:
#
# $$g \leftarrow \nabla L(\theta) + \lambda\theta \qquad v \leftarrow \mu v + g \qquad \theta \leftarrow \theta - \alpha v$$
#
# `λ` is the **weight decay** (L2 regularisation: it pulls weights towards zero), `μ` the momentum.
# On the first step `v` starts at zero, so `v = g`. These are exactly the updates of
# `torch.optim.SGD` with the same settings.
#
# With momentum, `SGD` keeps the buffers `v` in `momentum_buffers`, a dict keyed by `id(param)`
# (with `μ = 0`, `v` is just `g` and there is nothing to keep), and it counts calls to
# `step()` in `step_count`. `zero_grad()` sets every parameter's `grad` to `None` — call it before
# each `backward()`, because gradients accumulate.

# %% nbgrader={"grade": false, "grade_id": "sgd-class", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class SGD:
    """Stochastic gradient descent with momentum and weight decay."""

    def __init__(self, parameters, learning_rate=0.01, momentum=0.0, weight_decay=0.0):
        self.parameters = _check_optimizer_args(parameters, learning_rate)
        if not momentum >= 0 or not weight_decay >= 0:
            raise ValueError(f"momentum and weight_decay must be non-negative, got {momentum!r} and {weight_decay!r}")
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.momentum_buffers = {}
        self.step_count = 0

    def step(self):
        """Update every parameter that has a gradient."""
        # TODO: for each parameter with a gradient: g = its gradient array (plus weight_decay *
        # the parameter's array when weight_decay > 0); with momentum, update its buffer in
        # self.momentum_buffers[id(param)] (v = momentum * v + g, or a copy of g the first time)
        # and use v as g; then `_update(param, self.learning_rate * g)`. Finally add 1 to step_count.
        ### BEGIN SOLUTION
        momentum, decay, lr = self.momentum, self.weight_decay, self.learning_rate
        for param in self.parameters:
            grad = param.grad
            if grad is None:
                continue
            g = grad._data
            if decay > 0:
                g = g + decay * param._data
            if momentum:
                key = id(param)
                velocity = self.momentum_buffers.get(key)
                if velocity is None:
                    velocity = g.copy()
                else:
                    velocity *= momentum
                    velocity += g
                self.momentum_buffers[key] = velocity
                g = velocity
            _update(param, lr * g)
        self.step_count += 1
        ### END SOLUTION

    def zero_grad(self):
        """Clear every parameter's gradient (set it to None)."""
        for param in self.parameters:
            param.grad = None


# %% nbgrader={"grade": true, "grade_id": "test-sgd", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
w1, w2, b = Variable(1.0), Variable(2.0), Variable(0.5)
optimizer = SGD([w1, w2, b], learning_rate=0.1, momentum=0.9)
w1.grad, w2.grad, b.grad = Variable(0.1), Variable(0.2), Variable(0.05)
optimizer.zero_grad()
assert w1.grad is None and w2.grad is None and b.grad is None, "zero_grad sets grads to None"
w1.grad, w2.grad, b.grad = Variable(0.1), Variable(0.2), Variable(0.05)
optimizer.step()
assert abs(w1.data.data.item() - 0.99) < 1e-6, "first step: 1.0 - 0.1 * 0.1"
w1.grad, w2.grad, b.grad = Variable(0.1), Variable(0.2), Variable(0.05)
optimizer.step()
# velocity = 0.9 * 0.1 + 0.1 = 0.19, so w1 = 0.99 - 0.019 = 0.971
assert abs(w1.data.data.item() - 0.971) < 1e-6, f"second step with momentum: expected 0.971, got {w1.data.data.item()}"
assert len(optimizer.momentum_buffers) == 3 and optimizer.step_count == 2, \
    (f"one momentum buffer per parameter (3) and 2 steps counted, got {len(optimizer.momentum_buffers)} "
     f"buffers and step_count {optimizer.step_count}")
print("✅ SGD with momentum matches the hand-computed steps")
### BEGIN HIDDEN TESTS
p = Variable(1.0)
opt = SGD([p], learning_rate=0.1, weight_decay=0.5)
p.grad = Variable(0.2)
opt.step()
assert abs(p.data.data.item() - (1.0 - 0.1 * (0.2 + 0.5 * 1.0))) < 1e-6, "weight decay adds λθ to the gradient"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 3 — Adam
#
# Adam gives every parameter element its own step size. It keeps two running averages per
# parameter — of the gradient (`m`, the *first moment*) and of its square (`v`, the *second
# moment*) — and, at step `t`:
#
# $$m \leftarrow \beta_1 m + (1-\beta_1) g \qquad v \leftarrow \beta_2 v + (1-\beta_2) g^2$$
# $$\hat m = \frac{m}{1-\beta_1^t} \qquad \hat v = \frac{v}{1-\beta_2^t} \qquad \theta \leftarrow \theta - \alpha\,\frac{\hat m}{\sqrt{\hat v} + \epsilon}$$
#
# Both averages start at zero, so early on they are too small; dividing by `1 − βᵗ` (the **bias
# correction**) fixes that. An element with consistently large gradients gets `m̂/√v̂ ≈ ±1`: its
# step is about `α` whatever the gradient's scale. Weight decay, when set, is added to the gradient
# as in SGD — the same definition as `torch.optim.Adam`.
#
# `step_count` is `t`; it goes up by one at the start of every `step()`. The moments live in
# `first_moment` and `second_moment`, dicts keyed by `id(param)`.

# %% nbgrader={"grade": false, "grade_id": "adam-class", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Adam:
    """Adam: adaptive per-element steps from bias-corrected moment estimates."""

    def __init__(self, parameters, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 weight_decay=0.0):
        self.parameters = _check_optimizer_args(parameters, learning_rate)
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"beta1 and beta2 must lie in [0, 1), got {beta1!r} and {beta2!r}")
        if not epsilon >= 0 or not weight_decay >= 0:
            raise ValueError(f"epsilon and weight_decay must be non-negative, got {epsilon!r} and {weight_decay!r}")
        self.learning_rate = learning_rate
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.weight_decay = weight_decay
        self.first_moment = {}
        self.second_moment = {}
        self.step_count = 0

    def step(self):
        """One Adam update of every parameter that has a gradient."""
        # TODO: add 1 to step_count; then for each parameter with a gradient, apply weight decay
        # as in SGD, update m and v (start them as zeros shaped like the parameter), compute the
        # bias-corrected m̂ and v̂, and `_update(param, learning_rate * m̂ / (sqrt(v̂) + epsilon))`.
        ### BEGIN SOLUTION
        self.step_count += 1
        t = self.step_count
        correction1 = 1 - self.beta1 ** t
        root_correction2 = np.sqrt(1 - self.beta2 ** t)
        for param in self.parameters:
            if param.grad is None:
                continue
            g = param.grad._data
            if self.weight_decay > 0:
                g = g + self.weight_decay * param._data
            key = id(param)
            if key not in self.first_moment:
                self.first_moment[key] = np.zeros_like(param._data)
                self.second_moment[key] = np.zeros_like(param._data)
            m, v = self.first_moment[key], self.second_moment[key]
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * (g * g)
            # m̂ / (√v̂ + ε), written as (m / c1) / (√v / √c2 + ε) to save two temporaries
            denominator = np.sqrt(v) / root_correction2 + self.epsilon
            _update(param, (self.learning_rate / correction1) * m / denominator)
        ### END SOLUTION

    def zero_grad(self):
        """Clear every parameter's gradient (set it to None)."""
        for param in self.parameters:
            param.grad = None


# %% nbgrader={"grade": true, "grade_id": "test-adam", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
w1, w2, b = Variable(1.0), Variable(2.0), Variable(0.5)
optimizer = Adam([w1, w2, b], learning_rate=0.001, beta1=0.9, beta2=0.999)
w1.grad, w2.grad, b.grad = Variable(0.1), Variable(0.2), Variable(0.05)
optimizer.zero_grad()
assert w1.grad is None and w2.grad is None and b.grad is None, \
    f"zero_grad sets every grad to None, got {w1.grad!r}, {w2.grad!r}, {b.grad!r}"
w1.grad, w2.grad, b.grad = Variable(0.1), Variable(0.2), Variable(0.05)
optimizer.step()
# step 1: m̂ = g and v̂ = g², so every parameter moves by lr * g / (|g| + ε) ≈ 0.001
assert abs(w1.data.data.item() - (1.0 - 0.001)) < 1e-6 and abs(w2.data.data.item() - (2.0 - 0.001)) < 1e-6, \
    f"the first Adam step moves each parameter by lr = 0.001: expected 0.999 and 1.999, got {w1.data.data.item():.6f} and {w2.data.data.item():.6f}"
assert optimizer.step_count == 1 and len(optimizer.first_moment) == 3 and len(optimizer.second_moment) == 3, \
    (f"after one step: step_count 1 and a first and second moment per parameter (3 each), got step_count "
     f"{optimizer.step_count}, {len(optimizer.first_moment)} and {len(optimizer.second_moment)}")
for _ in range(5):
    w1.grad, w2.grad, b.grad = Variable(0.1), Variable(0.2), Variable(0.05)
    optimizer.step()
assert optimizer.step_count == 6, f"six steps were taken, step_count is {optimizer.step_count}"
assert abs(w1.data.data.item() - (1.0 - 0.006)) < 1e-5, "a constant gradient moves Adam by lr per step"
print("✅ Adam's bias-corrected steps match the hand computation")
### BEGIN HIDDEN TESTS
p = Variable(0.0)
opt = Adam([p], learning_rate=0.1)
p.grad = Variable(1.0)
opt.step()
p.grad = Variable(-1.0)
opt.step()
m = 0.9 * 0.1 - 0.1          # -0.01
v = 0.999 * 0.001 + 0.001    # 0.001999
expected = -0.1 - 0.1 * (m / (1 - 0.81)) / (np.sqrt(v / (1 - 0.999 ** 2)) + 1e-8)
assert abs(p.data.data.item() - expected) < 1e-5, \
    f"two Adam steps with gradients +1 then -1: expected {expected:.6f}, got {p.data.data.item():.6f}"
### END HIDDEN TESTS

# %% [markdown]
# ### See it: SGD, momentum and Adam on the same bowl
#
# The bowl of the learning-rate picture, as contour lines, and 60 steps of your three optimizers
# from the same start. Plain `SGD` (α = 0.1) moves quickly along the steep `θ₂` axis and crawls
# along the flat `θ₁` axis. With `momentum=0.8` the velocity builds up along `θ₁` — it reaches
# the minimum long before plain SGD, swinging past it on the way. `Adam` (α = 0.3) divides each gradient
# element by its own running size, so at first it moves about `α` along both axes at once — the
# straight diagonal start — whatever the curvature; knowing nothing of curvature, it then
# overshoots and circles in.

# %% tags=["hide-input"]
import os

if __name__ == "__main__" and not os.environ.get("TINYTORCH_GRADING"):
    try:
        import matplotlib.pyplot as plt

        curvature = Tensor(np.array([0.2, 4.0]))
        runs = {"SGD α=0.1": lambda p: SGD(p, learning_rate=0.1),
                "SGD α=0.1, momentum 0.8": lambda p: SGD(p, learning_rate=0.1, momentum=0.8),
                "Adam α=0.3": lambda p: Adam(p, learning_rate=0.3)}
        fig, ax = plt.subplots(figsize=(8, 4))
        g1, g2 = np.meshgrid(np.linspace(-5, 2, 200), np.linspace(-2, 2, 200))
        ax.contour(g1, g2, 0.5 * (0.2 * g1 ** 2 + 4 * g2 ** 2), levels=12, colors="lightgrey")
        for name, make in runs.items():
            theta = Variable(np.array([-4.5, 1.5]))
            optimizer = make([theta])
            path = [np.asarray(theta.data).copy()]
            for _ in range(60):
                loss = (theta * theta * curvature).sum() * 0.5
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                path.append(np.asarray(theta.data).copy())
            path = np.array(path)
            ax.plot(path[:, 0], path[:, 1], ".-", ms=3, label=f"{name}: loss {loss.item():.2g}")
        ax.plot([0], [0], "k*", ms=10)
        ax.set_xlabel("θ₁ (flat direction)")
        ax.set_ylabel("θ₂ (steep direction)")
        ax.set_title("60 steps from (-4.5, 1.5); the minimum is the star")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        plt.show()
    except NotImplementedError:
        print("Finish SGD and Adam above to see their paths on the bowl.")

# %% [markdown]
# ## Step 4 — Learning-rate schedules: `StepLR`
#
# Large steps early, small steps late: `StepLR(optimizer, step_size, gamma)` multiplies the
# learning rate by `gamma` every `step_size` calls of its `step()` (usually once per epoch).
# It counts its calls in `step_count` and sets
#
# `optimizer.learning_rate = initial_lr · gamma ** ((step_count − 1) // step_size)`
#
# so with `step_size=3` the rate is unchanged after calls 1–3 and first drops on call 4.
# `get_lr()` returns the optimizer's current rate.

# %% nbgrader={"grade": false, "grade_id": "steplr-class", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class StepLR:
    """Multiply the optimizer's learning rate by `gamma` every `step_size` calls of `step()`."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        if not isinstance(step_size, (int, np.integer)) or step_size < 1:
            raise ValueError(f"step_size must be a positive int, got {step_size!r}")
        self.optimizer = optimizer
        self.step_size = step_size
        self.gamma = gamma
        self.initial_lr = optimizer.learning_rate
        self.step_count = 0

    def step(self):
        """Count one call and set the optimizer's learning rate for it."""
        # TODO: add 1 to step_count, then set optimizer.learning_rate with the formula above.
        ### BEGIN SOLUTION
        self.step_count += 1
        self.optimizer.learning_rate = self.initial_lr * self.gamma ** ((self.step_count - 1) // self.step_size)
        ### END SOLUTION

    def get_lr(self):
        """The optimizer's current learning rate."""
        return self.optimizer.learning_rate


# %% nbgrader={"grade": true, "grade_id": "test-steplr", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
w = Variable(1.0)
scheduler = StepLR(SGD([w], learning_rate=0.1), step_size=3, gamma=0.1)
assert scheduler.get_lr() == 0.1, f"StepLR starts at the optimizer's learning rate 0.1, got {scheduler.get_lr()}"
for call in range(1, 4):
    scheduler.step()
    assert scheduler.get_lr() == 0.1, f"no decay yet after call {call}"
scheduler.step()
assert abs(scheduler.get_lr() - 0.01) < 1e-12, "first decay on call 4"
scheduler.step(), scheduler.step()
assert abs(scheduler.get_lr() - 0.01) < 1e-12, f"calls 5 and 6 keep the rate at 0.01, got {scheduler.get_lr()}"
scheduler.step()
assert abs(scheduler.get_lr() - 0.001) < 1e-12, "second decay on call 7"
adam_scheduler = StepLR(Adam([w], learning_rate=0.001), step_size=2, gamma=0.5)
for _ in range(3):
    adam_scheduler.step()
assert abs(adam_scheduler.get_lr() - 0.0005) < 1e-12, "works with Adam too"
print("✅ StepLR decays on the step after each multiple of step_size")

# %% [markdown]
# ## Step 5 — Putting it together
#
# The training loop is always the same four lines: forward, `zero_grad()`, `backward()`,
# `step()`. `train_simple_model()` fits `y = w·x + b` to five points on the line `y = 2x + 1`,
# one point at a time with the squared error as loss, first with `SGD(lr=0.01, momentum=0.9)`
# then — from the same start — with `Adam(lr=0.01)`, 60 passes each, and returns the four learned
# numbers `(sgd_w, sgd_b, adam_w, adam_b)`.
#
# Expect SGD to land on `w = 2, b = 1` and Adam to be still on its way (about `w = 1.6, b = 1.7`,
# its loss still falling). Adam moves each parameter by roughly at most its learning rate per
# step, here 0.01, and 300 steps are not enough to get there. The test accepts anything within
# 0.7 of the target.

# %% nbgrader={"grade": false, "grade_id": "train-simple-model", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def train_simple_model(verbose=True):
    """Fit y = 2x + 1 with SGD and with Adam; return (sgd_w, sgd_b, adam_w, adam_b)."""
    xs = [1.0, 2.0, 3.0, 4.0, 5.0]
    ys = [3.0, 5.0, 7.0, 9.0, 11.0]
    w, b = Variable(0.1), Variable(0.0)
    results = []
    for optimizer in (SGD([w, b], learning_rate=0.01, momentum=0.9), Adam([w, b], learning_rate=0.01)):
        w.data, b.data = Tensor(0.1), Tensor(0.0)        # the same start for both optimizers
        name = type(optimizer).__name__
        for epoch in range(60):
            total = 0.0
            # TODO: for each (x, y) pair: prediction = add(multiply(w, x), b); error = subtract(
            # prediction, y); loss = multiply(error, error); then zero_grad, backward, step, and
            # add loss.item() to total.
            ### BEGIN SOLUTION
            for x, y in zip(xs, ys):
                error = subtract(add(multiply(w, x), b), y)
                loss = multiply(error, error)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item()
            ### END SOLUTION
            if verbose and epoch % 20 == 0:
                print(f"{name:4} epoch {epoch:2}: loss {total:8.4f}  w = {w.item():.3f}  b = {b.item():.3f}")
        results += [w.item(), b.item()]
    if verbose:
        print(f"target: w = 2, b = 1 | SGD: w = {results[0]:.3f}, b = {results[1]:.3f} | "
              f"Adam: w = {results[2]:.3f}, b = {results[3]:.3f}")
    return tuple(results)


# %% nbgrader={"grade": true, "grade_id": "test-train-simple-model", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
sgd_w, sgd_b, adam_w, adam_b = train_simple_model()
assert abs(sgd_w - 2.0) < 0.5 and abs(sgd_b - 1.0) < 0.5, f"SGD should learn w≈2, b≈1; got {sgd_w:.3f}, {sgd_b:.3f}"
assert abs(adam_w - 2.0) < 0.7 and abs(adam_b - 1.0) < 0.7, f"Adam should get within 0.7 of w=2, b=1; got {adam_w:.3f}, {adam_b:.3f}"
print("✅ SGD fits the line; Adam is on its way")

# %% [markdown]
# ## Step 6 — A network learns XOR
#
# XOR is the classic problem a single linear layer cannot solve. A small MLP from module 04,
# trained with Adam on the four points, gets all of them right within a few hundred steps.

# %% nbgrader={"grade": true, "grade_id": "test-xor", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from tinytorch.core.networks import create_mlp

np.random.seed(1)
inputs = Tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
targets = Tensor([[0.0], [1.0], [1.0], [0.0]])
net = create_mlp(2, [8], 1)
params = net.parameters()
if not all(isinstance(p, Variable) for p in params):
    raise AssertionError("the network's parameters are not Variables: export module 07 first (tito export 07)")
optimizer = Adam(params, learning_rate=0.05)
for _ in range(300):
    loss = ((net(inputs) - targets) ** 2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
predictions = net(inputs).data.data
assert np.array_equal(predictions > 0.5, targets.data > 0.5), f"XOR not learned: {predictions.ravel()}"
print("✅ XOR learned; final loss", round(loss.item(), 4))

# %% [markdown]
# ## Step 7 — What one training step costs
#
# Every step above builds a fresh graph: each `@`, `+`, `np.maximum` and `**` makes a node, and
# `backward()` walks them all. Each node costs a few Python calls — the `Variable` bookkeeping
# and *your* module-01 `Tensor` methods, which compute every value — on top of NumPy's arithmetic.
# How much is that? Time your step against the same step written by hand in NumPy, where the
# chain rule is worked out on paper and nothing is recorded:
#
# ```python
# h = x @ W1 + b1;  a = np.maximum(h, 0);  out = a @ W2 + b2        # forward
# d = 2 * (out - y) / out.size                                      # d loss / d out
# gW2, gb2 = a.T @ d, d.sum(axis=0);  d = (d @ W2.T) * (h > 0)      # backward, by hand
# gW1, gb1 = x.T @ d, d.sum(axis=0)
# ```
#
# The plot below does that for a small network (64-64-10, batch 32) and a large one (784-256-10,
# batch 128). On the small one the matrices are tiny, so the graph's Python work is a large part
# of the step; on the large one the matrix products take most of the time and the gap shrinks. This is why PyTorch keeps its graph bookkeeping in C++, and why module 09
# fuses a whole loss into one node. Your machine decides the exact numbers.

# %% tags=["hide-input"]
import time

from tinytorch.core.networks import create_mlp
from tinytorch.core.autograd import topological_order


def _hand_step(params, x, y, learning_rate):
    """One MSE + SGD step of a one-hidden-layer ReLU MLP, gradients worked out by hand."""
    W1, b1, W2, b2 = params
    h = x @ W1 + b1
    a = np.maximum(h, 0)
    out = a @ W2 + b2
    d = (out - y) * np.float32(2 / out.size)
    grads = [None, None, a.T @ d, d.sum(axis=0)]
    d = (d @ W2.T) * (h > 0)
    grads[0], grads[1] = x.T @ d, d.sum(axis=0)
    for param, grad in zip(params, grads):
        param -= learning_rate * grad


def _median_time(step, repeats=7, steps=20):
    """Median over `repeats` of the time per call of `step()`, each sample `steps` calls long."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        samples.append((time.perf_counter() - start) / steps)
    return float(np.median(samples))


if __name__ == "__main__" and not os.environ.get("TINYTORCH_GRADING"):
    try:
        import matplotlib.pyplot as plt

        rng = np.random.default_rng(0)
        rows = []
        for label, sizes, batch in (("64-64-10, batch 32", (64, 64, 10), 32),
                                    ("784-256-10, batch 128", (784, 256, 10), 128)):
            np.random.seed(0)
            net = create_mlp(sizes[0], [sizes[1]], sizes[2], output_activation=None)
            x = Tensor(rng.normal(size=(batch, sizes[0])).astype(np.float32))
            y = Tensor(rng.normal(size=(batch, sizes[2])).astype(np.float32))
            optimizer = SGD(net.parameters(), learning_rate=0.01)
            hand_params = [np.asarray(p.data).copy() for p in net.parameters()]

            def yours():
                loss = ((net(x) - y) ** 2).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

            yours()                                   # one step each from the same weights:
            _hand_step(hand_params, x.data, y.data, 0.01)
            same = all(np.allclose(np.asarray(p.data), q, rtol=1e-4, atol=1e-6)
                       for p, q in zip(net.parameters(), hand_params))
            print(f"{label}: one step of yours and one by hand give "
                  + ("the same weights" if same else "DIFFERENT weights — check modules 01–08"))
            nodes = len(topological_order(((net(x) - y) ** 2).mean()))
            ours = _median_time(yours)
            hand = _median_time(lambda: _hand_step(hand_params, x.data, y.data, 0.01))
            rows.append((label, ours, hand, nodes))
            print(f"{label}: your step {ours * 1e6:7.0f} µs, by hand {hand * 1e6:7.0f} µs "
                  f"({ours / hand:.2f}×); {nodes} graph nodes, "
                  f"{(ours - hand) / nodes * 1e6:.1f} µs more per node")
        fig, ax = plt.subplots(figsize=(7, 3))
        labels = [row[0] for row in rows]
        ax.barh([1, 4], [row[1] / row[2] for row in rows], color="tab:blue", label="your step")
        ax.barh([0, 3], [1, 1], color="tab:grey", label="NumPy by hand")
        for position, row in zip([1, 4], rows):
            ax.text(row[1] / row[2], position, f" {row[1] / row[2]:.2f}×", va="center")
        ax.set_yticks([0.5, 3.5], labels)
        ax.axvline(1, color="black", lw=0.8)
        ax.set_xlabel("time per training step, relative to the hand-written NumPy step")
        ax.set_title("the price of building a graph in Python")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        plt.show()
    except (NotImplementedError, TypeError) as unfinished:   # a stub, or Tensors where Variables go
        print(f"Finish SGD above (and modules 01–07) to time your training step: {unfinished}")

# %% [markdown]
# ## What you built
#
# `gradient_descent_step`, `SGD` (momentum, weight decay), `Adam` (bias-corrected moments) and
# `StepLR`, all in `tinytorch.core.optimizers`:
#
# ```python
# from tinytorch.core.optimizers import SGD, Adam, StepLR
# optimizer = Adam(model.parameters(), learning_rate=0.001)
# ```
#
# Next, module 09 wraps the loop above into a `Trainer` with real losses and metrics.

# %% [markdown]
# ## Exercises (not graded)
#
# 1. On the bowl above, find the largest learning rate for plain SGD at which the loss still falls,
#    first by reasoning (curvature 4 along `θ₂`), then by experiment.
# 2. Set the curvatures to `(4, 4)`, a round bowl. Does momentum still help? Does Adam still take
#    its diagonal path? Explain what changed.
# 3. Train the XOR network of Step 6 with `SGD(momentum=0.9)` instead of `Adam`, and find a
#    learning rate at which it learns all four points in 300 steps.
# 4. Make a layer one node: write `linear(x, W, b)` in the style of module 07's `add` — the value
#    from your Tensor methods (`A.matmul(B).add(C)` on the `_value(...)` of each input) and one
#    `_node(out, "Linear", ...)` with three rules, the ones of Step 7's hand-written backward
#    (`_node`, `_value` and `_t` are in `tinytorch.core.autograd`). Check it against finite
#    differences, then time Step 7's small network with it. How much of the bookkeeping per
#    layer goes away?
