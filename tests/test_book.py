"""The course book: built from the real module sources, then checked in headless Chromium.

The browser test needs Debian's `chromium` (.ci/run installs it) and playwright from PyPI, which
drives that binary (playwright's own browser download cannot be reached here). It fails, never
skips, when either is missing. Every page is checked for JavaScript errors, one search box and code
that fits; full-page screenshots of the module-07 and module-08 chapters (or of the last module's
page while there are none) are kept in artifacts/book/.
"""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import socketserver
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from tito.core import book
from tito.core.notebook import read_source
from tito.core.registry import all_modules
from tito.core.settings import find_root, load_settings

ROOT = find_root(Path(__file__).resolve().parent)
ARTIFACTS = ROOT / "artifacts" / "book"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic", "--disable-sync",
    "--disable-background-networking", "--disable-component-update",
    "--disable-default-apps", "--disable-extensions",
]


# --------------------------------------------------------------------------- editions, failures

SOLUTION_MODULE = """\
# %% [markdown]
# # Module 99 — Demo

# %% nbgrader={"grade": false, "grade_id": "double", "locked": false, "schema_version": 3, "solution": true, "task": false}
def double(x):
    # TODO: return twice x
    ### BEGIN SOLUTION
    secret = x * 2
    print("solution ran")
    return secret
    ### END SOLUTION

# %%
print("demo", double(21))

# %% nbgrader={"grade": true, "grade_id": "test-double", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
assert double(2) == 4
print("visible test ran")
### BEGIN HIDDEN TESTS
assert double(-1) == -2
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test-plain", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
print("plain test ran")
"""


@pytest.fixture(scope="module")
def executed_demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("book") / "99_demo"
    folder.mkdir()
    source = folder / "demo_dev.py"
    source.write_text(SOLUTION_MODULE, encoding="utf-8")
    return book.execute(read_source(source), "module 99_demo", folder, timeout=60)


def _outputs(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []))


def test_student_edition_strips_like_nbgrader_and_keeps_only_outputs_of_unchanged_cells(executed_demo):
    student = book.student_edition(executed_demo, book.nbgrader_config(ROOT))
    text = nbformat.writes(student)
    for secret in ("secret", "x * 2", "BEGIN SOLUTION", "double(-1)", "HIDDEN TESTS"):
        assert secret not in text, f"{secret!r} leaked into the student edition"
    solution, demo, graded, plain = [c for c in student.cells if c.cell_type == "code"]
    assert "raise NotImplementedError()" in solution.source      # the stub from nbgrader_config.py
    assert solution.outputs == [] and graded.outputs == []       # their sources were changed
    assert "assert double(2) == 4" in graded.source              # visible test stays
    # An unchanged cell keeps its output: what the student will see once the TODO is done.
    assert _outputs(demo) == "solution ran\ndemo 42\n"
    assert _outputs(plain) == "plain test ran\n"
    # Where hidden tests were removed, a note says so (instead of an empty output); nowhere else.
    notes = [i for i, c in enumerate(student.cells) if c.source == book.HIDDEN_TESTS_NOTE]
    assert notes == [student.cells.index(graded) + 1], notes


def test_instructor_edition_shows_solutions_and_their_outputs(executed_demo):
    solution = [c for c in executed_demo.cells if c.cell_type == "code"][0]
    assert "### BEGIN SOLUTION" in solution.source and "secret = x * 2" in solution.source
    assert _outputs(solution) == ""            # defining a function prints nothing
    assert "solution ran" in nbformat.writes(executed_demo)


def test_a_failing_cell_names_module_cell_and_line(tmp_path):
    folder = tmp_path / "99_broken"
    folder.mkdir()
    source = folder / "broken_dev.py"
    source.write_text("# %%\nx = 1\n\n# %%\nraise ValueError('boom')\n", encoding="utf-8")
    with pytest.raises(book.BookError) as info:
        book.execute(read_source(source), "module 99_broken (broken_dev.py)", folder, timeout=60)
    message = str(info.value)
    assert "module 99_broken (broken_dev.py):4:" in message   # the failing cell's `# %%` line
    assert "code cell 2" in message and "ValueError: boom" in message


