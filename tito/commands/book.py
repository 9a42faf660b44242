"""tito book: build the course book (static HTML) from the module sources, and serve it locally."""
from __future__ import annotations

import functools
import http.server
import socketserver
from typing import Optional

import typer

from tito.core.console import console, fail
from tito.core.settings import find_root, load_settings, require_course_repo

book_app = typer.Typer(
    help="The course book: one chapter per module, built offline with Jupyter Book.\n\n"
         "Example: tito book build --edition instructor && tito book serve",
    no_args_is_help=True,
)

EditionOpt = typer.Option(None, "--edition", "-e", metavar="student|instructor",
                          help="student (solutions stripped as nbgrader does) or instructor (solutions "
                               "shown). Default: \\[book] edition in settings.ini.")


@book_app.command("build")
def build(edition: Optional[str] = EditionOpt,
          jobs: int = typer.Option(0, "--jobs", "-j", help="Notebooks executed in parallel (0: one per "
                                                            "core, at most 4).")) -> None:
    """Execute every module and build the book into book/_build/<edition>/html.

    Example: tito book build --edition instructor
    """
    from tito.core import book as course_book

    require_course_repo("tito book build")
    root = find_root()
    edition = course_book.check_edition(edition or load_settings(root).book_edition)
    console.print(f"Building the {edition} edition of the book…")
    try:
        result = course_book.build(root, edition, jobs=jobs or None,
                                   progress=lambda message: console.print(f"  {message}"))
    except course_book.BookError as err:
        raise fail(str(err))
    site = result.html_dir.relative_to(root)
    console.print(f"[green]✓[/] {len(result.modules)} module chapter(s) + intro, quick start and "
                  f"instructor guide → {site}/index.html")
    console.print(f"Build time: {result.seconds:.1f} s (executing notebooks {result.execute_seconds:.1f} s, "
                  f"Jupyter Book {result.sphinx_seconds:.1f} s).")
    warnings = result.html_dir.parent / "warnings.txt"
    if warnings.is_file():
        console.print(f"[yellow]Sphinx warnings:[/] see {warnings.relative_to(root)}")


@book_app.command("serve")
def serve(edition: Optional[str] = EditionOpt,
          port: int = typer.Option(8000, "--port", "-p", help="Port on 127.0.0.1."),
          build_first: bool = typer.Option(False, "--build", help="Build the book before serving.")) -> None:
    """Serve the built book at http://127.0.0.1:PORT/ until Ctrl-C (builds it first if missing).

    Example: tito book serve --port 8000
    """
    from tito.core import book as course_book

    root = find_root()
    edition = course_book.check_edition(edition or load_settings(root).book_edition)
    site = course_book.html_dir(root, edition)
    if build_first or not (site / "index.html").is_file():
        build(edition=edition, jobs=0)
    handler = functools.partial(_QuietHandler, directory=str(site))
    socketserver.TCPServer.allow_reuse_address = True
    try:
        server = socketserver.ThreadingTCPServer(("127.0.0.1", port), handler)
    except OSError as err:
        raise fail(f"cannot listen on 127.0.0.1:{port}: {err.strerror}. Try --port with another number.")
    console.print(f"Serving the {edition} edition from {site.relative_to(root)} at "
                  f"[bold]http://127.0.0.1:{server.server_address[1]}/[/] — Ctrl-C stops.")
    with server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            console.print("Stopped.")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        pass


def register(app: typer.Typer) -> None:
    app.add_typer(book_app, name="book")
