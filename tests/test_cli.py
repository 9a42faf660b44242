"""The tito CLI as a user meets it: help, module names, errors."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import run_tito
from tito.core import registry

HEAVY = ("nbformat", "jupytext", "nbgrader", "nbdev", "nbconvert", "numpy", "jupyterlab")


def _commands() -> list[list[str]]:
    """Every command and sub-command path, from typer's own tree."""
    import typer.main

    from tito.main import app

    found = []

    def walk(group, prefix):
        for name, command in getattr(group, "commands", {}).items():
            found.append(prefix + [name])
            walk(command, prefix + [name])

    walk(typer.main.get_command(app), [])
    return found


def test_startup_stays_light():
    """`tito --help` and name errors must be instant: heavy libraries load inside commands only."""
    code = "import sys, tito.main; print(','.join(m for m in %r if m in sys.modules))" % (HEAVY,)
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", f"importing tito.main loads {loaded}: import them inside the command function"


@pytest.mark.parametrize("command", _commands(), ids=" ".join)
def test_every_command_has_help_with_an_example(command):
    run = run_tito(*command, "--help")
    assert run.returncode == 0, run.stderr
    assert "Example" in run.stdout, f"`tito {' '.join(command)} --help` shows no example"


def test_core_commands_exist():
    names = {c[0] for c in _commands()}
    assert {"export", "test", "check", "status", "doctor"} <= names


@pytest.mark.parametrize("command", ["export", "test", "check"])
def test_unknown_module_lists_valid_names(command, repo_root):
    run = run_tito(command, "no_such_module")
    assert run.returncode == 2
    assert "Unknown module 'no_such_module'" in run.stderr
    for module in registry.all_modules(repo_root):
        assert module.slug in run.stderr
    assert "Traceback" not in run.stderr


def test_no_module_and_no_all_is_explained():
    run = run_tito("export")
    assert run.returncode == 2
    assert "--all" in run.stderr


def test_outside_a_project_says_so(tmp_path):
    run = run_tito("export", "00", cwd=tmp_path)
    assert run.returncode == 2
    assert "No TinyTorch project found" in run.stderr


def test_status_lists_every_module(repo_root):
    run = run_tito("status", "--no-tests")
    assert run.returncode == 0, run.stderr
    for module in registry.all_modules(repo_root):
        assert module.name in run.stdout


def test_test_command_runs_the_module_tests():
    run = run_tito("test", "00")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "passed" in run.stdout


def test_doctor_sees_tools_and_extensions():
    run = run_tito("doctor")
    assert run.returncode == 0, run.stdout + run.stderr
    for name in ("nbgrader", "jupytext", "nbdev", "jupyterlab", "nbgrader formgrader (server)"):
        assert name in run.stdout