def test_config_takes_title_copyright_and_footer_from_settings():
    settings = load_settings(ROOT)
    config = book.book_config(ROOT, "instructor")
    assert config["title"] == settings.course_title
    assert config["copyright"] == settings.copyright
    footer = config["sphinx"]["config"]["html_theme_options"]["extra_footer"]
    assert settings.course_title in footer and "instructor edition" in footer
    assert "://" not in config["sphinx"]["config"]["mathjax_path"]      # served by the site itself


def test_config_merges_streams_and_drops_thebe_and_the_header_search():
    sphinx = book.book_config(ROOT, "student")["sphinx"]["config"]
    assert sphinx["nb_merge_streams"] is True
    assert "sphinx_thebe" not in sphinx["extensions"] and "myst_nb" in sphinx["extensions"]
    assert sphinx["html_theme_options"]["navbar_persistent"] == []
    assert sphinx["html_context"]["default_mode"] in ("auto", "light", "dark")


def test_unknown_edition_is_refused():
    with pytest.raises(book.TitoError, match="student, instructor"):
        book.check_edition("teacher")
    done = subprocess.run([sys.executable, "-m", "tito", "book", "build", "--edition", "teacher"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode != 0 and "Unknown edition 'teacher'" in done.stderr


# --------------------------------------------------------------------------- the lessons themselves

GRADING_GUARD = 'if __name__ == "__main__" and not os.environ.get("TINYTORCH_GRADING"):'


@pytest.mark.parametrize("module", all_modules(ROOT), ids=lambda m: m.slug)
def test_every_chapter_ends_with_a_summary_and_exercises(module):
    cells = read_source(module.source).cells
    markdown = [c.source for c in cells if c.cell_type == "markdown"]
    assert markdown[-1].startswith("## Exercises"), f"{module.slug}: the last cell is not the exercises"
    exercises = [line for line in markdown[-1].splitlines() if line[:3] in ("1. ", "2. ", "3. ", "4. ")]
    assert 2 <= len(exercises) <= 4, f"{module.slug}: {len(exercises)} exercises"
    assert markdown[-2].startswith("## What you built"), f"{module.slug}: no summary before the exercises"


@pytest.mark.parametrize("module", all_modules(ROOT), ids=lambda m: m.slug)
def test_pictures_stay_out_of_grading(module):
    """A cell that draws runs only when the student runs the notebook (CONTRIBUTING.md item 7)."""
    source = read_source(module.source)
    guarded = ("SHOW = " + GRADING_GUARD.removeprefix("if ").removesuffix(":")) in module.source.read_text()
    for cell in source.cells:
        if cell.cell_type != "code" or "plt.show()" not in cell.source:
            continue
        if cell.source.lstrip().startswith("#| export"):
            continue                                # a package function that plots when called
        assert GRADING_GUARD in cell.source or (guarded and "if SHOW:" in cell.source), \
            f"{module.slug}: a picture cell without the grading guard: {cell.source[:80]!r}"


def _student_run(module):
    """The student version of `module` (solutions stubbed, as nbgrader releases it), executed top
    to bottom as a student runs it: outside grading, so picture cells draw (or say why not)."""
    from nbclient import NotebookClient

    nb = book.student_edition(read_source(module.source), book.nbgrader_config(ROOT))
    nb.cells = [c for c in nb.cells if c.source != book.HIDDEN_TESTS_NOTE]
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(module.folder)}})
    saved = os.environ.pop("TINYTORCH_GRADING", None)
    try:
        with client.setup_kernel(stderr=subprocess.DEVNULL):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    client.execute_cell(cell, index)
    finally:
        if saved is not None:
            os.environ["TINYTORCH_GRADING"] = saved
    return nb


@pytest.mark.parametrize("module", [m for m in all_modules(ROOT)
                                    if GRADING_GUARD in m.source.read_text(encoding="utf-8")],
                         ids=lambda m: m.slug)
def test_picture_cells_in_the_student_notebook_say_what_to_finish(module):
    """CONTRIBUTING.md item 8: with every TODO still open, only NotImplementedError may stop a
    cell; a picture cell catches it and prints one line instead of a traceback."""
    for cell in _student_run(module).cells:
        if cell.cell_type != "code":
            continue
        errors = [o.ename for o in cell.outputs if o.output_type == "error"]
        if cell.metadata.get("nbgrader", {}).get("grade"):
            continue                                        # graded tests fail, and score 0
        assert set(errors) <= {"NotImplementedError"}, f"{module.slug}: {errors} in {cell.source[:80]!r}"
        if GRADING_GUARD in cell.source and "plt.show()" in cell.source:
            printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert errors == [] and printed.strip(), f"{module.slug}: a picture cell said nothing"
            assert len(printed.strip().splitlines()) == 1, printed


