"""The sandbox's own endpoints under /origincert-sandbox/ (not Cloudflare's; the path
says so), unauthenticated and unmetered.

- `GET /origincert-sandbox/roots`: the sandbox's Origin CA roots. A client that chose to
  talk to the sandbox fetches them once, so that it can verify what the sandbox signs
  without ever trusting them for the real API.
- `GET /origincert-sandbox/edge`: where the sandbox edge listens and what to trust:
  `{"http": url|null, "https": url|null, "edge_ca": PEM, "origin_pull_ca": PEM}`. The
  URLs are null when the sandbox runs without its edge; the CAs are always given.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import envelope as ev
from . import context, endpoint


@endpoint
async def roots(request: Request) -> Response:
    return ev.success(context(request).ca.root_pems())


@endpoint
async def edge(request: Request) -> Response:
    shared = context(request)
    running = shared.edge
    return ev.success({
        "http": running.http_url if running is not None else None,
        "https": running.https_url if running is not None else None,
        "edge_ca": shared.edge_certs.edge_ca_pem(),
        "origin_pull_ca": shared.edge_certs.origin_pull_ca_pem(),
    })
