"""`tito hub` without a browser: its configuration, the roster, and one clear line for bad input.

The whole classroom (hub, two students, grading, feedback) is tests/test_hub_browser.py.
"""
from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest
from traitlets.config import Config

from tests.conftest import run_tito
from tito.core import hub as core
from tito.core import roster as people
from tito.core.settings import TitoError

ROOT = Path(__file__).resolve().parents[1]


def roster(tmp_path: Path, *rows: str, header: str = "student_id,first_name,last_name,email") -> Path:
    path = tmp_path / "roster.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def one_error_line(run: subprocess.CompletedProcess) -> str:
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), run.stderr
    return lines[0]


def test_roster_is_read_as_nbgrader_imports_it(tmp_path):
    path = roster(tmp_path, "ada,Ada,Lovelace,ada@example.org", "grace,Grace,Hopper,", header=
                  "student_id,first_name,last_name,email,password")
    students = people.read_roster(path)
    assert [(s.student_id, s.first_name, s.last_name, s.email) for s in students] == [
        ("ada", "Ada", "Lovelace", "ada@example.org"), ("grace", "Grace", "Hopper", "")]


@pytest.mark.parametrize("rows, header, message", [
    (["ada,Ada,L,a@x", "bob,Bob,B,b@x", "ada,Ada,L2,c@x"], None, "line 4: duplicate student_id 'ada' (first on line 2)"),
    (["Ada Lovelace,Ada,L,a@x"], None, "line 2: student_id 'Ada Lovelace' is not a usable account name"),
    (["ada,Ada,L,a@x"], "student_id,first_name,email", "missing column(s) last_name"),
    (["instructor,I,N,i@x"], None, "line 2: 'instructor' is an instructor account"),
])
def test_bad_roster_is_one_clear_line(tmp_path, rows, header, message):
    path = roster(tmp_path, *rows, **({"header": header} if header else {}))
    with pytest.raises(TitoError, match=re_escape(message)):
        people.read_roster(path, ("instructor",))
    run = run_tito("hub", "up", "--port", "9780", "--roster", str(path))
    assert message in one_error_line(run)
    assert not (ROOT / ".hub" / "hub.json").exists()


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


def test_port_in_use_is_one_clear_line(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 9786))
        sock.listen()
        run = run_tito("hub", "up", "--port", "9785", "--roster", str(roster(tmp_path, "ada,Ada,L,a@x")))
    assert "port 9786 on 127.0.0.1 is in use" in one_error_line(run)


def test_missing_accounts_without_root_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setattr(core, "is_root", lambda: False)
    monkeypatch.setattr(people, "is_root", lambda: False)
    hub = core.hub_settings(ROOT)
    name = "ttnosuchstudent"
    assert not people.account_exists(name)
    with pytest.raises(TitoError, match=rf"Unix accounts missing: .*{name}.*sudo tito hub up"):
        core.up(hub, port=9790, roster=roster(tmp_path, f"{name},No,Body,n@x"))


def test_roster_fills_the_gradebook_with_names(scratch_project, tmp_path):
    hub = core.hub_settings(scratch_project)
    people.import_roster(hub, people.read_roster(roster(tmp_path, "ada,Ada,Lovelace,ada@example.org")))
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{hub.course_dir / 'gradebook.db'}", hub.course_id) as gb:
        ada = gb.find_student("ada")
        assert (ada.first_name, ada.last_name, ada.email) == ("Ada", "Lovelace", "ada@example.org")
    assert people.roster_students(hub) == ["ada"]


def test_hub_configuration_reads_settings(monkeypatch):
    """deploy/jupyterhub_config.py as JupyterHub loads it: every port from --port, PAM, local processes."""
    monkeypatch.setenv("TITO_HUB_ROOT", str(ROOT))
    monkeypatch.setenv("TITO_HUB_PORT", "9750")
    monkeypatch.setenv("TITO_HUB_USERS", "ada,grace")
    config = Config()
    namespace = {"get_config": lambda: config, "__file__": str(ROOT / core.CONFIG_FILE)}
    exec(compile((ROOT / core.CONFIG_FILE).read_text(), str(ROOT / core.CONFIG_FILE), "exec"), namespace)
    hub = core.hub_settings(ROOT)
    assert (config.JupyterHub.ip, config.JupyterHub.port, config.JupyterHub.hub_port) == ("127.0.0.1", 9750, 9751)
    assert config.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:9752"
    assert config.JupyterHub.authenticator_class == "pam"
    assert config.JupyterHub.spawner_class == "localprocess"
    assert config.Authenticator.allowed_users == {"ada", "grace", *hub.instructors}
    assert config.Authenticator.admin_users == set(hub.instructors)
    assert str(hub.state_dir) in config.JupyterHub.db_url


def test_down_when_not_running_says_so():
    run = run_tito("hub", "down")
    assert run.returncode == 0 and "not running" in run.stdout
    run = run_tito("hub", "status")
    assert run.returncode == 1 and "not running" in run.stderr


def test_collect_from_the_exchange_takes_no_forged_submission(scratch_project, tmp_path):
    """An inbound entry is collected only from the account it names and only for a roster student:
    the rest is listed (exit 1) and nothing reaches submitted/."""
    import re

    shared = tmp_path / "shared"
    settings = scratch_project / "settings.ini"
    settings.write_text(re.sub(r"(?m)^shared_dir = .*$", f"shared_dir = {shared}", settings.read_text()))
    hub = core.hub_settings(scratch_project)
    people.import_roster(hub, [people.Student("ada", "Ada", "Lovelace", "ada@example.org")])
    stamp = "2026-12-01 10:00:00.000000 UTC"
    for name in (f"ada+01_tensor+{stamp}+forged", f"root+01_tensor+{stamp}+notonroster"):
        entry = hub.exchange / hub.course_id / "inbound" / name
        entry.mkdir(parents=True)
        (entry / "tensor_dev.ipynb").write_text("{}")
        (entry / "timestamp.txt").write_text(stamp)
    me = __import__("pwd").getpwuid(os.geteuid()).pw_name
    run = run_tito("nbgrader", "collect", "01", "--exchange", cwd=scratch_project)
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"claims to be ada's but belongs to {me}: not collected" in run.stdout
    if me == "root":
        assert "root is not on the course roster: not collected" in run.stdout
    assert not (hub.course_dir / "submitted").exists()
