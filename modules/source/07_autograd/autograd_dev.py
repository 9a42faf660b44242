# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 07 — Autograd: gradients for free
#
# Training a network means nudging every parameter against the gradient of the loss. Writing those
# gradients by hand for every network is slow and error-prone. In this module you build a small
# reverse-mode automatic differentiation engine: a `Variable` that records how it was computed,
# and a `backward()` that walks that record in reverse to fill in every gradient.
#
# **Goals of this module**
# - Understand the computational graph: every operation remembers its inputs and how to pass a
#   gradient back to them.
# - Implement `Variable`, the graph-building operations `add`, `multiply`, `subtract`, matrix
#   multiply, and `backward()` with a topological sort.
# - Check every gradient against central finite differences.
# - See the layers of modules 02–05 become trainable without changing a line of them.

# %%
#| default_exp core.autograd

# %%
#| export
import numpy as np
from fastcore.basics import patch

from tinytorch.core.tensor import Tensor

# %% [markdown]
# ## The idea in one example
#
# Take `z = x * y + x` with `x = 2`, `y = 3`. Computing `z` forward, each step can note a local
# rule: "`x * y` passes `g * y` to `x` and `g * x` to `y`", "`a + b` passes `g` to both". Going
# backward from `z` with `g = 1`, `x` receives `1 * 3` through the product and `1` through the
# sum: `dz/dx = 4`; `y` receives `1 * 2`: `dz/dy = 2`. That is the chain rule, applied one node at
# a time. Two facts matter:
#
# 1. A value used twice (here `x`) gets the **sum** of what flows back along each use.
# 2. A node may pass its gradient back only once everything that uses it has passed theirs in —
#    so we visit nodes in **reverse topological order**.
#
# ## Step 1 — `Variable`
#
# `Variable` is a `Tensor` that also carries:
#
# | attribute | meaning |
# |---|---|
# | `data` | the value, always a `Tensor` (sharing memory with the Variable) |
# | `requires_grad` | whether gradients should flow to it |
# | `grad` | `None`; after `backward()`, on a leaf, a `Variable` of the same shape |
# | `grad_fn` | how it was made (`None` for a *leaf*: a value you created yourself) |
#
# Because `Variable` subclasses `Tensor`, the layers you wrote (which only use operators, `@`,
# reductions and NumPy ufuncs on whatever they are given) run on it unchanged — Python gives a
# subclass's reflected operator priority, so `Tensor + Variable` is handled by the Variable.
#
# A Variable keeps its value as a NumPy array in `_data`, like a Tensor, and shows it as a plain
# `Tensor` through `.data`; the operations below compute with that Tensor's methods — the ones
# you wrote in module 01. Numbers and lists follow `Tensor`'s rules (Python
# floats become `float32`); an integer value that needs gradients is converted to `float32`
# (gradients of integers make no sense); a `float64` array stays `float64` (handy for precise
# gradient checks).
#
# As in module 01, the class grows step by step: this cell defines `Variable` with its value and
# flags; each later step adds, with fastcore's `@patch`, the methods that call its operations
# (the operators `+ - *` in step 2, `@patch def backward(self: Variable, ...)` in step 3, …).
# Until a step has run, a Variable falls back on the `Tensor` method of the same name where there
# is one: it computes the value but records no graph.

# %% nbgrader={"grade": false, "grade_id": "variable-class", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class GradFn:
    """How a Variable was made: the op's name and, per input needing a gradient, `(input, g -> input_grad)`."""

    __slots__ = ("name", "edges")

    def __init__(self, name, edges):
        self.name = name
        self.edges = edges

    def __repr__(self):
        return f"<{self.name}Backward>"


def _as_array(data, requires_grad):
    """The ndarray a new Variable holds (see the table above for the dtype rules)."""
    if isinstance(data, Tensor):          # a Tensor or a Variable: share its array
        value = data._data
    elif isinstance(data, np.ndarray):
        value = data
    else:
        value = Tensor(data)._data        # numbers and lists: Tensor's rules (floats -> float32)
    if requires_grad and value.dtype.kind not in "fc":
        value = value.astype(np.float32)
    return value


class Variable(Tensor):
    """A Tensor that records the operations made with it, so `backward()` can compute gradients."""

    __hash__ = object.__hash__          # by identity: a dict key even though `==` is elementwise
    __array_priority__ = 1000           # NumPy defers mixed operations to us

    def __init__(self, data, requires_grad=True, grad_fn=None):
        """Wrap `data` (number, list, array, Tensor or Variable) as a node of the graph."""
        # TODO: store the value with `_as_array(data, requires_grad)` in `self._data`, set
        # `self._tensor = None` (the Tensor view of the value, made when `.data` is first read),
        # and store `requires_grad` (as a bool), `grad = None` and `grad_fn`.
        ### BEGIN SOLUTION
        self._data = _as_array(data, requires_grad)
        self._tensor = None
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self.grad_fn = grad_fn
        ### END SOLUTION

    # -- the value -------------------------------------------------------------------------
    # Like a Tensor, a Variable keeps its NumPy array in `_data`; `.data` shows it as a Tensor.
    @property
    def data(self):
        """The value as a Tensor that shares this Variable's memory."""
        tensor = self._tensor
        if tensor is None or tensor._data is not self._data:
            tensor = Tensor.__new__(Tensor)
            tensor._data = self._data
            self._tensor = tensor
        return tensor

    @data.setter
    def data(self, value):
        """Replace the value (a Tensor, array or number), e.g. `param.data = Tensor(new_values)`."""
        self._data = _as_array(value, self.requires_grad)
        self._tensor = None

    shape = property(lambda self: self._data.shape, doc="Tuple of dimensions.")
    size = property(lambda self: self._data.size, doc="Number of elements.")
    dtype = property(lambda self: self._data.dtype, doc="NumPy dtype of the value.")
    ndim = property(lambda self: self._data.ndim, doc="Number of dimensions.")
    is_leaf = property(lambda self: self.grad_fn is None, doc="True for values not made by an operation.")

    def __repr__(self):
        extra = f", grad_fn={self.grad_fn!r}" if self.grad_fn is not None else ""
        return f"Variable({self._data!r}, requires_grad={self.requires_grad}{extra})"

    def detach(self):
        """The same value, outside the graph."""
        return Variable(self._data, requires_grad=False)

    def zero_grad(self):
        """Forget the accumulated gradient."""
        self.grad = None


# %% [markdown]
# Try it: a leaf knows its value and has no gradient yet.

# %%
x = Variable([1.0, 2.0, 3.0])
print(x, "| leaf:", x.is_leaf, "| grad:", x.grad, "| data is a", type(x.data).__name__)

# %% nbgrader={"grade": true, "grade_id": "test-variable-init", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
v = Variable(3.0)
assert isinstance(v, Tensor) and isinstance(v.data, Tensor), \
    f"a Variable is a Tensor and its data is a Tensor; got a {type(v).__name__} whose data is a {type(v.data).__name__}"
assert v.requires_grad and v.grad is None and v.grad_fn is None and v.is_leaf, \
    f"a new Variable: expected requires_grad=True, grad None, grad_fn None; got {v.requires_grad}, {v.grad!r}, {v.grad_fn!r}"
