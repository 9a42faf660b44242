"""One rich console for every command, and the way errors reach the user."""
from __future__ import annotations

from rich.console import Console

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> "typer.Exit":
    """Print an error for the user and return the Exit to raise."""
    import typer

    err_console.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    return typer.Exit(code)
