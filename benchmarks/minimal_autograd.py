"""The leanest reverse-mode autograd we could write: the training-step benchmark's two "floors".

Not part of tinytorch and not for students. It answers one question for `bench_training_step.py`:
of tinytorch's per-step overhead over hand-written NumPy, how much is the price of *any* graph of
operations built in Python, how much the price of computing every value with module 01's `Tensor`
methods (the course's rule: the student's code all the way down), and how much is tinytorch's own
`Variable` bookkeeping? So it does the least a per-operation graph can do:

- one small object per operation (`Node`: value, parents, one backward closure that returns the
  gradients of all its inputs at once), no checks, no dtype rules, no broadcasting beyond the MLP's;
- a depth-first topological order (leaves done when found) and one pass of the chain rule;
- in-place SGD on the parameters' arrays.

Two sets of the same operations: `RAW` computes on NumPy arrays (the graph floor), `TENSOR` asks
the installed `tinytorch.core.tensor.Tensor` for every value, forward and backward, with gradients
passed between rules as Tensors (the floor of a graph on the student's Tensor). Same graph as
tinytorch's step (`Dense` is a matmul node and a bias node, ReLU one node, the loss
`((out - y) ** 2).mean()` three nodes), so all sides count the same nodes.
"""
from __future__ import annotations

import numpy as np


class Node:
    """A value in the graph: its value, the nodes it was made from, and how to send a gradient back."""

    __slots__ = ("value", "parents", "backward", "grad")

    def __init__(self, value, parents=(), backward=None):
        self.value, self.parents, self.backward, self.grad = value, parents, backward, None


class RAW:
    """The operations on NumPy arrays."""

    @staticmethod
    def matmul(a, b, grad_a=True):
        A, B = a.value, b.value
        if not grad_a:                            # the input batch: no gradient wanted (as in tinytorch)
            return Node(A @ B, (b,), lambda g: (A.T @ g,))
        return Node(A @ B, (a, b), lambda g: (g @ B.T, A.T @ g))

    @staticmethod
    def add_bias(a, b):
        return Node(a.value + b.value, (a, b), lambda g: (g, g.sum(axis=0)))

    @staticmethod
    def relu(a):
        A = a.value
        return Node(np.maximum(A, 0), (a,), lambda g: (g * (A > 0),))

    @staticmethod
    def subtract_constant(a, y):
        return Node(a.value - y, (a,), lambda g: (g,))

    @staticmethod
    def square(a):
        A = a.value
        return Node(A * A, (a,), lambda g: (g * (A * 2),))

    @staticmethod
    def mean(a):
        A = a.value
        n = A.size
        return Node(A.sum() / n, (a,), lambda g: (np.full(A.shape, g / n, dtype=A.dtype),))

    wrap = staticmethod(lambda array: array)
    unwrap = staticmethod(lambda value: value)
    accumulate = staticmethod(lambda old, new: old + new)


def _tensor_ops():
    """The same operations, every value computed by module 01's Tensor methods."""
    from tinytorch.core.tensor import Tensor

    def as_tensor(array):                         # an array shown as a Tensor, without a copy
        out = Tensor.__new__(Tensor)
        out._data = array
        return out

    class TENSOR:
        @staticmethod
        def matmul(a, b, grad_a=True):
            A, B = a.value, b.value
            if not grad_a:
                return Node(A.matmul(B), (b,), lambda g: (A.T.matmul(g),))
            return Node(A.matmul(B), (a, b), lambda g: (g.matmul(B.T), A.T.matmul(g)))

        @staticmethod
        def add_bias(a, b):
            return Node(a.value.add(b.value), (a, b), lambda g: (g, g.sum(axis=0)))

        @staticmethod
        def relu(a):
            A = a.value
            return Node(A.maximum(0), (a,), lambda g: (g.multiply(as_tensor(A._data > 0)),))

        @staticmethod
        def subtract_constant(a, y):
            return Node(a.value.subtract(y), (a,), lambda g: (g,))

        @staticmethod
        def square(a):
            A = a.value
            return Node(A.multiply(A), (a,), lambda g: (g.multiply(A.multiply(2)),))

        @staticmethod
        def mean(a):
            A = a.value._data
            n = A.size
            return Node(a.value.mean(), (a,),
                        lambda g: (as_tensor(np.full(A.shape, g._data / n, dtype=A.dtype)),))

        wrap = staticmethod(as_tensor)
        unwrap = staticmethod(lambda value: value._data)
        accumulate = staticmethod(lambda old, new: old.add(new))
    return TENSOR


def backward(root, ops):
    """Chain rule from `root`: every leaf below it gets `.grad`."""
    order, seen, stack = [], {root}, [(root, iter(root.parents))]
    while stack:                                  # depth-first, inputs before the node
        node, pending = stack[-1]
        for parent in pending:
            if parent in seen:
                continue
            seen.add(parent)
            if parent.backward is None:           # a leaf is done when found
                order.append(parent)
            else:
                stack.append((parent, iter(parent.parents)))
                break
        else:
            stack.pop()
            order.append(node)
    grads = {root: ops.wrap(np.ones((), ops.unwrap(root.value).dtype))}
    accumulate = ops.accumulate
    for node in reversed(order):
        g = grads.pop(node)
        if node.backward is None:
            node.grad = g
            continue
        for parent, parent_grad in zip(node.parents, node.backward(g)):
            grads[parent] = accumulate(grads[parent], parent_grad) if parent in grads else parent_grad


def make_step(params, x, y, learning_rate, on_tensor=False):
    """One MLP training step (forward, backward, SGD) on copies of `params` = [W0, b0, W1, b1, ...].

    `on_tensor`: compute every value with tinytorch's Tensor methods instead of on NumPy arrays."""
    ops = _tensor_ops() if on_tensor else RAW
    leaves = [Node(ops.wrap(p.copy())) for p in params]
    weights, biases = leaves[0::2], leaves[1::2]
    inputs, target = Node(ops.wrap(x)), ops.wrap(y)
    matmul, add_bias, relu, unwrap = ops.matmul, ops.add_bias, ops.relu, ops.unwrap

    def step():
        a = inputs
        for k, (W, b) in enumerate(zip(weights, biases)):
            a = add_bias(matmul(a, W, grad_a=k > 0), b)
            if k < len(weights) - 1:
                a = relu(a)
        loss = ops.mean(ops.square(ops.subtract_constant(a, target)))
        for leaf in leaves:
            leaf.grad = None
        backward(loss, ops)
        for leaf in leaves:
            unwrap(leaf.value).__isub__(learning_rate * unwrap(leaf.grad))
        return float(unwrap(loss.value))
    return step
