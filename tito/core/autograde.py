"""Sandboxed, parallel autograding on nbgrader's gradebook.

For each collected submission `submitted/<student>/<slug>/<nb>.ipynb`, in the parent process:

1. read it (a file that is not a notebook fails for that student alone);
2. rebuild it against the assignment: every locked or graded cell is taken from the source
   notebook — edited ones are restored (as nbgrader's OverwriteCells does, which also runs) and
   deleted ones are re-inserted where they belong; a second cell with a `grade_id` already seen
   loses its nbgrader metadata (its code still runs, it earns nothing);
3. execute it in a worker process (`tito.core.sandbox`): the submission's cells run in a
   contained student process forked from a pre-imported zygote, the graded test cells run in the
   worker itself (the judge) against proxies of the student's objects, so no verdict can be
   forged from student code; per-cell timeout, whole-notebook wall clock, limits for the whole
   process tree, a fresh process that skips a cell which killed the previous one; N workers run
   in parallel and never open the gradebook;
4. back in the parent, the only gradebook writer: nbgrader's SaveAutoGrades records the scores,
   and the executed notebook goes to `autograded/`, where `nbgrader generate_feedback` finds it.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_markdown_cell

from tito.core.course import Course, _quiet
from tito.core.registry import Module


@dataclass
class Outcome:
    student: str
    score: float = 0.0
    max_score: float = 0.0
    graded: bool = False            # False: listed as a failure (the gradebook still has a zero)
    reason: str = ""                # why it failed, or what went wrong while it was graded
    notes: list[str] = field(default_factory=list)
    skipped: bool = False           # already graded and not --force
    isolation: dict = field(default_factory=dict)   # from the kernel: {"landlock": ABI or 0, "partial": why or None}


# ---- step 2: rebuild the submission against the assignment ----------------------------------
def _meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _is_protected(cell) -> bool:
    """Locked or graded, and not a student's answer: the grader decides what it says."""
    meta = _meta(cell)
    return bool(meta.get("grade_id")) and (meta.get("locked") or meta.get("grade")) and not meta.get("solution")


def rebuild(submission, source, release) -> tuple[nbformat.NotebookNode, list[str]]:
    """The notebook to execute: the student's cells, with every protected cell restored from the
    source and every missing nbgrader cell re-inserted (answers from the release, i.e. stubs)."""
    notes: list[str] = []
    reference = {(_meta(c).get("grade_id")): c for c in source.cells if _meta(c).get("grade_id")}
    released = {(_meta(c).get("grade_id")): c for c in release.cells if _meta(c).get("grade_id")}
    order = [_meta(c)["grade_id"] for c in source.cells if _meta(c).get("grade_id")]
    # A test cell pasted more than once: the last copy is the one that runs (a copy pasted above
    # the answer would otherwise test code that isn't defined yet).
    last = {}
    for i, cell in enumerate(submission.cells):
        gid = _meta(cell).get("grade_id")
        if isinstance(gid, str) and gid in reference and _is_protected(reference[gid]):
            last[gid] = i
    cells, seen = [], set()
    for i, cell in enumerate(submission.cells):
        gid = _meta(cell).get("grade_id")
        if not isinstance(gid, str) or not gid:
            if "nbgrader" in cell.metadata:        # nbgrader metadata without a usable grade_id
                notes.append("a cell with nbgrader metadata but no grade_id ran as ordinary code")
                cell.metadata.pop("nbgrader", None)
            cells.append(cell)
            continue
        if gid in last and i != last[gid]:
            notes.append(f"a copy of test cell {gid!r} was dropped (the test runs once, where its last copy is)")
            continue
        if gid not in reference:
            notes.append(f"cell {gid!r} is not part of this assignment; it ran ungraded")
            cell.metadata.pop("nbgrader", None)
            cells.append(cell)
            continue
        if gid in seen:
            notes.append(f"a second cell with grade_id {gid!r}: " +
                         ("dropped (the test runs once, from the source)" if _is_protected(reference[gid])
                          else "kept as ordinary code, not graded"))
            if not _is_protected(reference[gid]):
                cell.metadata.pop("nbgrader", None)
                cells.append(cell)
            continue
        seen.add(gid)
        if _is_protected(reference[gid]):
            restored = nbformat.from_dict(json.loads(json.dumps(reference[gid])))
            if restored.source != cell.get("source") and released.get(gid, {}).get("source") != cell.get("source"):
                notes.append(f"locked cell {gid!r} was edited: restored from the source")
            cell = restored
        else:
            cell.metadata["nbgrader"] = json.loads(json.dumps(_meta(reference[gid])))
        cells.append(cell)
    for index, gid in enumerate(order):
        if gid in seen:
            continue
        template = reference[gid] if _is_protected(reference[gid]) else released.get(gid, reference[gid])
        restored = nbformat.from_dict(json.loads(json.dumps(template)))
        position = 0
        for previous in reversed(order[:index]):
            hits = [i for i, c in enumerate(cells) if _meta(c).get("grade_id") == previous]
            if hits:
                position = hits[0] + 1
                break
        cells.insert(position, restored)
        seen.add(gid)
        notes.append(f"cell {gid!r} was missing: re-inserted from the assignment")
    for i, cell in enumerate(cells):
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cell["id"] = f"cell-{i}"
    nb = nbformat.v4.new_notebook(cells=cells, metadata=source.metadata)
    return nb, notes


