"""One training step (forward, cross-entropy, backward, SGD update): tinytorch vs NumPy vs PyTorch.

Run on demand (not a test):  python benchmarks/bench_vs_torch.py [--repeats N]

Three steps, all float32, all starting from the same weights on the same batch:
  - MLP 784-512-10 at batch 256 (matmuls dominate)
  - MLP 64-64-10 at batch 32 (per-operation overhead dominates)
  - CNN on 8x8 digit-sized images at batch 64: Conv(1->16, 3x3), ReLU, Conv(16->32, 3x3), ReLU,
    flatten, Dense(512->10) — tinytorch's conv2d graph node (module 05).
  - Milestone 02's training step: its model (Conv(1->32) + ReLU + 2x2 max-pool, Conv(32->64) +
    ReLU, Dense(256->10)) on 32 of its 10x10 padded digits, with Adam(0.005), as `tito milestone
    run 02` trains it (tinytorch and torch only).
"numpy" is the same step written by hand (fused softmax-cross-entropy, no input gradient, in-place
update; im2col via sliding_window_view for the CNN, benchmarks/hand_conv.py). "torch" is torch.nn
+ F.cross_entropy + torch.optim on CPU, used only if PyTorch is installed (it is not a dependency).
Samples are interleaved; each ratio is taken between two sides' samples of the same round (paired),
and the median and min-max over the rounds are printed, with tinytorch's minor page faults per step.
Threads: NumPy's BLAS reads OPENBLAS_NUM_THREADS at import; the script sets it to 1 unless it is
already set, and torch gets the same number (torch.set_num_threads), so both sides use equal threads.
Targets: tinytorch ≤ 0.9× torch (big MLP), ≤ 0.6× (small MLP), ≤ 2× (CNN), ≤ 1.3× (milestone 02).
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")     # before NumPy loads OpenBLAS

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from hand_conv import conv_backward, conv_forward  # noqa: E402
from machine import blas_kernel, cpu_model, time_once  # noqa: E402
from tinytorch.core.activations import ReLU
from tinytorch.core.cnn import Flatten, MultiChannelConv2D
from tinytorch.core.layers import Dense
from tinytorch.core.networks import Sequential
from tinytorch.core.optimizers import SGD, Adam
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import CrossEntropyLoss

LR = 0.01
TARGETS = {"mlp_big": 0.9, "mlp_small": 0.6, "cnn": 2.0, "milestone02": 1.3}
MILESTONE_02 = Path(__file__).resolve().parent.parent / "milestones" / "02_digits_cnn" / "train.py"

try:
    import torch
except ImportError:                      # the comparison with PyTorch is optional
    torch = None
if torch is not None and os.environ.get("OPENBLAS_NUM_THREADS", "").isdigit():
    torch.set_num_threads(int(os.environ["OPENBLAS_NUM_THREADS"]))


# ---- tinytorch ---------------------------------------------------------------------------------
def tinytorch_step(net, x, y, optimizer=None):
    optimizer, loss_fn = optimizer or SGD(net.parameters(), learning_rate=LR), CrossEntropyLoss()
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
def torch_step(layers, x, y, adam_lr=None):
    net = torch.nn.Sequential(*layers)
    optimizer = (torch.optim.SGD(net.parameters(), lr=LR) if adam_lr is None
                 else torch.optim.Adam(net.parameters(), lr=adam_lr))
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


def milestone02_case(batch=32):
    """The milestone's own model, data and optimizer (its script is loaded as a module, not run)."""
    spec = importlib.util.spec_from_file_location("milestone02_train", MILESTONE_02)
    milestone = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(milestone)
    np.random.seed(milestone.SEED)
    data = milestone.PaddedDigits(train=True)
    x, y = data.images[:batch].astype(np.float32), data.labels[:batch]
    net = Sequential([MultiChannelConv2D(1, 32, 3), ReLU(), milestone.MaxPool2(),
                      MultiChannelConv2D(32, 64, 3), ReLU(), Flatten(), Dense(256, 10)])
    params = [p.data.data.copy() for p in net.parameters()]
    lr = 0.005
    steps = {"tinytorch": tinytorch_step(net, x, y, Adam(net.parameters(), learning_rate=lr))}
    if torch is not None:
        Wa, ba, Wb, bb, Wd, bd = params
        steps["torch"] = torch_step([torch_conv(Wa, ba), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch_conv(Wb, bb),
                                     torch.nn.ReLU(), torch.nn.Flatten(), torch_linear(Wd, bd)], x, y, adam_lr=lr)
    return steps


def minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def measure(steps, repeats):
    """Per side: seconds per step in each interleaved round, and median minor page faults per step."""
    # Same start, same data: the trajectories must agree (a correctness check, not just speed).
    losses = [[fn() for fn in steps.values()] for _ in range(3)]
    for row in losses:
        assert max(row) - min(row) <= 1e-4 * max(1.0, abs(row[0])), f"losses disagree: {losses}"
    once = min(time_once(fn) for fn in steps.values())
    inner = max(1, int(2e-2 / max(once, 1e-6)))           # ~20 ms per timed sample
    samples = {name: [] for name in steps}
    faults = {name: [] for name in steps}
    for _ in range(repeats):
        for name, fn in steps.items():
            before, start = minor_faults(), time.perf_counter()
            for _ in range(inner):
                fn()
            samples[name].append((time.perf_counter() - start) / inner)
            faults[name].append((minor_faults() - before) / inner)
    return samples, {name: statistics.median(values) for name, values in faults.items()}


def paired(samples, side, reference):
    """Median, min and max of the per-round ratios side / reference."""
    ratios = [a / b for a, b in zip(samples[side], samples[reference])]
    return statistics.median(ratios), min(ratios), max(ratios)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="interleaved rounds (samples per side)")
    args = parser.parse_args()
    versions = f"numpy {np.__version__}" + (f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
                                             if torch is not None else ", torch not installed")
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}; {versions}; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(unset)')}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; {blas_kernel()}")
    print("times: median per step; ratios: median [min-max] of the per-round (paired) ratios; "
          "faults: tinytorch's minor page faults per step")
    header = f"{'step':<24}{'tinytorch':>11}{'numpy':>11}{'tt/np':>7}"
    if torch is not None:
        header += f"{'torch':>11}{'tt/torch':>9}{'[min-max]':>13}{'target':>8}"
    print(header + f"{'faults':>8}")
    cases = (("mlp_big", "MLP 784-512-10, batch 256", lambda: mlp_case(784, 512, 10, 256)),
             ("mlp_small", "MLP 64-64-10, batch 32", lambda: mlp_case(64, 64, 10, 32)),
             ("cnn", "CNN 8x8, batch 64", cnn_case),
             ("milestone02", "milestone 02, batch 32", milestone02_case))
    for key, label, build in cases:
        samples, faults = measure(build(), args.repeats)
        med = {name: statistics.median(values) for name, values in samples.items()}
        line = f"{label:<24}{med['tinytorch'] * 1e3:>9.3f}ms"
        if "numpy" in samples:
            line += f"{med['numpy'] * 1e3:>9.3f}ms{paired(samples, 'tinytorch', 'numpy')[0]:>6.2f}×"
        else:
            line += f"{'—':>11}{'—':>7}"
        if torch is not None:
            ratio, low, high = paired(samples, "tinytorch", "torch")
            verdict = "ok" if ratio <= TARGETS[key] else "MISSED"
            line += (f"{med['torch'] * 1e3:>9.3f}ms{ratio:>8.2f}× [{low:.2f}-{high:.2f}]"
                     f"{TARGETS[key]:>6.1f}× {verdict:<6}")
        print(line + f"{faults['tinytorch']:>6.0f}")


if __name__ == "__main__":
    main()
