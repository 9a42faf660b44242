"""Stubs that say what to do: each `raise NotImplementedError()` nbgrader leaves in a student
notebook becomes one that names its function, its module and the next step, e.g.

    NotImplementedError: `Variable.__init__` (module 07_autograd) is not implemented yet — finish it
    in modules/source/07_autograd/autograd_dev.ipynb, then `tito export 07`

nbgrader's `ClearSolutions.code_stub` is one fixed text for every solution region, so the
generated student notebook is post-processed here (`name_stubs`); the student workspace's package,
exported from those notebooks, carries the same messages, so a later module that calls an
unfinished function tells the student which module to finish first.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

# what a stub's message says about itself: `tito test` points at the module to finish
NAMED = re.compile(r"\(module (\d{2}_[a-z][a-z0-9_]*)\) is not implemented yet")


def stub_message(where: str, slug: str, notebook_name: str) -> str:
    number = slug.split("_", 1)[0]
    return (f"`{where}` (module {slug}) is not implemented yet — finish it in "
            f"modules/source/{slug}/{notebook_name}, then `tito export {number}`")


def _patched_class(node: ast.AST) -> str:
    """'Tensor.' for a method added with fastcore's `@patch` (`def add(self: Tensor, ...)`), else ''."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or not node.args.args:
        return ""
    patched = any((isinstance(d, ast.Name) and d.id == "patch") or
                  (isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id == "patch")
                  for d in node.decorator_list)
    annotation = node.args.args[0].annotation
    return f"{annotation.id}." if patched and isinstance(annotation, ast.Name) else ""


def _enclosing_names(tree: ast.AST) -> dict[int, str]:
    """Line of each bare `raise NotImplementedError()` -> qualified name of the def/class around it."""
    found: dict[int, str] = {}

    def visit(node: ast.AST, scope: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(child, scope + [_patched_class(child) + child.name])
                continue
            if isinstance(child, ast.Raise) and isinstance(child.exc, ast.Call) \
                    and isinstance(child.exc.func, ast.Name) and child.exc.func.id == "NotImplementedError" \
                    and not child.exc.args and not child.exc.keywords and scope:
                found[child.lineno] = ".".join(scope)
            visit(child, scope)

    visit(tree, [])
    return found


def name_cell_stubs(source: str, slug: str, notebook_name: str, fallback: str) -> tuple[str, int]:
    """The cell's source with every bare `raise NotImplementedError()` naming where it is
    (`fallback`, e.g. the cell's grade_id, for a stub outside any def), and how many were named."""
    if "NotImplementedError()" not in source:
        return source, 0
    from tito.core.notebook import _code_for_parser

    try:
        names = _enclosing_names(ast.parse(_code_for_parser(source)))
    except SyntaxError:
        names = {}
    lines, count = source.split("\n"), 0
    for number, line in enumerate(lines, start=1):
        if line.strip() == "raise NotImplementedError()":
            message = stub_message(names.get(number, fallback), slug, notebook_name)
            lines[number - 1] = line.replace("NotImplementedError()", f"NotImplementedError({message!r})")
            count += 1
    return "\n".join(lines), count


def name_stubs(notebook: Path, slug: str) -> int:
    """Rewrite a generated student notebook in place; returns how many stubs were named.

    Cells that are graded *and* solution (manually graded answers) are left alone: nbgrader
    compares their checksum with the generated one to tell "no answer" from an answer."""
    import nbformat
    from nbgrader.utils import compute_checksum

    notebook = Path(notebook)
    nb = nbformat.read(notebook, as_version=4)
    total = 0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("solution") or meta.get("grade"):
            continue
        cell.source, count = name_cell_stubs(cell.source, slug, notebook.name, meta.get("grade_id") or "this cell")
        if count and "checksum" in meta:
            meta["checksum"] = compute_checksum(cell)
        total += count
    if total:
        nbformat.write(nb, notebook)
    return total


def unfinished_module(message: str) -> str | None:
    """The module a stub's NotImplementedError message names, if it is one of ours."""
    found = NAMED.search(message or "")
    return found.group(1) if found else None
