"""tito nbgrader …: the instructor's grading cycle on the nbgrader course directory.

generate → release → collect → autograde → feedback → report. The course directory is
settings.ini's `[nbgrader] course_dir` (the same one nbgrader_config.py gives plain `nbgrader`).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tito.core import registry
from tito.core.console import console, fail
from tito.core.options import AllOpt, ModulesArg

app = typer.Typer(no_args_is_help=True, help="Instructor pipeline: generate, release, collect, autograde, "
                  "feedback, report (nbgrader underneath).\n\nExample: tito nbgrader autograde 01 --jobs 2")



def _course():
    from tito.core.course import Course
    from tito.core.settings import require_course_repo  # (helper "student") not in a student workspace

    require_course_repo("tito nbgrader")
    return Course.from_settings()


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


@app.command()
def generate(modules: Optional[List[str]] = ModulesArg, all_: bool = AllOpt) -> None:
    """Source notebook from the module's _dev.py, then nbgrader's student version (release/).

    Example: tito nbgrader generate 01
    """
    from tito.core.course import generate as run

    chosen, course = registry.select(modules, all_), _course()
    table = Table(title=f"generated in {course.directory}")
    for column in ("module", "cells", "graded", "points", "student notebook"):
        table.add_column(column)
    with _progress() as progress:
        task = progress.add_task("generating", total=len(chosen))
        for module in chosen:
            progress.update(task, description=f"generating {module.slug}")
            g = run(course, module)
            table.add_row(module.slug, str(g.cells), str(g.graded), f"{g.points:g}",
                          str(g.release.relative_to(course.directory)))
            progress.advance(task)
    console.print(table)


@app.command()
def release(modules: Optional[List[str]] = ModulesArg, all_: bool = AllOpt,
            to: Optional[Path] = typer.Option(None, "--to", help="Folder of the student workspace (created or updated)."),
            exchange: bool = typer.Option(False, "--exchange", help="Into the classroom hub's nbgrader exchange (the students' Assignments tab) instead."),
            force: bool = typer.Option(False, "--force", help="Replace notebooks the student already has.")) -> None:
    """Write a student workspace: student notebooks, the tito CLI and a tinytorch package exported
    from those notebooks. A leak check runs first; a leak stops the release and names the cell.

    Example: tito nbgrader release --all --to ~/tinytorch-student   (or: tito nbgrader release 01 --exchange)
    """
    from tito.core.workspace import release as run

    chosen, course = registry.select(modules, all_), _course()
    if exchange or not to:
        return _exchange_release(chosen, course, exchange, to, force)
    start = time.perf_counter()
    with console.status(f"releasing {len(chosen)} module(s)…"):
        result = run(course, chosen, to, force=force)
    table = Table(title=f"student workspace {result.destination}")
    table.add_column("module")
    table.add_column("notebook")
    table.add_column("package")
    for module in chosen:
        if module in result.kept:
            table.add_row(module.slug, "[yellow]kept (student's copy; --force replaces it)[/]", "–")
        else:
            target = next((str(p.relative_to(result.destination)) for p in result.package_files
                           if p.stem == module.name), "exported")
            table.add_row(module.slug, f"modules/source/{module.slug}/{module.notebook_name}", target)
    console.print(table)
    console.print(f"[green]✓[/] leak check passed; wrote {len(result.written)} module(s) in "
                  f"{time.perf_counter() - start:.1f} s. Student: pip install -e {result.destination}", soft_wrap=True)


@app.command()
def collect(modules: Optional[List[str]] = ModulesArg, all_: bool = AllOpt,
            from_: Optional[Path] = typer.Option(None, "--from", help="DIR/<student_id>/<notebook>.ipynb or DIR/<student_id>_<notebook>.ipynb"),
            exchange: bool = typer.Option(False, "--exchange", help="From the classroom hub's nbgrader exchange (what students submitted) instead.")) -> None:
    """Import submissions into nbgrader's submitted/ tree and add the students to the gradebook;
    files that fit no module are listed (exit 1), not guessed.

    Example: tito nbgrader collect 01 --from ~/Downloads/submissions   (or: tito nbgrader collect 01 --exchange)
    """
    from tito.core.course import collect as run

    chosen, course = registry.select(modules, all_), _course()
    if exchange or not from_:
        return _exchange_collect(chosen, course, exchange, from_)
    result = run(course, chosen, from_)
    table = Table(title=escape(f"collected from {from_}"))
    table.add_column("student")
    table.add_column("submitted as")
    for student, path in result.imported:
        table.add_row(escape(student), escape(str(path.relative_to(course.directory))))
    console.print(table)
    for path, reason in result.kept:
        console.print(f"[yellow]-[/] {escape(repr(str(path))[1:-1])}: {escape(reason)}", soft_wrap=True)
    for path, reason in result.problems:
        console.print(f"[red]✗[/] {escape(repr(str(path))[1:-1])}: {escape(reason)}", soft_wrap=True)
    console.print(f"{len(result.imported)} submission(s) imported, {len(result.problems)} file(s) not imported"
                  + (f", {len(result.kept)} already collected or older." if result.kept else "."))
    if result.problems:
        raise typer.Exit(1)


@app.command()
def autograde(modules: Optional[List[str]] = ModulesArg, all_: bool = AllOpt,
              student: Optional[List[str]] = typer.Option(None, "--student", help="Only these students (repeatable)."),
              jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Submissions graded in parallel (default: settings.ini, 0 = cores)."),
              timeout: Optional[float] = typer.Option(None, "--timeout", help="Seconds per cell (default: settings.ini cell_timeout)."),
              memory: Optional[int] = typer.Option(None, "--memory", help="Memory cap per submission in MiB (default: settings.ini)."),
              force: bool = typer.Option(False, "--force", help="Regrade submissions already graded."),
              cluster: Optional[str] = typer.Option(None, "--cluster", help="Dask scheduler (tcp://HOST:PORT) whose "
                                                    "workers grade (default: settings.ini [grading] cluster; empty = this machine).")) -> None:
    """Grade collected submissions, each in its own sandbox, N in parallel (or on a Dask cluster);
    exit 0 only when every submission was graded.

    Example: tito nbgrader autograde 01 --jobs 4 --timeout 30
    """
    from tito.core.autograde import Interrupted, autograde as run

    chosen, course = registry.select(modules, all_), _course()
    if memory:
        course.memory_limit_mb = memory
    empty = [m.slug for m in chosen if not course.submitted_students(m)]
    if len(empty) == len(chosen):
        raise fail(escape(f"nothing to grade: no submissions collected for {', '.join(empty)} in "
                          f"{course.directory / 'submitted'}. Collect them first: "
                          f"tito nbgrader collect {chosen[0].slug} --from DIR"))
    failures, partial = [], {}
    table = Table(title="autograde")
    for column in ("module", "student", "score", "notes"):
        table.add_column(column, overflow="fold")
    start = time.perf_counter()
    interrupted = None
    for module in chosen:
        if module.slug in empty:
            table.add_row(module.slug, "–", "–", "no submissions collected")
            continue
        total = len([s for s in course.submitted_students(module) if not student or s in student])
        with _progress() as progress:
            task = progress.add_task(f"grading {module.slug}", total=total)
            try:
                outcomes = run(course, module, students=student, jobs=jobs, timeout=timeout, force=force,
                               progress=lambda outcome: progress.advance(task),
                               cluster=cluster or course.cluster or None)
            except Interrupted as stop:
                outcomes, interrupted = stop.outcomes, module.slug
        for o in outcomes:
            if o.isolation.get("partial"):
                partial.setdefault(o.isolation["partial"], o.student)
            if not o.graded:
                failures.append((module.slug, o.student, o.reason))
            score = f"{o.score:g}/{o.max_score:g}" if o.graded or o.max_score else "–"
            # student content (grade ids, reasons) is printed as text, never as rich markup
            note = "; ".join(([f"[red]not graded: {escape(o.reason)}[/]"] if not o.graded else []) +
                             (["already graded (--force regrades)"] if o.skipped else []) +
                             [escape(n) for n in o.notes])
            table.add_row(module.slug, escape(o.student), score, note)
        if interrupted:
            break
    console.print(table)
    if interrupted:
        raise fail(f"interrupted while grading {interrupted}: the submissions listed were graded and kept; "
                   "run the same command again to grade the rest.")
    console.print(f"Graded in {time.perf_counter() - start:.1f} s; gradebook {course.gradebook_path}")
    if partial:
        console.print("[yellow]![/] File isolation is partial: submissions could reach files outside their "
                      f"scratch folder ({'; '.join(partial)}).", soft_wrap=True)
    if failures:
        for slug, who, reason in failures:
            console.print(f"[red]✗[/] {slug} {escape(who)}: {escape(reason)}", soft_wrap=True)
        raise fail(f"{len(failures)} submission(s) could not be graded (the others were).")


@app.command()
def feedback(modules: Optional[List[str]] = ModulesArg, all_: bool = AllOpt,
             student: Optional[List[str]] = typer.Option(None, "--student", help="Only these students."),
             exchange: bool = typer.Option(False, "--exchange", help="Then release it through the hub's exchange (students fetch it in the Assignments tab).")) -> None:
    """HTML feedback per student (nbgrader generate_feedback) into the course's feedback/ folder.

    Example: tito nbgrader feedback 01   (or: tito nbgrader feedback 01 --exchange)
    """
    from tito.core.course import feedback as run

    chosen, course = registry.select(modules, all_), _course()
    table = Table(title="feedback")
    for column in ("module", "student", "file"):
        table.add_column(column, overflow="fold")
    bad = 0
    for module in chosen:
        with console.status(f"feedback for {module.slug}…"):
            results = run(course, module, student)
        for who, html, error in results:
            bad += html is None
            table.add_row(module.slug, escape(who), escape(str(html.relative_to(course.directory))) if html
                          else f"[red]{escape(error)}[/]")
    console.print(table)
    if bad:
        raise fail(f"{bad} feedback file(s) could not be written")
    if exchange:
        _exchange_feedback(chosen, course, student)


@app.command()
def report(output: Path = typer.Option(Path("grades.csv"), "--output", "-o", help="CSV file to write.")) -> None:
    """nbgrader's standard grade export: one row per student × module (student_id, assignment, score, max_score, …).

    Example: tito nbgrader report --output grades.csv
    """
    from tito.core.course import report as run

    course = _course()
    rows = run(course, output)
    students = sorted({r["student_id"] for r in rows})
    table = Table(title=f"{output} — {len(rows)} row(s), {len(students)} student(s)")
    for column in ("assignment", "student_id", "score", "max_score"):
        table.add_column(column)
    for row in rows[:40]:
        table.add_row(*(escape(str(row[k])) for k in ("assignment", "student_id", "score", "max_score")))
    console.print(table)
    if len(rows) > 40:
        console.print(f"… {len(rows) - 40} more rows in {output}")


# ---- the classroom hub's exchange (tito/core/exchange.py) -------------------------------------
def _exchange_release(chosen, course, exchange: bool, to, force: bool) -> None:
    from tito.core.exchange import release as run

    if not exchange or to:
        raise fail("Say where to: --to DIR (a student workspace) or --exchange (the classroom hub), one of them.")
    with console.status(f"releasing {len(chosen)} module(s) into the exchange…"):
        released = run(course, chosen, force=force)
    for folder in released:
        console.print(f"[green]✓[/] {folder.name} released: students fetch it in the Assignments tab ({folder})", soft_wrap=True)


def _exchange_collect(chosen, course, exchange: bool, from_) -> None:
    from tito.core.exchange import collect as run

    if not exchange or from_:
        raise fail("Say where from: --from DIR (files) or --exchange (the classroom hub), one of them.")
    result = run(course, chosen)
    table = Table(title="collected from the exchange")
    for column in ("student", "submitted as", "submitted at"):
        table.add_column(column)
    for who, path, stamp in result.imported:
        table.add_row(who, str(path.relative_to(course.directory)), stamp)
    console.print(table)
    for entry, reason in result.problems:
        console.print(f"[red]✗[/] {entry}: {reason}", soft_wrap=True)
    console.print(f"{len(result.imported)} submission(s) collected, {len(result.problems)} not collected.")
    if result.problems:
        raise typer.Exit(1)


def _exchange_feedback(chosen, course, students) -> None:
    from tito.core.exchange import release_feedback as run

    released = run(course, chosen, students)
    console.print(f"[green]✓[/] feedback released through the exchange for {len(released)} submission(s)")


students_app = typer.Typer(no_args_is_help=True, help="The course roster in the gradebook (names for the "
                           "formgrader and the grade report).\n\nExample: tito nbgrader students import roster.csv")
app.add_typer(students_app, name="students")


@students_app.command("import")
def students_import(roster: Path = typer.Argument(..., help="CSV with columns student_id, first_name, last_name, email.")) -> None:
    """Add or update students from a CSV roster (nbgrader's columns); a bad or duplicate row stops
    the import with its line number, and nothing is changed.

    Example: tito nbgrader students import roster.csv
    """
    from tito.core.course import import_roster

    added, updated = import_roster(_course(), roster)
    console.print(f"{len(added)} student(s) added, {len(updated)} updated from {escape(str(roster))}.")


@students_app.command("list")
def students_list() -> None:
    """Every student in the gradebook, with the name the formgrader shows.

    Example: tito nbgrader students list
    """
    course = _course()
    table = Table(title=f"students in {course.gradebook_path}")
    for column in ("student_id", "last_name", "first_name", "email"):
        table.add_column(column)
    with course.gradebook() as gb:
        for s in gb.students:
            table.add_row(*(escape(str(v or "")) for v in (s.id, s.last_name, s.first_name, s.email)))
    console.print(table)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="nbgrader")
