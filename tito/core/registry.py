"""The module registry: derived from the folders modules/source/NN_name/, nothing else.

A module can be named by number (`1`, `01`), short name (`tensor`) or folder (`01_tensor`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tito.core.settings import TitoError, find_root

FOLDER_PATTERN = re.compile(r"^(\d{2})_([a-z][a-z0-9_]*)$")
DEFAULT_EXP = re.compile(r"^#\|\s*default_exp\s+(\S+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Module:
    number: int
    name: str          # short name: "tensor"
    folder: Path       # modules/source/01_tensor

    @property
    def slug(self) -> str:
        """Folder name, also the nbgrader assignment name: "01_tensor"."""
        return self.folder.name

    @property
    def source(self) -> Path:
        """The module's one source file: `name_dev.py` (jupytext percent) in the course repository,
        or the student's own `name_dev.ipynb` in a workspace that has no `.py` source."""
        py = self.folder / f"{self.name}_dev.py"
        notebook = self.folder / self.notebook_name
        return notebook if notebook.is_file() and not py.is_file() else py

    @property
    def notebook_name(self) -> str:
        return f"{self.name}_dev.ipynb"

    @property
    def root(self) -> Path:
        return self.folder.parents[2]

    @property
    def tests(self) -> Path:
        """pytest file for this module's package code."""
        return self.root / "tests" / "modules" / f"test_{self.slug}.py"

    def export_target(self) -> str | None:
        """Dotted module from the source's `#| default_exp`, e.g. "core.tensor" (None if absent)."""
        if not self.source.is_file():
            return None
        text = self.source.read_text(encoding="utf-8", errors="replace")
        if self.source.suffix == ".ipynb":
            text = text.replace("\\n", "\n").replace('"', "\n")
        found = DEFAULT_EXP.search(text)
        return found.group(1) if found else None

    def package_file(self) -> Path | None:
        target = self.export_target()
        if target is None:
            return None
        return self.root / "tinytorch" / Path(*target.split(".")).with_suffix(".py")

    def __str__(self) -> str:
        return self.slug


def all_modules(root: Path | None = None) -> list[Module]:
    """Every module, in number order."""
    source_dir = (root or find_root()) / "modules" / "source"
    modules = []
    for folder in sorted(source_dir.iterdir()) if source_dir.is_dir() else []:
        match = FOLDER_PATTERN.match(folder.name)
        if folder.is_dir() and match:
            modules.append(Module(int(match.group(1)), match.group(2), folder))
    return modules


def resolve(name: str, root: Path | None = None) -> Module:
    """Find one module by number, short name or folder name; unknown names list the valid ones."""
    modules = all_modules(root)
    key = name.strip().lower()
    for module in modules:
        if key in (module.slug, module.name) or (key.isdigit() and int(key) == module.number):
            return module
    valid = ", ".join(m.slug for m in modules) or "(none found)"
    raise TitoError(f"Unknown module {name!r}. Valid modules: {valid} (by number, name or folder).")


def select(names: list[str] | None, all_: bool, root: Path | None = None) -> list[Module]:
    """The modules a command acts on: the named ones, or every module with --all."""
    if all_ and names:
        raise TitoError("Name modules or pass --all, not both.")
    if all_:
        return all_modules(root)
    if not names:
        valid = ", ".join(m.slug for m in all_modules(root))
        raise TitoError(f"Name at least one module, or pass --all. Modules: {valid}")
    chosen: list[Module] = []
    for name in names:
        module = resolve(name, root)
        if module not in chosen:
            chosen.append(module)
    return chosen
