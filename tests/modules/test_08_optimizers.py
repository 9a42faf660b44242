"""Package tests for module 08: tinytorch.core.optimizers.

Expected values are computed by hand from the update rules (the same definitions as
torch.optim.SGD / torch.optim.Adam); no test needs PyTorch.
"""
from __future__ import annotations

import numpy as np
import pytest

from tinytorch.core.autograd import Variable
from tinytorch.core.networks import create_mlp
from tinytorch.core.optimizers import SGD, Adam, StepLR, gradient_descent_step, train_simple_model
from tinytorch.core.tensor import Tensor


def value(p):
    return p.data.data.item()


def test_gradient_descent_step():
    w = Variable(2.0)
    w.grad = Variable(0.5)
    gradient_descent_step(w, learning_rate=0.1)
    assert value(w) == pytest.approx(1.95)
    w.grad = None
    gradient_descent_step(w, learning_rate=0.1)
    assert value(w) == pytest.approx(1.95)


def test_sgd_reference_steps_and_state():
    w1, w2, b = Variable(1.0), Variable(2.0), Variable(0.5)
    opt = SGD([w1, w2, b], learning_rate=0.1, momentum=0.9)
    assert (opt.learning_rate, opt.momentum, opt.weight_decay, opt.step_count) == (0.1, 0.9, 0.0, 0)
    for expected in (0.99, 0.971, 0.971 - 0.1 * (0.9 * 0.19 + 0.1)):
        w1.grad, w2.grad, b.grad = Variable(0.1), Variable(0.2), Variable(0.05)
        opt.step()
        assert value(w1) == pytest.approx(expected, abs=1e-6)
    assert set(opt.momentum_buffers) == {id(w1), id(w2), id(b)} and opt.step_count == 3
    opt.zero_grad()
    assert w1.grad is None and w2.grad is None and b.grad is None


def test_sgd_weight_decay_and_defaults():
    p = Variable(1.0)
    opt = SGD([p])
    assert opt.learning_rate == 0.01 and opt.momentum == 0.0 and opt.weight_decay == 0.0
    opt = SGD([p], learning_rate=0.1, weight_decay=0.5)
    p.grad = Variable(0.2)
    opt.step()
    assert value(p) == pytest.approx(1.0 - 0.1 * (0.2 + 0.5), abs=1e-6)


def test_sgd_skips_parameters_without_gradient():
    a, b = Variable(1.0), Variable(1.0)
    a.grad = Variable(1.0)
    SGD([a, b], learning_rate=0.5).step()
    assert value(a) == 0.5 and value(b) == 1.0


def test_adam_reference_steps_and_state():
    w1, w2, b = Variable(1.0), Variable(2.0), Variable(0.5)
    opt = Adam([w1, w2, b])
    assert (opt.learning_rate, opt.beta1, opt.beta2, opt.epsilon, opt.weight_decay) == (0.001, 0.9, 0.999, 1e-8, 0.0)
    for step in range(1, 7):
        w1.grad, w2.grad, b.grad = Variable(0.1), Variable(0.2), Variable(0.05)
        opt.step()
        assert opt.step_count == step
        # a constant gradient: m̂ = g and v̂ = g² exactly, so each step moves by lr
        assert value(w1) == pytest.approx(1.0 - 0.001 * step, abs=1e-6)
    assert len(opt.first_moment) == 3 and len(opt.second_moment) == 3


def test_adam_two_steps_by_hand_with_weight_decay():
    p = Variable(np.array([0.5], dtype=np.float64))
    opt = Adam([p], learning_rate=0.1, beta1=0.8, beta2=0.99, epsilon=1e-6, weight_decay=0.1)
    m = v = 0.0
    theta = 0.5
    for t, grad in enumerate((1.0, -2.0), start=1):
        p.grad = Variable(np.array([grad]))
        opt.step()
        g = grad + 0.1 * theta
        m = 0.8 * m + 0.2 * g
        v = 0.99 * v + 0.01 * g * g
        theta -= 0.1 * (m / (1 - 0.8 ** t)) / (np.sqrt(v / (1 - 0.99 ** t)) + 1e-6)
        assert p.data.data[0] == pytest.approx(theta, rel=1e-12)