assert v.shape == () and v.size == 1 and v.dtype == np.float32, \
    f"Variable(3.0): expected shape (), size 1, float32; got {v.shape}, {v.size}, {v.dtype}"
w = Variable([[1, 2], [3, 4]], requires_grad=False)
assert w.shape == (2, 2) and not w.requires_grad, \
    f"Variable([[1, 2], [3, 4]], requires_grad=False): expected shape (2, 2), no grad; got {w.shape}, requires_grad={w.requires_grad}"
assert Variable(np.zeros(3, dtype=np.int64)).dtype == np.float32, \
    f"values that need gradients are floats: int64 should become float32, got {Variable(np.zeros(3, dtype=np.int64)).dtype}"
print("✅ Variable stores its value, flags and an empty gradient")
### BEGIN HIDDEN TESTS
t = Variable(Tensor([1.0, 2.0]))
assert t.shape == (2,) and np.allclose(t.data.data, [1.0, 2.0]), f"Variable(Tensor([1, 2])): expected [1, 2], got {t!r}"
t.data = Tensor([5.0, 6.0])
assert np.allclose(np.asarray(t), [5.0, 6.0]), f"after v.data = Tensor([5, 6]) the value should be [5, 6], got {np.asarray(t)}"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 2 — Operations that remember
#
# Every operation does two things: computes its result (the *forward* pass) and records, for each
# input that needs a gradient, a small function that turns the gradient of the result `g` into the
# gradient of that input (the *backward* rule).
#
# **The values come from your `Tensor`.** An operation never computes on raw NumPy arrays itself:
# it asks module 01's `Tensor` for the answer. `_value(x)` gives what your methods compute with —
# a Variable's value as a plain `Tensor` (its `.data`), a `Tensor` as it is, a number as it is —
# and `A.add(B)` is *your* `Tensor.add`. The backward rules use the same methods: the gradient
# `g` arrives as a NumPy array (that is the contract every rule keeps), `_t(g)` shows it as a
# `Tensor` without copying, and `_t(g).multiply(B)` is your `multiply` again. So a bug in module
# 01 shows up in every network you train — and a correct module 01 is what makes them learn.
#
# The helper `_node` wraps the `Tensor` your method returned as a new Variable and keeps only the
# rules whose input is a Variable that needs a gradient — no wasted work, and no graph at all
# when no input needs gradients.
#
# **Broadcasting.** If a bias of shape `(3,)` is added to a batch of shape `(4, 3)`, the bias was
# silently copied 4 times, so its gradient is the *sum* of the 4 rows. `unbroadcast(g, shape)` sums
# `g` back down to the input's shape (with your `Tensor.sum`).

# %%
#| export
def _value(x):
    """What module 01's Tensor methods compute with: a Variable's value (a Tensor), a Tensor, a number."""
    if isinstance(x, Variable):
        view = x._tensor                         # x.data, without the property call (speed)
        return view if view is not None and view._data is x._data else x.data
    if isinstance(x, (Tensor, int, float, complex)):   # numbers stay numbers ("weak": float32 stays float32)
        return x
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):                # an array keeps its dtype (as a constant always has)
        return _t(x)
    return Tensor(x)                             # lists: Tensor's rules


def _tensor(x, like=None):
    """Like `_value`, but a number becomes a Tensor too (for `2 - v`, `1 / v`: the method needs a
    Tensor) — in the dtype of the other operand `like` when that is a float, as NumPy would."""
    x = _value(x)
    if isinstance(x, Tensor):
        return x
    kind = getattr(like, "dtype", None)
    return Tensor(x, dtype=like.dtype if kind is not None and kind.kind in "fc" else None)


def _t(array):
    """An ndarray shown as a Tensor, without a copy (a gradient going into a Tensor method)."""
    out = Tensor.__new__(Tensor)
    out._data = array
    return out


def _node(out, name, *edges):
    """A new Variable for `out`, the Tensor a module-01 method returned; `edges`: `(input, rule)` pairs."""
    if type(out) is not Tensor:
        out = _checked(out, name)
    node = Variable.__new__(Variable)
    node._data, node._tensor, node.grad = out._data, out, None   # `.data` of the node is `out` itself
    for parent, _ in edges:                           # keep the edges whose input needs a gradient
        if parent.__class__ is not Variable or not parent.requires_grad:
            needed = []                               # (a loop: a comprehension is a call in 3.11)
            for edge in edges:
                if isinstance(edge[0], Variable) and edge[0].requires_grad:
                    needed.append(edge)
            edges = tuple(needed)
            break
    if edges:
        fn = GradFn.__new__(GradFn)                   # GradFn(name, edges), minus a Python call
        fn.name, fn.edges = name, edges
        node.requires_grad, node.grad_fn = True, fn
    else:
        node.requires_grad, node.grad_fn = False, None
    return node


def _checked(out, name):
    """A Tensor method's result that is not a plain Tensor: accept a subclass, reject the rest clearly."""
    if isinstance(out, Tensor):
        return _t(out._data)
    raise TypeError(f"module 01's Tensor method behind {name} returned a {type(out).__name__}, "
                    "not a Tensor")


def _leaf_grad(g):
    """A gradient array wrapped as a Variable that needs no gradient itself."""
    out = Variable.__new__(Variable)
    out._data, out._tensor, out.grad, out.grad_fn, out.requires_grad = g, None, None, None, False
    return out


def unbroadcast(g, shape):
    """Sum gradient array `g` over the axes that broadcasting added or stretched, giving `shape`."""
    if g.shape == shape:
        return g
    G = _t(g)
    extra = g.ndim - len(shape)
    if extra == 1:                                    # a bias (n,) added to a batch (N, n)
        G = G.sum(axis=0)
    elif extra > 0:                                   # axes broadcasting added in front
        G = G.sum(axis=tuple(range(extra)))
    if G._data.shape != shape:                        # axes of length 1 that were stretched
        stretched = tuple(i for i, n in enumerate(shape) if n == 1 and G._data.shape[i] != 1)
        G = G.sum(axis=stretched, keepdims=True)
    return (G if G._data.shape == shape else G.reshape(shape))._data


# %% [markdown]
# Here is `add`, complete: `d(a + b)/da = 1`, so `a` receives `g` (summed back to its shape).
# Addition is commutative, so when `a` is a number (as in `2 + v`) the value is `B.add(A)`.
# Write `multiply` (`d(ab)/da = b`: `a`'s rule is `g` times `B`, with your `Tensor.multiply`)
# and `subtract` the same way.

# %% nbgrader={"grade": false, "grade_id": "basic-ops", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def add(a, b):
    """a + b, for Variables, Tensors or numbers."""
    A, B = _value(a), _value(b)
    out = A.add(B) if isinstance(A, Tensor) else B.add(A)     # module 01's add computes the value
    return _node(out, "Add",
                 (a, lambda g: unbroadcast(g, A._data.shape)),
                 (b, lambda g: unbroadcast(g, B._data.shape)))


def multiply(a, b):
    """a * b, elementwise: d/da = b, d/db = a."""
    # TODO: like `add`, with `multiply`; each input's rule multiplies g by the *other* input's
    # value before unbroadcasting: `unbroadcast(_t(g).multiply(B)._data, A._data.shape)` for `a`.
    ### BEGIN SOLUTION
    A, B = _value(a), _value(b)
    out = A.multiply(B) if isinstance(A, Tensor) else B.multiply(A)
    return _node(out, "Mul",
                 (a, lambda g: unbroadcast(_t(g).multiply(B)._data, A._data.shape)),
                 (b, lambda g: unbroadcast(_t(g).multiply(A)._data, B._data.shape)))
    ### END SOLUTION


