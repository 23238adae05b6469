"""Fixtures of the doctor tests: one sandbox with its edge, origins run by real servers.

The sandbox starts once per session (``edge=True``) and goes back to its data file's
state for every module; each test module builds its own origin (an nginx fixture tree,
a tree written by the test, or the Apache tree), connects one account, and runs the
real CLI as a subprocess (``Doctor.cli``). Run in the private network namespace of
``scripts/test-netns``: the origins listen on 80/443 of the fixtures' addresses.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from origincert.files import ensure_dir, write_atomic
from origincert.sandbox import Sandbox, SandboxSettings
from tests.e2e.origin import AGENCY, BINARY, Run, agency_token, clean_env
from tests.servers.nginx_tree import NginxTree

FULL_ACCESS = agency_token("full access")


@dataclass
class Doctor:
    """A state folder, an account on the sandbox, and the CLI pointed at one web server."""

    home: Path
    server_args: list[str]
    runs: list[Run] = field(default_factory=list)

    @property
    def state(self) -> Path:
        return self.home / "state"

    def cli(self, *args: str, env: dict[str, str] | None = None) -> Run:
        argv = [sys.executable, "-m", "origincert", "--state-dir", str(self.state),
                *self.server_args, *args]
        done = subprocess.run(argv, env={**clean_env(), **(env or {})}, capture_output=True,
                              text=True, timeout=120, check=False)
        run = Run(argv, done.returncode, done.stdout, done.stderr)
        self.runs.append(run)
        return run

    def connect(self, api_base: str, token: str = FULL_ACCESS, name: str = "agency") -> None:
        token_file = self.home / f"token-{name}"
        write_atomic(token_file, token + "\n", mode=0o600)
        run = self.cli("account", "add", name, "--token-file", str(token_file),
                       "--api-base", api_base)
        assert run.code == 0, run

    def doctor(self, *args: str, env: dict[str, str] | None = None) -> tuple[Run, dict]:
        run = self.cli("doctor", "--json", *args, env=env)
        assert run.code in (0, 1), run
        try:
            return run, json.loads(run.stdout)
        except ValueError as err:
            raise AssertionError(f"no JSON report:\n{run}") from err


def problems(report: dict) -> set[tuple[str, str]]:
    """(check id, hostname) of every error and warning: what makes doctor exit 1."""
    return {(f["id"], f["hostname"]) for f in report["findings"]
            if f["severity"] in ("error", "warning")}


def found(report: dict, check: str, hostname: str) -> dict:
    hits = [f for f in report["findings"] if f["id"] == check and f["hostname"] == hostname]
    assert hits, f"no {check} for {hostname}; found: {sorted(problems(report))}"
    return hits[0]


def nginx_doctor(tree: NginxTree, home: Path) -> Doctor:
    return Doctor(home, ["--config-dir", str(tree.nginx.include_dir.parent),
                         "--nginx-conf", str(tree.conf), "--nginx-prefix", str(tree.prefix),
                         "--nginx-binary", BINARY])


@pytest.fixture(scope="session")
def doctor_sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    sb = Sandbox.start(AGENCY, state_dir=tmp_path_factory.mktemp("doctor-sandbox"),
                       settings=SandboxSettings(edge=True))
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def sb(doctor_sandbox: Sandbox) -> Sandbox:
    """The shared sandbox, back to agency.json's state for each module."""
    doctor_sandbox.reset(SandboxSettings(edge=True))
    return doctor_sandbox


def world_file(folder: Path, world: dict) -> Path:
    path = ensure_dir(folder) / "world.json"
    path.write_text(json.dumps(world))
    return path


@pytest.fixture(scope="module")
def nginx_origin(tmp_path_factory) -> Iterator[Callable[..., tuple[NginxTree, Path]]]:
    """Build and start an nginx tree (by fixture name, or {path: text}); stopped afterwards."""
    started: list[NginxTree] = []

    def build(tree: str | dict[str, str]) -> tuple[NginxTree, Path]:
        for running in started:
            running.stop()
        home = tmp_path_factory.mktemp("doctor-origin")
        made = (NginxTree.build(tree, home / "tree") if isinstance(tree, str)
                else NginxTree.from_files(tree, home / "tree"))
        made.start()
        started.append(made)
        return made, home

    yield build
    for running in started:
        running.stop()


