"""One training step (forward, cross-entropy, backward, SGD update): tinytorch vs NumPy vs PyTorch.

Run on demand (not a test):  python benchmarks/bench_vs_torch.py [--repeats N]

Three steps, all float32, all starting from the same weights on the same batch:
  - MLP 784-512-10 at batch 256 (matmuls dominate)
  - MLP 64-64-10 at batch 32 (per-operation overhead dominates)
  - CNN on 8x8 digit-sized images at batch 64: Conv(1->16, 3x3), ReLU, Conv(16->32, 3x3), ReLU,
    flatten, Dense(512->10) — tinytorch's vectorised conv (module 05).
"numpy" is the same step written by hand (fused softmax-cross-entropy, no input gradient, in-place
update; im2col via sliding_window_view for the CNN). "torch" is torch.nn + F.cross_entropy +
torch.optim.SGD on CPU, used only if PyTorch is installed (it is not a dependency).
Times are the best of interleaved samples from this one run (robust on a loaded machine), so the
ratios hold on any machine; the median ratio against torch is printed too, to show the noise.
Threads: NumPy's BLAS reads OPENBLAS_NUM_THREADS at import; when it is set, torch gets the same
number (torch.set_num_threads), so both sides use equal threads. E.g.
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_vs_torch.py
Targets (issue 8): tinytorch ≤ 0.9× torch (big MLP), ≤ 0.6× (small MLP), ≤ 2× (CNN).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from machine import blas_kernel, cpu_model, time_once
from tinytorch.core.activations import ReLU
from tinytorch.core.cnn import Flatten, MultiChannelConv2D
from tinytorch.core.layers import Dense
from tinytorch.core.networks import Sequential
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import CrossEntropyLoss

LR = 0.01
TARGETS = {"mlp_big": 0.9, "mlp_small": 0.6, "cnn": 2.0}

try:
    import torch
except ImportError:                      # the comparison with PyTorch is optional
    torch = None
if torch is not None and os.environ.get("OPENBLAS_NUM_THREADS", "").isdigit():
    torch.set_num_threads(int(os.environ["OPENBLAS_NUM_THREADS"]))


# ---- tinytorch ---------------------------------------------------------------------------------
def tinytorch_step(net, x, y):
    optimizer, loss_fn = SGD(net.parameters(), learning_rate=LR), CrossEntropyLoss()
    x, y = Tensor(x), Tensor(y)

    def step():
        loss = loss_fn(net(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


# ---- hand-written NumPy ------------------------------------------------------------------------
def softmax_ce(out, y):
    shifted = out - out.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    sums = exps.sum(axis=1, keepdims=True)
    n = len(y)
    loss = np.log(sums[:, 0]).mean() - shifted[np.arange(n), y].mean()
    grad = exps / sums
    grad[np.arange(n), y] -= 1
    grad /= n
    return float(loss), grad


def numpy_mlp_step(params, x, y):
    W1, b1, W2, b2 = (p.copy() for p in params)

    def step():
        h = x @ W1 + b1
        a = np.maximum(h, 0)
        loss, d_out = softmax_ce(a @ W2 + b2, y)
        dW2, db2 = a.T @ d_out, d_out.sum(axis=0)
        d_h = (d_out @ W2.T) * (h > 0)
        dW1, db1 = x.T @ d_h, d_h.sum(axis=0)
        for p, g in ((W1, dW1), (b1, db1), (W2, dW2), (b2, db2)):
            p -= LR * g
        return loss
    return step


def im2col(x, k):
    v = sliding_window_view(x, (k, k), axis=(2, 3))            # N, C, oh, ow, k, k
    n, c, oh, ow = v.shape[:4]
    return v.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * k * k), oh, ow


def conv_forward(x, W, b):
    o, _, k, _ = W.shape
    cols, oh, ow = im2col(x, k)
    out = cols @ W.reshape(o, -1).T + b
    return out.reshape(x.shape[0], oh, ow, o).transpose(0, 3, 1, 2), cols


def conv_backward(d_out, cols, x_shape, W, need_dx):
    o, c, k, _ = W.shape
    d_rows = d_out.transpose(0, 2, 3, 1).reshape(-1, o)
    dW = (d_rows.T @ cols).reshape(W.shape)
    db = d_rows.sum(axis=0)
    if not need_dx:
        return dW, db, None
    n, _, oh, ow = d_out.shape
    d_cols = (d_rows @ W.reshape(o, -1)).reshape(n, oh, ow, c, k, k)
    dx = np.zeros(x_shape, dtype=d_out.dtype)
    for i in range(k):
        for j in range(k):
            dx[:, :, i:i + oh, j:j + ow] += d_cols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dW, db, dx


def numpy_cnn_step(params, x, y):
    Wa, ba, Wb, bb, Wd, bd = (p.copy() for p in params)

    def step():
        h1, cols1 = conv_forward(x, Wa, ba)
        a1 = np.maximum(h1, 0)
        h2, cols2 = conv_forward(a1, Wb, bb)
        a2 = np.maximum(h2, 0)
        flat = a2.reshape(len(x), -1)
        loss, d_out = softmax_ce(flat @ Wd + bd, y)
        dWd, dbd = flat.T @ d_out, d_out.sum(axis=0)
        d_h2 = (d_out @ Wd.T).reshape(a2.shape) * (h2 > 0)
        dWb, dbb, d_a1 = conv_backward(d_h2, cols2, a1.shape, Wb, need_dx=True)
        dWa, dba, _ = conv_backward(d_a1 * (h1 > 0), cols1, x.shape, Wa, need_dx=False)
        for p, g in ((Wa, dWa), (ba, dba), (Wb, dWb), (bb, dbb), (Wd, dWd), (bd, dbd)):
            p -= LR * g
        return loss
    return step


# ---- PyTorch -----------------------------------------------------------------------------------
def torch_step(layers, x, y):
    net = torch.nn.Sequential(*layers)
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)
    x, y = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))

    def step():
        loss = torch.nn.functional.cross_entropy(net(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


def torch_linear(W, b):
    layer = torch.nn.Linear(*W.shape)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(W.T.copy()))
        layer.bias.copy_(torch.from_numpy(b))
    return layer


def torch_conv(W, b):
    layer = torch.nn.Conv2d(W.shape[1], W.shape[0], W.shape[2])
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(W))
        layer.bias.copy_(torch.from_numpy(b))
    return layer


# ---- cases -------------------------------------------------------------------------------------
def mlp_case(n_in, n_hidden, n_out, batch):
    rng = np.random.default_rng(0)
    np.random.seed(0)
    net = Sequential([Dense(n_in, n_hidden), ReLU(), Dense(n_hidden, n_out)])
    params = [p.data.data.copy() for p in net.parameters()]
    x = rng.normal(size=(batch, n_in)).astype(np.float32)
    y = rng.integers(0, n_out, size=batch)
    steps = {"tinytorch": tinytorch_step(net, x, y), "numpy": numpy_mlp_step(params, x, y)}
    if torch is not None:
        W1, b1, W2, b2 = params
        steps["torch"] = torch_step([torch_linear(W1, b1), torch.nn.ReLU(), torch_linear(W2, b2)], x, y)
    return steps


def cnn_case(batch=64):
    rng = np.random.default_rng(0)
    np.random.seed(0)
    net = Sequential([MultiChannelConv2D(1, 16, 3), ReLU(), MultiChannelConv2D(16, 32, 3), ReLU(),
                      Flatten(), Dense(512, 10)])
    params = [p.data.data.copy() for p in net.parameters()]
    x = rng.random(size=(batch, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 10, size=batch)
    steps = {"tinytorch": tinytorch_step(net, x, y), "numpy": numpy_cnn_step(params, x, y)}
    if torch is not None:
        Wa, ba, Wb, bb, Wd, bd = params
        steps["torch"] = torch_step([torch_conv(Wa, ba), torch.nn.ReLU(), torch_conv(Wb, bb), torch.nn.ReLU(),
                                     torch.nn.Flatten(), torch_linear(Wd, bd)], x, y)
    return steps


def measure(steps, repeats):
    # Same start, same data: the trajectories must agree (a correctness check, not just speed).
    losses = [[fn() for fn in steps.values()] for _ in range(3)]
    for row in losses:
        assert max(row) - min(row) <= 1e-4 * max(1.0, abs(row[0])), f"losses disagree: {losses}"
    once = min(time_once(fn) for fn in steps.values())
    inner = max(1, int(2e-2 / max(once, 1e-6)))           # ~20 ms per timed sample
    samples = {name: [] for name in steps}
    for _ in range(repeats):
        for name, fn in steps.items():
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            samples[name].append((time.perf_counter() - start) / inner)
    best = {name: min(values) for name, values in samples.items()}
    median = {name: statistics.median(values) for name, values in samples.items()}
    return best, median


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed samples per side (median is reported)")
    args = parser.parse_args()
    versions = f"numpy {np.__version__}" + (f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
                                             if torch is not None else ", torch not installed")
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}; {versions}; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(unset)')}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; {blas_kernel()}")
    header = f"{'step':<26}{'tinytorch':>11}{'numpy':>11}{'tt/np':>7}"
    if torch is not None:
        header += f"{'torch':>11}{'tt/torch':>9}{'median':>8}{'target':>8}"
    print(header)
    cases = (("mlp_big", "MLP 784-512-10, batch 256", lambda: mlp_case(784, 512, 10, 256)),
             ("mlp_small", "MLP 64-64-10, batch 32", lambda: mlp_case(64, 64, 10, 32)),
             ("cnn", "CNN 8x8, batch 64", cnn_case))
    for key, label, build in cases:
        t, med = measure(build(), args.repeats)
        line = f"{label:<26}{t['tinytorch'] * 1e3:>9.3f}ms{t['numpy'] * 1e3:>9.3f}ms{t['tinytorch'] / t['numpy']:>6.2f}×"
        if torch is not None:
            ratio = t["tinytorch"] / t["torch"]
            verdict = "ok" if ratio <= TARGETS[key] else "MISSED"
            line += (f"{t['torch'] * 1e3:>9.3f}ms{ratio:>8.2f}×{med['tinytorch'] / med['torch']:>7.2f}×"
                     f"{TARGETS[key]:>7.1f}× {verdict}")
        print(line)


if __name__ == "__main__":
    main()
