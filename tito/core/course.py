"""The nbgrader course directory: configuration, generate, collect, feedback, report.

Everything here goes through nbgrader's own machinery (its apps, converters and gradebook) with
the configuration of the repository's `nbgrader_config.py`; only the course directory can be
overridden (tests and `tito check` grade in a scratch course directory).
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import shutil
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from tito.core.notebook import load_module_notebook, write_notebook
from tito.core.registry import Module
from tito.core.settings import TitoError, load_settings

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass
class Course:
    """An nbgrader course directory plus the project whose modules it grades."""

    root: Path
    directory: Path
    cell_timeout: int = 30
    memory_limit_mb: int = 2048
    jobs: int = 1
    course_id: str = "tinytorch"

    @classmethod
    def from_settings(cls, root: Path | None = None, directory: Path | None = None) -> "Course":
        settings = load_settings(root)
        return cls(root=settings.root, directory=Path(directory or settings.course_dir).resolve(),
                   cell_timeout=settings.cell_timeout, memory_limit_mb=settings.memory_limit_mb,
                   jobs=settings.effective_jobs, course_id=settings.course_id)

    # ---- paths -------------------------------------------------------------------------------
    @property
    def gradebook_path(self) -> Path:
        return self.directory / "gradebook.db"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.gradebook_path}"

    def source_notebook(self, module: Module) -> Path:
        return self.directory / "source" / module.slug / module.notebook_name

    def release_notebook(self, module: Module) -> Path:
        return self.directory / "release" / module.slug / module.notebook_name

    def submitted_notebook(self, module: Module, student: str) -> Path:
        return self.directory / "submitted" / student / module.slug / module.notebook_name

    def autograded_notebook(self, module: Module, student: str) -> Path:
        return self.directory / "autograded" / student / module.slug / module.notebook_name

    def feedback_file(self, module: Module, student: str) -> Path:
        return self.directory / "feedback" / student / module.slug / module.notebook_name.replace(".ipynb", ".html")

    def submitted_students(self, module: Module) -> list[str]:
        base = self.directory / "submitted"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / module.slug).is_dir())

    # ---- nbgrader configuration --------------------------------------------------------------
    def config(self) -> Config:
        """nbgrader_config.py of the project (when present), pointed at this course directory."""
        cfg = Config()
        config_file = self.root / "nbgrader_config.py"
        if config_file.is_file():
            loader = PyFileConfigLoader(config_file.name, path=str(self.root))
            cfg.merge(loader.load_config())
        else:  # a student workspace: the same stub, so validate sees what graders see
            cfg.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
        cfg.CourseDirectory.root = str(self.directory)
        cfg.CourseDirectory.course_id = self.course_id
        cfg.CourseDirectory.db_url = self.db_url
        ignore = list(cfg.CourseDirectory.get("ignore", [".ipynb_checkpoints", "*.pyc", "__pycache__"]))
        cfg.CourseDirectory.ignore = ignore + [p for p in ("*_dev.py",) if p not in ignore]
        cfg.ExecutePreprocessor.timeout = self.cell_timeout
        cfg.Application.log_level = "WARN"
        return cfg

    def api(self):
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        cfg = self.config()
        coursedir = CourseDirectory(config=cfg)
        return NbGraderAPI(coursedir=coursedir, config=cfg)

    def gradebook(self):
        from nbgrader.api import Gradebook

        self.directory.mkdir(parents=True, exist_ok=True)
        return Gradebook(self.db_url, self.course_id)


# ---- generate ---------------------------------------------------------------------------------
@dataclass
class Generated:
    module: Module
    source: Path
    release: Path
    cells: int
    graded: int
    points: float


def generate(course: Course, module: Module) -> Generated:
    """`_dev.py` → course/source/<slug>/<nb>.ipynb → nbgrader generate_assignment → release/."""
    nb = load_module_notebook(module.source)
    source = course.source_notebook(module)
    write_notebook(nb, source)
    with course.gradebook() as gb:
        gb.update_or_create_assignment(module.slug)
    result = _quiet(course.api().generate_assignment, module.slug, force=True, create=True)
    release = course.release_notebook(module)
    if not result.get("success") or not release.is_file():
        raise TitoError(f"nbgrader generate_assignment failed for {module.slug}:\n"
                        f"{result.get('error') or ''}{result.get('log') or ''}".strip())
    from tito.core.stubs import name_stubs  # (helper "student") stubs that name their function and module
    name_stubs(release, module.slug)
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    return Generated(module, source, release, len(nb.cells), len(graded),
                     sum(float(c.metadata["nbgrader"].get("points", 0)) for c in graded))


_NBGRADER_LOCK = threading.RLock()


def _quiet(func, *args, **kwargs):
    """Run an nbgrader API call with its logging kept out of our rich output.

    nbgrader's converters `os.chdir` into the course directory (process-wide) while they run;
    calls are serialised and the working directory restored, so threads (`tito check` grades
    modules in parallel) can't leave each other in a deleted scratch folder."""
    sink = io.StringIO()
    with _NBGRADER_LOCK, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        cwd = os.getcwd()
        logging.disable(logging.WARNING)
        try:
            return func(*args, **kwargs)
        finally:
            logging.disable(logging.NOTSET)
            os.chdir(cwd)


