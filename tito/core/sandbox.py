"""Execute submissions in isolation: `python -m tito.core.sandbox --serve` (a grading worker).

The grader keeps N workers; each reads one job per stdin line (JSON: the notebook to run, the
per-cell timeout, the whole-notebook wall clock, the memory cap) and answers on stdout: first
`{"kernel": PID}`, then `{"status": ..., "nb": ...}` with the executed notebook (outputs
truncated). Nothing goes through files, so a submission can't tamper with another's input or
result, and workers never open the gradebook. Each job's kernel runs in a fresh scratch folder
`/tmp/tito-sandbox-XXXX/work` (so relative paths like `../../gradebook.db` lead nowhere real),
removed afterwards, with RLIMIT_AS (memory) and RLIMIT_FSIZE (file size) set in the kernel's own
process, HOME/IPYTHONDIR inside the scratch folder, and one BLAS thread.

Every code cell ends with a verdict. Cells that ran keep their outputs. A cell that exceeds the
per-cell timeout gets a `CellTimeout` error (the kernel is interrupted and, when it answers,
grading goes on). When the kernel dies (`os._exit`, a segfault, the memory cap) or stops
answering, the cell it was running and every later cell get a `KernelDied` error naming the reason,
so they score zero while the earlier cells keep their grades.

`python -m tito.core.sandbox --kernel MEMORY_MB FSIZE_MB -f CONNECTION_FILE` is the kernel launcher.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

OUTPUT_LIMIT = 20_000          # characters of output kept per cell
KERNEL_OUTPUT_LIMIT = 1_000_000
TRUNCATED = "\n… [output truncated by the grader: more than {} characters]\n"


def _launch_kernel(argv: list[str]) -> None:
    import resource

    memory_mb, fsize_mb = int(argv[0]), int(argv[1])
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if fsize_mb > 0:
        limit = fsize_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    from ipykernel.iostream import OutStream
    from ipykernel.kernelapp import IPKernelApp

    # Output is cut inside the kernel too, so a print loop can't fill the kernel's memory
    # with messages waiting to be sent.
    written = {"n": 0}
    original_write = OutStream.write

    def capped_write(self, text):
        if written["n"] > KERNEL_OUTPUT_LIMIT:
            return len(text)
        written["n"] += len(text)
        if written["n"] > KERNEL_OUTPUT_LIMIT:
            original_write(self, text[: max(len(text) - (written["n"] - KERNEL_OUTPUT_LIMIT), 0)])
            original_write(self, TRUNCATED.format(KERNEL_OUTPUT_LIMIT))
            return len(text)
        return original_write(self, text)

    OutStream.write = capped_write
    app = IPKernelApp.instance()
    app.initialize(argv[2:])
    app.shell.events.register("pre_run_cell", lambda *args: written.update(n=0))
    app.start()


def _error(ename: str, evalue: str):
    from nbformat.v4 import new_output

    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _death_reason(km) -> str:
    process = getattr(getattr(km, "provisioner", None), "process", None)
    code = process.poll() if process is not None else None
    if code is None:
        return "the kernel died"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = {"SIGSEGV": " (a segmentation fault, e.g. a crash in C code)",
                "SIGKILL": " (killed, usually for using too much memory)",
                "SIGABRT": " (aborted, e.g. memory exhausted inside C code)"}.get(name, "")
        return f"the kernel was killed by {name}{hint}"
    return f"the kernel exited with status {code} (e.g. os._exit() or a fatal error)"


def run_job(job: dict, nb_json: str, announce=lambda pid: None) -> tuple[dict, str]:
    import nbformat
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    import shutil
    import tempfile

    nb = nbformat.reads(nb_json, as_version=4)
    job_dir = Path(tempfile.mkdtemp(prefix="tito-sandbox-"))
    work = job_dir / "work"
    home = job_dir / "home"
    for folder in (work, home):
        folder.mkdir(parents=True, exist_ok=True)
    cell_timeout = float(job["cell_timeout"])
    deadline = time.monotonic() + float(job["wall_clock"])

    class SandboxKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            return [sys.executable, "-m", "tito.core.sandbox", "--kernel", str(job["memory_mb"]),
                    str(job.get("fsize_mb", 64)), "-f", os.path.realpath(self.connection_file)]

    class LimitedClient(NotebookClient):
        def output(self, outs, msg, display_id, cell_index):
            used = sum(len(o.get("text", "")) + len(json.dumps(o.get("data", {}))) for o in outs)
            if used > OUTPUT_LIMIT:
                return None
            out = super().output(outs, msg, display_id, cell_index)
            if out is not None and used + len(out.get("text", "")) > OUTPUT_LIMIT and "text" in out:
                out["text"] = out["text"][: max(OUTPUT_LIMIT - used, 0)] + TRUNCATED.format(OUTPUT_LIMIT)
            elif out is not None and "data" in out and used + len(json.dumps(out["data"])) > OUTPUT_LIMIT:
                outs[-1] = nbformat.v4.new_output("stream", name="stdout",
                                                  text=TRUNCATED.format(OUTPUT_LIMIT))
            return out

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TINYTORCH_ROOT", "JPY_", "NBGRADER"))}
    env.update(HOME=str(home), IPYTHONDIR=str(home / ".ipython"), MPLCONFIGDIR=str(home / "mpl"),
               MPLBACKEND="Agg", TINYTORCH_GRADING="1", NBGRADER_EXECUTION="autograde",
               OPENBLAS_NUM_THREADS="1", MALLOC_ARENA_MAX="2", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
    km = SandboxKernelManager(kernel_name="python3")
    client = LimitedClient(nb, km=km, timeout=max(1, int(cell_timeout)), allow_errors=True,
                           interrupt_on_timeout=True, iopub_timeout=2, shutdown_kernel="immediate",
                           error_on_timeout={"ename": "CellTimeout",
                                             "evalue": f"this cell ran longer than {cell_timeout:g} s and was stopped",
                                             "traceback": []},
                           resources={"metadata": {"path": str(work)}}, record_timing=False)
    status = {"executed": 0, "timeouts": [], "died": None}

    def on_executed(cell, cell_index, execute_reply):
        content = (execute_reply or {}).get("content", {})
        if content.get("ename") == "CellTimeout":
            cell.outputs.append(_error("CellTimeout", content["evalue"]))

    client.on_cell_executed = on_executed
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]

    def take_down(start: int, reason: str) -> None:
        status["died"] = reason
        for j in code_cells:
            if j >= start:
                nb.cells[j].outputs.append(_error("KernelDied", f"not graded: {reason}"))

    try:
        with client.setup_kernel(env=env, cwd=str(work)):
            announce(getattr(getattr(km, "provisioner", None), "pid", None))
            for i in code_cells:
                cell = nb.cells[i]
                if time.monotonic() > deadline:
                    take_down(i, f"the whole notebook exceeded its time limit of {job['wall_clock']:g} s")
                    break
                try:
                    client.execute_cell(cell, i)
                except DeadKernelError:
                    cell.outputs = [o for o in cell.outputs if o.get("output_type") != "error"]
                    take_down(i, _death_reason(km))
                    break
                except CellTimeoutError:
                    take_down(i, f"cell {i} timed out and the kernel did not recover")
                    break
                status["executed"] += 1
                if any(o.get("ename") == "CellTimeout" for o in cell.outputs if o.get("output_type") == "error"):
                    status["timeouts"].append(i)
                    if not _responsive(client, km):
                        take_down(i + 1, f"the kernel stopped answering after cell {i} timed out "
                                         "(it ignored the interrupt) and was shut down")
                        break
    except DeadKernelError:
        if status["died"] is None:
            take_down(0, "the kernel could not start or died at once")
    except Exception as exc:  # kernel start failures and the like: report, don't crash
        if status["died"] is None:
            take_down(0, f"the kernel could not run: {type(exc).__name__}: {exc}")
    finally_text = nbformat.writes(nb)
    shutil.rmtree(job_dir, ignore_errors=True)
    return status, finally_text


def _responsive(client, km, wait: float = 3.0) -> bool:
    """After an interrupt: does the kernel run a trivial request within `wait` seconds?"""
    from nbformat.v4 import new_code_cell

    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    probe = new_code_cell("pass")
    saved = client.timeout, client.error_on_timeout, client.interrupt_on_timeout
    client.timeout, client.error_on_timeout, client.interrupt_on_timeout = wait, None, False
    try:
        client.nb.cells.append(probe)
        client.execute_cell(probe, len(client.nb.cells) - 1, store_history=False)
        return True
    except (CellTimeoutError, DeadKernelError):
        return False
    finally:
        client.nb.cells.pop()
        client.timeout, client.error_on_timeout, client.interrupt_on_timeout = saved


def serve() -> None:
    """Worker loop: one JSON job per stdin line, JSON answers on stdout (see the module docstring).
    Imports are paid once per worker, not once per submission."""
    def say(message: dict) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    for line in sys.stdin:
        request = json.loads(line)
        try:
            status, text = run_job(request["job"], request["nb"], lambda pid: say({"kernel": pid}))
        except Exception as exc:  # report it for this job; the worker keeps serving
            status, text = {"executed": 0, "timeouts": [], "died": None,
                            "error": f"{type(exc).__name__}: {exc}"}, None
        say({"status": status, "nb": text})


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--kernel":
        _launch_kernel(sys.argv[2:])
    else:
        serve()
