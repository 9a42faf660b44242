"""The classroom, end to end: `tito hub up`, two students in JupyterLab's Assignments tab, the
instructor's cycle through tito, feedback back through nbgrader's exchange. Driven in headless
Chromium (Debian's package, as tests/test_lab_browser.py), screenshots in artifacts/hub/.

A scratch copy of the course (module 01) runs a real JupyterHub (PAM logins, LocalProcessSpawner,
configurable-http-proxy) on 127.0.0.1:9700 (its other ports 9701, 9702 and 9710-9799). Two
students log in with the passwords `tito hub up` set, each fetches module 01; Ada writes the
solution and submits, Grace submits the notebook untouched. The instructor collects, autogrades
and releases feedback with tito; each student fetches the feedback in the Assignments tab: Ada
has full marks, Grace zero. The instructor's own JupyterLab (the course repository is theirs)
shows both in the formgrader, with the roster's names and scores. Each server runs as its user's
Unix account: Grace can't read Ada's home or the gradebook. `tito hub down` leaves no process behind, and the test's Unix
accounts are removed, also when the test fails.

Needs root (accounts), Debian's chromium and what scripts/setup.sh installs (the proxy, the hub's
user-server Python): without them this test fails, it does not skip.
"""
from __future__ import annotations

import csv
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from test_lab_browser import CHROMIUM_FLAGS, chromium_path, menu, solution_cells
from tito.core.notebook import read_source

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "hub"
MODULE, NOTEBOOK = "01_tensor", "tensor_dev.ipynb"
PORT = 9700
TIMEOUT_MS = 60_000
SUFFIX = secrets.token_hex(2)
TEACHER, ADA, GRACE = f"tthteach{SUFFIX}", f"tthada{SUFFIX}", f"tthgrace{SUFFIX}"


def tito(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    start = time.monotonic()
    env = {k: v for k, v in os.environ.items() if k not in ("TINYTORCH_ROOT", "PYTHONPATH")}
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb", PYTHONPATH=str(cwd))
    result = subprocess.run([sys.executable, "-m", "tito", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=300)
    print(f"{time.monotonic() - T0:6.1f} s  tito {' '.join(args[:2])} ({time.monotonic() - start:.1f} s)")
    if check:
        assert result.returncode == 0, f"tito {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def as_user(user: str, command: str, shared: Path) -> subprocess.CompletedProcess:
    """A shell as the student, in the environment their hub server has (env-student.sh)."""
    return subprocess.run(["/usr/sbin/runuser", "-u", user, "--", "sh", "-c", f'cd && . "{shared}/env-student.sh" && {command}'],
                          capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})


def make_course(base: Path, shared: Path) -> Path:
    """A scratch course repository with module 01, the hub's configuration and its own accounts."""
    repo = base / "course-repo"
    skip = shutil.ignore_patterns("*.ipynb", "__pycache__", ".ipynb_checkpoints", "node_modules")
    (repo / "modules" / "source").mkdir(parents=True)
    for name in ("settings.ini", "nbgrader_config.py", "pyproject.toml"):
        shutil.copy(ROOT / name, repo / name)
    for name in ("tinytorch", "tito", "deploy"):
        shutil.copytree(ROOT / name, repo / name, ignore=skip)
    shutil.copytree(ROOT / "modules" / "source" / MODULE, repo / "modules" / "source" / MODULE, ignore=skip)
    (repo / "deploy" / "proxy" / "node_modules").symlink_to(ROOT / "deploy" / "proxy" / "node_modules")
    settings = (repo / "settings.ini").read_text()
    settings = re.sub(r"(?m)^instructors = .*$", f"instructors = {TEACHER}", settings)
    settings = re.sub(r"(?m)^shared_dir = .*$", f"shared_dir = {shared}", settings)
    (repo / "settings.ini").write_text(settings)
    return repo


def hub_processes(users: list[str], wait: float = 0.0) -> list[str]:
    """Live processes of the test's accounts, the hub or its proxy (a zombie has already exited:
    it waits only for the machine's init to reap it). With `wait`, give exiting ones that long."""
    deadline = time.monotonic() + wait
    while True:
        out = subprocess.run(["ps", "-wweo", "pid,stat,user:32,args"], capture_output=True, text=True).stdout
        found = [line for line in out.splitlines()[1:]
                 if not line.split(None, 3)[1].startswith("Z")
                 and (any(line.split(None, 3)[2] == u for u in users) or "jupyterhub_config.py" in line
                      or "configurable-http-proxy" in line and f"{PORT + 2}" in line)]
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def give_course_to(repo: Path, instructor: str) -> None:
    """As on a real server, the course repository is the instructor's (0700), except the hub's
    own state (.hub/, root's): their server opens it with the formgrader."""
    import pwd

    account = pwd.getpwnam(instructor)
    os.chmod(repo.parent, 0o711)
    for path in [repo, *repo.rglob("*")]:
        if ".hub" not in path.relative_to(repo).parts:
            os.lchown(path, account.pw_uid, account.pw_gid)
    os.chmod(repo, 0o700)


def remove_accounts(names: list[str]) -> None:
    for name in names:
        pids = subprocess.run(["ps", "-o", "pid=", "-u", name], capture_output=True, text=True).stdout.split()
        for pid in pids:                    # whatever still runs as a test account (after a failure)
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["userdel", "--remove", name], capture_output=True)


