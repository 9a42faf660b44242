"""`tito nbgrader release --to DIR` and a simulated student who works through every module.

The student fills each released notebook with the reference solutions, then runs `tito export NN`
and `tito test NN` *inside the workspace*, in module order, so each module imports the student's
own earlier exports. The package they end up with must match the instructor's, and no line of a
solution or hidden test may ever appear in the workspace.
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tito.core import registry
from tito.core.course import Course
from tito.core.settings import TitoError
from tito.core.stubs import stub_message
from tito.core.workspace import find_leaks, is_workspace, release, secret_lines

from pipeline_support import ROOT, filled, make_project, tito

MODULES = registry.all_modules(ROOT)


@pytest.fixture(scope="session")
def workspace(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("workspace")
    project = make_project(tmp)
    (project / "milestones").symlink_to(ROOT / "milestones", target_is_directory=True)
    run = tito(project, "nbgrader", "release", "--all", "--to", str(tmp / "student"))
    assert run.returncode == 0, run.stdout + run.stderr
    return dict(project=project, course=Course.from_settings(project), ws=tmp / "student", tmp=tmp)


def in_workspace(ws: Path, *args: str) -> subprocess.CompletedProcess:
    """The student's own tito and tinytorch: DIR first on the path (what `pip install -e DIR` gives)."""
    return tito(ws, *args, cwd=ws, env={"PYTHONPATH": str(ws)})


def _code(path: Path) -> str:
    """The code of a package file without comments (nbdev's header names the source file)."""
    return ast.dump(ast.parse(path.read_text(encoding="utf-8")))


def test_layout(workspace):
    ws = workspace["ws"]
    assert is_workspace(ws)
    for name in ("settings.ini", "pyproject.toml", "README.md", "tito/main.py", "tinytorch/__init__.py",
                 "milestones/01_digits_mlp/train.py", "milestones/02_digits_cnn/train.py"):
        assert (ws / name).is_file(), name
    for module in MODULES:
        assert (ws / "modules" / "source" / module.slug / module.notebook_name).is_file()
        assert not (ws / "modules" / "source" / module.slug / f"{module.name}_dev.py").exists()
    assert not list(ws.rglob("*_dev.py")) and not list(ws.rglob("gradebook.db"))


def test_no_solution_or_hidden_test_line_anywhere(workspace):
    secrets = secret_lines(MODULES)
    assert secrets, "the sources should have solution lines to protect"
    assert find_leaks(workspace["ws"], secrets) == []


def test_stub_package_raises_not_implemented(workspace):
    ws = workspace["ws"]
    probe = ("import tinytorch.core.setup as s\n"
             "assert s.__file__.startswith(%r), s.__file__\n"
             "try:\n    s.personal_info()\nexcept NotImplementedError:\n    print('stub')\n") % str(ws)
    run = subprocess.run([sys.executable, "-c", probe], cwd=ws, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ws)})
    assert run.returncode == 0 and "stub" in run.stdout, run.stdout + run.stderr


def test_leak_stops_the_release_and_names_the_cell(workspace, tmp_path):
    course = workspace["course"]
    module = MODULES[0]
    target = tmp_path / "leaky"
    with pytest.raises(TitoError) as err:
        release(course, [module], target, student_notebook=lambda m: course.source_notebook(m))
    assert "release stopped" in str(err.value) and module.slug in str(err.value)
    assert "solution block" in str(err.value) or "hidden tests block" in str(err.value)
    assert not target.exists() or not any(target.iterdir())


def test_release_keeps_the_students_notebook(workspace):
    ws, module = workspace["ws"], MODULES[0]
    notebook = ws / "modules" / "source" / module.slug / module.notebook_name
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("my own notes"))
    nbformat.write(nb, notebook)
    run = tito(workspace["project"], "nbgrader", "release", module.slug, "--to", str(ws))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "my own notes" in notebook.read_text(encoding="utf-8")


