"""`tito nbgrader release --to DIR` and a simulated student who works through every module.

The student fills each released notebook with the reference solutions, then runs `tito export NN`
and `tito test NN` *inside the workspace*, in module order, so each module imports the student's
own earlier exports. The package they end up with must match the instructor's, and no line of a
solution or hidden test may ever appear in the workspace.
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tito.core import registry
from tito.core.course import Course
from tito.core.settings import TitoError
from tito.core.workspace import find_leaks, is_workspace, release, secret_lines

from pipeline_support import ROOT, filled, make_project, tito

MODULES = registry.all_modules(ROOT)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("workspace")
    project = make_project(tmp)
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
    for name in ("settings.ini", "pyproject.toml", "README.md", "tito/main.py", "tinytorch/__init__.py"):
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
