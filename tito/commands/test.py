"""tito test: run a module's tests against the package."""
from __future__ import annotations

from typing import List, Optional

import typer

from tito.core import registry
from tito.core.console import console, fail, status
from tito.core.options import AllOpt, ModulesArg


def test(
    modules: Optional[List[str]] = ModulesArg,
    all_: bool = AllOpt,
) -> None:
    """Run each module's tests (tests/modules/test_NN_name.py) against the tinytorch package.

    In a student workspace: nbgrader validate on the module's notebook, with the workspace's own
    package first. Says when a source or notebook is newer than the package it tests.

    Example: tito test 01    (or: tito test --all)
    """
    from tito.core.checks import run_tests
    from tito.core.settings import find_root
    from tito.core.workspace import is_workspace

    chosen = registry.select(modules, all_)
    in_workspace = is_workspace(find_root())
    _warn_stale(chosen, in_workspace)
    if in_workspace:   # a student workspace: nbgrader validate on the student's notebooks
        _validate_workspace(chosen)
        return
    failed = []
    for module in chosen:
        if not module.tests.is_file():
            console.print(f"[red]✗[/] {module.slug}: no tests at {module.tests.relative_to(module.root)}")
            failed.append(module.slug)
            continue
        with status(f"testing {module.slug}…"):
            run = run_tests(module)
        if not run.passed:
            console.print(run.output.rstrip(), markup=False, highlight=False)
            console.print(f"[red]✗[/] {module.slug}: {run.summary}")
            failed.append(module.slug)
        else:
            console.print(f"[green]✓[/] {module.slug}: {run.summary}")
    if failed:
        raise fail(f"tests failed for {', '.join(failed)}")


def _warn_stale(chosen, in_workspace: bool) -> None:
    """One line per module (the chosen ones and those before them, whose package they import)
    whose source or notebook was changed after its package file was last exported."""
    from tito.core.exporter import stale_modules

    last = max(m.number for m in chosen)
    for module, source, target in stale_modules([m for m in registry.all_modules() if m.number <= last]):
        export = f"`tito export {module.number:02d}`"
        if not in_workspace:
            why = f"these tests use the package — run {export} to test your latest code"
        elif module in chosen:   # its own notebook is what gets validated; later modules import the package
            why = f"later modules import the package — run {export} when this module is done"
        else:
            why = f"the modules after it import the package — run {export} first"
        console.print(f"[yellow]![/] {source.relative_to(module.root)} is newer than "
                      f"{target.relative_to(module.root)}: {why}.", soft_wrap=True)


def _validate_workspace(chosen) -> None:
    from tito.core.settings import load_settings
    from tito.core.workspace import validate

    failed = []
    for module in chosen:
        for problem in _syntax_errors(module):
            console.print("  [red]✗[/] ", end="")
            console.print(str(problem), soft_wrap=True, markup=False)
        with status(f"validating {module.notebook_name}…"):
            result = validate(module, timeout=load_settings().cell_timeout)
        if result.passed:
            console.print(f"[green]✓[/] {module.slug}: every test in {module.notebook_name} passes")
            continue
        unfinished = sorted({f.unfinished for f in result.failures if f.unfinished})
        for failure in result.failures:
            console.print(f"  [red]✗[/] {failure.kind}: ", end="")
            console.print(failure.cell, markup=False, soft_wrap=True)
            for line in failure.error.splitlines():
                console.print(f"      {line}", markup=False, soft_wrap=True)
        console.print(f"[red]✗[/] {module.slug}: {len(result.failures)} test cell(s) fail")
        for slug in unfinished:
            console.print(f"  → {module.slug} builds on {slug}, which is not finished: finish {slug} first "
                          f"and `tito export {slug[:2]}`, then test {module.slug} again.", soft_wrap=True)
        failed.append(module.slug)
    if failed:
        raise fail(f"tests failed for {', '.join(failed)}")


def _syntax_errors(module) -> list:
    """Syntax errors in the student's notebook, as "cell N, line M: … : the line"."""
    from tito.core.notebook import SourceError, check_notebook, read_source

    try:
        notebook = module.folder / module.notebook_name
        return [p for p in check_notebook(read_source(notebook), notebook) if "syntax error" in p.reason]
    except SourceError as err:
        return err.problems


def register(app: typer.Typer) -> None:
    app.command("test")(test)
