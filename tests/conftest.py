"""Shared fixtures: the repository root and throw-away copies of the project."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


def run_tito(*args: str, cwd: Path = ROOT, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run the tito CLI as a user would, in `cwd`; output is returned, never printed."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("TINYTORCH_ROOT", None)
    return subprocess.run([sys.executable, "-m", "tito", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def scratch_project(tmp_path: Path) -> Path:
    """A copy of the project (sources, package, settings) that a test may break freely."""
    target = tmp_path / "project"
    target.mkdir()
    for name in ("settings.ini", "nbgrader_config.py", "pyproject.toml"):
        shutil.copy(ROOT / name, target / name)
    shutil.copytree(ROOT / "modules", target / "modules",
                    ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "__pycache__"))
    shutil.copytree(ROOT / "tinytorch", target / "tinytorch", ignore=shutil.ignore_patterns("__pycache__"))
    return target
