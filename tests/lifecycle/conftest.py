"""Fixtures of the lifecycle tests: a sandbox whose clock moves, origins with three sites.

Time moves in two places at once: ``ORIGINCERT_NOW`` for the CLI (the lifecycle's
clock seam) and ``sb.settings.clock`` for the sandbox, so that a certificate
renewed "in five days" is also issued in five days.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from origincert.files import write_atomic
from origincert.sandbox import Sandbox
from tests.e2e.origin import AGENCY, Origin, Run, agency_token
from tests.servers.nginx_tree import NginxTree

MAIN = """\
events {}
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    include /etc/nginx/conf.d/*.conf;
}
"""

# Three sites of example.org, a zone the "full access" token of agency.json reaches.
SITES = ("blog.example.org", "store.example.org", "docs.example.org")


def server_block(*names: str) -> str:
    return (f"server {{\n    listen 80;\n    server_name {' '.join(names)};\n"
            f"    root /var/www/{names[0]};\n}}\n")


@pytest.fixture(scope="session")
def lifecycle_sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    sb = Sandbox.start(AGENCY, state_dir=tmp_path_factory.mktemp("lifecycle-sandbox"))
    yield sb
    sb.stop()


@pytest.fixture
def sb(lifecycle_sandbox: Sandbox) -> Iterator[Sandbox]:
    """The sandbox as the data file says, its clock the real one again after the test."""
    lifecycle_sandbox.reset()
    yield lifecycle_sandbox
    lifecycle_sandbox.settings.clock = lambda: datetime.now(UTC)
    lifecycle_sandbox.clear_failures()


@dataclass
class World:
    """One origin (nginx with the given sites, a state folder, an account) and its clock."""

    origin: Origin
    sb: Sandbox
    start: datetime = field(default_factory=lambda: datetime.now(UTC))
    now: datetime | None = None

    def at(self, days: float) -> None:
        """Move the clock of origincert and of the sandbox to ``days`` after the start."""
        moment = self.start + timedelta(days=days)
        self.now = moment
        self.sb.settings.clock = lambda: moment

    def cli(self, *args: str, env: dict[str, str] | None = None) -> Run:
        clock = {"ORIGINCERT_NOW": self.now.isoformat()} if self.now else {}
        return self.origin.cli(*args, env={**clock, **(env or {})})

    def issue(self, *names: str, validity: int = 5475) -> dict:
        """Issue in-process (faster than the CLI), at the sandbox's current time."""
        from origincert.provision.issue import IssueOptions

        result = self.origin.issuer().issue(list(names), IssueOptions(
            validity_days=validity, zone=False))
        assert result.status == "installed", result
        return result.certificate

    def certs(self, *extra: str) -> list[dict]:
        run = self.cli("certs", "--json", *extra)
        assert run.code == 0, run
        return run.json()

    def row(self, *, cf_id: str | None = None, local_id: int | None = None) -> dict:
        rows = self.certs()
        found = [r for r in rows if (cf_id and r["cloudflare_id"] == cf_id)
                 or (local_id is not None and r["id"] == local_id)]
        assert len(found) == 1, (cf_id, local_id, rows)
        return found[0]

    def configure(self, text: str) -> None:
        write_atomic(self.origin.config / "origincert.toml", text)

    def add_name(self, site: str, name: str) -> None:
        """Add ``name`` to the server_name of ``site``, as a person would, and reload."""
        path = self.origin.tree.path("conf.d/sites.conf")
        text = path.read_text()
        assert f"server_name {site};" in text
        write_atomic(path, text.replace(f"server_name {site};", f"server_name {site} {name};"))
        self.origin.tree.reload()


@pytest.fixture
def world(sb: Sandbox, tmp_path: Path) -> Iterator[World]:
    """Three sites on a real nginx, the agency account connected."""
    blocks = "".join(server_block(name) for name in SITES)
    tree = NginxTree.from_files({"nginx.conf": MAIN, "conf.d/sites.conf": blocks},
                                tmp_path / "tree")
    tree.start()
    origin = Origin(tree, tmp_path)
    origin.connect("agency", agency_token("full access"), sb.base_url)
    try:
        yield World(origin, sb)
    finally:
        tree.stop()


class Webhook:
    """A tiny local HTTP server that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook/s3cr3t-path"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.stop()


def orphan(world: World, *names: str, validity: int = 30) -> str:
    """An Origin CA certificate issued at Cloudflare that no server uses (as from the
    dashboard, or by a run that never installed it); its Cloudflare id."""
    from origincert import settings
    from origincert.accounts.connect import client_for
    from origincert.pki.csr import build_csr, csr_to_pem
    from origincert.pki.keys import generate_key
    from origincert.state.db import Store

    loaded = settings.load(world.origin.state, world.origin.config)
    with Store(loaded.paths) as store:
        client = client_for(store, store.get_account("agency"), audit=False)
        try:
            key = generate_key("ecdsa")
            issued = client.create_origin_certificate(
                csr_to_pem(build_csr(key, list(names))), list(names), "origin-ecc", validity)
        finally:
            client.close()
    return issued.id
