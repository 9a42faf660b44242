"""`tito lab` in the course repository opens a module source (`name_dev.py`) as a notebook:
jupytext's viewer is JupyterLab's default for Python files there (and not in a student workspace,
whose notebooks are `.ipynb`). Checked on a running server, through JupyterLab's settings API."""
from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

from tito.core.lab import LabServer

ROOT = Path(__file__).resolve().parents[1]
DOCMANAGER = "lab/api/settings/@jupyterlab/docmanager-extension:plugin"
PORTS = iter(range(9540, 9560))      # this test's own port range


def default_viewers(server: LabServer) -> dict:
    with urllib.request.urlopen(server.url_for(DOCMANAGER), timeout=30) as response:
        plugin = json.loads(response.read())
    return plugin["schema"]["properties"]["defaultViewers"]["default"]


def test_dev_py_opens_as_a_notebook_in_the_course_repository(tmp_path):
    with LabServer(ROOT, port=next(PORTS), isolated=True, log_file=tmp_path / "lab.log") as server:
        assert server.instructor
        assert default_viewers(server).get("python") == "Jupytext Notebook"


def test_a_student_workspace_keeps_jupyterlabs_viewers(tmp_path):
    workspace = tmp_path / "student"
    (workspace / "modules" / "source" / "00_setup").mkdir(parents=True)
    shutil.copy(ROOT / "settings.ini", workspace / "settings.ini")
    with open(workspace / "settings.ini", "a", encoding="utf-8") as handle:
        handle.write("\n[workspace]\nstudent = true\n")
    with LabServer(workspace, port=next(PORTS), isolated=True, log_file=tmp_path / "lab.log") as server:
        assert not server.instructor
        assert "python" not in default_viewers(server)
