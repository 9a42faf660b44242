"""tito — the TinyTorch command line.

Each file in tito/commands/ is one command group and defines `register(app)`; this file only
collects them, so adding a command never means editing a list here.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

import tito.commands
from tito.core.console import err_console
from tito.core.settings import TitoError

app = typer.Typer(
    name="tito",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root() -> None:
    """TinyTorch course tools: export modules, test and check them, grade, build the book."""


for _info in sorted(pkgutil.iter_modules(tito.commands.__path__), key=lambda m: m.name):
    importlib.import_module(f"tito.commands.{_info.name}").register(app)


def main() -> None:
    """Console entry point: user errors print one clear line, not a traceback."""
    try:
        app(standalone_mode=True)
    except TitoError as err:
        from rich.markup import escape

        err_console.print(f"[bold red]error:[/] {escape(str(err))}", soft_wrap=True)   # text, not markup
        sys.exit(2)
