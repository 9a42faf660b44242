"""One rich console for every command, and the way errors reach the user."""
from __future__ import annotations

import contextlib
import sys

from rich.console import Console

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def on_terminal() -> bool:
    """Is stdout a real terminal? Not the same as rich's `is_terminal`: a `!tito …` cell in
    Jupyter sets FORCE_COLOR, so rich would draw spinners into the notebook's output frame by frame."""
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def status(message: str):
    """A spinner with `message` while the block runs, on a terminal only (elsewhere nothing)."""
    return console.status(message) if on_terminal() else contextlib.nullcontext()


def fail(message: str, code: int = 1) -> "typer.Exit":
    """Print an error for the user and return the Exit to raise."""
    import typer

    err_console.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    return typer.Exit(code)
