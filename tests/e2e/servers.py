"""Origins for the end-to-end tests of issue #5: nginx, Apache or Caddy behind the real CLI.

A ``Served`` is one fixture tree run by its real server, a state folder, and
the CLI (``python -m origincert``, a subprocess) pointed at both, with the
per-server options a user would give (``--nginx-conf``, ``--apache-conf-dir``,
``--caddyfile`` ...) and ``--letsencrypt-dir`` inside the tree's root, so the
machine's own files never matter. It offers what the tests look at: the bytes
of every file the product may touch (``snapshot``), the server's own config
test, what each name is served over TLS and over plain HTTP.
"""

from __future__ import annotations

import http.client
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtensionOID

from origincert.errors import WebServerError
from origincert.files import ensure_dir, write_atomic
from origincert.provision.transaction import STEPS
from tests.e2e.origin import Run, clean_env, describe, observe
from tests.servers import nginx_tree
from tests.servers.nginx_tree import NginxTree

__all__ = ["STEPS", "Origins", "Served", "build_apache", "build_caddy", "build_nginx",
           "sandbox_roots", "shown", "valid_for"]

LOCAL = "127.0.0.1"


@dataclass
class Served:
    """A running fixture tree of one web server, a state folder, and the CLI against them."""

    kind: str
    tree: Any                      # NginxTree, ApacheTree or CaddyTree
    home: Path
    server_args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)
    state_dir: Path | None = None  # default: <home>/state

    # the server

    @property
    def server(self):  # type: ignore[no-untyped-def]
        return getattr(self.tree, self.kind)

    @property
    def include_dir(self) -> Path:
        return self.server.include_dir

    @property
    def letsencrypt(self) -> Path:
        return self.root / "etc" / "letsencrypt"

    @property
    def root(self) -> Path:
        return self.tree.root

    @property
    def state(self) -> Path:
        return self.state_dir or self.home / "state"

    def start(self) -> None:
        self.tree.start()

    def stop(self) -> None:
        if self.kind == "apache":
            self.tree.cleanup()
        else:
            self.tree.stop()

    def config_error(self) -> str | None:
        """What the server's own config test says is wrong, or None when it passes."""
        try:
            self.server.config_test()
        except WebServerError as err:
            return err.one_line() + "\n" + (err.output or "")
        return None

    # the CLI

    def cli(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Run:
        argv = [sys.executable, "-m", "origincert", "--state-dir", str(self.state),
                *self.server_args, *args]
        done = subprocess.run(argv, env={**clean_env(), **self.env, **(env or {})},
                              capture_output=True, text=True, timeout=timeout, check=False)
        run = Run(argv, done.returncode, done.stdout, done.stderr)
        self.runs.append(run)
        return run

    def start_cli(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """The CLI started in the background (for runs that must overlap)."""
        argv = [sys.executable, "-m", "origincert", "--state-dir", str(self.state),
                *self.server_args, *args]
        return subprocess.Popen(argv, env={**clean_env(), **self.env, **(env or {})},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def connect(self, token: str, api_base: str, name: str = "agency") -> None:
        token_file = self.home / f"token-{name}"
        write_atomic(token_file, token + "\n", mode=0o600)
        run = self.cli("account", "add", name, "--token-file", str(token_file),
                       "--api-base", api_base)
        assert run.code == 0, run

    def certs(self, *, all_: bool = False) -> list[dict]:
        """The rows of ``certs --json`` for the certificates this state recorded."""
        run = self.cli("certs", "--json", "--no-cloudflare", *(["--all"] if all_ else []))
        assert run.code == 0, run
        return [row for row in run.json() if row.get("id") is not None]

    # what is on disk and what is served

    def snapshot(self) -> dict[str, bytes]:
        """Every file the product may touch: the tree's, origincert's own, certbot's renewals."""
        found = {f"tree:{rel}": data for rel, data in self._tree_files().items()}
        for folder in (self.include_dir, self.letsencrypt / "renewal"):
            for path in sorted(folder.rglob("*")) if folder.exists() else []:
                if path.is_file():
                    found[str(path)] = path.read_bytes()
        return found

    def tls(self, hostname: str, host: str = LOCAL) -> bytes | str:
        """The leaf served for ``hostname`` on port 443 (DER), or what happened instead."""
        return observe(host, 443, hostname)

    def http(self, hostname: str) -> tuple[int, str] | str:
        """Status and Location of GET http://hostname/ on port 80, or what happened instead."""
        connection = http.client.HTTPConnection(LOCAL, 80, timeout=5)
        try:
            connection.request("GET", "/", headers={"Host": hostname})
            response = connection.getresponse()
            response.read()
            return response.status, response.getheader("Location", "")
        except OSError as err:
            return f"{type(err).__name__}: {err}"
        finally:
            connection.close()

    def wait_tls(self, hostname: str, wanted, *, host: str = LOCAL,  # type: ignore
                 seconds: float = 10.0) -> bytes | str:
        """Wait until ``wanted(seen)`` holds for what ``hostname`` is served (reloads settle)."""
        deadline = time.monotonic() + seconds
        seen = self.tls(hostname, host)
        while not wanted(seen) and time.monotonic() < deadline:
            time.sleep(0.05)
            seen = self.tls(hostname, host)
        return seen

    def _tree_files(self) -> dict[str, bytes]:
        if self.kind == "caddy":
            return {"Caddyfile": self.tree.caddyfile.read_bytes()}
        files = self.tree.current_files()
        if self.kind == "apache":
            files.update({f"mods-enabled/{name}": data
                          for name, data in self.tree.listing("mods-enabled").items()})
        return files


class Origins:
    """Origins built one after the other; they share ports 80 and 443, so building one
    stops the one before. ``close`` stops (and cleans up) every one."""

    def __init__(self, tmp_path_factory, api_base: str, token: str, *,  # type: ignore
                 shared_state: bool = False) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.api_base = api_base
        self.token = token
        self.shared_state = shared_state  # one state folder (one account) for all
        self.built: list[Served] = []

    def build(self, kind: str, tree: str | None = None, *, start: bool = True) -> Served:
        for served in self.built:
            served.stop()
        home = self.tmp_path_factory.mktemp(f"{kind}-{tree or 'tree'}")
        if kind == "nginx":
            served = build_nginx(tree or "", home)
        elif kind == "apache":
            served = build_apache(home)
        else:
            served = build_caddy(home)
        if self.shared_state and self.built:
            served.state_dir = self.built[0].state
        else:
            served.connect(self.token, self.api_base)
        self.built.append(served)
        if start:
            served.start()
        return served

    def close(self) -> None:
        for served in self.built:
            served.stop()


def build_nginx(name: str, home: Path) -> Served:
    tree = NginxTree.build(name, home / "tree")
    served = Served("nginx", tree, home, [
        "--config-dir", str(tree.nginx.include_dir.parent), "--nginx-conf", str(tree.conf),
        "--nginx-prefix", str(tree.prefix), "--nginx-binary", nginx_tree.BINARY,
    ])
    _place_renewals(tree.prefix / "letsencrypt-renewal", served)
    served.server_args += ["--letsencrypt-dir", str(served.letsencrypt)]
    return served


def build_apache(home: Path) -> Served:
    from tests.servers.apache_tree import CTL, ApacheTree

    tree = ApacheTree.build()
    ensure_dir(home)
    served = Served("apache", tree, home, [
        "--config-dir", str(tree.apache.include_dir.parent),
        "--apache-conf-dir", str(tree.conf_dir), "--apache-ctl", CTL,
    ])
    served.server_args += ["--letsencrypt-dir", str(served.letsencrypt)]
    return served


def build_caddy(home: Path) -> Served:
    from tests.servers.caddy_tree import BINARY, CaddyTree

    tree = CaddyTree.build(home / "tree")
    served = Served("caddy", tree, home, [
        "--config-dir", str(tree.caddy.include_dir.parent), "--caddyfile", str(tree.caddyfile),
        "--caddy-binary", BINARY, "--caddy-admin", tree.admin,
    ], env=dict(tree.env))
    served.server_args += ["--letsencrypt-dir", str(served.letsencrypt)]
    return served


def _place_renewals(folder: Path, served: Served) -> None:
    """The tree's certbot renewal files where certbot keeps them: <root>/etc/letsencrypt."""
    for conf in sorted(folder.glob("*.conf")) if folder.is_dir() else []:
        shutil.copy(conf, ensure_dir(served.letsencrypt / "renewal") / conf.name)


def valid_for(seen: bytes | str, hostname: str, roots: list[x509.Certificate]) -> bool:
    """``seen`` is a certificate in its validity, covering ``hostname``, signed by a root."""
    if not isinstance(seen, bytes):
        return False
    leaf = x509.load_der_x509_certificate(seen)
    now = datetime.now(UTC)
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        return False
    sans = leaf.extensions.get_extension_for_oid(
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value.get_values_for_type(x509.DNSName)
    if not any(n == hostname or (n.startswith("*.") and hostname.split(".", 1)[-1] == n[2:])
               for n in sans):
        return False
    for root in roots:
        try:
            leaf.verify_directly_issued_by(root)
            return True
        except (InvalidSignature, ValueError, TypeError):
            continue
    return False


def sandbox_roots(sb) -> list[x509.Certificate]:  # type: ignore[no-untyped-def]
    return [x509.load_pem_x509_certificate(pem.encode()) for pem in sb.root_pems().values()]


def shown(seen: bytes | str) -> str:
    return describe(seen)
