"""Convolution forward + backward (module 05's conv2d node): tinytorch vs hand-written NumPy vs PyTorch.

Run on demand (not a test):  python benchmarks/bench_conv.py [--repeats N]

One step = the convolution's output and the gradients of its input, weight and bias for a given
output gradient, float32, on two shapes: (32, 1, 28, 28) -> 8 filters 3x3 and (64, 16, 32, 32) ->
32 filters 3x3. Sides, all from the same arrays (the script first checks they agree):
  node      tinytorch: conv2d(x, weight, bias) on Variables, then backward() — one graph node
  unfused   tinytorch: conv2d_vectorized on Variables — 9 slices, products and sums, each
            differentiated by module 07 (how the layer trained before the node existed)
  hand      NumPy by hand: im2col (sliding_window_view copied to one row per output pixel), one
            GEMM forward, two backward (benchmarks/hand_conv.py; the yardstick of the targets)
  hand-cm   NumPy by hand, in the node's own layout (one column per output pixel): the node's
            algorithm without any framework
  torch     torch.nn.functional.conv2d + backward, on CPU, if PyTorch is installed (optional)
Every side runs on 1 thread (set here, before NumPy and torch load their BLAS). Samples are
interleaved; each ratio is taken between the two sides' samples of the same round ("paired"),
and the median and min-max over the rounds are printed. Minor page faults per step come from
resource.getrusage. Targets (a report, never a test): node <= 1.2x hand, node <= 2x torch.
"""
from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from hand_conv import conv_backward, conv_forward, conv_step_channel_major  # noqa: E402
from machine import blas_kernel, cpu_model, time_once  # noqa: E402
from tinytorch.core.autograd import Variable  # noqa: E402
from tinytorch.core.cnn import conv2d, conv2d_vectorized  # noqa: E402

try:
    import torch
    torch.set_num_threads(1)
except ImportError:                      # the comparison with PyTorch is optional
    torch = None

SHAPES = (((32, 1, 28, 28), (8, 1, 3, 3)), ((64, 16, 32, 32), (32, 16, 3, 3)))
TARGETS = {"hand": 1.2, "torch": 2.0}


def tinytorch_step(fn, x, w, b, g):
    leaves = [Variable(a, requires_grad=True) for a in (x, w, b)]

    def step():
        for leaf in leaves:
            leaf.zero_grad()
        fn(*leaves).backward(g)
        return [np.asarray(leaf.grad) for leaf in leaves]
    return step


def hand_step(x, w, b, g):
    def step():
        _, cols = conv_forward(x, w, b)
        dw, db, dx = conv_backward(g, cols, x.shape, w, need_dx=True)
        return [dx, dw, db]
    return step


def hand_channel_major_step(x, w, b, g):
    return lambda: list(conv_step_channel_major(x, w, b, g)[1:])


def torch_step(x, w, b, g):
    leaves = [torch.from_numpy(a).requires_grad_() for a in (x, w, b)]
    grad = torch.from_numpy(g)

    def step():
        for leaf in leaves:
            leaf.grad = None
        torch.nn.functional.conv2d(*leaves).backward(grad)
        return [leaf.grad.numpy() for leaf in leaves]
    return step


def minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def measure(steps, repeats):
    """Per side: seconds per step of each round, and minor page faults per step (median over rounds)."""
    results = {name: fn() for name, fn in steps.items()}          # warm-up, and the agreement check
    for name, grads in results.items():
        for got, want, what in zip(grads, results["hand"], ("dx", "dW", "db")):
            scale = float(np.abs(want).max()) or 1.0
            assert np.abs(got - want).max() <= 1e-3 * scale, f"{name} disagrees with hand NumPy on {what}"
    once = min(time_once(fn) for fn in steps.values())
    inner = max(1, int(0.05 / max(once, 1e-6)))                 # ~50 ms per sample of the fastest side
    seconds = {name: [] for name in steps}
    faults = {name: [] for name in steps}
    for _ in range(repeats):
        for name, fn in steps.items():
            before, start = minor_faults(), time.perf_counter()
            for _ in range(inner):
                fn()
            seconds[name].append((time.perf_counter() - start) / inner)
            faults[name].append((minor_faults() - before) / inner)
    return seconds, {name: statistics.median(values) for name, values in faults.items()}


def paired(seconds, side, reference):
    ratios = [a / b for a, b in zip(seconds[side], seconds[reference])]
    return statistics.median(ratios), min(ratios), max(ratios)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="interleaved rounds (samples per side)")
    args = parser.parse_args()
    torch_version = f"torch {torch.__version__} ({torch.get_num_threads()} thread)" if torch else "torch not installed"
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}; numpy {np.__version__}, {torch_version}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; {blas_kernel()}")
    rng = np.random.default_rng(0)
    for x_shape, w_shape in SHAPES:
        x = rng.normal(size=x_shape).astype(np.float32)
        w = (rng.normal(size=w_shape) * np.sqrt(2 / np.prod(w_shape[1:]))).astype(np.float32)
        b = rng.normal(size=w_shape[0]).astype(np.float32)
        out_shape = (x_shape[0], w_shape[0], x_shape[2] - w_shape[2] + 1, x_shape[3] - w_shape[3] + 1)
        g = rng.normal(size=out_shape).astype(np.float32)
        steps = {"node": tinytorch_step(conv2d, x, w, b, g), "unfused": tinytorch_step(conv2d_vectorized, x, w, b, g),
                 "hand": hand_step(x, w, b, g), "hand-cm": hand_channel_major_step(x, w, b, g)}
        if torch is not None:
            steps["torch"] = torch_step(x, w, b, g)
        seconds, faults = measure(steps, args.repeats)
        print(f"\nconv {x_shape} -> {w_shape[0]} filters {w_shape[2]}x{w_shape[3]}, forward + backward (dx, dW, db)")
        print(f"  {'side':<9}{'median':>11}{'best':>11}{'faults/step':>13}")
        for name in steps:
            print(f"  {name:<9}{statistics.median(seconds[name]) * 1e3:>9.2f}ms{min(seconds[name]) * 1e3:>9.2f}ms"
                  f"{faults[name]:>13.0f}")
        print("  paired ratios: median [min-max]")
        for side, reference in (("node", "hand"), ("node", "torch"), ("node", "hand-cm"), ("unfused", "hand"),
                                ("unfused", "torch")):
            if reference not in seconds:
                continue
            median, low, high = paired(seconds, side, reference)
            line = f"  {side + ' / ' + reference:<18}{median:>6.2f}x [{low:.2f}-{high:.2f}]"
            if side == "node" and reference in TARGETS:
                line += f"   target <= {TARGETS[reference]}x: {'ok' if median <= TARGETS[reference] else 'MISSED'}"
            print(line)


if __name__ == "__main__":
    main()
