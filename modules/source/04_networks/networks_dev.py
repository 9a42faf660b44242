# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 04 — Networks: layers in sequence
#
# A neural network is function composition. Each layer is a function, and the network applies
# them one after the other:
#
# $$f(x) = f_n(\dots f_2(f_1(x)))$$
#
# **Goals of this module**
# - Build `Sequential(layers)`: run layers in order and collect their parameters.
# - Build `create_mlp(...)`, which writes the classic multi-layer perceptron for you.
# - Set an MLP's weights by hand so it solves XOR, and look at the decision boundaries that
#   networks draw in the plane.

# %%
#| default_exp core.networks

# %%
#| export
import numpy as np

from tinytorch.core.activations import ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.layers import Dense, make_parameter
from tinytorch.core.tensor import Tensor

# %%
import os

# %% [markdown]
# ## Step 1 — `Sequential`
#
# `Sequential` holds a list of layers. Anything with `__call__` counts as a layer: a `Dense`, an
# activation, even another `Sequential`. Its job is small:
#
# - `forward(x)` feeds `x` to the first layer, that output to the second, and so on; the last
#   output is the network's output.
# - `parameters()` gathers every layer's parameters, in layer order, into one flat list: that is
#   what an optimizer (module 08) will update. Activations have no parameters and contribute none;
#   a layer counts as having parameters when it has a `parameters()` method.
#
# ```
# Sequential([Dense(3, 4), ReLU(), Dense(4, 2), Sigmoid()])
#
#   x (N, 3) ─ Dense ─▶ (N, 4) ─ ReLU ─▶ (N, 4) ─ Dense ─▶ (N, 2) ─ Sigmoid ─▶ (N, 2)
#   parameters(): [W1 (3, 4), b1 (4,), W2 (4, 2), b2 (2,)]
# ```

# %% nbgrader={"grade": false, "grade_id": "sequential", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Sequential:
    """Layers applied in order: forward(x) = layers[-1](...layers[1](layers[0](x)))."""

    def __init__(self, layers):
        self.layers = list(layers)
        for index, layer in enumerate(self.layers):
            if not callable(layer):
                raise TypeError(f"Sequential expects callable layers, but layer {index} is "
                                f"{type(layer).__name__}: {layer!r}")

    def forward(self, x):
        """Feed x through every layer in order and return the last output."""
        # TODO: pass x through each layer of self.layers, each output feeding the next layer.
        ### BEGIN SOLUTION
        for layer in self.layers:
            x = layer(x)
        return x
        ### END SOLUTION

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        """Every layer's parameters, in layer order, as one flat list."""
        # TODO: collect layer.parameters() from each layer that has a `parameters` method.
        # HINT: hasattr(layer, "parameters") tells you whether it has one; list.extend joins lists.
        ### BEGIN SOLUTION
        params = []
        for layer in self.layers:
            if hasattr(layer, "parameters"):
                params.extend(layer.parameters())
        return params
        ### END SOLUTION

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        return f"Sequential([\n{inner}\n])"


# %%
np.random.seed(0)
net = Sequential([Dense(3, 4), ReLU(), Dense(4, 2), Sigmoid()])
out = net(Tensor([[1.0, 2.0, 3.0], [-1.0, 0.0, 1.0]]))
print(out, "\n", [p.shape for p in net.parameters()])

