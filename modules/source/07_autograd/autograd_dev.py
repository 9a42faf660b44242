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
# Values are stored as NumPy arrays inside. Numbers and lists follow `Tensor`'s rules (Python
# floats become `float32`); an integer value that needs gradients is converted to `float32`
# (gradients of integers make no sense); a `float64` array stays `float64` (handy for precise
# gradient checks).

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


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


class Variable(Tensor):
    """A Tensor that records the operations made with it, so `backward()` can compute gradients."""

    __hash__ = object.__hash__          # usable as a dict key even though `==` is elementwise
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
    T = property(lambda self: self.transpose(), doc="Transpose (reversed axes).")

    def __repr__(self):
        extra = f", grad_fn={self.grad_fn!r}" if self.grad_fn is not None else ""
        return f"Variable({self._data!r}, requires_grad={self.requires_grad}{extra})"

    def detach(self):
        """The same value, outside the graph."""
        return Variable(self._data, requires_grad=False)

    def zero_grad(self):
        """Forget the accumulated gradient."""
        self.grad = None

    def backward(self, gradient=None):
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

    # -- operators: each delegates to a function defined below ------------------------------
    def __add__(self, other): return add(self, other)
    def __radd__(self, other): return add(other, self)
    def __sub__(self, other): return subtract(self, other)
    def __rsub__(self, other): return subtract(other, self)
    def __mul__(self, other): return multiply(self, other)
    def __rmul__(self, other): return multiply(other, self)
    def __truediv__(self, other): return divide(self, other)
    def __rtruediv__(self, other): return divide(other, self)
    def __matmul__(self, other): return matmul(self, other)
    def __rmatmul__(self, other): return matmul(other, self)
    def __neg__(self): return negate(self)
    def __pos__(self): return self
    def __pow__(self, exponent): return power(self, exponent)
    def __rpow__(self, base): return exp(multiply(self, float(np.log(base))))
    def __getitem__(self, index): return getitem(self, index)
    def __gt__(self, other): return _compare(np.greater, self, other)
    def __lt__(self, other): return _compare(np.less, self, other)
    def __ge__(self, other): return _compare(np.greater_equal, self, other)
    def __le__(self, other): return _compare(np.less_equal, self, other)
    def __eq__(self, other): return _compare(np.equal, self, other)
    def __ne__(self, other): return _compare(np.not_equal, self, other)
    add = __add__
    multiply = __mul__
    subtract = __sub__
    divide = __truediv__
    matmul = __matmul__

    def sum(self, axis=None, keepdims=False): return reduce_sum(self, _axis(axis), keepdims)
    def mean(self, axis=None, keepdims=False): return reduce_mean(self, _axis(axis), keepdims)
    def max(self, axis=None, keepdims=False): return reduce_max(self, _axis(axis), keepdims)

    def reshape(self, *shape):
        return reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)

    def transpose(self, *axes):
        return transpose(self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes or None)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _array_ufunc(ufunc, method, inputs, kwargs)


# %% [markdown]
# Try it: a leaf knows its value and has no gradient yet.

# %%
x = Variable([1.0, 2.0, 3.0])
print(x, "| leaf:", x.is_leaf, "| grad:", x.grad, "| data is a", type(x.data).__name__)

# %% nbgrader={"grade": true, "grade_id": "test-variable-init", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
v = Variable(3.0)
assert isinstance(v, Tensor) and isinstance(v.data, Tensor), "a Variable is a Tensor and its data is a Tensor"
assert v.requires_grad and v.grad is None and v.grad_fn is None and v.is_leaf
assert v.shape == () and v.size == 1 and v.dtype == np.float32
w = Variable([[1, 2], [3, 4]], requires_grad=False)
assert w.shape == (2, 2) and not w.requires_grad
assert Variable(np.zeros(3, dtype=np.int64)).dtype == np.float32, "values that need gradients are floats"
print("✅ Variable stores its value, flags and an empty gradient")
### BEGIN HIDDEN TESTS
t = Variable(Tensor([1.0, 2.0]))
assert t.shape == (2,) and np.allclose(t.data.data, [1.0, 2.0])
t.data = Tensor([5.0, 6.0])
assert np.allclose(np.asarray(t), [5.0, 6.0])
### END HIDDEN TESTS