# --------------------------------------------------------------------------- the site in a browser

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("book-site")
    result = book.build(ROOT, "student", out=out)
    print(f"book build: {result.seconds:.1f} s (execute {result.execute_seconds:.1f} s, "
          f"Jupyter Book {result.sphinx_seconds:.1f} s)")
    return result


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_Quiet, directory=str(site.html_dir))
    httpd = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is required for the book's browser test: "
                    "apt-get install -y chromium (.ci/run does this)", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is required: pip install -e '.[dev]'", pytrace=False)
    with sync_playwright() as p:
        # Resolve every host name except our own to nothing, so a stray request cannot leave the
        # machine even if the assertion below failed to see it.
        flags = CHROMIUM_FLAGS + ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1']
        instance = p.chromium.launch(executable_path=chromium, args=flags)
        yield instance
        instance.close()


WAIT_FOR_MATH = """async () => {
    if (!document.querySelector('script[src*="tex-mml-chtml"]')) return 'no MathJax on this page';
    for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
        await new Promise(r => setTimeout(r, 50));
    if (!(window.MathJax && MathJax.startup)) return 'MathJax did not load';
    await MathJax.startup.promise;
    return 'typeset';
}"""

RAW_MATH_IN_VISIBLE_TEXT = """() => {
    const skip = 'pre, code, script, style, mjx-container, textarea';
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const raw = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const parent = node.parentElement;
        if (!parent || parent.closest(skip) || !parent.checkVisibility()) continue;
        if (/\\\\\\(|\\\\\\[/.test(node.textContent)) raw.push(node.textContent.trim().slice(0, 80));
    }
    return raw;
}"""

IMAGES = """() => Array.from(document.querySelectorAll('main img')).map(img => ({
    src: img.getAttribute('src'), loaded: img.complete && img.naturalWidth > 0, width: img.naturalWidth}))"""


SEARCH_BOXES = """() => Array.from(document.querySelectorAll(
        '.search-button-field, input[type=search], form.bd-search'))
    .filter(el => !el.closest('main') && el.checkVisibility()).length"""

CODE_CUT_AT_THE_RIGHT = """() => Array.from(document.querySelectorAll('main pre'))
    .filter(pre => pre.scrollWidth > pre.clientWidth + 1)
    .map(pre => pre.textContent.split('\\n').reduce((a, b) => a.length > b.length ? a : b).slice(0, 80))"""

SPLIT_STREAMS = """() => Array.from(document.querySelectorAll('main div.cell_output'))
    .filter(out => Array.from(out.children).some((child, i, all) => i > 0
        && child.matches('.output.stream') && all[i - 1].matches('.output.stream')
        && child.className === all[i - 1].className)).length"""


