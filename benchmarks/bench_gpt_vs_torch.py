"""Milestone 03's GPT trained by tinytorch and by PyTorch: same architecture, weights, data, seed, steps.

Run on demand (not a test):  python benchmarks/bench_gpt_vs_torch.py [--steps N]
Needs PyTorch in the environment (pip install torch==2.13.0; it is not a dependency).

Both sides start from the same weights (copied from the tinytorch GPT into an equivalent
torch.nn model: Linear weights transposed), see the same batches of the King James corpus in the
same order, and take the same Adam steps (lr 3e-3, betas 0.9/0.999, eps 1e-8), all float32, one
thread each (OPENBLAS_NUM_THREADS=1 is set before NumPy loads; torch.set_num_threads(1)).
Steps alternate between the two frameworks, so a load change on a shared machine hits both; the
printed ratio is the median of the per-step ratios (tinytorch time / torch time).
It prints the start and end of both loss curves (mean training loss of the first and last 20
steps) and the validation loss both reach. They should agree to about 0.01 nats: same maths,
different float32 rounding.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from machine import blas_kernel, cpu_model  # noqa: E402
from tinytorch.core.optimizers import Adam  # noqa: E402
from tinytorch.core.tokenization import CharTokenizer, load_corpus  # noqa: E402
from tinytorch.core.transformer import GPT  # noqa: E402

BLOCK_SIZE, N_LAYER, N_HEAD, N_EMBD, BATCH_SIZE, LR, SEED = 64, 2, 4, 64, 32, 3e-3, 0


def torch_gpt(torch, model):
    """An equivalent torch.nn GPT holding copies of `model`'s weights."""
    nn, F = torch.nn, torch.nn.functional

    def linear(dense):
        layer = nn.Linear(dense.input_size, dense.output_size, bias=dense.bias is not None)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(np.asarray(dense.weights).T.copy()))
            if dense.bias is not None:
                layer.bias.copy_(torch.from_numpy(np.asarray(dense.bias)))
        return layer

    def norm(ln):
        layer = nn.LayerNorm(ln.normalized_shape, eps=ln.eps)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(np.asarray(ln.weight)))
            layer.bias.copy_(torch.from_numpy(np.asarray(ln.bias)))
        return layer

    class Block(nn.Module):
        def __init__(self, block):
            super().__init__()
            a = block.attention
            self.heads, self.head_dim = a.num_heads, a.head_dim
            self.ln1, self.ln2 = norm(block.ln1), norm(block.ln2)
            self.q, self.k, self.v, self.o = (linear(x) for x in (a.query, a.key, a.value, a.out))
            self.fc, self.proj = linear(block.fc), linear(block.proj)

        def forward(self, x):
            B, T, E = x.shape
            h = self.ln1(x)
            q, k, v = (f(h).view(B, T, self.heads, self.head_dim).transpose(1, 2) for f in (self.q, self.k, self.v))
            attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.o(attended.transpose(1, 2).reshape(B, T, E))
            return x + self.proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))

    class TorchGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(model.vocab_size, model.n_embd)
            self.wpe = nn.Embedding(model.block_size, model.n_embd)
            with torch.no_grad():
                self.wte.weight.copy_(torch.from_numpy(np.asarray(model.token_embedding.weight)))
                self.wpe.weight.copy_(torch.from_numpy(np.asarray(model.position_embedding.weight)))
            self.blocks = nn.ModuleList(Block(b) for b in model.blocks)
            self.ln_f, self.head = norm(model.ln_f), linear(model.head)

        def forward(self, ids):
            x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln_f(x))

    return TorchGPT()


def windows(data, rng, count):
    for _ in range(count):
        starts = rng.integers(0, len(data) - BLOCK_SIZE - 1, size=BATCH_SIZE)
        w = np.stack([data[s:s + BLOCK_SIZE + 1] for s in starts])
        yield w[:, :-1], w[:, 1:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit("PyTorch is not installed: pip install torch==2.13.0")
    torch.set_num_threads(1)
    F = torch.nn.functional

    text = load_corpus()
    tok = CharTokenizer(text)
    data = np.array(tok.encode(text), dtype=np.int64)
    split = int(0.9 * len(data))
    train, val = data[:split], data[split:]
    np.random.seed(SEED)
    ours = GPT(tok.vocab_size, BLOCK_SIZE, N_LAYER, N_HEAD, N_EMBD, seed=SEED)
    theirs = torch_gpt(torch, ours)
    ours_opt = Adam(ours.parameters(), learning_rate=LR)
    theirs_opt = torch.optim.Adam(theirs.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8)
    n_params = sum(p.numel() for p in theirs.parameters())
    assert n_params == sum(int(np.prod(p.shape)) for p in ours.parameters()), "the two models must match"

    def torch_loss(x, y):
        logits = theirs(torch.from_numpy(x))
        return F.cross_entropy(logits.reshape(-1, tok.vocab_size), torch.from_numpy(y).reshape(-1))

    losses, seconds = {"tinytorch": [], "torch": []}, {"tinytorch": [], "torch": []}
    for x, y in windows(train, np.random.default_rng(SEED), args.steps):
        start = time.perf_counter()
        loss = ours.loss(x, y)
        ours_opt.zero_grad()
        loss.backward()
        ours_opt.step()
        seconds["tinytorch"].append(time.perf_counter() - start)
        losses["tinytorch"].append(loss.item())
        start = time.perf_counter()
        loss = torch_loss(x, y)
        theirs_opt.zero_grad()
        loss.backward()
        theirs_opt.step()
        seconds["torch"].append(time.perf_counter() - start)
        losses["torch"].append(loss.item())

    val_batches = list(windows(val, np.random.default_rng(1), 24))
    with torch.no_grad():
        val_torch = float(np.mean([torch_loss(x, y).item() for x, y in val_batches]))
    val_ours = float(np.mean([ours.loss(x, y).item() for x, y in val_batches]))

    print(f"{cpu_model()}; {blas_kernel()}; torch {torch.__version__}, 1 thread")
    print(f"GPT(vocab {tok.vocab_size}, block {BLOCK_SIZE}, {N_LAYER} layers, {N_HEAD} heads, {N_EMBD} dims; "
          f"{n_params:,} parameters), batch {BATCH_SIZE}, Adam lr {LR}, {args.steps} steps, seed {SEED}")
    print(f"{'':10} {'loss, first 20 steps':>21} {'last 20 steps':>14} {'validation':>11} {'median step':>12}")
    for name in ("tinytorch", "torch"):
        first, last = np.mean(losses[name][:20]), np.mean(losses[name][-20:])
        val_loss = val_ours if name == "tinytorch" else val_torch
        print(f"{name:10} {first:21.4f} {last:14.4f} {val_loss:11.4f} {statistics.median(seconds[name]) * 1e3:9.1f} ms")
    ratios = [a / b for a, b in zip(seconds["tinytorch"], seconds["torch"])]
    print(f"step time tinytorch / torch: {statistics.median(ratios):.2f}x (median of {len(ratios)} paired steps)")
    print(f"largest per-step loss difference: {max(abs(a - b) for a, b in zip(losses['tinytorch'], losses['torch'])):.4f}")


if __name__ == "__main__":
    main()
