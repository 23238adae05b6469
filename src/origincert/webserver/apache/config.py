"""Reading a real Apache configuration: virtual hosts, and the sites they make.

Two sources, each for what it does best:

- ``apachectl -S`` is Apache's own answer to "which virtual hosts are
  active, on which address, defined where": it has evaluated every
  ``Include``, ``IfModule``, ``IfDefine`` and ``Define``. Only the vhosts it
  lists exist for origincert.
- A small reader of one file's text (sections, directives, line numbers)
  then reads each listed vhost at its file and line: its own ``ServerName``
  and ``ServerAlias`` (``-S`` shows an inherited name for a vhost without
  one), its ``SSL*`` directives and their lines, and origincert's marks.

No maintained parser on PyPI keeps positions (``apacheconfig`` rebuilds the
text; Augeas needs a C library and its own lens quirks), and the edits are
line insertions, so a line-level reader is all that is needed.

Vhosts that share a hostname make one ``Site``: the port-80 vhost and the
port-443 vhost of the same names are one site to the user.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from origincert.errors import WebServerError
from origincert.webserver.base import Listen, Site
from origincert.webserver.nginx.names import plain_hostname

# Directives that name the certificate a vhost serves; ours replaces them.
CERT_DIRECTIVES = ("sslcertificatefile", "sslcertificatekeyfile", "sslcertificatechainfile")

BEGIN = "# origincert: begin (managed by origincert; undo with `origincert uninstall`)"
END = "# origincert: end"
OFF = "# origincert-off: "

_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')
_WORD = re.compile(r"(\S+)\s*(.*)$")


@dataclass
class Node:
    """A directive or a section of one file; lines are 1-based, as Apache counts."""

    name: str                       # lowercased
    args: list[str]
    line: int
    last: int                       # last line of the directive (continuations)
    children: list[Node] | None = None  # a section's content
    close: int | None = None        # the line of ``</Name>``

    def walk(self):
        """Every directive inside this section, sections included, in order."""
        for child in self.children or []:
            yield child
            yield from child.walk()


@dataclass
class VHost:
    """One active ``<VirtualHost>``, where ``apachectl -S`` says it is."""

    file: Path                      # the real file (links resolved): where edits go
    line: int                       # the line of ``<VirtualHost ...>``
    close: int                      # the line of ``</VirtualHost>``
    sockets: tuple[tuple[str | None, int], ...]  # (address or None for *, port)
    hostnames: tuple[str, ...]
    ssl: bool = False               # SSLEngine on, its own or through an include
    certificate: Path | None = None
    key: Path | None = None
    cert_lines: list[Node] = field(default_factory=list)  # in this file, to comment out
    cert_from: Path | None = None   # an included file that sets the certificate
    lineage: str | None = None      # origincert's certificate include is in place
    twin: bool = False              # origincert's own HTTPS copy of a port-80 vhost
    has_server_name: bool = False
    addresses: tuple[str, ...] = ()  # as the <VirtualHost> line writes them

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def ports(self) -> set[int]:
        return {port for _, port in self.sockets}

    @property
    def https(self) -> bool:
        return self.ssl or 443 in self.ports


# reading text


def parse_text(text: str) -> list[Node]:
    """The directives and sections of one file's text, nested, with their lines."""
    root = Node("", [], 0, 0, children=[])
    stack = [root]
    for first, last, line in _logical_lines(text):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("</"):
            if len(stack) > 1:
                stack.pop().close = first
            continue
        name, rest = _WORD.match(stripped).groups()
        if stripped.startswith("<"):
            rest = rest[:-1] if rest.endswith(">") else rest
            name = name[1:].rstrip(">")
            node = Node(name.lower(), tokens(rest), first, last, children=[])
            stack[-1].children.append(node)
            stack.append(node)
            continue
        stack[-1].children.append(Node(name.lower(), tokens(rest), first, last))
    return root.children or []


def tokens(text: str) -> list[str]:
    """Arguments as Apache splits them: by blanks, with double quotes grouping."""
    return [quoted if quoted else bare for quoted, bare in _TOKEN.findall(text)]


def find_section(nodes: list[Node], name: str, line: int) -> Node | None:
    """The section ``name`` that opens at ``line``, at any depth."""
    for node in nodes:
        if node.children is None:
            continue
        if node.name == name and node.line == line:
            return node
        found = find_section(node.children, name, line)
        if found is not None:
            return found
    return None