# %% nbgrader={"grade": true, "grade_id": "test-sequential", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
np.random.seed(1)
first, second = Dense(3, 4), Dense(4, 2)
net = Sequential([first, ReLU(), second, Sigmoid()])
assert len(net.layers) == 4, f"net.layers should hold the 4 layers, got {len(net.layers)}"
batch = np.random.randn(5, 3).astype(np.float32)
out = net(Tensor(batch))
hidden = np.maximum(batch @ np.asarray(first.weights) + np.asarray(first.bias), 0)
logits = hidden @ np.asarray(second.weights) + np.asarray(second.bias)
assert isinstance(out, Tensor) and out.shape == (5, 2), f"expected a (5, 2) Tensor, got {getattr(out, 'shape', out)}"
assert out.dtype == np.float32, f"float32 in should give float32 out, got {out.dtype}"
assert np.allclose(np.asarray(out), 1 / (1 + np.exp(-logits)), atol=1e-5), "forward should apply the layers in order"
assert np.allclose(np.asarray(net.forward(Tensor(batch))), np.asarray(out)), "forward and __call__ should agree"
params = net.parameters()
assert len(params) == 4, f"two Dense layers with bias have 4 parameters, got {len(params)}"
assert all(p is q for p, q in zip(params, [first.weights, first.bias, second.weights, second.bias])), \
    "parameters() should list each layer's [weights, bias] in layer order"
print("✅ Sequential runs layers in order and gathers their parameters")
### BEGIN HIDDEN TESTS
assert Sequential([ReLU(), Tanh()]).parameters() == [], "layers without parameters contribute none"
nested = Sequential([Sequential([first, ReLU()]), second])
assert len(nested.parameters()) == 4 and nested(Tensor(batch)).shape == (5, 2), \
    (f"a Sequential inside a Sequential should give 4 parameters and a (5, 2) output, got "
     f"{len(nested.parameters())} and {nested(Tensor(batch)).shape}")
assert np.allclose(np.asarray(Sequential([])(Tensor(batch))), batch), "an empty Sequential is the identity"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 2 — `create_mlp`
#
# A multi-layer perceptron alternates `Dense` layers and activations. Writing that list by hand
# gets tedious, so `create_mlp(input_size, hidden_sizes, output_size, activation=ReLU,
# output_activation=Sigmoid)` builds it: one `Dense` + `activation()` per hidden size, then a
# final `Dense` to `output_size` and `output_activation()`.
#
# ```
# create_mlp(3, [4, 2], 1)  →  Dense(3, 4), ReLU, Dense(4, 2), ReLU, Dense(2, 1), Sigmoid   (6 layers)
# ```
#
# `activation` and `output_activation` are *classes*; call them to make a fresh instance per
# position. Pass `output_activation=None` for raw outputs (handy for regression, or for a loss
# that applies softmax itself).

# %% nbgrader={"grade": false, "grade_id": "create-mlp", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def create_mlp(input_size, hidden_sizes, output_size, activation=ReLU, output_activation=Sigmoid):
    """Sequential of Dense(in, h) + activation() per hidden size h, then Dense(h, out) + output_activation()."""
    # TODO: build the list of layers, size by size, and return Sequential(layers).
    # HINTS: keep the current width in a variable that starts at input_size;
    #        skip the final activation when output_activation is None.
    ### BEGIN SOLUTION
    layers, width = [], input_size
    for hidden in hidden_sizes:
        layers += [Dense(width, hidden), activation()]
        width = hidden
    layers.append(Dense(width, output_size))
    if output_activation is not None:
        layers.append(output_activation())
    return Sequential(layers)
    ### END SOLUTION


# %%
np.random.seed(0)
mlp = create_mlp(3, [4, 2], 1)
print(mlp)

# %% nbgrader={"grade": true, "grade_id": "test-create-mlp", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
np.random.seed(2)
mlp = create_mlp(3, [4, 2], 1)
assert isinstance(mlp, Sequential), f"create_mlp should return a Sequential, got {type(mlp).__name__}"
kinds = [type(layer) for layer in mlp.layers]
assert kinds == [Dense, ReLU, Dense, ReLU, Dense, Sigmoid], f"expected Dense, ReLU, Dense, ReLU, Dense, Sigmoid; got {[k.__name__ for k in kinds]}"
sizes = [(layer.input_size, layer.output_size) for layer in mlp.layers if isinstance(layer, Dense)]
assert sizes == [(3, 4), (4, 2), (2, 1)], f"Dense sizes should be 3→4, 4→2, 2→1; got {sizes}"
out = mlp(Tensor(np.random.randn(7, 3).astype(np.float32)))
assert out.shape == (7, 1) and out.dtype == np.float32, f"expected a float32 (7, 1) output, got {out.shape} {out.dtype}"
assert np.all((np.asarray(out) >= 0) & (np.asarray(out) <= 1)), "a Sigmoid output lies in [0, 1]"
try:
    mlp(Tensor(np.ones((2, 5), dtype=np.float32)))
