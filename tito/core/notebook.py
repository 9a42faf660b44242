"""Module source -> clean notebook, and the checks that make a source exportable.

The source of a module is a jupytext percent file. `build_notebook` turns it into an nbformat
notebook without jupytext's bookkeeping and with deterministic cell ids, so rebuilding an
unchanged source gives a byte-identical notebook (and package). `check_notebook` reports what
would break nbdev or nbgrader, each problem with the source file and line.
"""
from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

from tito.core.settings import TitoError

NBGRADER_KEYS = ("grade", "grade_id", "locked", "schema_version", "solution", "task")
MARKERS = {
    "solution": ("### BEGIN SOLUTION", "### END SOLUTION"),
    "hidden tests": ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"),
}
CELL_MARKER = re.compile(r"^# %%")
NOISE_CELL_KEYS = ("lines_to_next_cell", "cell_marker", "lines_to_end_of_cell_marker", "region_name")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


@dataclass(frozen=True)
class Problem:
    """Where a source is broken. In a percent `.py` source `line` is the file's line; in a
    notebook (a student's `.ipynb`) it is the line within cell number `cell`."""
    path: Path
    line: int
    reason: str
    cell: int | None = None
    cell_name: str = ""     # the cell's grade_id, when it has one

    def __str__(self) -> str:
        name = f" ({self.cell_name})" if self.cell_name else ""
        where = f"{self.path}: cell {self.cell}{name}, line {self.line}" if self.cell else f"{self.path}:{self.line}"
        return f"{where}: {self.reason}"