def subtract(a, b):
    """a - b: d/da = 1, d/db = -1."""
    # TODO: like `add`, with `subtract`, and the rule for `b` negating g (`-g`). Subtraction is not
    # commutative: when `a` is a number, make it a Tensor first with `_tensor(a, like=B)`.
    ### BEGIN SOLUTION
    B = _value(b)
    A = _tensor(a, like=B)
    return _node(A.subtract(B), "Sub",
                 (a, lambda g: unbroadcast(g, A._data.shape)),
                 (b, lambda g: unbroadcast(-g, B._data.shape)))
    ### END SOLUTION


# The operators (given): `v + w`, `2 * v`, `1 - v` call the functions above.
@patch
def __radd__(self: Variable, other): return add(other, self)
@patch
def __rsub__(self: Variable, other): return subtract(other, self)
@patch
def __rmul__(self: Variable, other): return multiply(other, self)


# `v + w` is `add(v, w)` itself: the function as the method saves a call per operation (speed).
Variable.__add__, Variable.__sub__, Variable.__mul__ = add, subtract, multiply
Variable.add, Variable.subtract, Variable.multiply = add, subtract, multiply

# %% [markdown]
# Each operation returns a Variable whose `grad_fn.edges` hold one `(input, rule)` pair per input
# that needs a gradient. Calling a rule by hand shows the local derivative: for `x * y`, the rule
# for `x` turns `g = 1` into `y`.

# %% nbgrader={"grade": true, "grade_id": "test-basic-ops", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x, y = Variable(2.0), Variable(3.0)
p = x * y
assert isinstance(p, Variable) and p.item() == 6.0, f"Variable(2.0) * Variable(3.0): expected a Variable holding 6.0, got {p!r}"
rules = {} if p.grad_fn is None else {id(node): rule for node, rule in p.grad_fn.edges}
assert set(rules) == {id(x), id(y)}, \
    f"x * y should record one edge to x and one to y, got grad_fn {p.grad_fn!r} with {len(rules)} input(s)"
to_x, to_y = float(rules[id(x)](np.ones((), np.float32))), float(rules[id(y)](np.ones((), np.float32)))
assert (to_x, to_y) == (3.0, 2.0), f"d(x * y)/dx = y = 3 and d(x * y)/dy = x = 2; the rules gave {to_x} and {to_y}"
d = Variable(5.0) - 2.0
assert d.item() == 3.0 and float(d.grad_fn.edges[0][1](np.ones((), np.float32))) == 1.0, \
    f"Variable(5.0) - 2.0: expected 3.0 with d/da = 1, got {d.item()} and {d.grad_fn.edges[0][1](np.ones((), np.float32))}"
r = 10.0 - Variable(4.0)
assert r.item() == 6.0 and float(r.grad_fn.edges[0][1](np.ones((), np.float32))) == -1.0, \
    f"10.0 - Variable(4.0): expected 6.0 with d/db = -1, got {r.item()} and {r.grad_fn.edges[0][1](np.ones((), np.float32))}"
bias = Variable(np.zeros(3))
m = multiply(add(Variable(np.ones((4, 3)), requires_grad=False), bias), 2.0)
assert m.shape == (4, 3) and np.allclose(m.data.data, 2.0), f"(ones(4, 3) + zeros(3)) * 2: expected 2.0 everywhere, got {m.data.data}"
to_bias = m.grad_fn.edges[0][0].grad_fn.edges[0][1](np.ones((4, 3)))
assert to_bias.shape == (3,) and np.allclose(to_bias, 4.0), \
    f"the bias (3,) was broadcast over 4 rows: its rule should sum g to shape (3,) with 4.0s, got {np.shape(to_bias)}: {to_bias}"
print("✅ add, multiply and subtract compute values and local rules")
### BEGIN HIDDEN TESTS
k = Variable(2.0, requires_grad=False) * 3.0
assert k.grad_fn is None and not k.requires_grad, f"no input needs a gradient, so no graph: got grad_fn {k.grad_fn!r}"
q = 3.0 * Variable([1.0, 2.0])
assert np.allclose(q.data.data, [3.0, 6.0]) and q.dtype == np.float32, f"3.0 * Variable([1, 2]): expected float32 [3, 6], got {q!r}"
### END HIDDEN TESTS


# %% [markdown]
# ## Step 3 — `backward()`: the chain rule over the whole graph
#
# `backpropagate(root, seed)` does the work behind `root.backward()`:
#
# 1. `topological_order(root)` lists every node reachable from `root` through `grad_fn.edges`,
#    each **once**, each node before the inputs it was made from. It uses an explicit stack rather
#    than recursion, so a graph thousands of operations deep doesn't hit Python's recursion limit.
#    A leaf has no inputs, so it is finished the moment it is found and never goes on the stack.
# 2. Walk that list, starting with `grads = {root: seed}`. A node pops its gradient and passes
#    `rule(g)` to each input, **adding** to what that input already received.
# 3. A leaf stores what it received in `.grad` (adding to an existing `.grad`: gradients accumulate
#    until you call `zero_grad()`).
#
# Variables are hashed by identity (`__hash__ = object.__hash__` in the class above), so a node
# can be a set member or a dict key itself; `==` on Variables compares values elementwise and
# never gets in the way.

# %% nbgrader={"grade": false, "grade_id": "backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def topological_order(root):
    """Every node reachable from `root`, once each, every node listed before its inputs."""
    # TODO: depth-first search with an explicit stack of (node, iterator over its
    # `grad_fn.edges`); append a node to `order` once all its inputs are done (a leaf at once,
    # when it is found), then return `order` reversed. Keep the nodes seen so far in a set.
    ### BEGIN SOLUTION
    if root.grad_fn is None:
        return [root]
    order, seen = [], {root}
    stack = [(root, iter(root.grad_fn.edges))]
    while stack:
        node, pending = stack[-1]
        for parent, _ in pending:
            if parent in seen:
                continue
            seen.add(parent)
            if parent.grad_fn is None:                # a leaf: nothing below it
                order.append(parent)
            else:
                stack.append((parent, iter(parent.grad_fn.edges)))
                break
        else:                                         # every input of `node` is done
            stack.pop()
            order.append(node)
    order.reverse()
    return order
    ### END SOLUTION


def backpropagate(root, seed):
    """Push gradient `seed` (an array shaped like `root`) back to every leaf below `root`."""
    # TODO: follow steps 2 and 3 above. A leaf's gradient is stored as
    # `Variable(g, requires_grad=False)`, cast to the leaf's dtype.
    ### BEGIN SOLUTION
    grads = {root: seed}
    for node in topological_order(root):
        g = grads.pop(node)                           # every node listed receives a gradient
        fn = node.grad_fn
        if fn is None:                                # a leaf: keep the gradient
            if g.dtype != node._data.dtype or not g.flags.writeable:
                g = g.astype(node._data.dtype)
            node.grad = _leaf_grad(g if node.grad is None else node.grad._data + g)
            continue
        for parent, rule in fn.edges:
            parent_grad = rule(g)
            grads[parent] = grads[parent] + parent_grad if parent in grads else parent_grad
    ### END SOLUTION


