"""JupyterLab for a TinyTorch workspace: the server configuration and a managed server process.

`tito lab` and the browser test share this code, so the test exercises exactly what students and
instructors run. The configuration is generated at launch into a temporary folder that is put on
JUPYTER_CONFIG_PATH (it is never written into the workspace):

- the server listens on 127.0.0.1 only, with a random token, rooted at the workspace;
- the jupytext and nbgrader server extensions are switched on explicitly;
- `Content-Security-Policy: frame-ancestors 'self'`, so JupyterLab may show nbgrader's formgrader
  (same origin) in its iframe. A server whose policy is `frame-ancestors 'none'` (JupyterHub's
  single-user default since 4.1) shows a blank formgrader tab;
- in a student workspace the instructor-only parts of nbgrader (formgrader, create assignment,
  course and assignment lists) are switched off; Validate stays.

Kernels, terminals and `!tito ...` cells started by this server see TINYTORCH_ROOT and have the
workspace first on PYTHONPATH, so `import tinytorch` is the workspace's own package.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tito.core.settings import TitoError, load_settings

HOST = "127.0.0.1"
CSP = "frame-ancestors 'self'"
NBGRADER_INSTRUCTOR_SERVER = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.course_list",
)
NBGRADER_INSTRUCTOR_PLUGINS = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:assignment-list",
    "@jupyter/nbgrader:menu",
)
# JupyterLab's news feed asks to fetch announcements from the internet; a course machine may be offline.
ALWAYS_DISABLED_PLUGINS = ("@jupyterlab/apputils-extension:announcements",)
REQUIRED_LABEXTENSIONS = ("@jupyter/nbgrader", "jupyterlab-jupytext")
# In the course repository a module source `NN_name/name_dev.py` opens as a notebook on a double
# click (jupytext's viewer). JupyterLab chooses viewers per file type, and `.py` is one type, so
# every `.py` file there opens as a notebook; right-click → Open With → Editor shows the text.
INSTRUCTOR_SETTINGS = {"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}}}


def is_course_repo(root: Path) -> bool:
    """The instructor repository has module sources (`NN_name/name_dev.py`); a student workspace
    from `tito nbgrader release` says so in settings.ini and has only the released notebooks."""
    from tito.core.workspace import is_workspace

    if is_workspace(root):
        return False
    return any((root / "modules" / "source").glob("[0-9][0-9]_*/*_dev.py"))


def _die_with_parent() -> None:
    """In the server's process, before exec: SIGTERM it when the process that started it dies."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def server_config(root: Path, instructor: bool) -> dict:
    """The jupyter_server configuration (JSON form) for one workspace."""
    extensions = {
        "jupyterlab": True,
        "jupyterlab_jupytext": True,
        "jupyter_server_terminals": True,
        "nbgrader.server_extensions.validate_assignment": True,
    }
    extensions.update({name: instructor for name in NBGRADER_INSTRUCTOR_SERVER})
    return {
        "ServerApp": {
            "ip": HOST,
            "root_dir": str(root),
            "open_browser": False,
            "port_retries": 0,
            "jpserver_extensions": extensions,
            "tornado_settings": {"headers": {"Content-Security-Policy": CSP}},
            "terminals_enabled": True,
        },
    }


def page_config(instructor: bool) -> dict:
    """JupyterLab front-end plugins to switch off (labconfig/page_config.json)."""
    disabled = {plugin: True for plugin in ALWAYS_DISABLED_PLUGINS}
    if not instructor:
        disabled.update({plugin: True for plugin in NBGRADER_INSTRUCTOR_PLUGINS})
    return {"disabledExtensions": disabled}


def write_settings_overrides(folder: Path, overrides: dict) -> None:
    """JupyterLab's default settings (`overrides.json` in its app settings folder): the installed
    overrides, if any, with ours on top. Users' own settings still win over both."""
    default = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings"
    folder.mkdir(parents=True, exist_ok=True)
    merged: dict = {}
    if (default / "overrides.json").is_file():
        try:
            merged = json.loads((default / "overrides.json").read_text(encoding="utf-8"))
        except ValueError:
            merged = {}
    if (default / "overrides.d").is_dir():
        shutil.copytree(default / "overrides.d", folder / "overrides.d", dirs_exist_ok=True)
    for plugin, values in overrides.items():
        merged.setdefault(plugin, {}).update(values)
    (folder / "overrides.json").write_text(json.dumps(merged, indent=2), encoding="utf-8")


def missing_labextensions() -> list[str]:
    """Front-end extensions that JupyterLab would not find (their Python package is missing)."""
    from jupyter_core.paths import jupyter_path

    found = [name for name in REQUIRED_LABEXTENSIONS
             if any((Path(base) / name / "package.json").is_file() for base in jupyter_path("labextensions"))]
    return [name for name in REQUIRED_LABEXTENSIONS if name not in found]


def _port_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
            return True
        except OSError:
            return False


