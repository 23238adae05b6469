"""An origin under test: a fixture tree run by a real nginx, a state folder, the real CLI.

``Origin`` runs ``python -m origincert`` as a subprocess against the copy of a
fixture tree, with its own state folder and a clean environment (no
``CLOUDFLARE_*``), and offers the views a test needs: the bytes of every
config file, the certificate served for a name, the rows of ``certs --json``.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from origincert.files import write_atomic
from tests.servers.nginx_tree import BINARY, FIXTURES, NginxTree

AGENCY = FIXTURES / "zones" / "agency.json"
ANY_V4 = "127.0.0.1"


def agency_token(name: str) -> str:
    """The value of a token of agency.json, by the start of its name."""
    tokens = json.loads(AGENCY.read_text())["tokens"]
    return next(t["value"] for t in tokens if t["name"].startswith(name))


@dataclass
class Run:
    """One CLI run: its argv, exit status and both output streams."""

    argv: list[str]
    code: int
    stdout: str
    stderr: str

    def json(self):  # type: ignore[no-untyped-def]
        return json.loads(self.stdout)

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def __str__(self) -> str:
        return (f"$ {' '.join(self.argv[3:])}\nexit {self.code}\n"
                f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}")


@dataclass
class Origin:
    """A running fixture tree, a state folder, and every CLI run made against them."""

    tree: NginxTree
    home: Path
    runs: list[Run] = field(default_factory=list)

    @property
    def state(self) -> Path:
        return self.home / "state"

    @property
    def config(self) -> Path:
        # where the tree's nginx adapter expects origincert's include files
        return self.tree.nginx.include_dir.parent

    def cli(self, *args: str, binary: str | None = None, reload_command: str | None = None,
            env: dict[str, str] | None = None, state: Path | None = None) -> Run:
        argv = [sys.executable, "-m", "origincert", "--state-dir", str(state or self.state),
                "--config-dir", str(self.config), "--nginx-conf", str(self.tree.conf),
                "--nginx-prefix", str(self.tree.prefix), "--nginx-binary", binary or BINARY]
        if reload_command:
            argv += ["--reload-command", reload_command]
        argv += list(args)
        done = subprocess.run(argv, env={**clean_env(), **(env or {})}, capture_output=True,
                              text=True, timeout=120, check=False)
        run = Run(argv, done.returncode, done.stdout, done.stderr)
        self.runs.append(run)
        return run

    def connect(self, name: str, token: str, api_base: str, *,
                state: Path | None = None) -> Run:
        token_file = self.home / f"token-{name}"
        write_atomic(token_file, token + "\n", mode=0o600)
        run = self.cli("account", "add", name, "--token-file", str(token_file),
                       "--api-base", api_base, state=state)
        assert run.code == 0, run
        return run

    def certs(self, *, all_: bool = False) -> list[dict]:
        """origincert's own rows of `certs --json`: the installed ones, or all with ``all_``.

        (`certs` also lists what only Cloudflare or only the web server knows, issue #8.)
        """
        run = self.cli("certs", "--json", "--no-cloudflare", *(["--all"] if all_ else []))
        assert run.code == 0, run
        rows = [row for row in run.json() if row["id"] is not None]
        return rows if all_ else [row for row in rows if row["status"] == "installed"]

    def issuer(self, progress=lambda line: None):  # type: ignore[no-untyped-def]
        """The operation the CLI runs, in-process, with the same settings and state."""
        from origincert import settings
        from origincert.provision.issue import Issuer
        from origincert.state.db import Store
        from origincert.webserver.factory import open_webserver

        loaded = settings.load(self.state, self.config, nginx_conf=self.tree.conf,
                               nginx_prefix=self.tree.prefix, nginx_binary=BINARY)
        return Issuer(Store(loaded.paths), open_webserver(loaded), progress=progress)

    def snapshot(self) -> dict[str, bytes]:
        """Every config file of the tree and every include file origincert owns."""
        found = {rel: data for rel, data in self.tree.current_files().items()}
        include_dir = self.tree.nginx.include_dir
        for path in sorted(include_dir.rglob("*")) if include_dir.exists() else []:
            found[str(path)] = path.read_bytes()
        return found

    def script(self, name: str, text: str) -> str:
        """An executable script written by the test, for --nginx-binary or --reload-command."""
        path = self.home / name
        write_atomic(path, "#!/bin/sh\n" + text, mode=0o755)
        return str(path)


def clean_env() -> dict[str, str]:
    dropped = ("CLOUDFLARE_", "ORIGINCERT_HOME", "ORIGINCERT_CONFIG", "ORIGINCERT_TEST_FAULT",
               "ORIGINCERT_SECRET_KEY")
    return {k: v for k, v in os.environ.items() if not k.startswith(dropped)}


def sample(hostname: str) -> str:
    """A concrete name for a hostname (a wildcard gets a sample label)."""
    return "e2e-sample" + hostname[1:] if hostname.startswith("*.") else hostname


def observe(host: str, port: int, sni: str, *, timeout: float = 3.0) -> bytes | str:
    """The leaf served for ``sni`` (DER), or what happened instead ("refused", "tls-error")."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=sni) as tls:
                return tls.getpeercert(binary_form=True) or "no-certificate"
    except ssl.SSLError:
        return "tls-error"
    except ConnectionRefusedError:
        return "refused"


def wait_served(host: str, port: int, sni: str, expected: bytes | str, *,
                seconds: float = 10.0) -> None:
    """Wait until the origin answers ``expected`` for ``sni`` (a reload is asynchronous)."""
    deadline = time.monotonic() + seconds
    seen = observe(host, port, sni)
    while seen != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        seen = observe(host, port, sni)
    shown = describe(seen)
    assert seen == expected, f"{host}:{port} for {sni}: {shown}, wanted {describe(expected)}"


def describe(seen: bytes | str) -> str:
    if isinstance(seen, str):
        return seen
    cert = x509.load_der_x509_certificate(seen)
    return f"certificate {cert.serial_number:x} ({cert.issuer.rfc4514_string()})"


def leaf_der(cert_file: str | Path) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_certificates(Path(cert_file).read_bytes())[0].public_bytes(
        Encoding.DER)
