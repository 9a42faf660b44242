"""Speed of the vectorised convolution (module 05) and of a DataLoader epoch (module 06).

Prints times and ratios against references measured in the same run: NumPy's
sliding_window_view + einsum (im2col as a view), and PyTorch's conv2d when it is installed.
Run: python benchmarks/bench_conv.py
On a busy 2-core machine OpenBLAS's threads fight the other processes and large products get
several times slower; OPENBLAS_NUM_THREADS=1 gives steadier numbers there.
"""
from __future__ import annotations

import timeit

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tinytorch.core.cnn import MultiChannelConv2D, conv2d_vectorized
from tinytorch.core.dataloader import DataLoader, DigitsDataset
from tinytorch.core.tensor import Tensor


def best(fn, number):
    """Best of 5 repeats, seconds per call."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def reference(x, w):
    return np.einsum("ncyxij,ocij->noyx", sliding_window_view(x, w.shape[2:], axis=(2, 3)), w, optimize=True)


def main() -> None:
    rng = np.random.default_rng(0)
    cases = [((64, 1, 8, 8), (8, 1, 3, 3)), ((64, 8, 6, 6), (16, 8, 3, 3)), ((32, 3, 32, 32), (16, 3, 5, 5))]
    try:
        import torch
    except ImportError:
        torch = None
    print(f"{'input':>18} {'weight':>16} {'tinytorch':>11} {'numpy ref':>11} {'ratio':>7}"
          + (f" {'torch':>11} {'ratio':>7}" if torch else ""))
    for x_shape, w_shape in cases:
        x = rng.normal(size=x_shape).astype(np.float32)
        w = rng.normal(size=w_shape).astype(np.float32)
        xt, wt = Tensor(x), Tensor(w)
        ours = best(lambda: conv2d_vectorized(xt, wt), 50)
        ref = best(lambda: reference(x, w), 50)
        line = f"{str(x_shape):>18} {str(w_shape):>16} {ours * 1e6:9.0f}µs {ref * 1e6:9.0f}µs {ours / ref:6.2f}x"
        if torch:
            tx, tw = torch.from_numpy(x), torch.from_numpy(w)
            tt = best(lambda: torch.nn.functional.conv2d(tx, tw), 50)
            line += f" {tt * 1e6:9.0f}µs {ours / tt:6.2f}x"
        print(line)

    layer = MultiChannelConv2D(1, 8, 3)
    batch = Tensor(rng.normal(size=(64, 1, 8, 8)).astype(np.float32))
    print(f"MultiChannelConv2D(1, 8, 3) on a 64x1x8x8 batch: {best(lambda: layer(batch), 100) * 1e6:.0f}µs")

    loader = DataLoader(DigitsDataset(train=True), batch_size=64, seed=0)
    images = loader.dataset.images
    epoch = best(lambda: sum(1 for _ in loader), 3)
    direct = best(lambda: [images[i:i + 64] for i in np.random.permutation(len(images))[::64]], 3)
    print(f"one DataLoader epoch over {len(loader.dataset)} digits: {epoch * 1e3:.1f} ms "
          f"({epoch / direct:.0f}x slicing the arrays directly)")


if __name__ == "__main__":
    main()
