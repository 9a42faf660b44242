"""JupyterLab as students and instructors use it, driven in headless Chromium.

Student: open module 01's released notebook, find a locked cell read-only, type the solution into
the first solution cell, run all cells, see the visible tests pass, export with a `!tito export`
cell, press nbgrader's Validate and read its success message (and `nbgrader validate` on the saved
file agrees). Instructor: open the formgrader inside JupyterLab and see the module and its
submission. Each server is started by `tito.core.lab.LabServer` (what `tito lab` runs) on a free
127.0.0.1 port and stopped at the end. Screenshots go to artifacts/lab/.

Needs Debian's `chromium` (CI installs it) and playwright from PyPI; playwright's own browser
download is never used. Without Chromium this test fails, it does not skip.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

from tito.core.lab import LabServer
from tito.core.notebook import read_source

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "lab"
MODULE = "01_tensor"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]
TIMEOUT_MS = 60_000


def chromium_path() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail("Chromium is missing: install Debian's package (apt-get install -y chromium) or set "
                "CHROMIUM=/path/to/chromium. The JupyterLab browser test needs it.", pytrace=False)


# ---- workspaces ----------------------------------------------------------------------------
def module_paths(root: Path) -> tuple[Path, str]:
    """The module's folder under `root` and its short name ("tensor")."""
    return root / "modules" / "source" / MODULE, MODULE.split("_", 1)[1]


def make_course_repo(tmp: Path) -> Path:
    """A scratch copy of the course repository holding module 01 (its nbgrader course is built there)."""
    repo = tmp / "course-repo"
    repo.mkdir()
    for name in ("settings.ini", "nbgrader_config.py", "pyproject.toml"):
        shutil.copy(ROOT / name, repo / name)
    skip = shutil.ignore_patterns("*.ipynb", "__pycache__", ".ipynb_checkpoints")
    shutil.copytree(ROOT / "modules" / "source" / MODULE, repo / "modules" / "source" / MODULE, ignore=skip)
    shutil.copytree(ROOT / "tinytorch", repo / "tinytorch", ignore=skip)
    shutil.copytree(ROOT / "tito", repo / "tito", ignore=skip)
    return repo


