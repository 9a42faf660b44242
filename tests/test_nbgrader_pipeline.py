"""The instructor pipeline end to end, with adversarial submissions generated from a real module.

One throw-away course grades, in one batch: a correct submission, an empty one, and one
submission per attack below — every attack alongside the correct and the empty one. Then the
whole batch is graded again (`--force`) to prove the scores are deterministic.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import sqlite3
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from tito.core import registry
from tito.core.course import Course, collect, feedback, report
from tito.core.autograde import autograde

from pipeline_support import filled, make_project, meta, tito

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 5            # seconds per cell for the adversarial batch
MEMORY_MB = 768

GOOD, EMPTY = "correct", "empty"
SECRET = "tt-api-token-5c2e9b"      # in the grader's environment while it grades
MARK = "86420"                     # in the command line of every process a submission starts


def _grading_module():
    """The first module with graded cells: the adversarial submissions are built from it."""
    for module in registry.all_modules(ROOT):
        text = module.source.read_text(encoding="utf-8")
        if '"grade": true' in text and "BEGIN SOLUTION" in text:
            return module
    pytest.fail("no module with graded cells")


# ---- building submissions from the real module ------------------------------------------------
_meta = meta


def _first(nb, key):
    return next(i for i, c in enumerate(nb.cells) if _meta(c).get(key))


def _insert_after_first_code(nb, code):
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first + 1, new_code_cell(code))
    return nb


def _insert_after_first_test(nb, code):
    nb.cells.insert(_first(nb, "grade") + 1, new_code_cell(code))
    return nb


def _append(nb, *codes):
    nb.cells.extend(new_code_cell(code) for code in codes)
    return nb


def _in_solution(nb, source, code, which=0):
    """The reference solution of the `which`-th answer cell with `code` as its first statement."""
    i = [k for k, c in enumerate(nb.cells) if _meta(c).get("solution")][which]
    src = next(c for c in source.cells if _meta(c).get("grade_id") == _meta(nb.cells[i])["grade_id"])
    lines = src.source.splitlines()
    at = next(k for k, line in enumerate(lines) if line.strip() == "### BEGIN SOLUTION")
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    lines.insert(at + 1, "\n".join(indent + line for line in code.splitlines()))
    nb.cells[i].source = "\n".join(line for line in lines
                                   if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    return nb


def _loop_in_solution(nb, source):
    return _in_solution(nb, source, "while True:\n    pass")


def _points_of_test_after(source, which):
    """Points of the first graded cell after the `which`-th answer cell: what a crash in that
    answer costs (in the grading module each answer has its own test cell right after it)."""
    answers = [k for k, c in enumerate(source.cells) if _meta(c).get("solution")]
    return next(_meta(c)["points"] for c in source.cells[answers[which]:] if _meta(c).get("grade"))


def _absolute_path_probe(course, module):
    """Reads and writes, by absolute path, of the gradebook, another student's submission, the
    module source and the course's source notebook (hidden tests), and a TCP connection to the
    grader's machine. Prints what got through."""
    targets = {"gradebook": course.gradebook_path, "other-student": course.submitted_notebook(module, GOOD),
               "module-source": module.source.resolve(), "hidden-tests": course.source_notebook(module)}
    return f"""
import json, os
results = {{}}
for name, path in {json.dumps({k: str(v) for k, v in targets.items()})}.items():
    for action in ("read", "write", "remove"):
        try:
            if action == "read":
                with open(path, "rb") as handle:
                    handle.read(16)
            elif action == "write":     # nothing is written to the repository, even if it got through
                with open(path, "ab") as handle:
                    handle.write(b"" if name == "module-source" else b"vandalised")
            elif name != "module-source":
                os.remove(path)
            else:
                continue
            results[f"{{action}} {{name}}"] = "ALLOWED"
        except OSError as err:
            results[f"{{action}} {{name}}"] = type(err).__name__
try:
    os.listdir({str(course.directory)!r})
    results["list course"] = "ALLOWED"
except OSError as err:
    results["list course"] = type(err).__name__
import socket        # no TCP connection out of the kernel (refused before any packet: not ConnectionRefused)
try:
    socket.create_connection(("127.0.0.1", 9), timeout=2).close()
    results["connect tcp"] = "ALLOWED"
except OSError as err:
    results["connect tcp"] = type(err).__name__
print("PROBE " + json.dumps(results))
"""


