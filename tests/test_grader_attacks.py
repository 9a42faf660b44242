"""Hostile submissions against the grading engine itself (tito/core/sandbox.py, judge.py, zygote.py).

Each case is module 00's notebook (empty or with the reference answers) plus one hostile cell,
graded by a real worker process (`autograde.Worker`, as `tito nbgrader autograde` does). What is
asserted: the score is exactly what the code earns (a forged verdict scores zero, containment
leaves a correct submission its full marks), the limit held, and no process of the submission
outlives grading.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from pipeline_support import answer, meta
from tito.core import registry, sandbox
from tito.core.autograde import Worker
from tito.core.notebook import load_module_notebook

ROOT = Path(__file__).resolve().parents[1]
MARK = "7193"                      # in the command line of every process a case starts


def _notebook(filled: bool):
    nb = load_module_notebook(registry.resolve("00", ROOT).source)
    for cell in nb.cells:
        if meta(cell).get("solution"):
            cell.source = answer(cell) if filled else "raise NotImplementedError()"
    return nb


def _with(nb, code, where="end"):
    cell = new_code_cell(code)
    if where == "start":
        first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        nb.cells.insert(first + 1, cell)
    elif where == "before-tests":
        nb.cells.insert(next(i for i, c in enumerate(nb.cells) if sandbox.is_test(c)), cell)
    else:
        nb.cells.append(cell)
    return nb


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()


def grade(worker, nb, **limits):
    source = load_module_notebook(registry.resolve("00", ROOT).source)
    job = {"cell_timeout": 5, "wall_clock": 60, "memory_mb": 512, "fsize_mb": 16, "pids": 64, "disk_mb": 32,
           "inodes": 2000, "protect": [str(ROOT)], "imports": sandbox.trusted_imports(source), **limits}
    answer_ = worker.run(job, nb, 120)
    assert answer_ and answer_["nb"], answer_
    graded = nbformat.reads(answer_["nb"], as_version=4)
    score = sum(meta(c)["points"] for c in graded.cells if sandbox.is_test(c)
                and not any(o.get("output_type") == "error" for o in c.outputs))
    printed = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.outputs)
    return score, printed, answer_["status"]


def _leftovers():
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if f"sleep {MARK}" in cmdline or f"{MARK}.5" in cmdline:
                found.append((proc.name, cmdline))
    return found


@pytest.fixture(autouse=True)
def no_leftovers():
    yield
    time.sleep(0.2)
    assert not _leftovers(), _leftovers()


FULL = 4

# ---- a forged verdict earns nothing ------------------------------------------------------------
FORGERIES = {
    "patch-numpy-and-builtins": """
import builtins, numpy as np
np.allclose = np.array_equal = lambda *a, **k: True
builtins.isinstance = lambda *a: True
builtins.AssertionError = type("Never", (Exception,), {})
builtins.set = lambda *a: {"developer", "email", "institution", "system_name", "version"}
""",
    "print-fake-results": """
import json, os, sys
fake = json.dumps({"status": {"executed": 9, "timeouts": [], "died": None}, "score": 2000})
print(fake); sys.stdout.flush(); os.write(1, (fake + "\\n").encode()); os.write(2, b"PASSED 4/4\\n")
for fd in range(3, 50):
    try:
        os.write(fd, (fake + "\\n").encode())
    except OSError:
        pass
""",
    "exception-hooks": """
import sys
sys.excepthook = lambda *a: None
try:
    get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)
except NameError:
    print("no IPython here")
""",
    "shadow-test-names": """
class Anything(dict):
    def __eq__(self, other): return True
    def __bool__(self): return True
    def __contains__(self, item): return True
class FakeNumpy:
    def __getattr__(self, name): return lambda *a, **k: True
np = FakeNumpy()
platform = FakeNumpy()
isinstance = lambda *a: True
def personal_info(): return Anything(developer="x", email="a@b", institution="x", system_name="x", version="x")
def system_info(): return Anything()
""",
    "exit-after-faking": """
import os, sys
print("✅ personal_info() looks good")
sys.stdout.flush()
os._exit(0)
""",
    "raise-systemexit-from-code": """
def personal_info():
    raise SystemExit(0)
def system_info():
    raise KeyboardInterrupt()
""",
    "patch-the-student-server": """
import gc, sys
for obj in gc.get_objects():
    if type(obj).__name__ == "StudentPeer":
        obj.handle = lambda message: True
        obj.encode = lambda value: True
""",
}


@pytest.mark.parametrize("case", sorted(FORGERIES))
def test_a_forged_verdict_scores_zero(worker, case):
    for where in ("start", "before-tests"):
        score, printed, _ = grade(worker, _with(_notebook(False), FORGERIES[case], where))
        assert score == 0, (case, where, printed[-2000:])


@pytest.mark.parametrize("case", ["patch-numpy-and-builtins", "exception-hooks", "print-fake-results"])
def test_a_correct_submission_keeps_its_marks_whatever_it_patches(worker, case):
    score, printed, _ = grade(worker, _with(_notebook(True), FORGERIES[case], "before-tests"))
    assert score == FULL, (case, printed[-2000:])


# ---- one submission can't hurt others or the machine ----------------------------------------
def test_a_fork_bomb_is_capped_for_the_whole_tree(worker):
    code = f"""
