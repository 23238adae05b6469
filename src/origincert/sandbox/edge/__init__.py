"""The sandbox edge: an HTTP and an HTTPS front that behave like Cloudflare's edge for the
sandbox zones (fact sheet §6, §8, §11; field cases C01, C07, C08, C21, C23, C31).

Started with the sandbox when `SandboxSettings(edge=True)`:

    with Sandbox.start("agency.json", settings=SandboxSettings(edge=True)) as sb:
        with sb.edge.client() as visitor:
            visitor.get("https://example.com/")   # through the edge to the origin

Module map: `server` (fronts, SNI), `proxy` (one visitor request), `routing` (hostname
to origin), `origin` (edge to origin by SSL mode, 52x), `certs` (edge CA, origin pull
CA), `pages` (error pages), `rewrite` (Automatic HTTPS Rewrites), `visitor` (a client).
"""

from .certs import EdgeCertificates
from .pages import EdgeError
from .proxy import EdgeRecord
from .routing import NotServedError, edge_certificate_covers
from .server import Edge
from .visitor import EdgeTransport

__all__ = [
    "Edge",
    "EdgeCertificates",
    "EdgeError",
    "EdgeRecord",
    "EdgeTransport",
    "NotServedError",
    "edge_certificate_covers",
]