# %% [markdown]
# ## Step 2 — Operations that remember
#
# Every operation does two things: computes its result (the *forward* pass) and records, for each
# input that needs a gradient, a small function that turns the gradient of the result `g` into the
# gradient of that input (the *backward* rule). The helper `_result` builds the output Variable and
# keeps only the rules whose input needs a gradient — no wasted work, and no graph at all when no
# input needs gradients.
#
# **Broadcasting.** If a bias of shape `(3,)` is added to a batch of shape `(4, 3)`, the bias was
# silently copied 4 times, so its gradient is the *sum* of the 4 rows. `unbroadcast(g, shape)` sums
# `g` back down to the input's shape.

# %%
#| export
def _lift(x):
    """Operands become Variables; plain Tensors, arrays and numbers become constants."""
    if isinstance(x, Variable):
        return x
    if isinstance(x, Tensor):
        x = x._data
    elif isinstance(x, np.generic):
        x = x.item()                     # a NumPy scalar acts like a Python number...
    elif not isinstance(x, (int, float, np.ndarray)):
        x = np.asarray(x)
    const = Variable.__new__(Variable)
    const._data = x                     # ...and numbers stay "weak": float32 stays float32
    const._tensor, const.requires_grad, const.grad, const.grad_fn = None, False, None, None
    return const


def _result(value, name, *edges):
    """A new Variable for `value`; `edges` are `(input, backward_rule)` pairs."""
    out = Variable.__new__(Variable)
    out._data = value if type(value) is np.ndarray else np.asarray(value)
    out._tensor = out.grad = None
    needed = []                                       # the edges whose input needs a gradient
    for edge in edges:
        if edge[0].requires_grad:
            needed.append(edge)
    out.requires_grad = bool(needed)
    out.grad_fn = GradFn(name, needed) if needed else None
    return out


def _leaf_grad(g):
    """A gradient array wrapped as a Variable that needs no gradient itself."""
    out = Variable.__new__(Variable)
    out._data, out._tensor, out.grad, out.grad_fn, out.requires_grad = g, None, None, None, False
    return out


