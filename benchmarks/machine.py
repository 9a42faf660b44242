"""What the benchmarks print about the machine, and the one-shot timer they calibrate with.

Imported by the benchmark scripts beside it (`python benchmarks/bench_*.py` puts this folder first
on the import path).
"""
from __future__ import annotations

import platform
import time


def time_once(fn) -> float:
    """Seconds one call of `fn` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_kernel() -> str:
    """Which BLAS kernel NumPy runs (OPENBLAS_CORETYPE can force an older one), via threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS kernel: unknown (pip install threadpoolctl)"
    found = [f"{i['internal_api']} {i.get('architecture', '?')}, {i['num_threads']} threads"
             for i in threadpool_info() if i["user_api"] == "blas"]
    return "BLAS kernel: " + ("; ".join(found) or "none found")
