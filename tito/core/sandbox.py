"""Execute submissions in isolation: `python -m tito.core.sandbox --serve` (a grading worker).

The grader keeps N workers; each reads one job per stdin line (JSON: the notebook to run, the
per-cell timeout, the whole-notebook wall clock, the memory cap) and answers on stdout: first
`{"kernel": PID}`, then `{"status": ..., "nb": ...}` with the executed notebook (outputs
truncated). Nothing goes through files, so a submission can't tamper with another's input or
result, and workers never open the gradebook. Each run's kernel starts in a fresh folder
`/tmp/tito-sandbox-XXXX/run-N/` (work, home, tmp, runtime with its connection file), removed
afterwards, with RLIMIT_AS (memory) and RLIMIT_FSIZE (file size) set in the kernel's own process,
HOME/IPYTHONDIR/TMPDIR inside that folder, and one BLAS thread.

File-system isolation (Linux Landlock, tito/core/landlock.py): before ipykernel starts, the kernel
process restricts itself to reading the Python installation, sys.path, the system folders and the
`tinytorch` package folder, and to writing only its own run folder and /dev/null-like devices. The
course directory (gradebook, other submissions), the repository (module sources with hidden tests)
and other kernels' folders can't be opened, not even by absolute path. Where Landlock is missing
the job still runs and its status says why isolation is partial (`TITO_SANDBOX_LANDLOCK=0` turns
it off, to exercise that path).

Every code cell ends with a verdict. Cells that ran keep their outputs. A cell that exceeds the
per-cell timeout gets a `CellTimeout` error (the kernel is interrupted and, when it answers,
grading goes on). When the kernel dies in a cell (`os._exit`, a segfault, the memory cap) or stops
answering, the reason is recorded and the notebook is re-run from the top in a fresh kernel with
every cell that killed a kernel so far skipped (its output is a `KernelDied` error naming the
reason): that cell scores zero, cells that need it fail on their own, the rest are graded. After
MAX_DEATHS deaths, or past the whole-notebook wall clock, the cell and every later one get a
`KernelDied` error instead.

`python -m tito.core.sandbox --kernel MEMORY_MB FSIZE_MB ISOLATION_JSON -f CONNECTION_FILE` is the
kernel launcher.
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


SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/etc", "/sys",
               "/var/cache/fontconfig", "/nix/store")
# Beneath the system folders, what a submission has no business reading (password hashes, sudo
# rules, host keys, TLS private keys): their folders are allowed entry by entry without these.
SYSTEM_SECRETS = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers",
                  "/etc/sudoers.d", "/etc/ssh", "/etc/ssl/private", "/etc/security/opasswd")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
MAX_DEATHS = 3                 # kernel deaths per notebook before grading stops re-running it


def _within(path: Path, other: Path) -> bool:
    return path == other or other in path.parents


def _without_secrets(folder: Path, secrets: tuple[Path, ...]) -> list[Path]:
    """`folder` itself, or -- when a secret lies beneath it -- its entries minus the secrets."""
    inside = tuple(s for s in secrets if _within(s, folder))
    if not inside:
        return [folder]
    if folder in inside or not folder.is_dir() or folder.is_symlink():
        return []
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return []
    return [path for child in children for path in _without_secrets(child, inside)]


def _proc_read() -> list[str]:
    """/proc without other processes' folders (their environment, command line, open files):
    the system-wide entries and this process's own /proc/<pid>."""
    proc, own = Path("/proc"), str(os.getpid())
    try:
        return [str(p) for p in proc.iterdir() if not p.name.isdigit() or p.name == own]
    except OSError:
        return []


def _system_read() -> list[str]:
    secrets = tuple(Path(s) for s in SYSTEM_SECRETS)
    return [str(p) for folder in SYSTEM_READ for p in _without_secrets(Path(folder), secrets)] + _proc_read()


