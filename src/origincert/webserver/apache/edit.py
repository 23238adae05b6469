"""The text edits that make a vhost serve a certificate, and undo them.

Two kinds of site, two edits, both insertions into the user's own bytes:

- a site that already has an HTTPS vhost: inside it, its certificate lines
  are commented out with a fixed prefix and a marked group before
  ``</VirtualHost>`` includes origincert's certificate file (and adds, as
  ``ServerAlias``, any name of the site that vhost lacked);
- a site with only a port-80 vhost: origincert writes its HTTPS twin, a
  copy of that vhost on port 443, into a file of its own, and a marked group
  right after the port-80 vhost includes it. The twin is loaded where the
  original is, and goes away with it when the site is disabled.

Uninstall removes the groups and the prefixes, which gives back the original
bytes. Files are handled as text split on ``\\n`` (never re-encoded), so that
joining the lines again gives back every byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from origincert.errors import WebServerError
from origincert.webserver.apache.config import BEGIN, END, OFF, Node, VHost, parse_text

REDIRECT = (
    "<IfModule mod_rewrite.c>",
    "\tRewriteEngine On",
    "\tRewriteCond %{HTTPS} off",
    "\tRewriteRule ^ https://%{HTTP_HOST}%{REQUEST_URI} [L,R=301]",
    "</IfModule>",
)
# What a RewriteCond tests when it keeps a redirect to https from firing on HTTPS.
_SCHEME_TESTS = ("%{https}", "%{server_port}", "%{request_scheme}", "%{http:x-forwarded-proto}")
_REDIRECTS = ("redirect", "redirectmatch", "redirectpermanent", "redirecttemp")
_DROPPED = "# origincert: left out on HTTPS, where it would redirect to itself: "


class CertificateInUseError(WebServerError):
    """The vhost already serves another certificate and ``replace`` was not given."""


@dataclass
class Edited:
    """The new text of a file, and what to tell the user."""

    text: str
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Redirect:
    """A redirect to https inside a port-80 vhost, and whether it tests the scheme."""

    line: int
    conditional: bool


# installing


def install_in_place(text: str, vhost: VHost, *, include: Path, aliases: list[str],
                     replace: bool) -> Edited:
    """Make the HTTPS ``vhost`` include ``include``, its own certificate lines off."""
    lines = text.split("\n")
    groups = find_groups(lines, vhost.line, vhost.close - 1)
    if groups:
        return Edited(_retarget(lines, groups, include))

    if vhost.certificate is not None and not replace:
        raise CertificateInUseError(
            f"{vhost.where} already serves the certificate {vhost.certificate}",
            hint="pass --replace to switch it to the Origin CA certificate",
        )
    if vhost.cert_from is not None:
        raise WebServerError(
            f"{vhost.where}: the certificate comes from {vhost.cert_from}, which origincert "
            "does not edit",
            hint="move the SSLCertificate lines into the <VirtualHost>, then try again",
        )

    eol = _eol(lines)
    indent = child_indent(lines, vhost)
    body = [f"ServerAlias {' '.join(aliases)}"] if aliases else []
    body.append(f"Include {_quote(include)}")
    group = [f"{indent}{line}{eol}" for line in (BEGIN, *body, END)]
    lines[vhost.close - 1:vhost.close - 1] = group

    notes = []
    for node in vhost.cert_lines:
        for number in range(node.line, node.last + 1):
            lines[number - 1] = _comment(lines[number - 1])
    if vhost.cert_lines:
        notes.append(f"{vhost.where}: the previous certificate lines are commented out")
    return Edited("\n".join(lines), notes)


def link_twin(text: str, vhost: VHost, twin: Path) -> str:
    """Include the HTTPS twin right after the port-80 ``vhost`` (no change if there)."""
    lines = text.split("\n")
    after = find_groups(lines, vhost.close + 1, vhost.close + 1)
    if after:
        return _retarget(lines, after, twin)
    eol = _eol(lines)
    group = [f"{line}{eol}" for line in (BEGIN, f"Include {_quote(twin)}", END)]
    lines[vhost.close:vhost.close] = group
    return "\n".join(lines)


def render_twin(text: str, vhost: VHost, addresses: list[str], *, include: Path,
                lineage: str) -> Edited:
    """The HTTPS copy of the port-80 ``vhost``: its body, on port 443, with our certificate."""
    lines = [line.rstrip("\r") for line in text.split("\n")]
    body = strip_groups(lines[vhost.line:vhost.close - 1])
    body, dropped = _drop_loops(body)
    indent = child_indent(lines, vhost)
    where = f"{vhost.file}:{vhost.line}"

    notes = [f"{where}: the redirect to https at line {vhost.line + offset} is left out of "
             "its HTTPS copy, where it would redirect to itself" for offset in dropped]
    twin = [
        f"# origincert: the HTTPS copy of the vhost at {where}, for {lineage}.",
        "# Written by origincert from that vhost; `origincert uninstall` removes it.",
        "<IfModule ssl_module>",
        f"<VirtualHost {' '.join(_tls_addresses(addresses))}>",
        *body,
        f"{indent}# origincert: the certificate",
        f"{indent}Include {_quote(include)}",
        "</VirtualHost>",
        "</IfModule>",
        "",
    ]
    return Edited("\n".join(twin), notes)


def add_redirect(text: str, vhost: VHost) -> str:
    """A marked redirect to https before the port-80 vhost's ``</VirtualHost>``."""
    lines = text.split("\n")
    if find_groups(lines, vhost.line, vhost.close - 1):
        return text
    eol = _eol(lines)
    indent = child_indent(lines, vhost)
    group = [f"{indent}{line}{eol}" for line in (BEGIN, *REDIRECT, END)]
    lines[vhost.close - 1:vhost.close - 1] = group
    return "\n".join(lines)