def test_updates_are_in_place_and_data_assignment_still_works():
    p = Variable(np.ones(3, dtype=np.float32))
    array = p.data.data
    opt = SGD([p], learning_rate=0.5, momentum=0.5)
    p.grad = Variable(np.ones(3, dtype=np.float32))
    opt.step()
    assert p.data.data is array and p.dtype == np.float32
    np.testing.assert_allclose(array, 0.5)
    p.data = Tensor([10.0, 10.0, 10.0])           # the reference's access pattern
    p.grad = Variable(np.ones(3, dtype=np.float32))
    opt.step()
    np.testing.assert_allclose(p.data.data, 10.0 - 0.5 * (0.5 * 1 + 1))


def test_steplr_reference_counting():
    opt = SGD([Variable(1.0)], learning_rate=0.1)
    scheduler = StepLR(opt, step_size=3, gamma=0.1)
    rates = []
    for _ in range(7):
        scheduler.step()
        rates.append(scheduler.get_lr())
    np.testing.assert_allclose(rates, [0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001])
    assert opt.learning_rate == scheduler.get_lr() and scheduler.step_count == 7
    adam = Adam([Variable(1.0)], learning_rate=0.001)
    halving = StepLR(adam, step_size=2, gamma=0.5)
    for _ in range(3):
        halving.step()
    assert halving.get_lr() == pytest.approx(0.0005)


def test_train_simple_model_fits_the_line():
    sgd_w, sgd_b, adam_w, adam_b = train_simple_model(verbose=False)
    assert abs(sgd_w - 2.0) < 0.5 and abs(sgd_b - 1.0) < 0.5
    assert abs(adam_w - 2.0) < 0.7 and abs(adam_b - 1.0) < 0.7


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, learning_rate=0.5, momentum=0.9),
                                  lambda ps: Adam(ps, learning_rate=0.05)], ids=["SGD", "Adam"])
def test_mlp_learns_xor(make):
    np.random.seed(0)
    x = Tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = Tensor([[0.0], [1.0], [1.0], [0.0]])
    net = create_mlp(2, [8], 1)
    optimizer = make(net.parameters())
    for _ in range(400):
        loss = ((net(x) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    predictions = net(x).data.data
    assert np.array_equal(predictions > 0.5, y.data > 0.5), predictions.ravel()
    assert loss.item() < 0.05


@pytest.mark.parametrize("cls", [SGD, Adam])
def test_bad_input_is_a_clear_error(cls):
    with pytest.raises(ValueError, match="empty parameter list"):
        cls([])
    with pytest.raises(TypeError, match="parameter 1 is a Tensor"):
        cls([Variable(1.0), Tensor([1.0])])
    with pytest.raises(ValueError, match="learning_rate must be a non-negative"):
        cls([Variable(1.0)], learning_rate=-0.1)
    with pytest.raises(ValueError, match="step_size"):
        StepLR(cls([Variable(1.0)]), step_size=0)


def test_exercise_4_a_linear_node_from_the_named_helpers():
    """Module 08's exercise 4 is doable as written: `linear` from `_node`, `_value` and `_t`."""
    from tinytorch.core.autograd import _node, _t, _value, topological_order

    def linear(x, W, b):
        X, Wv, bv = _value(x), _value(W), _value(b)
        return _node(X.matmul(Wv).add(bv), "Linear",
                     (x, lambda g: _t(g).matmul(Wv.T)._data),
                     (W, lambda g: X.T.matmul(_t(g))._data),
                     (b, lambda g: _t(g).sum(axis=0)._data))

    rng = np.random.default_rng(3)
    x = Variable(rng.normal(size=(4, 3)))
    W, b = Variable(rng.normal(size=(3, 2))), Variable(rng.normal(size=2))
    out = linear(x, W, b)
    np.testing.assert_allclose(out.data.data, x.data.data @ W.data.data + b.data.data, rtol=1e-6)
    (out * out).sum().backward()
    for param in (x, W, b):                       # central differences of sum((x W + b)²), float64
        values = param.data.data
        numeric = np.zeros_like(values)
        for i in np.ndindex(values.shape):
            old = values[i]
            losses = []
            for step in (1e-6, -1e-6):
                values[i] = old + step
                losses.append(((x.data.data @ W.data.data + b.data.data) ** 2).sum())
            values[i] = old
            numeric[i] = (losses[0] - losses[1]) / 2e-6
        np.testing.assert_allclose(param.grad.data.data, numeric, rtol=1e-5, atol=1e-6)
    assert len(topological_order(((linear(x, W, b) - 1.0) ** 2).mean())) == \
        len(topological_order((((x @ W + b) - 1.0) ** 2).mean())) - 1, "one node fewer per layer"
