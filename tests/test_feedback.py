"""Feedback and the formgrader show a submission without running it or leaking hidden tests.

One throw-away course (module 00) grades a correct, an empty, a hostile-HTML submission (markup
and outputs that try to run script), one that prints everything its process can see while the
tests run (its call stack and what the tests pass in; the tests themselves run in the judge
process, so their code is not among it), and one that fails a hidden test. Feedback files are opened from disk in headless Chromium with
every non-file request recorded; the formgrader (started as `tito lab` starts it) renders the
hostile submission and its buttons go through tito.
"""
from __future__ import annotations

import json
import re
import sqlite3
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from tito.core import registry
from tito.core.autograde import autograde
from tito.core.course import Course, collect, feedback
from tito.core.lab import LabServer
from tito.core.sanitize import BLANKED, _hidden_lines

from pipeline_support import answer, filled, make_project, meta
from test_lab_browser import CHROMIUM_FLAGS, chromium_path

PORT = 9411
GOOD, EMPTY, HOSTILE, PRINTER, HIDDEN_FAIL = "correct", "empty", "hostile", "printer", "hidden-fail"

MARKDOWN = ("Math: $\\alpha^2 + \\beta$\n\n<img src=x onerror=\"window.__pwned='img'\">"
            "<script>window.__pwned='script'</script>\n\n[click](javascript:window.__pwned='link')\n\n"
            "<iframe src=\"javascript:parent.__pwned='iframe'\"></iframe><style>body{display:none}</style>")
OUTPUTS = """from IPython.display import HTML, SVG, Javascript, Markdown, display
display(HTML('<img src=x onerror="window.__pwned=\\'html-output\\'">'))
display(Javascript("window.__pwned = 'js-output'"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg"><script>window.__pwned="svg"</script></svg>'))
display(Markdown('<img src=x onerror="window.__pwned=\\'md-output\\'">'))"""
# after the answer cell: every call of personal_info prints the student process's whole call stack
# (with source lines) and its arguments, and under IPython the source of every cell run
PRINTER_CODE = """import inspect
try:
    get_ipython().events.register('post_run_cell', lambda r: print(get_ipython().user_ns['_ih'][-1]))
except NameError:
    pass
_watched = personal_info
def personal_info(*args, **kwargs):
    for frame in inspect.stack():
        print("SEEN", frame.filename, frame.lineno, frame.code_context)
    print("SEEN args", args, kwargs)
    return _watched(*args, **kwargs)"""


def _hidden_fail(release, source):
    """Passes the visible test of personal_info, fails its hidden one (details change per call)."""
    nb = filled(release, source)
    i = next(k for k, c in enumerate(nb.cells) if meta(c).get("solution"))
    nb.cells[i].source += "\n\nimport itertools\n_calls = itertools.count()\n_original = personal_info\n" \
                          "def personal_info():\n    info = dict(_original())\n" \
                          "    info['developer'] += str(next(_calls))\n    return info"
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("feedback")
    project = make_project(tmp)
    ini = project / "settings.ini"          # the formgrader wants the course inside the server's root
    ini.write_text(re.sub(r"(?m)^course_dir\s*=.*$", "course_dir = course", ini.read_text(encoding="utf-8")),
                   encoding="utf-8")
    module = registry.resolve("00", project)
    course = Course.from_settings(project)
    from tito.core.course import generate

    generate(course, module)
    source = nbformat.read(course.source_notebook(module), as_version=4)
    release = nbformat.read(course.release_notebook(module), as_version=4)
    hostile = filled(release, source)
    hostile.cells.insert(1, new_markdown_cell(MARKDOWN))
    hostile.cells.insert(2, new_code_cell(OUTPUTS))
    hostile.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    printer = filled(release, source)
    printer.cells.insert(next(k for k, c in enumerate(printer.cells) if meta(c).get("solution")) + 1,
                         new_code_cell(PRINTER_CODE))
    inbox = tmp / "inbox"
    for name, nb in {GOOD: filled(release, source), EMPTY: release, HOSTILE: hostile, PRINTER: printer,
                     HIDDEN_FAIL: _hidden_fail(release, source)}.items():
        (inbox / name).mkdir(parents=True)
        nbformat.write(nb, inbox / name / module.notebook_name)
    collect(course, module, inbox)
    outcomes = {o.student: o for o in autograde(course, module, jobs=2, timeout=10)}
    files = {who: html for who, html, _ in feedback(course, module)}
    hidden = [line for c in source.cells for line in _hidden_lines(c.source)]
    return dict(project=project, course=course, module=module, outcomes=outcomes, files=files, hidden=hidden,
                source=source)


