"""A visitor's view of the edge: an httpx transport that sends every request to the
sandbox edge with the URL's hostname as Host and SNI, as DNS pointing a proxied name at
Cloudflare would, and trusts the sandbox edge CA only.

    with sb.edge.client() as visitor:
        visitor.get("https://shop.example.com/")
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx


class EdgeTransport(httpx.BaseTransport):
    def __init__(self, http_url: str, https_url: str, ca_pem: str, **kwargs: Any) -> None:
        self._fronts = {"http": httpx.URL(http_url), "https": httpx.URL(https_url)}
        context = ssl.create_default_context(cadata=ca_pem)
        # No pooling: a pooled connection would carry the SNI of another hostname.
        limits = httpx.Limits(max_keepalive_connections=0)
        self._inner = httpx.HTTPTransport(verify=context, limits=limits, **kwargs)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        front = self._fronts[request.url.scheme]
        routed = httpx.Request(
            request.method,
            request.url.copy_with(host=front.host, port=front.port),
            headers=request.headers,  # keeps Host: the URL's hostname
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": request.url.host},
        )
        return self._inner.handle_request(routed)

    def close(self) -> None:
        self._inner.close()
