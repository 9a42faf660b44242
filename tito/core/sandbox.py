"""Grade submissions in isolation: `python -m tito.core.sandbox --serve` (a grading worker).

The grader keeps N workers; each reads one job per stdin line (JSON: the rebuilt notebook, the
per-cell timeout, the whole-notebook wall clock, the limits, the source's library imports) and
answers on stdout: first `{"kernel": PID}`, then `{"status": ..., "nb": ...}` with the executed
notebook. Nothing goes through files, and workers never open the gradebook.

A worker is the *judge* (tito/core/judge.py): at start it imports NumPy and `tinytorch` and forks
a zygote (tito/core/zygote.py) before reading any job. Per run, the zygote forks a contained
student process (cgroup, PID/mount/network namespaces, tmpfs scratch folder, rlimits, scrubbed
environment, Landlock, no capabilities) that executes the submission's own cells
(tito/core/student.py); the judge executes every graded test cell itself, reaching student
objects only through proxies, and writes every test cell's outputs: a test passes iff it ran to
the end in the judge. Student output is captured per cell and truncated.

A test cell past its time limit, or a cell that kills the student process (`os._exit`, a
segfault, the memory cap), gets an error; the notebook is then re-run from the top in a fresh
student process with every such cell skipped (a `KernelDied`/`CellTimeout` error naming the
reason), at most MAX_DEATHS deaths; after that, or past the wall clock, the cell and every later
one get a `KernelDied` error. `grade_submission` grades one notebook from bytes, for callers that
share no files with the grader.

Landlock helpers (`_read_paths`, `_isolate`) are shared with tests/test_landlock.py; without
Landlock the job still runs and its status says why isolation is partial
(`TITO_SANDBOX_LANDLOCK=0` turns it off, `TITO_SANDBOX_CONTAIN=0` the root-only containment).
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path



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



# ---- grading one notebook: the student process runs its cells, the judge runs the tests ------
def is_test(cell) -> bool:
    """A graded cell that is not an answer: it runs in the judge, never in the student process."""
    meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell.get("metadata"), dict) else {}
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def trusted_imports(nb) -> list[str]:
    """The top-level imports of a (source) notebook's cells other than `tinytorch` ones, e.g.
    `import numpy as np`: tests see the grader's own copy of those names, whatever a submission
    binds them to."""
    import ast

    found = ["import numpy as np"]
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                names = [a for a in node.names if a.name.split(".")[0] != "tinytorch"]
                if names:
                    found.append(ast.unparse(ast.Import(names=names)))
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                    and node.module.split(".")[0] != "tinytorch" and not any(a.name == "*" for a in node.names):
                found.append(ast.unparse(node))
    return list(dict.fromkeys(found))


STUDENT_ENV = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "MPLBACKEND": "Agg", "TINYTORCH_GRADING": "1",
               "NBGRADER_EXECUTION": "autograde", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0", "MALLOC_ARENA_MAX": "2"}


def worker_env() -> dict:
    """The grading worker's whole environment: a fixed allow-list, so no secret of the grader's
    (API tokens, credentials) is in the worker or anything forked from it."""
    keep = {k: v for k, v in os.environ.items()
            if k in ("PATH", "PYTHONPATH", "TZ", "TITO_SANDBOX_LANDLOCK", "TITO_SANDBOX_CONTAIN")}
    return {**keep, **STUDENT_ENV, "HOME": "/nonexistent"}


def _error(ename: str, evalue: str, traceback=None):
    from nbformat.v4 import new_output

    return new_output("error", ename=ename, evalue=evalue, traceback=traceback or [f"{ename}: {evalue}"])


def _stream(text: str, name: str = "stdout"):
    from nbformat.v4 import new_output

    return new_output("stream", name=name, text=text)


def _label(cell, number: int) -> str:
    """How a student finds the cell: its grade_id, or its first line."""
    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "empty")
    return f"code cell {number} ({gid})" if gid else f"code cell {number} (`{first[:60]}`)"


class Engine:
    """What one worker keeps between submissions: the zygote, and whether it may use root-only
    containment (cgroups, namespaces, tmpfs, another uid)."""

    def __init__(self):
        from tito.core import zygote

        self.root = os.geteuid() == 0 and os.environ.get("TITO_SANDBOX_CONTAIN", "1") != "0" \
            and sys.platform.startswith("linux")
        if self.root:
            try:        # tmpfs scratch folders live in this worker's own mount namespace
                zygote.unshare(zygote.CLONE_NEWNS)
                zygote.mount(None, "/", None, zygote.MS_REC | zygote.MS_PRIVATE)
            except OSError:
                self.root = False
        import importlib.util

        if self.root:
            from tito.core import cgroup

            cgroup.sweep()
        zygote.preload()
        spec = importlib.util.find_spec("tinytorch")
        folders = [sys.prefix, sys.base_prefix, *(spec.submodule_search_locations or [] if spec else [])]
        # another uid only where it can still read Python; otherwise root without capabilities
        self.uid = 200_000 + os.getpid() if self.root and zygote.readable_by_others(folders) else 0
        self.zygote = zygote.Zygote()
        self.runs = 0

    def close(self):
        self.zygote.close()


def run_job(job: dict, nb_json: str, announce=lambda pid: None, engine: Engine | None = None) -> tuple[dict, str]:
    """Grade one (rebuilt) notebook. When the student process dies in a cell (`os._exit`, a
    segfault, the memory cap) or a cell runs past its time limit, the notebook is re-run from the
    top in a fresh student process with every such cell skipped, at most MAX_DEATHS deaths and
    MAX_TIMEOUTS timeouts, within the whole-notebook wall clock."""
    import shutil
    import tempfile

    import nbformat

    own = engine is None
    engine = engine or Engine()
    nb = nbformat.reads(nb_json, as_version=4)
    job_dir = Path(tempfile.mkdtemp(prefix="tito-sandbox-"))
    os.chmod(job_dir, 0o711)
    deadline = time.monotonic() + float(job["wall_clock"])
    status = {"executed": 0, "timeouts": [], "died": None, "deaths": [], "isolation": None}
    killers: dict[int, tuple[str, str]] = {}
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    try:
        for attempt in range(MAX_DEATHS + MAX_TIMEOUTS + 1):
            stop = _run_once(job, nb, job_dir / f"run-{attempt}", killers, deadline, status, announce, engine)
            if stop is None:
                break
            kind, index, reason = stop
            if kind == "timeout":
                status["timeouts"].append(index)
                killers[index] = (kind, reason)
                if len(status["timeouts"]) > MAX_TIMEOUTS or time.monotonic() > deadline:
                    _take_down(nb, code_cells, index, reason, status)
                    break
                continue
            status["deaths"].append({"cell": index, "label": _label(nb.cells[index], code_cells.index(index) + 1),
                                     "reason": reason})
            if len(status["deaths"]) >= MAX_DEATHS or time.monotonic() > deadline:
                _take_down(nb, code_cells, index, reason, status)
                break
            killers[index] = (kind, reason)
    finally:
        shutil.rmtree(job_dir, ignore_errors=True)
        if own:
            engine.close()
    return status, nbformat.writes(nb)


MAX_TIMEOUTS = 5


def _take_down(nb, code_cells, start: int, reason: str, status: dict) -> None:
    """Grading stops: this cell and every later one get a KernelDied error (they score zero)."""
    status["died"] = reason
    for j in code_cells:
        if j >= start:
            nb.cells[j].outputs = [o for o in nb.cells[j].outputs if o.get("output_type") != "error"]
            nb.cells[j].outputs.append(_error("KernelDied", f"not graded: {reason}"))


def _prepare(run_dir: Path, job: dict, engine: Engine, uid: int):
    """The run's scratch folder (a size- and inode-limited tmpfs as root) and its cgroup."""
    from tito.core import cgroup, zygote

    run_dir.mkdir(parents=True)
    mounted, group, partial = False, None, []
    if engine.root:
        disk_mb, inodes = int(job.get("disk_mb", 256)), int(job.get("inodes", 4096))
        try:
            zygote.mount("tmpfs", run_dir, "tmpfs", zygote.MS_NOSUID | zygote.MS_NODEV,
                         f"size={disk_mb}m,nr_inodes={inodes},mode=0700,uid={uid},gid={uid}")
            mounted = True
        except OSError as err:
            partial.append(f"scratch folder not size-limited ({err.strerror})")
        group, why = cgroup.Group.create(f"tito-{os.getpid()}-{engine.runs}", int(job.get("pids", 64)),
                                         int(job.get("memory_mb", 2048)) * 2**20)
        if group is None:
            partial.append(f"no cgroup ({why}): limits are per process only")
    else:
        partial.append("not root: no cgroup, PID namespace or size-limited scratch folder; "
                       "processes are limited per process and killed by process group")
    for name in ("work", "home", "tmp"):
        (run_dir / name).mkdir()
        if engine.root and uid:
            os.chown(run_dir / name, uid, uid)
    if engine.root and uid:
        os.chown(run_dir, uid, uid)
    return mounted, group, partial


