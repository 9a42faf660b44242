"""The tito CLI as a user meets it: help, module names, errors."""
from __future__ import annotations

import os
import re
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


def test_no_spinner_without_a_terminal(scratch_project):
    """`!tito test 00` in a notebook: stdout is a pipe but FORCE_COLOR is set (ipykernel sets it)."""
    env = {**os.environ, "FORCE_COLOR": "1", "TERM": "xterm-color", "COLUMNS": "200"}
    env.pop("NO_COLOR", None)
    env.pop("TINYTORCH_ROOT", None)
    run = subprocess.run([sys.executable, "-m", "tito", "status", "--no-tests"], cwd=scratch_project, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "\x1b[?25l" not in run.stdout and "⠋" not in run.stdout


def test_tito_test_says_when_the_source_is_newer_than_the_package(scratch_project):
    source = scratch_project / "modules" / "source" / "00_setup" / "setup_dev.py"
    warning = "modules/source/00_setup/setup_dev.py is newer than tinytorch/core/setup.py"
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace("#| export\n", "#| export\nCHANGED = 1\n", 1), encoding="utf-8")
    run = run_tito("test", "00", cwd=scratch_project)
    assert warning in run.stdout and "tito export 00" in run.stdout, run.stdout
    assert run_tito("export", "00", cwd=scratch_project).returncode == 0
    assert warning not in run_tito("test", "00", cwd=scratch_project).stdout
    os.utime(source)                                    # saved again, no change: nothing to say
    assert warning not in run_tito("test", "00", cwd=scratch_project).stdout


@pytest.mark.parametrize("command", [["nbgrader", "generate", "00"], ["nbgrader", "release", "00", "--to", "ws"],
                                     ["export", "00"]], ids=" ".join)
def test_a_broken_source_is_one_line_per_problem(scratch_project, command):
    source = scratch_project / "modules" / "source" / "00_setup" / "setup_dev.py"
    source.write_text(source.read_text(encoding="utf-8").replace("#| export\n", "#| export\nx = = 1\n", 1),
                      encoding="utf-8")
    run = run_tito(*command, cwd=scratch_project)
    out = run.stdout + run.stderr
    assert run.returncode in (1, 2) and "Traceback" not in out, out
    assert re.search(r"setup_dev\.py:\d+: syntax error: invalid syntax: x = = 1", out), out
    assert len(out.strip().splitlines()) <= 3, out
    assert not (scratch_project / "ws").exists()


def test_doctor_advice_keeps_its_brackets(tmp_path):
    """A missing tool gets advice that can help (`pip install -e "ROOT[dev]"`, brackets and all)."""
    project = tmp_path / "project"
    (project / "modules" / "source").mkdir(parents=True)
    (project / "settings.ini").write_text("[course]\nid = demo\n", encoding="utf-8")
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\ndependencies = ["numpy", '
                                            '"tinytorch-no-such-tool>=1"]\n', encoding="utf-8")
    run = run_tito("doctor", cwd=project)
    assert run.returncode == 1
    assert "tinytorch-no-such-tool" in run.stdout and "not installed" in run.stdout
    assert f'pip install -e "{project}[dev]"' in run.stdout, run.stdout
