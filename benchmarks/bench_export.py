"""How long `tito export --all` takes for the whole course (target: under 5 s on 2 cores).

Run: python benchmarks/bench_export.py
Prints the in-process render time per module and the wall time of the CLI in a scratch copy
(so the committed package is not touched).
"""
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from tito.core import exporter, registry

    modules = registry.all_modules(ROOT)
    for module in modules:
        start = time.perf_counter()
        exporter.render(module)
        print(f"  {module.slug:<16} {1000 * (time.perf_counter() - start):7.1f} ms")
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "course"
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", "course", "book", "artifacts", "*.ipynb"))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tito", "export", "--all"], cwd=copy, check=True, capture_output=True)
        wall = time.perf_counter() - start
    print(f"tito export --all ({len(modules)} modules): {wall:.2f} s wall (target < 5 s) "
          f"-> {wall / 5:.2f}x of the target budget")


if __name__ == "__main__":
    main()
