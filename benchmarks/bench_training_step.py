"""One training step (forward, backward, SGD update) of an MLP: tinytorch vs the same step by hand.

Run on demand (not a test):
    python benchmarks/bench_training_step.py [--repeats N] [--compare /path/to/other/checkout]

Three networks, ReLU between Dense layers, a mean-squared-error loss, float32, one BLAS thread:
- 784-512-10 at batch 256: the matmuls dominate (target ≤ 1.10× hand NumPy);
- 64-64-10 at batch 32: per-node Python overhead shows (target ≤ 1.3×);
- 20 hidden layers of 64 at batch 32 ("deep"): the same overhead, many nodes (target ≤ 1.3×, and
  ≤ 1.5 µs of overhead per graph node).
The hand version computes only the gradients it needs (none for the input batch) and updates the
weights in place — the physical limit a framework on NumPy can reach. Both sides start from the
same weights and the script first checks that they give the same losses.

Timing: the sides run in interleaved rounds in one process; each side's sample and the hand
sample of the same round give a ratio, and the median and min–max of those ratios are printed,
so other load on the machine shows as spread instead of hiding in one number. Samples are this thread's CPU time (`time.thread_time`),
so time spent waiting while other processes hold the cores doesn't count (cache and frequency
effects of a busy machine still do). "per node" is (side − hand) / the number of graph
nodes one step builds (`topological_order(loss)`: operations and parameters).

Two more sides run in the same interleaved rounds, the "floors" (`minimal_autograd.py`: the leanest
per-operation autograd we could write, one small node per operation, no checks): "graph floor"
computes on raw NumPy arrays — the price of building a graph in Python at all — and "Tensor
floor" asks module 01's `Tensor` for every value, forward and backward, as tinytorch must (the
student's code all the way down). tinytorch's ratio above the Tensor floor is its own `Variable`
bookkeeping; the Tensor floor above the graph floor is the price of the student's `Tensor` layer.

`--compare DIR` runs the same measurement in a subprocess on the `tinytorch` package of another
checkout (e.g. `/work/main` before a change) and prints its table too: a before/after.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # before NumPy loads: one BLAS thread

if "--package" in sys.argv:                          # measure another checkout's package
    sys.path.insert(0, sys.argv[sys.argv.index("--package") + 1])

import numpy as np  # noqa: E402

import minimal_autograd  # noqa: E402
from machine import blas_kernel, cpu_model, time_once  # noqa: E402

LR = 0.01
NETWORKS = (  # label, layer sizes, batch, target ratio
    ("784-512-10 batch 256", (784, 512, 10), 256, 1.10),
    ("64-64-10 batch 32", (64, 64, 10), 32, 1.3),
    ("deep 20x64 batch 32", (64,) + (64,) * 20 + (10,), 32, 1.3),
)
PER_NODE_TARGET_US = 1.5


def make_tinytorch_step(net, x, y):
    from tinytorch.core.optimizers import SGD
    from tinytorch.core.tensor import Tensor
    optimizer = SGD(net.parameters(), learning_rate=LR)
    x, y = Tensor(x), Tensor(y)

    def step():
        loss = ((net(x) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    def graph_nodes():
        from tinytorch.core.autograd import topological_order
        return len(topological_order(((net(x) - y) ** 2).mean()))
    return step, graph_nodes


def make_numpy_step(params, x, y, lr=LR):
    params = [p.copy() for p in params]
    weights, biases = params[0::2], params[1::2]

    def step():
        inputs, pre = [], []
        a = x
        for k, (W, b) in enumerate(zip(weights, biases)):
            inputs.append(a)
            h = a @ W + b
            if k < len(weights) - 1:
                pre.append(h)
                a = np.maximum(h, 0)
            else:
                a = h
        diff = a - y
        loss = np.mean(diff * diff)
        d = diff * np.float32(2 / diff.size)
        grads = []
        for k in range(len(weights) - 1, -1, -1):
            grads.append((weights[k], inputs[k].T @ d))
            grads.append((biases[k], d.sum(axis=0)))
            if k:
                d = (d @ weights[k].T) * (pre[k - 1] > 0)
        for param, grad in grads:
            param -= lr * grad
        return float(loss)
    return step


def bench(sizes, batch, repeats):
    from tinytorch.core.activations import ReLU
    from tinytorch.core.layers import Dense
    from tinytorch.core.networks import Sequential
    rng = np.random.default_rng(0)
    np.random.seed(0)
    layers = []
    for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers += [Dense(n_in, n_out)] + ([ReLU()] if k < len(sizes) - 2 else [])
    net = Sequential(layers)
    params = [np.asarray(p).copy() for p in net.parameters()]
    x = rng.normal(size=(batch, sizes[0])).astype(np.float32)
    y = rng.normal(size=(batch, sizes[-1])).astype(np.float32)
    (ours, graph_nodes), hand = make_tinytorch_step(net, x, y), make_numpy_step(params, x, y)
    from tinytorch.core.tensor import Tensor
    sides = {"tinytorch": ours}
    if all(hasattr(Tensor, method) for method in ("matmul", "add", "maximum", "multiply", "mean")):
        sides["Tensor floor"] = minimal_autograd.make_step(params, x, y, LR, on_tensor=True)
    # (an older package's Tensor lacks those methods: no Tensor floor for it)
    sides["graph floor"] = minimal_autograd.make_step(params, x, y, LR)
    sides["hand"] = hand
    nodes = graph_nodes()
    # Same start, same data: the trajectories agree (a correctness check, not just speed).
    for _ in range(3):
        losses = {name: fn() for name, fn in sides.items()}
        assert all(abs(v - losses["hand"]) <= 1e-4 * max(1.0, abs(losses["hand"])) for v in losses.values()), losses
    inner = max(1, int(5e-3 / max(time_once(hand), 1e-6)))   # ~5 ms per timed sample
    samples = {name: [] for name in sides}
    for _ in range(repeats):
        for name, fn in sides.items():
            start = time.thread_time()
            for _ in range(inner):
                fn()
            samples[name].append((time.thread_time() - start) / inner)
    hand_times = samples["hand"]
    return {name: {"time": statistics.median(times),
                   "ratios": [a / b for a, b in zip(times, hand_times)],
                   "per_node": statistics.median(a - b for a, b in zip(times, hand_times)) / nodes}
            for name, times in samples.items()}, nodes


def measure(repeats, label):
    import tinytorch
    print(f"package: {os.path.dirname(os.path.dirname(tinytorch.__file__))} ({label})")
    print("ratio = time / hand NumPy's time: median (min-max) of paired samples; per node = "
          "(time - hand) / graph nodes")
    print(f"  {'side':<14}{'time':>10}{'ratio':>22}{'per node':>10}   target")
    for name, sizes, batch, target in NETWORKS:
        results, nodes = bench(sizes, batch, repeats)
        print(f"{name} ({nodes} graph nodes)")
        for side, r in results.items():
            if side == "hand":
                print(f"  {side:<14}{r['time'] * 1e6:>8.1f}µs")
                continue
            ratios = r["ratios"]
            median = statistics.median(ratios)
            per_node_us = r["per_node"] * 1e6
            verdict = ""
            if side == "tinytorch":
                verdict = f"≤ {target:.2f}× " + ("ok" if median <= target else "MISSED")
                if "deep" in name:
                    verdict += f"; ≤ {PER_NODE_TARGET_US} µs/node " + (
                        "ok" if per_node_us <= PER_NODE_TARGET_US else "MISSED")
            spread = f"{median:.2f}× ({min(ratios):.2f}–{max(ratios):.2f})"
            print(f"  {side:<14}{r['time'] * 1e6:>8.1f}µs{spread:>22}{per_node_us:>8.2f}µs   {verdict}".rstrip())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="paired timed samples per network")
    parser.add_argument("--compare", help="another checkout whose tinytorch package to measure too")
    parser.add_argument("--package", help=argparse.SUPPRESS)   # used by --compare (read at import)
    args = parser.parse_args()
    if not args.package:
        print(f"machine: {os.cpu_count()} cores, {cpu_model()}; numpy {np.__version__}; "
              f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}; "
              f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; {blas_kernel()}; "
              f"load average {os.getloadavg()[0]:.1f}")
    if args.compare:
        subprocess.run([sys.executable, __file__, "--repeats", str(args.repeats), "--package", args.compare],
                       check=True)
    measure(args.repeats, "the other checkout" if args.package else "this checkout")


if __name__ == "__main__":
    main()
