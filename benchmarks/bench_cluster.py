"""Grading on a Dask cluster against local grading, on this machine.

Grades N copies of a module's reference solution (default 60 of module 00) with `tito nbgrader
autograde --jobs 2` (local sandbox workers) and then through `--cluster` on a scheduler with 1, 2
and 4 single-threaded Dask workers started here on 127.0.0.1. On one 2-core machine more workers
cannot add cores: what this measures is the cluster's own cost per submission (task round trips,
serialising the notebook, one sandbox process per task) against the local pool.

    python benchmarks/bench_cluster.py                   # --copies 60 --module 00 --workers 1 2 4

Prints submissions per second for each run, the ratio to local `--jobs 2`, and checks every copy
got full marks every time.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_autograde import project  # noqa: E402  (same scratch course layout)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask(*args: str, log) -> subprocess.Popen:
    script = Path(sys.executable).parent / "dask"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "dask"]
    return subprocess.Popen([*argv, *args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


class Cluster:
    """A scheduler and `n` single-threaded workers on 127.0.0.1, stopped on exit."""

    def __init__(self, n: int, log):
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        port = self.address.rsplit(":", 1)[1]
        self.processes = [_dask("scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard",
                                "--no-show", log=log)]
        self.processes += [_dask("worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                 "--host", "127.0.0.1", log=log) for _ in range(n)]
        self.n = n

    def __enter__(self) -> "Cluster":
        from distributed import Client

        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(self.address, timeout=5, set_as_default=False) as client:
                    client.wait_for_workers(self.n, timeout=90)
                return self
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    self.__exit__()
                    sys.exit(f"the Dask cluster at {self.address} did not start")
                time.sleep(1)

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=60)
    parser.add_argument("--module", default="00")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--jobs", type=int, default=2, help="local workers of the reference run")
    args = parser.parse_args()

    from tito.core import registry
    from tito.core.autograde import autograde
    from tito.core.course import Course, generate

    module = registry.resolve(args.module, ROOT)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as scratch:
        tmp = Path(scratch)
        course = Course.from_settings(project(tmp, "course"))
        generate(course, module)
        for i in range(args.copies):
            target = course.submitted_notebook(module, f"student{i:03d}")
            target.parent.mkdir(parents=True)
            shutil.copyfile(course.source_notebook(module), target)

        def grade(label: str, **how) -> None:
            start = time.perf_counter()
            outcomes = autograde(course, module, force=True, **how)
            seconds = time.perf_counter() - start
            full = sum(1 for o in outcomes if o.graded and o.score == o.max_score > 0)
            rows.append((label, seconds, full))
            print(f"  {label:<24} {seconds:7.1f} s  {args.copies / seconds:6.2f} submissions/s  "
                  f"full marks {full}/{args.copies}", flush=True)

        print(f"{args.copies} copies of {module.slug}'s solution, {os.cpu_count()} cores")
        grade(f"local --jobs {args.jobs}", jobs=args.jobs)
        with open(tmp / "dask.log", "ab") as log:
            for n in args.workers:
                with Cluster(n, log) as cluster:
                    grade(f"cluster, {n} worker(s)", cluster=cluster.address)

    local = rows[0][1]
    print("\nratio to local (submissions/s, higher is faster):")
    for label, seconds, full in rows[1:]:
        print(f"  {label:<24} {local / seconds:5.2f}x")
    per_submission = {label: seconds / args.copies for label, seconds, _ in rows}
    print("\nseconds of wall time per submission: " +
          ", ".join(f"{label}: {s:.2f}" for label, s in per_submission.items()))
    if any(full != args.copies for _, _, full in rows):
        sys.exit("some copies did not get full marks")


if __name__ == "__main__":
    main()