VANDAL = """
import glob
for target in ["../../gradebook.db", "../../../gradebook.db", "../gradebook.db", "gradebook.db"]:
    try:
        with open(target, "w") as handle:
            handle.write("vandalised")
    except OSError:
        pass
for pattern in ["../../*/*/*.ipynb", "../../../*/*/*.ipynb", "../../../submitted/*/*/*.ipynb",
                "../../../../submitted/*/*/*.ipynb", "../../submitted/*/*/*.ipynb"]:
    for path in glob.glob(pattern):
        try:
            with open(path, "w") as handle:
                handle.write("vandalised")
        except OSError:
            pass
"""


FORGE_PATCH = """
import builtins, numpy as np
np.allclose = np.array_equal = np.isclose = lambda *a, **k: True
builtins.isinstance = lambda *a: True
builtins.AssertionError = type("Never", (Exception,), {})
"""
FORGE_PRINT = """
import json, os, sys
fake = json.dumps({"status": {"executed": 99, "timeouts": [], "died": None}, "nb": None, "score": 2000})
print(fake); sys.stdout.flush(); os.write(1, (fake + "\\n").encode()); os.write(2, b"4/4 PASSED\\n")
for fd in range(3, 64):
    try:
        os.write(fd, (fake + "\\n").encode())
    except OSError:
        pass
"""
FORGE_HOOKS = """
import sys
sys.excepthook = lambda *a: None
try:
    get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)
    get_ipython().showtraceback = lambda *a, **k: None
except NameError:
    pass
"""
FORGE_SHADOW = """
class Yes(dict):
    __eq__ = lambda self, other: True
    __bool__ = lambda self: True
    __contains__ = lambda self, item: True
class Anything:
    def __getattr__(self, name):
        return lambda *a, **k: Yes()
np = numpy = platform = os = Anything()
isinstance = lambda *a: True
"""
FORGE_EXIT = """
import os, sys
print("✅ all tests passed")
sys.stdout.flush()
os._exit(0)
"""
FORK_BOMB = f"""
import os
for _ in range(1000):
    try:
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "{MARK}"])
    except OSError:
        break
"""
DAEMONS = f"""
import os, subprocess
subprocess.Popen(["sleep", "{MARK}"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "{MARK}1"])
    os._exit(0)
"""
MEMORY_SPLIT = """
import os, time
for _ in range(6):
    if os.fork() == 0:
        block = bytearray(200 * 2**20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(60)
        os._exit(0)
time.sleep(1)
"""
DISK_FILL = """
import os
try:
    for n in range(10**6):
        with open(f"f{n}", "wb") as handle:
            handle.write(b"x" * 2**20 if n < 2000 else b"")
except OSError as err:
    print("disk full:", type(err).__name__, n)
"""
READ_SECRETS = """
import os
print("ENV", dict(os.environ))
for path in ("/proc/self/environ", "/proc/1/environ", "/proc/%d/environ" % os.getppid()):
    try:
        print(path, open(path, "rb").read())
    except OSError as err:
        print(path, type(err).__name__)
"""


def _kill_anything(grader_pid):
    return f"""
import os, signal
for pid in ({grader_pid}, os.getppid(), 1, -1):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError as err:
        print("refused", pid, type(err).__name__)
"""


