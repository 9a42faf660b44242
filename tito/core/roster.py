"""The classroom's people: the roster (nbgrader's `db student import` columns) and their Unix accounts.

`tito hub up` reads the roster, creates the missing accounts (as root: useradd, a 0700 home,
chpasswd with the roster's `password` or a generated one, kept in STATE/passwords.csv for root
only) and fills the gradebook with the names, so the formgrader shows them.
"""
from __future__ import annotations

import csv
import os
import re
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tito.core.settings import TitoError

if TYPE_CHECKING:
    from tito.core.hub import HubSettings

ROSTER_COLUMNS = ("student_id", "first_name", "last_name", "email")
# What useradd accepts on Debian (NAME_REGEX) and nbgrader's exchange can carry (no '+', no '*').
UNIX_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


# ---- the roster -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Student:
    student_id: str
    first_name: str
    last_name: str
    email: str
    password: str = ""


def read_roster(path: Path, instructors: tuple[str, ...] = ()) -> list[Student]:
    """The roster CSV (nbgrader `db student import` columns, optional `password`): one clear
    error for a missing column, an unusable or duplicate id, or an instructor's name."""
    path = Path(path)
    if not path.is_file():
        raise TitoError(f"--roster {path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ROSTER_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise TitoError(f"{path}: missing column(s) {', '.join(missing)} "
                            f"(expected a header line {','.join(ROSTER_COLUMNS)})")
        students, seen = [], {}
        for line, row in enumerate(reader, start=2):
            sid = (row.get("student_id") or "").strip()
            if not UNIX_NAME.match(sid):
                raise TitoError(f"{path} line {line}: student_id {sid!r} is not a usable account name "
                                "(lower-case letters, digits, _ and -, starting with a letter; at most 32)")
            if sid in seen:
                raise TitoError(f"{path} line {line}: duplicate student_id {sid!r} (first on line {seen[sid]})")
            if sid in instructors:
                raise TitoError(f"{path} line {line}: {sid!r} is an instructor account ([hub] instructors)")
            seen[sid] = line
            students.append(Student(sid, (row.get("first_name") or "").strip(), (row.get("last_name") or "").strip(),
                                    (row.get("email") or "").strip(), (row.get("password") or "").strip()))
    return students


def import_roster(hub: HubSettings, students: list[Student]) -> None:
    """Students into the gradebook, with their names and e-mail (as `nbgrader db student import`)."""
    from nbgrader.api import Gradebook

    hub.course_dir.mkdir(parents=True, exist_ok=True)
    with Gradebook(f"sqlite:///{hub.course_dir / 'gradebook.db'}", hub.course_id) as gb:
        for s in students:
            gb.update_or_create_student(s.student_id, first_name=s.first_name or None,
                                        last_name=s.last_name or None, email=s.email or None)


def roster_students(hub: HubSettings) -> list[str]:
    from nbgrader.api import Gradebook

    db = hub.course_dir / "gradebook.db"
    if not db.is_file():
        return []
    with Gradebook(f"sqlite:///{db}", hub.course_id) as gb:
        return sorted(s.id for s in gb.students)


# ---- Unix accounts ----------------------------------------------------------------------------
def account_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def ensure_accounts(hub: HubSettings, students: list[Student]) -> list[tuple[str, str]]:
    """Create the missing accounts (root only) and set the roster's passwords. Returns
    (account, password) for every password set, also kept in STATE/passwords.csv (mode 0600)."""
    wanted = [(name, "") for name in hub.instructors] + [(s.student_id, s.password) for s in students]
    missing = [name for name, _ in wanted if not account_exists(name)]
    if missing and not is_root():
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise TitoError(f"Unix accounts missing: {shown}. Run `sudo tito hub up …` to create them "
                        "(or create them yourself with useradd).")
    changed = []
    for name, password in wanted:
        if name in missing:
            _run(["useradd", "--create-home", "--shell", "/bin/bash", "--user-group", name])
            password = password or secrets.token_urlsafe(9)
        if name in missing or password:
            if is_root():
                _run(["chpasswd"], stdin=f"{name}:{password}\n")
                changed.append((name, password))
        if is_root():
            import pwd

            home = Path(pwd.getpwnam(name).pw_dir)
            if home.is_dir():
                os.chmod(home, 0o700)       # nobody reads another student's work
    if changed:
        _remember_passwords(hub, changed)
    created = hub.state_dir / "accounts-created.txt"
    if missing:
        with created.open("a", encoding="utf-8") as handle:
            handle.writelines(f"{name}\n" for name in missing)
    return changed


def _remember_passwords(hub: HubSettings, changed: list[tuple[str, str]]) -> None:
    path = hub.state_dir / "passwords.csv"
    known = {}
    if path.is_file():
        with path.open(newline="", encoding="utf-8") as handle:
            known = {row["account"]: row["password"] for row in csv.DictReader(handle)}
    known.update(dict(changed))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["account", "password"])
        writer.writerows(sorted(known.items()))


def _run(command: list[str], stdin: str | None = None) -> None:
    result = subprocess.run(command, input=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        raise TitoError(f"{command[0]} failed: {(result.stderr or result.stdout).strip()}")