@pytest.fixture(scope="module")
def classroom():
    if os.geteuid() != 0:
        pytest.fail("the hub test needs root (it creates Unix accounts), as CI runs it", pytrace=False)
    from tito.core.hub import hub_settings

    if not hub_settings(ROOT).python.is_file() or not (ROOT / "deploy/proxy/node_modules/.bin/configurable-http-proxy").is_file():
        pytest.fail("the hub's Python or proxy is missing: run `bash scripts/setup.sh`", pytrace=False)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="tito-hub-test-"))          # 0700: the course stays private
    shared = Path(tempfile.mkdtemp(prefix="tito-hub-shared-"))
    os.chmod(shared, 0o755)
    repo = make_course(base, shared)
    roster = base / "roster.csv"
    roster.write_text("student_id,first_name,last_name,email\n"
                      f"{ADA},Ada,Lovelace,ada@example.org\n{GRACE},Grace,Hopper,grace@example.org\n")
    accounts = [TEACHER, ADA, GRACE]
    try:
        started = tito("hub", "up", "--port", str(PORT), "--roster", str(roster), cwd=repo)
        assert f"http://127.0.0.1:{PORT}/" in started.stdout
        give_course_to(repo, TEACHER)
        with (repo / ".hub" / "passwords.csv").open() as handle:
            passwords = {row["account"]: row["password"] for row in csv.DictReader(handle)}
        yield {"repo": repo, "shared": shared, "passwords": passwords, "url": f"http://127.0.0.1:{PORT}"}
    finally:
        tito("hub", "down", cwd=repo, check=False)
        leftover = hub_processes(accounts, wait=10)
        remove_accounts(accounts)
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(shared, ignore_errors=True)
        assert not leftover, "processes left after tito hub down:\n" + "\n".join(leftover)
        import pwd

        assert not [a for a in accounts if a in {p.pw_name for p in pwd.getpwall()}]


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


T0 = time.monotonic()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    print(f"{time.monotonic() - T0:6.1f} s  {name}")


def log_in(browser, hub: dict, user: str):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{hub['url']}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", hub["passwords"][user])
    page.click("#login_submit")        # the hub starts the server; wait_lab waits for it
    return page


def wait_lab(page, user: str) -> None:
    page.wait_for_url(re.compile(rf"/user/{user}/lab"), timeout=TIMEOUT_MS * 2)
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.wait_for(timeout=TIMEOUT_MS * 2)


def assignments(page) -> None:
    menu(page, "Nbgrader", "Assignment List")
    page.locator("#nbgrader-assignment-list").wait_for()


