"""The nbgrader course directory: configuration, generate, collect, feedback, report.

Everything here goes through nbgrader's own machinery (its apps, converters and gradebook) with
the configuration of the repository's `nbgrader_config.py`; only the course directory can be
overridden (tests and `tito check` grade in a scratch course directory).
"""
from __future__ import annotations

import contextlib
import errno
import io
import logging
import math
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
from tito.core.registry import Module, all_modules
from tito.core.settings import TitoError, load_settings

# Used with fullmatch: `$` alone would let "good\n" through.
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


LATE_PENALTIES = ("none", "zero", "per_hour")
DUE_KEY = re.compile(r"\d\d_[a-z0-9_]+")


def grading_settings(ini: Path) -> dict:
    """settings.ini's submission limit and lateness rules ([grading] max_submission_mb, [late])."""
    import configparser

    parser = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
    parser.read(ini)
    try:
        limit = parser.getint("grading", "max_submission_mb", fallback=32)
        per_hour = parser.getfloat("late", "points_per_hour", fallback=1.0)
    except ValueError as err:
        raise TitoError(f"settings.ini: [grading] max_submission_mb must be a whole number and [late] "
                        f"points_per_hour a number ({err})") from None
    penalty = parser.get("late", "penalty", fallback="none").strip()
    if penalty not in LATE_PENALTIES:
        raise TitoError(f"settings.ini: [late] penalty must be one of {', '.join(LATE_PENALTIES)}, got {penalty!r}")
    due = {}
    if parser.has_section("late"):
        for key, value in parser.items("late"):
            if DUE_KEY.fullmatch(key):
                stamp = _parse_time(value)
                if stamp is None:
                    raise TitoError(f"settings.ini: [late] {key} = {value!r} is not a date "
                                    "(write e.g. 2027-01-15 23:59, meaning UTC)")
                due[key] = stamp
    return {"max_submission_mb": limit, "late_penalty": penalty, "points_per_hour": per_hour, "due": due}


@dataclass
class Course:
    """An nbgrader course directory plus the project whose modules it grades."""

    root: Path
    directory: Path
    cell_timeout: int = 30
    memory_limit_mb: int = 2048
    jobs: int = 1
    course_id: str = "tinytorch"
    cluster: str = ""               # Dask scheduler address for autograde; empty: grade locally
    max_submission_mb: int = 32
    late_penalty: str = "none"                      # none | zero | per_hour  (settings.ini [late])
    points_per_hour: float = 1.0
    due: dict = field(default_factory=dict)         # module slug -> aware datetime (UTC)

    @classmethod
    def from_settings(cls, root: Path | None = None, directory: Path | None = None) -> "Course":
        settings = load_settings(root)
        grading = grading_settings(settings.root / "settings.ini")
        known = {m.slug for m in all_modules(settings.root)}
        unknown = sorted(set(grading["due"]) - known)
        if unknown:
            raise TitoError(f"settings.ini: [late] names no module {', '.join(unknown)} "
                            f"(modules: {', '.join(sorted(known))})")
        return cls(root=settings.root, directory=Path(directory or settings.course_dir).resolve(),
                   cell_timeout=settings.cell_timeout, memory_limit_mb=settings.memory_limit_mb,
                   jobs=settings.effective_jobs, course_id=settings.course_id,
                   cluster=settings.cluster, **grading)

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
        from tito.core.sanitize import configure

        configure(cfg)                       # feedback: sanitised, hidden tests hidden, MathJax inline
        cfg.AssignLatePenalties.plugin_class = "tito.core.late.LatePenalty"
        cfg.LatePenalty.penalty_method = self.late_penalty
        cfg.LatePenalty.points_per_hour = self.points_per_hour
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
    sync_due_date(course, module)
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


def sync_due_date(course: Course, module: Module) -> None:
    """The assignment row, with settings.ini's due date (nbgrader stores naive UTC)."""
    due = course.due.get(module.slug)
    with course.gradebook() as gb:
        gb.update_or_create_assignment(module.slug, duedate=due.replace(tzinfo=None) if due else None)


def apply_late_penalty(course: Course, module: Module, student: str) -> str:
    """nbgrader's AssignLatePenalties for one graded submission; returns a note when it was late."""
    from nbformat.v4 import new_notebook
    from nbgrader.preprocessors import AssignLatePenalties

    resources = {"nbgrader": {"db_url": course.db_url, "assignment": module.slug, "student": student,
                              "notebook": module.notebook_name[: -len(".ipynb")]}}
    _quiet(AssignLatePenalties(config=course.config()).preprocess, new_notebook(), resources)
    with course.gradebook() as gb:
        sub = gb.find_submission(module.slug, student)
        late = float(sub.total_seconds_late or 0)
        if late <= 0:
            return ""
        penalty = float(sub.late_submission_penalty or 0)
    hours, minutes = divmod(int(math.ceil(late / 60)), 60)
    return (f"handed in {hours} h {minutes:02d} min after the due date"
            + (f": {penalty:g} point(s) off ([late] penalty = {course.late_penalty})" if penalty else
               " (no penalty: settings.ini [late] penalty = none)" if course.late_penalty == "none" else ""))


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
    problems: list[tuple[Path, str]] = field(default_factory=list)     # (file, reason): not imported
    kept: list[tuple[Path, str]] = field(default_factory=list)         # (file, why the collected one stays)


STAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"        # nbgrader's timestamp.txt format
MANIFEST = "manifest.csv"                          # optional: student_id, notebook, timestamp


def _open_no_follow(base_fd: int, parts: tuple[str, ...]) -> int:
    """A file descriptor for base/parts..., walked with openat and O_NOFOLLOW at every step, so no
    symbolic link (of a folder or of the file) is followed, even if one appears mid-collect."""
    fd = base_fd
    opened = []
    try:
        for name in parts[:-1]:
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            opened.append(fd)
        return os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0),
                       dir_fd=fd)
    finally:
        for f in opened:
            os.close(f)


def _read_submission(base_fd: int, rel: Path, limit: int) -> tuple[bytes, float]:
    """The bytes and modification time of one regular file, or ValueError with the reason."""
    import stat

    try:
        fd = _open_no_follow(base_fd, rel.parts)
    except OSError as err:
        if err.errno in (errno.ELOOP, errno.ENOTDIR):
            raise ValueError("a symbolic link: not followed (hand in a copy of the file)") from None
        raise ValueError(f"cannot be read: {err.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file (a pipe, device or socket): not read")
        if info.st_nlink > 1:
            raise ValueError(f"a hard link ({info.st_nlink} names for one file): not read "
                             "(hand in a copy of the file)")
        if info.st_size > limit:
            raise ValueError(f"{info.st_size / 2**20:.1f} MiB, over the {limit / 2**20:g} MiB limit "
                             "(settings.ini [grading] max_submission_mb)")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise ValueError(f"grew past the {limit / 2**20:g} MiB limit while it was read")
        return b"".join(chunks), info.st_mtime
    finally:
        os.close(fd)


def _parse_time(text: str) -> datetime | None:
    """A submission time from an exchange's timestamp.txt or a manifest (naive = UTC)."""
    from nbgrader.utils import parse_utc

    try:
        stamp = parse_utc(text.strip())
    except Exception:
        return None
    return stamp.replace(tzinfo=timezone.utc) if stamp.tzinfo is None else stamp.astimezone(timezone.utc)


def _manifest(base_fd: int, limit: int) -> dict[tuple[str, str], datetime]:
    """DIR/manifest.csv (student_id, notebook, timestamp), when an LMS export has one."""
    import csv

    try:
        raw, _ = _read_submission(base_fd, Path(MANIFEST), limit)
    except ValueError:
        return {}
    out = {}
    for row in csv.DictReader(io.StringIO(raw.decode("utf-8", "replace"))):
        stamp = _parse_time(row.get("timestamp") or "")
        if stamp and row.get("student_id") and row.get("notebook"):
            out[row["student_id"], row["notebook"]] = stamp
    return out


def _submitted_time(base_fd: int, rel: Path, student: str, notebook: str, mtime: float,
                    manifest: dict) -> datetime:
    """When the student handed it in: the exchange's timestamp.txt beside the notebook, the
    manifest's entry, else the file's modification time (what an LMS export keeps)."""
    if len(rel.parts) == 2:
        try:
            raw, _ = _read_submission(base_fd, rel.parent / "timestamp.txt", 4096)
            stamp = _parse_time(raw.decode("utf-8", "replace"))
            if stamp:
                return stamp
        except ValueError:
            pass
    if (student, notebook) in manifest:
        return manifest[student, notebook]
    return datetime.fromtimestamp(mtime, timezone.utc)


def read_stamp(path: Path) -> datetime | None:
    try:
        return _parse_time(path.read_text(encoding="utf-8"))
    except OSError:
        return None


