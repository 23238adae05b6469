"""Reading a real nginx configuration: server blocks, and the sites they make.

crossplane reads the configuration the way nginx does (includes, globs,
``sites-enabled`` links); this module turns its answer into ``Block`` objects,
one per ``server`` block of the ``http`` context, and groups blocks that share
a hostname into one ``Site``: a port-80 block that redirects and the port-443
block beside it for the same names are one site to the user.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import crossplane

from origincert.errors import WebServerError
from origincert.webserver.base import Listen, Site
from origincert.webserver.nginx.names import plain_hostname

# Directives that tie a block to a certificate; ours replaces all of them.
CERT_DIRECTIVES = (
    "ssl_certificate",
    "ssl_certificate_key",
    "ssl_stapling",
    "ssl_stapling_verify",
    "ssl_trusted_certificate",
)


@dataclass
class IncludedCert:
    """An ``include`` inside a server block that brings certificate directives."""

    line: int                   # line of the include directive in the block's file
    files: tuple[Path, ...]     # the files it pulled in
    only_cert: bool             # True when those files set nothing but CERT_DIRECTIVES


@dataclass
class Block:
    """One ``server { }`` of the http context, as nginx will read it."""

    file: Path                  # the real file (symlinks resolved): where edits go
    line: int
    hostnames: tuple[str, ...]
    listens: tuple[Listen, ...]
    certificate: Path | None = None
    key: Path | None = None
    lineage: str | None = None  # origincert's include in place, for this lineage
    included_certs: list[IncludedCert] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def has_ssl(self) -> bool:
        return any(listen.ssl for listen in self.listens)

    def sockets(self) -> set[tuple[str | None, int, bool]]:
        # A block without `listen` listens on *:80, as nginx does when run as root.
        listens = self.listens or (Listen(None, 80, False),)
        return {(listen.address, listen.port, listen.ipv6) for listen in listens}


def read_blocks(conf: Path, include_dir: Path) -> list[Block]:
    """Every server block of the http context, in the order nginx reads them."""
    if not Path(conf).is_file():
        raise WebServerError(f"there is no nginx configuration at {conf}",
                             hint="point origincert at it with --nginx-conf, or set [nginx] "
                                  "conf in origincert.toml")
    payload = crossplane.parse(str(conf), comments=False, check_ctx=False, check_args=False)
    _raise_parse_errors(payload)

    configs = payload["config"]
    blocks: list[Block] = []
    _walk(configs, 0, configs[0]["parsed"], False, blocks, Path(include_dir))
    return blocks


def group_sites(blocks: list[Block]) -> list[tuple[Site, list[Block]]]:
    """Blocks that share any hostname, as one site each, in configuration order.

    A union-find over the blocks, joined through the hostnames they share:
    linear in the number of blocks, which matters with thousands of sites.
    """
    named = [b for b in blocks if b.hostnames]
    parent = list(range(len(named)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for index, block in enumerate(named):
        for name in block.hostnames:
            if name in owner:
                parent[root(index)] = root(owner[name])
            else:
                owner[name] = index

    groups: dict[int, list[Block]] = {}
    for index, block in enumerate(named):
        groups.setdefault(root(index), []).append(block)
    position = {id(block): n for n, block in enumerate(blocks)}
    ordered = sorted(groups.values(), key=lambda g: position[id(g[0])])
    return [(_site(group), group) for group in ordered]


def parse_listen(args: list[str]) -> Listen | None:
    """One ``listen`` directive's socket; None for unix sockets."""
    if not args or args[0].startswith("unix:"):
        return None
    where, params = args[0], args[1:]
    address, port = _split_address(where)
    return Listen(
        address=address,
        port=port,
        ssl="ssl" in params,
        ipv6=where.startswith("["),
        default_server="default_server" in params or "default" in params,
    )


def _split_address(where: str) -> tuple[str | None, int]:
    if where.startswith("["):
        host, _, rest = where[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else 80
        return (None if host == "::" else host), port
    if where.isdigit():
        return None, int(where)
    host, _, port = where.rpartition(":")
    if not host:
        host, port = where, "80"
    return (None if host in ("*", "0.0.0.0") else host), int(port)


def _walk(configs, index, directives, in_http, blocks, include_dir) -> None:
    """Find server blocks under http, following includes wherever they appear."""
    path = configs[index]["file"]
    for directive in directives:
        name = directive["directive"]
        if name == "include":
            for child in directive.get("includes", []):
                _walk(configs, child, configs[child]["parsed"], in_http, blocks, include_dir)
        elif name == "server" and in_http:
            blocks.append(_block(configs, path, directive, include_dir))
        elif name == "http":
            _walk(configs, index, directive.get("block", []), True, blocks, include_dir)


def _block(configs, path: str, directive: dict, include_dir: Path) -> Block:
    block = Block(Path(os.path.realpath(path)), directive["line"], (), ())
    names: list[str] = []
    listens: list[Listen] = []

    for item in directive.get("block", []):
        for name, args in _flatten(configs, item):
            if name == "server_name":
                names += [h for h in map(plain_hostname, args) if h and h not in names]
            elif name == "listen" and (listen := parse_listen(args)) is not None:
                listens.append(listen)
            elif name == "ssl_certificate" and block.certificate is None and args:
                block.certificate = Path(args[0])
            elif name == "ssl_certificate_key" and block.key is None and args:
                block.key = Path(args[0])
        _note_include(configs, item, block, include_dir)

    block.hostnames = tuple(names)
    block.listens = tuple(listens)
    return block


def _note_include(configs, item: dict, block: Block, include_dir: Path) -> None:
    """Record origincert's include, or an include that carries a certificate."""
    if item["directive"] != "include" or not item.get("args"):
        return
    target = Path(item["args"][0])
    if target.parent == include_dir and target.suffix == ".conf":
        block.lineage = target.stem
        return

    files = tuple(Path(configs[i]["file"]) for i in item.get("includes", []))
    names = [name for i in item.get("includes", []) for name, _ in _flatten_list(configs, i)]
    if any(name in CERT_DIRECTIVES for name in names):
        only = all(name in CERT_DIRECTIVES for name in names)
        block.included_certs.append(IncludedCert(item["line"], files, only))


def _flatten(configs, item: dict):
    """(name, args) of a directive, or of everything an include brings in."""
    if item["directive"] != "include":
        yield item["directive"], item.get("args", [])
        return
    for index in item.get("includes", []):
        yield from _flatten_list(configs, index)


def _flatten_list(configs, index: int):
    for item in configs[index]["parsed"]:
        yield from _flatten(configs, item)


def _site(group: list[Block]) -> Site:
    """One site from its blocks; the block on HTTPS, if any, is the one it points at."""
    primary = next((b for b in group if b.has_ssl), group[0])
    names = list(primary.hostnames)
    listens: list[Listen] = []
    for block in group:
        names += [name for name in block.hostnames if name not in names]
        listens += [listen for listen in block.listens if listen not in listens]

    served = next((b for b in [primary, *group] if b.certificate), primary)
    return Site(
        name=names[0],
        hostnames=tuple(names),
        source=primary.file,
        line=primary.line,
        listens=tuple(listens),
        certificate=served.certificate,
        key=served.key,
        managed=any(b.lineage for b in group),
    )


def _raise_parse_errors(payload: dict) -> None:
    if payload.get("status") == "ok":
        return
    first = payload["errors"][0]
    where = f"{first.get('file')}:{first.get('line')}"
    raise WebServerError(
        f"cannot read the nginx configuration at {where}",
        hint="fix the configuration so that `nginx -t` passes, then try again",
        output=str(first.get("error", "")),
    )
