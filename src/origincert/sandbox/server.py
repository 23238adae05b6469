"""Run the sandbox: in-process on a free loopback port for tests, or blocking for the CLI."""

from __future__ import annotations

import logging
import re
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

import uvicorn

from .app import API_PREFIX, Failure, RequestRecord, build_app
from .ca import SandboxCA
from .data import World, load_world, utc_now
from .dns import DnsServer
from .edge import Edge, EdgeCertificates
from .ratelimit import RateLimiter

log = logging.getLogger(__name__)

_START_TIMEOUT_S = 10.0


@dataclass
class SandboxSettings:
    """Knobs of a running sandbox; tests may change them while it runs."""

    latency_ms: int = 0
    rate_limit: tuple[int, float] = (1200, 300.0)  # requests per window (seconds)
    rate_limit_headers: str = "ratelimit"  # or "x-ratelimit", or "none" (fact sheet §4)
    clock: Callable[[], datetime] = field(default=utc_now)
    timeout_hold_s: float = 120.0  # how long an injected timeout holds the connection

    # The edge (edge/): started with the sandbox only when `edge` is true. Host and ports
    # are read at start (0 picks a free port); the rest at every visitor request.
    edge: bool = False
    edge_host: str = "127.0.0.1"
    edge_http_port: int = 0
    edge_https_port: int = 0
    # record content (an origin address, or a name a CNAME points at) -> address to use;
    # anything not listed is used as is
    origin_map: dict[str, str] = field(default_factory=dict)
    # origin port the edge would use -> port it uses
    origin_ports: dict[int, int] = field(default_factory=lambda: {80: 80, 443: 443})
    edge_connect_timeout_s: float = 3.0  # TCP connect (and TLS handshake) bound: 522, 525
    edge_response_timeout_s: float = 100.0  # whole origin response bound: 524

    # The authoritative DNS (dns/): started with the sandbox only when `dns` is true, on
    # UDP and TCP of one port (0 picks a free one). Proxied names answer with these edge
    # addresses (read at every query), never with their origin.
    dns: bool = False
    dns_host: str = "127.0.0.1"
    dns_port: int = 0
    dns_proxy_addresses: list[str] = field(
        default_factory=lambda: ["104.16.132.229", "2606:4700::6810:84e5"])


