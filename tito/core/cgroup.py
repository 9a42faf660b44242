"""One control group per student process tree: a process count and a memory cap for the whole
tree (children included), and a way to kill every member at once.

Linux only, and only where the grader may write the cgroup file system (as root, or with a
delegated subtree). Both layouts are handled: cgroup v2 (one hierarchy, `pids` and `memory`
controllers enabled for the grader's subtree) and v1 (separate `pids` and `memory` hierarchies,
plus the v2 `unified` hierarchy of hybrid systems for `cgroup.kill`). `create` returns None and a
reason when neither works; the caller then falls back to rlimits and a PID namespace.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _own_paths() -> dict[str, str]:
    """controller (or "" for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    paths = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                paths[name] = path
    except (OSError, ValueError):
        pass
    return paths


def _write(path: Path, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


class Group:
    def __init__(self, dirs: list[Path], kill_file: Path | None, kind: str):
        self.dirs, self.kill_file, self.kind = dirs, kill_file, kind

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    @classmethod
    def create(cls, name: str, pids: int, memory_bytes: int) -> tuple["Group | None", str | None]:
        own = _own_paths()
        made: list[Path] = []
        try:
            if (ROOT / "cgroup.controllers").is_file():               # pure v2
                base = ROOT / own.get("", "/").lstrip("/")
                enabled = (base / "cgroup.subtree_control").read_text().split()
                if not {"pids", "memory"} <= set(enabled):
                    try:
                        _write(base / "cgroup.subtree_control", "+pids +memory")
                    except OSError as err:
                        return None, f"cgroup v2: can't enable pids/memory under {base} ({err.strerror})"
                group = base / name
                group.mkdir()
                made.append(group)
                _write(group / "pids.max", str(pids))
                _write(group / "memory.max", str(memory_bytes))
                if (group / "memory.swap.max").exists():
                    _write(group / "memory.swap.max", "0")
                return cls(made, group / "cgroup.kill", "v2"), None
            if not ((ROOT / "pids" / "cgroup.procs").is_file() and (ROOT / "memory" / "cgroup.procs").is_file()):
                return None, "no cgroup pids and memory controllers mounted"
            for controller in ("pids", "memory"):
                group = ROOT / controller / own.get(controller, "/").lstrip("/") / name
                group.mkdir()
                made.append(group)
            _write(made[0] / "pids.max", str(pids))
            _write(made[1] / "memory.limit_in_bytes", str(memory_bytes))
            swap = made[1] / "memory.memsw.limit_in_bytes"
            if swap.exists():
                try:
                    _write(swap, str(memory_bytes))
                except OSError:
                    pass
            kill_file = None
            unified = ROOT / "unified"
            if (unified / "cgroup.procs").is_file():
                try:
                    group = unified / own.get("", "/").lstrip("/") / name
                    group.mkdir()
                    made.append(group)
                    kill_file = group / "cgroup.kill" if (group / "cgroup.kill").exists() else None
                except OSError:
                    pass
            return cls(made, kill_file, "v1"), None
        except OSError as err:
            cls(made, None, "").remove()
            return None, f"can't create a cgroup ({err.strerror or err})"

    def members(self) -> set[int]:
        found = set()
        for d in self.dirs:
            try:
                found.update(int(p) for p in (d / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
        return found

    def kill(self) -> None:
        """SIGKILL every process in the group, until it is empty (or 5 s have passed)."""
        if self.kill_file is not None:
            try:
                _write(self.kill_file, "1")
            except OSError:
                pass
        end = time.monotonic() + 5
        while time.monotonic() < end:
            members = self.members()
            if not members:
                return
            for pid in members:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        for d in reversed(self.dirs):
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def sweep() -> None:
    """Remove the groups a worker left behind when it was killed (named tito-<its pid>-N)."""
    own = _own_paths()
    bases = [ROOT / own.get("", "/").lstrip("/")] if (ROOT / "cgroup.controllers").is_file() else \
        [ROOT / c / own.get(k, "/").lstrip("/") for c, k in (("pids", "pids"), ("memory", "memory"), ("unified", ""))]
    for base in bases:
        try:
            groups = list(base.glob("tito-*-*"))
        except OSError:
            continue
        for group in groups:
            try:
                pid = int(group.name.split("-")[1])
            except (IndexError, ValueError):
                continue
            if not Path(f"/proc/{pid}").exists():
                Group([group], None, "").kill()
                Group([group], None, "").remove()