def collect(course: Course, modules: Module | list[Module], source_dir: Path) -> CollectResult:
    """Import `DIR/<student>/<nb>.ipynb` or flat `DIR/<student>_<nb>.ipynb` into submitted/,
    for the given module(s): `imported` holds (student, submitted file).

    Only regular files are read (no symbolic links, hard links, pipes or devices), each at most
    `max_submission_mb`; a student id must match STUDENT_ID whole. Anything else (a notebook of
    none of these modules, an unusable id, a second copy) is reported and left alone. The
    submission time is the student's (see _submitted_time), written to nbgrader's timestamp.txt;
    a submission older than the one already collected does not replace it.
    """
    modules = [modules] if isinstance(modules, Module) else list(modules)
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise TitoError(f"--from {source_dir}: no such folder")
    by_notebook = {m.notebook_name: m for m in modules}
    names = ", ".join(by_notebook)
    limit = course.max_submission_mb * 2**20
    result = CollectResult()
    candidates: dict[tuple[str, str], list[tuple[datetime, Path, bytes]]] = {}
    base_fd = os.open(source_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        manifest = _manifest(base_fd, limit)
        for rel, is_link, is_dir in _walk(source_dir):
            path = source_dir / rel
            if any(part.startswith(".") for part in rel.parts) or rel == Path(MANIFEST):
                continue
            if len(rel.parts) == 2 and rel.name == "timestamp.txt":
                continue
            if is_link:
                result.problems.append((path, "a symbolic link: not followed (hand in a copy of the file)"))
                continue
            if is_dir:
                continue
            student = notebook = None
            if len(rel.parts) == 2:
                student, notebook = rel.parts
                if notebook not in by_notebook:
                    result.problems.append((path, f"unknown notebook {notebook!r} (expected {names})"))
                    continue
            elif len(rel.parts) == 1:
                for name in by_notebook:
                    if rel.name.endswith("_" + name) and len(rel.name) > len(name) + 1:
                        student, notebook = rel.name[: -len(name) - 1], name
                if student is None:
                    result.problems.append((path, f"file name is not <student_id>_<notebook> nor "
                                            f"<student_id>/<notebook> for {names}"))
                    continue
            else:
                result.problems.append((path, "too deeply nested: expected DIR/<student_id>/<notebook>.ipynb"))
                continue
            if not STUDENT_ID.fullmatch(student):
                result.problems.append((path, f"{student!r} is not a usable student id "
                                        "(letters, digits, . _ @ -; at most 64)"))
                continue
            try:
                data, mtime = _read_submission(base_fd, rel, limit)
            except ValueError as err:
                result.problems.append((path, str(err)))
                continue
            stamp = _submitted_time(base_fd, rel, student, notebook, mtime, manifest)
            candidates.setdefault((student, notebook), []).append((stamp, path, data))
    finally:
        os.close(base_fd)
    with course.gradebook() as gb:
        for (student, notebook), found in sorted(candidates.items()):
            found.sort(key=lambda item: item[0])
            stamp, path, data = found[-1]                    # the newest of this collect
            for _, older, _ in found[:-1]:
                result.kept.append((older, f"an older submission of {notebook} for {student} "
                                    f"(imported {path.name}, handed in later)"))
            target = course.submitted_notebook(by_notebook[notebook], student)
            stamp_file = target.parent / "timestamp.txt"
            previous = read_stamp(stamp_file) if target.is_file() else None
            if previous and previous > stamp:
                result.kept.append((path, f"older than the submission already collected "
                                    f"({previous.strftime('%Y-%m-%d %H:%M:%S %Z')}): kept that one"))
                continue
            if previous and previous == stamp and target.read_bytes() == data:
                result.kept.append((path, "unchanged since it was collected"))
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            partial.write_bytes(data)
            os.replace(partial, target)
            stamp_file.write_text(stamp.strftime(STAMP_FORMAT), encoding="utf-8")
            gb.update_or_create_student(student)
            result.imported.append((student, target))
    return result


def _walk(top: Path):
    """(relative path, is a symbolic link, is a folder) for everything under top, links not followed."""
    for folder, dirs, files in os.walk(top, followlinks=False):
        here = Path(folder)
        for name in sorted(dirs):
            full = here / name
            if full.is_symlink():
                yield full.relative_to(top), True, True
        dirs[:] = sorted(d for d in dirs if not (here / d).is_symlink() and not d.startswith("."))
        for name in sorted(files):
            full = here / name
            yield full.relative_to(top), full.is_symlink(), False


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


# ---- roster -----------------------------------------------------------------------------------
ROSTER_COLUMNS = ("student_id", "first_name", "last_name", "email")


def import_roster(course: Course, roster: Path) -> tuple[list[str], list[str]]:
    """Students from a CSV with nbgrader's columns (student_id, first_name, last_name, email) into
    the gradebook, so the formgrader and the grade report show names. All rows are checked
    first: any problem is one TitoError and the gradebook is left as it was.
    Returns (added, updated) student ids."""
    import csv

    roster = Path(roster)
    try:
        text = roster.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise TitoError(f"{roster}: cannot be read ({getattr(err, 'strerror', None) or err})") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    if "student_id" not in header:
        raise TitoError(f"{roster}: no student_id column (expected the columns {', '.join(ROSTER_COLUMNS)})")
    rows: dict[str, dict] = {}
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k}
        sid = row.get("student_id", "")
        if not STUDENT_ID.fullmatch(sid):
            raise TitoError(f"{roster}:{line}: {sid!r} is not a usable student id (letters, digits, . _ @ -; at most 64)")
        if sid in rows:
            raise TitoError(f"{roster}:{line}: student_id {sid!r} appears twice (first on line {rows[sid]['line']})")
        rows[sid] = {"line": line, **{k: row.get(k) or None for k in ROSTER_COLUMNS[1:]}}
    added, updated = [], []
    with course.gradebook() as gb:
        known = {s.id for s in gb.students}
        for sid, row in rows.items():
            gb.update_or_create_student(sid, **{k: row[k] for k in ROSTER_COLUMNS[1:]})
            (updated if sid in known else added).append(sid)
    return added, updated