except ValueError as err:
    assert "3" in str(err) and "(2, 5)" in str(err), f"the error should say 3 features expected and (2, 5) given: {err}"
else:
    raise AssertionError("5 features into an MLP built for 3 should raise ValueError")
print("✅ create_mlp builds the right stack")
### BEGIN HIDDEN TESTS
tanh_net = create_mlp(2, [5], 3, activation=Tanh, output_activation=Softmax)
assert [type(layer) for layer in tanh_net.layers] == [Dense, Tanh, Dense, Softmax], \
    f"expected layers [Dense, Tanh, Dense, Softmax], got {[type(layer).__name__ for layer in tanh_net.layers]}"
assert np.allclose(np.asarray(tanh_net(Tensor(np.ones((4, 2), dtype=np.float32)))).sum(axis=-1), 1, atol=1e-5), \
    f"a Softmax output's rows should each sum to 1, got {np.asarray(tanh_net(Tensor(np.ones((4, 2), dtype=np.float32)))).sum(axis=-1)}"
assert [type(layer) for layer in create_mlp(2, [], 1, output_activation=None).layers] == [Dense], \
    (f"no hidden layers and no output activation should give [Dense], got "
     f"{[type(layer).__name__ for layer in create_mlp(2, [], 1, output_activation=None).layers]}")
relus = [layer for layer in create_mlp(3, [4, 4], 1).layers if isinstance(layer, ReLU)]
assert relus[0] is not relus[1], "each position should get its own activation instance"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 3 — What one hidden layer can express: XOR by hand
#
# XOR (output 1 when exactly one input is 1) is the classic problem no single `Dense` layer can
# solve: no straight line separates {(0,1), (1,0)} from {(0,0), (1,1)}. One hidden layer is
# enough. Two ReLU units compute
#
# $$h_1 = \mathrm{ReLU}(x_1 + x_2), \qquad h_2 = \mathrm{ReLU}(x_1 + x_2 - 1)$$
#
# and $h_1 - 2h_2$ is exactly XOR on the four corners (0, 1, 1, 0). Scale it and shift it so the
# sigmoid turns it into a confident probability: $\sigma(10 h_1 - 20 h_2 - 5)$. Below, those
# numbers go into the parameters of a `create_mlp(2, [2], 1)` network. In module 08 an optimizer
# finds XOR-solving weights for a `create_mlp(2, [8], 1)` on its own.

# %%
def xor_network():
    """create_mlp(2, [2], 1) with hand-set weights that compute XOR."""
    net = create_mlp(2, [2], 1)
    hidden, output = net.layers[0], net.layers[2]
    hidden.weights = make_parameter(np.array([[1, 1], [1, 1]], dtype=np.float32))
    hidden.bias = make_parameter(np.array([0, -1], dtype=np.float32))
    output.weights = make_parameter(np.array([[10], [-20]], dtype=np.float32))
    output.bias = make_parameter(np.array([-5], dtype=np.float32))
    return net


corners = Tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
try:
    print("XOR network on the corners:", np.round(np.asarray(xor_network()(corners)).ravel(), 3))
except NotImplementedError:
    print("Implement Sequential and create_mlp above to run the XOR network.")

# %% [markdown]
# ## Look inside: shapes and decision boundaries
#
# A table of what each layer produces is the first thing to print when shapes don't line up:

