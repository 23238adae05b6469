"""A TLS handshake with the origin, by name, to see which certificate it serves.

Verification is deliberately off in the handshake itself: the point is to
fetch what the server presents, including certificates no public trust store
accepts (Origin CA ones), and judge it afterwards against the right roots.
"""

from __future__ import annotations

import functools
import socket
import ssl
from dataclasses import dataclass


@dataclass(frozen=True)
class Handshake:
    """The outcome of one handshake: the leaf served, or why there was none."""

    host: str
    port: int
    sni: str | None
    certificate_der: bytes | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.certificate_der is not None


def handshake(host: str, port: int, sni: str | None, *, timeout: float = 5.0) -> Handshake:
    """Connect to ``host:port`` with ``sni`` as the server name and take the leaf."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with _taking_context().wrap_socket(raw, server_hostname=sni) as tls:
                der = tls.getpeercert(binary_form=True)
    except ssl.SSLError as err:
        return Handshake(host, port, sni, None, f"TLS handshake failed: {err.reason or err}")
    except OSError as err:
        return Handshake(host, port, sni, None, f"cannot connect: {err.strerror or err}")
    return Handshake(host, port, sni, der)


@functools.lru_cache(maxsize=1)
def _taking_context() -> ssl.SSLContext:
    """One context for every handshake: making one costs more than a local handshake,
    and a batch verifies thousands. It holds no state between connections."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def sni_for(hostname: str) -> str:
    """A concrete name to send for ``hostname`` (a wildcard gets a sample label)."""
    if hostname.startswith("*."):
        return "origincert-check" + hostname[1:]
    return hostname


def verify_error(host: str, port: int, sni: str, trusted_pem: str, *,
                 timeout: float = 5.0) -> str | None:
    """Why a validating client (Cloudflare in Full (strict)) would refuse the origin.

    The handshake validates the chain the server sends (intermediates
    included), the name and the dates against ``trusted_pem`` plus the
    system's public roots. None means it would be accepted.
    """
    context = ssl.create_default_context()
    if trusted_pem:
        context.load_verify_locations(cadata=trusted_pem)
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=sni):
                return None
    except ssl.SSLCertVerificationError as err:
        return str(err.verify_message or err.reason or err)
    except ssl.SSLError as err:
        return f"TLS handshake failed: {err.reason or err}"
    except OSError as err:
        return f"cannot connect: {err.strerror or err}"
