"""JupyterHub configuration of the course's demo class (``make hub``; tests/browser/test_hub.py).

The hub runs as root on loopback and starts each user's JupyterLab as that Unix user
(LocalProcessSpawner); users log in with their Unix password (PAM). ``hub/prepare_class.py`` creates
the users, their homes, the nbgrader exchange and the instructor's course under one root folder.

Settings come from the environment, so that the tests can run a hub in a temporary folder:

``BACKPROP_HUB_ROOT``            the class's folder (default /srv/backprop-hub)
``BACKPROP_HUB_PORT``            the port people open (default 8000), on 127.0.0.1
``BACKPROP_HUB_API_PORT``        the hub's own API port, for the proxy and the servers (default 8081)
``BACKPROP_HUB_PROXY_API_PORT``  the proxy's REST API port (default 8001)
``BACKPROP_HUB_SINGLEUSER_ARGS`` extra options for every user's server, separated by spaces

What a real deployment changes is in docs/running-a-class.md.
"""

import json
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

HUB = Path(__file__).resolve().parent
ROOT = Path(os.environ.get("BACKPROP_HUB_ROOT", "/srv/backprop-hub")).resolve()
USERS = json.loads((ROOT / "users.json").read_text())  # written by hub/prepare_class.py
# The users' Python environment: the hub's, unless its interpreter is not readable by them.
ENVIRONMENT_BIN = Path(USERS.get("bin") or Path(sys.executable).parent)

# -- network: everything on loopback ---------------------------------------------------------------
port = int(os.environ.get("BACKPROP_HUB_PORT", "8000"))
c.JupyterHub.bind_url = f"http://127.0.0.1:{port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("BACKPROP_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('BACKPROP_HUB_PROXY_API_PORT', '8001')}"
c.ConfigurableHTTPProxy.command = [str(HUB / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(ROOT / "state" / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{ROOT / 'state' / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(ROOT / "state" / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(ROOT / "state" / "jupyterhub.pid")
# A class's servers end with the hub (a restart of the hub stops everyone's kernels).
c.JupyterHub.cleanup_servers = True

# -- who may log in ---------------------------------------------------------------------------------
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.open_sessions = False  # no login session bookkeeping (utmp) for web logins
c.Authenticator.allowed_users = {USERS["instructor"], *USERS["students"]}

# -- each user's JupyterLab, as that Unix user ------------------------------------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(ENVIRONMENT_BIN / "jupyterhub-singleuser")]
c.Spawner.args = os.environ.get("BACKPROP_HUB_SINGLEUSER_ARGS", "").split()
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = "/lab"
c.Spawner.environment = {
    # nbgrader calls alembic by name: the environment's bin/ goes first
    "PATH": f"{ENVIRONMENT_BIN}:/usr/local/bin:/usr/bin:/bin",
    # kernels import the course package from the class's copy, never from the repository (source/)
    "PYTHONPATH": str(ROOT / "lib"),
    "JUPYTER_CONFIG_PATH": str(ROOT / "etc" / "jupyter"),
}
if USERS.get("library_path"):  # the users' interpreter is a mirror of one they cannot reach
    c.Spawner.environment["LD_LIBRARY_PATH"] = USERS["library_path"]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
