"""tito hub …: the classroom JupyterHub for this course (up, down, status)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from tito.core.console import console

app = typer.Typer(no_args_is_help=True, help="The classroom: a JupyterHub where students fetch, work and submit "
                  "modules (nbgrader's exchange).\n\nExample: sudo tito hub up --roster roster.csv")


def _hub():
    from tito.core.hub import hub_settings

    return hub_settings()


@app.command()
def up(port: int = typer.Option(8000, "--port", "-p", help="Public port (the hub also uses PORT+1, PORT+2 and, for user servers, PORT+10 upwards)."),
       ip: str = typer.Option("127.0.0.1", "--ip", help="Address to listen on (0.0.0.0 for a real deployment, behind HTTPS)."),
       roster: Optional[Path] = typer.Option(None, "--roster", help="CSV with student_id,first_name,last_name,email[,password]: "
                                             "accounts, logins and gradebook names.")) -> None:
    """Start JupyterHub for this course in the background: accounts from the roster, JupyterLab
    with nbgrader's Assignments tab for students, the formgrader for instructors.

    Example: sudo tito hub up --roster roster.csv --port 8000
    """
    from tito.core import hub as core

    hub = _hub()
    with console.status("starting JupyterHub…"):
        running, students, passwords, warnings = core.up(hub, port=port, ip=ip, roster=roster)
    console.print(f"[green]✓[/] JupyterHub is running: {running.url}/  (log: {running.log})", soft_wrap=True)
    console.print(f"  instructors: {', '.join(hub.instructors)}; {len(students)} student(s) from the roster; "
                  f"exchange {hub.exchange}", soft_wrap=True)
    if passwords:
        console.print(f"  {len(passwords)} password(s) set; they are in {hub.state_dir / 'passwords.csv'} (root only)",
                      soft_wrap=True)
    for warning in warnings:
        console.print(f"[yellow]![/] {warning}", soft_wrap=True)
    console.print("  Release a module to the students: tito nbgrader release 01 --exchange.  Stop: tito hub down")


@app.command()
def down() -> None:
    """Stop the hub, the proxy and every user server it started.

    Example: sudo tito hub down
    """
    from tito.core import hub as core

    pids = core.down(_hub())
    console.print(f"[green]✓[/] hub stopped ({len(pids)} process(es))" if pids else "The hub was not running.")


@app.command()
def status() -> None:
    """The hub's users and their running servers.

    Example: tito hub status
    """
    from rich.table import Table

    from tito.core import hub as core
    from tito.core.console import fail

    hub = _hub()
    if hub.state_dir.is_dir() and not os.access(hub.state_dir, os.R_OK | os.X_OK):
        raise fail(f"The hub's state ({hub.state_dir}) is root's: sudo tito hub status")
    running = core.read_running(hub)
    if running is None:
        raise fail("The hub is not running (start it with `tito hub up`).")
    table = Table(title=f"JupyterHub {running.url}/ — pid {running.pid}")
    for column in ("user", "role", "server", "last activity"):
        table.add_column(column)
    for user in sorted(core.users(hub, running), key=lambda u: (not u.get("admin"), u["name"])):
        server = (user.get("servers") or {}).get("")
        state = "[green]running[/]" if server and server.get("ready") else ("starting" if server else "–")
        table.add_row(user["name"], "instructor" if user["name"] in hub.instructors else "student", state,
                      (user.get("last_activity") or "never")[:19].replace("T", " "))
    console.print(table)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="hub")