@patch
def backward(self: Variable, gradient=None):
    """Fill in `.grad` of every leaf this Variable depends on (d self / d leaf, times `gradient`)."""
    if not self.requires_grad:
        raise RuntimeError("backward() on a Variable that does not require gradients "
                           "(none of its inputs has requires_grad=True)")
    if gradient is None:                          # d self / d self = 1 everywhere
        seed = np.empty(self._data.shape, self._data.dtype)
        seed.fill(1)                              # (np.ones, minus its Python wrapper)
    else:
        seed = np.asarray(gradient._data if isinstance(gradient, Variable) else
                          gradient.data if isinstance(gradient, Tensor) else gradient,
                          dtype=self._data.dtype)
        if seed.shape != self._data.shape:
            raise ValueError(f"backward(): gradient has shape {seed.shape}, but the Variable has "
                             f"shape {self._data.shape}; they must match")
    backpropagate(self, seed)


# %% [markdown]
# The example from the top: `z = x * y + x` at `x = 2, y = 3` gives `dz/dx = 4`, `dz/dy = 2`.

# %%
x, y = Variable(2.0), Variable(3.0)
z = x * y + x
z.backward()
print("z =", z.item(), "| dz/dx =", x.grad.item(), "| dz/dy =", y.grad.item())

# %% [markdown]
# ### See it: the graph your `Variable` recorded
#
# The picture below is drawn from nothing but what your code stored: starting at `z`, it follows
# `z.grad_fn.edges` — the `(input, rule)` pairs — down to the leaves. Black arrows are the forward
# pass (each box shows the value computed there). Red labels are what each edge's `rule` passes
# back during `backward()`, starting from `g = 1` at `z`: `x` is reached along two edges, and its
# gradient is their sum, `3 + 1 = 4`.

# %% tags=["hide-input"]
import os

if __name__ == "__main__" and not os.environ.get("TINYTORCH_GRADING"):
    try:
        import matplotlib.pyplot as plt

        x, y = Variable(2.0), Variable(3.0)
        z = x * y + x
        z.backward()
        names = {x: "x", y: "y", z: "z"}

        # Every node reachable from z through grad_fn.edges, with its longest distance from z.
        depth, pending = {z: 0}, [z]
        while pending:
            node = pending.pop()
            for parent, _ in (node.grad_fn.edges if node.grad_fn is not None else []):
                if depth.get(parent, -1) < depth[node] + 1:
                    depth[parent] = depth[node] + 1
                    pending.append(parent)
        # The gradient arriving at each node, and what each edge's rule passes back.
        arriving = {z: np.ones_like(np.asarray(z.data))}
        passed = []
        for node in sorted(depth, key=depth.get):
            for parent, rule in (node.grad_fn.edges if node.grad_fn is not None else []):
                g = np.asarray(rule(arriving[node]))
                passed.append((parent, node, float(g)))
                arriving[parent] = arriving.get(parent, 0) + g

        deepest = max(depth.values())
        columns = {}
        for node in sorted(depth, key=lambda n: names.get(n, "~")):
            columns.setdefault(depth[node], []).append(node)
        where = {node: (deepest - d, -1.2 * (i - (len(nodes) - 1) / 2))
                 for d, nodes in columns.items() for i, node in enumerate(nodes)}

        fig, ax = plt.subplots(figsize=(8, 3.4))
        for parent, child, g in passed:
            (x0, y0), (x1, y1) = where[parent], where[child]
            bend = -0.3 if x1 - x0 > 1 else 0.0      # an edge that skips a column arcs over it
            ax.annotate("", xy=(x1 - 0.2, y1), xytext=(x0 + 0.2, y0),
                        arrowprops=dict(arrowstyle="->", lw=1.3, connectionstyle=f"arc3,rad={bend}"))
            lx, ly = (x0 + x1) / 2, (y0 + y1) / 2 + 0.15
            if bend:
                lx, ly = lx - bend * (y1 - y0) / 2, ly + abs(bend) * (x1 - x0) / 2
            ax.text(lx, ly, f"← {g:g}", color="crimson", ha="center", fontsize=11)
        for node, (px, py) in where.items():
            op = node.grad_fn.name if node.grad_fn is not None else "leaf"
            label = f"{names.get(node, '')} {op}\nvalue {node.item():g}"
            if node.grad is not None:
                label += f"\ngrad {node.grad.item():g}"
            ax.text(px, py, label, ha="center", va="center", fontsize=10,
                    bbox=dict(boxstyle="round", fc="#fff3d6" if node.grad_fn is None else "#dceaff"))
        ax.set_xlim(-0.5, deepest + 0.5)
        ax.set_ylim(-1.3, 1.6)
        ax.axis("off")
        ax.set_title("z = x * y + x: forward (black) and the gradients passed back (red)")
        plt.show()
    except NotImplementedError:
        print("Finish Variable, multiply and backward above to see the graph of z = x * y + x.")

# %% nbgrader={"grade": true, "grade_id": "test-basic-ops-backward", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x, y = Variable(2.0), Variable(3.0)
z = x * y + x
z.backward()
def grad_of(v):
    return None if v.grad is None else v.grad.item()
assert x.grad is not None and y.grad is not None, f"backward() should fill x.grad and y.grad, got {x.grad!r} and {y.grad!r}"
assert abs(z.item() - 8.0) < 1e-6 and abs(grad_of(x) - 4.0) < 1e-6 and abs(grad_of(y) - 2.0) < 1e-6, \
    f"z = x * y + x at (2, 3): expected z 8, dz/dx 4, dz/dy 2; got {z.item()}, {grad_of(x)}, {grad_of(y)}"
a, b = Variable(5.0), Variable(2.0)
d = subtract(a, b)
d.backward()
assert d.item() == 3.0 and grad_of(a) == 1.0 and grad_of(b) == -1.0, \
    f"d = a - b: expected d 3, dd/da 1, dd/db -1; got {d.item()}, {grad_of(a)}, {grad_of(b)}"
# numbers on either side
c = Variable(4.0)
(3 - c * 2 + 1).backward()
assert grad_of(c) == -2.0, f"d(3 - 2c + 1)/dc should be -2, got {grad_of(c)}"
# broadcasting: a bias (3,) added to a batch (4, 3) gets the column sums
batch, bias = Variable(np.ones((4, 3))), Variable(np.zeros(3))
multiply(add(batch, bias), 2.0).backward(np.ones((4, 3)))   # seed: d(loss)/d(output) = 1 everywhere
assert bias.grad is not None and bias.grad.shape == (3,) and np.allclose(bias.grad.data.data, 8.0), \
    f"bias (3,) broadcast over 4 rows, times 2: expected grad [8, 8, 8], got {bias.grad!r}"
print("✅ add, multiply, subtract and backward agree with the chain rule")
### BEGIN HIDDEN TESTS
# gradients accumulate across backward() calls
p = Variable(1.0)
(p * 3).backward()
(p * 3).backward()
assert grad_of(p) == 6.0, f"gradients accumulate: two backward() of 3p should give 6, got {grad_of(p)}"
p.zero_grad()
assert p.grad is None, f"zero_grad() should reset grad to None, got {p.grad!r}"
# a value reused along 40 levels: linear time, gradient 1
q = Variable(1.0)
y = q
for _ in range(40):
    y = y * 1 + y * 0