def unbroadcast(g, shape):
    """Sum gradient `g` over the axes that broadcasting added or stretched, giving `shape`."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra > 0:                                     # axes broadcasting added in front
        g = g.sum(axis=tuple(range(extra)))
    if g.shape != shape:                              # axes of length 1 that were stretched
        stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
        g = g.sum(axis=stretched, keepdims=True)
    return g if g.shape == shape else g.reshape(shape)


# %% [markdown]
# Here is `add`, complete: `d(a + b)/da = 1`, so `a` receives `g` (summed back to its shape).
# Its rules capture the input arrays `A` and `B`. Write `multiply` (`d(ab)/da = b`) and
# `subtract` the same way.

# %% nbgrader={"grade": false, "grade_id": "basic-ops", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def add(a, b):
    """a + b, for Variables, Tensors or numbers."""
    a, b = _lift(a), _lift(b)
    A, B = a._data, b._data
    return _result(A + B, "Add",
                   (a, lambda g: unbroadcast(g, A.shape)),
                   (b, lambda g: unbroadcast(g, B.shape)))


def multiply(a, b):
    """a * b, elementwise: d/da = b, d/db = a."""
    # TODO: like `add`, but each input's rule multiplies g by the *other* input's value
    # (`B` / `A`) before unbroadcasting.
    ### BEGIN SOLUTION
    a, b = _lift(a), _lift(b)
    A, B = a._data, b._data
    return _result(A * B, "Mul",
                   (a, lambda g: unbroadcast(g * B, A.shape)),
                   (b, lambda g: unbroadcast(g * A, B.shape)))
    ### END SOLUTION


def subtract(a, b):
    """a - b: d/da = 1, d/db = -1."""
    # TODO: like `add`, with the rule for `b` negating g.
    ### BEGIN SOLUTION
    a, b = _lift(a), _lift(b)
    A, B = a._data, b._data
    return _result(A - B, "Sub",
                   (a, lambda g: unbroadcast(g, A.shape)),
                   (b, lambda g: unbroadcast(-g, B.shape)))
    ### END SOLUTION


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

# %% nbgrader={"grade": true, "grade_id": "test-basic-ops-backward", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
x, y = Variable(2.0), Variable(3.0)
z = x * y + x
z.backward()
assert abs(z.item() - 8.0) < 1e-6 and abs(x.grad.item() - 4.0) < 1e-6 and abs(y.grad.item() - 2.0) < 1e-6
a, b = Variable(5.0), Variable(2.0)
d = subtract(a, b)
d.backward()
assert d.item() == 3.0 and a.grad.item() == 1.0 and b.grad.item() == -1.0
# numbers on either side
c = Variable(4.0)
(3 - c * 2 + 1).backward()
assert c.grad.item() == -2.0
# broadcasting: a bias (3,) added to a batch (4, 3) gets the column sums
batch, bias = Variable(np.ones((4, 3))), Variable(np.zeros(3))
multiply(add(batch, bias), 2.0).backward(np.ones((4, 3)))   # seed: d(loss)/d(output) = 1 everywhere
assert bias.grad.shape == (3,) and np.allclose(bias.grad.data.data, 8.0)
print("✅ add, multiply, subtract and backward agree with the chain rule")
### BEGIN HIDDEN TESTS
# gradients accumulate across backward() calls
p = Variable(1.0)
(p * 3).backward()
(p * 3).backward()
assert p.grad.item() == 6.0
p.zero_grad()
assert p.grad is None
# a value reused along 40 levels: linear time, gradient 1
q = Variable(1.0)
y = q
for _ in range(40):
    y = y * 1 + y * 0
y.backward()
assert q.grad.item() == 1.0
### END HIDDEN TESTS

# %% [markdown]
# ## Step 4 — The rest of what a network needs
#
# The remaining operations follow the same pattern; each backward rule sits right beside its
# forward computation. Read them — each is one line of calculus:
#
# | operation | rule for the input(s) |
# |---|---|
# | `a / b` | `g / b` and `-g · (a / b) / b` |
# | `-a`, `a ** n` | `-g`, `g · n · a^(n-1)` |
# | `sum`, `mean` | `g` copied back over the summed axes (divided by the count for `mean`) |
# | `max` | `g` to the position of the maximum (shared equally by ties) |
# | `reshape`, `transpose`, `x[i:j]` | `g` reshaped, transposed back, or placed in a zero array |
# | `exp`, `log`, `tanh`, `sqrt` | `g·eᵃ`, `g / a`, `g·(1 − tanh²a)`, `g / (2√a)` |
# | `maximum(a, b)` | `g` to whichever is larger (to `b` on a tie: ReLU's slope at 0 is 0) |

# %%
#| export
def divide(a, b):
    """a / b."""
    a, b = _lift(a), _lift(b)
    out = a._data / b._data
    return _result(out, "Div",
                   (a, lambda g: unbroadcast(g / b._data, a.shape)),
                   (b, lambda g: unbroadcast(-g * out / b._data, b.shape)))


def negate(a):
    """-a."""
    return _result(-a._data, "Neg", (a, lambda g: -g))


def power(a, exponent):
    """a ** exponent, for a number `exponent`."""
    if isinstance(exponent, (Tensor, np.ndarray)) and np.ndim(exponent) == 0:
        exponent = np.asarray(exponent).item()
    if not isinstance(exponent, (int, float, np.number)):
        return NotImplemented
    a = _lift(a)
    if exponent == 2:
        return _result(a._data * a._data, "Pow", (a, lambda g: g * 2 * a._data))
    return _result(a._data ** exponent, "Pow", (a, lambda g: g * exponent * a._data ** (exponent - 1)))


def _compare(op, a, b):
    """Comparisons give a Variable of booleans with no gradient."""
    return Variable(op(_lift(a)._data, _lift(b)._data), requires_grad=False)


def _spread(g, shape, axis, keepdims, scale=1):
    """Copy gradient `g` of a reduction (times `scale`) back over the reduced axes: an array of `shape`."""
    full = np.empty(shape, dtype=g.dtype)
    if g.ndim == 0:
        full.fill(g.item() * scale)
        return full
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    full[...] = g if scale == 1 else g * scale
    return full


def reduce_sum(a, axis=None, keepdims=False):
    """Sum over `axis` (all axes when None)."""
    return _result(a._data.sum(axis=axis, keepdims=keepdims), "Sum",
                   (a, lambda g: _spread(g, a.shape, axis, keepdims)))


def reduce_mean(a, axis=None, keepdims=False):
    """Mean over `axis` (all axes when None): each input gets g / (number of values averaged)."""
    total = a._data.sum(axis=axis, keepdims=keepdims)
    count = max(a._data.size // max(total.size, 1), 1)
    out = total / count
    return _result(out, "Mean", (a, lambda g: _spread(g, a.shape, axis, keepdims, 1 / count)))


def reduce_max(a, axis=None, keepdims=False):
    """Maximum over `axis`; the gradient is shared equally by tied maxima."""
    top = a._data.max(axis=axis, keepdims=True)
    def rule(g):
        if axis is not None and not keepdims:
            g = np.expand_dims(g, axis)
        winners = a._data == top
        return g * winners / winners.sum(axis=axis, keepdims=True)
    out = top if keepdims else (top.reshape(()) if axis is None else np.squeeze(top, axis=axis))
    return _result(out, "Max", (a, rule))


def reshape(a, shape):
    """The same values in a new shape."""
    return _result(a._data.reshape(shape), "Reshape", (a, lambda g: g.reshape(a.shape)))


def transpose(a, axes=None):
    """Permute axes (reverse them when `axes` is None)."""
    back = None if axes is None else np.argsort(axes)
    return _result(np.transpose(a._data, axes), "Transpose", (a, lambda g: np.transpose(g, back)))


def getitem(a, index):
    """Indexing and slicing; the gradient lands on the selected positions."""
    if isinstance(index, tuple):
        index = tuple(i._data if isinstance(i, Tensor) else i for i in index)
    elif isinstance(index, Tensor):
        index = index._data
    parts = index if isinstance(index, tuple) else (index,)
    basic = all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis for p in parts)
    def rule(g):
        full = np.zeros_like(a._data, dtype=g.dtype)
        if basic:
            full[index] = g              # slices select each position at most once
        else:
            np.add.at(full, index, g)    # an integer array may pick a position twice
        return full
    return _result(a._data[index], "Index", (a, rule))


def exp(a):
    a = _lift(a)
    out = np.exp(a._data)
    return _result(out, "Exp", (a, lambda g: g * out))


def log(a):
    a = _lift(a)
    return _result(np.log(a._data), "Log", (a, lambda g: g / a._data))


def tanh(a):
    a = _lift(a)
    out = np.tanh(a._data)
    return _result(out, "Tanh", (a, lambda g: g * (1 - out * out)))


def sqrt(a):
    a = _lift(a)
    out = np.sqrt(a._data)
    return _result(out, "Sqrt", (a, lambda g: g * 0.5 / out))


def _wins(mine, other, strict):
    """True where `mine` is the larger (strictly, or also on ties); g * mask keeps g's dtype."""
    return np.greater(mine, other) if strict else np.greater_equal(mine, other)


