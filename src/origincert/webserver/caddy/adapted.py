"""What a Caddyfile means, as Caddy itself says: the JSON of ``caddy adapt``.

Caddy's own adapter is the parser: it knows every address form, placeholder,
snippet and global option. From its JSON this module reads, per hostname,
where Caddy listens for it (and whether with TLS), which loaded certificate
its TLS connection policy selects, and whether Caddy's automatic HTTPS
redirects plain HTTP to HTTPS for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from origincert.errors import WebServerError
from origincert.webserver.base import Listen

DEFAULT_HTTP_PORT = 80
DEFAULT_HTTPS_PORT = 443


@dataclass
class Adapted:
    """Caddy's reading of the configuration, per hostname (lowercase)."""

    http_port: int = DEFAULT_HTTP_PORT
    https_port: int = DEFAULT_HTTPS_PORT
    listens: dict[str, list[Listen]] = field(default_factory=dict)
    certificates: dict[str, tuple[Path, Path]] = field(default_factory=dict)
    redirected: set[str] = field(default_factory=set)   # Caddy's automatic 308 on HTTP
    plain_blocks: set[str] = field(default_factory=set)  # served by an http:// site block

    def knows(self, hostname: str) -> bool:
        return hostname in self.listens


def parse_adapted(output: str) -> Adapted:
    """Read the JSON ``caddy adapt`` printed on stdout."""
    try:
        config = json.loads(output or "{}")
    except json.JSONDecodeError as err:
        raise WebServerError("caddy adapt printed something that is not JSON",
                             output=output[:2000]) from err

    apps = config.get("apps") or {}
    http = apps.get("http") or {}
    adapted = Adapted(
        http_port=int(http.get("http_port", DEFAULT_HTTP_PORT)),
        https_port=int(http.get("https_port", DEFAULT_HTTPS_PORT)),
    )
    tagged = _loaded_files(apps.get("tls") or {})
    for server in (http.get("servers") or {}).values():
        _read_server(adapted, server, tagged)
    # Caddy makes no redirect of its own for a name the user serves on HTTP himself
    adapted.redirected -= adapted.plain_blocks
    return adapted


def _read_server(adapted: Adapted, server: dict[str, Any], tagged) -> None:
    sockets = [parsed for parsed in map(_socket, server.get("listen") or []) if parsed]
    auto = server.get("automatic_https") or {}
    policies = server.get("tls_connection_policies") or []
    plain_only = all(port == adapted.http_port for _, port in sockets)
    # automatic HTTPS turns TLS on for every server not only on the HTTP port
    secure = bool(policies) or (not auto.get("disable") and not plain_only)
    redirects = secure and not auto.get("disable") and not auto.get("disable_redirects")
    skipped = {name.lower() for name in auto.get("skip") or []}

    for host in _route_hosts(server.get("routes") or []):
        if plain_only:
            adapted.plain_blocks.add(host)
        listens = adapted.listens.setdefault(host, [])
        for address, port in sockets:
            listen = Listen(address, port, ssl=secure and port != adapted.http_port,
                            ipv6=bool(address and ":" in address))
            if listen not in listens:
                listens.append(listen)
        if redirects and host not in skipped:
            adapted.redirected.add(host)
            redirect = Listen(None, adapted.http_port, ssl=False)
            if redirect not in listens:
                listens.append(redirect)

    for policy in policies:
        names = (policy.get("match") or {}).get("sni") or []
        tags = (policy.get("certificate_selection") or {}).get("any_tag") or []
        pairs = [tagged[tag] for tag in tags if tag in tagged]
        for name in names:
            if pairs:
                adapted.certificates.setdefault(name.lower(), pairs[0])


def _route_hosts(routes: list[dict[str, Any]]) -> list[str]:
    hosts: list[str] = []
    for route in routes:
        for matcher in route.get("match") or []:
            for host in matcher.get("host") or []:
                if host.lower() not in hosts:
                    hosts.append(host.lower())
    return hosts


def _loaded_files(tls: dict[str, Any]) -> dict[str, tuple[Path, Path]]:
    """Tag -> (certificate, key) of the certificates loaded from files."""
    found: dict[str, tuple[Path, Path]] = {}
    for entry in (tls.get("certificates") or {}).get("load_files") or []:
        pair = (Path(entry["certificate"]), Path(entry["key"]))
        for tag in entry.get("tags") or []:
            found.setdefault(tag, pair)
    return found


def _socket(address: str) -> tuple[str | None, int] | None:
    """``":443"``, ``"tcp/127.0.0.1:8443"``, ``"[::1]:443"`` -> (address, port)."""
    if "/" in address:
        network, _, address = address.partition("/")
        if network.startswith("unix"):
            return None
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or None
    try:
        return host, int(port.split("-")[0])
    except ValueError:
        return None