y.backward()
assert grad_of(q) == 1.0, f"y = y * 1 + y * 0 forty times: dy/dq should be 1, got {grad_of(q)}"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 4 — The rest of what a network needs
#
# The remaining operations follow the same pattern; each backward rule sits right beside its
# forward computation, and both compute with module 01's methods (`A.divide(B)`, `A.exp()`,
# `A.sum(...)`, `_t(g).multiply(...)`). Only what `Tensor` has no method for — copying a gradient
# back over reduced axes, scattering it into the positions an index picked, the comparison masks
# of `maximum` — is written with NumPy directly. Read them — each is one line of calculus:
#
# | operation | rule for the input(s) |
# |---|---|
# | `a / b` | `g / b` and `-g · (a / b) / b` |
# | `-a`, `a ** n` | `-g`, `g · n · a^(n-1)` |
# | `sum`, `mean` | `g` copied back over the summed axes (divided by the count for `mean`) |
# | `max` | `g` to the position of the maximum (shared equally by ties) |
# | `reshape`, `transpose`, `x[i:j]` | `g` reshaped, transposed back, or placed in a zero array |
# | `exp`, `log`, `tanh`, `sqrt` | `g·eᵃ`, `g / a`, `g·(1 − tanh²a)`, `g / (2√a)` |
# | `abs(a)` | `g · sign(a)` (0 at 0) |
# | `dtype=` of a reduction (`cast`) | `g` converted back to the input's dtype |
# | `maximum(a, b)` | `g` to whichever is larger (to `b` on a tie: ReLU's slope at 0 is 0) |

# %%
#| export
def divide(a, b):
    """a / b: d/da = 1 / b, d/db = -(a / b) / b."""
    B = _value(b)
    A = _tensor(a, like=B)
    out = A.divide(B)
    return _node(out, "Div",
                 (a, lambda g: unbroadcast(_t(g).divide(B)._data, A._data.shape)),
                 (b, lambda g: unbroadcast(-_t(g).multiply(out).divide(B)._data, B._data.shape)))


def negate(a):
    """-a."""
    return _node(-_value(a), "Neg", (a, lambda g: -g))


def power(a, exponent):
    """a ** exponent, for a number `exponent` (a ** 2 is your multiply: a times a)."""
    if isinstance(exponent, (Tensor, np.ndarray)) and np.ndim(exponent) == 0:
        exponent = np.asarray(exponent).item()
    if not isinstance(exponent, (int, float, np.number)):
        return NotImplemented
    A = _tensor(a)
    if exponent == 2:
        return _node(A.multiply(A), "Pow", (a, lambda g: _t(g).multiply(A.multiply(2))._data))
    return _node(A ** exponent, "Pow",
                 (a, lambda g: _t(g).multiply((A ** (exponent - 1)).multiply(exponent))._data))


def _array(x):
    """The NumPy array (or number) behind an operand, for work no Tensor method does (masks, scatters)."""
    x = _value(x)
    return x._data if isinstance(x, Tensor) else x


def _compare(op, a, b):
    """Comparisons give a Variable of booleans with no gradient."""
    return Variable(op(_array(a), _array(b)), requires_grad=False)


def cast(a, dtype):
    """The values converted to `dtype` (NumPy's `dtype=` argument); the gradient is converted back."""
    A = _value(a)
    return _node(Tensor(A, dtype=dtype), "Cast", (a, lambda g: g.astype(A.dtype)))


def _spread(g, shape, axis, keepdims):
    """Copy the gradient array `g` of a reduction back over the reduced axes: an array of `shape`."""
    full = np.empty(shape, dtype=g.dtype)
    full[...] = g if axis is None or keepdims else np.expand_dims(g, axis)
    return full


def reduce_sum(a, axis=None, keepdims=False):
    """Sum over `axis` (all axes when None)."""
    A = _value(a)
    return _node(A.sum(axis=axis, keepdims=keepdims), "Sum",
                 (a, lambda g: _spread(g, A.shape, axis, keepdims)))


def reduce_mean(a, axis=None, keepdims=False):
    """Mean over `axis` (all axes when None): each input gets g / (number of values averaged)."""
    A = _value(a)
    out = A.mean(axis=axis, keepdims=keepdims)
    count = max(A._data.size // max(out._data.size, 1), 1)
    return _node(out, "Mean", (a, lambda g: _spread(_t(g).divide(count)._data, A.shape, axis, keepdims)))


def reduce_max(a, axis=None, keepdims=False):
    """Maximum over `axis`; the gradient is shared equally by tied maxima."""
    A = _value(a)
    out = A.max(axis=axis, keepdims=keepdims)
    def rule(g):
        top = out._data
        if axis is not None and not keepdims:
            g, top = np.expand_dims(g, axis), np.expand_dims(top, axis)
        winners = _t(A._data == top)
        return _t(g).multiply(winners).divide(winners.sum(axis=axis, keepdims=True))._data
    return _node(out, "Max", (a, rule))


def reshape(a, shape):
    """The same values in a new shape."""
    A = _value(a)
    return _node(A.reshape(shape), "Reshape", (a, lambda g: _t(g).reshape(A.shape)._data))


def transpose(a, axes=None):
    """Permute axes (reverse them when `axes` is None)."""
    A = _value(a)
    if axes is None:
        return _node(A.transpose(), "Transpose", (a, lambda g: _t(g).transpose()._data))
    back = tuple(int(i) for i in np.argsort(axes))
    return _node(A.transpose(axes), "Transpose", (a, lambda g: _t(g).transpose(back)._data))


def getitem(a, index):
    """Indexing and slicing; the gradient lands on the selected positions."""
    if isinstance(index, tuple):
        index = tuple(i._data if isinstance(i, Tensor) else i for i in index)
    elif isinstance(index, Tensor):
        index = index._data
    A = _value(a)
    parts = index if isinstance(index, tuple) else (index,)
    basic = all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis for p in parts)
    def rule(g):
        full = np.zeros_like(A._data, dtype=g.dtype)
        if basic:
            full[index] = g              # slices select each position at most once
        else:
            np.add.at(full, index, g)    # an integer array may pick a position twice
        return full
    return _node(A[index], "Index", (a, rule))


def exp(a):
    out = _tensor(a).exp()
    return _node(out, "Exp", (a, lambda g: _t(g).multiply(out)._data))


def log(a):
    A = _tensor(a)
    return _node(A.log(), "Log", (a, lambda g: _t(g).divide(A)._data))


def tanh(a):
    out = _tensor(a).tanh()
    def rule(g):                         # g (1 - tanh²) = g - g tanh tanh
        G = _t(g)
        return G.subtract(G.multiply(out).multiply(out))._data
    return _node(out, "Tanh", (a, rule))


def sqrt(a):
    out = _tensor(a).sqrt()
    return _node(out, "Sqrt", (a, lambda g: _t(g).divide(out.multiply(2))._data))


def absolute(a):
    """|a|: the gradient is g times the sign of a (0 at 0)."""
    A = _tensor(a)
    return _node(A.abs(), "Abs", (a, lambda g: _t(g).multiply(_t(np.sign(A._data)))._data))