def place_renewal(tree: NginxTree) -> Path:
    """The tree's certbot renewal file where certbot keeps it: <root>/etc/letsencrypt/renewal."""
    letsencrypt = tree.root / "etc" / "letsencrypt"
    renewal = ensure_dir(letsencrypt / "renewal")
    shutil.copy(tree.path("letsencrypt-renewal/example.net.conf"), renewal / "example.net.conf")
    return letsencrypt


# --- small worlds written by the tests -----------------------------------------------------

ACCOUNT_ID = "d0c70000000000000000000000000001"
TOKEN = "doctor-test-token-all-permissions-000001"
STRICT_SETTINGS = {"ssl": "strict", "always_use_https": "on", "automatic_https_rewrites": "on",
                   "min_tls_version": "1.2", "tls_1_3": "on", "tls_client_auth": "off"}


def a_record(name: str, address: str, proxied: bool = True) -> dict:
    return {"type": "A", "name": name, "content": address, "proxied": proxied, "ttl": 1}


def world(zones: dict[str, tuple[dict, list[dict]]]) -> dict:
    """One account, one full-access token, and ``zones``: name → (settings, records)."""
    every = ["zone:read", "zone_settings:edit", "dns_records:edit", "ssl:edit"]
    return {
        "accounts": [{"id": ACCOUNT_ID, "name": "Doctor tests"}], "users": [],
        "tokens": [{"name": "all", "value": TOKEN, "status": "active",
                    "policies": [{"permissions": every, "zones": [f"account:{ACCOUNT_ID}"]}]}],
        "zones": [{"id": f"d0c7000000000000000000000000a{i:03d}", "name": name,
                   "account": ACCOUNT_ID, "status": "active", "plan": "free",
                   "settings": {**STRICT_SETTINGS, **settings}, "dns_records": records}
                  for i, (name, (settings, records)) in enumerate(sorted(zones.items()))],
    }


@pytest.fixture(scope="module")
def world_sandbox(tmp_path_factory) -> Iterator[Callable[[dict], Sandbox]]:
    """Start a sandbox (with its edge) on a world written by the test; stopped afterwards."""
    started: list[Sandbox] = []

    def start(data: dict) -> Sandbox:
        folder = tmp_path_factory.mktemp("doctor-world")
        made = Sandbox.start(world_file(folder, data), state_dir=folder / "state",
                             settings=SandboxSettings(edge=True))
        started.append(made)
        return made

    yield start
    for made in started:
        made.stop()


def api_client(sb: Sandbox, token: str = TOKEN):  # type: ignore[no-untyped-def]
    from origincert.cloudflare.client import CloudflareClient
    from origincert.cloudflare.credential import TOKEN as KIND, Credential
    from origincert.secret import Secret

    return CloudflareClient(Credential(KIND, Secret(token)), base_url=sb.base_url)


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path
    cf_id: str


def origin_ca(sb: Sandbox, hostnames: list[str], folder: Path, *, validity: int = 5475) -> Pair:
    """An Origin CA certificate from the sandbox for ``hostnames``, and its key, on disk."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from origincert.pki.csr import build_csr, csr_to_pem
    from origincert.pki.keys import key_to_pem

    key = ec.generate_private_key(ec.SECP256R1())
    client = api_client(sb)
    try:
        issued = client.create_origin_certificate(csr_to_pem(build_csr(key, hostnames)),
                                                  hostnames, "origin-ecc", validity)
    finally:
        client.close()
    ensure_dir(folder)
    stem = hostnames[0].replace("*", "_")
    cert, key_path = folder / f"{stem}.pem", folder / f"{stem}.key"
    write_atomic(cert, issued.pem or "")
    write_atomic(key_path, key_to_pem(key), mode=0o600)
    return Pair(cert, key_path, issued.id)


def tls_block(listen: str, hostname: str, pair: Pair, extra: str = "") -> str:
    return (f"server {{\n    listen {listen} ssl;\n    server_name {hostname};\n"
            f"    ssl_certificate {pair.cert};\n    ssl_certificate_key {pair.key};\n"
            f"{extra}    location / {{ return 200 \"{hostname}\\n\"; }}\n}}\n")


NGINX_MAIN = """\
events {}
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    include /etc/nginx/conf.d/*.conf;
}
"""
