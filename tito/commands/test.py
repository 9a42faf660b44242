"""tito test: run a module's tests against the package."""
from __future__ import annotations

from typing import List, Optional

import typer

from tito.core import registry
from tito.core.console import console, fail
from tito.core.options import AllOpt, ModulesArg



def test(
    modules: Optional[List[str]] = ModulesArg,
    all_: bool = AllOpt,
) -> None:
    """Run each module's tests (tests/modules/test_NN_name.py) against the tinytorch package.

    Example: tito test 01    (or: tito test --all)
    """
    from tito.core.checks import run_tests
    from tito.core.settings import find_root
    from tito.core.workspace import is_workspace

    chosen = registry.select(modules, all_)
    if is_workspace(find_root()):   # a student workspace: nbgrader validate on the student's notebooks
        _validate_workspace(chosen)
        return
    failed = []
    for module in chosen:
        if not module.tests.is_file():
            console.print(f"[red]✗[/] {module.slug}: no tests at {module.tests.relative_to(module.root)}")
            failed.append(module.slug)
            continue
        with console.status(f"testing {module.slug}…"):
            run = run_tests(module)
        if not run.passed:
            console.print(run.output.rstrip(), markup=False, highlight=False)
            console.print(f"[red]✗[/] {module.slug}: {run.summary}")
            failed.append(module.slug)
        else:
            console.print(f"[green]✓[/] {module.slug}: {run.summary}")
    if failed:
        raise fail(f"tests failed for {', '.join(failed)}")


def _validate_workspace(chosen) -> None:
    from tito.core.settings import load_settings
    from tito.core.workspace import validate

    failed = []
    for module in chosen:
        with console.status(f"validating {module.notebook_name}…"):
            result = validate(module, timeout=load_settings().cell_timeout)
        if result.passed:
            console.print(f"[green]✓[/] {module.slug}: every test in {module.notebook_name} passes")
        else:
            for line in result.failures:
                console.print(f"  [red]✗[/] {line}", soft_wrap=True)
            console.print(f"[red]✗[/] {module.slug}: {len(result.failures)} test cell(s) fail")
            failed.append(module.slug)
    if failed:
        raise fail(f"tests failed for {', '.join(failed)}")


def register(app: typer.Typer) -> None:
    app.command("test")(test)
