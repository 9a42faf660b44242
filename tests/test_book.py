"""The course book: built from the real module sources, then checked in headless Chromium.

The browser test needs Debian's `chromium` (.ci/run installs it) and playwright from PyPI, which
drives that binary (playwright's own browser download cannot be reached here). It fails, never
skips, when either is missing. A screenshot of the module-08 page (or of the last module's page
while there is no module 08) is kept in artifacts/book/.
"""
from __future__ import annotations

import functools
import http.server
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


def test_unknown_edition_is_refused():
    with pytest.raises(book.TitoError, match="student, instructor"):
        book.check_edition("teacher")
    done = subprocess.run([sys.executable, "-m", "tito", "book", "build", "--edition", "teacher"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode != 0 and "Unknown edition 'teacher'" in done.stderr


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


def _open(browser, url, requests, lands_on=None):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("request", lambda request: requests.append(request.url))
    page.goto(url, wait_until="load")
    if lands_on:                                   # index.html redirects to the first page
        page.wait_for_url(f"**/{lands_on}", wait_until="load")
    math = page.evaluate(WAIT_FOR_MATH)
    assert math != "MathJax did not load", f"MathJax did not load on {page.url}"
    return page, math


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
    shot = next((m for m in modules if m.number == 8), modules[-1])
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
        broken = [i["src"] for i in page.evaluate(IMAGES) if not i["loaded"]]
        assert broken == [], f"images that did not load on {module.slug}'s page: {broken}"
        if module == shot:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{module.slug}.png"), full_page=True)
        page.close()
    assert (ARTIFACTS / f"{shot.slug}.png").stat().st_size > 10_000

    # No request left the machine: everything came from the local server (or inline data).
    outside = [u for u in requests if not u.startswith(server) and not u.startswith(("data:", "blob:", "about:"))]
    assert outside == [], f"requests that left the site: {outside}"
    assert any("/mathjax/" in u for u in requests), "MathJax was not served by the site"