def api(page, user: str, path: str, method: str = "GET", data=None):
    """The student's own Jupyter server, with the browser's login (cookie and XSRF token)."""
    xsrf = next(c["value"] for c in page.context.cookies() if c["name"] == "_xsrf")
    response = page.request.fetch(f"{page.url.split('/user/')[0]}/user/{user}/api/{path}", method=method,
                                  headers={"X-XSRFToken": xsrf, "Content-Type": "application/json"},
                                  data=json.dumps(data) if data is not None else None)
    assert response.ok, f"{method} {path}: {response.status} {response.text()[:300]}"
    return response.json() if response.body() else None


def fetch_module(page, name: str) -> None:
    assignments(page)
    page.locator("#released_assignments_list .list_item", has_text=MODULE).first.wait_for()
    shot(page, f"{name}-01-assignments-released")
    page.locator("#released_assignments_list .list_item", has_text=MODULE).get_by_role("button", name="Fetch").click()
    page.locator("#fetched_assignments_list .list_item", has_text=MODULE).first.wait_for()
    shot(page, f"{name}-02-fetched")


def submit_module(page, name: str) -> None:
    page.locator("#fetched_assignments_list .list_item", has_text=MODULE).get_by_role("button", name="Submit").click()
    page.locator("#submitted_assignments_list .list_item", has_text=MODULE).first.wait_for()
    shot(page, f"{name}-04-submitted")


def fetch_feedback(page, name: str, user: str) -> str:
    """Fetch Feedback in the Assignments tab; the fetched feedback page's text."""
    page.reload()
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.wait_for()
    assignments(page)
    row = page.locator("#submitted_assignments_list .list_item", has_text=MODULE).first
    row.get_by_role("button", name="Fetch Feedback").click()
    row.get_by_text("(view feedback)").wait_for()
    shot(page, f"{name}-05-feedback-fetched")
    folder = api(page, user, f"contents/modules/source/{MODULE}/feedback")
    stamp = folder["content"][0]["name"]
    html = f"modules/source/{MODULE}/feedback/{stamp}/{NOTEBOOK.replace('.ipynb', '.html')}"
    page.goto(f"{page.url.split('/user/')[0]}/user/{user}/files/{html}")
    page.get_by_text("Score").first.wait_for()
    shot(page, f"{name}-06-feedback")
    return page.locator("body").inner_text()


def score(text: str) -> tuple[float, float]:
    found = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", text)
    assert found, f"no score in the feedback: {text[:300]}"
    return float(found.group(1)), float(found.group(2))


