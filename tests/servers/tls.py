"""What a server presents in a TLS handshake, seen from the test's side."""

from __future__ import annotations

import socket
import ssl
import time

from origincert.webserver.base import Endpoint


def served_certificate(host: str, port: int, sni: str, *, timeout: float = 3.0) -> bytes:
    """The DER of the leaf the server at (host, port) sends for ``sni``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname=sni) as tls:
            return tls.getpeercert(binary_form=True)


def wait_for_certificate(
    endpoint: Endpoint, sni: str, expected: bytes, *, seconds: float = 10.0
) -> None:
    """Wait until ``endpoint`` serves ``expected`` for ``sni`` (a reload is asynchronous)."""
    deadline = time.monotonic() + seconds
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = served_certificate(endpoint.host, endpoint.port, sni)
        except (OSError, ssl.SSLError) as err:
            last = err
        if last == expected:
            return
        time.sleep(0.05)
    shown = f"a different certificate ({len(last)} bytes)" if isinstance(last, bytes) else last
    raise AssertionError(f"{endpoint.host}:{endpoint.port} for {sni} served {shown}")
