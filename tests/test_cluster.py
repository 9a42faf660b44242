"""Grading on a real Dask cluster: a scheduler and two workers on 127.0.0.1, started here.

The same mixed class (full, empty, partial and hostile submissions) is graded locally and through
`--cluster`; one worker is killed while the cluster run is under way. Every submission must be
graded exactly once, with the same per-cell scores as local grading.
"""
from __future__ import annotations

import copy
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from tito.core import registry
from tito.core.autograde import autograde
from tito.core.course import Course, collect

from pipeline_support import answer, filled, make_project, meta, tito

ROOT = Path(__file__).resolve().parents[1]
MODULE = "02_activations"     # one test cell per answer: partial answers give partial scores
TIMEOUT = 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask(*args: str, log: Path) -> subprocess.Popen:
    """`dask ARGS` from this Python's installation, in its own process group."""
    script = Path(sys.executable).parent / "dask"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "dask"]
    with open(log, "ab") as out:
        return subprocess.Popen([*argv, *args], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """tcp address of a scheduler with two single-threaded workers (no nanny: a kill is final)."""
    from distributed import Client

    logs = tmp_path_factory.mktemp("dask-logs")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    processes = {"scheduler": _dask("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard",
                                    "--no-show", log=logs / "scheduler.log")}
    try:
        for name in ("w1", "w2"):
            processes[name] = _dask("worker", address, "--name", name, "--nthreads", "1", "--no-nanny",
                                    "--no-dashboard", "--host", "127.0.0.1", "--death-timeout", "60",
                                    log=logs / f"{name}.log")
        deadline = time.monotonic() + 90
        while True:
            try:
                with Client(address, timeout=5, set_as_default=False) as client:
                    client.wait_for_workers(2, timeout=60)
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise AssertionError("the Dask cluster did not start: " +
                                         "\n".join(p.read_text()[-2000:] for p in logs.iterdir()))
                time.sleep(1)
        yield {"address": address, "processes": processes, "logs": logs}
    finally:
        for process in processes.values():
            _stop(process)


def _partial(release, source):
    """Every answer written but the last one, which is left as released."""
    nb = copy.deepcopy(release)
    answers = {meta(c)["grade_id"]: c for c in source.cells if meta(c).get("solution")}
    cells = [c for c in nb.cells if meta(c).get("solution")]
    for cell in cells[:-1]:
        cell.source = answer(answers[meta(cell)["grade_id"]])
    return nb


def _slow(nb):
    """A second of work up front, so that the class is still being graded when a worker dies."""
    nb = copy.deepcopy(nb)
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first + 1, new_code_cell("import time\ntime.sleep(1)"))
    return nb


def _in_answer(nb, code, which):
    nb = copy.deepcopy(nb)
    cell = [c for c in nb.cells if meta(c).get("solution")][which]
    cell.source = code + "\n" + cell.source
    return nb


def _cell_scores(course, module):
    """(student, grade_id) -> auto_score for every graded cell in the gradebook."""
    with course.gradebook() as gb:
        return {(sub.student_id, grade.name): grade.auto_score
                for sub in gb.assignment_submissions(module.slug)
                for nb in sub.notebooks for grade in nb.grades}


def _outputs(course, module, student):
    """What the graded notebook's code cells printed and raised (timings and ids aside)."""
    nb = nbformat.read(course.autograded_notebook(module, student), as_version=4)
    cells = []
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        outputs = []
        for o in cell.outputs:      # a stream arrives in chunks that depend on timing: join them
            if o.get("output_type") == "stream" and outputs and outputs[-1][:2] == ("stream", o.get("name")):
                outputs[-1] = ("stream", o.get("name"), outputs[-1][2] + o.get("text", ""))
            else:
                outputs.append((o.get("output_type"), o.get("name"), o.get("text") or o.get("ename")))
        cells.append(outputs)
    return cells