# ---- before the student writes anything (these run before the walk-through below) ------------
def test_stubs_name_their_function_module_and_next_step(workspace):
    """The exported stub package carries nbgrader's stubs made specific: calling an unfinished
    function says which one, in which module, and what to do."""
    ws = workspace["ws"]
    probe = ("from tinytorch.core.autograd import Variable\n"
             "try:\n    Variable(1.0)\nexcept NotImplementedError as err:\n    print(err)\n")
    run = subprocess.run([sys.executable, "-c", probe], cwd=ws, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ws)})
    assert run.stdout.strip() == stub_message("Variable.__init__", "07_autograd", "autograd_dev.ipynb"), run.stderr
    notebook = json.loads((ws / "modules/source/07_autograd/autograd_dev.ipynb").read_text(encoding="utf-8"))
    sources = ["".join(c["source"]) for c in notebook["cells"]]
    assert not any("raise NotImplementedError()" in s for s in sources), "a stub without a message is left"
    assert any("`multiply` (module 07_autograd)" in s for s in sources)


def test_a_later_module_says_which_module_to_finish_first(workspace):
    """Module 08's tests fail on module 07's stubs: the whole error names 07, and there is no
    kernel noise ("running over TCP without encryption")."""
    run = in_workspace(workspace["ws"], "test", "08")
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "NotImplementedError: " + stub_message("Variable.__init__", "07_autograd", "autograd_dev.ipynb") in out
    assert "finish 07_autograd first" in out
    assert "without encryption" not in out and "IPKernelApp" not in out


def test_milestones_run_on_the_students_package(workspace):
    """Listed in the workspace; run on the student's (still stub) package, a milestone names what to finish."""
    ws = workspace["ws"]
    listing = in_workspace(ws, "milestone", "list")
    assert listing.returncode == 0 and "01_digits_mlp" in listing.stdout and "02_digits_cnn" in listing.stdout
    run = in_workspace(ws, "milestone", "run", "01")
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("error: milestone 01_digits_mlp needs module ") and "is not finished" in last, run.stderr


def test_doctor_passes_in_a_workspace(workspace):
    """What a workspace needs is what its pyproject.toml declares: no pytest, no formgrader."""
    run = in_workspace(workspace["ws"], "doctor")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "student workspace" in run.stdout and "Everything the course needs is here." in run.stdout
    rows = [line.strip("│ ").split()[0] for line in run.stdout.splitlines() if line.startswith("│")]
    assert "nbgrader" in rows and "pytest" not in rows and "hypothesis" not in rows, run.stdout
    assert "formgrader" not in run.stdout


@pytest.mark.parametrize("command", [["check", "00"], ["nbgrader", "generate", "00"],
                                     ["nbgrader", "release", "00", "--to", "elsewhere"], ["book", "build"]],
                         ids=" ".join)
def test_instructor_commands_say_they_are_for_the_course_repository(workspace, command):
    ws = workspace["ws"]
    before = sorted(p.name for p in ws.iterdir())
    run = in_workspace(ws, *command)
    assert run.returncode == 2, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "is for the course repository" in lines[0] and "student workspace" in lines[0]
    assert sorted(p.name for p in ws.iterdir()) == before, "an instructor command wrote into the workspace"


def test_student_walks_through_every_module(workspace):
    """Fill, export, test — in module order, each on top of the student's own earlier modules."""
    ws, course = workspace["ws"], workspace["course"]
    assert [m.slug for m in registry.all_modules(ws)] == [m.slug for m in MODULES]
    for module in MODULES:
        notebook = ws / "modules" / "source" / module.slug / module.notebook_name
        source = nbformat.read(course.source_notebook(module), as_version=4)
        nbformat.write(filled(nbformat.read(notebook, as_version=4), source), notebook)
        run = in_workspace(ws, "export", module.slug)
        assert run.returncode == 0, f"{module.slug} export:\n{run.stdout}{run.stderr}"
        run = in_workspace(ws, "test", module.slug)
        assert run.returncode == 0, f"{module.slug} test:\n{run.stdout}{run.stderr}"
        mine, instructors = ws / module.package_file().relative_to(ROOT), module.package_file()
        assert _code(mine) == _code(instructors), f"{module.slug}: the student's export differs"


