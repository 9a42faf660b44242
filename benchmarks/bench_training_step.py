"""One training step (forward, backward, SGD update) of an MLP: tinytorch vs the same step by hand.

Run on demand (not a test):  python benchmarks/bench_training_step.py [--repeats N]

Two networks: 784-512-10 at batch 256 (the matmuls dominate; target ≤ 1.10× hand NumPy) and
64-64-10 at batch 32 (per-node Python overhead shows; target ≤ 1.7×). Both sides use float32, the
same initial weights, a ReLU hidden layer and a mean-squared-error loss. The hand version computes
only the gradients it needs (none for the input batch) and updates the weights in place — the
physical limit a framework on NumPy can reach. The two sides run in interleaved samples in the
same process; the ratio uses each side's best sample (the least disturbed by other load).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from machine import blas_kernel, cpu_model, time_once
from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Dense
from tinytorch.core.networks import Sequential
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor

LR = 0.01


def make_tinytorch_step(net, x, y):
    optimizer = SGD(net.parameters(), learning_rate=LR)
    x, y = Tensor(x), Tensor(y)

    def step():
        loss = ((net(x) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


def make_numpy_step(W1, b1, W2, b2, x, y):
    W1, b1, W2, b2 = (a.copy() for a in (W1, b1, W2, b2))

    def step():
        h = x @ W1 + b1
        a = np.maximum(h, 0)
        out = a @ W2 + b2
        diff = out - y
        loss = np.mean(diff * diff)
        d_out = diff * np.float32(2 / diff.size)
        dW2 = a.T @ d_out
        db2 = d_out.sum(axis=0)
        d_h = (d_out @ W2.T) * (h > 0)
        dW1 = x.T @ d_h
        db1 = d_h.sum(axis=0)
        for param, grad in ((W1, dW1), (b1, db1), (W2, dW2), (b2, db2)):
            param -= LR * grad
        return float(loss)
    return step


def bench(n_in, n_hidden, n_out, batch, repeats):
    rng = np.random.default_rng(0)
    np.random.seed(0)
    net = Sequential([Dense(n_in, n_hidden), ReLU(), Dense(n_hidden, n_out)])
    W1, b1, W2, b2 = (p.data.data.copy() for p in net.parameters())
    x = rng.normal(size=(batch, n_in)).astype(np.float32)
    y = rng.normal(size=(batch, n_out)).astype(np.float32)
    ours, hand = make_tinytorch_step(net, x, y), make_numpy_step(W1, b1, W2, b2, x, y)
    # Same start, same data: the two trajectories agree (a correctness check, not just speed).
    losses = [(ours(), hand()) for _ in range(3)]
    assert all(abs(a - b) <= 1e-4 * max(1.0, abs(b)) for a, b in losses), losses
    inner = max(1, int(5e-3 / max(time_once(hand), 1e-6)))   # ~5 ms per timed sample
    samples = {"tinytorch": [], "numpy": []}
    for _ in range(repeats):
        for name, fn in (("tinytorch", ours), ("numpy", hand)):
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            samples[name].append((time.perf_counter() - start) / inner)
    # The minimum is the run least disturbed by other processes (as `timeit` recommends); the
    # median is printed too, to show how noisy the machine was.
    return {name: (min(times), statistics.median(times)) for name, times in samples.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40, help="timed samples per side")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}; numpy {np.__version__}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; {blas_kernel()}")
    print(f"{'step (best of repeats)':<28}{'tinytorch':>12}{'hand NumPy':>12}{'ratio':>8}{'target':>8}"
          f"{'median ratio':>14}")
    for sizes, batch, target in (((784, 512, 10), 256, 1.10), ((64, 64, 10), 32, 1.7)):
        times = bench(*sizes, batch, args.repeats)
        (best_ours, median_ours), (best_hand, median_hand) = times["tinytorch"], times["numpy"]
        label = f"{'-'.join(map(str, sizes))} batch {batch}"
        ratio = best_ours / best_hand
        verdict = "ok" if ratio <= target else "MISSED"
        print(f"{label:<28}{best_ours * 1e3:>10.3f}ms{best_hand * 1e3:>10.3f}ms{ratio:>7.2f}×{target:>7.2f}×"
              f"{median_ours / median_hand:>13.2f}×  {verdict}")


if __name__ == "__main__":
    main()
