"""tito nbgrader …: the instructor's grading cycle on the nbgrader course directory.

generate → release → collect → autograde → feedback → report. The course directory is
settings.ini's `[nbgrader] course_dir` (the same one nbgrader_config.py gives plain `nbgrader`).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer
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
            to: Path = typer.Option(..., "--to", help="Folder of the student workspace (created or updated)."),
            force: bool = typer.Option(False, "--force", help="Replace notebooks the student already has.")) -> None:
    """Write a student workspace: student notebooks, the tito CLI and a tinytorch package exported
    from those notebooks. A leak check runs first; a leak stops the release and names the cell.

    Example: tito nbgrader release --all --to ~/tinytorch-student
    """
    from tito.core.workspace import release as run

    chosen, course = registry.select(modules, all_), _course()
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
            from_: Path = typer.Option(..., "--from", help="DIR/<student_id>/<notebook>.ipynb or DIR/<student_id>_<notebook>.ipynb")) -> None:
    """Import submissions into nbgrader's submitted/ tree and add the students to the gradebook;
    files that fit no module are listed (exit 1), not guessed.

    Example: tito nbgrader collect 01 --from ~/Downloads/submissions
    """
    from tito.core.course import collect as run

    chosen, course = registry.select(modules, all_), _course()
    result = run(course, chosen, from_)
    table = Table(title=f"collected from {from_}")
    table.add_column("student")
    table.add_column("submitted as")
    for student, path in result.imported:
        table.add_row(student, str(path.relative_to(course.directory)))
    console.print(table)
    for path, reason in result.problems:
        console.print(f"[red]✗[/] {path}: {reason}", soft_wrap=True)
    console.print(f"{len(result.imported)} submission(s) imported, {len(result.problems)} file(s) not imported.")
    if result.problems:
        raise typer.Exit(1)


@app.command()
def autograde(modules: Optional[List[str]] = ModulesArg, all_: bool = AllOpt,
              student: Optional[List[str]] = typer.Option(None, "--student", help="Only these students (repeatable)."),
              jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Submissions graded in parallel (default: settings.ini, 0 = cores)."),
              timeout: Optional[float] = typer.Option(None, "--timeout", help="Seconds per cell (default: settings.ini cell_timeout)."),
              memory: Optional[int] = typer.Option(None, "--memory", help="Memory cap per submission in MiB (default: settings.ini)."),
              force: bool = typer.Option(False, "--force", help="Regrade submissions already graded.")) -> None:
    """Grade collected submissions, each in its own sandbox, N in parallel; exit 0 only when every
    submission was graded.

    Example: tito nbgrader autograde 01 --jobs 4 --timeout 30
    """
    from tito.core.autograde import autograde as run

    chosen, course = registry.select(modules, all_), _course()
    if memory:
        course.memory_limit_mb = memory
    failures, partial = [], {}
    table = Table(title="autograde")
    for column in ("module", "student", "score", "notes"):
        table.add_column(column, overflow="fold")
    start = time.perf_counter()
    for module in chosen:
        total = len([s for s in course.submitted_students(module) if not student or s in student])
        with _progress() as progress:
            task = progress.add_task(f"grading {module.slug}", total=total)
            outcomes = run(course, module, students=student, jobs=jobs, timeout=timeout, force=force,
                           progress=lambda outcome: progress.advance(task))
        for o in outcomes:
            if o.isolation.get("partial"):
                partial.setdefault(o.isolation["partial"], o.student)
            if not o.graded:
                failures.append((module.slug, o.student, o.reason))
            score = f"{o.score:g}/{o.max_score:g}" if o.graded or o.max_score else "–"
            note = "; ".join(([f"[red]not graded: {o.reason}[/]"] if not o.graded else []) +
                             (["already graded (--force regrades)"] if o.skipped else []) + o.notes)
            table.add_row(module.slug, o.student, score, note)
    console.print(table)
    console.print(f"Graded in {time.perf_counter() - start:.1f} s; gradebook {course.gradebook_path}")
    if partial:
        console.print("[yellow]![/] File isolation is partial: submissions could reach files outside their "
                      f"scratch folder ({'; '.join(partial)}).", soft_wrap=True)
    if failures:
        for slug, who, reason in failures:
            console.print(f"[red]✗[/] {slug} {who}: {reason}", soft_wrap=True)
        raise fail(f"{len(failures)} submission(s) could not be graded (the others were).")


@app.command()
def feedback(modules: Optional[List[str]] = ModulesArg, all_: bool = AllOpt,
             student: Optional[List[str]] = typer.Option(None, "--student", help="Only these students.")) -> None:
    """HTML feedback per student (nbgrader generate_feedback) into the course's feedback/ folder.

    Example: tito nbgrader feedback 01
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
            table.add_row(module.slug, who, str(html.relative_to(course.directory)) if html else f"[red]{error}[/]")
    console.print(table)
    if bad:
        raise fail(f"{bad} feedback file(s) could not be written")


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
        table.add_row(row["assignment"], row["student_id"], row["score"], row["max_score"])
    console.print(table)
    if len(rows) > 40:
        console.print(f"… {len(rows) - 40} more rows in {output}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="nbgrader")