import os, time
started = 0
for _ in range(1000):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.execvp("sleep", ["sleep", "{MARK}"])
    started += 1
print("STARTED", started)
"""
    score, printed, status = grade(worker, _with(_notebook(True), code, "before-tests"), pids=40)
    started = int(printed.split("STARTED ")[1].split()[0])
    assert 0 < started < 40 and score == FULL, (started, printed[-500:])
    assert status["isolation"]["containment"]["cgroup"], status["isolation"]


def test_memory_split_across_children_is_capped_as_a_whole(worker):
    """Six children of 120 MiB each stay under a 400 MiB cap for the whole tree (each one alone is
    under the per-process cap): the tree's resident memory never exceeds the cap."""
    code = """
import os, time
children = []
for _ in range(6):
    pid = os.fork()
    if pid == 0:
        block = bytearray(120 * 2**20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(30)
        os._exit(0)
    children.append(pid)
time.sleep(3)
total = 0
for pid in children:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("RssAnon:"):
                total += int(line.split()[1]) // 1024
    except OSError:
        pass
print("RSS", total)
"""
    score, printed, _ = grade(worker, _with(_notebook(True), code, "before-tests"), memory_mb=400, cell_timeout=10)
    # 6 x 120 = 720 MiB uncapped; RssAnon also counts heap pages still shared with the zygote
    # (charged to the zygote, not to the tree), hence the margin of less than one child
    assert int(printed.split("RSS ")[1].split()[0]) < 400 + 100, printed[-500:]
    assert score == FULL, printed[-1000:]


def test_many_small_files_cant_fill_the_disk(worker):
    code = """
import os
written = files = 0
try:
    while written < 2**30:
        with open(f"f{files}", "wb") as handle:
            handle.write(b"x" * 2**20)
        written += 2**20
        files += 1
except OSError as err:
    print("STOPPED", type(err).__name__)
print("WROTE", written // 2**20)
count = 0
try:
    while count < 10**6:
        os.mkdir(f"d{count}")
        count += 1
except OSError:
    pass
print("DIRS", count)
"""
    score, printed, status = grade(worker, _with(_notebook(True), code, "before-tests"), disk_mb=32, inodes=500)
    assert status["isolation"]["containment"]["tmpfs"], status["isolation"]
    assert int(printed.split("WROTE ")[1].split()[0]) <= 32, printed[-500:]
    assert int(printed.split("DIRS ")[1].split()[0]) <= 500, printed[-500:]
    assert score == FULL


def test_no_process_outlives_grading_even_in_a_new_session(worker):
    code = f"""
import os, subprocess
subprocess.Popen(["sleep", "{MARK}"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "{MARK}.5"])
    os._exit(0)
print("daemons started")
"""
    score, printed, _ = grade(worker, _with(_notebook(True), code, "before-tests"))
    assert "daemons started" in printed and score == FULL


def test_the_graders_environment_and_other_processes_are_out_of_reach(worker, monkeypatch):
    victim = subprocess.Popen(["sleep", "300"])
    try:
        code = f"""
import os, signal
seen = dict(os.environ)
for path in ("/proc/self/environ", "/proc/1/environ", "/proc/{os.getpid()}/environ", "/proc/{victim.pid}/environ"):
    try:
        seen[path] = open(path, "rb").read().decode(errors="replace")
    except OSError as err:
        seen[path] = type(err).__name__
for pid in ({victim.pid}, {os.getpid()}, os.getppid(), -1):
    try:
        os.kill(pid, signal.SIGKILL)
        seen[f"kill {{pid}}"] = "sent"
    except OSError as err:
        seen[f"kill {{pid}}"] = type(err).__name__
print("SEEN", repr(seen))
"""
        secret = "tt-secret-token-8d1f"
        monkeypatch.setenv("TINYTORCH_API_TOKEN", secret)
        own = Worker()                         # started with the secret in the grader's environment
        try:
            score, printed, _ = grade(own, _with(_notebook(True), code, "before-tests"))
        finally:
            own.close()
        assert "SEEN" in printed and secret not in printed, printed[-3000:]
        assert victim.poll() is None, "the submission killed a process of the grader's user"
        assert score == FULL
    finally:
        victim.kill()
        victim.wait()


def test_a_hung_test_call_is_stopped_and_the_rest_graded(worker):
    code = """
def personal_info():
    while True:
        pass
"""
    score, printed, status = grade(worker, _with(_notebook(True), code, "before-tests"), cell_timeout=2)
    assert score == 2 and status["timeouts"], status          # system-info still earns its 2 points


def test_without_root_containment_grading_works_and_says_what_is_partial(monkeypatch):
    monkeypatch.setenv("TITO_SANDBOX_CONTAIN", "0")          # as on a machine where the grader isn't root
    own = Worker()
    try:
        score, _, status = grade(own, _notebook(True))
    finally:
        own.close()
    contained = status["isolation"]["containment"]
    assert score == FULL and not contained["pid_namespace"] and "not root" in contained["partial"], contained
    assert status["isolation"]["landlock"] >= 1
