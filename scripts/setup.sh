#!/usr/bin/env bash
# Everything the course and its test suite need, on a Debian machine; quiet when it is all there.
#   bash scripts/setup.sh
# - Debian's chromium and the emoji font (browser tests and their screenshots), when missing;
# - configurable-http-proxy (JupyterHub's proxy, from npm) into deploy/proxy/node_modules/;
# - the course itself: python3 -m pip install -e ".[dev]";
# - as root: the classroom hub's user-server Python ([hub] python in settings.ini, default
#   /opt/tinytorch-hub/venv): Debian's python3 with the course's dependencies, outside /root so
#   every student account can run it, and without the instructor's tinytorch (it has the solutions).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'setup: %s\n' "$*"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "needs root for: $*"; return 1; fi; }

# ---- system packages -------------------------------------------------------------------------
missing=()
command -v chromium >/dev/null || missing+=(chromium)
dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || missing+=(fonts-noto-color-emoji)
command -v npm >/dev/null || missing+=(npm)
/usr/bin/python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} (apt)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# ---- JupyterHub's proxy (npm) ----------------------------------------------------------------
proxy=deploy/proxy/node_modules/.bin/configurable-http-proxy
if [ ! -x "$proxy" ] || ! grep -q '"version": "5.3.0"' deploy/proxy/node_modules/configurable-http-proxy/package.json 2>/dev/null; then
    say "installing configurable-http-proxy (npm) into deploy/proxy/"
    npm install --prefix deploy/proxy --no-audit --no-fund --loglevel=error >/dev/null
fi

# ---- the course ------------------------------------------------------------------------------
python3 -m pip install --quiet --disable-pip-version-check -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
python3 -c "import tito, tinytorch, jupyterhub" || { say "pip install -e .[dev] failed"; exit 1; }

# ---- the hub's user-server Python (root only: it lives in a system folder) ----------------------
hub_python=$(python3 -c "from tito.core.hub import hub_settings; print(hub_settings().python)")
if [ "$(id -u)" = 0 ]; then
    venv=$(dirname "$(dirname "$hub_python")")
    stamp="$venv/.tinytorch-requirements"
    wanted=$(python3 -c "
import tomllib
p = tomllib.load(open('pyproject.toml', 'rb'))['project']
print('\n'.join(p['dependencies']))")
    if [ ! -x "$hub_python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
        say "making the hub's user-server Python in $venv (a few minutes, once)"
        [ -x "$hub_python" ] || /usr/bin/python3 -m venv "$venv"
        printf '%s\n' "$wanted" > "$venv/requirements.txt"
        "$hub_python" -m pip install --quiet --disable-pip-version-check -r "$venv/requirements.txt" 2>&1 \
            | grep -v "^WARNING: Location" || true
        "$hub_python" -c "import jupyterhub, nbgrader, jupyterlab, numpy" || { say "the hub's Python is incomplete"; exit 1; }
        printf '%s' "$wanted" > "$stamp"
        chmod -R a+rX "$venv"
    fi
elif [ ! -x "$hub_python" ]; then
    say "not root: skipped the classroom hub's Python ($hub_python); run 'sudo bash scripts/setup.sh' for tito hub"
fi