# ---- collect ----------------------------------------------------------------------------------
@dataclass
class CollectResult:
    imported: list[tuple[str, Path]] = field(default_factory=list)     # (student, submitted file)
    problems: list[tuple[Path, str]] = field(default_factory=list)     # (file, reason)


def collect(course: Course, modules: Module | list[Module], source_dir: Path) -> CollectResult:
    """Import `DIR/<student>/<nb>.ipynb` or flat `DIR/<student>_<nb>.ipynb` into submitted/,
    for the given module(s): `imported` holds (student, submitted file).

    Anything else (a notebook of none of these modules, an unusable student id, a file that is
    not a notebook, a second copy) is reported and left alone: nothing is guessed.
    """
    modules = [modules] if isinstance(modules, Module) else list(modules)
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise TitoError(f"--from {source_dir}: no such folder")
    by_notebook = {m.notebook_name: m for m in modules}
    names = ", ".join(by_notebook)
    result = CollectResult()
    found: dict[tuple[str, str], Path] = {}
    for path in sorted(source_dir.rglob("*")):
        if path.is_dir() or any(part.startswith(".") for part in path.relative_to(source_dir).parts):
            continue
        rel = path.relative_to(source_dir)
        student = notebook = None
        if len(rel.parts) == 2:
            student, notebook = rel.parts
            if notebook not in by_notebook:
                result.problems.append((path, f"unknown notebook {notebook!r} (expected {names})"))
                continue
        elif len(rel.parts) == 1:
            for name in by_notebook:
                if path.name.endswith("_" + name) and len(path.name) > len(name) + 1:
                    student, notebook = path.name[: -len(name) - 1], name
            if student is None:
                result.problems.append((path, f"file name is not <student_id>_<notebook> nor "
                                        f"<student_id>/<notebook> for {names}"))
                continue
        else:
            result.problems.append((path, "too deeply nested: expected DIR/<student_id>/<notebook>.ipynb"))
            continue
        if not STUDENT_ID.match(student):
            result.problems.append((path, f"{student!r} is not a usable student id "
                                    "(letters, digits, . _ @ -; at most 64)"))
            continue
        if (student, notebook) in found:
            result.problems.append((path, f"a second submission of {notebook} for {student} "
                                    f"(kept {found[student, notebook]})"))
            continue
        found[student, notebook] = path
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
    with course.gradebook() as gb:
        for (student, notebook), path in found.items():
            target = course.submitted_notebook(by_notebook[notebook], student)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            (target.parent / "timestamp.txt").write_text(stamp, encoding="utf-8")
            gb.update_or_create_student(student)
            result.imported.append((student, target))
    return result


# ---- feedback and report ----------------------------------------------------------------------
def feedback(course: Course, module: Module, students: list[str] | None = None) -> list[tuple[str, Path | None, str]]:
    """nbgrader's HTML feedback for every autograded student: (student, html or None, error)."""
    base = course.directory / "autograded"
    graded = sorted(p.name for p in base.iterdir() if (p / module.slug).is_dir()) if base.is_dir() else []
    out = []
    api = course.api()
    for student in graded:
        if students and student not in students:
            continue
        result = _quiet(api.generate_feedback, module.slug, student, force=True)
        html = course.feedback_file(module, student)
        ok = result.get("success") and html.is_file()
        out.append((student, html if ok else None,
                    "" if ok else (result.get("error") or result.get("log") or "no output").strip()[-500:]))
    return out


def report(course: Course, output: Path) -> list[dict]:
    """nbgrader's standard CSV grade export (CsvExportPlugin); returns the rows read back."""
    import csv

    from nbgrader.plugins.export import CsvExportPlugin

    output = Path(output).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    plugin = CsvExportPlugin(to=str(output))
    with course.gradebook() as gb:
        _quiet(plugin.export, gb)
    with output.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
