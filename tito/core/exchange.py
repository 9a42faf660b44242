"""The classroom's half of the grading cycle: nbgrader's exchange (`--exchange` on release, collect, feedback).

The exchange is the folder `[hub] shared_dir`/exchange that every account of the hub can reach
(nbgrader's default exchange: EXCHANGE/<course_id>/outbound, inbound, feedback). Students use it
from JupyterLab's Assignments tab (fetch, submit, fetch feedback); the instructor through these
functions, which run nbgrader's own exchange apps with the course's configuration:

- release: generate the module (as `tito nbgrader generate`), then nbgrader's release_assignment;
- collect: nbgrader's collect, one student at a time, keeping nbgrader's submission timestamp.
  A submission is taken only from the Unix account it names (nbgrader itself only warns) and, when
  the gradebook has a roster, only from a student on it;
- feedback: nbgrader's release_feedback of the HTML that `tito nbgrader feedback` wrote.
"""
from __future__ import annotations

import glob
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tito.core.course import Course, _quiet, generate
from tito.core.registry import Module
from tito.core.settings import TitoError


def _api(course: Course):
    """nbgrader's API on the course directory, with the hub's exchange."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from tito.core.hub import hub_settings

    hub = hub_settings(course.root)
    if not hub.exchange.is_dir():
        raise TitoError(f"The exchange {hub.exchange} does not exist: start the hub first (sudo tito hub up)")
    cfg = course.config()
    cfg.Exchange.root = str(hub.exchange)
    return NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg), hub


def _check(result: dict, what: str) -> None:
    if not result.get("success"):
        detail = (result.get("error") or result.get("log") or "").strip().splitlines()
        raise TitoError(f"nbgrader {what} failed: {detail[-1] if detail else 'no output'}")


def release(course: Course, modules: list[Module], force: bool = False) -> list[Path]:
    """Student versions of the modules into the exchange's outbound folder (what the Assignments
    tab lists). Returns the released folders."""
    api, hub = _api(course)
    released = []
    for module in modules:
        generate(course, module)
        target = hub.exchange / course.course_id / "outbound" / module.slug
        if target.exists() and not force:
            raise TitoError(f"{module.slug} is already in the exchange ({target}); --force releases it again")
        if target.exists():     # --force: a student who fetched already keeps their copy
            shutil.rmtree(target)
        _check(_quiet(api.release_assignment, module.slug), f"release_assignment {module.slug}")
        if not (target / module.notebook_name).is_file():
            raise TitoError(f"release_assignment wrote no {module.notebook_name} into {target}")
        released.append(target)
    return released


@dataclass
class ExchangeCollect:
    imported: list[tuple[str, Path, str]] = field(default_factory=list)   # (student, submitted file, timestamp)
    problems: list[tuple[str, str]] = field(default_factory=list)          # (inbound entry, reason)


def _owner(path: str) -> str:
    import pwd

    try:
        return pwd.getpwuid(os.stat(path).st_uid).pw_name
    except KeyError:
        return f"uid {os.stat(path).st_uid}"


def collect(course: Course, modules: list[Module]) -> ExchangeCollect:
    """Each student's latest submission of each module, from the exchange into submitted/."""
    from nbgrader.utils import temp_attrs

    api, hub = _api(course)
    inbound = hub.exchange / course.course_id / "inbound"
    with course.gradebook() as gb:
        roster = {s.id for s in gb.students}
    result = ExchangeCollect()
    for module in modules:
        students = set()
        for entry in sorted(glob.glob(str(inbound / f"*+{glob.escape(module.slug)}+*"))):
            name = Path(entry).name
            student = name.split("+", 1)[0]
            owner = _owner(entry)
            if owner != student:
                result.problems.append((name, f"claims to be {student}'s but belongs to {owner}: not collected"))
            elif roster and student not in roster:
                result.problems.append((name, f"{student} is not on the course roster: not collected"))
            else:
                students.add(student)
        for student in sorted(students):
            with temp_attrs(api.coursedir, student_id=student):
                _check(_quiet(api.collect, module.slug, update=True), f"collect {module.slug} {student}")
            submitted = course.submitted_notebook(module, student)
            stamp_file = submitted.parent / "timestamp.txt"
            if not submitted.is_file():
                result.problems.append((f"{student}+{module.slug}", f"the submission has no {module.notebook_name}"))
                continue
            result.imported.append((student, submitted, stamp_file.read_text().strip() if stamp_file.is_file() else ""))
    return result


def release_feedback(course: Course, modules: list[Module], students: list[str] | None = None) -> list[tuple[str, str]]:
    """The feedback HTML of every collected submission into the exchange, where only its student
    can find it (nbgrader names each file by a hash of the submission's secret). Returns (module, student)."""
    api, hub = _api(course)
    released = []
    for module in modules:
        base = course.directory / "feedback"
        for folder in sorted(base.glob(f"*/{module.slug}")) if base.is_dir() else []:
            student = folder.parent.name
            if students and student not in students:
                continue
            submitted = course.submitted_notebook(module, student).parent
            # nbgrader matches feedback to the submission by its timestamp and secret
            for name in ("timestamp.txt", "submission_secret.txt"):
                if (submitted / name).is_file():
                    shutil.copyfile(submitted / name, folder / name)
            if not (folder / "submission_secret.txt").is_file():
                raise TitoError(f"{student} {module.slug}: no submission_secret.txt (was it collected with --exchange?)")
            _check(_quiet(api.release_feedback, module.slug, student), f"release_feedback {module.slug} {student}")
            released.append((module.slug, student))
    return released