def _run_once(job, nb, run_dir: Path, killers: dict, deadline: float, status: dict, announce, engine: Engine):
    """One run of the notebook in a fresh student process; returns (kind, cell index, reason)
    when it died ("death") or a cell ran out of time ("timeout"), else None."""
    from tito.core import judge as judging
    from tito.core import zygote

    engine.runs += 1
    uid = engine.uid
    mounted, group, partial = _prepare(run_dir, job, engine, uid)
    cell_timeout = float(job["cell_timeout"])
    limits = {"dir": str(run_dir), "protect": job.get("protect", []), "uid": uid,
              "landlock": os.environ.get("TITO_SANDBOX_LANDLOCK", "1") != "0",
              "namespaces": engine.root, "cgroup_procs": group.procs_files if group else [],
              "memory_mb": int(job.get("memory_mb", 0)), "fsize_mb": int(job.get("fsize_mb", 64)),
              "cpu_s": int(float(job["wall_clock"])) + 1, "nproc": int(job.get("pids", 64)) if engine.root else 0,
              "env": {**STUDENT_ENV, "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
                      "HOME": str(run_dir / "home"), "TMPDIR": str(run_dir / "tmp"),
                      "MPLCONFIGDIR": str(run_dir / "home" / "mpl"), "XDG_CACHE_HOME": str(run_dir / "home" / ".cache")}}
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for i in code_cells:
        nb.cells[i].outputs, nb.cells[i].execution_count = [], None
    status["executed"] = 0
    student = None
    stop = None
    try:
        try:
            student = engine.zygote.spawn(limits)
        except OSError as err:
            _take_down(nb, code_cells, 0, f"the kernel could not start: {err}", status)
            return None
        announce(student.pid)
        judge = judging.Judge(student.sock, student.out_fd)
        judge.deadline = time.monotonic() + 60
        try:
            hello = judge._receive()
            isolation = hello["ready"]
        except (judging.StudentDied, judging.StudentTimeout, KeyError, TypeError):
            said = judge.take_output().strip().splitlines()
            _take_down(nb, code_cells, 0, f"the kernel could not start or died at once ({student.reason()}"
                                          + (f": {said[-1]}" if said else "") + ")", status)
            return None
        contained = isolation.setdefault("containment", {})
        contained["partial"] = "; ".join(p for p in [*partial, contained.get("partial")] if p) or None
        contained["cgroup"] = group.kind if group else None
        contained["tmpfs"] = mounted
        status["isolation"] = isolation
        runner = judging.TestRunner(judge, job.get("imports", ["import numpy as np"]))
        tempfile_dir = str(run_dir / "tmp")
        number = 0
        for i in code_cells:
            cell = nb.cells[i]
            number += 1
            if i in killers:
                kind, reason = killers[i]
                cell.outputs = [_error("CellTimeout", reason) if kind == "timeout" else
                                _error("KernelDied", f"not run: in an earlier run this cell killed the kernel "
                                                     f"({reason}), so the notebook was re-run without it")]
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _take_down(nb, code_cells, i, "the whole notebook exceeded its time limit of "
                                              f"{float(job['wall_clock']):g} s", status)
                break
            cell.execution_count = number
            limit = min(cell_timeout, remaining)
            try:
                if is_test(cell):
                    gid = cell.metadata.get("nbgrader", {}).get("grade_id", "test")
                    filename = f"<test cell {gid}>"
                    with _tempdir(tempfile_dir):
                        printed, failure = runner.run(cell.source, filename, limit)
                    if printed:
                        cell.outputs.append(_stream(printed))
                    _student_output(cell, judge)
                    if failure is not None:
                        ename, evalue, tb = judging.format_failure(failure, filename)
                        cell.outputs.append(_error(ename, evalue, tb))
                else:
                    judge.deadline = time.monotonic() + limit
                    try:
                        changed = judge.call("exec", cell.source, f"<cell {number}>")
                        runner.forget(changed if isinstance(changed, list) else [])
                        _student_output(cell, judge)
                    except (judging.StudentDied, judging.StudentTimeout):
                        raise
                    except Exception as exc:
                        runner.forget(getattr(exc, "changed", []))
                        _student_output(cell, judge)
                        tb = list(getattr(exc, "student_traceback", []) or [])
                        ename = getattr(exc, "remote_type", type(exc).__name__)
                        cell.outputs.append(_error(ename, str(exc), tb or None))
                    finally:
                        judge.deadline = None
            except judging.StudentTimeout:
                _student_output(cell, judge)
                reason = f"this cell ran longer than {cell_timeout:g} s and was stopped"
                cell.outputs.append(_error("CellTimeout", reason))
                stop = ("timeout", i, reason)
                break
            except judging.StudentDied:
                _student_output(cell, judge)
                student.kill()
                cell.outputs = [o for o in cell.outputs if o.get("output_type") != "error"]
                stop = ("death", i, student.reason())
                break
            status["executed"] += 1
    finally:
        if student is not None:
            student.close()
        if group is not None:
            group.kill()
            group.remove()
        if mounted:
            zygote.umount(run_dir)
    return stop


