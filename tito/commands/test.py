"""tito test: run a module's tests against the package."""
from __future__ import annotations

from typing import List, Optional

import typer

from tito.core import registry
from tito.core.console import console, fail

ModulesArg = typer.Argument(None, metavar="[MODULE]...", help="Modules by number, name or folder: 1, 01, tensor, 01_tensor.")


def test(
    modules: Optional[List[str]] = ModulesArg,
    all_: bool = typer.Option(False, "--all", help="Every module, in order."),
) -> None:
    """Run each module's tests (tests/modules/test_NN_name.py) against the tinytorch package.

    Example: tito test 01    (or: tito test --all)
    """
    from tito.core.checks import run_tests

    chosen = registry.select(modules, all_)
    failed = []
    for module in chosen:
        if not module.tests.is_file():
            console.print(f"[red]✗[/] {module.slug}: no tests at {module.tests.relative_to(module.root)}")
            failed.append(module.slug)
            continue
        with console.status(f"testing {module.slug}…"):
            run = run_tests(module)
        summary = run.stdout.strip().splitlines()[-1].strip("= ") if run.stdout.strip() else "no output"
        if run.returncode:
            console.print(run.stdout.rstrip(), markup=False, highlight=False)
            console.print(f"[red]✗[/] {module.slug}: {summary}")
            failed.append(module.slug)
        else:
            console.print(f"[green]✓[/] {module.slug}: {summary}")
    if failed:
        raise fail(f"tests failed for {', '.join(failed)}")


def register(app: typer.Typer) -> None:
    app.command("test")(test)