def test_finished_workspace_reaches_milestone_01(workspace):
    """After the walk-through the student's own package trains the MLP milestone to its target."""
    run = in_workspace(workspace["ws"], "milestone", "run", "01")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "reached" in run.stdout


def test_unfinished_module_fails_its_test(workspace, tmp_path):
    """A fresh copy of module 00 (stubs only) fails `tito test` with the NotImplementedError."""
    project = workspace["project"]
    ws = tmp_path / "fresh"
    run = tito(project, "nbgrader", "release", MODULES[0].slug, "--to", str(ws))
    assert run.returncode == 0, run.stdout + run.stderr
    run = in_workspace(ws, "test", MODULES[0].slug)
    assert run.returncode != 0 and "NotImplementedError" in run.stdout + run.stderr


def test_status_in_a_fresh_workspace_reports_the_notebooks_tests(workspace, tmp_path):
    """`tito status` in a workspace: each module exported and up to date, its notebook's tests failing
    (nothing written yet) -- not the instructor's tests/ folder, which a workspace doesn't have."""
    fresh = tmp_path / "fresh"
    run = tito(workspace["project"], "nbgrader", "release", "00", "01", "--to", str(fresh))
    assert run.returncode == 0, run.stdout + run.stderr
    run = in_workspace(fresh, "status")
    assert run.returncode == 0, run.stdout + run.stderr
    rows = [line for line in run.stdout.splitlines() if " setup " in line or " tensor " in line]
    assert len(rows) == 2, run.stdout
    assert all("yes" in row and "failing" in row and "missing" not in row for row in rows), run.stdout


# ---- a one-notebook workspace for the messages of `tito test` / `tito export` ------------------
def tiny_workspace(tmp_path: Path, cells: list) -> Path:
    """settings.ini marking a workspace, and modules/source/00_demo/demo_dev.ipynb made of `cells`."""
    ws = tmp_path / "tiny"
    folder = ws / "modules" / "source" / "00_demo"
    folder.mkdir(parents=True)
    (ws / "settings.ini").write_text("[course]\nid = tinytorch\n\n[workspace]\nstudent = true\n", encoding="utf-8")
    (ws / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8")
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nbformat.write(nb, folder / "demo_dev.ipynb")
    return ws


def graded(grade_id: str, source: str, solution: bool = False) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": not solution, "grade_id": grade_id, "locked": not solution,
                                 "schema_version": 3, "solution": solution, "task": False,
                                 **({} if solution else {"points": 1})}
    return cell


def test_tito_test_shows_the_whole_assertion_message_and_no_spinner(tmp_path):
    """Every line of a failing assert's message reaches the student; with FORCE_COLOR set (as a
    `!tito test` cell in Jupyter has it) and no terminal, no spinner frames are drawn."""
    ws = tiny_workspace(tmp_path, [
        nbformat.v4.new_code_cell("#| default_exp core.demo"),
        graded("test-shape", 'assert (2, 3) == (3, 2), "expected shape (2, 3)\\ngot (3, 2): transpose?"'),
    ])
    run = tito(ws, "test", "00", cwd=ws, env={"FORCE_COLOR": "1", "NO_COLOR": "", "TERM": "xterm-color"})
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "test-shape" in out and "AssertionError: expected shape (2, 3)" in out
    assert "got (3, 2): transpose?" in out, "the message's second line was lost:\n" + out
    assert "without encryption" not in out
    assert "\x1b[?25l" not in out and "⠋" not in out, "a spinner was drawn without a terminal"


def test_a_syntax_error_in_a_notebook_is_named_by_cell_and_line(tmp_path):
    ws = tiny_workspace(tmp_path, [
        nbformat.v4.new_code_cell("#| default_exp core.demo"),
        graded("answer", "#| export\ndef f():\n    return = 1\n", solution=True),
    ])
    run = tito(ws, "export", "00", cwd=ws)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "demo_dev.ipynb: cell 2 (answer), line 3: syntax error: invalid syntax: return = 1" in run.stdout, run.stdout
    run = tito(ws, "test", "00", cwd=ws)
    assert "cell 2 (answer), line 3: syntax error" in run.stdout, run.stdout
