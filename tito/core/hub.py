"""The classroom hub: JupyterHub for this course on one machine (`tito hub up/down/status`).

What `tito hub up` prepares before it starts `jupyterhub -f deploy/jupyterhub_config.py`:

- one Unix account per roster row and per `[hub] instructors` name (tito/core/roster.py: created
  when missing, as root), home folders 0700, passwords set with chpasswd (the roster's `password`
  column, else a generated one written to STATE/passwords.csv, readable by root only). JupyterHub's
  PAMAuthenticator checks them; LocalProcessSpawner runs each user's server as that account;
- the roster in the gradebook (student_id, first_name, last_name, email: what nbgrader's
  `db student import` reads), so the formgrader shows names;
- SHARED (`[hub] shared_dir`, root-owned, world-readable): the nbgrader exchange, the Jupyter
  configuration of student and instructor servers, the start script a user's server runs, and a
  student workspace template (`release` with no module: tito and a tinytorch package without
  generated files, leak-checked). A student's first start copies it to ~/tinytorch; the
  Assignments tab fetches modules into ~/tinytorch/modules/source/, where `tito export` finds them.

The user servers run in `[hub] python`'s environment (made by scripts/setup.sh): it must be
readable by every account, and holds the course's dependencies but never the instructor's
tinytorch package (that has the solutions in it). STATE (`[hub] state_dir`) holds the hub's
database, cookie secret, API token, log and pid files, readable by root only.
"""
from __future__ import annotations

import configparser
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tito.core.roster import UNIX_NAME, Student, ensure_accounts, import_roster, is_root, read_roster
from tito.core.settings import TitoError, find_root

HUB_PORT_OFFSET, PROXY_API_OFFSET = 1, 2          # the hub's internal ports: PORT+1, PORT+2
USER_PORT_OFFSET = 10                            # single-user servers: PORT+10 … PORT+9+max_servers
CONFIG_FILE = Path("deploy") / "jupyterhub_config.py"


# ---- settings ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class HubSettings:
    root: Path
    course_id: str
    course_dir: Path
    instructors: tuple[str, ...]
    shared_dir: Path
    python: Path
    state_dir: Path
    max_servers: int = 90

    @property
    def exchange(self) -> Path:
        return self.shared_dir / "exchange"

    @property
    def template(self) -> Path:
        return self.shared_dir / "workspace"

    def start_script(self, role: str) -> Path:
        return self.shared_dir / f"start-{role}"

    def env_script(self, role: str) -> Path:
        return self.shared_dir / f"env-{role}.sh"

    def jupyter_config(self, role: str) -> Path:
        return self.shared_dir / "config" / role

    @property
    def api_token_file(self) -> Path:
        return self.state_dir / "api_token"

    @property
    def runtime_file(self) -> Path:
        """What the running hub was started with (port, ip, pids): written by `up`, read by `down`."""
        return self.state_dir / "hub.json"


def hub_settings(root: Path | None = None) -> HubSettings:
    root = Path(root or find_root()).resolve()
    parser = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
    parser.read(root / "settings.ini")
    get = lambda key, default: parser.get("hub", key, fallback=default).strip()  # noqa: E731
    instructors = tuple(n.strip() for n in get("instructors", "instructor").split(",") if n.strip())
    for name in instructors:
        if not UNIX_NAME.match(name):
            raise TitoError(f"settings.ini: [hub] instructors: {name!r} is not a usable account name "
                            "(lower-case letters, digits, _ and -, at most 32)")
    try:
        max_servers = int(get("max_servers", "90"))
    except ValueError:
        raise TitoError(f"settings.ini: [hub] max_servers must be a whole number, got {get('max_servers', '')!r}")
    if max_servers < 1:
        raise TitoError("settings.ini: [hub] max_servers must be at least 1")
    return HubSettings(
        root=root,
        course_id=parser.get("course", "id", fallback="tinytorch"),
        course_dir=(root / parser.get("nbgrader", "course_dir", fallback="course")).resolve(),
        instructors=instructors,
        shared_dir=Path(get("shared_dir", "/srv/tinytorch-hub")),
        python=Path(get("python", "/opt/tinytorch-hub/venv/bin/python")),
        state_dir=(root / get("state_dir", ".hub")).resolve(),
        max_servers=max_servers,
    )