# %%
def describe(network, input_shape):
    """Print each layer's output shape and parameter count for an input of `input_shape`."""
    x = Tensor(np.zeros(input_shape, dtype=np.float32))
    print(f"{'layer':<32}{'output shape':<16}{'parameters':>10}")
    print(f"{'input':<32}{str(x.shape):<16}")
    total = 0
    for layer in network.layers:
        x = layer(x)
        count = sum(int(np.prod(p.shape)) for p in getattr(layer, "parameters", list)())
        total += count
        print(f"{layer!r:<32}{str(x.shape):<16}{count:>10}")
    print(f"{'total':<48}{total:>10}")


try:
    np.random.seed(0)
    describe(create_mlp(784, [128, 64], 10, output_activation=Softmax), (32, 784))
except NotImplementedError:
    print("Implement Sequential and create_mlp above to see the table.")

# %% [markdown]
# A network with two inputs and one sigmoid output splits the plane into "≥ 0.5" and "< 0.5".
# The plots colour the network's output over a grid, with a black line where it crosses 0.5:
# the hand-made XOR network first, then three *untrained* random `create_mlp(2, [16, 16], 1)`
# networks (their biases randomised too — with zero biases, scaling the input scales the last
# `Dense` output by the same factor, so the 0.5 line would be made of rays from the origin;
# colours stretched to each network's own range). The random networks' level lines already bend,
# piecewise-linearly — that bending is what the ReLUs buy — but in arbitrary places, and their
# output may not even cross 0.5 anywhere; training moves the lines where the data needs them.
# The cell draws only when you run the notebook yourself.

# %%
def output_on_grid(net, low, high, steps=121):
    """The network's output for every point of a steps × steps grid over [low, high]²."""
    axis = np.linspace(low, high, steps, dtype=np.float32)
    gx, gy = np.meshgrid(axis, axis)
    out = net(Tensor(np.stack([gx.ravel(), gy.ravel()], axis=1)))
    return gx, gy, np.asarray(out).reshape(gx.shape)


if __name__ == "__main__" and not os.environ.get("TINYTORCH_GRADING"):
    try:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 4, figsize=(14, 3.4))
        gx, gy, probs = output_on_grid(xor_network(), -0.5, 1.5)
        axes[0].contourf(gx, gy, probs, levels=20, cmap="RdBu_r", vmin=0, vmax=1)
        axes[0].contour(gx, gy, probs, levels=[0.5], colors="k")
        axes[0].scatter([0, 1], [1, 0], c="red", edgecolors="k", label="XOR = 1")
        axes[0].scatter([0, 1], [0, 1], c="blue", edgecolors="k", label="XOR = 0")
        axes[0].legend(loc="lower left", fontsize=7)
        axes[0].set_title("XOR by hand")
        for ax, seed in zip(axes[1:], (1, 2, 3)):
            np.random.seed(seed)
            net = create_mlp(2, [16, 16], 1)
            for layer in net.layers:
                if isinstance(layer, Dense):
                    layer.bias = make_parameter(np.random.randn(layer.output_size).astype(np.float32))
            gx, gy, probs = output_on_grid(net, -3, 3)
            ax.contourf(gx, gy, probs, levels=20, cmap="RdBu_r")
            if probs.min() < 0.5 < probs.max():
                ax.contour(gx, gy, probs, levels=[0.5], colors="k")
            ax.set_title(f"random MLP, seed {seed}")
        fig.tight_layout()
        plt.show()
    except ImportError:
        print("Install matplotlib to see the decision boundaries.")
    except NotImplementedError:
        print("Implement Sequential and create_mlp above to see the decision boundaries.")

# %% [markdown]
# ## What you built
#
# - `Sequential(layers)` — `.layers`, `forward`/`__call__` applying them in order, and
#   `parameters()` listing every layer's parameters in layer order.
# - `create_mlp(input_size, hidden_sizes, output_size, activation=ReLU, output_activation=Sigmoid)`.
#
# `tito export 04` writes them to `tinytorch/core/networks.py`:
#
# ```python
# from tinytorch.core.networks import Sequential, create_mlp
# ```
#
# Everything so far only computes forward. Once module 07 gives parameters gradients, the same
# `create_mlp` network trains without a change to this code.
