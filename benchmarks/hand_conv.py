"""A convolution step written by hand in NumPy, the yardstick for tinytorch's conv2d node.

im2col as a strided view (sliding_window_view) copied into one (N·oh·ow, C·k·k) matrix — one row
per output pixel — one GEMM forward, two backward, and the input gradient scattered back one
kernel offset at a time. Used by bench_conv.py and bench_vs_torch.py.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def im2col(x, k):
    v = sliding_window_view(x, (k, k), axis=(2, 3))            # N, C, oh, ow, k, k
    n, c, oh, ow = v.shape[:4]
    return v.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * k * k), oh, ow


def conv_forward(x, W, b):
    """(output (N, O, oh, ow), cols) for x (N, C, H, W), square kernels W (O, C, k, k), bias b (O,)."""
    o, _, k, _ = W.shape
    cols, oh, ow = im2col(x, k)
    out = cols @ W.reshape(o, -1).T + b
    return out.reshape(x.shape[0], oh, ow, o).transpose(0, 3, 1, 2), cols


def conv_backward(d_out, cols, x_shape, W, need_dx):
    """(dW, db, dx or None) from the output gradient d_out (N, O, oh, ow) and the forward's cols."""
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


def conv_step_channel_major(x, W, b, d_out):
    """The same step in the layout tinytorch's conv2d uses (cols (C·k·k, N·oh·ow), Caffe's im2col with
    the batch in the columns): (out, dx, dW, db). The framework-free version of the node's algorithm."""
    n, c, h, w = x.shape
    o, _, k, _ = W.shape
    oh, ow = h - k + 1, w - k + 1
    cols = np.empty((c, k, k, n, oh, ow), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, i, j] = x[:, :, i:i + oh, j:j + ow].transpose(1, 0, 2, 3)
    cols = cols.reshape(c * k * k, -1)
    Wm = W.reshape(o, -1)
    out = Wm @ cols
    out += b.reshape(o, 1)
    out = out.reshape(o, n, oh, ow).transpose(1, 0, 2, 3)
    G = d_out.transpose(1, 0, 2, 3).reshape(o, -1)
    dW = (G @ cols.T).reshape(W.shape)
    db = G.sum(axis=1)
    d_cols = (Wm.T @ G).reshape(c, k, k, n, oh, ow)
    dx = np.zeros((c, n, h, w), dtype=d_out.dtype)
    for i in range(k):
        for j in range(k):
            dx[:, :, i:i + oh, j:j + ow] += d_cols[:, i, j]
    return out, dx.transpose(1, 0, 2, 3), dW, db