def maximum(a, b):
    """Elementwise max; on a tie the gradient goes to `b` (so ReLU = maximum(x, 0) has slope 0 at 0)."""
    a, b = _lift(a), _lift(b)
    A, B = a._data, b._data              # a number stays a number: float32 stays float32
    return _result(np.maximum(A, B), "Maximum",
                   (a, lambda g: unbroadcast(g * _wins(A, B, True), A.shape)),
                   (b, lambda g: unbroadcast(g * _wins(B, A, False), B.shape)))


def minimum(a, b):
    """Elementwise min; on a tie the gradient goes to `b`."""
    a, b = _lift(a), _lift(b)
    A, B = a._data, b._data              # a number stays a number: float32 stays float32
    return _result(np.minimum(A, B), "Minimum",
                   (a, lambda g: unbroadcast(g * _wins(B, A, True), A.shape)),
                   (b, lambda g: unbroadcast(g * _wins(A, B, False), B.shape)))


# %% [markdown]
# ## Step 5 — Matrix multiply
#
# For `C = A @ B` with `A` of shape `(n, k)` and `B` of shape `(k, m)`, each `C[i, j]` is
# `Σ_t A[i, t] B[t, j]`, so
#
# - `dL/dA = g @ Bᵀ` — shape `(n, m) @ (m, k) = (n, k)`, like `A`;
# - `dL/dB = Aᵀ @ g` — shape `(k, n) @ (n, m) = (k, m)`, like `B`.
#
# Checking the shapes is the quickest way to remember the formula. (The code also handles
# vectors and stacks of matrices by the same rule; that bookkeeping is given.)

# %% nbgrader={"grade": false, "grade_id": "matmul", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _swap(m):
    """Transpose the last two axes (the matrix transpose, also for stacks of matrices)."""
    return m.mT


def matmul(a, b):
    """a @ b."""
    a, b = _lift(a), _lift(b)
    A, B = a._data, b._data
    if A.ndim == 2 and B.ndim == 2:
        # TODO: return `_result(A @ B, "MatMul", (a, rule_for_a), (b, rule_for_b))` using the two
        # formulas above; `M.T` is Mᵀ.
        ### BEGIN SOLUTION
        return _result(A @ B, "MatMul", (a, lambda g: g @ B.T), (b, lambda g: A.T @ g))
        ### END SOLUTION
    # Stacks and vectors (given). A vector is a one-row (left) or one-column (right) matrix; a
    # stack of matrices multiplies pairwise, broadcasting like elementwise ops.
    A2 = A[np.newaxis, :] if A.ndim == 1 else A
    B2 = B[:, np.newaxis] if B.ndim == 1 else B
    def as_matrix(g):
        if A.ndim == 1:
            g = np.expand_dims(g, -2 if B.ndim > 1 else 0)
        if B.ndim == 1:
            g = np.expand_dims(g, -1)
        return g
    def rule_a(g):
        ga = as_matrix(g) @ _swap(B2)
        return unbroadcast(ga[..., 0, :] if A.ndim == 1 else ga, A.shape)
    def rule_b(g):
        gb = _swap(A2) @ as_matrix(g)
        return unbroadcast(gb[..., 0] if B.ndim == 1 else gb, B.shape)
    return _result(A @ B, "MatMul", (a, rule_a), (b, rule_b))