# uninstalling


def uninstall_vhost(text: str, vhost: VHost) -> tuple[str, list[str]]:
    """``text`` without our groups in and right after ``vhost``; and what they held."""
    lines = text.split("\n")
    held: list[str] = []
    spans = find_groups(lines, vhost.line, vhost.close + 1)
    for start, end in sorted(spans, reverse=True):
        held += [line.strip() for line in lines[start + 1:end]]
        del lines[start:end + 1]

    # the lines we commented out are inside the vhost, which is now shorter
    removed = sum(end - start + 1 for start, end in spans if start < vhost.close - 1)
    for index in range(vhost.line - 1, vhost.close - 1 - removed):
        lines[index] = _uncomment(lines[index])
    return "\n".join(lines), held


# groups and lines


def find_groups(lines: list[str], first: int, last: int) -> list[tuple[int, int]]:
    """Our groups whose BEGIN is on lines ``first``..``last`` (1-based): 0-based spans."""
    spans = []
    index = max(first - 1, 0)
    while index < min(last, len(lines)):
        if lines[index].strip() == BEGIN:
            end = next((j for j in range(index + 1, len(lines)) if lines[j].strip() == END),
                       None)
            if end is None:
                raise WebServerError(
                    f"line {index + 1}: an origincert group has no end mark",
                    hint=f"restore the `{END}` line, or remove the group by hand",
                )
            spans.append((index, end))
            index = end
        index += 1
    return spans


def strip_groups(lines: list[str]) -> list[str]:
    """``lines`` without our groups (a redirect we added does not belong in a copy)."""
    spans = find_groups(lines, 1, len(lines))
    kept = list(lines)
    for start, end in sorted(spans, reverse=True):
        del kept[start:end + 1]
    return kept


def redirects(text: str, vhost: VHost) -> list[Redirect]:
    """Redirects to https in the vhost, and whether each first tests the scheme."""
    lines = text.split("\n")[vhost.line:vhost.close - 1]
    found: list[Redirect] = []
    for node, conditions in _redirect_rules(parse_text("\n".join(lines))):
        tested = any(c.args and c.args[0].lower().startswith(_SCHEME_TESTS) for c in conditions)
        first = conditions[0].line if conditions else node.line
        found.append(Redirect(vhost.line + first, tested))
    return found


def child_indent(lines: list[str], vhost: VHost) -> str:
    """The indentation the vhost's own lines use (tabs or spaces)."""
    for line in lines[vhost.line:vhost.close - 1]:
        if line.strip() and not line.strip().startswith("#"):
            return line[:len(line) - len(line.lstrip(" \t"))]
    return "\t"


def _redirect_rules(nodes: list[Node]):
    """(redirect, the RewriteConds before it) for every redirect to https."""
    conditions: list[Node] = []
    for node in _flat(nodes):
        if node.name == "rewritecond":
            conditions.append(node)
            continue
        if node.name == "rewriterule" and len(node.args) > 1 \
                and node.args[1].lower().startswith("https://"):
            yield node, conditions
        elif node.name in _REDIRECTS and any(a.lower().startswith("https://") for a in node.args):
            yield node, []
        conditions = []


def _drop_loops(body: list[str]) -> tuple[list[str], list[int]]:
    """Comment out redirects to https that do not test the scheme; their line offsets."""
    kept = list(body)
    dropped: list[int] = []
    for node, conditions in _redirect_rules(parse_text("\n".join(body))):
        tested = any(c.args and c.args[0].lower().startswith(_SCHEME_TESTS) for c in conditions)
        if tested:
            continue
        dropped.append((conditions[0] if conditions else node).line)
        for item in (*conditions, node):
            for number in range(item.line, item.last + 1):
                line = kept[number - 1]
                head = line[:len(line) - len(line.lstrip(" \t"))]
                kept[number - 1] = head + _DROPPED + line.lstrip(" \t")
    return kept, dropped


def _flat(nodes: list[Node]):
    for node in nodes:
        yield node
        if node.children:
            yield from _flat(node.children)


def _retarget(lines: list[str], spans: list[tuple[int, int]], path: Path) -> str:
    """Point the Include of our group at ``path`` (usually already does)."""
    start, end = spans[0]
    for index in range(start + 1, end):
        match = re.match(r"^(\s*)Include\s+\S.*?(\r?)$", lines[index])
        if match:
            lines[index] = f"{match.group(1)}Include {_quote(path)}{match.group(2)}"
    return "\n".join(lines)


def _tls_addresses(addresses: list[str]) -> list[str]:
    """``*:80`` -> ``*:443``; ``[::]:80`` -> ``[::]:443``; ``*`` -> ``*:443``."""
    out: list[str] = []
    for address in addresses:
        host = re.sub(r":\d+$", "", address) if not address.endswith("]") else address
        moved = f"{host}:443"
        if moved not in out:
            out.append(moved)
    return out or ["*:443"]


def _comment(line: str) -> str:
    head = line[:len(line) - len(line.lstrip(" \t"))]
    return head + OFF + line[len(head):]


def _uncomment(line: str) -> str:
    head = line[:len(line) - len(line.lstrip(" \t"))]
    rest = line[len(head):]
    return head + rest[len(OFF):] if rest.startswith(OFF) else line


def _eol(lines: list[str]) -> str:
    """The file's line end: CRLF files get CRLF lines from us too."""
    return "\r" if len(lines) > 1 and lines[0].endswith("\r") else ""


def _quote(path: Path) -> str:
    value = str(path)
    return f'"{value}"' if re.search(r"\s", value) else value
