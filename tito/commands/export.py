"""tito export: module sources -> tinytorch package."""
from __future__ import annotations

import time
from typing import List, Optional

import typer

from tito.core import registry
from tito.core.console import console, fail
from tito.core.options import AllOpt, ModulesArg



def export(modules: Optional[List[str]] = ModulesArg, all_: bool = AllOpt) -> None:
    """Export modules' `#| export` cells into the tinytorch package.

    Example: tito export 01    (or: tito export --all)
    """
    from tito.core import exporter
    from tito.core.notebook import SourceError

    chosen = registry.select(modules, all_)
    start = time.perf_counter()
    try:
        results = exporter.export(chosen)
    except SourceError as err:
        for problem in err.problems:
            console.print(f"[red]✗[/] {problem}", soft_wrap=True)
        raise fail("export stopped; the package was left unchanged.")
    for result in results:
        where = result.target.relative_to(result.module.root)
        state = "updated" if result.changed else "unchanged"
        console.print(f"[green]✓[/] {result.module.slug} → {where} ({state})")
    console.print(f"Exported {len(results)} module(s) in {time.perf_counter() - start:.2f} s.")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
