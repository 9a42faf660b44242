"""Student workspaces: `tito nbgrader release --to DIR`, the leak check, and `tito test` there.

A workspace is a folder a student installs with `pip install -e DIR`:

    DIR/settings.ini                              the course's settings plus `[workspace] student = true`
    DIR/pyproject.toml                            installs `tinytorch` and `tito` from DIR
    DIR/README.md                                 the three commands a student needs
    DIR/modules/source/NN_name/name_dev.ipynb     the student notebooks (solutions stubbed, no hidden tests)
    DIR/tito/                                     the tito CLI
    DIR/milestones/NN_name/train.py               the milestones, run on the student's package
    DIR/tinytorch/                                exported from those notebooks: stubs raise NotImplementedError

There are no `_dev.py` sources, so the registry takes each module's source to be the student's
notebook: `tito export 01` exports the student's own code into DIR/tinytorch, and `tito test 01`
runs `nbgrader validate` on the notebook with DIR first on PYTHONPATH, so later modules import
the student's own earlier work. The `[workspace]` section is how tito knows it is in one.
"""
from __future__ import annotations

import configparser
import json
import keyword
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tito.core import exporter
from tito.core.course import Course, _quiet, generate
from tito.core.notebook import MARKERS, read_source
from tito.core.registry import Module, all_modules
from tito.core.settings import TitoError, in_workspace

MIN_SECRET = 12          # shorter lines (`return out`, `else:`) are too common to prove a leak
MIN_NAMES = 3            # nor do lines with fewer names/numbers/strings (`except ValueError:`)
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d*)?|\"[^\"]*\"|'[^']*'")


def _specific(text: str) -> bool:
    """Specific enough that finding it elsewhere means it was copied from a solution."""
    names = [t for t in _TOKEN.findall(text) if not keyword.iskeyword(t)]
    return len(text) >= MIN_SECRET and len(names) >= MIN_NAMES


def is_workspace(root: Path) -> bool:
    return in_workspace(root)


# ---- the leak check ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Secret:
    module: str
    cell: str
    kind: str


@dataclass(frozen=True)
class Leak:
    file: Path
    line: int
    text: str
    secret: Secret

    def __str__(self) -> str:
        return (f"{self.file}:{self.line}: a line from the {self.secret.kind} block of "
                f"{self.secret.module} cell {self.secret.cell!r}: {self.text[:80]!r}")


def secret_lines(modules: list[Module]) -> dict[str, Secret]:
    """Every line inside a BEGIN/END SOLUTION or HIDDEN TESTS block of the sources (stripped),
    minus lines that the sources also show outside such blocks (those are public anyway)."""
    secrets: dict[str, Secret] = {}
    public: set[str] = set()
    for module in modules:
        nb = read_source(module.source)
        for index, cell in enumerate(nb.cells):
            cell_name = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
            inside = None
            for line in cell.source.splitlines():
                text = line.strip()
                opened = [kind for kind, (begin, _) in MARKERS.items() if text == begin]
                closed = [kind for kind, (_, end) in MARKERS.items() if text == end]
                if opened:
                    inside = opened[0]
                elif closed:
                    inside = None
                elif inside:
                    if _specific(text):
                        secrets.setdefault(text, Secret(module.slug, cell_name, inside))
                else:
                    public.add(text)
    return {line: where for line, where in secrets.items() if line not in public}


def _lines_of(path: Path):
    """(line number, stripped text) of a file; for notebooks, of every cell's source and output."""
    raw = path.read_bytes()
    if b"\0" in raw[:4096]:
        return
    text = raw.decode("utf-8", errors="replace")
    if path.suffix == ".ipynb":
        try:
            nb = json.loads(text)
        except ValueError:
            nb = None
        if isinstance(nb, dict):
            for index, cell in enumerate(nb.get("cells", []), start=1):
                chunks = [cell.get("source", "")]
                for output in cell.get("outputs", []):
                    chunks += [output.get("text", "")] + list(output.get("data", {}).values())
                for chunk in chunks:
                    chunk = "".join(chunk) if isinstance(chunk, list) else str(chunk)
                    for line in chunk.splitlines():
                        yield index, line.strip()
    for number, line in enumerate(text.splitlines(), start=1):
        yield number, line.strip()


def find_leaks(folder: Path, secrets: dict[str, Secret]) -> list[Leak]:
    leaks = []
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file():
            continue
        for number, text in _lines_of(path):
            secret = secrets.get(text)
            if secret is not None:
                leaks.append(Leak(path.relative_to(folder), number, text, secret))
    return leaks


# ---- release ----------------------------------------------------------------------------------
@dataclass
class ReleaseResult:
    destination: Path
    written: list[Module] = field(default_factory=list)
    kept: list[Module] = field(default_factory=list)       # the student's notebook was already there
    package_files: list[Path] = field(default_factory=list)


