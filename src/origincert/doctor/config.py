"""What the web server configuration says about one hostname, for the checks that read it.

The web server modules answer "which sites, which certificate"; doctor also
needs a few directives around them: the document root, how PHP learns the
scheme (``fastcgi_param HTTPS``, ``SetEnvIf X-Forwarded-Proto``), whether the
origin redirects HTTP to HTTPS by itself (``return 301 https://``,
``RewriteCond %{HTTPS} off``), OCSP stapling, and whether a certificate path
holds a variable. This module reads them, never writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import crossplane

from origincert.webserver.base import WebServer
from origincert.webserver.nginx.names import plain_hostname

Directive = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class Block:
    """One server block (nginx) or virtual host (Apache) that serves the hostname."""

    where: str                        # file:line
    tls: bool
    directives: tuple[Directive, ...]  # every directive inside, includes followed; lowercase

    def values(self, name: str) -> list[tuple[str, ...]]:
        return [args for found, args in self.directives if found == name]


@dataclass(frozen=True)
class OriginConfig:
    kind: str | None
    blocks: tuple[Block, ...] = field(default_factory=tuple)

    def values(self, name: str, *, tls: bool | None = None) -> list[tuple[str, ...]]:
        return [args for block in self.blocks if tls is None or block.tls == tls
                for args in block.values(name)]

    def docroot(self) -> Path | None:
        for name in ("root", "documentroot"):
            for args in self.values(name, tls=True) + self.values(name, tls=False):
                if args and "$" not in args[0]:
                    return Path(args[0])
        return None

    def where(self, *, tls: bool | None = None) -> str:
        return ", ".join(b.where for b in self.blocks if tls is None or b.tls == tls)


def read(server: WebServer | None, hostname: str) -> OriginConfig:
    """The blocks of the server that serve ``hostname``; empty when unknown."""
    if server is None:
        return OriginConfig(None)
    try:
        if server.kind == "nginx":
            return OriginConfig("nginx", tuple(_nginx_blocks(server, hostname)))
        if server.kind == "apache":
            return OriginConfig("apache", tuple(_apache_blocks(server, hostname)))
    except (OSError, ValueError, KeyError, IndexError):
        return OriginConfig(server.kind)
    return OriginConfig(server.kind)


# nginx

def _nginx_blocks(server: WebServer, hostname: str) -> list[Block]:
    conf = server.conf  # type: ignore[attr-defined]
    payload = crossplane.parse(str(conf), comments=False, check_ctx=False, check_args=False)
    configs = payload["config"]
    found: list[Block] = []
    for path, server_block in _nginx_servers(configs, 0, configs[0]["parsed"], False):
        directives = list(_nginx_flat(configs, server_block.get("block", [])))
        served = [plain_hostname(a) for args in (a for n, a in directives if n == "server_name")
                  for a in args]
        if hostname not in served:
            continue
        listens = [args for name, args in directives if name == "listen"]
        tls = any("ssl" in args[1:] for args in listens)
        where = f"{os.path.realpath(path)}:{server_block['line']}"
        found.append(Block(where, tls, tuple(directives)))
    return found


def _nginx_servers(configs, index, directives, in_http):
    path = configs[index]["file"]
    for directive in directives:
        name = directive["directive"]
        if name == "include":
            for child in directive.get("includes", []):
                yield from _nginx_servers(configs, child, configs[child]["parsed"], in_http)
        elif name == "server" and in_http:
            yield path, directive
        elif name == "http":
            yield from _nginx_servers(configs, index, directive.get("block", []), True)


def _nginx_flat(configs, items):
    for item in items:
        name = item["directive"].lower()
        if name == "include":
            for child in item.get("includes", []):
                yield from _nginx_flat(configs, configs[child]["parsed"])
            continue
        yield name, tuple(item.get("args", []))
        if item.get("block"):
            yield from _nginx_flat(configs, item["block"])


# Apache

def _apache_blocks(server: WebServer, hostname: str) -> list[Block]:
    from origincert.webserver.apache.config import parse_text

    found: list[Block] = []
    files = sorted({site.source for site in server.sites() if hostname in site.hostnames})
    for path in files:
        nodes = parse_text(Path(path).read_text(errors="replace"))
        for node in _apache_walk(nodes):
            if node.name != "virtualhost":
                continue
            directives = [(d.name, tuple(d.args)) for d in node.walk()]
            served = {a.lower() for n, args in directives if n in ("servername", "serveralias")
                      for a in args}
            if hostname not in served:
                continue
            tls = any(n == "sslengine" and args and args[0].lower() == "on"
                      for n, args in directives) or any(":443" in a for a in node.args)
            found.append(Block(f"{path}:{node.line}", tls, tuple(directives)))
    return found


def _apache_walk(nodes):
    for node in nodes:
        yield node
        if node.children:
            yield from _apache_walk(node.children)
