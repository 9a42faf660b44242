"""JupyterHub for the TinyTorch course on one machine: `tito hub up` starts `jupyterhub -f` this file.

Everything comes from settings.ini (`[course] id`, `[hub] ...`, read by tito.core.hub.hub_settings)
and from what `tito hub up` was given on its command line (TITO_HUB_* variables): the public port
and address; the hub's own API is on PORT+1 and the proxy's API on PORT+2, all on 127.0.0.1, and
the user servers take ports PORT+10 … PORT+9+max_servers (`[hub] max_servers`).

- PAMAuthenticator: the accounts' Unix passwords (set by `tito hub up` from the roster); only
  the roster's students and `[hub] instructors` may log in; instructors are JupyterHub admins.
- LocalProcessSpawner: each user's JupyterLab runs as that user's Unix account, from the start
  script in `[hub] shared_dir` (students: in ~/tinytorch, with the Assignments tab; instructors:
  in the course repository, with the formgrader).
- configurable-http-proxy from deploy/proxy/ (npm, installed by scripts/setup.sh).

Moving to Zero-to-JupyterHub on Kubernetes replaces the spawner (KubeSpawner, one pod and volume
per user) and the exchange (a service such as ngshare instead of a shared folder): see README.
"""
import os
import socket
import sys
from pathlib import Path

ROOT = Path(os.environ.get("TITO_HUB_ROOT") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))
from tito.core.hub import HUB_PORT_OFFSET, PROXY_API_OFFSET, USER_PORT_OFFSET, hub_settings, proxy_command  # noqa: E402

hub = hub_settings(ROOT)
port = int(os.environ.get("TITO_HUB_PORT", "8000"))
ip = os.environ.get("TITO_HUB_IP", "127.0.0.1")
c = get_config()  # noqa: F821 (JupyterHub's config loader provides it)

# ---- where it listens ----------------------------------------------------------------------
c.JupyterHub.ip = ip
c.JupyterHub.port = port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = port + HUB_PORT_OFFSET
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{port + PROXY_API_OFFSET}"
c.ConfigurableHTTPProxy.command = [os.environ.get("TITO_HUB_PROXY") or proxy_command(ROOT)]
c.ConfigurableHTTPProxy.pid_file = str(hub.state_dir / "jupyterhub-proxy.pid")
c.ConfigurableHTTPProxy.should_start = True

# ---- state (root only) -----------------------------------------------------------------------
c.JupyterHub.db_url = f"sqlite:///{hub.state_dir / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(hub.state_dir / "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True        # `tito hub down` (SIGTERM) stops every user server
c.JupyterHub.cleanup_proxy = True
# A newer JupyterHub may change its database schema: upgrade the (throw-away) database on start.
c.JupyterHub.upgrade_db = True

# ---- who may log in --------------------------------------------------------------------------
c.JupyterHub.authenticator_class = "pam"
roster = [name for name in os.environ.get("TITO_HUB_USERS", "").split(",") if name]
if not roster:
    from tito.core.roster import roster_students

    roster = roster_students(hub)
c.Authenticator.allowed_users = set(roster) | set(hub.instructors)
c.Authenticator.admin_users = set(hub.instructors)
c.PAMAuthenticator.open_sessions = False   # no systemd login sessions in a container
c.PAMAuthenticator.check_account = True

# tito's own service token: `tito hub status` and `tito hub down` read the users and servers.
if hub.api_token_file.is_file():     # written by `tito hub up`
    c.JupyterHub.services = [{"name": "tito", "api_token": hub.api_token_file.read_text().strip()}]
    c.JupyterHub.load_roles = [{
        "name": "tito",
        "scopes": ["list:users", "read:users", "admin:servers", "admin:server_state"],
        "services": ["tito"],
    }]

# ---- each user's server ------------------------------------------------------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = 90
c.Spawner.start_timeout = 120


user_ports = range(port + USER_PORT_OFFSET, port + USER_PORT_OFFSET + hub.max_servers)
c.JupyterHub.active_server_limit = hub.max_servers      # one port each
_assigned: dict[str, int] = {}                          # user -> port, while their server runs


def _free_user_port(user: str) -> int:
    """A port of the user range that no other server holds (nor is about to: two servers starting
    at once must not both find the same port free)."""
    taken = set(_assigned.values())
    for candidate in user_ports:
        if candidate in taken:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
        _assigned[user] = candidate
        return candidate
    raise RuntimeError(f"no free port for a user server in {user_ports.start}-{user_ports.stop - 1}")


def pre_spawn(spawner):
    """Instructors get the course repository and the formgrader, students their workspace."""
    role = "instructor" if spawner.user.name in hub.instructors else "student"
    spawner.cmd = [str(hub.start_script(role))]
    _assigned.pop(spawner.user.name, None)
    spawner.port = _free_user_port(spawner.user.name)


def post_stop(spawner):
    _assigned.pop(spawner.user.name, None)


c.Spawner.post_stop_hook = post_stop
c.Spawner.pre_spawn_hook = pre_spawn