def test_classroom_cycle(classroom, browser):
    repo, shared = classroom["repo"], classroom["shared"]
    tito("nbgrader", "release", MODULE, "--exchange", cwd=repo)

    teacher = log_in(browser, classroom, TEACHER)
    ada = log_in(browser, classroom, ADA)
    grace = log_in(browser, classroom, GRACE)      # the servers start at once
    try:
        wait_lab(ada, ADA)
        wait_lab(grace, GRACE)
        fetch_module(ada, "ada")
        fetch_module(grace, "grace")
        path = f"contents/modules/source/{MODULE}/{NOTEBOOK}"
        # Ada writes the solution into the notebook she fetched (her own server saves it).
        model = api(ada, ADA, path)
        nb = nbformat.from_dict(model["content"])
        solutions = {c.metadata["nbgrader"]["grade_id"]: c.source
                     for c in solution_cells(read_source(ROOT / "modules" / "source" / MODULE / "tensor_dev.py"))}
        for cell in solution_cells(nb):
            cell.source = solutions[cell.metadata["nbgrader"]["grade_id"]]
        api(ada, ADA, path, "PUT", {"type": "notebook", "format": "json", "content": nb})
        ada.goto(ada.url.split("/lab")[0] + f"/lab/tree/modules/source/{MODULE}/{NOTEBOOK}")
        cells = ada.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
        cells.nth(len(nb.cells) - 1).wait_for(state="attached")
        first = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution"))
        first_line = next(line for line in nb.cells[first].source.splitlines() if "BEGIN SOLUTION" in line)
        editor = cells.nth(first).locator(".cm-content")      # her solution, in the editor she sees
        editor.scroll_into_view_if_needed()
        deadline = time.monotonic() + 60                       # (read its text: no visibility race
        while first_line.strip() not in (editor.text_content() or ""):   # with JupyterLab's windowing)
            assert time.monotonic() < deadline, f"Ada's notebook does not show her solution ({first_line.strip()!r})"
            time.sleep(0.5)
        shot(ada, "ada-03-solution")
        # Her workspace is a full one: her tinytorch is exported from her notebook, her tests pass.
        done = as_user(ADA, f"cd tinytorch && tito export {MODULE} && tito test {MODULE} && "
                       "python -c 'import tinytorch.core.tensor as t; print(t.__file__)'", shared)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"/home/{ADA}/tinytorch/tinytorch/core/tensor.py" in done.stdout
        ada.goto(ada.url.split("/lab")[0] + "/lab")
        ada.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.wait_for()
        assignments(ada)
        submit_module(ada, "ada")
        submit_module(grace, "grace")

        # The instructor's cycle, through tito.
        collected = tito("nbgrader", "collect", MODULE, "--exchange", cwd=repo)
        assert ADA in collected.stdout and GRACE in collected.stdout, collected.stdout
        tito("nbgrader", "autograde", MODULE, "--jobs", "2", cwd=repo)
        tito("nbgrader", "feedback", MODULE, "--exchange", cwd=repo)

        ada_score, grace_score = score(fetch_feedback(ada, "ada", ADA)), score(fetch_feedback(grace, "grace", GRACE))
        assert ada_score[0] == ada_score[1] > 0, ada_score
        assert grace_score == (0, ada_score[1]), grace_score

        # Each server runs as its own student; Grace can't read Ada's work nor the gradebook.
        ps = subprocess.run(["ps", "-wweo", "user:32,args"], capture_output=True, text=True).stdout.splitlines()
        servers = [line.split(None, 1)[0] for line in ps if "jupyterhub-singleuser" in line]
        assert sorted(servers) == sorted([ADA, GRACE, TEACHER]), [line for line in ps if "singleuser" in line or "start-" in line]
        peek = as_user(GRACE, f"ls /home/{ADA}/tinytorch", shared)
        assert peek.returncode != 0 and "Permission denied" in peek.stderr, peek
        gradebook = repo / "course" / "gradebook.db"
        assert gradebook.is_file()
        peek = as_user(GRACE, f"cat {gradebook} > /dev/null", shared)
        assert peek.returncode != 0 and "Permission denied" in peek.stderr, peek
        # The instructor's own JupyterLab: the formgrader shows the roster's names and the grades.
        wait_lab(teacher, TEACHER)
        teacher.goto(f"{classroom['url']}/user/{TEACHER}/formgrader/manage_students")
        teacher.get_by_text("Lovelace").first.wait_for()
        teacher.get_by_text("Hopper").first.wait_for()
        shot(teacher, "teacher-01-formgrader-students")
        students = teacher.locator("body").inner_text()
        assert "None, None" not in students
        full = f"{ada_score[1]:g}"
        assert re.search(rf"Lovelace, Ada\s+{ADA}\s+ada@example.org\s+{full} / {full}", students), students
        assert re.search(rf"Hopper, Grace\s+{GRACE}\s+grace@example.org\s+0 / {full}", students), students
        status = tito("hub", "status", cwd=repo).stdout
        assert re.search(rf"{ADA}\s+│\s+student\s+│\s+running", status), status
    except BaseException:
        for name, page in (("ada", ada), ("grace", grace), ("teacher", teacher)):
            try:
                shot(page, f"failure-{name}")
            except Exception:
                pass
        raise
