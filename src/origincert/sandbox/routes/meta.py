"""GET /origincert-sandbox/roots: the sandbox's own Origin CA roots.

Not a Cloudflare endpoint (the path says so). A client that chose to talk to
the sandbox fetches the roots once, so that it can verify what the sandbox
signs without ever trusting them for the real API.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import envelope as ev
from . import context, endpoint


@endpoint
async def roots(request: Request) -> Response:
    return ev.success(context(request).ca.root_pems())