PYPROJECT = """\
# A TinyTorch student workspace, written by `tito nbgrader release`.
# Install it with:  pip install -e .
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "tinytorch"
version = "{version}"
description = "My TinyTorch: the deep-learning framework I build in the course notebooks"
requires-python = ">=3.10"
dependencies = {dependencies}

[project.scripts]
tito = "tito.main:main"

[tool.setuptools.packages.find]
include = ["tinytorch*", "tito*"]

[tool.nbdev]
lib_name = "tinytorch"
lib_path = "tinytorch"
nbs_path = "modules/source"
update_pyproject = false
"""

README = """\
# My TinyTorch workspace

Install once, from this folder: `pip install -e .`

Your notebooks are in `modules/source/NN_name/name_dev.ipynb`. For each module:

```bash
tito lab            # JupyterLab on this folder: open the module's notebook, implement the TODOs
tito export 01      # copy your `#| export` cells into tinytorch/core/ (or `!tito export 01` in a cell)
tito test 01        # run the notebook's tests (nbgrader validate) against your package
```

In JupyterLab, nbgrader's Validate button gives the same verdict as `tito test`. Later modules
import your own earlier work (`from tinytorch.core.tensor import Tensor`), so export each module
before moving on.

When a test fails because an earlier function is still a stub, the error names it and the module
to finish first. Once modules 00–09 pass, `tito milestone list` and `tito milestone run 01` train
networks on your own package. `tito doctor` checks that everything is installed.
"""


def _dependencies(root: Path) -> list[str]:
    try:
        import tomllib

        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        return list(project.get("dependencies", []))
    except (OSError, KeyError, ValueError):
        return ["numpy>=2.0", "jupytext>=1.19", "nbgrader>=0.9.6,<0.10", "nbdev>=3.3,<4",
                "nbformat>=5.10", "nbconvert>=7.16", "nbclient>=0.10", "typer>=0.15", "rich>=13"]


def _version(root: Path) -> str:
    found = re.search(r'__version__\s*=\s*"([^"]+)"', (root / "tinytorch" / "__init__.py").read_text(encoding="utf-8")) \
        if (root / "tinytorch" / "__init__.py").is_file() else None
    return found.group(1) if found else "0.1.0"


def _package_dir(root: Path) -> Path:
    """The instructor's tinytorch package: the project's own, else the installed one."""
    if (root / "tinytorch" / "__init__.py").is_file():
        return root / "tinytorch"
    import tinytorch

    return Path(tinytorch.__file__).resolve().parent


