"""The edge's two fronts, HTTP and HTTPS, on their own loopback ports and event loop.

The HTTPS front picks the zone's edge certificate in an SNI callback. A name no zone
certificate covers (no SNI, an unknown zone, or two levels below the apex such as
`www.shop.example.com`) gets a handshake_failure alert, as visitors of the free Universal
SSL certificate see (`ERR_SSL_VERSION_OR_CIPHER_MISMATCH`, field cases C07, C08).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
from typing import Any

import httpx

from .certs import EdgeCertificates
from .proxy import EdgeProxy, EdgeRecord
from .routing import edge_certificate_covers, normalize, serving_zone
from .tls import TlsStream
from .visitor import EdgeTransport

log = logging.getLogger(__name__)

_START_TIMEOUT_S = 10.0
_HANDSHAKE_TIMEOUT_S = 10.0


class Edge:
    """A bound (and, once `start()`ed, serving) sandbox edge. Built by the Sandbox."""

    def __init__(self, context: Any, certs: EdgeCertificates, http_sock: socket.socket,
                 https_sock: socket.socket) -> None:
        self._context = context
        self._certs = certs
        self._socks = {"http": http_sock, "https": https_sock}
        self.request_log: list[EdgeRecord] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self.http_url = _url("http", http_sock)
        self.https_url = _url("https", https_sock)

    @classmethod
    def bind(cls, context: Any, certs: EdgeCertificates, host: str, http_port: int,
             https_port: int) -> "Edge":
        """Bind both ports (0 picks a free one) without serving yet."""
        http_sock = _listen(host, http_port)
        try:
            https_sock = _listen(host, https_port)
        except OSError:
            http_sock.close()
            raise
        return cls(context, certs, http_sock, https_sock)

    # --- the public surface ----------------------------------------------------------------

    @property
    def http_port(self) -> int:
        return self._socks["http"].getsockname()[1]

    @property
    def https_port(self) -> int:
        return self._socks["https"].getsockname()[1]

    def ca_pem(self) -> str:
        """The sandbox edge CA: what visitors trust to reach the edge over HTTPS."""
        return self._certs.edge_ca_pem()

    def origin_pull_ca_pem(self) -> str:
        """The CA of the client certificate the edge shows origins under Authenticated
        Origin Pulls (`ssl_client_certificate` of an origin that requires it)."""
        return self._certs.origin_pull_ca_pem()

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client whose every request goes to this edge, with the URL's hostname
        as Host and SNI, trusting the edge CA (see visitor.py)."""
        transport = EdgeTransport(self.http_url, self.https_url, self.ca_pem())
        return httpx.Client(transport=transport, **kwargs)

    # --- running ---------------------------------------------------------------------------

    def start(self) -> None:
        """Serve in a background thread; returns once both fronts accept connections."""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,),
                                        name="origincert-sandbox-edge", daemon=True)
        self._thread.start()
        if not ready.wait(_START_TIMEOUT_S):
            self.stop()
            raise RuntimeError("the sandbox edge did not start")
        log.info("sandbox edge started http_url=%s https_url=%s", self.http_url, self.https_url)

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:
                pass  # the loop has just finished on its own
        if self._thread is not None:
            self._thread.join(timeout=_START_TIMEOUT_S)
        for sock in self._socks.values():
            sock.close()

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(ready))
        finally:
            loop.close()

    async def _serve(self, ready: threading.Event) -> None:
        self._stop = asyncio.Event()
        http = EdgeProxy(self._context, self._certs, "http", self.request_log)
        https = EdgeProxy(self._context, self._certs, "https", self.request_log)
        visitor_context = self._visitor_context()

        async def https_connection(reader: asyncio.StreamReader,
                                   writer: asyncio.StreamWriter) -> None:
            stream = TlsStream(reader, writer, visitor_context)
            try:
                await asyncio.wait_for(stream.handshake(), _HANDSHAKE_TIMEOUT_S)
            except (ssl.SSLError, OSError, TimeoutError) as err:
                log.debug("edge handshake failed error=%s", err)
                writer.close()
                return
            await https.handle(stream, stream)

        servers = [
            await asyncio.start_server(http.handle, sock=self._socks["http"]),
            await asyncio.start_server(https_connection, sock=self._socks["https"]),
        ]
        ready.set()
        await self._stop.wait()

        # stop accepting, then end the requests in flight
        for server in servers:
            server.close()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def _visitor_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.sni_callback = self._choose_certificate
        return context

    def _choose_certificate(self, ssl_object: ssl.SSLObject, server_name: str | None,
                            _context: ssl.SSLContext) -> int | None:
        if server_name is None:
            return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE  # no SNI: no certificate
        hostname = normalize(server_name)
        zone = serving_zone(self._context.world, hostname)
        if zone is None or not edge_certificate_covers(zone.name, hostname):
            log.debug("edge handshake refused hostname=%s", hostname)
            return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
        ssl_object.context = self._certs.zone_context(zone.name)
        ssl_object.sandbox_sni = hostname  # read by the proxy for the Host check
        return None


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _url(scheme: str, sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"