# ---- the shared folder ------------------------------------------------------------------------
ENV_SCRIPT = """\
# Written by `tito hub up`: the environment of a {role}'s server (the start script sources it;
# so can a shell: `. {env}`).
{workspace}
export TINYTORCH_ROOT="$ws" PYTHONPATH="$ws" JUPYTER_CONFIG_PATH="{config}"
export TINYTORCH_EXCHANGE="{exchange}" TITO_HUB_ROLE="{role}"
export PATH="{bin}:{venv_bin}:$PATH"
"""
START_SCRIPT = """\
#!/bin/sh
# Written by `tito hub up`: JupyterHub's LocalProcessSpawner runs this as the user ({role}).
set -e
. "{env}"
{workspace_setup}
cd "$ws"
exec "{venv_bin}/jupyterhub-singleuser" --ServerApp.root_dir="$ws" "$@"
"""
STUDENT_WORKSPACE = 'ws="$HOME/tinytorch"'
STUDENT_SETUP = """\
# The first start: the student's own workspace, from the leak-checked template.
if [ ! -e "$ws/settings.ini" ]; then
    mkdir -p "$ws" && cp -R "{template}/." "$ws/"
fi"""
INSTRUCTOR_WORKSPACE = 'ws="{root}"'

TITO_LAUNCHER = """\
#!{python}
# Written by `tito hub up`: the workspace's own tito (first on PYTHONPATH), in the hub's environment.
from tito.main import main
main()
"""

STUDENT_NBGRADER = """\
# Written by `tito hub up`: nbgrader for a student's server in the classroom hub.
import os
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {exchange!r}
# The Assignments tab fetches module NN into ~/tinytorch/modules/source/NN_name/: the workspace's module folder.
c.Exchange.assignment_dir = os.path.join(os.path.expanduser("~"), "tinytorch", "modules", "source")
"""


