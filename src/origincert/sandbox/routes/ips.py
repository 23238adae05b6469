"""GET /ips: Cloudflare's published address ranges, without authentication (§9)."""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response

from .. import envelope as ev
from . import endpoint

IPV4_CIDRS = [
    "173.245.48.0/20", "103.21.244.0/22", "103.22.200.0/22", "103.31.4.0/22",
    "141.101.64.0/18", "108.162.192.0/18", "190.93.240.0/20", "188.114.96.0/20",
    "197.234.240.0/22", "198.41.128.0/17", "162.158.0.0/15", "104.16.0.0/13",
    "104.24.0.0/14", "172.64.0.0/13", "131.0.72.0/22",
]
IPV6_CIDRS = [
    "2400:cb00::/32", "2606:4700::/32", "2803:f800::/32", "2405:b500::/32",
    "2405:8100::/32", "2a06:98c0::/29", "2c0f:f248::/32",
]
# The real etag is an opaque hex digest; the sandbox's is a digest of its lists.
ETAG = hashlib.md5("\n".join(IPV4_CIDRS + IPV6_CIDRS).encode(), usedforsecurity=False).hexdigest()


@endpoint
async def list_ips(request: Request) -> Response:
    result = {"ipv4_cidrs": list(IPV4_CIDRS), "ipv6_cidrs": list(IPV6_CIDRS), "etag": ETAG}
    return ev.success(result)
