"""tito.core.landlock: the file-system allow-list the grader puts on every kernel.

Restricting is irreversible, so each real restriction runs in a child process.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tito.core import landlock, sandbox

CHILD = r"""
import json, os, sys
from tito.core import landlock
version, allowed, secret, writable = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
real = landlock._abi
landlock._abi = lambda libc: min(version, real(libc))     # behave as a kernel of that ABI
in_force = landlock.restrict(read=[sys.prefix, sys.base_prefix, *sys.path[1:], "/usr", "/lib", "/lib64", "/etc",
                                   allowed], write=[writable], devices=["/dev/null"])
seen = {"abi": in_force}
for name, path, mode in (("allowed", os.path.join(allowed, "f"), "r"), ("secret", secret, "r"),
                         ("write-secret", secret, "a"), ("writable", os.path.join(writable, "new"), "w"),
                         ("devnull", "/dev/null", "w")):
    try:
        open(path, mode).close()
        seen[name] = "ok"
    except OSError as err:
        seen[name] = type(err).__name__
print(json.dumps(seen))
"""


def test_rights_per_abi_are_masked():
    assert landlock.handled_fs(0) == 0
    assert landlock.handled_fs(1) == (1 << 13) - 1                      # no REFER before ABI 2
    assert landlock.handled_fs(2) & landlock.REFER and not landlock.handled_fs(2) & landlock.TRUNCATE
    assert landlock.handled_fs(3) & landlock.TRUNCATE and not landlock.handled_fs(4) & landlock.IOCTL_DEV
    assert landlock.handled_fs(5) & landlock.IOCTL_DEV and landlock.handled_fs(7) == landlock.handled_fs(5)


@pytest.mark.parametrize("version", [1, 2, 3, 5, 6, 7])
def test_restrict_allows_only_what_it_lists(tmp_path, version):
    assert landlock.abi() >= 1, "Landlock is unavailable on this machine: the grader's isolation can't be tested"
    allowed, writable = tmp_path / "allowed", tmp_path / "scratch"
    allowed.mkdir(), writable.mkdir()
    (allowed / "f").write_text("fine")
    secret = tmp_path / "gradebook.db"
    secret.write_text("secret")
    run = subprocess.run([sys.executable, "-c", CHILD, str(version), str(allowed), str(secret), str(writable)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen == {"abi": min(version, landlock.abi()), "allowed": "ok", "secret": "PermissionError",
                    "write-secret": "PermissionError", "writable": "ok", "devnull": "ok"}, seen
    assert secret.read_text() == "secret"


def test_unavailable_landlock_falls_back_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(landlock, "_abi", lambda libc: 0)               # an old kernel
    with pytest.raises(landlock.Unavailable):
        landlock.restrict(read=[sys.prefix])
    result = sandbox._isolate({"dir": str(tmp_path), "protect": []})
    assert result["landlock"] == 0 and "no Landlock" in result["partial"], result
    assert json.loads((tmp_path / "isolation.json").read_text()) == result


def test_kernel_reads_the_package_folder_not_the_repository():
    import tinytorch

    package = Path(tinytorch.__file__).resolve().parent
    repo = package.parent
    read, partial = sandbox._read_paths([])
    python = [Path(p).resolve() for p in (sys.prefix, sys.base_prefix)]
    in_repo = [p for p in read if (p == repo or repo in p.parents or p in repo.parents)
               and p != package and not any(p == q or q in p.parents for q in python)]
    assert package in read and not in_repo and not partial, in_repo


SYSTEM_CHILD = r"""
import json, os, sys
from tito.core import landlock, sandbox
read, _ = sandbox._read_paths([])
landlock.restrict(read=read, write=[], devices=["/dev/null"])
seen = {}
for path in ("/etc/passwd", "/etc/shadow", "/proc/cpuinfo", "/proc/self/status",
             f"/proc/{os.getppid()}/environ"):
    try:
        open(path).close()
        seen[path] = "ok"
    except OSError as err:
        seen[path] = type(err).__name__
print(json.dumps(seen))
"""


def test_system_secrets_stay_out_of_reach():
    """/etc stays readable entry by entry, but not /etc/shadow, sudoers or host keys; /proc shows
    the system and the kernel's own process, not other processes (the grader's environment)."""
    read, _ = sandbox._read_paths([])
    for secret in map(Path, sandbox.SYSTEM_SECRETS):
        assert not any(p == secret or p in secret.parents for p in read), f"{secret} is readable"
    assert Path("/usr") in read
    assert landlock.abi() >= 1, "Landlock is unavailable on this machine: the grader's isolation can't be tested"
    run = subprocess.run([sys.executable, "-c", SYSTEM_CHILD], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["/etc/passwd"] == "ok", seen
    assert seen["/etc/shadow"] in ("PermissionError", "FileNotFoundError"), seen
    assert seen["/proc/cpuinfo"] == "ok" and seen["/proc/self/status"] == "ok", seen
    parent_environ = [v for k, v in seen.items() if k.endswith("/environ")]
    assert parent_environ == ["PermissionError"], seen


NET_CHILD = r"""
import json, socket, sys
from tito.core import landlock
allowed, listening = int(sys.argv[1]), int(sys.argv[2])
landlock.restrict(read=[sys.prefix, sys.base_prefix, *sys.path[1:], "/usr", "/lib", "/lib64"],
                  bind_ports=[allowed])
seen = {}
def attempt(name, action):
    sock = socket.socket()
    try:
        action(sock)
        seen[name] = "ok"
    except OSError as err:
        seen[name] = type(err).__name__
    finally:
        sock.close()
attempt("bind own port", lambda s: s.bind(("127.0.0.1", allowed)))
attempt("bind other port", lambda s: s.bind(("127.0.0.1", 0)))
attempt("connect", lambda s: s.connect(("127.0.0.1", listening)))
print(json.dumps(seen))
"""


def test_kernel_binds_its_ports_and_connects_nowhere():
    """With ABI ≥ 4 a kernel may bind only the ports of its connection file and open no TCP
    connection (to the grader's machine or anywhere else)."""
    import socket

    assert landlock.abi() >= 4, "this kernel's Landlock has no network rights (ABI < 4)"
    with socket.socket() as listener, socket.socket() as probe:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
        probe.close()
        run = subprocess.run([sys.executable, "-c", NET_CHILD, str(free), str(listener.getsockname()[1])],
                             capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen == {"bind own port": "ok", "bind other port": "PermissionError", "connect": "PermissionError"}, seen
