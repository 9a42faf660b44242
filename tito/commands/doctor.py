"""tito doctor: is this machine ready for the course?"""
from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata

import typer
from rich.table import Table

from tito.core.console import console

TOOLS = ("numpy", "jupytext", "nbgrader", "nbdev", "jupyterlab", "notebook", "nbconvert", "nbclient",
         "typer", "rich", "pytest", "hypothesis")
# (what JupyterLab must see, the command that lists it, the name in that list)
EXTENSIONS = (
    ("jupytext (JupyterLab)", ("labextension", "list"), "jupyterlab-jupytext"),
    ("nbgrader (JupyterLab)", ("labextension", "list"), "@jupyter/nbgrader"),
    ("jupytext (server)", ("server", "extension", "list"), "jupyterlab_jupytext"),
    ("nbgrader formgrader (server)", ("server", "extension", "list"), "nbgrader.server_extensions.formgrader"),
    ("nbgrader validate (server)", ("server", "extension", "list"), "nbgrader.server_extensions.validate_assignment"),
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _jupyter_list(args: tuple[str, ...]) -> str:
    try:
        run = subprocess.run([sys.executable, "-m", "jupyter", *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"failed: {err}"
    return ANSI.sub("", run.stdout + run.stderr)


def doctor() -> None:
    """Show the versions of the course's tools and whether JupyterLab sees the nbgrader and jupytext extensions.

    Example: tito doctor
    """
    problems = 0
    table = Table(title="tito doctor")
    for column in ("component", "version / state", "ok"):
        table.add_column(column)
    python_ok = sys.version_info >= (3, 10)
    problems += not python_ok
    table.add_row("python", sys.version.split()[0], "[green]✓[/]" if python_ok else "[red]✗ needs ≥ 3.10[/]")
    for tool in TOOLS:
        try:
            table.add_row(tool, metadata.version(tool), "[green]✓[/]")
        except metadata.PackageNotFoundError:
            problems += 1
            table.add_row(tool, "not installed", "[red]✗ pip install -e \".[dev]\"[/]")
    listings: dict[tuple[str, ...], str] = {}
    with console.status("asking Jupyter which extensions it sees…"):
        for args in {args for _, args, _ in EXTENSIONS}:
            listings[args] = _jupyter_list(args)
    for label, args, name in EXTENSIONS:
        text = listings[args]
        line = next((line for line in text.splitlines() if name in line.split()), None)
        enabled = line is not None and "enabled" in line and "disabled" not in line
        problems += not enabled
        state = "enabled" if enabled else ("disabled" if line else "not found")
        table.add_row(label, state, "[green]✓[/]" if enabled else "[red]✗[/]")
    console.print(table)
    if problems:
        console.print(f"[red]{problems} problem(s).[/] Reinstall with: pip install -e \".[dev]\"")
        raise typer.Exit(1)
    console.print("[green]Everything the course needs is here.[/]")


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