def _read_notebook(path: Path, limit: int | None = None) -> nbformat.NotebookNode:
    if limit is not None and path.stat().st_size > limit:
        raise ValueError(f"{path.stat().st_size / 2**20:.1f} MiB, over the {limit / 2**20:g} MiB limit "
                         "(settings.ini [grading] max_submission_mb): not read")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"not UTF-8 text (byte {err.start}): not a notebook file") from None
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as err:
        raise ValueError(f"not a valid notebook: {type(err).__name__}: {str(err)[:200]}") from None
    if not isinstance(nb.get("cells"), list):
        raise ValueError("not a valid notebook: no list of cells")
    for cell in nb.cells:
        if cell.get("cell_type") not in ("code", "markdown", "raw") or not isinstance(cell.get("source", ""), str):
            raise ValueError("not a valid notebook: a cell has no type or no source")
        cell.setdefault("metadata", {})
        if not isinstance(cell.metadata, dict):
            cell.metadata = {}
    return nb


# ---- step 3: worker processes ---------------------------------------------------------------
class Worker:
    """One `python -m tito.core.sandbox --serve` process; jobs and results travel over its pipes."""

    def __init__(self, preexec_fn=None):
        self.process = None
        self.preexec_fn = preexec_fn        # run in the new process (it must start a session itself)

    def _start(self) -> None:
        from tito.core.sandbox import worker_env

        # the worker (and every student process forked from it) gets none of the grader's
        # environment variables: an API token of the instructor's is not there to be read
        session = {"preexec_fn": self.preexec_fn} if self.preexec_fn else {"start_new_session": True}
        self.process = subprocess.Popen([sys.executable, "-m", "tito.core.sandbox", "--serve"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True, env=worker_env(), **session)

    def run(self, job: dict, nb: nbformat.NotebookNode, limit: float) -> dict | None:
        """Run one job; None when the worker had to be killed (hung past `limit` or crashed)."""
        if self.process is None or self.process.poll() is not None:
            self._start()
        kernel = None
        deadline = time.monotonic() + limit
        try:
            self.process.stdin.write(json.dumps({"job": job, "nb": nbformat.writes(nb)}) + "\n")
            self.process.stdin.flush()
            while True:
                ready, _, _ = select.select([self.process.stdout], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    break
                line = self.process.stdout.readline()
                if not line:
                    break
                message = json.loads(line)
                if "kernel" in message:
                    kernel = message["kernel"]
                elif "status" in message:
                    return message
        except (BrokenPipeError, OSError, ValueError):
            pass
        if isinstance(kernel, int):
            _kill_group(kernel)
        self._kill()
        return None

    def _kill(self) -> None:
        if self.process is not None:
            _kill_group(self.process.pid)
            self.process.wait()
            self.process = None

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self._kill()
        self.process = None


def _kill_group(pid: int) -> None:
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
            return
        except (ProcessLookupError, PermissionError, OSError):
            continue


# ---- step 4 and the batch ---------------------------------------------------------------------
def _resources(course: Course, module: Module, student: str) -> dict:
    return {"nbgrader": {"db_url": course.db_url, "assignment": module.slug, "student": student,
                         "notebook": module.notebook_name[: -len(".ipynb")]},
            "metadata": {"path": "."}}


def _start_submission(course: Course, module: Module, student: str) -> None:
    """The submission row, as nbgrader's autograde makes it (grades are overwritten after the run)."""
    stamp_file = course.submitted_notebook(module, student).parent / "timestamp.txt"
    timestamp = None
    if stamp_file.is_file():
        try:
            from nbgrader.utils import parse_utc

            timestamp = parse_utc(stamp_file.read_text(encoding="utf-8").strip())
        except Exception:
            timestamp = None
    with course.gradebook() as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")      # SQLAlchemy chatter from inside nbgrader's gradebook
        gb.update_or_create_student(student)
        gb.update_or_create_submission(module.slug, student, **({"timestamp": timestamp} if timestamp else {}))


def _zero(course: Course, module: Module, student: str) -> None:
    """A submission that could not be run: every grade 0, none left for manual grading."""
    _start_submission(course, module, student)
    with course.gradebook() as gb:
        sub = gb.find_submission_notebook(module.notebook_name[:-6], module.slug, student)
        for grade in sub.grades:
            grade.auto_score, grade.needs_manual_grade = 0, False
        gb.db.commit()


def _scores(course: Course, module: Module, student: str) -> tuple[float, float, int]:
    with course.gradebook() as gb:
        sub = gb.find_submission(module.slug, student)
        manual = sum(1 for nb in sub.notebooks for g in nb.grades if g.needs_manual_grade)
        return float(sub.score), float(sub.max_score), manual


def _already_graded(course: Course, module: Module, student: str) -> bool:
    """Graded, and from the submission that is in submitted/ now (as nbgrader does, by comparing
    timestamp.txt): a newer submission collected after grading is graded again."""
    graded = course.autograded_notebook(module, student)
    if not graded.is_file():
        return False
    submitted = course.submitted_notebook(module, student)
    stamps = [p.parent / "timestamp.txt" for p in (submitted, graded)]
    try:
        if stamps[0].read_bytes() != stamps[1].read_bytes():
            return False
    except OSError:
        if stamps[0].is_file() or stamps[1].is_file():
            return False
    try:
        if submitted.stat().st_mtime > graded.stat().st_mtime:
            return False
    except OSError:
        return False
    try:
        with course.gradebook() as gb:
            gb.find_submission(module.slug, student)
        return True
    except Exception:
        return False


def autograde(course: Course, module: Module, students: list[str] | None = None, jobs: int | None = None,
              timeout: float | None = None, force: bool = False, wall_clock: float | None = None,
              progress=None, cluster: str | None = None) -> list[Outcome]:
    """Grade every collected submission of `module` (or just `students`); never raises for a
    bad submission — each gets an Outcome, graded or with the reason it could not be.
    With `cluster` (a Dask scheduler address) the sandboxed runs happen on its workers
    (`tito.core.cluster`); this process still rebuilds the notebooks and writes the gradebook."""
    from nbgrader.preprocessors import CheckCellMetadata, OverwriteCells

    source_path, release_path = course.source_notebook(module), course.release_notebook(module)
    if not source_path.is_file() or not release_path.is_file():
        from tito.core.course import generate

        generate(course, module)
    from tito.core.course import sync_due_date

    sync_due_date(course, module)
    source = nbformat.read(source_path, as_version=4)
    release = nbformat.read(release_path, as_version=4)
    jobs = max(1, int(jobs or course.jobs))
    timeout = float(timeout or course.cell_timeout)
    code_cells = sum(1 for c in source.cells if c.cell_type == "code")
    wall_clock = float(wall_clock or max(60.0, timeout * code_cells + 30.0))

    client = None
    if cluster:             # before anything is written: a scheduler that doesn't answer changes nothing
        from tito.core.cluster import connect

        client = connect(cluster)
    everyone = course.submitted_students(module)
    if students:
        unknown = [s for s in students if s not in everyone]
        chosen = [s for s in everyone if s in students]
    else:
        unknown, chosen = [], everyone
    outcomes: dict[str, Outcome] = {s: Outcome(s, reason="no submission collected for this student")
                                    for s in unknown}
    pending: list[tuple[str, nbformat.NotebookNode]] = []
    protect = sorted({str(p) for p in (course.root, course.root.resolve(), course.directory,
                                          module.source.resolve().parents[3])})
    from tito.core.sandbox import trusted_imports

    job = {"cell_timeout": timeout, "wall_clock": wall_clock, "memory_mb": course.memory_limit_mb, "fsize_mb": 64,
           "protect": protect, "imports": trusted_imports(source), "pids": 64, "disk_mb": 256, "inodes": 4096}
    for student in chosen:
        outcome = outcomes[student] = Outcome(student)
        if not force and _already_graded(course, module, student):
            outcome.score, outcome.max_score, _ = _scores(course, module, student)
            outcome.graded, outcome.skipped = True, True
            if progress:
                progress(outcome)
            continue
        try:
            submitted = _read_notebook(course.submitted_notebook(module, student), course.max_submission_mb * 2**20)
            nb, outcome.notes = rebuild(submitted, source, release)
            resources = _resources(course, module, student)
            _start_submission(course, module, student)
            nb, _ = _quiet(OverwriteCells().preprocess, nb, resources)
            nb, _ = CheckCellMetadata().preprocess(nb, resources)
        except Exception as err:  # this student's file alone
            outcome.reason = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
            _zero(course, module, student)
            outcome.score, outcome.max_score, _ = _scores(course, module, student)
            if progress:
                progress(outcome)
            continue
        pending.append((student, nb))

    # Ctrl-C (SIGINT) sets `stop` instead of raising mid-write: the queue is cancelled, running
    # sandboxes are stopped, what was graded stays graded, and Interrupted tells the caller.
    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        if client is not None:
            from tito.core.cluster import run_on_cluster

            answers = run_on_cluster(client, job, pending, wall_clock + 60, stop)
        else:
            answers = _run_locally(job, pending, jobs, wall_clock + 60, stop)
        for student, answer in answers:
            _record(course, module, outcomes[student], answer)
            if progress:
                progress(outcomes[student])
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if stop.is_set():
        raise Interrupted([o for o in (outcomes[s] for s in sorted(outcomes)) if o.graded or o.reason])
    return [outcomes[s] for s in sorted(outcomes)]


def _run_locally(job: dict, pending: list, jobs: int, limit: float, stop: threading.Event):
    """Yield `(student, answer)` as the local sandbox workers (`jobs` in parallel) finish them;
    once `stop` is set, the queue is cancelled and running workers are killed."""
    workers = [Worker() for _ in range(min(jobs, len(pending)) or 1)]
    free = list(workers)
    lock = threading.Lock()

    def execute(item):
        with lock:
            worker = free.pop()
        try:
            return item[0], worker.run(job, item[1], limit)
        finally:
            with lock:
                free.append(worker)

    try:
        with ThreadPoolExecutor(max_workers=len(workers)) as pool:
            futures = {pool.submit(execute, item) for item in pending}
            while futures and not stop.is_set():
                done, futures = wait(futures, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:                  # finished ones are kept, even after Ctrl-C
                    yield future.result()
            if stop.is_set():
                for future in futures:
                    future.cancel()
                for worker in workers:
                    if worker.process is not None:
                        _kill_group(worker.process.pid)
    finally:
        for worker in workers:
            worker.close()


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during autograde: `outcomes` are the submissions finished before it."""

    def __init__(self, outcomes: list[Outcome]):
        super().__init__("interrupted")
        self.outcomes = outcomes


def _record(course: Course, module: Module, outcome: Outcome, answer: dict | None) -> None:
    """_finish for one submission, which fails for that student alone (its grades can't be
    recorded: refused with the reason), then settings.ini's late-submission rule."""
    from tito.core.course import apply_late_penalty

    try:
        _finish(course, module, outcome, answer)
    except Exception as err:
        outcome.graded = False
        outcome.reason = f"its grades could not be recorded: {type(err).__name__}: {str(err)[:200]}"
        _zero(course, module, outcome.student)
        outcome.score, outcome.max_score, _ = _scores(course, module, outcome.student)
        return
    if outcome.graded:
        late = apply_late_penalty(course, module, outcome.student)
        if late:
            outcome.notes.append(late)


def _finish(course: Course, module: Module, outcome: Outcome, answer: dict | None) -> None:
    """Parent side, one submission at a time: scores into the gradebook, notebook to autograded/."""
    from nbgrader.preprocessors import SaveAutoGrades

    student = outcome.student
    if not answer or not answer.get("nb"):
        outcome.reason = ("the grader process for this submission hung or crashed and was stopped"
                          if not answer else f"grader error: {answer['status'].get('error')}")
        _zero(course, module, student)
        outcome.score, outcome.max_score, _ = _scores(course, module, student)
        return
    status = answer["status"]
    outcome.isolation = status.get("isolation") or {}
    nb = nbformat.reads(answer["nb"], as_version=4)
    lines = list(outcome.notes)
    if status.get("timeouts"):
        lines.append(f"{len(status['timeouts'])} cell(s) ran longer than the time limit and were stopped")
    deaths = status.get("deaths", [])
    for n, death in enumerate(deaths):
        final = n == len(deaths) - 1 and status.get("died") == death["reason"]
        lines.append(f"The kernel died in {death['label']}: {death['reason']}. "
                     + ("" if final else
                        "The notebook was re-run in a fresh kernel without that cell: it scores zero, "
                        "cells that need what it defines fail, the others were graded."))
    if status.get("died"):
        lines.append(f"Grading stopped early: {status['died']}. Cells from that point on score zero; "
                     "the cells before it were graded.")
    if status.get("error"):
        lines.append(f"grader error: {status['error']}")
    if lines:
        nb.cells.insert(0, new_markdown_cell("**Notes from the autograder**\n\n" +
                                             "\n".join(f"- {line}" for line in lines)))
        nb.cells[0]["id"] = "autograder-notes"
    resources = _resources(course, module, student)
    SaveAutoGrades().preprocess(nb, resources)
    target = course.autograded_notebook(module, student)
    target.parent.mkdir(parents=True, exist_ok=True)
    stamp = course.submitted_notebook(module, student).parent / "timestamp.txt"
    if stamp.is_file():
        shutil.copyfile(stamp, target.parent / "timestamp.txt")
    nbformat.write(nb, target)
    outcome.score, outcome.max_score, manual = _scores(course, module, student)
    outcome.notes = lines
    outcome.graded = True
    if manual:
        outcome.notes.append(f"{manual} grade(s) still need manual grading")