def parse_rate_limit(text: str) -> tuple[int, float]:
    """`1200/300` -> (1200, 300.0); the CLI's --rate-limit format."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*", text)
    if not match or int(match.group(1)) < 1 or float(match.group(2)) <= 0:
        raise ValueError(f"rate limit must look like 1200/300 (requests/seconds), got {text!r}")
    return int(match.group(1)), float(match.group(2))


def parse_origin_map(pairs: list[str]) -> dict[str, str]:
    """`["203.0.113.10=127.0.0.1"]` -> {"203.0.113.10": "127.0.0.1"}; the CLI's
    --origin-map format."""
    mapped: dict[str, str] = {}
    for pair in pairs:
        address, sep, local = pair.partition("=")
        if not sep or not address.strip() or not local.strip():
            raise ValueError(f"origin map entries must look like ADDRESS=LOCAL, got {pair!r}")
        mapped[address.strip()] = local.strip()
    return mapped


class _Context:
    """What the handlers share: the world, the CA, the knobs and the test hooks."""

    def __init__(self, world: World, ca: SandboxCA, settings: SandboxSettings) -> None:
        self.world = world
        self.ca = ca
        self.edge_certs = EdgeCertificates(ca.state_dir, list(ca.root_pems().values()))
        self.edge: Edge | None = None
        self.dns: DnsServer | None = None
        self.settings = settings
        self.limiter = RateLimiter(lambda: self.settings.rate_limit)
        self.failures: list[Failure] = []
        self.request_log: list[RequestRecord] = []
        self.stopping = threading.Event()


def _follow_settings_clock(context: _Context) -> None:
    # The world asks the current settings each time, so tests can move time while it runs.
    context.world.clock = lambda: context.settings.clock()


class Sandbox:
    """A running sandbox. Build it with `Sandbox.start(...)`; stop it with `stop()`."""

    def __init__(self, context: _Context, server: uvicorn.Server, sock: socket.socket,
                 data_path: Path, owned_state: Path | None) -> None:
        self._context = context
        self.data_path = data_path
        self._server = server
        self._sock = sock
        self._owned_state = owned_state
        self._thread: threading.Thread | None = None
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        self.host, self.port = host, port
        self.base_url = f"http://{shown}:{port}{API_PREFIX}"

    # --- building --------------------------------------------------------------------------

    @classmethod
    def prepare(cls, data_path: str | Path, state_dir: str | Path | None = None,
                host: str = "127.0.0.1", port: int = 0,
                settings: SandboxSettings | None = None) -> "Sandbox":
        """Load the data, the CA and bind the port, without serving yet."""
        settings = settings or SandboxSettings()
        world = load_world(data_path)

        owned = None
        if state_dir is None:
            owned = Path(tempfile.mkdtemp(prefix="origincert-sandbox-"))
            state_dir = owned
        ca = SandboxCA(Path(state_dir))

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(128)
        except OSError:
            sock.close()
            raise

        context = _Context(world, ca, settings)
        _follow_settings_clock(context)
        if settings.edge:
            try:
                context.edge = Edge.bind(context, context.edge_certs, settings.edge_host,
                                         settings.edge_http_port, settings.edge_https_port)
            except OSError:
                sock.close()
                raise
        if settings.dns:
            try:
                context.dns = DnsServer.bind(context, settings.dns_host, settings.dns_port)
            except OSError:
                if context.edge is not None:
                    context.edge.stop()
                sock.close()
                raise
        config = uvicorn.Config(build_app(context), log_level="warning", access_log=False,
                                lifespan="off", timeout_graceful_shutdown=1)
        return cls(context, uvicorn.Server(config), sock, Path(data_path), owned)

    @classmethod
    def start(cls, data_path: str | Path, state_dir: str | Path | None = None,
              host: str = "127.0.0.1", port: int = 0,
              settings: SandboxSettings | None = None) -> "Sandbox":
        """Serve in a background thread; returns once the port answers."""
        sandbox = cls.prepare(data_path, state_dir, host, port, settings)
        thread = threading.Thread(target=sandbox._serve, name="origincert-sandbox", daemon=True)
        sandbox._thread = thread
        thread.start()

        deadline = time.monotonic() + _START_TIMEOUT_S
        while thread.is_alive() and not sandbox._server.started and time.monotonic() < deadline:
            time.sleep(0.005)
        if not sandbox._server.started:
            sandbox.stop()
            raise RuntimeError("the sandbox server did not start")
        if sandbox.edge is not None:
            try:
                sandbox.edge.start()
            except RuntimeError:
                sandbox.stop()
                raise
        if sandbox.dns is not None:
            sandbox.dns.start()
        log.info("sandbox started base_url=%s state_dir=%s", sandbox.base_url, sandbox.state_dir)
        return sandbox

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (Ctrl-C or SIGTERM); the edge, if any,
        in a background thread."""
        try:
            if self.edge is not None:
                self.edge.start()
            if self.dns is not None:
                self.dns.start()
            self._serve()
        finally:
            self._cleanup()

    def _serve(self) -> None:
        self._server.run(sockets=[self._sock])

    # --- the public surface ----------------------------------------------------------------

    @property
    def world(self) -> World:
        return self._context.world

    @property
    def settings(self) -> SandboxSettings:
        return self._context.settings

    @property
    def edge(self) -> Edge | None:
        """The edge fronts (`http_url`, `https_url`, `ca_pem()`, `origin_pull_ca_pem()`,
        `client()`), or None when the sandbox was started without `edge=True`."""
        return self._context.edge

    @property
    def dns(self) -> DnsServer | None:
        """The authoritative DNS server (`address` is its (host, port), UDP and TCP), or
        None when the sandbox was started without `dns=True`."""
        return self._context.dns

    @property
    def request_log(self) -> list[RequestRecord]:
        return self._context.request_log

    @property
    def state_dir(self) -> Path:
        return self._context.ca.state_dir

    def root_pems(self) -> dict[str, str]:
        """The sandbox root certificates: {"rsa": PEM, "ecc": PEM}."""
        return self._context.ca.root_pems()

    def inject_failure(self, method: str, path_regex: str, status: int = 500, times: int = 1,
                       kind: str = "error") -> None:
        """Fail the next `times` calls whose method matches ("*" for any) and whose path
        after /client/v4 matches `path_regex` (re.search). `kind="timeout"` holds the
        connection instead of answering, until the client gives up or the sandbox stops."""
        if kind not in ("error", "timeout"):
            raise ValueError(f"kind must be 'error' or 'timeout', got {kind!r}")
        failure = Failure(method.upper(), re.compile(path_regex), status, times, kind)
        self._context.failures.append(failure)

    def reset(self, settings: SandboxSettings | None = None) -> None:
        """Back to the data file's state: reload the world and forget certificates,
        injected failures, the request log and rate-limit counters. Roots are kept."""
        context = self._context
        context.world = load_world(self.data_path)
        if settings is not None:
            context.settings = settings
        _follow_settings_clock(context)
        context.failures.clear()
        context.request_log.clear()
        context.limiter.reset()

    def clear_failures(self) -> None:
        self._context.failures.clear()

    def reset_rate_limit(self) -> None:
        self._context.limiter.reset()

    def stop(self) -> None:
        self._context.stopping.set()
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_START_TIMEOUT_S)
        self._cleanup()

    def _cleanup(self) -> None:
        if self.edge is not None:
            self.edge.stop()
        if self.dns is not None:
            self.dns.stop()
        try:
            self._sock.close()
        except OSError:
            pass
        if self._owned_state is not None:
            shutil.rmtree(self._owned_state, ignore_errors=True)
            self._owned_state = None

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
