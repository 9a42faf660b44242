"""The course book: module sources -> executed chapter notebooks -> Jupyter Book 1 (Sphinx) site.

Every module in the registry becomes one chapter, in registry order, between the hand-written
pages in book/ (introduction, quick start, instructor guide). The build:

1. reads each module source (`read_source`), executes the *complete* notebook (solutions in) in
   its own kernel, with the module's folder as working directory; an error stops the build and
   names the module, the cell and its line in the source;
2. for the student edition, strips the executed notebook with nbgrader's own `ClearSolutions` and
   `ClearHiddenTests` preprocessors (configured from nbgrader_config.py), and drops the outputs of
   every cell whose source they changed: what remains visible is exactly the student notebook, and
   an output is shown only under code the student sees; a note follows each cell whose hidden
   tests were removed;
3. writes `_config.yml` (title, copyright and footer from settings.ini; MathJax from the built
   site; merged output streams; one search box; no thebe) and `_toc.yml` into
   book/_build/<edition>/source with book/_static/ (the book's CSS: code wraps instead of being
   cut off) and book/favicon.svg, runs Jupyter Book (execution off), and copies MathJax 3, from
   the `django-static-mathjax` package, into the site's `mathjax/` folder.
"""
from __future__ import annotations

import configparser
import copy
import html
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat
import yaml

from tito.core.notebook import SourceError, clean_for_output, read_source
from tito.core.registry import Module, all_modules
from tito.core.settings import TitoError, load_settings

EDITIONS = ("student", "instructor")
STATIC_PAGES = ("intro", "quickstart", "instructor")   # book/<name>.md, in TOC order around the chapters
MATHJAX_DIR = "mathjax"                                # in the built site; not _static/ (Sphinx owns that)
DEFAULT_CELL_TIMEOUT = 120
FAVICON = "favicon.svg"                                # book/favicon.svg, copied into each build


class BookError(TitoError):
    """The book could not be built; the message says where and why."""


@dataclass
class Chapter:
    module: Module | None          # None for the hand-written pages
    name: str                      # file stem in the site: "intro", "chapters/01_tensor"
    notebook: nbformat.NotebookNode | None = None
    seconds: float = 0.0


@dataclass
class BuildResult:
    edition: str
    html_dir: Path
    source_dir: Path
    chapters: list[Chapter] = field(default_factory=list)
    execute_seconds: float = 0.0
    sphinx_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def modules(self) -> list[Module]:
        return [c.module for c in self.chapters if c.module is not None]


# --------------------------------------------------------------------------- paths and settings

def book_dir(root: Path) -> Path:
    return root / "book"


def build_dir(root: Path, edition: str) -> Path:
    return book_dir(root) / "_build" / edition


def html_dir(root: Path, edition: str) -> Path:
    return build_dir(root, edition) / "html"


def check_edition(edition: str) -> str:
    if edition not in EDITIONS:
        raise TitoError(f"Unknown edition {edition!r}: choose one of {', '.join(EDITIONS)}.")
    return edition


def cell_timeout(root: Path) -> int:
    """Seconds one cell may run during the book build: [book] cell_timeout in settings.ini."""
    parser = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
    parser.read(root / "settings.ini")
    raw = parser.get("book", "cell_timeout", fallback=str(DEFAULT_CELL_TIMEOUT))
    try:
        return int(raw)
    except ValueError:
        raise TitoError(f"settings.ini: [book] cell_timeout must be a whole number, got {raw!r}") from None


def mathjax_source() -> Path:
    """MathJax 3's browser build (es5/), as shipped by the `django-static-mathjax` package (PyPI)."""
    try:
        import mathjax
    except ImportError:
        mathjax = None
    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" if mathjax and mathjax.__file__ else None
    if es5 is None or not (es5 / "tex-mml-chtml.js").is_file():
        raise BookError("MathJax is missing: install the project's dependencies (pip install -e .), "
                        "which include django-static-mathjax, the package that ships MathJax 3.")
    return es5


# --------------------------------------------------------------------------- execution