def _open(browser, url, requests, lands_on=None):
    """Open `url`, wait for MathJax, and check what every page must satisfy: no JavaScript error
    or console error, one search box, no code cut off at the right edge."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.goto(url, wait_until="load")
    if lands_on:                                   # index.html redirects to the first page
        page.wait_for_url(f"**/{lands_on}", wait_until="load")
    math = page.evaluate(WAIT_FOR_MATH)
    assert math != "MathJax did not load", f"MathJax did not load on {page.url}"
    page.wait_for_load_state("networkidle")
    assert problems == [], f"JavaScript errors on {page.url}: {problems}"
    assert page.evaluate(SEARCH_BOXES) == 1, f"{page.url}: not exactly one search box"
    assert page.evaluate(CODE_CUT_AT_THE_RIGHT) == [], f"{page.url}: code cut at the right edge"
    assert page.evaluate(SPLIT_STREAMS) == 0, f"{page.url}: consecutive prints split into several outputs"
    return page, math


def _figure_cells(module) -> int:
    """Code cells of a module that draw a picture with plt.show() outside the package."""
    return sum(1 for cell in read_source(module.source).cells
               if cell.cell_type == "code" and "plt.show()" in cell.source
               and not cell.source.lstrip().startswith("#| export"))


def _hidden_test_cells(module) -> int:
    return sum(1 for cell in read_source(module.source).cells
               if cell.cell_type == "code" and "### BEGIN HIDDEN TESTS" in cell.source)


def test_site_in_headless_chromium(site, server, browser):
    modules = all_modules(ROOT)
    assert modules, "the registry lists no modules"
    requests: list[str] = []

    # Home page: the table of contents lists every module, in registry order.
    page, has_math = _open(browser, server, requests, lands_on="intro.html")
    toc = page.eval_on_selector_all(
        "nav.bd-links a.reference.internal",
        "links => links.map(a => a.getAttribute('href'))")
    listed = [href.split("/")[-1].removesuffix(".html") for href in toc if "chapters/" in href]
    assert listed == [m.slug for m in modules], f"TOC lists {listed}"
    # Math rendered: MathJax ran, made containers, and left no raw TeX delimiters or errors.
    assert has_math == "typeset", f"home page: {has_math}"
    assert page.locator("mjx-container").count() >= 3
    assert page.locator("mjx-merror").count() == 0
    assert page.evaluate(RAW_MATH_IN_VISIBLE_TEXT) == []
    # A plot image (the course map, drawn by matplotlib during the build) loaded.
    images = page.evaluate(IMAGES)
    assert any(i["loaded"] and i["width"] > 200 for i in images), f"no plot image loaded: {images}"
    # The course's own title and copyright, from settings.ini, in the header and footer.
    settings = load_settings(ROOT)
    footer = page.inner_text("footer.bd-footer-content")
    assert settings.copyright in footer and settings.course_title in footer, footer
    assert settings.course_title in page.title()
    page.close()

    # Every chapter: opens, typesets its math, loads its images.
    # Screenshots kept in artifacts/book/: the optimizer paths (08) and the autograd graph (07).
    shots = [m for m in modules if m.number in (7, 8)] or [modules[-1]]
    for module in modules:
        page, _ = _open(browser, server + f"chapters/{module.slug}.html", requests)
        assert page.title() and "404" not in page.title()
        assert page.evaluate(RAW_MATH_IN_VISIBLE_TEXT) == [], f"raw TeX on {module.slug}'s page"
        assert page.locator("mjx-merror").count() == 0, f"MathJax error on {module.slug}'s page"
        # Student edition (the default): stubs shown, no solution or hidden-test region left.
        text = page.inner_text("main")
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, module.slug
        if "### BEGIN SOLUTION" in module.source.read_text(encoding="utf-8"):
            assert "raise NotImplementedError()" in text, f"no stub on {module.slug}'s page"
        images = page.evaluate(IMAGES)
        broken = [i["src"] for i in images if not i["loaded"]]
        assert broken == [], f"images that did not load on {module.slug}'s page: {broken}"
        # Every picture the module draws from the student's code made it into the chapter.
        drawn = [i for i in images if i["loaded"] and i["width"] > 200]
        assert len(drawn) >= _figure_cells(module), f"{module.slug}: {len(drawn)} pictures on the page"
        # The student edition says where hidden tests were removed, once per such cell.
        assert page.locator("div.tinytorch-hidden-tests").count() == _hidden_test_cells(module), module.slug
        if module in shots:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{module.slug}.png"), full_page=True)
        page.close()
    for module in shots:
        assert (ARTIFACTS / f"{module.slug}.png").stat().st_size > 10_000

    # Every other page of the site (quick start, instructor guide, index, search with a query).
    pages = sorted(p.relative_to(site.html_dir).as_posix() for p in site.html_dir.rglob("*.html")
                   if p.parts[len(site.html_dir.parts)] not in ("_static", book.MATHJAX_DIR))
    others = [name for name in pages if name not in ("index.html", "intro.html")
              and not name.startswith("chapters/")]
    assert {"quickstart.html", "instructor.html", "search.html"} <= set(others), others
    for name in others:
        page, _ = _open(browser, server + name + ("?q=tensor" if name == "search.html" else ""), requests)
        page.close()

    # No request left the machine: everything came from the local server (or inline data).
    outside = [u for u in requests if not u.startswith(server) and not u.startswith(("data:", "blob:", "about:"))]
    assert outside == [], f"requests that left the site: {outside}"
    assert any("/mathjax/" in u for u in requests), "MathJax was not served by the site"
