"""Grading on a Dask distributed cluster (`tito nbgrader autograde --cluster tcp://HOST:PORT`).

The parent process (tito) stays what it is locally: it rebuilds every submission against the
assignment, and it alone writes the gradebook. Only step 3 — executing a rebuilt notebook in a
sandbox — moves to the cluster. A task carries everything it needs (the job's limits and the
notebook as JSON text), so workers share no filesystem with the instructor's machine: they need
only the same installed `tinytorch` and `tito`. On the worker the task runs exactly what a local
worker runs (`python -m tito.core.sandbox --serve`: Landlock, per-cell timeout, memory cap, fresh
kernel after a death), so scores are the same as local grading.

A worker that dies mid-task is Dask's business: the scheduler gives the task to another worker
(up to `distributed.scheduler.allowed-failures` times) and then reports it as lost; that
submission is then recorded as not graded, with the reason.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import uuid

from tito.core.settings import TitoError

CONNECT_TIMEOUT = 10.0      # seconds to wait for a scheduler to answer


def _die_with_parent() -> None:
    """In the sandbox process on a worker: die when the Dask worker that started it dies (a killed
    worker must not leave a notebook running on its machine while the task runs elsewhere)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    os.setsid()


_local = threading.local()       # on a Dask worker: one sandbox process per worker thread, reused


def grade_task(job: dict, nb_json: str, limit: float) -> dict | None:
    """Run on a Dask worker: execute one rebuilt notebook in the sandbox, return its answer
    (`{"status": …, "nb": …}`, what `Worker.run` returns), or None if the sandbox hung or crashed.
    The sandbox process is kept for the thread's next task, as a local worker keeps it, so its
    imports are paid once per worker thread, not once per submission."""
    import nbformat

    from tito.core.autograde import Worker

    worker = getattr(_local, "worker", None)
    if worker is None:
        worker = _local.worker = Worker(preexec_fn=_die_with_parent)
    return worker.run(job, nbformat.reads(nb_json, as_version=4), limit)


def connect(address: str):
    """A client of the scheduler at `address`, or one clear TitoError when nothing answers there."""
    try:
        from distributed import Client
    except ImportError:        # declared in pyproject.toml; a broken install says how to mend it
        raise TitoError("grading on a cluster needs the 'distributed' package: python3 -m pip install distributed")
    if "://" not in address:
        address = f"tcp://{address}"
    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise TitoError(f"no Dask scheduler answers at {address} ({type(err).__name__}: {err}). "
                        "Start one with `dask scheduler` and workers with `dask worker ADDRESS`, "
                        "or leave --cluster (and settings.ini [grading] cluster) empty to grade locally.")


def run_on_cluster(client, job: dict, pending: list, limit: float, stop: threading.Event | None = None):
    """Yield `(student, answer)` for each `(student, notebook)` in `pending`, in the order they
    finish on the cluster (`client` from `connect`, closed at the end); a task the cluster lost
    gives `answer = {"status": {"error": why}}`. Once `stop` is set, the rest is cancelled."""
    import nbformat

    stop = stop or threading.Event()
    futures = {}
    try:
        for student, nb in pending:
            key = f"tito-grade-{student}-{uuid.uuid4().hex[:8]}"
            future = client.submit(grade_task, job, nbformat.writes(nb), limit, key=key, pure=False)
            futures[future] = student
        remaining = set(futures)
        while remaining and not stop.is_set():
            done = [future for future in remaining if future.done()]
            if not done:
                stop.wait(0.2)
                continue
            for future in done:
                remaining.discard(future)
                try:
                    answer = future.result()
                except Exception as err:    # KilledWorker after the retries, or a broken worker install
                    answer = {"status": {"error": f"the cluster could not grade it ({type(err).__name__}: {err})"}}
                yield futures[future], answer
    finally:
        for future in futures:
            future.cancel()
        client.close()