def _read_paths(protect: list[str]) -> tuple[list[Path], list[str]]:
    """What a Python kernel must read: the interpreter, its site-packages, every sys.path entry,
    the system folders and the `tinytorch` package folder (exactly that folder when it is an
    editable install in a repository). A path that contains a protected one is left out (or, for
    the interpreter itself, kept and reported); so is one inside a protected path, unless it is
    part of the Python installation (a virtual environment inside the repository)."""
    import importlib.util
    import site

    prefixes = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    protected = [Path(p).resolve() for p in protect]
    spec = importlib.util.find_spec("tinytorch")
    packages = [Path(p).resolve() for p in (spec.submodule_search_locations or [])] if spec else []
    for folder in packages:     # an editable install: the package folder, never the repository
        if not any(_within(folder, prefix) for prefix in prefixes):
            protected.append(folder.parent)
    paths, partial = [], []
    for prefix in prefixes:
        paths.append(prefix)
        hit = [str(p) for p in protected if _within(p, prefix)]
        if hit:
            partial.append(f"the Python installation {prefix} contains {', '.join(hit)}")
    user_site = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    for entry in [*site.getsitepackages(), *([user_site] if user_site else []), *sys.path, *_system_read()]:
        if not entry:
            continue
        path = Path(entry).resolve()
        inside_python = any(_within(path, prefix) for prefix in prefixes)
        if not any(_within(p, path) or (_within(path, p) and not inside_python) for p in protected):
            paths.append(path)
    return paths + packages, partial


def _kernel_ports(kernel_args: list[str]) -> list[int] | None:
    """The TCP ports this kernel binds, from its connection file (`-f FILE`); None if not TCP."""
    try:
        info = json.loads(Path(kernel_args[kernel_args.index("-f") + 1]).read_text(encoding="utf-8"))
    except (ValueError, IndexError, OSError):
        return None
    if info.get("transport", "tcp") != "tcp":
        return None
    return [int(info[key]) for key in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
            if info.get(key)]


def _isolate(spec: dict, ports: list[int] | None = None) -> dict:
    """Landlock this (kernel) process: read-only what Python needs, read-write only this run's
    folder, and (ABI ≥ 4) TCP only for binding the kernel's own ports -- no outgoing connections.
    The result is written to `<dir>/isolation.json`."""
    from tito.core import landlock

    run_dir = Path(spec["dir"])
    result = {"landlock": 0, "partial": None}
    if not spec.get("landlock", True):
        result["partial"] = "Landlock switched off (TITO_SANDBOX_LANDLOCK=0)"
    else:
        read, partial = _read_paths(spec.get("protect", []))
        try:
            result["landlock"] = landlock.restrict(read=read, write=[run_dir], devices=DEVICES, bind_ports=ports)
            result["partial"] = "; ".join(partial) or None
        except landlock.Unavailable as err:
            result["partial"] = str(err)
    (run_dir / "isolation.json").write_text(json.dumps(result), encoding="utf-8")
    return result


def _launch_kernel(argv: list[str]) -> None:
    import resource

    memory_mb, fsize_mb = int(argv[0]), int(argv[1])
    # before ipykernel is imported: no other thread exists yet
    _isolate(json.loads(argv[2]), ports=_kernel_ports(argv[3:]))
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
    app.initialize(argv[3:])
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


def _label(cell, number: int) -> str:
    """How a student finds the cell: its grade_id, or its first line."""
    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "empty")
    return f"code cell {number} ({gid})" if gid else f"code cell {number} (`{first[:60]}`)"


def run_job(job: dict, nb_json: str, announce=lambda pid: None) -> tuple[dict, str]:
    """Execute the notebook. When a cell kills the kernel, the notebook is re-run from the top in
    a fresh kernel (and a fresh folder) with every cell that killed a kernel so far skipped, at
    most MAX_DEATHS times and within the whole-notebook wall clock."""
    import shutil
    import tempfile

    import nbformat

    nb = nbformat.reads(nb_json, as_version=4)
    job_dir = Path(tempfile.mkdtemp(prefix="tito-sandbox-"))
    deadline = time.monotonic() + float(job["wall_clock"])
    status = {"executed": 0, "timeouts": [], "died": None, "deaths": [], "isolation": None}
    killers: dict[int, str] = {}
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    try:
        for attempt in range(MAX_DEATHS + 1):
            death = _run_once(job, nb, job_dir / f"run-{attempt}", killers, deadline, status, announce)
            if death is None:
                break
            index, reason = death
            status["deaths"].append({"cell": index, "label": _label(nb.cells[index], code_cells.index(index) + 1),
                                     "reason": reason})
            if len(status["deaths"]) >= MAX_DEATHS or time.monotonic() > deadline:
                _take_down(nb, code_cells, index, reason, status)
                break
            killers[index] = reason
    finally:
        shutil.rmtree(job_dir, ignore_errors=True)
    return status, nbformat.writes(nb)


def _take_down(nb, code_cells, start: int, reason: str, status: dict) -> None:
    """Grading stops: this cell and every later one get a KernelDied error (they score zero)."""
    status["died"] = reason
    for j in code_cells:
        if j >= start:
            nb.cells[j].outputs = [o for o in nb.cells[j].outputs if o.get("output_type") != "error"]
            nb.cells[j].outputs.append(_error("KernelDied", f"not graded: {reason}"))


