"""tito check: the three checks per module, one table."""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import List, Optional

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from tito.core import registry
from tito.core.console import console, on_terminal
from tito.core.options import AllOpt, ModulesArg
from tito.core.settings import load_settings, require_course_repo



def check(
    modules: Optional[List[str]] = ModulesArg,
    all_: bool = AllOpt,
    jobs: int = typer.Option(0, "--jobs", "-j", help="Modules checked in parallel (default: settings.ini [grading] jobs)."),
) -> None:
    """Run the three checks per module: solution scores full marks, student version runs and scores 0, package tests pass.

    Example: tito check 01    (or: tito check --all)
    """
    from tito.core.checks import CheckResult, check_module

    require_course_repo("tito check", "Test your notebooks with `tito test NN`.")
    chosen = registry.select(modules, all_)
    workers = jobs if jobs > 0 else load_settings().effective_jobs
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=not on_terminal()) as progress:
        task = progress.add_task("checking modules", total=len(chosen))

        # Processes, not threads: nbgrader's converters change the working directory of the
        # whole process, so two modules checked in threads of one process would race.
        with ProcessPoolExecutor(max_workers=max(1, min(workers, len(chosen)))) as pool:
            futures = {pool.submit(check_module, module): module for module in chosen}
            done = {}
            for future in as_completed(futures):
                module = futures[future]
                try:
                    done[module] = future.result()
                except Exception as err:  # a crash in one module's check must not hide the others
                    done[module] = CheckResult(module, problems=[f"check crashed: {type(err).__name__}: {err}"])
                progress.advance(task)
        results = [done[module] for module in chosen]

    table = Table(title="tito check", show_lines=False)
    for column in ("module", "1 · solution", "2 · student", "3 · tests", "result"):
        table.add_column(column)
    for result in results:
        verdict = "[green]pass[/]" if result.ok else "[red]FAIL[/]"
        table.add_row(result.module.slug, result.solution, result.student, result.tests, verdict)
    console.print(table)
    failures = [r for r in results if not r.ok]
    for result in failures:
        console.print(f"[red]{result.module.slug}[/]:")
        for problem in result.problems:
            console.print(f"  • {problem}", soft_wrap=True)
    if failures:
        raise typer.Exit(1)
    console.print(f"[green]All {len(results)} module(s) pass the three checks.[/]")


def register(app: typer.Typer) -> None:
    app.command("check")(check)
