"""The sandbox: a local twin of the Cloudflare v4 API for origincert and its tests.

It stands apart from the product and imports nothing of it: it is the other side of the
wire and reads the fact sheet for itself.

    from origincert.sandbox import Sandbox, SandboxSettings, load_world

    with Sandbox.start("agency.json", state_dir=tmp) as sb:
        client = Cloudflare(api_token=..., base_url=sb.base_url)

With `SandboxSettings(edge=True)` it also serves the sandbox edge (`edge/`), an HTTP and
an HTTPS front that proxy the world's proxied hostnames to their origins like Cloudflare's
edge: `sb.edge.http_url`, `sb.edge.https_url`, `sb.edge.ca_pem()`, `sb.edge.client()`.

With `SandboxSettings(dns=True)` it also serves the sandbox's authoritative DNS (`dns/`)
for the world's zones on a loopback port, UDP and TCP: `sb.dns.address` is (host, port).
"""

from .ca import SandboxCAError
from .data import SandboxDataError, World, load_world
from .server import Sandbox, SandboxSettings, parse_origin_map, parse_rate_limit

__all__ = [
    "Sandbox",
    "SandboxCAError",
    "SandboxDataError",
    "SandboxSettings",
    "World",
    "load_world",
    "parse_origin_map",
    "parse_rate_limit",
]
