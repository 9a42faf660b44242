"""tito status: one table of the course's modules."""
from __future__ import annotations

import typer
from rich.table import Table

from tito.core import registry
from tito.core.console import console, status as spinner


def status(
    run_tests_: bool = typer.Option(True, "--tests/--no-tests", help="Run each module's tests (slower) or skip them."),
) -> None:
    """Show every module: its package file, whether it is up to date with the source, and its tests
    (in a student workspace: whether the notebook's tests pass, as `tito test` reports them).

    Example: tito status    (or: tito status --no-tests)
    """
    from tito.core import exporter
    from tito.core.checks import run_tests
    from tito.core.notebook import SourceError
    from tito.core.settings import find_root, load_settings
    from tito.core.workspace import is_workspace, validate

    in_workspace = is_workspace(find_root())   # a student's tests are their notebook's (nbgrader validate)

    table = Table(title="TinyTorch modules")
    for column in ("#", "module", "package file", "exported", "up to date", "tests"):
        table.add_column(column)
    for module in registry.all_modules():
        target = module.package_file()
        where = str(target.relative_to(module.root)) if target else "–"
        exported = "[green]yes[/]" if target and target.is_file() else "[red]no[/]"
        try:
            rendered = exporter.render(module)
            current = rendered.target.read_text(encoding="utf-8") if rendered.target.is_file() else None
            fresh = "[green]yes[/]" if current == rendered.text else "[yellow]no: run tito export[/]"
        except SourceError as err:
            fresh = f"[red]source broken ({len(err.problems)} problem(s))[/]"
        if not run_tests_:
            tests = "–"
        elif in_workspace:
            with spinner(f"validating {module.notebook_name}…"):
                check = validate(module, timeout=load_settings().cell_timeout)
            tests = "[green]all pass[/]" if check.passed else f"[red]{len(check.failures)} failing[/]"
        elif not module.tests.is_file():
            tests = "[red]missing[/]"
        else:
            with spinner(f"testing {module.slug}…"):
                run = run_tests(module)
            tests = f"[green]{run.summary}[/]" if run.passed else f"[red]{run.summary}[/]"
        table.add_row(f"{module.number:02d}", module.name, where, exported, fresh, tests)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("status")(status)
