"""Autograde throughput: `tito nbgrader autograde --jobs 2` against plain sequential
`nbgrader autograde`, on N copies of a module's reference solution (default 40 of module 00).

Both run in the same scratch course layout, from the same collected submissions, in this run:

    python benchmarks/bench_autograde.py                 # --copies 40 --module 00 --jobs 2

Prints each side's wall time, the speed-up ratio, and checks both gave every copy full marks.
Target: ≥ 6× with --jobs 2 on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def project(tmp: Path, name: str) -> Path:
    folder = tmp / name
    folder.mkdir()
    settings = (ROOT / "settings.ini").read_text(encoding="utf-8")
    settings = re.sub(r"(?m)^course_dir\s*=.*$", f"course_dir = {folder / 'course'}", settings)
    (folder / "settings.ini").write_text(settings, encoding="utf-8")
    for item in ("modules", "tinytorch"):
        (folder / item).symlink_to(ROOT / item, target_is_directory=True)
    for item in ("nbgrader_config.py", "pyproject.toml"):
        shutil.copyfile(ROOT / item, folder / item)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=40)
    parser.add_argument("--module", default="00")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    # nbgrader's gradebook shells out to `alembic`: the venv's bin/ must be on PATH even when the
    # venv isn't activated (a fresh clone run as `venv/bin/python benchmarks/bench_autograde.py`)
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

    from tito.core import registry
    from tito.core.autograde import autograde
    from tito.core.course import Course, generate

    module = registry.resolve(args.module, ROOT)
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as scratch:
        tmp = Path(scratch)
        courses = {}
        for side in ("tito", "nbgrader"):
            course = Course.from_settings(project(tmp, side))
            generate(course, module)
            for i in range(args.copies):
                target = course.submitted_notebook(module, f"student{i:03d}")
                target.parent.mkdir(parents=True)
                shutil.copyfile(course.source_notebook(module), target)
            courses[side] = course

        course = courses["nbgrader"]
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", module.slug, "--create",
                              "--log-level=ERROR"], cwd=course.root, capture_output=True, text=True)
        plain = time.perf_counter() - start
        if run.returncode:
            sys.exit(f"plain nbgrader autograde failed:\n{run.stderr[-2000:]}")
        with course.gradebook() as gb:
            plain_full = sum(1 for s in gb.assignment_submissions(module.slug) if s.score == s.max_score > 0)

        course = courses["tito"]
        start = time.perf_counter()
        outcomes = autograde(course, module, jobs=args.jobs)
        ours = time.perf_counter() - start
        ours_full = sum(1 for o in outcomes if o.graded and o.score == o.max_score > 0)

    print(f"{args.copies} copies of {module.slug}'s solution")
    print(f"  plain `nbgrader autograde` (sequential): {plain:7.1f} s   full marks: {plain_full}/{args.copies}")
    print(f"  tito autograde --jobs {args.jobs}:{'':17}{ours:7.1f} s   full marks: {ours_full}/{args.copies}")
    print(f"  speed-up: {plain / ours:.2f}x   (target >= 6x with --jobs 2 on 2 cores)")


if __name__ == "__main__":
    main()