def execute(nb: nbformat.NotebookNode, where: str, cwd: Path, timeout: int) -> nbformat.NotebookNode:
    """Run every code cell in a fresh kernel; a failing cell raises BookError naming `where`,
    the cell's number and, for module sources, its line."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = copy.deepcopy(nb)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    code_number = 0
    # The kernel's own stderr is only start-up chatter; what a cell prints arrives as its output.
    with client.setup_kernel(stderr=subprocess.DEVNULL):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            code_number += 1
            try:
                client.execute_cell(cell, index)
            except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
                line = cell.metadata.get("tito_line")
                at = f"{where}:{line}" if line else where
                first = cell.source.strip().splitlines()[:1]
                reason = _error_summary(err, timeout)
                raise BookError(f"{at}: code cell {code_number} (notebook cell {index + 1}) failed while "
                                f"building the book: {reason}"
                                + (f"\n    cell starts: {first[0][:100]}" if first else "")) from None
    return nb


def _error_summary(err: Exception, timeout: int) -> str:
    ename, evalue = getattr(err, "ename", None), getattr(err, "evalue", None)
    if ename:
        return f"{ename}: {evalue}"
    if type(err).__name__ == "CellTimeoutError":
        return f"timed out after {timeout} s"
    return f"{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}"


# --------------------------------------------------------------------------- student edition

def nbgrader_config(root: Path):
    """nbgrader's configuration as `nbgrader` itself loads it from nbgrader_config.py."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config_file = root / "nbgrader_config.py"
    if not config_file.is_file():
        return Config()
    return PyFileConfigLoader(config_file.name, path=str(root)).load_config()


HIDDEN_TESTS_NOTE = (":::{admonition} Hidden tests removed\n:class: tinytorch-hidden-tests\n"
                     "When your notebook is graded, the cell above also runs tests that are not "
                     "shown here. Run the cell in your notebook to see what its visible tests "
                     "print.\n:::")