@contextlib.contextmanager
def _tempdir(path: str):
    """Temporary files a test makes go to the student's scratch folder, where both sides see them."""
    import tempfile

    saved = tempfile.tempdir
    tempfile.tempdir = path
    try:
        yield
    finally:
        tempfile.tempdir = saved


def _student_output(cell, judge) -> None:
    text = judge.take_output()
    if text:
        cell.outputs.append(_stream(text))


def grade_submission(submission: bytes, graded_cells: list[dict], limits: dict | None = None,
                     imports: list[str] | None = None) -> dict:
    """Grade one submission from bytes, sharing no file with the caller (e.g. a Dask task).

    `graded_cells` are the source notebook's nbgrader cells (dicts as in the .ipynb, with
    `metadata.nbgrader`): locked and graded ones replace the submission's, missing ones are
    inserted. `limits` as a job (cell_timeout, wall_clock, memory_mb, fsize_mb, pids, disk_mb).
    Returns {"cells": [{"grade_id", "points", "score", "error"}], "status": ..., "notebook": JSON text}.
    """
    import nbformat

    from tito.core.autograde import _read_notebook, rebuild

    import tempfile

    path = Path(tempfile.mkdtemp(prefix="tito-submission-")) / "submission.ipynb"
    try:
        path.write_bytes(submission)
        nb = _read_notebook(path)
    finally:
        import shutil

        shutil.rmtree(path.parent, ignore_errors=True)
    source = nbformat.v4.new_notebook(cells=[nbformat.from_dict(c) for c in graded_cells])
    nb, notes = rebuild(nb, source, source)
    job = {"cell_timeout": 30, "wall_clock": 600, "memory_mb": 2048, "fsize_mb": 64, **(limits or {})}
    job["imports"] = imports or trusted_imports(source)
    from tito.core.autograde import Worker

    worker = Worker()            # a fresh worker: the caller's environment and mounts stay its own
    try:
        answer = worker.run(job, nb, float(job["wall_clock"]) + 60)
    finally:
        worker.close()
    if not answer or not answer.get("nb"):
        raise RuntimeError(f"the grading worker failed: {(answer or {}).get('status', {}).get('error', 'it hung or crashed')}")
    status, text = answer["status"], answer["nb"]
    executed = nbformat.reads(text, as_version=4)
    cells = []
    for cell in executed.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if is_test(cell):
            errors = [o for o in cell.outputs if o.get("output_type") == "error"]
            points = float(meta.get("points", 0))
            cells.append({"grade_id": meta.get("grade_id"), "points": points, "score": 0.0 if errors else points,
                          "error": f"{errors[0].get('ename')}: {errors[0].get('evalue')}" if errors else None})
    return {"cells": cells, "status": status, "notes": notes, "notebook": text}


def serve() -> None:
    """Worker loop: one JSON job per stdin line, JSON answers on stdout (see the module docstring).
    The zygote is forked before the first job is read."""
    def say(message: dict) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    engine = Engine()
    try:
        for line in sys.stdin:
            request = json.loads(line)
            try:
                status, text = run_job(request["job"], request["nb"], lambda pid: say({"kernel": pid}), engine)
            except Exception as exc:  # report it for this job; the worker keeps serving
                status, text = {"executed": 0, "timeouts": [], "died": None,
                                "error": f"{type(exc).__name__}: {exc}"}, None
            say({"status": status, "nb": text})
    finally:
        engine.close()


if __name__ == "__main__":
    serve()
