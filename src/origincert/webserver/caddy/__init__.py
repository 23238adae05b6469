"""Caddy: read the Caddyfile through Caddy itself, plan the edits, validate and reload."""

from origincert.webserver.caddy.edit import CertificateInUseError
from origincert.webserver.caddy.server import Caddy, address_host, render_include

__all__ = [
    "Caddy",
    "CertificateInUseError",
    "address_host",
    "render_include",
]