def student_edition(executed: nbformat.NotebookNode, config) -> nbformat.NotebookNode:
    """Strip solutions and hidden tests with nbgrader's preprocessors; keep an output only where
    the cell's source reached the student unchanged, and say where hidden tests were removed."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    nb = copy.deepcopy(executed)
    before = [cell.source for cell in nb.cells]
    resources: dict = {}
    nb, resources = ClearSolutions(config=config).preprocess(nb, resources)
    without_solutions = [cell.source for cell in nb.cells]
    nb, resources = ClearHiddenTests(config=config).preprocess(nb, resources)
    if len(nb.cells) != len(before):       # the preprocessors rewrite cells, they never drop them
        raise BookError("nbgrader's preprocessors changed the number of cells; cannot match outputs")
    cells = []
    for cell, source, middle in zip(nb.cells, before, without_solutions):
        if cell.cell_type == "code" and cell.source != source:
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
        if cell.cell_type == "code" and cell.source != middle:     # ClearHiddenTests changed it
            note = nbformat.v4.new_markdown_cell(HIDDEN_TESTS_NOTE)
            note["id"] = f"{cell.get('id') or len(cells)}-hidden-tests"[:64]
            cells.append(note)
    nb.cells = cells
    return nb


# --------------------------------------------------------------------------- pages

def module_chapter(module: Module, edition: str, timeout: int, config) -> Chapter:
    start = time.perf_counter()
    try:
        nb = read_source(module.source)
    except SourceError as err:
        raise BookError(f"{module.slug}: {err}") from None
    where = f"module {module.slug} ({module.source.relative_to(module.root).as_posix()})"
    executed = execute(nb, where, module.folder, timeout)
    shown = student_edition(executed, config) if edition == "student" else executed
    shown = clean_for_output(shown)
    _add_edition_note(shown, module, edition)
    return Chapter(module, f"chapters/{module.slug}", shown, time.perf_counter() - start)


def _add_edition_note(nb: nbformat.NotebookNode, module: Module, edition: str) -> None:
    """A one-line note under the chapter title: which edition this is and where its source lives."""
    source = module.source.relative_to(module.root).as_posix()
    if edition == "student":
        text = (f"Student edition: the code you write is replaced by a stub, as in your notebook "
                f"`{module.notebook_name}`. Source: `{source}`.")
    else:
        text = f"Instructor edition: solutions and hidden tests are shown. Source: `{source}`."
    note = nbformat.v4.new_markdown_cell(f":::{{note}}\n{text}\n:::")
    note["id"] = "tito-book-edition-note"
    position = next((i + 1 for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), 0)
    nb.cells.insert(position, note)


def static_page(root: Path, name: str, timeout: int) -> Chapter:
    """A hand-written page of book/; one with code cells is executed like a chapter."""
    path = book_dir(root) / f"{name}.md"
    if not path.is_file():
        raise BookError(f"missing book page {path.relative_to(root)}")
    text = path.read_text(encoding="utf-8")
    if "```{code-cell}" not in text:
        return Chapter(None, name)
    start = time.perf_counter()
    nb = jupytext.reads(text, fmt="md:myst")
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                  "name": "python3"}, "language_info": {"name": "python"}}
    for cell in nb.cells:
        for key in ("lines_to_next_cell",):
            cell.metadata.pop(key, None)
    executed = execute(nb, f"book page {path.relative_to(root).as_posix()}", book_dir(root), timeout)
    return Chapter(None, name, executed, time.perf_counter() - start)


# --------------------------------------------------------------------------- config and toc

def book_config(root: Path, edition: str) -> dict:
    settings = load_settings(root)
    template = book_dir(root) / "_config.yml"
    config = yaml.safe_load(template.read_text(encoding="utf-8")) if template.is_file() else {}
    title = settings.course_title
    holder = settings.copyright.lstrip("0123456789–- ").strip() or settings.copyright
    config["title"] = title
    config["author"] = holder
    config["copyright"] = settings.copyright
    html_cfg = config.setdefault("html", {})
    html_cfg["extra_footer"] = (
        f'<p class="tinytorch-footer">{html.escape(title)} · {edition} edition · '
        f"built from the module sources with <code>tito book build</code></p>")
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx_config["html_title"] = title
    sphinx_config["html_last_updated_fmt"] = None
    # A page without an icon makes the browser ask for /favicon.ico: a 404 in every console.
    sphinx_config["html_favicon"] = FAVICON
    theme = sphinx_config.setdefault("html_theme_options", {})
    theme["extra_footer"] = html_cfg["extra_footer"]
    # One search box: the sidebar's. pydata-sphinx-theme >= 0.17 also puts one in a header bar
    # that sphinx-book-theme no longer hides.
    theme["navbar_persistent"] = []
    # pydata-sphinx-theme reads the colour mode from the page context; unset, every page logs
    # "Got invalid theme mode" to the console.
    sphinx_config.setdefault("html_context", {})["default_mode"] = "auto"
    # Jupyter Book's extensions without sphinx-thebe: thebe is off, yet the extension declared
    # its script's CDN address twice on every page (a JavaScript error) and named a CDN.
    sphinx_config["extensions"] = _extensions_without_thebe()
    # Consecutive prints of a cell render as one output block.
    sphinx_config["nb_merge_streams"] = True
    # MathJax 3 from the built site. Sphinx puts every local script under _static/; "../" lifts it
    # out to the site's own mathjax/ folder, where MathJax also finds its fonts and extensions.
    sphinx_config["mathjax_path"] = f"../{MATHJAX_DIR}/tex-mml-chtml.js"
    return config


def _extensions_without_thebe() -> list[str]:
    from jupyter_book.config import get_default_sphinx_config

    return [name for name in get_default_sphinx_config()["extensions"] if name != "sphinx_thebe"]


def book_toc(chapters: list[Chapter]) -> dict:
    pages = {c.name for c in chapters if c.module is None}
    parts = []
    if "quickstart" in pages:
        parts.append({"caption": "Getting started", "chapters": [{"file": "quickstart"}]})
    modules = [{"file": c.name} for c in chapters if c.module is not None]
    if modules:
        parts.append({"caption": "Modules", "numbered": False, "chapters": modules})
    if "instructor" in pages:
        parts.append({"caption": "For instructors", "chapters": [{"file": "instructor"}]})
    return {"format": "jb-book", "root": "intro", "parts": parts}


# --------------------------------------------------------------------------- the build

def build(root: Path | None = None, edition: str | None = None, jobs: int | None = None,
          progress=None, out: Path | None = None) -> BuildResult:
    """Build the book for one edition into `out` (default book/_build/<edition>): the generated
    sources in out/source, the site in out/html. Return what was built."""
    from tito.core.settings import find_root

    root = Path(root) if root else find_root()
    settings = load_settings(root)
    edition = check_edition(edition or settings.book_edition)
    timeout = cell_timeout(root)
    jobs = jobs or min(os.cpu_count() or 1, 4)
    config = nbgrader_config(root)
    total_start = time.perf_counter()
    say = progress or (lambda message: None)

    tasks = [("page", name) for name in STATIC_PAGES] + [("module", m) for m in all_modules(root)]

    def run(task):
        kind, item = task
        chapter = static_page(root, item, timeout) if kind == "page" else \
            module_chapter(item, edition, timeout, config)
        if chapter.notebook is not None:
            say(f"executed {item if kind == 'page' else item.slug} in {chapter.seconds:.1f} s")
        return chapter

    start = time.perf_counter()
    # Kernels inherit the environment: the intro's course map finds this project through it.
    saved = os.environ.get("TINYTORCH_ROOT")
    os.environ["TINYTORCH_ROOT"] = str(root)
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(run, task) for task in tasks]
            chapters, errors = [], []
            try:
                for future in futures:
                    try:
                        chapters.append(future.result())
                    except BookError as err:
                        errors.append(str(err))
            except KeyboardInterrupt:               # Ctrl-C: start no further notebooks
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    finally:
        if saved is None:
            os.environ.pop("TINYTORCH_ROOT", None)
        else:
            os.environ["TINYTORCH_ROOT"] = saved
    if errors:
        raise BookError("the book was not built:\n  " + "\n  ".join(errors))
    execute_seconds = time.perf_counter() - start

    out = Path(out) if out else build_dir(root, edition)
    source = out / "source"
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    for chapter in chapters:
        if chapter.notebook is None:
            shutil.copy2(book_dir(root) / f"{chapter.name}.md", source / f"{chapter.name}.md")
        else:
            target = source / f"{chapter.name}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(chapter.notebook, target)
    for extra in ("_static",):
        if (book_dir(root) / extra).is_dir():
            shutil.copytree(book_dir(root) / extra, source / extra)
    if (book_dir(root) / FAVICON).is_file():
        shutil.copy2(book_dir(root) / FAVICON, source / FAVICON)
    (source / "_config.yml").write_text(yaml.safe_dump(book_config(root, edition), sort_keys=False),
                                        encoding="utf-8")
    (source / "_toc.yml").write_text(yaml.safe_dump(book_toc(chapters), sort_keys=False), encoding="utf-8")

    say("running Jupyter Book (Sphinx)")
    start = time.perf_counter()
    site = out / "html"
    if site.exists():
        shutil.rmtree(site)
    _run_jupyter_book(source, out)
    produced = out / "_build" / "html"
    if not (produced / "index.html").is_file():
        raise BookError(f"Jupyter Book produced no index.html in {produced}")
    produced.rename(site)
    shutil.copytree(mathjax_source(), site / MATHJAX_DIR)
    sphinx_seconds = time.perf_counter() - start
    return BuildResult(edition, site, source, chapters, execute_seconds, sphinx_seconds,
                       time.perf_counter() - total_start)


def _run_jupyter_book(source: Path, out: Path) -> None:
    """`jupyter-book build` in its own process (Sphinx patches docutils globals)."""
    command = [sys.executable, "-c", "import sys; from jupyter_book.cli.main import main; sys.exit(main())",
               "build", str(source), "--path-output", str(out), "--builder", "html", "--all", "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True)
    log = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        tail = "\n".join(log.splitlines()[-30:])
        raise BookError(f"Jupyter Book failed (exit {done.returncode}):\n{tail}")
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    report = out / "warnings.txt"
    if warnings:
        report.write_text("\n".join(warnings) + "\n", encoding="utf-8")
    elif report.exists():
        report.unlink()
