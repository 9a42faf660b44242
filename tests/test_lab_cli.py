"""`tito lab` without a browser: URL with token, the server's headers and extensions, Ctrl-C.

The browser test (test_lab_browser.py) drives the notebooks and the formgrader; this one checks
the command line and the server configuration directly over HTTP.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from tito.core.lab import CSP, LabServer, is_course_repo

ROOT = Path(__file__).resolve().parents[1]


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers)


def student_workspace(tmp_path: Path) -> Path:
    """The parts of a released workspace that `tito lab` looks at."""
    workspace = tmp_path / "student"
    (workspace / "modules" / "source" / "00_setup").mkdir(parents=True)
    shutil.copy(ROOT / "settings.ini", workspace / "settings.ini")
    with open(workspace / "settings.ini", "a", encoding="utf-8") as handle:
        handle.write("\n[workspace]\nstudent = true\n")
    return workspace


@contextmanager
def running_tito_lab(tmp_path: Path):
    """`tito lab --no-browser` in the course repository: yields (process, url, token, lines read),
    and kills the process afterwards if the test didn't stop it."""
    env = {k: v for k, v in os.environ.items() if k != "TINYTORCH_ROOT"}
    env.update(COLUMNS="250", NO_COLOR="1", TERM="dumb", JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    proc = subprocess.Popen([sys.executable, "-m", "tito", "lab", "--no-browser"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url, token, seen = None, None, []
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            found = re.search(r"(http://127\.0\.0\.1:\d+)/lab\?token=([0-9a-f]+)", line)
            if found:
                url, token = found.groups()
        assert url, "tito lab printed no URL:\n" + "".join(seen)
        yield proc, url, token, seen
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_tito_lab_prints_url_serves_and_stops_on_ctrl_c(tmp_path):
    with running_tito_lab(tmp_path) as (proc, url, token, seen):
        assert get(f"{url}/api/status")[0] == 403, "the server answers without its token"
        status, headers = get(f"{url}/formgrader?token={token}")
        assert status == 200, "the formgrader is not served in the course repository"
        assert headers.get("Content-Security-Policy") == CSP
        assert get(f"{url}/lab?token={token}")[0] == 200

        proc.send_signal(signal.SIGINT)          # what Ctrl-C in the terminal does
        rest = proc.communicate(timeout=60)[0]
        assert proc.returncode == 0, "".join(seen) + rest
        assert "JupyterLab stopped." in rest
        try:
            get(f"{url}/api/status?token={token}")
            raise AssertionError("the server still answers after Ctrl-C")
        except urllib.error.URLError:
            pass


def test_student_workspace_has_validate_but_no_formgrader(tmp_path):
    workspace = student_workspace(tmp_path)
    assert is_course_repo(ROOT) and not is_course_repo(workspace)
    with LabServer(workspace, isolated=True, log_file=tmp_path / "lab.log") as server:
        assert not server.instructor
        assert server.url.startswith("http://127.0.0.1:")
        assert get(server.url_for("formgrader"))[0] == 404
        assert get(server.url_for(f"nbgrader_version?version=0"))[0] == 200   # validate extension
        status, headers = get(server.url_for("lab"))
        assert status == 200 and headers.get("Content-Security-Policy") == CSP
        pid = server.process.pid
    assert server.process.returncode is not None
    try:
        os.kill(pid, 0)
        raise AssertionError("the server process is still running")
    except ProcessLookupError:
        pass


def test_a_killed_tito_leaves_no_server_behind(tmp_path):
    """SIGKILL gives tito no chance to clean up; the server must still go (it dies with its parent)."""
    with running_tito_lab(tmp_path) as (proc, url, token, _):
        proc.kill()
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                get(f"{url}/api/status?token={token}")
            except (urllib.error.URLError, ConnectionError):     # refused, or reset while it dies
                break
            time.sleep(0.5)
        else:
            raise AssertionError("the JupyterLab server outlived a killed tito")
