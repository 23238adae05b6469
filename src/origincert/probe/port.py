"""What answers on an origin port before any TLS: open, refused, silent, or plain HTTP.

Cloudflare's edge tells these apart (fact sheet §11): a refused connection is a
521, no answer a 522, and a listener that speaks HTTP where TLS is expected
fails the handshake, a 525 (field case C23).
"""

from __future__ import annotations

import errno
import socket

OPEN = "open"
REFUSED = "refused"
TIMEOUT = "timeout"
UNREACHABLE = "unreachable"

_UNREACHABLE = (errno.ENETUNREACH, errno.EHOSTUNREACH)


def connect_outcome(host: str, port: int, *, timeout: float = 3.0) -> str:
    """OPEN, REFUSED, TIMEOUT or UNREACHABLE for a TCP connection to ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return OPEN
    except ConnectionRefusedError:
        return REFUSED
    except TimeoutError:
        return TIMEOUT
    except OSError as err:
        return UNREACHABLE if err.errno in _UNREACHABLE else REFUSED


def plain_http_answer(host: str, port: int, hostname: str, *,
                      timeout: float = 3.0) -> str | None:
    """The status line when ``host:port`` answers a plain HTTP request, else None."""
    request = f"HEAD / HTTP/1.0\r\nHost: {hostname}\r\n\r\n".encode()
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            raw.sendall(request)
            first = raw.recv(256)
    except OSError:
        return None
    if not first.startswith(b"HTTP/"):
        return None
    return first.split(b"\r\n", 1)[0].decode("latin-1")