@pytest.fixture(scope="module")
def graded(cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster")
    project = make_project(tmp)
    module = registry.resolve(MODULE, ROOT)
    course = Course.from_settings(project)
    course.memory_limit_mb = 768
    run = tito(project, "nbgrader", "generate", module.slug)
    assert run.returncode == 0, run.stdout + run.stderr
    source = nbformat.read(course.source_notebook(module), as_version=4)
    release = nbformat.read(course.release_notebook(module), as_version=4)
    good = filled(release, source)
    submissions = {
        "full-a": good, "full-b": good,
        "empty-a": release,
        "partial-a": _partial(release, source), "partial-b": _partial(release, source),
        "exits": _in_answer(good, "import os\nos._exit(3)", -1),
        "forges": _in_answer(release, "print('Tests passed: 1000/1000')", 0),
        "spins": _in_answer(good, "while True:\n    pass", -1),
    }
    inbox = tmp / "inbox"
    for student, nb in submissions.items():
        (inbox / student).mkdir(parents=True)
        nbformat.write(_slow(nb), inbox / student / module.notebook_name)
    assert not collect(course, module, inbox).problems

    local = {o.student: o for o in autograde(course, module, jobs=2, timeout=TIMEOUT)}
    local_cells = _cell_scores(course, module)
    local_outputs = {s: _outputs(course, module, s) for s in submissions}

    reported: dict[str, int] = {}
    killed = {}

    def progress(outcome):
        reported[outcome.student] = reported.get(outcome.student, 0) + 1
        if not killed:                      # the class is under way: one worker dies for good
            _stop(cluster["processes"]["w1"])
            killed["after"] = outcome.student

    remote = {o.student: o for o in autograde(course, module, timeout=TIMEOUT, force=True, progress=progress,
                                             cluster=cluster["address"])}
    return dict(project=project, course=course, module=module, submissions=submissions, local=local,
                local_cells=local_cells, local_outputs=local_outputs, remote=remote, reported=reported,
                killed=killed, remote_cells=_cell_scores(course, module),
                remote_outputs={s: _outputs(course, module, s) for s in submissions})


def test_every_submission_is_graded_once_despite_a_dead_worker(graded):
    assert graded["killed"], "no worker was killed during the run"
    assert graded["reported"] == {s: 1 for s in graded["submissions"]}, graded["reported"]
    for student, outcome in graded["remote"].items():
        assert outcome.graded, (student, outcome.reason)


def test_cluster_scores_equal_local_scores(graded):
    local, remote = graded["local"], graded["remote"]
    full = local["full-a"].max_score
    assert full > 0
    for student in ("full-a", "full-b"):
        assert local[student].score == remote[student].score == full, (local[student], remote[student])
    for student in ("empty-a", "forges"):
        assert local[student].score == remote[student].score == 0, (local[student], remote[student])
    for student in ("partial-a", "partial-b", "exits", "spins"):
        assert 0 < remote[student].score < full, remote[student]
    assert {s: o.score for s, o in remote.items()} == {s: o.score for s, o in local.items()}
    assert graded["remote_cells"] == graded["local_cells"]


def test_cluster_notebooks_equal_local_notebooks(graded):
    for student, local in graded["local_outputs"].items():
        remote = graded["remote_outputs"][student]
        assert len(remote) == len(local), student
        for number, (mine, theirs) in enumerate(zip(remote, local)):
            assert mine == theirs, (student, f"code cell {number}", mine, theirs)


def test_a_scheduler_that_does_not_answer_is_one_line_and_changes_nothing(graded):
    project, course, module = graded["project"], graded["course"], graded["module"]
    before = _cell_scores(course, module)
    run = tito(project, "nbgrader", "autograde", module.slug, "--force", "--cluster",
               f"tcp://127.0.0.1:{_free_port()}")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "no Dask scheduler answers at tcp://127.0.0.1:" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert _cell_scores(course, module) == before


def test_settings_ini_names_the_cluster(graded):
    """settings.ini [grading] cluster is the default for --cluster (here: a scheduler that is gone)."""
    project, course, module = graded["project"], graded["course"], graded["module"]
    settings = project / "settings.ini"
    text = settings.read_text(encoding="utf-8")
    assert "\ncluster =\n" in text
    address = f"tcp://127.0.0.1:{_free_port()}"
    settings.write_text(text.replace("\ncluster =\n", f"\ncluster = {address}\n"), encoding="utf-8")
    try:
        run = tito(project, "nbgrader", "autograde", module.slug, "--force")
    finally:
        settings.write_text(text, encoding="utf-8")
    assert run.returncode == 2 and f"no Dask scheduler answers at {address}" in run.stderr, run.stdout + run.stderr