def _arrays(A, B):
    """The arrays (or numbers) behind two operand values, for the comparison masks below."""
    return A._data if isinstance(A, Tensor) else A, B._data if isinstance(B, Tensor) else B


def maximum(a, b):
    """Elementwise max; on a tie the gradient goes to `b` (so ReLU = maximum(x, 0) has slope 0 at 0)."""
    A, B = _value(a), _value(b)
    out = A.maximum(B) if isinstance(A, Tensor) else B.maximum(A)
    Av, Bv = _arrays(A, B)                  # each rule: g times a bool mask of where its input won
    rule_a = lambda g: unbroadcast(_t(g).multiply(_t(np.greater(Av, Bv)))._data, Av.shape)
    if not isinstance(b, Variable):         # maximum(x, 0), ReLU: no rule for the constant
        return _node(out, "Maximum", (a, rule_a))
    return _node(out, "Maximum", (a, rule_a),
                 (b, lambda g: unbroadcast(_t(g).multiply(_t(np.greater_equal(Bv, Av)))._data, Bv.shape)))


def minimum(a, b):
    """Elementwise min; on a tie the gradient goes to `b`."""
    A, B = _value(a), _value(b)
    out = A.minimum(B) if isinstance(A, Tensor) else B.minimum(A)
    Av, Bv = _arrays(A, B)
    return _node(out, "Minimum",
                 (a, lambda g: unbroadcast(_t(g).multiply(_t(np.less(Av, Bv)))._data, Av.shape)),
                 (b, lambda g: unbroadcast(_t(g).multiply(_t(np.less_equal(Bv, Av)))._data, Bv.shape)))


# The methods and operators behind these functions (given): `v / 2`, `v ** 3`, `v[0]`, `v.sum()`,
# `v.T`, `v.exp()`, `abs(v)`, … Each is one line that calls the function above.
@patch
def __rtruediv__(self: Variable, other): return divide(other, self)
@patch
def __neg__(self: Variable): return negate(self)
@patch
def __pos__(self: Variable): return self
@patch
def __pow__(self: Variable, exponent): return power(self, exponent)
@patch
def __rpow__(self: Variable, base): return exp(multiply(self, float(np.log(base))))
@patch
def __getitem__(self: Variable, index): return getitem(self, index)
@patch
def __gt__(self: Variable, other): return _compare(np.greater, self, other)
@patch
def __lt__(self: Variable, other): return _compare(np.less, self, other)
@patch
def __ge__(self: Variable, other): return _compare(np.greater_equal, self, other)
@patch
def __le__(self: Variable, other): return _compare(np.less_equal, self, other)
@patch
def __eq__(self: Variable, other): return _compare(np.equal, self, other)
@patch
def __ne__(self: Variable, other): return _compare(np.not_equal, self, other)


Variable.__truediv__ = Variable.divide = divide      # (the function itself: one call less)

def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _reduction(op, tensor_method, a, axis, keepdims, dtype, out):
    """sum/mean/max of a Variable; NumPy's `dtype=` casts first, `out=` leaves the graph."""
    axis = _axis(axis)
    if out is not None:                              # np.sum(v, out=array): values only
        return tensor_method(a.data, axis=axis, keepdims=keepdims, out=out, **(
            {} if dtype is None else {"dtype": dtype}))
    if dtype is not None and np.dtype(dtype) != a._data.dtype:
        a = cast(a, dtype)
    return op(a, axis, keepdims)


@patch
def sum(self: Variable, axis=None, keepdims=False, *, dtype=None, out=None):
    if dtype is None and out is None:
        return reduce_sum(self, tuple(axis) if isinstance(axis, list) else axis, keepdims)
    return _reduction(reduce_sum, Tensor.sum, self, axis, keepdims, dtype, out)

@patch
def mean(self: Variable, axis=None, keepdims=False, *, dtype=None, out=None):
    if dtype is None and out is None:
        return reduce_mean(self, tuple(axis) if isinstance(axis, list) else axis, keepdims)
    return _reduction(reduce_mean, Tensor.mean, self, axis, keepdims, dtype, out)

@patch
def max(self: Variable, axis=None, keepdims=False, *, out=None):
    return _reduction(reduce_max, Tensor.max, self, axis, keepdims, None, out)

@patch
def reshape(self: Variable, *shape):
    return reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)

@patch
def transpose(self: Variable, *axes):
    return transpose(self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes or None)

@patch
def flatten(self: Variable): return reshape(self, (-1,))
@patch
def exp(self: Variable): return exp(self)
@patch
def log(self: Variable): return log(self)
@patch
def sqrt(self: Variable): return sqrt(self)
@patch
def tanh(self: Variable): return tanh(self)
@patch
def abs(self: Variable): return absolute(self)
@patch
def maximum(self: Variable, other): return maximum(self, other)
@patch
def minimum(self: Variable, other): return minimum(self, other)
@patch
def __abs__(self: Variable): return absolute(self)

@patch
def __round__(self: Variable, ndigits=None):
    """Rounded values: a Variable without gradient (rounding is flat almost everywhere)."""
    return Variable(round(self.data, ndigits), requires_grad=False)


@patch(as_prop=True)
def T(self: Variable):
    """Transpose (reversed axes)."""
    return self.transpose()


# %% [markdown]
# ## Step 5 — Matrix multiply
#
# For `C = A @ B` with `A` of shape `(n, k)` and `B` of shape `(k, m)`, each `C[i, j]` is
# `Σ_t A[i, t] B[t, j]`, so
#
# - `dL/dA = g @ Bᵀ` — shape `(n, m) @ (m, k) = (n, k)`, like `A`;
# - `dL/dB = Aᵀ @ g` — shape `(k, n) @ (n, m) = (k, m)`, like `B`.
#
# Checking the shapes is the quickest way to remember the formula. Compute both with your
# `Tensor`: `_t(g).matmul(B.T)`, where `B.T` is your `transpose`. (The code also handles vectors
# and stacks of matrices by the same rule; that bookkeeping is given.)

# %% nbgrader={"grade": false, "grade_id": "matmul", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def matmul(a, b):
    """a @ b."""
    A, B = _tensor(a), _value(b)
    if A._data.ndim == 2 and B._data.ndim == 2:
        # TODO: return `_node(A.matmul(B), "MatMul", (a, rule_for_a), (b, rule_for_b))` using the
        # two formulas above, computed with your Tensor methods: `M.T` is Mᵀ (your transpose), and
        # a rule turns the array g into a Tensor with `_t(g)` and returns an array (`._data`).
        ### BEGIN SOLUTION
        return _node(A.matmul(B), "MatMul",
                     (a, lambda g: _t(g).matmul(B.T)._data),
                     (b, lambda g: A.T.matmul(_t(g))._data))
        ### END SOLUTION
    # Stacks and vectors (given). A vector is a one-row (left) or one-column (right) matrix; a
    # stack of matrices multiplies pairwise, broadcasting like elementwise ops.
    A2 = A.reshape(1, -1) if A.ndim == 1 else A
    B2 = B.reshape(-1, 1) if B.ndim == 1 else B
    def as_matrix(g):
        if A.ndim == 1:
            g = np.expand_dims(g, -2 if B.ndim > 1 else 0)
        if B.ndim == 1:
            g = np.expand_dims(g, -1)
        return _t(g)
    def swap(m):                     # the matrix transpose of the last two axes (also for stacks)
        return m.transpose(tuple(range(m.ndim - 2)) + (m.ndim - 1, m.ndim - 2))
    def rule_a(g):
        ga = as_matrix(g).matmul(swap(B2))._data
        return unbroadcast(ga[..., 0, :] if A.ndim == 1 else ga, A.shape)
    def rule_b(g):
        gb = swap(A2).matmul(as_matrix(g))._data
        return unbroadcast(gb[..., 0] if B.ndim == 1 else gb, B.shape)
    return _node(A.matmul(B), "MatMul", (a, rule_a), (b, rule_b))