# %% [markdown]
# ## Step 6 — NumPy functions on Variables
#
# `np.exp(v)` on a Variable calls `v.__array_ufunc__`, which sends each supported ufunc to the
# matching operation above. Comparisons and other functions without a useful gradient
# (`np.sign`, `np.isnan`, ...) are computed plainly and return a Variable without gradient; a
# function that has no backward rule here raises an error rather than silently cutting the
# graph.

# %%
#| export
_DIFFERENTIABLE = {
    np.add: add, np.subtract: subtract, np.multiply: multiply, np.true_divide: divide,
    np.matmul: matmul, np.negative: negate, np.positive: lambda a: _lift(a), np.power: power,
    np.exp: exp, np.log: log, np.tanh: tanh, np.sqrt: sqrt, np.maximum: maximum, np.minimum: minimum,
    np.square: lambda a: power(a, 2),
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
    arrays = [_lift(x)._data for x in inputs]
    if ufunc in _NO_GRADIENT or not any(_lift(x).requires_grad for x in inputs):
        return Variable(ufunc(*arrays, **kwargs), requires_grad=False)
    raise TypeError(f"np.{ufunc.__name__} has no gradient rule in tinytorch.core.autograd")


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
    assert gradient_check(f, m), f"gradient of {name} disagrees with finite differences"
print("✅ gradients of", ", ".join(checks), "match finite differences")
### BEGIN HIDDEN TESTS
assert gradient_check(lambda v: np.log(v * v + 1.0) + np.sqrt(v * v + 1.0), m)
assert gradient_check(lambda v: v.reshape(4, 3) @ Variable(m, requires_grad=False), m)
assert gradient_check(lambda v: v.max(axis=1), m)
assert gradient_check(lambda v: np.maximum(v, 0.1) + np.minimum(v, -0.1), m)
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

points = np.array([[-2.0, -0.5, 0.3, 1.7], [0.9, -1.2, 2.5, -0.1]])
for activation in (ReLU(), Sigmoid(), Tanh(), Softmax()):
    weights = Variable(np.arange(1.0, 5.0), requires_grad=False)   # so Softmax's sum isn't constant
    f = lambda v: activation(v) * weights
    assert isinstance(f(Variable(points)), Variable), f"{type(activation).__name__} should keep Variables"
    assert gradient_check(f, points), f"{type(activation).__name__}: backward disagrees with finite differences"
s = Variable(points)
Sigmoid()(s).sum().backward()
sig = 1 / (1 + np.exp(-points))
assert np.allclose(s.grad.data.data, sig * (1 - sig), atol=1e-6)
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

np.random.seed(0)
net = create_mlp(3, [4], 2)
for layer in net.layers:
    if isinstance(layer, Dense):
        layer.weights, layer.bias = Variable(layer.weights), Variable(layer.bias)
params = net.parameters()
assert len(params) == 4 and all(isinstance(p, Variable) for p in params), "weights and biases are Variables"
batch = Tensor(np.random.randn(5, 3).astype(np.float32))
loss = (net(batch) ** 2).mean()
assert isinstance(loss, Variable) and loss.shape == ()
loss.backward()
for p in params:
    assert p.grad is not None and p.grad.shape == p.shape, "every parameter gets a gradient of its shape"
w = params[0]
def loss_of_first_weights(v):
    net.layers[0].weights = v
    return (net(batch) ** 2).mean()
expected = numerical_gradient(loss_of_first_weights, w.data.data.astype(np.float64), h=1e-3)
net.layers[0].weights = w
assert np.allclose(w.grad.data.data, expected, atol=1e-3), "Dense weight gradient disagrees with finite differences"
print("✅ a network from module 04 computes gradients for all", len(params), "parameters")

# %% [markdown]
# ## What you built
#
# - `Variable`: a Tensor that remembers how it was computed.
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
