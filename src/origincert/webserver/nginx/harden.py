"""nginx edits of ``origincert harden``: one origincert-owned file per part, one line each.

A part's directives live in ``<include_dir>/harden/<part>.conf``; the configuration
gets one ``include`` line per server block of the site (or, for the TLS catch-all,
one in the ``http`` block), marked ``# origincert-harden <part>``. Undoing a part
removes exactly those lines and the file, which gives back the user's bytes.
Like the install edits, these are planned here and applied by a transaction.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from origincert.errors import WebServerError
from origincert.webserver.base import FileChange, InstallPlan, Site
from origincert.webserver.nginx.text import decode, encode, find_block, parse_text

if TYPE_CHECKING:
    from origincert.webserver.nginx.server import Nginx

MARK = "# origincert-harden"
HEADER = "# origincert harden: {part}. Written by origincert; undo with `origincert harden " \
         "SITE --undo {part}`.\n"


def real_ip(networks: tuple[str, ...]) -> str:
    """Visitors' addresses from CF-Connecting-IP, trusted from these networks only (C33)."""
    lines = [f"set_real_ip_from {network};" for network in networks]
    return "\n".join([*lines, "real_ip_header CF-Connecting-IP;"]) + "\n"


ALLOW_VARIABLE = "$origincert_from_cloudflare"


def allow_map(networks: tuple[str, ...]) -> str:
    """At http level: is the connection's peer one of ``networks``?

    Keyed on ``$realip_remote_addr``, the peer before real-IP restoration: ``allow``
    and ``deny`` would judge the restored visitor address, and refuse every visitor.
    """
    lines = [f"    {network} 1;" for network in networks]
    return "\n".join([f"geo $realip_remote_addr {ALLOW_VARIABLE} {{", "    default 0;",
                      *lines, "}"]) + "\n"


def allow_only() -> str:
    """In a server: 403 for any peer outside the map. A server-level ``return`` runs before
    the locations, so a location answered by its own ``return`` is refused as well."""
    return f"if ({ALLOW_VARIABLE} = 0) {{ return 403; }}\n"


def client_certificates(ca_bundle: Path) -> str:
    """The origin asks for, and requires, a client certificate from this CA (AOP)."""
    return f"ssl_client_certificate {ca_bundle};\nssl_verify_client on;\n"


def catch_all(ipv6: bool) -> str:
    """A default server on 443 that refuses every handshake no other block claims (C20)."""
    listens = ["    listen 443 ssl default_server;"]
    if ipv6:
        listens.append("    listen [::]:443 ssl default_server;")
    return "server {\n" + "\n".join(listens) + "\n    ssl_reject_handshake on;\n}\n"


def part_file(nginx: Nginx, part: str) -> Path:
    return nginx.include_dir / "harden" / f"{part}.conf"


def plan_part(nginx: Nginx, site: Site | None, part: str, content: str, *,
              tls_only: bool = False) -> InstallPlan:
    """Write the part's file and include it in every block of ``site`` (the ``http``
    block when ``site`` is None)."""
    path = part_file(nginx, part)
    plan = InstallPlan()
    current = path.read_bytes() if path.exists() else None
    data = encode(HEADER.format(part=part) + content)
    if current != data:
        plan.changes.append(FileChange(path, current, data, mode=0o644))
    line = f"include {path};  {MARK} {part}"

    if site is None:
        plan.changes += _edit(nginx.conf, lambda text: _into_http(text, line, nginx.conf))
        return plan
    blocks = [b for b in nginx._site_blocks(site) if b.has_ssl or not tls_only]
    if not blocks:
        raise WebServerError(f"{site.name} has no TLS server block",
                             hint="issue its certificate first: origincert issue --site NAME")
    for file in dict.fromkeys(b.file for b in blocks):
        lines = sorted((b.line for b in blocks if b.file == file), reverse=True)
        plan.changes += _edit(file, lambda text, lines=lines: _into_blocks(text, lines, line))
    return plan


def plan_removal(nginx: Nginx, *parts: str) -> InstallPlan:
    """Take the parts' include lines out of every file nginx reads, and their files."""
    plan = InstallPlan()
    marks = "|".join(re.escape(f"{MARK} {part}") for part in parts)
    marked = re.compile(r"^[ \t]*include [^\n]*;[ \t]*(?:" + marks + r")\n", re.MULTILINE)
    files = dict.fromkeys([nginx.conf, *(b.file for b in nginx._blocks())])
    for file in files:
        plan.changes += _edit(file, lambda text: marked.sub("", text))
    for part in parts:
        path = part_file(nginx, part)
        if path.exists():
            plan.changes.append(FileChange(path, path.read_bytes(), None))
    return plan


def is_applied(nginx: Nginx, part: str) -> bool:
    return part_file(nginx, part).exists()


def _edit(path: Path, change) -> list[FileChange]:  # type: ignore[no-untyped-def]
    before = path.read_bytes()
    after = encode(change(decode(before)))
    return [FileChange(path, before, after)] if after != before else []


def _into_blocks(text: str, lines: list[int], include: str) -> str:
    for number in lines:  # from the bottom up: earlier offsets stay valid
        node = find_block(parse_text(text), "server", number)
        if node is None or node.open is None or node.close is None:
            raise WebServerError(f"no server block at line {number} any more")
        if include in text[node.open:node.close]:
            continue
        text = _insert_after_open(text, node.open, node.close, include, number)
    return text


def _into_http(text: str, include: str, conf: Path) -> str:
    node = next((n for n in parse_text(text) if n.name == "http"), None)
    if node is None or node.close is None:
        raise WebServerError(f"{conf} has no http block to hold the TLS catch-all",
                             hint="add the catch-all server block by hand")
    if include in text[node.open:node.close]:
        return text
    start = text.rfind("\n", 0, node.close) + 1
    if text[start:node.close].strip():
        raise WebServerError(f"{conf}: the http block's closing brace shares its line")
    return text[:start] + "    " + include + "\n" + text[start:]


def _insert_after_open(text: str, open_at: int, close_at: int, include: str,
                       number: int) -> str:
    newline = text.find("\n", open_at - 1)
    if newline < 0 or newline >= close_at:
        raise WebServerError(f"the server block at line {number} is written on one line",
                             hint="split it over several lines, then try again")
    after = text[newline + 1:close_at]
    first = next((line for line in after.splitlines() if line.strip()), "    ")
    indent = first[:len(first) - len(first.lstrip())] or "    "
    return text[:newline + 1] + indent + include + "\n" + text[newline + 1:]