@patch
def __rmatmul__(self: Variable, other): return matmul(other, self)


Variable.__matmul__ = Variable.matmul = matmul      # (the function itself: one call less)

# %% [markdown]
# Check it on the smallest example: with `L = sum(A @ B)`, `g` is all ones, so `dL/dA = 1 @ Bᵀ`
# puts the row sums of `B` in every row, and `dL/dB = Aᵀ @ 1` puts the column sums of `A` in
# every column.

# %% nbgrader={"grade": true, "grade_id": "test-matmul-backward", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
A_values = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])       # (3, 2)
B_values = np.array([[1.0, 0.0, -1.0, 2.0], [0.5, 1.0, 1.0, 0.0]])  # (2, 4)
A, B = Variable(A_values), Variable(B_values)
C = A @ B
assert isinstance(C, Variable) and C.shape == (3, 4), f"(3, 2) @ (2, 4) should be a (3, 4) Variable, got {C!r}"
assert np.allclose(C.data.data, A_values @ B_values), f"A @ B: expected {(A_values @ B_values).tolist()}, got {C.data.data.tolist()}"
C.sum().backward()
expected_a, expected_b = np.ones((3, 4)) @ B_values.T, A_values.T @ np.ones((3, 4))
assert A.grad is not None and np.allclose(A.grad.data.data, expected_a), \
    f"dL/dA = g @ Bᵀ: expected {expected_a.tolist()}, got {None if A.grad is None else A.grad.data.data.tolist()}"
assert B.grad is not None and np.allclose(B.grad.data.data, expected_b), \
    f"dL/dB = Aᵀ @ g: expected {expected_b.tolist()}, got {None if B.grad is None else B.grad.data.data.tolist()}"
print("✅ matmul's backward rules give g @ Bᵀ and Aᵀ @ g")
### BEGIN HIDDEN TESTS
weights = np.array([[2.0, -1.0, 0.5, 1.0], [1.0, 0.0, 3.0, 1.0], [0.0, 1.0, 1.0, -2.0]])   # (3, 4): not all ones
A2, B2 = Variable(A_values), Variable(B_values)
((A2 @ B2) * Variable(weights, requires_grad=False)).sum().backward()
assert np.allclose(A2.grad.data.data, weights @ B_values.T) and np.allclose(B2.grad.data.data, A_values.T @ weights), \
    "with g = weights (not all ones), A.grad should be g @ Bᵀ and B.grad Aᵀ @ g"
### END HIDDEN TESTS


# %% [markdown]
# ## Step 6 — NumPy functions on Variables
#
# `np.exp(v)` on a Variable calls `v.__array_ufunc__`, which sends each supported ufunc to the
# matching operation above (so does the method: `v.exp()`, `v.abs()`, `abs(v)`). Comparisons and
# other functions without a useful gradient (`np.sign`, `np.isnan`, ...) are computed plainly and
# return a Variable without gradient; a function that has no backward rule here raises an error
# rather than silently cutting the graph.
#
# NumPy's reductions call the method of the same name, so `np.sum(v)`, `np.mean(v, axis=0)` and
# `np.max(v, keepdims=True)` build the graph exactly like `v.sum()`. `dtype=` converts first (a
# `Cast` node, whose gradient is converted back); `out=` writes the values into an array you
# give and returns it — outside the graph, since an array can't carry a gradient. `float(v)`,
# `int(v)` and `round(v)` give plain values too: rounding has zero slope almost everywhere, so
# `round(v, 2)` is a Variable without gradient. `v.flatten()` is `v.reshape(-1)`.

# %%
#| export
_DIFFERENTIABLE = {
    np.add: add, np.subtract: subtract, np.multiply: multiply, np.true_divide: divide,
    np.matmul: matmul, np.negative: negate, np.positive: lambda a: a, np.power: power,
    np.exp: exp, np.log: log, np.tanh: tanh, np.sqrt: sqrt, np.absolute: absolute,
    np.maximum: maximum, np.minimum: minimum, np.square: lambda a: power(a, 2),
}
_NO_GRADIENT = {np.greater, np.less, np.greater_equal, np.less_equal, np.equal, np.not_equal,
                np.sign, np.isnan, np.isinf, np.isfinite, np.floor, np.ceil, np.rint,
                np.logical_and, np.logical_or, np.logical_not}


def _array_ufunc(ufunc, method, inputs, kwargs):
    if method != "__call__" or kwargs.get("out") is not None:
        return NotImplemented
    rule = _DIFFERENTIABLE.get(ufunc)
    if rule is not None and not kwargs:
        return rule(*inputs)
    arrays = [_array(x) for x in inputs]
    if ufunc in _NO_GRADIENT or not any(isinstance(x, Variable) and x.requires_grad for x in inputs):
        return Variable(ufunc(*arrays, **kwargs), requires_grad=False)
    raise TypeError(f"np.{ufunc.__name__} has no gradient rule in tinytorch.core.autograd")


@patch
def __array_ufunc__(self: Variable, ufunc, method, *inputs, **kwargs):
    if method == "__call__" and not kwargs:      # np.maximum(v, 0) (ReLU): straight to its rule (speed)
        rule = _DIFFERENTIABLE.get(ufunc)
        if rule is not None:
            return rule(*inputs)
    return _array_ufunc(ufunc, method, inputs, kwargs)


# %% [markdown]
# ## Step 7 — Trust, but verify: finite differences
#
# A gradient can be checked without any calculus: nudge one input by a small `h` each way and
# measure how the output moves, `(f(x + h) − f(x − h)) / 2h`. `numerical_gradient` does this for
# every element of an input; `gradient_check` compares it with what `backward()` produces. We use
# `float64` here so the nudges are not drowned by rounding.

# %%
#| export
def numerical_gradient(f, x, h=1e-6):
    """Central finite differences of the scalar `sum(f(x))` with respect to array `x`."""
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


def gradient_check(f, x, tol=1e-5):
    """True when backward() through `f` matches finite differences at `x`."""
    v = Variable(np.array(x, dtype=np.float64))
    f(v).sum().backward()
    return np.allclose(v.grad._data, numerical_gradient(f, x), atol=tol, rtol=tol)


# %% nbgrader={"grade": true, "grade_id": "test-ops-gradients", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
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


def _grad_of(f, x):
    v = Variable(np.array(x, dtype=np.float64))
    f(v).sum().backward()
    return np.zeros_like(x) if v.grad is None else np.asarray(v.grad.data.data, dtype=np.float64)


def _matches_finite_differences(f, x, tol=1e-5):
    return np.allclose(_grad_of(f, x), _central_difference(f, x), atol=tol, rtol=tol)


