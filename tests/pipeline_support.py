"""Helpers for the nbgrader pipeline tests: a throw-away project and reference-filled notebooks."""
from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_project(tmp: Path) -> Path:
    """A project root whose course directory is inside tmp (module sources are the real ones)."""
    project = tmp / "project"
    project.mkdir()
    settings = (ROOT / "settings.ini").read_text(encoding="utf-8")
    settings = re.sub(r"(?m)^course_dir\s*=.*$", f"course_dir = {tmp / 'course'}", settings)
    (project / "settings.ini").write_text(settings, encoding="utf-8")
    (project / "modules").symlink_to(ROOT / "modules", target_is_directory=True)
    (project / "tinytorch").symlink_to(ROOT / "tinytorch", target_is_directory=True)
    (project / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (project / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text(encoding="utf-8"))
    return project


def tito(project: Path, *args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m tito ARGS` with the project as TINYTORCH_ROOT (or in cwd, when given)."""
    full_env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", **(env or {})}
    if cwd is None:
        full_env["TINYTORCH_ROOT"] = str(project)
    else:
        full_env.pop("TINYTORCH_ROOT", None)
    return subprocess.run([sys.executable, "-m", "tito", *args], cwd=cwd or project, env=full_env,
                          capture_output=True, text=True, timeout=900)


def meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def answer(source_cell) -> str:
    """What a student who wrote the reference solution would have: the markers removed."""
    return "\n".join(line for line in source_cell.source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def filled(release, source):
    """The released (student) notebook with every answer cell holding the reference solution."""
    nb = copy.deepcopy(release)
    answers = {meta(c)["grade_id"]: c for c in source.cells if meta(c).get("solution")}
    for cell in nb.cells:
        if meta(cell).get("solution"):
            cell.source = answer(answers[meta(cell)["grade_id"]])
    return nb