def prepare_shared(hub: HubSettings) -> None:
    """The exchange, the servers' configuration, start scripts and the workspace template."""
    from tito.core.course import Course
    from tito.core.lab import page_config, server_config
    from tito.core.workspace import release

    if not hub.python.is_file():
        raise TitoError(f"The user servers' Python {hub.python} is missing: run `bash scripts/setup.sh` "
                        "(or set [hub] python in settings.ini)")
    if str(hub.python).startswith(str(Path.home())) and is_root():
        raise TitoError(f"[hub] python {hub.python} is inside {Path.home()}, which other accounts cannot read")
    hub.shared_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(hub.shared_dir, 0o755)
    hub.exchange.mkdir(exist_ok=True)
    os.chmod(hub.exchange, 0o777)           # nbgrader's exchange root: everyone writes (its docs)
    for role, instructor in (("student", False), ("instructor", True)):
        config = hub.jupyter_config(role)
        if config.exists():
            shutil.rmtree(config)
        (config / "labconfig").mkdir(parents=True)
        server = server_config(Path("."), instructor)["ServerApp"]
        server.pop("root_dir"), server.pop("ip"), server.pop("port_retries")   # JupyterHub sets these
        if not instructor:                 # the Assignments tab (fetch, submit, feedback) is the student's
            server["jpserver_extensions"]["nbgrader.server_extensions.assignment_list"] = True
        (config / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": server}, indent=2))
        pages = page_config(instructor)
        if not instructor:
            for plugin in ("@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:menu"):
                pages["disabledExtensions"].pop(plugin, None)
        (config / "labconfig" / "page_config.json").write_text(json.dumps(pages, indent=2))
        if not instructor:
            (config / "nbgrader_config.py").write_text(
                STUDENT_NBGRADER.format(course_id=hub.course_id, exchange=str(hub.exchange)))
        workspace = STUDENT_WORKSPACE if not instructor else INSTRUCTOR_WORKSPACE.format(root=hub.root)
        env = hub.env_script(role)
        env.write_text(ENV_SCRIPT.format(role=role, env=env, workspace=workspace, config=config,
                                         exchange=hub.exchange, bin=hub.shared_dir / "bin",
                                         venv_bin=hub.python.parent))
        os.chmod(env, 0o644)
        script = hub.start_script(role)
        script.write_text(START_SCRIPT.format(role=role, env=env, venv_bin=hub.python.parent,
                                              workspace_setup=STUDENT_SETUP.format(template=hub.template)
                                              if not instructor else ""))
        os.chmod(script, 0o755)
    (hub.shared_dir / "bin").mkdir(exist_ok=True)
    launcher = hub.shared_dir / "bin" / "tito"
    launcher.write_text(TITO_LAUNCHER.format(python=hub.python))
    os.chmod(launcher, 0o755)
    # The template: tito and the package's hand-written parts; modules arrive through the exchange.
    if hub.template.exists():
        shutil.rmtree(hub.template)
    course = Course.from_settings(hub.root)
    release(course, [], hub.template)
    (hub.template / "modules" / "source").mkdir(parents=True, exist_ok=True)
    for path in [hub.template, *hub.template.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


def instructor_warnings(hub: HubSettings) -> list[str]:
    """An instructor's server opens the course repository as that instructor: say when it can't."""
    import pwd

    owner = os.stat(hub.root).st_uid
    out = []
    for name in hub.instructors:
        if pwd.getpwnam(name).pw_uid != owner:
            out.append(f"{name}'s JupyterLab (the formgrader) opens {hub.root}, which belongs to "
                       f"{pwd.getpwuid(owner).pw_name}: give it to the instructor (chown -R {name} {hub.root})")
    return out


# ---- the hub process --------------------------------------------------------------------------
def port_in_use(ip: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
            return False
        except OSError:
            return True


def proxy_command(root: Path) -> str:
    """configurable-http-proxy: scripts/setup.sh installs it into deploy/proxy/ (npm), else PATH."""
    local = root / "deploy" / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
    found = str(local) if local.is_file() else shutil.which("configurable-http-proxy")
    if not found:
        raise TitoError("configurable-http-proxy (JupyterHub's proxy, from npm) is missing: run `bash scripts/setup.sh`")
    return found


@dataclass
class Running:
    port: int
    ip: str
    pid: int
    started: float
    log: str
    servers: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.ip in ("0.0.0.0", "") else self.ip
        return f"http://{host}:{self.port}"


def read_running(hub: HubSettings) -> Running | None:
    try:
        data = json.loads(hub.runtime_file.read_text())
    except (OSError, ValueError):
        return None
    running = Running(**data)
    return running if _alive(running.pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:    # a zombie (exited, not yet reaped) is not running
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def up(hub: HubSettings, port: int = 8000, ip: str = "127.0.0.1", roster: Path | None = None,
       timeout: float = 90.0) -> tuple[Running, list[Student], list[tuple[str, str]], list[str]]:
    """Prepare accounts, gradebook and shared folder, then start JupyterHub in the background."""
    if read_running(hub):
        raise TitoError(f"The hub is already running ({read_running(hub).url}): `tito hub down` first")
    top = 65535 - USER_PORT_OFFSET - hub.max_servers + 1
    if not 1024 <= port <= top:
        raise TitoError(f"--port {port}: choose a port from 1024 to {top}")
    for needed in (port, port + HUB_PORT_OFFSET, port + PROXY_API_OFFSET):
        if port_in_use(ip, needed) or (ip != "127.0.0.1" and port_in_use("127.0.0.1", needed)):
            raise TitoError(f"port {needed} on {ip} is in use (the hub needs {port}, {port + 1} and "
                            f"{port + 2}): choose another with --port")
    config_file = hub.root / CONFIG_FILE
    if not config_file.is_file():
        raise TitoError(f"{config_file} is missing: the hub's configuration lives there")
    students = read_roster(roster, hub.instructors) if roster else []
    if not is_root():
        ensure_accounts(hub, students)      # names the missing accounts, if any
        raise TitoError("tito hub up needs root: each user's server runs as that user's Unix account "
                        "(sudo tito hub up …)")
    proxy = proxy_command(hub.root)
    hub.state_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(hub.state_dir, 0o700)
    passwords = ensure_accounts(hub, students)
    if students:
        import_roster(hub, students)
    hub.course_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(hub.course_dir, 0o700)         # the gradebook and submissions: the instructor's alone
    owner = os.stat(hub.root)               # ... who owns the course repository (root made them)
    for path in (hub.course_dir, hub.course_dir / "gradebook.db"):
        if path.exists() and os.stat(path).st_uid != owner.st_uid:
            os.chown(path, owner.st_uid, owner.st_gid)
    prepare_shared(hub)
    warnings = instructor_warnings(hub)
    if not hub.api_token_file.is_file():
        fd = os.open(hub.api_token_file, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    log = hub.state_dir / "jupyterhub.log"
    env = dict(os.environ, TITO_HUB_ROOT=str(hub.root), TITO_HUB_PORT=str(port), TITO_HUB_IP=ip,
               TITO_HUB_PROXY=proxy, TITO_HUB_USERS=",".join(s.student_id for s in students))
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config_file)],
                                   cwd=hub.state_dir, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    running = Running(port=port, ip=ip, pid=process.pid, started=time.time(), log=str(log))
    hub.runtime_file.write_text(json.dumps(running.__dict__))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            raise TitoError(f"JupyterHub exited with code {process.returncode}: {tail[0][:300]} (log: {log})")
        try:
            api(hub, running, "/")
            return running, students, passwords, warnings
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            time.sleep(0.5)
    down(hub)
    raise TitoError(f"JupyterHub did not answer on {running.url} within {timeout:.0f} s (log: {log})")


def api(hub: HubSettings, running: Running, path: str, method: str = "GET"):
    """JupyterHub's REST API with tito's service token."""
    token = hub.api_token_file.read_text().strip()
    request = urllib.request.Request(f"{running.url}/hub/api{path}", method=method,
                                     headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
        return json.loads(body) if body else None


def users(hub: HubSettings, running: Running) -> list[dict]:
    return api(hub, running, "/users?include_stopped_servers=0")


def _server_pids(hub: HubSettings, running: Running) -> list[int]:
    pids = []
    try:
        for user in users(hub, running):
            for server in (user.get("servers") or {}).values():
                pid = (server.get("state") or {}).get("pid")
                if pid:
                    pids.append(int(pid))
    except Exception:    # the hub is not answering: fall back to what we can find
        pass
    return pids


def down(hub: HubSettings, timeout: float = 30.0) -> list[int]:
    """Stop the hub: JupyterHub stops the user servers and the proxy itself on SIGTERM; whatever
    is still alive after `timeout` (the hub, its proxy, the user servers and their kernels) is killed.
    Returns the pids that were stopped."""
    try:
        data = json.loads(hub.runtime_file.read_text())
    except (OSError, ValueError):
        return []
    running = Running(**data)
    pids = [running.pid] if _alive(running.pid) else []
    if pids:
        pids += _server_pids(hub, running)
    proxy_pid = hub.state_dir / "jupyterhub-proxy.pid"
    try:
        pids.append(int(proxy_pid.read_text().strip()))
    except (OSError, ValueError):
        pass
    if _alive(running.pid):
        os.kill(running.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        _reap(running.pid)
        time.sleep(0.25)
    for pid in pids:
        if _alive(pid):
            for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
                try:
                    kill()
                except (ProcessLookupError, PermissionError):
                    pass
    _reap(running.pid)
    hub.runtime_file.unlink(missing_ok=True)
    proxy_pid.unlink(missing_ok=True)
    return pids


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