rng = np.random.default_rng(0)
m = rng.normal(size=(3, 4))
checks = {
    "mul": lambda v: v * v * 3.0,
    "div": lambda v: 1.0 / (v * v + 1.0),
    "pow": lambda v: v ** 3,
    "matmul": lambda v: v @ Variable(m.T, requires_grad=False),
    "rmatmul": lambda v: Variable(m.T, requires_grad=False) @ v,
    "sum-axis": lambda v: v.sum(axis=1) * Variable(np.arange(3.0), requires_grad=False),
    "mean": lambda v: (v * v).mean(axis=0),
    "exp-tanh": lambda v: np.tanh(v) + np.exp(v),
    "slice-T": lambda v: v[:, 1:3].T * 2.0,
}
for name, f in checks.items():
    assert _matches_finite_differences(f, m), \
        f"gradient of {name}: backward() disagrees with finite differences, max difference " \
        f"{np.abs(_grad_of(f, m) - _central_difference(f, m)).max():.3g}"
print("✅ gradients of", ", ".join(checks), "match finite differences")
### BEGIN HIDDEN TESTS
assert _matches_finite_differences(lambda v: np.log(v * v + 1.0) + np.sqrt(v * v + 1.0), m), \
    "the gradient of log and sqrt disagrees with finite differences (expected them to match)"
assert _matches_finite_differences(lambda v: v.reshape(4, 3) @ Variable(m, requires_grad=False), m), \
    "the gradient of reshape then matmul disagrees with finite differences (expected them to match)"
assert _matches_finite_differences(lambda v: v.max(axis=1), m), \
    "the gradient of max(axis=1) disagrees with finite differences (expected them to match)"
assert _matches_finite_differences(lambda v: np.maximum(v, 0.1) + np.minimum(v, -0.1), m), \
    "the gradient of maximum and minimum disagrees with finite differences (expected them to match)"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 8 — The activations of module 02, differentiated for free
#
# The activations compute with operators and NumPy ufuncs on whatever they are given, so when
# they receive a Variable they build a graph. We don't rewrite them: we *check* them. Their
# derivatives are the textbook ones (ReLU: 0 or 1; Sigmoid: `s(1 − s)`; Tanh: `1 − tanh²`), and
# finite differences confirm what backward computes (away from ReLU's kink at 0).

# %% nbgrader={"grade": true, "grade_id": "test-activation-gradients", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
from tinytorch.core.activations import ReLU, Sigmoid, Softmax, Tanh

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


def _grad_of(f, x):
    v = Variable(np.array(x, dtype=np.float64))
    f(v).sum().backward()
    return np.zeros_like(x) if v.grad is None else np.asarray(v.grad.data.data, dtype=np.float64)


def _matches_finite_differences(f, x, tol=1e-5):
    return np.allclose(_grad_of(f, x), _central_difference(f, x), atol=tol, rtol=tol)


points = np.array([[-2.0, -0.5, 0.3, 1.7], [0.9, -1.2, 2.5, -0.1]])
for activation in (ReLU(), Sigmoid(), Tanh(), Softmax()):
    weights = Variable(np.arange(1.0, 5.0), requires_grad=False)   # so Softmax's sum isn't constant
    f = lambda v: activation(v) * weights
    out = f(Variable(points))
    assert isinstance(out, Variable), f"{type(activation).__name__} should keep Variables, got a {type(out).__name__}"
    assert _matches_finite_differences(f, points), \
        f"{type(activation).__name__}: backward disagrees with finite differences (expected them to match)"
s = Variable(points)
Sigmoid()(s).sum().backward()
sig = 1 / (1 + np.exp(-points))
assert s.grad is not None and np.allclose(s.grad.data.data, sig * (1 - sig), atol=1e-6), \
    f"Sigmoid's gradient should be s(1 - s) = {np.round(sig * (1 - sig), 4).tolist()}, got {s.grad!r}"
print("✅ ReLU, Sigmoid, Tanh and Softmax gradients check out")

# %% [markdown]
# ## Step 9 — Layers become trainable
#
# `Dense` creates its weights with `make_parameter`, which returns a `tinytorch.core.autograd`
# `Variable` once you have exported this module (`tito export 07`). Inside this notebook we wrap
# the parameters in the `Variable` defined above instead — the layer code itself is untouched. Feed
# a batch through, reduce to a loss, call `backward()`, and every weight and bias has a gradient of
# its own shape.

# %% nbgrader={"grade": true, "grade_id": "test-layers-trainable", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
from tinytorch.core.layers import Dense
from tinytorch.core.networks import create_mlp


def _central_difference(f, x, h):
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


np.random.seed(0)
net = create_mlp(3, [4], 2)
for layer in net.layers:
    if isinstance(layer, Dense):
        layer.weights, layer.bias = Variable(layer.weights), Variable(layer.bias)
params = net.parameters()
assert len(params) == 4 and all(isinstance(p, Variable) for p in params), \
    f"expected 4 Variables (weights and biases of 2 layers), got {[type(p).__name__ for p in params]}"
batch = Tensor(np.random.randn(5, 3).astype(np.float32))
loss = (net(batch) ** 2).mean()
assert isinstance(loss, Variable) and loss.shape == (), f"the loss should be a 0-d Variable, got {loss!r}"
loss.backward()
for p in params:
    assert p.grad is not None and p.grad.shape == p.shape, \
        f"every parameter gets a gradient of its shape: parameter {p.shape}, gradient {None if p.grad is None else p.grad.shape}"
w = params[0]
def loss_of_first_weights(v):
    net.layers[0].weights = v
    return (net(batch) ** 2).mean()
expected = _central_difference(loss_of_first_weights, np.asarray(w.data.data, dtype=np.float64), h=1e-3)
net.layers[0].weights = w
got = np.asarray(w.grad.data.data, dtype=np.float64)
assert np.allclose(got, expected, atol=1e-3), \
    f"Dense weight gradient disagrees with finite differences: max difference {np.abs(got - expected).max():.3g}"
print("✅ a network from module 04 computes gradients for all", len(params), "parameters")

# %% [markdown]
# ## What you built
#
# - `Variable`: a Tensor that remembers how it was computed — every value computed by your
#   module 01 `Tensor`.
# - Backward rules for arithmetic, matrix multiply, reductions, reshaping, indexing and NumPy
#   functions, with broadcasting summed back.
# - `backward()`: one pass in reverse topological order, linear in the size of the graph.
#
# ```python
# from tinytorch.core.autograd import Variable
# ```
#
# Next, module 08 uses these gradients to *improve* the parameters: the optimizers.

# %% [markdown]
# ## Exercises (not graded)
#
# 1. Draw, by hand, the graph of `w = (x + y) * (x - y)` at `x = 3, y = 1`, write the gradient on
#    every edge as in the picture above, and check `dw/dx = 2x`, `dw/dy = -2y` with your `Variable`.
# 2. Call `backward()` twice on the same graph without `zero_grad()`. What happens to `x.grad`, and
#    why is accumulating (rather than overwriting) the right default?
# 3. Write the backward rule of a new operation, `abs`, as a function of `Variable`s (use `x > 0`
#    for the sign), and check it against central finite differences away from 0. What should the
#    gradient be at exactly 0?
