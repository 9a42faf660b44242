"""Project root and the course settings in settings.ini."""
from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


class TitoError(Exception):
    """An error whose message is meant for the user: printed without a traceback."""


def find_root(start: Path | None = None) -> Path:
    """The project root: the nearest folder, from `start` (or $TINYTORCH_ROOT, or cwd) upwards,
    that holds settings.ini and a modules/ folder."""
    env = os.environ.get("TINYTORCH_ROOT")
    here = Path(start or env or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "settings.ini").is_file() and (folder / "modules").is_dir():
            return folder
    raise TitoError(
        f"No TinyTorch project found at {here} or above it "
        "(looked for settings.ini beside a modules/ folder). Run tito inside the course repository "
        "or a student workspace."
    )


@dataclass(frozen=True)
class Settings:
    root: Path
    course_id: str
    course_title: str
    copyright: str
    course_dir: Path
    cell_timeout: int
    memory_limit_mb: int
    jobs: int
    book_edition: str

    @property
    def effective_jobs(self) -> int:
        return self.jobs if self.jobs > 0 else (os.cpu_count() or 1)


@lru_cache(maxsize=None)
def load_settings(root: Path | None = None) -> Settings:
    root = Path(root) if root else find_root()
    parser = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
    parser.read(root / "settings.ini")

    def get(section: str, key: str, default: str) -> str:
        return parser.get(section, key, fallback=default)

    def get_int(section: str, key: str, default: int) -> int:
        raw = get(section, key, str(default))
        try:
            return int(raw)
        except ValueError:
            raise TitoError(f"settings.ini: [{section}] {key} must be a whole number, got {raw!r}")

    edition = get("book", "edition", "student")
    if edition not in ("student", "instructor"):
        raise TitoError(f"settings.ini: [book] edition must be 'student' or 'instructor', got {edition!r}")
    return Settings(
        root=root,
        course_id=get("course", "id", "tinytorch"),
        course_title=get("course", "title", "TinyTorch"),
        copyright=get("course", "copyright", "The TinyTorch Authors"),
        course_dir=(root / get("nbgrader", "course_dir", "course")).resolve(),
        cell_timeout=get_int("grading", "cell_timeout", 30),
        memory_limit_mb=get_int("grading", "memory_limit_mb", 2048),
        jobs=get_int("grading", "jobs", 0),
        book_edition=edition,
    )


def in_workspace(root: Path | None = None) -> bool:
    """Is this a student workspace (`[workspace] student = true` in settings.ini, written by
    `tito nbgrader release`)? Light: reads settings.ini only."""
    parser = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
    parser.read(Path(root or find_root()) / "settings.ini")
    return parser.getboolean("workspace", "student", fallback=False)


def require_course_repo(command: str, instead: str = "") -> None:
    """Instructor-only commands (`tito check`, `tito nbgrader …`, `tito book build`) refuse, in
    one line and before they write anything, to run in a student workspace."""
    if in_workspace():
        raise TitoError(f"`{command}` is for the course repository (it needs the module sources); "
                        f"this folder is a student workspace.{' ' + instead if instead else ''}")
