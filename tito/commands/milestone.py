"""tito milestone: run the course milestones (milestones/NN_name/), end-to-end training scripts."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import typer

from tito.core.console import console, fail
from tito.core.settings import TitoError, find_root

milestone_app = typer.Typer(
    help="Course milestones: networks you built, trained on real data. Example: tito milestone run 01",
    no_args_is_help=True,
)

FOLDER = re.compile(r"^(\d{2})_([a-z][a-z0-9_]*)$")


@dataclass(frozen=True)
class Milestone:
    number: int
    name: str
    folder: Path

    @property
    def slug(self) -> str:
        return self.folder.name

    @property
    def script(self) -> Path:
        return self.folder / "train.py"

    @property
    def title(self) -> str:
        """The first heading of the milestone's README (its one-line description)."""
        readme = self.folder / "README.md"
        if readme.is_file():
            for line in readme.read_text(encoding="utf-8").splitlines():
                if line.startswith("#"):
                    return line.lstrip("# ").strip()
        return self.name.replace("_", " ")


def all_milestones(root: Path | None = None) -> list[Milestone]:
    """Every milestones/NN_name/ folder with a train.py, in number order."""
    base = (root or find_root()) / "milestones"
    found = []
    for folder in sorted(base.iterdir()) if base.is_dir() else []:
        match = FOLDER.match(folder.name)
        if match and (folder / "train.py").is_file():
            found.append(Milestone(int(match.group(1)), match.group(2), folder))
    return found


def resolve(name: str, root: Path | None = None) -> Milestone:
    """A milestone by number (1, 01), name (digits_mlp) or folder (01_digits_mlp)."""
    key = name.strip().lower()
    milestones = all_milestones(root)
    for milestone in milestones:
        if key in (milestone.slug, milestone.name) or (key.isdigit() and int(key) == milestone.number):
            return milestone
    valid = ", ".join(m.slug for m in milestones) or "(none found)"
    raise TitoError(f"Unknown milestone {name!r}. Valid milestones: {valid} (by number, name or folder).")


@milestone_app.command("list")
def list_() -> None:
    """List the milestones and what each one trains.

    Example: tito milestone list
    """
    milestones = all_milestones()
    if not milestones:
        raise fail("no milestones found under milestones/")
    for milestone in milestones:
        console.print(f"[bold]{milestone.number:02d}[/]  {milestone.slug:<18} {milestone.title}")


@milestone_app.command("run")
def run(name: str = typer.Argument(..., metavar="MILESTONE", help="Number, name or folder: 1, 01, digits_mlp.")) -> None:
    """Run a milestone's training script; exits non-zero when it misses its accuracy target.

    Example: tito milestone run 01
    """
    import os
    import subprocess
    import sys

    from tito.core.stubs import unfinished_module

    milestone = resolve(name)
    console.print(f"[bold]Milestone {milestone.number:02d}[/] — {milestone.title}")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # The script's stderr is passed through as it comes, and kept, so a stub it ran into is named.
    process = subprocess.Popen([sys.executable, str(milestone.script)], cwd=milestone.folder, env=env,
                               stderr=subprocess.PIPE, text=True, errors="replace")
    tail: list[str] = []
    for line in process.stderr:
        sys.stderr.write(line)
        tail = (tail + [line])[-200:]
    code = process.wait()
    if code:
        stub = next((line.strip() for line in reversed(tail) if unfinished_module(line)), None)
        if stub:
            slug = unfinished_module(stub)
            raise fail(f"milestone {milestone.slug} needs module {slug}, which is not finished: "
                       f"{stub.removeprefix('NotImplementedError: ')}", code=code)
        raise fail(f"milestone {milestone.slug} did not reach its target (exit code {code})", code=code)


def register(app: typer.Typer) -> None:
    app.add_typer(milestone_app, name="milestone")