def release(course: Course, modules: list[Module], destination: Path, force: bool = False,
            student_notebook=None) -> ReleaseResult:
    """Write (or update) a student workspace. A student's existing notebook is never replaced
    unless `force`. Nothing is written when the leak check finds a line of a solution or hidden
    test anywhere in what would be written: the error names file, line, module and cell.

    `student_notebook(module) -> Path` picks the notebook to release (default: nbgrader's release
    version, regenerated from the source); tests use it to prove the leak check bites."""
    root = course.root
    destination = Path(destination).resolve()
    if destination == root:
        raise TitoError("--to must be a new folder, not the course repository itself")
    result = ReleaseResult(destination)
    to_write = []
    for module in modules:
        existing = destination / "modules" / "source" / module.slug / module.notebook_name
        (result.kept if existing.is_file() and not force else to_write).append(module)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tito-release-", dir=destination.parent))
    try:
        version = _version(root)
        (staging / "settings.ini").write_text(
            (root / "settings.ini").read_text(encoding="utf-8").rstrip() +
            "\n\n[workspace]\n# This folder is a student workspace: `tito export` exports the notebooks in\n"
            "# modules/source/, `tito test` runs nbgrader validate on them.\nstudent = true\n",
            encoding="utf-8")
        (staging / "pyproject.toml").write_text(
            PYPROJECT.format(version=version, dependencies=json.dumps(_dependencies(root))), encoding="utf-8")
        (staging / "README.md").write_text(README, encoding="utf-8")
        import tito

        shutil.copytree(Path(tito.__file__).resolve().parent, staging / "tito",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
        # The milestones train networks on the student's own package (`tito milestone run 01`).
        if (root / "milestones").is_dir():
            shutil.copytree(root / "milestones", staging / "milestones",
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
        # The package's hand-written parts (data files, support code) travel as they are; the
        # files `tito export` generates come from the student notebooks instead.
        generated = {m.package_file().relative_to(root / "tinytorch")
                     for m in all_modules(root) if m.package_file() is not None}
        shutil.copytree(_package_dir(root), staging / "tinytorch",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
        for path in list((staging / "tinytorch").rglob("*.py")):
            if path.relative_to(staging / "tinytorch") in generated:
                path.unlink()
        (staging / "tinytorch" / "__init__.py").write_text(
            f'"""My TinyTorch: generated by `tito export` from my notebooks in modules/source/."""\n'
            f'__version__ = "{version}"\n', encoding="utf-8")
        staged_modules = []
        for module in to_write:
            notebook = student_notebook(module) if student_notebook else generate(course, module).release
            target = staging / "modules" / "source" / module.slug / module.notebook_name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(notebook, target)
            staged_modules.append(Module(module.number, module.name, target.parent))
        # nbdev reads its settings from the pyproject.toml above the working directory
        cwd = os.getcwd()
        os.chdir(staging)
        try:
            exported = exporter.export(staged_modules) if staged_modules else []
        finally:
            os.chdir(cwd)
        leaks = find_leaks(staging, secret_lines(all_modules(root)))
        if leaks:
            shown = "\n".join(f"  {leak}" for leak in leaks[:20])
            more = f"\n  … and {len(leaks) - 20} more" if len(leaks) > 20 else ""
            raise TitoError(f"release stopped: solution or hidden-test lines would reach the student "
                            f"workspace (nothing was written):\n{shown}{more}")
        # Move into place: tito and the milestones are replaced whole, a student's existing notebooks stay.
        shutil.rmtree(destination / "tito", ignore_errors=True)
        shutil.rmtree(destination / "milestones", ignore_errors=True)
        for path in sorted(staging.rglob("*")):
            if path.is_dir():
                continue
            target = destination / path.relative_to(staging)
            if target.name == "__init__.py" and target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        result.written = list(to_write)
        result.package_files = [destination / r.target.relative_to(staging) for r in exported]
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


# ---- tito test in a workspace -------------------------------------------------------------------
@dataclass
class Failure:
    """One test cell that did not pass: how nbgrader saw it, the cell's first line, and the
    complete error (every line of the assertion message, not only the last)."""
    kind: str                  # "failed", "changed", "type changed"
    cell: str                  # grade_id, or the first line of the cell
    error: str = ""            # e.g. "AssertionError: expected shape (2, 3), got (3, 2)"
    unfinished: str | None = None   # an earlier module whose stub raised (see tito.core.stubs)

    def __str__(self) -> str:
        return f"{self.kind}: {self.cell}" + (f"\n{self.error}" if self.error else "")


@dataclass
class Validation:
    module: Module
    passed: bool
    failures: list[Failure]


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _error_of(cell) -> str:
    """The exception a cell's outputs end with, as `Name: message` (all of its lines)."""
    for output in reversed(cell.get("outputs", [])):
        if output.get("output_type") == "error":
            value = ANSI.sub("", output.get("evalue", "")).rstrip()
            return f"{output.get('ename')}: {value}" if value else str(output.get("ename"))
    return ""


def validate(module: Module, timeout: int = 60) -> Validation:
    """`nbgrader validate` on the student's notebook, with the workspace's own package first."""
    from nbgrader.validator import Validator

    from tito.core.stubs import unfinished_module

    class KeepingValidator(Validator):
        """nbgrader's Validator, keeping the executed notebook so each failure's whole error can be read."""
        executed = None

        def _preprocess(self, nb):
            self.executed = super()._preprocess(nb)
            return self.executed

    root = module.root
    notebook = module.folder / module.notebook_name
    if not notebook.is_file():
        raise TitoError(f"{notebook} not found: this module has not been released to this workspace")
    course = Course(root=root, directory=Path(tempfile.gettempdir()), cell_timeout=timeout)
    config = course.config()
    # The kernel's own log (e.g. "running over TCP without encryption") is not the student's business.
    config.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]
    saved = {key: os.environ.get(key) for key in ("PYTHONPATH", "TINYTORCH_GRADING")}
    os.environ["PYTHONPATH"] = os.pathsep.join([str(root)] + ([saved["PYTHONPATH"]] if saved["PYTHONPATH"] else []))
    os.environ["TINYTORCH_GRADING"] = "1"     # slow demos stay off, as when graded
    validator = KeepingValidator(config=config)
    try:
        results = _quiet(validator.validate, str(notebook))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    executed = {}
    for cell in (validator.executed.cells if validator.executed is not None else []):
        executed.setdefault(cell.get("source", "").strip(), cell)
    failures = []
    for kind in ("type_changed", "changed", "failed"):
        for item in results.get(kind, []):
            source = item.get("source", "")
            cell = executed.get(source, {})
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") if cell else None
            first = source.strip().splitlines()[0][:70] if source.strip() else "(empty cell)"
            error = _error_of(cell) if cell else ""
            if not error:   # no exception: nbgrader's own words (partial credit, stderr output, …)
                error = ANSI.sub("", item.get("raw_error") or "").strip()
            unfinished = unfinished_module(error)
            failures.append(Failure(kind.replace("_", " "), f"{grade_id} ({first})" if grade_id else first,
                                    error, unfinished if unfinished != module.slug else None))
    return Validation(module, not failures, failures)
