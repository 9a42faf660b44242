"""tito lab: JupyterLab on this workspace (course repository or student workspace)."""
from __future__ import annotations

import signal
import threading
import webbrowser
from pathlib import Path

import typer

from tito.core.console import console
from tito.core.lab import LabServer
from tito.core.settings import find_root


def lab(
    port: int = typer.Option(0, "--port", "-p", help="Port on 127.0.0.1 (default: a free one)."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Don't open a web browser (headless use)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show JupyterLab's own log messages."),
) -> None:
    """Start JupyterLab 4 on 127.0.0.1 in this workspace, with jupytext and nbgrader; Ctrl-C stops it.

    In the course repository nbgrader's formgrader is available (Nbgrader menu → Formgrader);
    in a student workspace the notebook toolbar has Validate.

    Example: tito lab    (or: tito lab --no-browser --port 8888)
    """
    root = find_root()
    server = LabServer(root, port=port, log_level="INFO" if verbose else "WARN")
    role = "course repository (formgrader on)" if server.instructor else "student workspace"
    console.print(f"Starting JupyterLab in {root} — {role} …")

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        console.print(f"[green]JupyterLab is running:[/] {server.url}", soft_wrap=True)
        console.print("Open the notebooks under modules/source/. Press Ctrl-C to stop the server.")
        if not no_browser:
            webbrowser.open(server.url)
        while not stop.is_set() and server.process.poll() is None:
            stop.wait(0.5)
    finally:
        code = server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stop.is_set():
        console.print("JupyterLab stopped.")
    elif code:
        console.print(f"[red]JupyterLab exited with code {code}.[/]")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("lab")(lab)