@dataclass
class LabServer:
    """One JupyterLab server for one workspace. Use as a context manager, or start()/stop()."""

    root: Path
    port: int = 0
    token: str = field(default_factory=lambda: secrets.token_hex(24))
    instructor: bool | None = None
    log_level: str = "WARN"
    log_file: Path | None = None        # None: the server's log goes to this process's stderr
    isolated: bool = False              # keep JupyterLab's user settings and layouts out of ~/.jupyter (tests)
    process: subprocess.Popen | None = None
    _config_dir: Path | None = None

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()
        if self.instructor is None:
            self.instructor = is_course_repo(self.root)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def url(self) -> str:
        """What a person opens: the lab with the token (which logs the browser in)."""
        return f"{self.base_url}/lab?token={self.token}"

    def url_for(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}{'&' if '?' in path else '?'}token={self.token}"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        config_path = [str(self._config_dir)] + [p for p in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p]
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(config_path)
        env["PYTHONPATH"] = os.pathsep.join([str(self.root)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        env["TINYTORCH_ROOT"] = str(self.root)
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.port={self.port}",
                   f"--IdentityProvider.token={self.token}", f"--log-level={self.log_level}",
                   f"--ServerApp.root_dir={self.root}"]
        if self.instructor:
            command.append(f"--LabApp.app_settings_dir={self._config_dir / 'app-settings'}")
        if self.isolated:
            command += [f"--LabApp.user_settings_dir={self._config_dir / 'user-settings'}",
                        f"--LabApp.workspaces_dir={self._config_dir / 'workspaces'}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")   # containers and CI run as root; Jupyter refuses by default
        return command

    def start(self, timeout: float = 90.0) -> "LabServer":
        missing = missing_labextensions()
        if missing:
            raise TitoError(f"JupyterLab extensions not installed: {', '.join(missing)}. "
                            'Reinstall the course tools: pip install -e ".[dev]"')
        if self.instructor:
            # The formgrader warns (and disables its release/collect buttons) unless the exchange
            # folder that nbgrader_config.py names exists.
            (load_settings(self.root).course_dir / "exchange").mkdir(parents=True, exist_ok=True)
        auto_port = not self.port
        for attempt in range(3 if auto_port else 1):
            if auto_port:
                self.port = free_port()
            self._launch()
            try:
                self.wait_ready(timeout)
                return self
            except TitoError:
                self.stop()
                # Another program may have taken the free port we picked: try another one.
                if not auto_port or attempt == 2 or _port_free(self.port):
                    raise
            except BaseException:
                self.stop()
                raise
        return self

    def _launch(self) -> None:
        self._config_dir = Path(tempfile.mkdtemp(prefix="tito-lab-config-"))
        (self._config_dir / "jupyter_server_config.json").write_text(
            json.dumps(server_config(self.root, self.instructor), indent=2), encoding="utf-8")
        (self._config_dir / "labconfig").mkdir()
        (self._config_dir / "labconfig" / "page_config.json").write_text(
            json.dumps(page_config(self.instructor), indent=2), encoding="utf-8")
        if self.instructor:
            write_settings_overrides(self._config_dir / "app-settings", INSTRUCTOR_SETTINGS)
        log = open(self.log_file, "ab") if self.log_file else None
        try:
            # Its own session: a Ctrl-C in the terminal reaches tito only, and tito shuts the
            # server down (SIGTERM), instead of Jupyter's interactive "Shutdown? (y/[n])" prompt.
            # And on Linux it dies with tito: a killed tito (or test run) leaves no orphaned server.
            self.process = subprocess.Popen(self.command(), cwd=self.root, env=self.environment(),
                                            stdin=subprocess.DEVNULL, stdout=log or None,
                                            stderr=subprocess.STDOUT if log else None, start_new_session=True,
                                            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        finally:
            if log:
                log.close()

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        request = urllib.request.Request(f"{self.base_url}/api/status",
                                         headers={"Authorization": f"token {self.token}"})
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                where = f" (log: {self.log_file})" if self.log_file else " (its log is above)"
                raise TitoError(f"JupyterLab exited with code {self.process.returncode} before it "
                                f"answered on port {self.port}{where}.")
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.25)
        raise TitoError(f"JupyterLab did not answer on {self.base_url} within {timeout:.0f} s.")

    def stop(self, timeout: float = 20.0) -> int | None:
        """Shut the server down (SIGTERM: kernels and terminals are stopped first); kill it if it
        does not exit in time. Returns its exit code."""
        code = None
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)   # the server stops its kernels itself
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._kill_group()
                    self.process.wait(5)
            else:
                self._kill_group()                          # orphaned kernels, if any
            code = self.process.returncode
        if self._config_dir is not None:
            shutil.rmtree(self._config_dir, ignore_errors=True)
            self._config_dir = None
        return code

    def _kill_group(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)   # the server and the kernels it started
        except (ProcessLookupError, PermissionError):
            pass

    def __enter__(self) -> "LabServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