def test_scores_are_what_the_code_earned(graded):
    scores = {s: o.score for s, o in graded["outcomes"].items()}
    assert scores == {GOOD: 4, EMPTY: 0, HOSTILE: 4, PRINTER: 4, HIDDEN_FAIL: 2}, graded["outcomes"]


def test_feedback_never_contains_hidden_test_code(graded):
    assert len(graded["hidden"]) >= 4
    for student, html in graded["files"].items():
        text = html.read_text(encoding="utf-8")
        for line in graded["hidden"]:
            escaped = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            assert line not in text and escaped not in text, (student, line)
        assert "hidden tests: their outcome and message are shown below" in text, student
    # what the printer printed while the tests ran is in its feedback, without a hidden line
    printed = graded["files"][PRINTER].read_text(encoding="utf-8")
    assert printed.count("SEEN args") >= 2, "the printer's output is missing"
    # the failing hidden test: its outcome and message, not its code
    failed = graded["files"][HIDDEN_FAIL].read_text(encoding="utf-8")
    assert "AssertionError: personal_info() should return the same details every call" in failed
    # the instructor's copy keeps the hidden tests (grading is unchanged)
    graded_nb = nbformat.read(graded["course"].autograded_notebook(graded["module"], HIDDEN_FAIL), as_version=4)
    assert any(graded["hidden"][0] in c.source for c in graded_nb.cells)
    with sqlite3.connect(graded["course"].gradebook_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_hidden_line_that_reaches_an_output_is_blanked():
    """Hidden tests run in the judge, so a submission can't print their code; should a hidden line
    still reach an output (a literal a test passes in and the submission echoes, a traceback), the
    feedback blanks it: only the outcome and the message are shown."""
    from nbformat.v4 import new_notebook, new_output

    from tito.core.sanitize import HIDDEN_NOTE, HideHiddenTests

    secret = "assert personal_info()['developer'] != 'Somebody Else'"
    test = new_code_cell(f"x = 1\n### BEGIN HIDDEN TESTS\n{secret}\n### END HIDDEN TESTS")
    test.outputs = [new_output("stream", name="stdout", text=f"echo: {secret}\n"),
                    new_output("error", ename="AssertionError", evalue="not the same developer",
                               traceback=["Traceback", f"----> 3 {secret}", "AssertionError: not the same developer"])]
    other = new_code_cell("print('hi')")
    other.outputs = [new_output("stream", name="stdout", text=f"{secret}\nhi\n")]
    nb, _ = HideHiddenTests().preprocess(new_notebook(cells=[test, other]), {})
    text = json.dumps(nb)
    assert secret not in text, text
    assert HIDDEN_NOTE in nb.cells[0].source and "x = 1" in nb.cells[0].source
    assert nb.cells[0].outputs[0]["text"] == f"echo: {BLANKED}\n"
    assert nb.cells[0].outputs[1]["traceback"] == ["AssertionError: not the same developer"]
    assert nb.cells[1].outputs[0]["text"] == f"{BLANKED}\nhi\n"


def test_feedback_html_is_inert_and_offline(graded):
    text = graded["files"][HOSTILE].read_text(encoding="utf-8")
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", text, flags=re.S)
    assert len(scripts) == 2 and scripts[0].strip().startswith("window.MathJax = {"), [s[:80] for s in scripts]
    tags = _tags(text)
    assert [(t, n, v) for t, n, v in tags if n.startswith("on")] == []
    urls = [v for t, n, v in tags if n in ("src", "href")]
    assert [v for v in urls if re.match(r"\s*[a-z][a-z0-9+.-]*:", v, re.I) and not v.startswith("data:image/")] == []
    assert not [t for t, _, _ in tags if t in ("iframe", "object", "embed", "svg", "link")]
    assert "<style>body{display:none}" not in text


def _tags(html: str) -> list[tuple[str, str, str]]:
    """(tag, attribute, value) of every element the browser would build (script bodies are text)."""
    from html.parser import HTMLParser

    found = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.extend((tag, name.lower(), value or "") for name, value in attrs)
            if not attrs:
                found.append((tag, "", ""))

    Parser().feed(html)
    return found


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def _open(browser, url: str, allowed_prefix: str):
    """The page after MathJax ran, plus every request that left `allowed_prefix` (all refused)."""
    page = browser.new_page()
    outside = []

    def route(r):
        if r.request.url.startswith(allowed_prefix) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(url)
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000)
    page.evaluate("() => MathJax.startup.promise")
    return page, outside


