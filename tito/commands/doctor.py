"""tito doctor: is this machine ready for the course?"""
from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from tito.core.console import console, status

# The course's tools: whatever pyproject.toml declares (the course repository adds its [dev] extra:
# pytest and friends run the instructor's tests/; a student workspace validates with nbgrader instead).
FALLBACK_TOOLS = ("numpy", "jupytext", "nbgrader", "nbdev", "jupyterlab", "notebook", "nbconvert", "nbclient",
                  "typer", "rich")
# (what JupyterLab must see, the command that lists it, the name in that list, needed in a workspace)
EXTENSIONS = (
    ("jupytext (JupyterLab)", ("labextension", "list"), "jupyterlab-jupytext", True),
    ("nbgrader (JupyterLab)", ("labextension", "list"), "@jupyter/nbgrader", True),
    ("jupytext (server)", ("server", "extension", "list"), "jupyterlab_jupytext", True),
    ("nbgrader formgrader (server)", ("server", "extension", "list"), "nbgrader.server_extensions.formgrader", False),
    ("nbgrader validate (server)", ("server", "extension", "list"), "nbgrader.server_extensions.validate_assignment", True),
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def required_tools(root: Path | None, workspace: bool) -> list[str]:
    """Distribution names from pyproject.toml's dependencies (plus the [dev] extra in the course
    repository), in the order they are declared."""
    try:
        import tomllib

        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    except (ImportError, OSError, KeyError, ValueError, TypeError):
        return list(FALLBACK_TOOLS)
    requirements = list(project.get("dependencies", []))
    if not workspace:
        requirements += project.get("optional-dependencies", {}).get("dev", [])
    names = [m.group(1) for m in map(REQUIREMENT_NAME.match, requirements) if m]
    return list(dict.fromkeys(names)) or list(FALLBACK_TOOLS)


def install_advice(root: Path | None, workspace: bool) -> str:
    if root is None:
        return 'pip install -e ".[dev]" in the course repository, or pip install -e DIR for a workspace'
    return f"pip install -e {root}" if workspace else f'pip install -e "{root}[dev]"'


def _jupyter_list(args: tuple[str, ...]) -> str:
    try:
        # `jupyter server extension list` imports every extension (nbgrader's formgrader alone takes
        # seconds on a busy machine)
        run = subprocess.run([sys.executable, "-m", "jupyter", *args], capture_output=True, text=True, timeout=240)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"failed: {err}"
    return ANSI.sub("", run.stdout + run.stderr)


def doctor() -> None:
    """Show the versions of the course's tools and whether JupyterLab sees the nbgrader and jupytext extensions.

    Works in the course repository and in a student workspace (where the instructor's tools,
    pytest and the formgrader, are not needed).

    Example: tito doctor
    """
    from tito.core.settings import TitoError, find_root, in_workspace

    try:
        root = find_root()
        workspace = in_workspace(root)
    except TitoError:
        root, workspace = None, False
    advice = install_advice(root, workspace)
    problems = 0
    place = "student workspace" if workspace else "course repository" if root else "no project here"
    table = Table(title=f"tito doctor — {escape(str(root)) if root else 'outside a project'} ({place})")
    for column in ("component", "version / state", "ok"):
        table.add_column(column)
    python_ok = sys.version_info >= (3, 10)
    problems += not python_ok
    table.add_row("python", sys.version.split()[0], "[green]✓[/]" if python_ok else "[red]✗ needs ≥ 3.10[/]")
    for tool in required_tools(root, workspace):
        try:
            table.add_row(tool, metadata.version(tool), "[green]✓[/]")
        except metadata.PackageNotFoundError:
            problems += 1
            table.add_row(tool, "not installed", f"[red]✗[/] {escape(advice)}")
    listings: dict[tuple[str, ...], str] = {}
    with status("asking Jupyter which extensions it sees…"):
        for args in {args for _, args, _, _ in EXTENSIONS}:
            listings[args] = _jupyter_list(args)
    for label, args, name, needed_by_students in EXTENSIONS:
        if workspace and not needed_by_students:
            continue
        text = listings[args]
        line = next((line for line in text.splitlines() if name in line.split()), None)
        enabled = line is not None and "enabled" in line and "disabled" not in line
        problems += not enabled
        state = "enabled" if enabled else ("disabled" if line else
                                           text if text.startswith("failed:") else "not found")
        table.add_row(label, state, "[green]✓[/]" if enabled else "[red]✗[/]")
    console.print(table)
    if problems:
        console.print(f"[red]{problems} problem(s).[/] Reinstall with: {escape(advice)}", soft_wrap=True)
        raise typer.Exit(1)
    console.print("[green]Everything the course needs is here.[/]")


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
