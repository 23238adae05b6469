"""The dashboard as a user meets it: a real uvicorn on a loopback port, and a client.

``LiveDashboard`` serves ``create_app`` from a background thread, like
``origincert serve`` does from the main one. ``Client`` speaks to it over real
HTTP and knows the forms: first-run setup, log in, the CSRF token of a page.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from origincert import settings as product_settings
from origincert.dashboard import DashboardConfig, create_app
from origincert.dashboard.limits import LoginLimiter
from tests.servers.nginx_tree import BINARY, NginxTree

SETUP_CODE = "setup-code-for-tests"
ADMIN = "admin"
PASSWORD = "a long and careful passphrase"

_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_META_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


class LiveDashboard:
    """``create_app(config)`` served by uvicorn on 127.0.0.1, on a free port."""

    def __init__(self, config: DashboardConfig, tree: NginxTree | None = None) -> None:
        self.config = config
        self.tree = tree  # the web server configuration it manages
        self.app = create_app(config)
        self._server = uvicorn.Server(uvicorn.Config(
            self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
        self._thread = threading.Thread(target=self._server.run, name="dashboard",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the dashboard did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def client(self) -> Client:
        return Client(self.url)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


class Client(httpx.Client):
    """An HTTP client of the dashboard that never follows redirects by itself."""

    def __init__(self, url: str) -> None:
        super().__init__(base_url=url, follow_redirects=False, timeout=30)

    def form_token(self, path: str) -> str:
        page = self.get(path)
        assert page.status_code == 200, page.text
        return _FORM_TOKEN.search(page.text).group(1)  # type: ignore[union-attr]

    def setup(self, username: str = ADMIN, password: str = PASSWORD) -> httpx.Response:
        return self.post("/setup", data={
            "csrf_token": self.form_token("/setup"), "setup_code": SETUP_CODE,
            "username": username, "password": password, "confirm": password})

    def login(self, username: str = ADMIN, password: str = PASSWORD) -> httpx.Response:
        return self.post("/login", data={"csrf_token": self.form_token("/login"),
                                         "username": username, "password": password})

    def csrf(self) -> str:
        """The session's CSRF token, as every page carries it."""
        page = self.get("/sites")
        return _META_TOKEN.search(page.text).group(1)  # type: ignore[union-attr]

    def api_token(self, name: str = "tests") -> str:
        made = self.post("/tokens", data={"name": name, "csrf_token": self.csrf()})
        assert made.status_code == 201, made.text
        return re.search(r'id="new-token">([^<]+)<', made.text).group(1)  # type: ignore


@dataclass
class Home:
    """A state folder and a web server configuration for one dashboard."""

    state: Path
    config: Path
    tree: NginxTree

    def settings(self, api_base: str | None = None, **overrides: object
                 ) -> product_settings.Settings:
        return product_settings.load(
            self.state, self.config, nginx_conf=self.tree.conf, nginx_prefix=self.tree.prefix,
            nginx_binary=BINARY, api_base=api_base or "http://127.0.0.1:9/client/v4",
            letsencrypt_dir=self.tree.root / "etc" / "letsencrypt",
            acme_sh_home=self.tree.root / "root" / ".acme.sh", **overrides)


def home_for(tree: NginxTree, folder: Path) -> Home:
    # origincert's include files go where the tree's nginx adapter expects them
    return Home(folder / "state", tree.nginx.include_dir.parent, tree)


def config_for(home: Home, api_base: str | None = None, *,
               limiter: LoginLimiter | None = None, **overrides: object) -> DashboardConfig:
    return DashboardConfig(home.settings(api_base, **overrides), setup_code=SETUP_CODE,
                           limiter=limiter or LoginLimiter())