def _run_once(job, nb, run_dir: Path, killers: dict, deadline: float, status: dict, announce):
    """One run of the notebook in a fresh kernel; returns (cell index, reason) when the kernel died
    (or hung) in a cell, else None."""
    import nbformat
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    work, home, tmp, runtime = (run_dir / name for name in ("work", "home", "tmp", "runtime"))
    for folder in (work, home, tmp, runtime):
        folder.mkdir(parents=True, exist_ok=True)
    cell_timeout = float(job["cell_timeout"])
    isolation = json.dumps({"dir": str(run_dir), "protect": job.get("protect", []),
                            "landlock": os.environ.get("TITO_SANDBOX_LANDLOCK", "1") != "0"})

    class SandboxKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            return [sys.executable, "-m", "tito.core.sandbox", "--kernel", str(job["memory_mb"]),
                    str(job.get("fsize_mb", 64)), isolation, "-f", os.path.realpath(self.connection_file)]

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
           if not k.startswith(("TINYTORCH_ROOT", "JPY_", "NBGRADER", "JUPYTER"))}
    env.update(HOME=str(home), IPYTHONDIR=str(home / ".ipython"), MPLCONFIGDIR=str(home / "mpl"),
               TMPDIR=str(tmp), JUPYTER_RUNTIME_DIR=str(runtime), XDG_CACHE_HOME=str(home / ".cache"),
               MPLBACKEND="Agg", TINYTORCH_GRADING="1", NBGRADER_EXECUTION="autograde",
               OPENBLAS_NUM_THREADS="1", MALLOC_ARENA_MAX="2", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
    # the connection file (the kernel's key) lives in this run's folder, unreadable to other kernels
    km = SandboxKernelManager(kernel_name="python3", connection_file=str(runtime / "kernel.json"))
    client = LimitedClient(nb, km=km, timeout=max(1, int(cell_timeout)), allow_errors=True,
                           interrupt_on_timeout=True, iopub_timeout=2, shutdown_kernel="immediate",
                           error_on_timeout={"ename": "CellTimeout",
                                             "evalue": f"this cell ran longer than {cell_timeout:g} s and was stopped",
                                             "traceback": []},
                           resources={"metadata": {"path": str(work)}}, record_timing=False)
    status.update(executed=0, timeouts=[])

    def on_executed(cell, cell_index, execute_reply):
        content = (execute_reply or {}).get("content", {})
        if content.get("ename") == "CellTimeout":
            cell.outputs.append(_error("CellTimeout", content["evalue"]))

    client.on_cell_executed = on_executed
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for i in code_cells:
        nb.cells[i].outputs, nb.cells[i].execution_count = [], None
    current, death = None, None
    try:
        with client.setup_kernel(env=env, cwd=str(work)):
            announce(getattr(getattr(km, "provisioner", None), "pid", None))
            try:
                status["isolation"] = json.loads((run_dir / "isolation.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                status["isolation"] = {"landlock": 0, "partial": "the kernel did not report its isolation"}
            for i in code_cells:
                cell = nb.cells[i]
                if i in killers:
                    cell.outputs = [_error("KernelDied", f"not run: in an earlier run this cell killed the kernel "
                                                         f"({killers[i]}), so the notebook was re-run without it")]
                    continue
                if time.monotonic() > deadline:
                    _take_down(nb, code_cells, i, "the whole notebook exceeded its time limit of "
                                                  f"{job['wall_clock']:g} s", status)
                    break
                current = i
                try:
                    client.execute_cell(cell, i)
                except DeadKernelError:
                    cell.outputs = [o for o in cell.outputs if o.get("output_type") != "error"]
                    death = i, _death_reason(km)
                    break
                except CellTimeoutError:
                    death = i, "it timed out and the kernel did not recover"
                    break
                status["executed"] += 1
                if any(o.get("ename") == "CellTimeout" for o in cell.outputs if o.get("output_type") == "error"):
                    status["timeouts"].append(i)
                    if not _responsive(client, km):
                        death = i, "it ran longer than the time limit, ignored the interrupt and the kernel was shut down"
                        break
            current = None
    except DeadKernelError:
        if death is None and current is not None:
            death = current, _death_reason(km)
        elif death is None and status["died"] is None:
            _take_down(nb, code_cells, 0, "the kernel could not start or died at once", status)
    except Exception as exc:  # kernel start failures and the like: report, don't crash
        if death is None and status["died"] is None:
            _take_down(nb, code_cells, current or 0, f"the kernel could not run: {type(exc).__name__}: {exc}", status)
    return death


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