def attacks(release, source, course, module):
    """name -> (notebook or bytes, expectation). Expectations: 'full', 'zero', 'graded', 'failed',
    or a number: the points the submission loses (the test cell its crash took down)."""
    good = lambda: filled(release, source)  # noqa: E731
    empty = lambda: copy.deepcopy(release)  # noqa: E731
    deleted = good()
    del deleted.cells[_first(deleted, "grade")]
    edited = good()
    for cell in edited.cells:
        if _meta(cell).get("grade"):
            cell.source = "pass"
    empty_edited = empty()
    for cell in empty_edited.cells:
        if _meta(cell).get("grade"):
            cell.source = "pass"
    empty_deleted = empty()
    empty_deleted.cells = [c for c in empty_deleted.cells if not _meta(c).get("grade")]
    duplicated = good()
    for key in ("solution", "grade"):        # same grade_id twice (Jupyter gives the copy a new cell id)
        twin = copy.deepcopy(duplicated.cells[_first(duplicated, key)])
        twin["id"] = f"copy-of-{key}"
        duplicated.cells.append(twin)
    text = nbformat.writes(good())
    return {
        "infinite-loop": (_loop_in_solution(good(), source), "graded"),
        "sleep-forever": (_insert_after_first_code(good(), "import time\ntime.sleep(10**6)"), "full"),
        "sys-exit": (_insert_after_first_code(good(), "import sys\nsys.exit()"), "full"),
        "os-exit": (_in_solution(good(), source, "import os\nos._exit(1)", 0), _points_of_test_after(source, 0)),
        "segfault": (_in_solution(good(), source, "import ctypes\nctypes.string_at(0)", -1),
                     _points_of_test_after(source, -1)),
        "memory-bomb": (_insert_after_first_code(good(), "blocks = []\nwhile True:\n    blocks.append(bytearray(32 * 2**20))"), "full"),
        "crash-thrice": (_append(good(), *["import os\nos._exit(1)"] * 3), "full"),
        "absolute-paths": (_insert_after_first_code(good(), _absolute_path_probe(course, module)), "full"),
        "kill-grader": (_insert_after_first_code(good(), "import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\n"
                                                         "except OSError as err:\n    print('refused:', err)"), "full"),
        "deleted-test": (deleted, "full"),
        "edited-test": (edited, "full"),
        "empty-edited-tests": (empty_edited, "zero"),
        "empty-deleted-tests": (empty_deleted, "zero"),
        "duplicate-grade-id": (duplicated, "full"),
        "invalid-json": (text[: len(text) // 2].encode(), "failed"),
        "not-utf8": (text.replace("TODO", "TODO \udcff", 1).encode("utf-8", "surrogateescape")
                     if "TODO" in text else b"\xff\xfe" + text.encode(), "failed"),
        "output-flood": (_insert_after_first_code(good(), "for _ in range(100):\n    print('x' * 10**6)"), "full"),
        "vandal": (_insert_after_first_code(good(), VANDAL), "full"),
        # a verdict forged from inside the submission earns nothing ...
        "forge-patch-numpy": (_insert_after_first_test(_insert_after_first_code(empty(), FORGE_PATCH), FORGE_PATCH), "zero"),
        "forge-print-results": (_append(_insert_after_first_code(empty(), FORGE_PRINT), FORGE_PRINT), "zero"),
        "forge-exception-hooks": (_insert_after_first_code(empty(), FORGE_HOOKS), "zero"),
        "forge-shadow-names": (_insert_after_first_test(_insert_after_first_code(empty(), FORGE_SHADOW), FORGE_SHADOW), "zero"),
        "forge-exit-zero": (_append(empty(), FORGE_EXIT), "zero"),
        # ... and patching the libraries costs a correct submission nothing
        "good-patches-numpy": (_insert_after_first_code(good(), FORGE_PATCH), "full"),
        # one submission can't hurt the machine or the others
        "fork-bomb": (_insert_after_first_code(good(), FORK_BOMB), "full"),
        "setsid-daemons": (_insert_after_first_code(good(), DAEMONS), "full"),
        "memory-split": (_insert_after_first_code(good(), MEMORY_SPLIT), "full"),
        "disk-fill": (_insert_after_first_code(good(), DISK_FILL), "full"),
        "read-secrets": (_insert_after_first_code(good(), READ_SECRETS), "full"),
        "kill-anything": (_insert_after_first_code(good(), _kill_anything(os.getpid())), "full"),
    }


# ---- the batch --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipeline")
    project = make_project(tmp)
    module = _grading_module()
    course = Course.from_settings(project)
    course.memory_limit_mb = MEMORY_MB
    generated = tito(project, "nbgrader", "generate", module.slug)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    source = nbformat.read(course.source_notebook(module), as_version=4)
    release = nbformat.read(course.release_notebook(module), as_version=4)
    cases = attacks(release, source, course, module)
    inbox = tmp / "inbox"
    (inbox / GOOD).mkdir(parents=True)
    nbformat.write(filled(release, source), inbox / GOOD / module.notebook_name)
    nbformat.write(release, inbox / f"{EMPTY}_{module.notebook_name}")          # flat, LMS style
    for name, (content, _) in cases.items():
        target = inbox / name / module.notebook_name
        target.parent.mkdir()
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            nbformat.write(content, target)
    (inbox / "someone").mkdir()
    nbformat.write(release, inbox / "someone" / "not_this_module.ipynb")        # unknown notebook
    (inbox / "notes.txt").write_text("not a submission")                            # bad file name
    collected = collect(course, module, inbox)
    hashes = {p: hashlib.sha256(p.read_bytes()).hexdigest()
              for p in [*(course.directory / "submitted").rglob("*.ipynb"), module.source.resolve(),
                        course.source_notebook(module)]}
    os.environ["TINYTORCH_API_TOKEN"] = SECRET            # what an instructor's shell may hold
    try:
        first = {o.student: o for o in autograde(course, module, jobs=2, timeout=TIMEOUT)}
        leftovers = _leftovers()
        gradebook_after_first = _scores_from_db(course, module)
        second = {o.student: o for o in autograde(course, module, jobs=2, timeout=TIMEOUT, force=True)}
        leftovers += _leftovers()
    finally:
        del os.environ["TINYTORCH_API_TOKEN"]
    return dict(project=project, course=course, module=module, cases=cases, collected=collected,
                hashes=hashes, first=first, second=second, db_first=gradebook_after_first, tmp=tmp,
                leftovers=leftovers)


def _leftovers():
    """Processes a submission started that are still running (their command line has MARK)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and MARK.encode() in (proc / "cmdline").read_bytes():
                found.append(proc.name)
        except OSError:
            pass
    return found


def _scores_from_db(course, module):
    """Scores read straight from the SQLite file: it opens, and every grade is final."""
    with sqlite3.connect(course.gradebook_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with course.gradebook() as gb:
        out = {}
        for sub in gb.assignment_submissions(module.slug):
            needs = sum(1 for nb in sub.notebooks for g in nb.grades if g.needs_manual_grade)
            out[sub.student_id] = (float(sub.score), float(sub.max_score), needs)
        return out


def test_collect_reports_bad_files_and_imports_the_rest(batch):
    imported = {student for student, _ in batch["collected"].imported}
    assert imported == {GOOD, EMPTY, *batch["cases"]}
    reasons = " ".join(reason for _, reason in batch["collected"].problems)
    assert "unknown notebook 'not_this_module.ipynb'" in reasons, reasons
    assert "notes.txt" in " ".join(str(p) for p, _ in batch["collected"].problems)


def test_correct_and_empty_keep_full_and_zero(batch):
    for run in ("first", "second"):
        good, empty = batch[run][GOOD], batch[run][EMPTY]
        assert good.graded and good.max_score > 0 and good.score == good.max_score, good
        assert empty.graded and empty.score == 0, empty


@pytest.mark.parametrize("case", ["infinite-loop", "sleep-forever", "sys-exit", "os-exit", "segfault", "memory-bomb",
                                  "crash-thrice", "absolute-paths", "kill-grader",
                                  "deleted-test", "edited-test", "empty-edited-tests", "empty-deleted-tests",
                                  "duplicate-grade-id", "invalid-json", "not-utf8", "output-flood", "vandal",
                                  "forge-patch-numpy", "forge-print-results", "forge-exception-hooks",
                                  "forge-shadow-names", "forge-exit-zero", "good-patches-numpy", "fork-bomb",
                                  "setsid-daemons", "memory-split", "disk-fill", "read-secrets", "kill-anything"])
def test_attack(batch, case):
    expectation = batch["cases"][case][1]
    outcome = batch["first"][case]
    full = batch["first"][GOOD].max_score
    db = batch["db_first"]
    # the gradebook opens, is complete (every collected student has a final grade), good ones intact
    assert set(db) == {GOOD, EMPTY, *batch["cases"]}
    assert all(needs == 0 for _, _, needs in db.values()), db
    assert db[GOOD][0] == full and db[EMPTY][0] == 0
    assert db[case][:2] == (outcome.score, outcome.max_score)
    # deterministic: the regrade gives the same score
    assert batch["second"][case].score == outcome.score
    if expectation == "failed":
        assert not outcome.graded and outcome.reason and outcome.score == 0
    else:
        assert outcome.graded, outcome
        assert outcome.max_score == full
        if expectation == "full":
            assert outcome.score == full, outcome
        elif isinstance(expectation, (int, float)):   # only the test its crash took down is lost
            assert 0 < expectation < full and outcome.score == full - expectation, outcome
        elif expectation == "zero":
            assert outcome.score == 0, outcome
        else:
            assert 0 <= outcome.score <= full


def _errors(nb, ename):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if o.get("output_type") == "error" and o.get("ename") == ename]


def test_no_process_of_a_submission_outlives_grading(batch):
    assert batch["leftovers"] == [] and _leftovers() == [], batch["leftovers"]


def test_the_graders_secrets_never_reach_a_notebook(batch):
    course, module = batch["course"], batch["module"]
    graded = course.autograded_notebook(module, "read-secrets").read_text(encoding="utf-8")
    assert "ENV" in graded and "TINYTORCH_GRADING" in graded         # the probe ran and printed
    for path in (course.directory / "autograded").rglob("*.ipynb"):
        assert SECRET not in path.read_text(encoding="utf-8"), path


def test_forged_output_is_only_the_students_own_cell_output(batch):
    course, module = batch["course"], batch["module"]
    graded = nbformat.read(course.autograded_notebook(module, "forge-print-results"), as_version=4)
    for cell in graded.cells:
        if _meta(cell).get("grade"):
            assert any(o.get("output_type") == "error" for o in cell.outputs), cell.outputs
            assert not any("2000" in o.get("text", "") for o in cell.outputs), cell.outputs


def test_kernel_death_skips_the_cell_and_grades_the_rest(batch):
    course, module = batch["course"], batch["module"]
    for case in ("os-exit", "segfault"):          # a crash in one answer costs only the test that calls it
        notes = " ".join(batch["first"][case].notes)
        assert "The kernel died in code cell" in notes and "re-run in a fresh kernel" in notes, notes
        assert "Grading stopped early" not in notes, notes
        graded = nbformat.read(course.autograded_notebook(module, case), as_version=4)
        assert "The kernel died in code cell" in graded.cells[0].source
        skipped = _errors(graded, "KernelDied")
        assert len(skipped) == 1 and "killed the kernel" in skipped[0]["evalue"], skipped
    assert "SIGSEGV" in " ".join(batch["first"]["segfault"].notes)
    assert "status 1" in " ".join(batch["first"]["os-exit"].notes)
    # three deaths: the bound; the cells after the third are not re-run, everything before is graded
    notes = batch["first"]["crash-thrice"].notes
    assert sum("The kernel died in" in n for n in notes) == 3 and any("Grading stopped early" in n for n in notes), notes
    results = dict((s, (html, err)) for s, html, err in feedback(course, module, ["os-exit", GOOD]))
    html = results["os-exit"][0]
    assert html is not None and "The kernel died in code cell" in html.read_text(encoding="utf-8")
    assert results[GOOD][0] is not None


def test_landlock_is_available_here():
    from tito.core import landlock

    assert landlock.abi() >= 1, ("Landlock is unavailable on this machine (Linux >= 5.13 with 'landlock' in the "
                                 "LSM list): the grader's file isolation can't be tested here")


def test_absolute_paths_are_out_of_reach(batch):
    """The kernel itself refuses them (Landlock), so nothing depends on guessing relative paths."""
    course, module = batch["course"], batch["module"]
    for run in ("first", "second"):
        for student, outcome in batch[run].items():
            if outcome.graded:
                assert outcome.isolation.get("landlock", 0) >= 1 and not outcome.isolation.get("partial"), \
                    (student, outcome.isolation)
    graded = nbformat.read(course.autograded_notebook(module, "absolute-paths"), as_version=4)
    printed = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.outputs)
    probe = json.loads(printed.split("PROBE ", 1)[1].splitlines()[0])
    assert len(probe) == 13 and not [k for k, v in probe.items() if v != "PermissionError"], probe
    for path, digest in batch["hashes"].items():      # gradebook checked in test_vandal_reached_nothing
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path


def test_without_landlock_grading_works_and_says_isolation_is_partial(batch):
    project, module = batch["project"], batch["module"]
    run = tito(project, "nbgrader", "autograde", module.slug, "--student", GOOD, "--timeout", str(TIMEOUT),
               "--memory", str(MEMORY_MB), "--force", env={"TITO_SANDBOX_LANDLOCK": "0"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("File isolation is partial") == 1, run.stdout
    assert _scores_from_db(batch["course"], module)[GOOD][0] == batch["first"][GOOD].max_score


def test_restored_cells_are_noted(batch):
    assert any("re-inserted" in n for n in batch["first"]["deleted-test"].notes)
    assert any("restored" in n for n in batch["first"]["edited-test"].notes)
    assert any("second cell" in n for n in batch["first"]["duplicate-grade-id"].notes)


def test_timeouts_and_output_are_bounded(batch):
    course, module = batch["course"], batch["module"]
    assert any("time limit" in n for n in batch["first"]["sleep-forever"].notes)
    flood = course.autograded_notebook(module, "output-flood")
    assert flood.stat().st_size < 1_000_000
    assert "output truncated" in flood.read_text(encoding="utf-8")


def test_vandal_reached_nothing(batch):
    course = batch["course"]
    assert b"vandalised" not in course.gradebook_path.read_bytes()
    for path, digest in batch["hashes"].items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path
    for path in (course.directory / "autograded").rglob("*.ipynb"):
        assert path.read_text(encoding="utf-8") != "vandalised"


def test_cli_autograde_exit_status_and_report(batch):
    project, module = batch["project"], batch["module"]
    run = tito(project, "nbgrader", "autograde", module.slug, "--student", GOOD, "--student", EMPTY,
               "--timeout", str(TIMEOUT), "--memory", str(MEMORY_MB), "--force")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "isolation is partial" not in run.stdout, run.stdout
    run = tito(project, "nbgrader", "autograde", module.slug, "--student", "invalid-json", "--timeout", str(TIMEOUT))
    assert run.returncode != 0 and "invalid-json" in run.stdout + run.stderr
    csv_path = batch["tmp"] / "grades.csv"
    run = tito(project, "nbgrader", "report", "--output", str(csv_path))
    assert run.returncode == 0, run.stdout + run.stderr
    rows = report(batch["course"], csv_path)
    by_student = {r["student_id"]: r for r in rows if r["assignment"] == module.slug}
    assert float(by_student[GOOD]["score"]) == float(by_student[GOOD]["max_score"]) > 0
    assert float(by_student[EMPTY]["score"]) == 0
    assert {"student_id", "assignment", "score", "max_score"} <= set(rows[0])


def test_unknown_module_is_refused(batch):
    run = tito(batch["project"], "nbgrader", "collect", "99_nothing", "--from", str(batch["tmp"] / "inbox"))
    assert run.returncode == 2 and "Valid modules" in run.stderr
    run = tito(batch["project"], "nbgrader", "autograde", "nonexistent")
    assert run.returncode == 2 and "Valid modules" in run.stderr
    assert _scores_from_db(batch["course"], batch["module"])[GOOD][0] > 0
