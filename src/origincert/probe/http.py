"""One HTTP request to the origin itself, by name, as the edge would send it.

The origin is reached at its address with the hostname as ``Host`` (and as SNI
over HTTPS); redirects are not followed and the certificate is not checked:
the point is to see what the origin answers, not whether it is trusted.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import httpx

MAX_BODY = 512 * 1024


@dataclass(frozen=True)
class Page:
    url: str
    status: int | None
    headers: dict[str, str]
    body: str
    error: str | None = None

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    @property
    def is_redirect(self) -> bool:
        return self.status in (301, 302, 303, 307, 308) and bool(self.location)


def fetch(address: str, hostname: str, *, tls: bool, path: str = "/", port: int | None = None,
          timeout: float = 5.0, headers: dict[str, str] | None = None) -> Page:
    """GET ``path`` from the origin at ``address`` for ``hostname``."""
    scheme = "https" if tls else "http"
    port = port or (443 if tls else 80)
    url = f"{scheme}://{_host(address)}:{port}{path}"
    sent = {"Host": hostname, "User-Agent": "origincert-doctor", **(headers or {})}
    extensions = {"sni_hostname": hostname} if tls else {}
    try:
        with httpx.Client(verify=False, timeout=timeout, follow_redirects=False) as client:
            answer = client.get(url, headers=sent, extensions=extensions)
    except httpx.HTTPError as err:
        return Page(url, None, {}, "", f"{type(err).__name__}: {err}")
    body = answer.content[:MAX_BODY].decode(answer.encoding or "utf-8", errors="replace")
    return Page(url, answer.status_code, {k.lower(): v for k, v in answer.headers.items()},
                body)


def _host(address: str) -> str:
    try:
        return f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    except ValueError:
        return address