def _logical_lines(text: str):
    """(first line, last line, text) for each line, continuations joined."""
    physical = text.split("\n")
    number = 0
    while number < len(physical):
        first = number
        line = physical[number]
        while line.endswith("\\") and number + 1 < len(physical):
            number += 1
            line = line[:-1] + physical[number]
        yield first + 1, number + 1, line
        number += 1


# what apachectl -S says

_ADDRESS_LINE = re.compile(r"^(\S+)\s+is a NameVirtualHost")
_NAMEVHOST = re.compile(r"^\s+(?:default server|port \d+ namevhost) (\S+) \((.+):(\d+)\)$")
_SINGLE = re.compile(r"^(\S+:\S+)\s+(\S+) \((.+):(\d+)\)$")
_ALIAS = re.compile(r"^\s+(?:wild )?alias (\S+)$")


@dataclass
class Listed:
    """One vhost as ``apachectl -S`` lists it."""

    path: str                       # as Apache opened it (often a sites-enabled link)
    line: int
    sockets: list[tuple[str | None, int]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


def parse_dump(output: str) -> list[Listed]:
    """The vhosts of ``apachectl -S``, each once, with every socket it is on."""
    found: dict[tuple[str, int], Listed] = {}
    address = None
    current: Listed | None = None
    for line in output.splitlines():
        if line.startswith(("ServerRoot:", "Main ", "Mutex ", "PidFile:", "Define:")):
            break
        if match := _ADDRESS_LINE.match(line):
            address = match.group(1)
            continue
        if match := _SINGLE.match(line):
            socket, name, path, number = match.groups()
        elif (match := _NAMEVHOST.match(line)) and address is not None:
            name, path, number = match.groups()
            socket = address
        elif (match := _ALIAS.match(line)) and current is not None:
            current.names.append(match.group(1))
            continue
        else:
            continue
        current = found.setdefault((path, int(number)), Listed(path, int(number)))
        parsed = split_socket(socket)
        if parsed not in current.sockets:
            current.sockets.append(parsed)
        if name not in current.names:
            current.names.append(name)
    return list(found.values())


def split_socket(text: str) -> tuple[str | None, int]:
    """``*:443``, ``[::1]:443``, ``203.0.113.10:80``, ``_default_:443`` -> (address, port)."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        host, port = text, "80"
    host = host.strip("[]")
    return (None if host in ("*", "_default_", "0.0.0.0", "::") else host), int(port)


# vhosts


def read_vhosts(dump: str, conf_dir: Path, include_dir: Path) -> list[VHost]:
    """Every active vhost, read at the file and line where ``apachectl -S`` has it."""
    listed = sorted(parse_dump(dump), key=lambda item: (item.path, item.line))
    texts: dict[Path, list[Node]] = {}
    vhosts: list[VHost] = []
    for item in listed:
        real = Path(os.path.realpath(item.path))
        if real not in texts:
            texts[real] = parse_text(_read(real))
        node = find_section(texts[real], "virtualhost", item.line)
        if node is None:
            raise WebServerError(
                f"{real}:{item.line}: Apache lists a virtual host here that origincert cannot "
                "read",
                hint="put the <VirtualHost> line on a line of its own, then try again",
            )
        vhosts.append(_vhost(real, node, item, conf_dir, include_dir))
    return vhosts


def dormant_vhosts(active: list[VHost], hostnames: tuple[str, ...], conf_dir: Path,
                   include_dir: Path) -> list[VHost]:
    """HTTPS vhosts for ``hostnames`` in the files of ``active`` that Apache skips now.

    A TLS vhost inside ``<IfModule mod_ssl.c>`` is skipped while mod_ssl is
    off; once a plan enables mod_ssl it is live again, so it is the site's
    HTTPS vhost.
    """
    known = {(v.file, v.line) for v in active}
    found: list[VHost] = []
    for path in dict.fromkeys(v.file for v in active if not v.twin):
        for node in _flat(parse_text(_read(path))):
            if node.name != "virtualhost" or (path, node.line) in known:
                continue
            listed = Listed(str(path), node.line, [split_socket(arg) for arg in node.args])
            vhost = _vhost(path, node, listed, conf_dir, include_dir)
            if vhost.https and set(vhost.hostnames) & set(hostnames):
                found.append(vhost)
    return found


def group_sites(vhosts: list[VHost]) -> list[tuple[Site, list[VHost]]]:
    """Vhosts that share any hostname, as one site each, in configuration order."""
    groups: list[list[VHost]] = []
    for vhost in (v for v in vhosts if v.hostnames):
        touching = [g for g in groups if any(set(v.hostnames) & set(vhost.hostnames) for v in g)]
        merged = [vhost]
        for group in touching:
            groups.remove(group)
            merged = group + merged
        groups.append(merged)
    groups = [sorted(g, key=vhosts.index) for g in groups]
    groups = [g for g in groups if any(not v.twin for v in g)]
    groups.sort(key=lambda g: vhosts.index(g[0]))
    return [(_site(group), group) for group in groups]


def _vhost(real: Path, node: Node, item: Listed, conf_dir: Path, include_dir: Path) -> VHost:
    vhost = VHost(real, node.line, node.close or node.line, tuple(item.sockets), ())
    vhost.twin = _inside(real, include_dir)
    vhost.addresses = tuple(node.args)
    names: list[str] = []
    for child in node.walk():
        if child.name == "servername" and child.args:
            vhost.has_server_name = True
            names.insert(0, _bare_name(child.args[0]))
        elif child.name == "serveralias":
            names += [_bare_name(arg) for arg in child.args]
        elif child.name in ("include", "includeoptional") and child.args:
            _read_include(vhost, child.args[0], conf_dir, include_dir)
        else:
            _read_ssl(vhost, child, in_file=True)
    if any("${" in name for name in names):
        names = list(item.names)  # Apache has expanded the variables for us
    if not vhost.has_server_name:
        names = []  # -S shows the server's own name for such a vhost: not a site
    plain = [h for h in map(plain_hostname, names) if h]
    vhost.hostnames = tuple(dict.fromkeys(plain))
    return vhost


def _read_ssl(vhost: VHost, node: Node, *, in_file: bool, source: Path | None = None) -> None:
    if node.name == "sslengine" and node.args:
        vhost.ssl = node.args[0].lower() == "on"
    elif node.name in CERT_DIRECTIVES and node.args:
        if in_file:
            vhost.cert_lines.append(node)
        else:
            vhost.cert_from = vhost.cert_from or source
        if node.name == "sslcertificatefile" and vhost.certificate is None:
            vhost.certificate = Path(node.args[0])
        elif node.name == "sslcertificatekeyfile" and vhost.key is None:
            vhost.key = Path(node.args[0])


def _read_include(vhost: VHost, pattern: str, conf_dir: Path, include_dir: Path) -> None:
    """SSL directives brought into the vhost by an include (ours, or the user's)."""
    full = pattern if os.path.isabs(pattern) else str(conf_dir / pattern)
    for name in sorted(glob.glob(full)) if glob.has_magic(full) else [full]:
        path = Path(name)
        if not path.is_file():
            continue
        ours = Path(os.path.realpath(path)).parent == include_dir and path.suffix == ".conf"
        for node in _flat(parse_text(_read(path))):
            before = vhost.cert_from
            _read_ssl(vhost, node, in_file=False, source=path)
            if ours:
                vhost.cert_from = before
        if ours:
            vhost.lineage = path.stem


def _flat(nodes: list[Node]):
    for node in nodes:
        yield node
        if node.children:
            yield from _flat(node.children)


def _site(group: list[VHost]) -> Site:
    own = [v for v in group if not v.twin]
    first = own[0]
    names = list(dict.fromkeys(name for v in own for name in v.hostnames))
    listens: list[Listen] = []
    for vhost in group:
        for address, port in vhost.sockets:
            ipv6 = address is not None and ":" in address
            listen = Listen(address, port, vhost.ssl, ipv6=ipv6)
            if listen not in listens:
                listens.append(listen)
    serving = next((v for v in group if v.ssl and v.certificate), None)
    return Site(
        name=first.hostnames[0] if first.hostnames else names[0],
        hostnames=tuple(names),
        source=first.file,
        line=first.line,
        listens=tuple(listens),
        certificate=serving.certificate if serving else None,
        key=serving.key if serving else None,
        managed=any(v.lineage for v in group),
    )


def _bare_name(value: str) -> str:
    """``https://example.com:443`` -> ``example.com``."""
    value = value.split("://", 1)[-1]
    if value.startswith("["):
        return value
    return value.split(":", 1)[0]


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", errors="surrogateescape")
    except OSError as err:
        raise WebServerError(f"cannot read {path}: {err.strerror}") from err
