"""Module source -> tinytorch package file, through nbdev 3's exporter. All or nothing.

Every module in a batch is read, checked and exported into a scratch folder first; the package
is touched only when all of them succeeded, and each file is replaced atomically.
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nbdev.export import nb_export

from tito.core.notebook import Problem, SourceError, default_exp, load_module_notebook, write_notebook
from tito.core.registry import Module


@dataclass
class ExportResult:
    module: Module
    target: Path       # file in the package
    text: str          # what the export produces
    changed: bool = False


def render(module: Module) -> ExportResult:
    """Export one module into memory: the text its package file should have."""
    nb = load_module_notebook(module.source)
    target = default_exp(nb)
    if target is None:
        raise SourceError([Problem(module.source, 1, "no `#| export` cells and no `#| default_exp`: "
                                   "nothing to export")])
    relative_source = module.source.relative_to(module.root).as_posix()
    with tempfile.TemporaryDirectory(prefix="tito-export-") as scratch:
        nb_path = Path(scratch) / module.notebook_name
        write_notebook(nb, nb_path)
        lib = Path(scratch) / "lib"
        nb_export(str(nb_path), str(lib))
        produced = lib / Path(*target.split(".")).with_suffix(".py")
        if not produced.is_file():
            raise SourceError([Problem(module.source, 1, "nbdev exported nothing: no code cell is marked "
                                       "`#| export`")])
        text = produced.read_text(encoding="utf-8")
    # nbdev names the scratch notebook; name the real source instead, so readers know what to edit.
    nb_ref = re.escape(os.path.relpath(nb_path, produced.parent))
    text = re.sub(nb_ref, relative_source, text)
    package_file = module.root / "tinytorch" / Path(*target.split(".")).with_suffix(".py")
    return ExportResult(module, package_file, text)


def render_all(modules: list[Module]) -> list[ExportResult]:
    """Render every module; if any fails, raise one SourceError carrying all their problems."""
    results, problems = [], []
    for module in modules:
        try:
            results.append(render(module))
        except SourceError as err:
            problems.extend(err.problems)
    if problems:
        raise SourceError(problems)
    return results


def export(modules: list[Module]) -> list[ExportResult]:
    """Export modules into the package; nothing is written unless every module exports cleanly."""
    results = render_all(modules)
    for result in results:
        old = result.target.read_text(encoding="utf-8") if result.target.is_file() else None
        result.changed = old != result.text
        if result.changed:
            _ensure_package(result.target.parent, result.module.root / "tinytorch")
            fd, tmp = tempfile.mkstemp(dir=result.target.parent, prefix=f".{result.target.stem}-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(result.text)
            os.replace(tmp, result.target)
        else:   # current as of now: `stale_modules` needn't re-render a source saved before this export
            os.utime(result.target)
    return results


def _ensure_package(folder: Path, package_root: Path) -> None:
    """Create missing `__init__.py` files between the package root and `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for parent in (folder, *folder.parents):
        init = parent / "__init__.py"
        if not init.exists():
            init.write_text("", encoding="utf-8")
        if parent == package_root:
            break


def stale_modules(modules: list[Module]) -> list[tuple[Module, Path, Path]]:
    """(module, source, package file) for each module whose source was saved after its package
    file and no longer exports to it. The modification time is only the quick filter; what
    counts is the content, so a touched but unchanged source is not reported."""
    stale = []
    for module in modules:
        target = module.package_file()
        if target is None or not target.is_file() or not module.source.is_file():
            continue
        if module.source.stat().st_mtime <= target.stat().st_mtime:
            continue
        try:
            if render(module).text != target.read_text(encoding="utf-8"):
                stale.append((module, module.source, target))
        except SourceError:
            stale.append((module, module.source, target))   # a broken source is newer than its package too
    return stale
