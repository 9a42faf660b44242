"""Odd but legal notebooks: each is graded on its own merits or refused with a reason, never a
crash, and nobody else's grade moves.

A submission's own outputs never reach nbgrader's scorer: the judge runs the test cells and the
grader writes their outputs, so a submission that makes every cell show a number is graded like
any other (full when correct, zero when empty).

One throw-away course (module 00) grades a correct and an empty submission beside one
submission per oddity, twice (the second with --force: the same scores). Notebooks are built
from the real released notebook, filled with the reference solution where the case says so.
"""
from __future__ import annotations

import copy
import os
import re
import sqlite3

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_raw_cell

from tito.core import registry
from tito.core.autograde import autograde
from tito.core.course import Course, collect

from pipeline_support import filled, make_project, meta, tito

GOOD, EMPTY = "correct", "empty"
TIMEOUT = 10

# After the answer cell: every call of personal_info (the tests make them) shows 10**9, far above
# any test's points, as the call's displayed value (and, under IPython, after every cell).
BIG_NUMBER = """import sys
try:
    get_ipython().events.register('post_run_cell', lambda result: get_ipython().displayhook(10**9))
except NameError:
    pass
_shown = personal_info
def personal_info(*args, **kwargs):
    sys.displayhook(10**9)
    return _shown(*args, **kwargs)"""


def _tests(nb):
    return [i for i, c in enumerate(nb.cells) if meta(c).get("grade")]


def _answers(nb):
    return [i for i, c in enumerate(nb.cells) if meta(c).get("solution")]


def cases(release, source):
    good = lambda: filled(release, source)
    out = {}

    nb = good()
    nb.cells.insert(_answers(nb)[0] + 1, new_code_cell(BIG_NUMBER))
    out["big-number"] = (nb, "full")

    nb = copy.deepcopy(release)
    nb.cells.insert(_answers(nb)[0] + 1, new_code_cell(BIG_NUMBER))
    out["empty-big-number"] = (nb, "zero")

    nb = good()
    nb.cells.insert(1, new_code_cell("x = 1", metadata={"nbgrader": {
        "grade": True, "grade_id": "[/]", "locked": True, "points": 1, "schema_version": 3,
        "solution": False, "task": False}}))
    out["markup-grade-id"] = (nb, "full")

    nb = good()
    nb.cells.insert(1, new_code_cell("y = 2", metadata={"nbgrader": {"grade": True, "points": 5, "solution": False}}))
    out["stray-metadata"] = (nb, "full")

    nb = good()
    nb.cells.insert(1, new_code_cell("z = 3", metadata={"nbgrader": "grade me"}))
    nb.cells.insert(2, new_markdown_cell("note", metadata={"nbgrader": {"grade_id": ["a", "list"], "grade": True}}))
    nb.cells.insert(3, new_raw_cell("raw", metadata={"nbgrader": {"grade_id": 7, "solution": True}}))
    out["odd-grade-ids"] = (nb, "full")

    nb = good()
    first_test = nb.cells[_tests(nb)[0]]
    nb.cells.insert(_answers(nb)[0], copy.deepcopy(first_test))          # pasted above its answer
    out["test-pasted-above"] = (nb, "full")

    nb = good()
    copies = [copy.deepcopy(nb.cells[i]) for i in _tests(nb)]
    nb.cells[0:0] = copies                                                 # every test at the top
    nb.cells.append(copy.deepcopy(copies[0]))                             # and the first once more at the end
    out["tests-pasted-everywhere"] = (nb, "full")

    nb = good()
    i = _tests(nb)[0]
    nb.cells[i] = new_markdown_cell("I turned the test into prose", metadata=copy.deepcopy(nb.cells[i].metadata))
    out["test-as-markdown"] = (nb, "full")

    nb = good()
    stub = copy.deepcopy(release.cells[_answers(release)[0]])
    nb.cells.insert(_answers(nb)[0], stub)                                 # the stub above the real answer
    out["answer-pasted-twice"] = (nb, "full")

    nb = copy.deepcopy(release)
    nb.cells.insert(1, new_code_cell("w = 1", metadata={"nbgrader": {"grade": True, "points": 9}}))
    out["empty-with-stray-metadata"] = (nb, "zero")
    return out


