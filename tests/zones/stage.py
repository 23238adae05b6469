"""The stage of the zone tests: the sandbox edge in front of real origins.

The sandbox is started with its edge BEFORE any account is added, so that
``account add`` pins the edge and ``issue`` verifies through it. The
origins are fixture trees run by their real server; what the fixtures leave
to a real machine (the site backends on local ports, PHP-FPM, the document
roots' pages) is made here, so that every name can answer 200:

- ``Backends``: one tiny HTTP server per ``proxy_pass`` port of the fixtures;
- ``FastCgi``: a FastCGI responder on the PHP-FPM socket the WordPress sites name,
  answering every script with 200 (no PHP runs; the point is the path through
  nginx, not WordPress);
- ``pages``: an ``index.html`` in every document root a tree names.
"""

from __future__ import annotations

import os
import re
import socket
import socketserver
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from origincert.files import ensure_dir, write_atomic
from origincert.sandbox import Sandbox, SandboxSettings
from origincert.sandbox.edge.visitor import EdgeTransport
from tests.e2e.origin import AGENCY
from tests.servers.nginx_tree import NGINX_FIXTURES

# the fixtures' proxy_pass ports (reverse-proxy tree)
BACKEND_PORTS = (8101, 8102, 8103)


def start_edge_sandbox(state_dir: Path) -> Sandbox:
    settings = SandboxSettings(edge=True, edge_connect_timeout_s=1.0,
                               edge_response_timeout_s=10.0)
    return Sandbox.start(AGENCY, state_dir=state_dir, settings=settings)


def visitor(sb: Sandbox, *, source: str | None = None) -> httpx.Client:
    """A visitor of the edge, optionally connecting from ``source`` (an address on lo)."""
    extra = {"local_address": source} if source else {}
    transport = EdgeTransport(sb.edge.http_url, sb.edge.https_url, sb.edge.ca_pem(), **extra)
    return httpx.Client(transport=transport, timeout=15.0)


class _Backend(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = (f"backend {self.server.server_address[1]} for "
                f"{self.headers.get('Host')}\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        pass


class Backends:
    """The site backends of the reverse-proxy tree, on 127.0.0.1."""

    def __init__(self, ports: tuple[int, ...] = BACKEND_PORTS) -> None:
        self.servers = [ThreadingHTTPServer(("127.0.0.1", port), _Backend) for port in ports]
        for server in self.servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


class _FastCgiHandler(socketserver.BaseRequestHandler):
    """Reads one FastCGI request and answers it with a 200 page."""

    def handle(self) -> None:
        request_id = 1
        while True:
            header = _read(self.request, 8)
            if len(header) < 8:
                return
            _, kind, request_id, length, padding, _ = struct.unpack("!BBHHBB", header)
            _read(self.request, length + padding)
            if kind == 5 and length == 0:  # the empty FCGI_STDIN record ends the request
                break
        body = b"Status: 200 OK\r\nContent-Type: text/html\r\n\r\n<p>php says hello</p>\n"
        self.request.sendall(_record(6, request_id, body) + _record(6, request_id, b"")
                             + _record(3, request_id, b"\0" * 8))


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class FastCgi:
    """A FastCGI responder on a unix socket (PHP-FPM's place)."""

    def __init__(self, path: Path, root: Path) -> None:
        ensure_dir(path.parent)
        _open_up(path.parent, root)
        if path.exists():
            path.unlink()
        self.path = path
        self.server = _UnixServer(str(path), _FastCgiHandler)
        os.chmod(path, 0o666)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.path.unlink(missing_ok=True)


def php_socket(root: Path) -> Path:
    """Point the copy's ``unix:/run/php/...`` sockets into its root, and return that path.

    The harness rewrites absolute paths after whitespace or quotes only, so a
    ``fastcgi_pass unix:/run/...`` would still name the machine's own PHP-FPM.
    """
    for conf in (root / "etc" / "nginx").rglob("*"):
        if conf.is_file() and not conf.is_symlink():
            data = conf.read_bytes()
            if b"unix:/run/php/" in data:
                conf.write_bytes(data.replace(b"unix:/run/php/", f"unix:{root}/run/php/".encode()))
    return root / "run" / "php" / "php8.2-fpm.sock"


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _record(kind: int, request_id: int, content: bytes) -> bytes:
    return struct.pack("!BBHHBB", 1, kind, request_id, len(content), 0, 0) + content


def pages(root: Path, text: bytes) -> None:
    """An index.html in every document root the tree's files name (nginx and Apache)."""
    for conf in root.rglob("*"):
        skipped = conf.suffix in (".pem", ".key", ".html")
        if not conf.is_file() or skipped or conf.stat().st_size > 200_000:
            continue
        data = conf.read_bytes()
        for match in re.finditer(rb"^\s*(?:root|DocumentRoot)\s+\"?([^;\s\"]+)", data,
                                 re.MULTILINE | re.IGNORECASE):
            folder = Path(match.group(1).decode())
            if folder.is_absolute() and str(folder).startswith(str(root)):
                ensure_dir(folder, 0o755)
                write_atomic(folder / "index.html", text, mode=0o644)
                # WordPress sites index index.php only; FastCgi answers for it
                write_atomic(folder / "index.php", b"<?php // answered by FastCgi\n", mode=0o644)
                _open_up(folder, root)


def _open_up(folder: Path, root: Path) -> None:
    """Let the server's workers (www-data) walk down to ``folder``."""
    for parent in [folder, *folder.parents]:
        if parent == root.parent:
            break
        parent.chmod(parent.stat().st_mode | 0o755)


def fixture_text(rel: str) -> str:
    return (NGINX_FIXTURES / rel).read_text()