class SourceError(TitoError):
    """A module source that cannot be exported; carries every problem found (one line each)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def read_source(path: Path) -> nbformat.NotebookNode:
    """Read a percent `.py` source (or a student's `.ipynb`) as a clean, deterministic notebook."""
    path = Path(path)
    if not path.is_file():
        raise SourceError([Problem(path, 1, "no such file: the module's source is missing")])
    try:
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
        else:
            nb = jupytext.read(path, fmt="py:percent")
    except Exception as exc:  # jupytext/nbformat raise many types for unreadable input
        raise SourceError([Problem(path, 1, f"cannot read notebook: {exc}")]) from None
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    nb.nbformat, nb.nbformat_minor = 4, 5
    lines = _cell_lines(path, nb) if path.suffix == ".py" else list(range(1, len(nb.cells) + 1))
    used: set[str] = set()
    for index, cell in enumerate(nb.cells):
        for key in NOISE_CELL_KEYS:
            cell.metadata.pop(key, None)
        cell["id"] = _cell_id(cell, used)
        cell.metadata["tito_line"] = lines[index]   # removed again by `clean_for_output`
        if cell.cell_type == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    return nb


def clean_for_output(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop tito's internal bookkeeping before a notebook is written or exported."""
    for cell in nb.cells:
        cell.metadata.pop("tito_line", None)
    return nb


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(clean_for_output(nb)) + "\n"
    path.write_text(text, encoding="utf-8")


def _cell_id(cell, used: set[str]) -> str:
    """grade_id for nbgrader cells, else a short hash of the source; unique within the notebook."""
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    base = re.sub(r"[^A-Za-z0-9_-]", "-", str(grade_id))[:60] if grade_id else \
        hashlib.sha1(cell.source.encode()).hexdigest()[:8]
    cid, n = base, 1
    while cid in used:
        n += 1
        cid = f"{base}-{n}"
    used.add(cid)
    return cid


def _cell_lines(path: Path, nb) -> list[int]:
    """1-based line of each cell's `# %%` marker in a percent source (best effort)."""
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    markers = [i + 1 for i, line in enumerate(text) if CELL_MARKER.match(line)]
    if len(markers) == len(nb.cells):
        return markers
    if len(markers) == len(nb.cells) - 1:        # content before the first marker is a cell too
        return [1] + markers
    return (markers + [1] * len(nb.cells))[: len(nb.cells)]


def _code_for_parser(source: str) -> str:
    """Blank out IPython-only lines (magics, shell escapes) so `ast` can check the rest."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def default_exp(nb) -> str | None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            found = re.search(r"^#\|\s*default_exp\s+(\S+)", cell.source, re.MULTILINE)
            if found:
                return found.group(1)
    return None


def check_notebook(nb, path: Path) -> list[Problem]:
    """Everything that would make nbdev or nbgrader fail or silently do the wrong thing."""
    path = Path(path)
    problems: list[Problem] = []
    grade_ids: dict[str, str] = {}
    has_export = False

    in_notebook = path.suffix == ".ipynb"

    for index, cell in enumerate(nb.cells, start=1):
        line = cell.metadata.get("tito_line", 1)
        meta = cell.metadata.get("nbgrader")
        source = cell.source

        def at(offset: int, reason: str) -> Problem:
            """A problem `offset` lines into this cell (0: the cell itself)."""
            if in_notebook:
                return Problem(path, max(offset, 1), reason, cell=index,
                               cell_name=str((meta or {}).get("grade_id") or ""))
            return Problem(path, line + offset, reason)

        if cell.cell_type == "code":
            has_export |= bool(re.search(r"^#\|\s*export\b", source, re.MULTILINE))
            try:
                ast.parse(_code_for_parser(source))
            except SyntaxError as err:
                lines = source.splitlines()
                number = min(max(err.lineno or 1, 1), max(len(lines), 1))
                shown = lines[number - 1].strip() if lines else ""
                problems.append(at(number, f"syntax error: {err.msg}" + (f": {shown}" if shown else "")))
        for kind, (begin, end) in MARKERS.items():
            depth = 0
            for offset, text in enumerate(source.splitlines(), start=1):
                stripped = text.strip()
                if stripped == begin:
                    if depth:
                        problems.append(at(offset, f"nested `{begin}`"))
                    depth += 1
                elif stripped == end:
                    if not depth:
                        problems.append(at(offset, f"`{end}` without `{begin}`"))
                    depth = max(depth - 1, 0)
            if depth:
                problems.append(at(0, f"unbalanced {kind} markers: `{begin}` without `{end}`"))
        has_solution_markers = MARKERS["solution"][0] in source
        if meta is None:
            if has_solution_markers:
                problems.append(at(0, "cell has `### BEGIN SOLUTION` but no nbgrader metadata "
                                        'marking it a solution cell (nbgrader={"solution": true, ...})'))
            continue
        missing = [key for key in NBGRADER_KEYS if key not in meta]
        if missing:
            problems.append(at(0, f"nbgrader metadata lacks {', '.join(missing)} "
                                    "(nbgrader rejects it as old metadata)"))
        grade_id = meta.get("grade_id")
        if grade_id in grade_ids:
            problems.append(at(0, f"duplicate grade_id {grade_id!r} "
                                    f"(first used at {grade_ids[grade_id]})"))
        elif grade_id:
            grade_ids[grade_id] = f"cell {index}" if in_notebook else f"line {line}"
        if meta.get("grade") and not meta.get("points"):
            problems.append(at(0, f"graded cell {grade_id!r} has no points"))
        # (a student's .ipynb has had its markers replaced by nbgrader: nothing to check there)
        if meta.get("solution") and cell.cell_type == "code" and not has_solution_markers \
                and path.suffix != ".ipynb":
            problems.append(at(0, f"solution cell {grade_id!r} has no `### BEGIN SOLUTION` / "
                                    "`### END SOLUTION` markers (nbgrader would replace the whole cell, "
                                    "`#| export` line included)"))
        if has_solution_markers and not meta.get("solution"):
            problems.append(at(0, f"cell {grade_id!r} has solution markers but is not marked "
                                    '"solution": true'))
        if MARKERS["hidden tests"][0] in source and not meta.get("grade"):
            problems.append(at(0, f"cell {grade_id!r} has hidden tests but is not a graded cell"))

    if has_export and default_exp(nb) is None:
        problems.append(Problem(path, 1, "cells are marked `#| export` but no `#| default_exp` names "
                                "the package module (e.g. `#| default_exp core.tensor`)"))
    return sorted(problems, key=lambda p: (p.cell or 0, p.line))


def load_module_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and check a module source; raise SourceError listing every problem."""
    nb = read_source(path)
    problems = check_notebook(nb, path)
    if problems:
        raise SourceError(problems)
    return nb