def test_feedback_renders_math_and_runs_no_student_script_in_a_browser(graded, browser):
    for student in (HOSTILE, GOOD):
        html = graded["files"][student]
        page, outside = _open(browser, html.as_uri(), "file://")
        assert outside == [], outside
        assert page.evaluate("() => window.__pwned") is None
        assert page.locator("mjx-container").count() >= (1 if student == HOSTILE else 0)
        page.close()


# ---- the formgrader ---------------------------------------------------------------------------
def _post(server: LabServer, path: str) -> dict:
    request = urllib.request.Request(f"{server.base_url}{path}", data=b"", method="POST",
                                     headers={"Authorization": f"token {server.token}"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def test_formgrader_shows_the_submission_sanitised_and_its_buttons_go_through_tito(graded, browser, tmp_path):
    course, module = graded["course"], graded["module"]
    with course.gradebook() as gb:
        notebook_id = gb.find_submission_notebook(module.notebook_name[:-6], module.slug, HOSTILE).id
    with LabServer(graded["project"], port=PORT, instructor=True, isolated=True,
                   log_file=tmp_path / "lab.log") as server:
        view = f"{server.base_url}/formgrader/submissions/{notebook_id}/?token={server.token}"
        with urllib.request.urlopen(view, timeout=60) as response:
            text = response.read().decode()
        assert all(src.startswith("/formgrader/static/") for src in re.findall(r"<script[^>]*src=\"([^\"]+)\"", text))
        tags = _tags(text)
        handlers = [value for _, name, value in tags if name.startswith("on")]
        assert handlers and all(h.startswith("toggle_name(") for h in handlers), handlers   # nbgrader's own only
        assert not [t for t, _, _ in tags if t in ("iframe", "object", "embed", "svg")]
        assert "<style>body{display:none}" not in text
        assert "window.MathJax = {" in text
        page, outside = _open(browser, view, server.base_url)
        assert page.evaluate("() => window.__pwned") is None, page.evaluate("() => window.__pwned")
        assert page.locator("mjx-container").count() >= 1
        assert outside == [], outside
        page.close()

        slug = module.slug
        collected = _post(server, f"/formgrader/api/assignment/{slug}/collect")
        assert not collected["success"] and f"tito nbgrader collect {slug} --from DIR" in collected["error"]
        generated = _post(server, f"/formgrader/api/assignment/{slug}/assign")
        assert generated["success"] and "tito generated" in generated["log"], generated
        regraded = _post(server, f"/formgrader/api/submission/{slug}/{HIDDEN_FAIL}/autograde")
        assert regraded["success"] and "2/4" in regraded["log"], regraded
        fed = _post(server, f"/formgrader/api/assignment/{slug}/{HIDDEN_FAIL}/generate_feedback")
        assert fed["success"] and "tito wrote feedback" in fed["log"], fed
        leak = course.directory / "release" / slug / "notes.txt"
        leak.write_text(graded["hidden"][0] + "\n", encoding="utf-8")
        refused = _post(server, f"/formgrader/api/assignment/{slug}/release")
        assert not refused["success"] and "leak check" in refused["error"], refused
        leak.unlink()
        released = _post(server, f"/formgrader/api/assignment/{slug}/release")
        assert released["success"] and "leak check passed" in released["log"], released
    text = graded["files"][HIDDEN_FAIL].read_text(encoding="utf-8")
    assert all(line not in text for line in graded["hidden"])
