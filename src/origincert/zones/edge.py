"""A request through Cloudflare's edge, as a visitor makes it.

Against the real API the edge is the Internet: ``https://<hostname>/``,
expecting a ``cf-ray`` header and no 52x. Against the sandbox it is the
sandbox's edge, pinned when the account was connected, reached on its
loopback port with the hostname as SNI and Host, and trusted through the
sandbox's edge CA only.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from origincert import files


@dataclass(frozen=True)
class EdgeAnswer:
    hostname: str
    status: int | None
    ray_id: str | None
    error: str | None = None
    location: str | None = None

    @property
    def ok(self) -> bool:
        return (self.status is not None and self.status < 520 and bool(self.ray_id)
                and not self.loops)

    @property
    def loops(self) -> bool:
        """An HTTPS visitor sent back to the very URL it asked for (field case C01)."""
        if self.status not in (301, 302, 303, 307, 308) or not self.location:
            return False
        wanted = f"https://{self.hostname}/"
        return self.location.rstrip("/") + "/" == wanted or self.location == "/"

    def describe(self) -> str:
        if self.error:
            return f"{self.hostname}: {self.error}"
        if self.loops:
            return (f"{self.hostname}: redirect loop through the edge (HTTP {self.status} to "
                    f"{self.location}, Ray ID {self.ray_id})")
        return f"{self.hostname}: HTTP {self.status} through the edge (Ray ID {self.ray_id})"


class Edge:
    """Where visitors' requests go: the real edge, or the sandbox's."""

    def __init__(self, https_url: str | None = None, ca_pem: str | None = None,
                 timeout: float = 10.0, *, enabled: bool = True) -> None:
        self.https_url = https_url
        self.ca_pem = ca_pem
        self.timeout = timeout
        self.enabled = enabled

    @classmethod
    def for_account(cls, pinned: Path, *, real_api: bool) -> Edge:
        """The sandbox edge pinned for an account, the real one, or none.

        An API other than Cloudflare's without a pinned edge (a sandbox run
        without its edge) has no edge to ask: verification is skipped, and said.
        """
        if pinned.is_file():
            info = json.loads(pinned.read_text())
            return cls(info.get("https"), info.get("edge_ca"))
        return cls() if real_api else cls(enabled=False)

    def get(self, hostname: str, path: str = "/") -> EdgeAnswer:
        target = self.https_url or f"https://{hostname}"
        context = ssl.create_default_context()
        if self.ca_pem:
            context.load_verify_locations(cadata=self.ca_pem)
        try:
            with httpx.Client(verify=context, timeout=self.timeout) as client:
                answer = client.get(target.rstrip("/") + path, headers={"Host": hostname},
                                    extensions={"sni_hostname": hostname})
        except httpx.HTTPError as err:
            return EdgeAnswer(hostname, None, None, f"request through the edge failed: {err}")
        return EdgeAnswer(hostname, answer.status_code, answer.headers.get("cf-ray"),
                          location=answer.headers.get("location"))


def pin_sandbox_edge(api_base: str, path: Path) -> bool:
    """Keep the sandbox edge's address and CA for an account; False if none."""
    try:
        answer = httpx.get(api_base.rstrip("/") + "/origincert-sandbox/edge", timeout=10.0)
        info = answer.json()["result"] if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        info = None
    if not info or not info.get("https"):
        return False
    files.ensure_dir(path.parent, 0o700)
    files.write_atomic(path, json.dumps(info), mode=0o644)
    return True


def host_of(url: str) -> str:
    return urlsplit(url).hostname or ""
