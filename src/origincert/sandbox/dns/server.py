"""The sandbox's nameserver: UDP and TCP on one loopback port, each in its own thread."""

from __future__ import annotations

import errno
import logging
import socket
import socketserver
import struct
import threading
from typing import Any

import dns.exception
import dns.message

from .answers import answer, to_wire, udp_limit

log = logging.getLogger(__name__)

_BIND_TRIES = 20
_TCP_LIMIT = 65535


class DnsServer:
    """A bound (and, once `start()`ed, serving) authoritative nameserver for the world.

    It reads ``context.world`` at every query, so records created or deleted through the
    API (and a `reset()` of the sandbox) show at once.
    """

    def __init__(self, context: Any, udp: socketserver.UDPServer,
                 tcp: socketserver.TCPServer) -> None:
        self._context = context
        self._servers = (udp, tcp)
        self._threads: list[threading.Thread] = []
        udp.dns = self  # type: ignore[attr-defined]
        tcp.dns = self  # type: ignore[attr-defined]

    @classmethod
    def bind(cls, context: Any, host: str = "127.0.0.1", port: int = 0) -> "DnsServer":
        """Bind UDP and TCP on the same port (0 picks a free one) without serving yet."""
        udp_class, tcp_class = (_Udp6, _Tcp6) if ":" in host else (_Udp, _Tcp)
        for _ in range(_BIND_TRIES):
            udp = udp_class((host, port), _UdpHandler, bind_and_activate=True)
            chosen = udp.server_address[1]
            try:
                tcp = tcp_class((host, chosen), _TcpHandler, bind_and_activate=True)
            except OSError as err:
                udp.server_close()
                if port == 0 and err.errno == errno.EADDRINUSE:
                    continue  # the free UDP port is taken for TCP: try another
                raise
            return cls(context, udp, tcp)
        raise OSError(errno.EADDRINUSE, "no free port for the sandbox DNS server")

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) where the nameserver answers, over UDP and TCP."""
        host, port = self._servers[0].server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                      name=f"origincert-sandbox-dns-{server.socket_type}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("sandbox dns started address=%s:%s", *self.address)

    def stop(self) -> None:
        for server in self._servers:
            if self._threads:
                server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def respond(self, wire: bytes, limit: int | None) -> bytes | None:
        """The wire answer to a wire query; None for something that is not a query."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        settings = self._context.settings
        response = answer(query, self._context.world, settings.dns_proxy_addresses)
        return to_wire(response, query, limit if limit is not None else udp_limit(query))


class _Udp(socketserver.ThreadingUDPServer):
    daemon_threads = True
    allow_reuse_address = False


class _Tcp(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Udp6(_Udp):
    address_family = socket.AF_INET6


class _Tcp6(_Tcp):
    address_family = socket.AF_INET6


class _UdpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        reply = self.server.dns.respond(data, None)  # type: ignore[attr-defined]
        if reply is not None:
            sock.sendto(reply, self.client_address)


class _TcpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        conn: socket.socket = self.request
        conn.settimeout(10)
        try:
            while True:
                header = _read_exactly(conn, 2)
                if header is None:
                    return
                wire = _read_exactly(conn, struct.unpack("!H", header)[0])
                if wire is None:
                    return
                reply = self.server.dns.respond(wire, _TCP_LIMIT)  # type: ignore[attr-defined]
                if reply is None:
                    return
                conn.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            return


def _read_exactly(conn: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data