def tito(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """The tito CLI as a user runs it in `cwd` (a workspace runs its own copy of tito)."""
    env = {k: v for k, v in os.environ.items() if k not in ("TINYTORCH_ROOT", "PYTHONPATH")}
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb", PYTHONPATH=str(cwd))
    result = subprocess.run([sys.executable, "-m", "tito", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=600)
    if check:
        assert result.returncode == 0, f"tito {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def solution_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]


# ---- the browser -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail('playwright is not installed: pip install -e ".[dev]"', pytrace=False)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def new_page(browser):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    return page


T0 = time.monotonic()


def shot(page, name: str) -> None:
    """Keep a screenshot (artifacts/lab/NAME.png) and note when it was taken."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    print(f"{time.monotonic() - T0:6.1f} s  {name}")


@contextmanager
def shot_on_failure(page, name: str):
    """A screenshot of the page as it was when a step failed."""
    try:
        yield
    except BaseException:
        try:
            shot(page, name)
        except Exception:
            pass
        raise


def menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=top).first.click()
    page.locator(".lm-Menu-itemLabel").get_by_text(item, exact=True).first.click()


def save(page) -> None:
    """Ctrl-S, and wait until the save finished: two saves in flight at once make JupyterLab
    report that the file "has changed on disk"."""
    page.keyboard.press("Control+s")
    page.locator("#jp-main-statusbar").get_by_text("Saving completed").wait_for()
    page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.jp-mod-dirty')")


def validate(page, expected, screenshot: str) -> None:
    """Press nbgrader's Validate button (it saves the notebook first) and wait for `expected`."""
    page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text(expected).first.wait_for(timeout=TIMEOUT_MS * 2)
    shot(page, screenshot)
    dialog.locator("button").last.click()
    dialog.wait_for(state="detached")


def wait_executed(page, index: int) -> None:
    """Until cell `index` of the open notebook shows an execution count and no cell is still
    queued or running (prompt [*])."""
    page.wait_for_function(
        """(index) => {
            const cells = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell');
            const prompt = cells[index] && cells[index].querySelector('.jp-InputArea-prompt');
            const busy = [...document.querySelectorAll('.jp-Notebook .jp-InputArea-prompt')]
                .some(p => p.textContent.includes('*'));
            return prompt && /\\d/.test(prompt.textContent) && !busy;
        }""", arg=index, timeout=TIMEOUT_MS * 3)


# ---- the test --------------------------------------------------------------------------------
def test_student_and_instructor_in_jupyterlab(browser, tmp_path):
    course_repo = make_course_repo(tmp_path)
    workspace = tmp_path / "student"
    tito("nbgrader", "release", MODULE, "--to", str(workspace), cwd=course_repo)
    folder, name = module_paths(workspace)
    notebook_rel = f"modules/source/{MODULE}/{name}_dev.ipynb"
    released = nbformat.read(workspace / notebook_rel, as_version=4)
    instructor_nb = read_source(module_paths(ROOT)[0] / f"{name}_dev.py")
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution_cells(instructor_nb)}
    student_cells = released.cells
    first_solution = next(i for i, c in enumerate(student_cells)
                          if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution"))
    locked = next(i for i, c in enumerate(student_cells)
                  if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("locked"))
    visible_tests = [i for i, c in enumerate(student_cells) if c.metadata.get("nbgrader", {}).get("grade")
                     and c.cell_type == "code"]
    assert visible_tests, f"module {MODULE} has no test cell to run"
    assert "NotImplementedError" in student_cells[first_solution].source, "release did not stub the solution"

    student_log = tmp_path / "student-lab.log"
    with LabServer(workspace, log_file=student_log, isolated=True) as server:
        assert not server.instructor
        page = new_page(browser)
        with shot_on_failure(page, "failure-student"):
            page.goto(server.url_for(f"lab/tree/{notebook_rel}"))
            cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
            cells.nth(len(student_cells) - 1).wait_for(state="attached")
            assert cells.count() == len(student_cells)
            page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()
            shot(page, "01-student-notebook-open")

            # A locked cell is read-only: typing into it changes nothing.
            locked_editor = cells.nth(locked).locator(".cm-content")
            locked_editor.scroll_into_view_if_needed()
            first_line = student_cells[locked].source.splitlines()[0]
            assert first_line in (locked_editor.text_content() or "")
            locked_editor.click()
            page.locator(".jp-Notebook.jp-mod-editMode").wait_for()   # the keys go to that cell's editor
            page.keyboard.press("Control+End")
            page.keyboard.type("oops")
            shot(page, "02-locked-cell-typed-into")
            assert "oops" not in (locked_editor.text_content() or ""), "a locked cell accepted typing"
            page.keyboard.press("Escape")

            # Validate before any work: it fails, and so does `tito test` (run from a terminal).
            validate(page, re.compile(r"The following cells? failed"), "02-validate-before-work")
            assert tito("test", MODULE[:2], cwd=workspace, check=False).returncode != 0, \
                "tito test passes a notebook that Validate fails"

            # Type the solution into the first solution cell (and the others, so Validate can pass).
            for index, cell in enumerate(student_cells):
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if grade_id not in solutions or cell.cell_type != "code":
                    continue
                editor = cells.nth(index).locator(".cm-content")
                editor.scroll_into_view_if_needed()
                editor.click()
                page.keyboard.press("Control+a")
                page.keyboard.insert_text(solutions[grade_id])
                page.keyboard.press("Escape")
                if index == first_solution:
                    shot(page, "03-first-solution-typed")
            save(page)
            menu(page, "Run", "Run All Cells")
            wait_executed(page, first_solution)
            for index in visible_tests:
                cell = cells.nth(index)
                cell.scroll_into_view_if_needed()
                prompt = cell.locator(".jp-InputArea-prompt").text_content() or ""
                errors = cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
                assert prompt.strip() not in ("[ ]:", ""), f"test cell {index} did not run ({prompt!r})"
                assert errors.count() == 0, f"visible test {index} failed:\n{errors.first.text_content()}"
            shot(page, "04-run-all-tests-pass")

            # Export from the notebook: a `!tito export` cell at the end.
            cells.nth(len(student_cells) - 1).click()
            page.keyboard.press("Escape")
            page.keyboard.press("b")
            new_editor = cells.nth(len(student_cells)).locator(".cm-content")
            new_editor.click()
            page.keyboard.insert_text(f"!tito export {MODULE[:2]}")
            page.keyboard.press("Control+Enter")
            wait_executed(page, len(student_cells))
            export_out = cells.nth(len(student_cells)).locator(".jp-OutputArea-output")
            export_out.first.wait_for()
            assert "Exported 1 module" in (export_out.first.text_content() or "")
            shot(page, "05-tito-export")

            # nbgrader's Validate button (it saves the notebook first), and its verdict.
            validate(page, "Success! Your notebook passes all the tests.", "06-validate-success")
        page.close()

    # `tito test` in the workspace gives the same verdict as the Validate button.
    saved = workspace / notebook_rel
    assert tito("test", MODULE[:2], cwd=workspace, check=False).returncode == 0, "tito test disagrees with Validate"

    # Instructor: the submission is collected; the formgrader lists the module and its submission.
    inbox = tmp_path / "inbox" / "student1"
    inbox.mkdir(parents=True)
    shutil.copy(saved, inbox / saved.name)
    tito("nbgrader", "collect", MODULE, "--from", str(inbox.parent), cwd=course_repo)
    with LabServer(course_repo, log_file=tmp_path / "instructor-lab.log", isolated=True) as server:
        assert server.instructor
        page = new_page(browser)
        with shot_on_failure(page, "failure-instructor"):
            page.goto(server.url)
            page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.wait_for()
            menu(page, "Nbgrader", "Formgrader")
            frame = page.frame_locator("iframe[src*='formgrader']").first
            row = frame.locator("tr", has_text=MODULE).first
            row.wait_for()
            shot(page, "07-formgrader-assignments")
            cells_text = [t.strip() for t in row.locator("td").all_inner_texts()]
            assert MODULE in cells_text[0] if cells_text else False, cells_text
            assert "1" in cells_text, f"formgrader shows no submission for {MODULE}: {cells_text}"
            page_text = frame.locator("body").inner_text()
            assert "exchange directory" not in page_text, "the formgrader warns about its exchange folder"
        page.close()