def _db(course, module):
    with sqlite3.connect(course.gradebook_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with course.gradebook() as gb:
        return {s.student_id: (float(s.score), float(s.max_score)) for s in gb.assignment_submissions(module.slug)}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("odd")
    project = make_project(tmp)
    settings = project / "settings.ini"
    settings.write_text(re.sub(r"(?m)^max_submission_mb\s*=.*$", "max_submission_mb = 2",
                               settings.read_text(encoding="utf-8")), encoding="utf-8")
    module = registry.resolve("00", project)
    generated = tito(project, "nbgrader", "generate", module.slug)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    course = Course.from_settings(project)
    assert course.max_submission_mb == 2
    source = nbformat.read(course.source_notebook(module), as_version=4)
    release = nbformat.read(course.release_notebook(module), as_version=4)
    odd = cases(release, source)
    inbox = tmp / "inbox"
    for name, (nb, _) in {GOOD: (filled(release, source), ""), EMPTY: (release, ""), **odd}.items():
        (inbox / name).mkdir(parents=True)
        nbformat.write(nb, inbox / name / module.notebook_name)
    # a 256 MiB notebook (sparse: no disk used) and a 3 MiB one: refused by size, never read whole
    (inbox / "huge").mkdir()
    with open(inbox / "huge" / module.notebook_name, "wb") as handle:
        handle.truncate(256 * 2**20)
    big = filled(release, source)
    big.cells.append(new_markdown_cell("x" * (3 * 2**20)))
    (inbox / "big").mkdir()
    nbformat.write(big, inbox / "big" / module.notebook_name)
    collected = collect(course, module, inbox)
    # the same huge file placed in submitted/ by hand: autograde refuses it without loading it
    planted = course.submitted_notebook(module, "planted-huge")
    planted.parent.mkdir(parents=True)
    with open(planted, "wb") as handle:
        handle.truncate(256 * 2**20)
    first = {o.student: o for o in autograde(course, module, jobs=2, timeout=TIMEOUT)}
    db_first = _db(course, module)
    second = {o.student: o for o in autograde(course, module, jobs=2, timeout=TIMEOUT, force=True)}
    return dict(project=project, course=course, module=module, cases=odd, collected=collected,
                first=first, second=second, db_first=db_first, db_second=_db(course, module))


def test_oversized_notebooks_are_refused_with_their_size(batch):
    problems = {p.parent.name: reason for p, reason in batch["collected"].problems}
    assert "256.0 MiB, over the 2 MiB limit" in problems["huge"], problems
    assert "over the 2 MiB limit" in problems["big"], problems
    planted = batch["first"]["planted-huge"]
    assert not planted.graded and "over the 2 MiB limit" in planted.reason and planted.score == 0


def test_good_and_empty_unaffected(batch):
    for run in ("first", "second"):
        good, empty = batch[run][GOOD], batch[run][EMPTY]
        assert good.graded and good.score == good.max_score > 0, good
        assert empty.graded and empty.score == 0, empty


@pytest.mark.parametrize("case", ["big-number", "empty-big-number", "markup-grade-id", "stray-metadata", "odd-grade-ids",
                                  "test-pasted-above", "tests-pasted-everywhere", "test-as-markdown",
                                  "answer-pasted-twice", "empty-with-stray-metadata"])
def test_odd_notebook(batch, case):
    expectation = batch["cases"][case][1]
    outcome, full = batch["first"][case], batch["first"][GOOD].max_score
    assert batch["db_first"][GOOD] == (full, full) and batch["db_first"][EMPTY][0] == 0
    assert batch["db_first"][case][0] == outcome.score
    assert batch["second"][case].score == outcome.score and batch["db_second"] == batch["db_first"]
    assert outcome.graded and not outcome.reason, outcome
    assert outcome.max_score == full, outcome
    assert outcome.score == (full if expectation == "full" else 0), outcome


@pytest.mark.parametrize("case", ["big-number", "empty-big-number"])
def test_a_shown_number_is_text_not_a_result(batch, case):
    """The number the submission shows while a test runs is printed text in that test cell, never
    an execute_result (which nbgrader would score): the grader writes test cells' outputs."""
    course, module = batch["course"], batch["module"]
    graded = nbformat.read(course.autograded_notebook(module, case), as_version=4)
    tests = [graded.cells[i] for i in _tests(graded)]
    outputs = [o for c in tests for o in c.get("outputs", [])]
    assert any(o.get("output_type") == "stream" and "1000000000" in o.get("text", "") for o in outputs), outputs
    assert not any(o.get("output_type") in ("execute_result", "display_data") for o in outputs), outputs


def test_the_reasons_say_what_happened(batch):
    first = batch["first"]
    assert first["big-number"].graded and not first["big-number"].reason, first["big-number"]
    assert any("'[/]'" in n for n in first["markup-grade-id"].notes), first["markup-grade-id"].notes
    assert any("no grade_id" in n for n in first["stray-metadata"].notes)
    assert any("copy of test cell" in n for n in first["test-pasted-above"].notes)


def test_cli_prints_markup_in_grade_ids_as_text(batch):
    out = tito(batch["project"], "nbgrader", "autograde", "00", "--student", "markup-grade-id",
               "--student", "big-number", "--force", "--timeout", str(TIMEOUT))
    text = out.stdout + out.stderr
    assert "Traceback" not in text and "MarkupError" not in text, text
    assert "'[/]'" in text, text
    assert out.returncode == 0 and "could not be recorded" not in text, text  # both graded
    assert _db(batch["course"], batch["module"]) == batch["db_first"]
