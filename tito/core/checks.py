"""The three checks every module must pass.

1. solution: the instructor notebook scores full marks under `nbgrader autograde`;
2. student:  the generated student notebook runs top to bottom (cells other than graded tests
             fail only with NotImplementedError) and scores zero;
3. tests:    the package file is what exporting the source produces, and tests/ for it pass.

Checks 1 and 2 run in a throw-away nbgrader course directory, so the instructor's real
gradebook is never touched.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tito.core import exporter
from tito.core.notebook import SourceError, load_module_notebook
from tito.core.registry import Module
from tito.core.settings import TitoError

SOLUTION_STUDENT, STUDENT_STUDENT = "reference-solution", "blank-student"


@dataclass
class CheckResult:
    module: Module
    solution: str = "–"
    student: str = "–"
    tests: str = "–"
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def grading_env() -> dict[str, str]:
    """Environment for graded kernels: demos behind the TINYTORCH_GRADING guard stay quiet."""
    return {**os.environ, "TINYTORCH_GRADING": "1", "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}


def _unexpected_errors(notebook: Path) -> list[str]:
    """Errors in cells that are not graded tests, other than NotImplementedError."""
    found = []
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for index, cell in enumerate(nb["cells"]):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") != "NotImplementedError":
                first_line = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
                found.append(f"cell {index + 1} ({first_line.strip().splitlines()[0][:50] if first_line.strip() else 'empty'}) "
                             f"raised {output.get('ename')}: {output.get('evalue', '')[:120]}")
    return found


def grade_notebooks(module: Module, result: CheckResult) -> None:
    """Checks 1 and 2 in a temporary nbgrader course, graded by the same sandboxed grader as
    `tito nbgrader autograde` (tito/core/autograde.py), so there is one grading path."""
    from tito.core.autograde import autograde
    from tito.core.course import Course, generate

    load_module_notebook(module.source)            # a broken source is reported as such
    with tempfile.TemporaryDirectory(prefix=f"tito-check-{module.slug}-") as scratch:
        course = Course.from_settings(module.root, directory=Path(scratch))
        try:
            generated = generate(course, module)
        except TitoError as err:
            result.problems.append(str(err))
            return
        for student, notebook in ((SOLUTION_STUDENT, generated.source), (STUDENT_STUDENT, generated.release)):
            target = course.submitted_notebook(module, student)
            target.parent.mkdir(parents=True)
            target.write_bytes(notebook.read_bytes())
        outcomes = {o.student: o for o in autograde(course, module, jobs=2)}
        failed = [f"{o.student}: {o.reason}" for o in outcomes.values() if not o.graded]
        if failed:
            result.problems.append(f"autograde failed: {'; '.join(failed)}")
            return
        for outcome in outcomes.values():
            result.problems.extend(f"{outcome.student}: {note}" for note in outcome.notes
                                   if "Grading stopped early" in note or "longer than" in note
                                   or "kernel died" in note)
        got, full = outcomes[SOLUTION_STUDENT].score, outcomes[SOLUTION_STUDENT].max_score
        result.solution = f"{got:g}/{full:g}"
        if full <= 0:
            result.problems.append("no graded cells: the module has nothing to score")
        elif got != full:
            result.problems.append(f"solution scored {got:g} of {full:g}")
        got, full = outcomes[STUDENT_STUDENT].score, outcomes[STUDENT_STUDENT].max_score
        result.student = f"{got:g}/{full:g}"
        if got != 0:
            result.problems.append(f"blank student notebook scored {got:g} (should be 0)")
        crashes = _unexpected_errors(course.autograded_notebook(module, STUDENT_STUDENT))
        if crashes:
            result.student += " ✗ crashes"
            result.problems.extend(f"student notebook: {c}" for c in crashes)
        solution_errors = _unexpected_errors(course.autograded_notebook(module, SOLUTION_STUDENT))
        result.problems.extend(f"solution notebook: {c}" for c in solution_errors)


@dataclass
class PytestRun:
    passed: bool
    summary: str   # pytest's closing line, e.g. "12 passed in 0.40s"
    output: str


def run_tests(module: Module, extra: tuple[str, ...] = ()) -> PytestRun:
    """pytest on the module's package tests."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(module.tests), *extra]
    run = subprocess.run(cmd, cwd=module.root, capture_output=True, text=True)
    lines = run.stdout.strip().splitlines()
    return PytestRun(run.returncode == 0, lines[-1].strip("= ") if lines else "no output", run.stdout)


def check_tests(module: Module, result: CheckResult) -> None:
    """Check 3: the committed package is up to date with the source and passes its tests."""
    rendered = exporter.render(module)
    current = rendered.target.read_text(encoding="utf-8") if rendered.target.is_file() else None
    if current != rendered.text:
        result.tests = "stale"
        result.problems.append(f"{rendered.target.relative_to(module.root)} is not what the source exports: "
                               f"run `tito export {module.slug}`")
        return
    if not module.tests.is_file():
        result.tests = "missing"
        result.problems.append(f"no package tests at {module.tests.relative_to(module.root)}")
        return
    run = run_tests(module)
    result.tests = run.summary
    if not run.passed:
        result.problems.append(f"tests failed: {run.summary}")


def check_module(module: Module) -> CheckResult:
    result = CheckResult(module)
    try:
        grade_notebooks(module, result)
        check_tests(module, result)
    except SourceError as err:
        result.problems.extend(str(p) for p in err.problems)
    return result


def _tail(run: subprocess.CompletedProcess, lines: int = 6) -> str:
    text = (run.stderr or run.stdout or "").strip().splitlines()
    return " | ".join(text[-lines:]) or f"exit status {run.returncode}"
