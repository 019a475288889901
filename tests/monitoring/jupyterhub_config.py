"""A real JupyterHub for tests/monitoring/test_jupyterhub.py, without its proxy.

The hub answers on HUB_PORT (its REST API and /hub/health); the proxy is a
stand-in that only remembers routes (configurable-http-proxy is not needed to
read users), and each user's "server" is a tiny tornado app in the hub's own
process. The portal's service is registered as a helm install registers it
(provisioning/render/templates/default/z2jh.values.yaml.j2): a token and a role
with list:users, read:users, read:servers. A second service stands for the
singleuser servers and the test's admin work.
"""

import os
import socket

from jupyterhub.proxy import Proxy
from jupyterhub.spawner import Spawner
from tornado import web

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - given by JupyterHub

STATE = os.environ["HUB_STATE_DIR"]


class RememberingProxy(Proxy):
    """Routes kept in memory: nothing to start, nothing to reach."""

    should_start = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.routes = {}

    async def add_route(self, routespec, target, data):
        self.routes[routespec] = {"routespec": routespec, "target": target, "data": data}

    async def delete_route(self, routespec):
        self.routes.pop(routespec, None)

    async def get_all_routes(self):
        return dict(self.routes)


class Ok(web.RequestHandler):
    def get(self, *args):
        self.write("ok")


class InProcessSpawner(Spawner):
    """A user's server: a tornado app on a free port in the hub's process."""

    server_handle = None

    async def start(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.server_handle = web.Application([(r"/(.*)", Ok)]).listen(port, "127.0.0.1")
        return ("127.0.0.1", port)

    async def poll(self):
        return None if self.server_handle is not None else 0

    async def stop(self, now=False):
        if self.server_handle is not None:
            self.server_handle.stop()
            self.server_handle = None


c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ["HUB_PORT"])
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ["HUB_PROXY_PORT"])
c.JupyterHub.proxy_class = RememberingProxy
c.JupyterHub.spawner_class = InProcessSpawner
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.db_url = f"sqlite:///{STATE}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{STATE}/cookie_secret"
c.JupyterHub.pid_file = f"{STATE}/jupyterhub.pid"
c.JupyterHub.cleanup_servers = True
c.JupyterHub.services = [
    {"name": "hub-portal", "api_token": os.environ["PORTAL_TOKEN"]},
    {"name": "test-admin", "api_token": os.environ["ADMIN_TOKEN"]},
]
c.JupyterHub.load_roles = [
    {
        "name": "hub-portal-usage",
        "scopes": ["list:users", "read:users", "read:servers"],
        "services": ["hub-portal"],
    },
    {
        "name": "test-admin",
        "scopes": ["admin:users", "admin:servers", "users:activity", "list:users"],
        "services": ["test-admin"],
    },
]
