"""The training-step benchmark runs as written, and its yardsticks compute the same step tinytorch does.

No timing is asserted here (speed lives in benchmarks/); what can rot silently is a benchmark that
no longer runs, or a "floor" that is fast because it computes something else.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT

BENCHMARKS = ROOT / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_training_step
        import minimal_autograd
        yield bench_training_step, minimal_autograd
    finally:
        sys.path.remove(str(BENCHMARKS))


def _mlp(rng, sizes, batch):
    params = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        params += [rng.normal(scale=0.3, size=(n_in, n_out)).astype(np.float32),
                   rng.normal(scale=0.1, size=n_out).astype(np.float32)]
    x = rng.normal(size=(batch, sizes[0])).astype(np.float32)
    y = rng.normal(size=(batch, sizes[-1])).astype(np.float32)
    return params, x, y


@pytest.mark.parametrize("on_tensor", [False, True], ids=["graph-floor", "tensor-floor"])
@pytest.mark.parametrize("sizes", [(5, 4, 3), (6, 5, 5, 5, 2)], ids=["one-hidden", "three-hidden"])
def test_floors_train_exactly_like_the_hand_step(bench, sizes, on_tensor):
    """Five steps of each floor follow the hand-written NumPy step's losses (so they learn the same)."""
    bench_training_step, minimal_autograd = bench
    params, x, y = _mlp(np.random.default_rng(1), sizes, batch=7)
    lr = 0.5                                          # big steps: a wrong gradient shows at once
    hand = bench_training_step.make_numpy_step(params, x, y, lr=lr)
    floor = minimal_autograd.make_step(params, x, y, lr, on_tensor=on_tensor)
    hand_losses = [hand() for _ in range(5)]
    np.testing.assert_allclose([floor() for _ in range(5)], hand_losses, rtol=1e-4)
    assert hand_losses[-1] < hand_losses[0], "the hand step should learn with this step size"


def test_tensor_floor_computes_with_the_installed_tensor(bench, monkeypatch):
    """The Tensor floor asks tinytorch's Tensor for its values: a planted bug there changes its loss."""
    _, minimal_autograd = bench
    from tinytorch.core.tensor import Tensor
    params, x, y = _mlp(np.random.default_rng(2), (4, 3, 2), batch=5)
    honest = minimal_autograd.make_step(params, x, y, 0.1, on_tensor=True)()
    add = Tensor.add
    monkeypatch.setattr(Tensor, "add", lambda self, other: add(self, other).multiply(2))
    planted = minimal_autograd.make_step(params, x, y, 0.1, on_tensor=True)()
    raw = minimal_autograd.make_step(params, x, y, 0.1)()
    assert planted != pytest.approx(honest) and raw == pytest.approx(honest, rel=1e-5)


def _run_benchmark(script, *args):
    """`python benchmarks/SCRIPT ARGS` from the repository, as README lists it; it must succeed."""
    run = subprocess.run([sys.executable, str(BENCHMARKS / script), *args],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return run


def test_training_step_benchmark_runs_as_written():
    """`python benchmarks/bench_training_step.py` from the repository: every side of every network."""
    run = _run_benchmark("bench_training_step.py", "--repeats", "1")
    for network in ("784-512-10 batch 256", "64-64-10 batch 32", "deep 20x64 batch 32 (107 graph nodes)"):
        assert network in run.stdout, run.stdout
    for side in ("tinytorch", "Tensor floor", "graph floor", "hand"):
        assert run.stdout.count(f"  {side} ") == 3, run.stdout
    assert "µs/node" in run.stdout and "BLAS kernel" in run.stdout
    assert "BLAS kernel: unknown" not in run.stdout and ", 1 threads" in run.stdout, \
        "the benchmark should name the BLAS kernel (threadpoolctl, a dev dependency) running on 1 thread"


@pytest.mark.parametrize("script, args, expected", [
    ("bench_conv.py", ["--repeats", "1"], ["conv (32, 1, 28, 28) -> 8 filters 3x3", "node / hand"]),
    ("bench_vs_torch.py", ["--repeats", "1"], ["MLP 784-512-10, batch 256", "milestone 02, batch 32"]),
    ("bench_export.py", [], ["tito export --all (", "modules): "]),
])
def test_other_quick_benchmarks_run_as_written(script, args, expected):
    """The quick benchmarks run from the repository as README lists them (one round each)."""
    run = _run_benchmark(script, *args)
    for text in expected:
        assert text in run.stdout, run.stdout
    if script != "bench_export.py":
        assert "BLAS kernel: openblas" in run.stdout or "BLAS kernel: mkl" in run.stdout, run.stdout
