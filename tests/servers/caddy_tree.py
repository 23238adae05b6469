"""The fixture Caddyfile, copied into a temporary root and run by a real Caddy.

``CaddyTree.build`` copies ``../shared/fixtures/caddy/Caddyfile`` into
``<tmp>/root/etc/caddy``, rewrites the absolute paths of a real server
(``/srv/status``) to the copy, and adds to the copy's global options what a
private instance needs:

- ``admin unix//<short tmp>/admin.sock``: its own admin endpoint, so that
  ``caddy reload`` reaches this instance and no other (a socket in a short
  folder of its own, since socket paths are limited to 107 bytes);
- ``storage file_system <root>/var/lib/caddy``: its data in the copy;
- ``skip_install_trust``: never touch the machine's trust store.

Caddy's automatic HTTPS is left on, as the product must cope with it: without
internet in the test's network namespace its ACME attempts for names that
have no certificate yet fail at once and are retried a minute later, in the
background, which delays nothing. The copy with those lines is the baseline
that uninstall must give back byte for byte.

A tiny HTTP backend on 127.0.0.1:3000 answers for the ``reverse_proxy`` site.
Ports stay as they are (80, 443, 3000): run the tests in the private network
namespace of ``scripts/test-netns``.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from origincert.files import ensure_dir, write_atomic
from origincert.webserver.caddy import Caddy

from tests.servers.nginx_tree import apply_plan

__all__ = ["BACKEND_BODY", "STATUS_BODY", "CaddyTree", "apply_plan"]

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("ORIGINCERT_FIXTURES", REPO.parent / "shared" / "fixtures"))
CADDYFILE = FIXTURES / "caddy" / "Caddyfile"
BINARY = os.environ.get("ORIGINCERT_CADDY", "/usr/bin/caddy")

BACKEND_PORT = 3000
BACKEND_BODY = b"app backend says hello\n"
STATUS_BODY = b"status page: all systems normal\n"

# An absolute path of a real server, where the Caddyfile names one.
_ABSOLUTE = re.compile(rb"(?<=[\s\"'])/(?:etc|var|run|srv)(?=[/\s\"'])")
_GLOBAL_OPEN = re.compile(rb"\A(?:[ \t]*(?:#[^\n]*)?\n)*[ \t]*\{[ \t]*\n")


@dataclass
class CaddyTree:
    """One Caddyfile in a temporary root, and the Caddy that runs it."""

    root: Path
    caddyfile: Path
    admin: str
    env: dict[str, str]
    caddy: Caddy
    baseline: bytes = b""
    _socket_dir: Path | None = None
    _process: subprocess.Popen | None = None
    _backend: ThreadingHTTPServer | None = None
    _log: Path | None = None
    _extra: list[Path] = field(default_factory=list)

    @classmethod
    def build(cls, tmp: Path, source: bytes | None = None) -> CaddyTree:
        """Lay out the fixture Caddyfile (or ``source``) under ``tmp``, not started."""
        root = Path(tmp) / "root"
        caddyfile = ensure_dir(root / "etc" / "caddy") / "Caddyfile"
        text = source if source is not None else CADDYFILE.read_bytes()
        text = _ABSOLUTE.sub(str(root).encode() + rb"\g<0>", text)

        socket_dir = Path(tempfile.mkdtemp(prefix="oc-caddy-"))
        admin = f"unix/{socket_dir}/admin.sock"
        text = _private_options(text, admin, root / "var" / "lib" / "caddy")
        write_atomic(caddyfile, text)

        home = ensure_dir(root / "home")
        env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
               "XDG_CONFIG_HOME": str(home / "config")}
        caddy = Caddy(binary=BINARY, caddyfile=caddyfile, admin_address=admin,
                      include_dir=root / "etc" / "origincert" / "caddy", env=env)
        tree = cls(root, caddyfile, admin, env, caddy, baseline=caddyfile.read_bytes(),
                   _socket_dir=socket_dir, _log=root / "caddy.log")
        tree._make_content()
        return tree

    # the server

    def start(self) -> None:
        self._start_backend()
        env = {**os.environ, **self.env}
        with open(self._log, "ab") as log:
            self._process = subprocess.Popen(
                [BINARY, "run", "--config", str(self.caddyfile), "--adapter", "caddyfile"],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.root,
            )
        _wait(self._ready, 15, lambda: f"caddy did not come up:\n{self.log()}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        self._process = None
        if self._backend is not None:
            self._backend.shutdown()
            self._backend.server_close()
            self._backend = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    def reload(self) -> None:
        self.caddy.config_test()
        self.caddy.reload()

    def log(self) -> str:
        return self._log.read_text(errors="replace") if self._log and self._log.exists() else ""

    def events_since_last_load(self) -> list[dict]:
        """Caddy's JSON log entries since the last config it was sent (or since start)."""
        entries = []
        for line in self.log().splitlines():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        loads = [i for i, entry in enumerate(entries) if entry.get("uri") == "/load"]
        return entries[loads[-1]:] if loads else entries

    # requests, as a client on this machine makes them

    def https_get(self, hostname: str, path: str = "/", port: int = 443) -> tuple[int, bytes]:
        """Status and body of GET https://hostname/path, sent to 127.0.0.1 with SNI."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname=hostname) as tls:
                return _exchange(tls, hostname, path)

    def http_get(self, hostname: str, path: str = "/", port: int = 80) -> tuple[int, str, bytes]:
        """Status, Location and body of GET http://hostname/path on 127.0.0.1."""
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", path, headers={"Host": hostname})
            response = connection.getresponse()
            return response.status, response.getheader("Location", ""), response.read()
        finally:
            connection.close()

    # helpers

    def _ready(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"caddy exited with {self._process.returncode}:\n{self.log()}")
        return self._socket_dir is not None and (self._socket_dir / "admin.sock").exists() \
            and _listening(443) and _listening(80)

    def _make_content(self) -> None:
        status = ensure_dir(self.root / "srv" / "status")
        write_atomic(status / "index.html", STATUS_BODY)
        ensure_dir(self.caddy.include_dir)

    def _start_backend(self) -> None:
        if self._backend is not None:
            return
        self._backend = ThreadingHTTPServer(("127.0.0.1", BACKEND_PORT), _Backend)
        self._backend.daemon_threads = True
        threading.Thread(target=self._backend.serve_forever, daemon=True).start()


class _Backend(BaseHTTPRequestHandler):
    """What stands behind ``reverse_proxy 127.0.0.1:3000``."""

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(BACKEND_BODY)))
        self.end_headers()
        self.wfile.write(BACKEND_BODY)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        return


def _private_options(text: bytes, admin: str, storage: Path) -> bytes:
    """The Caddyfile with the lines of a private instance in its global options."""
    lines = (
        f"\tadmin {admin}  # added by the test harness\n"
        f"\tstorage file_system {storage}  # added by the test harness\n"
        "\tskip_install_trust  # added by the test harness\n"
    ).encode()
    found = _GLOBAL_OPEN.match(text)
    if found is None:
        return b"{\n" + lines + b"}\n\n" + text
    return text[:found.end()] + lines + text[found.end():]


def _exchange(tls: ssl.SSLSocket, hostname: str, path: str) -> tuple[int, bytes]:
    request = f"GET {path} HTTP/1.1\r\nHost: {hostname}\r\nConnection: close\r\n\r\n"
    tls.sendall(request.encode())
    response = http.client.HTTPResponse(tls)
    response.begin()
    try:
        return response.status, response.read()
    finally:
        response.close()


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait(ready, seconds: float, message) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(message())
        time.sleep(0.05)
