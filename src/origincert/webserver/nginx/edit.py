"""The text edits that make one server block serve a certificate, and undo it.

Edits are insertions into the user's own bytes, never a rewrite of the file:

- a marked group after the block's ``server_name`` line, holding the listen
  lines the block needs and the include of origincert's file;
- directives that would clash with ours (another certificate, OCSP
  stapling, a ``listen 443`` without ``ssl``) commented out with a fixed
  prefix, so that uninstall can restore them exactly.

Uninstall removes the group and the prefixes, which gives back the original
bytes; nothing else in the file is touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from origincert.errors import WebServerError
from origincert.webserver.nginx.config import CERT_DIRECTIVES, Block, parse_listen
from origincert.webserver.nginx.text import (
    Node,
    alone_on_lines,
    indent_of,
    line_end,
    line_start,
)

BEGIN = "# origincert: begin (managed by origincert; undo with `origincert uninstall`)"
END = "# origincert: end"
# Ends a group that had to be put inside a line; uninstall joins the line again.
END_JOINED = "# origincert: end (rejoin the line on uninstall)"
OFF = "# origincert-off: "

REDIRECT = "if ($scheme = http) { return 301 https://$host$request_uri; }"

_GROUP = re.compile(
    r"^[ \t]*" + re.escape(BEGIN) + r"\n(?:.*\n)*?[ \t]*(# origincert: end[^\n]*)(?:\n|$)",
    re.MULTILINE,
)
# An edit: the offsets to insert at, how much to delete there, what to insert.
_Edit = tuple[list[int], int, str]

_OFF_LINE = re.compile(r"^([ \t]*)" + re.escape(OFF), re.MULTILINE)


class CertificateInUseError(WebServerError):
    """The block already serves another certificate and ``replace`` was not given."""


@dataclass
class BlockEdit:
    """The new text of a file after editing one block, and what to tell the user."""

    text: str
    notes: list[str] = field(default_factory=list)


def install_block(
    text: str,
    node: Node,
    block: Block,
    *,
    include: str,
    redirect: bool,
    replace: bool,
    bound_tls: frozenset[tuple[str, int]] = frozenset(),
) -> BlockEdit:
    """Make ``block`` (at ``node`` in ``text``) include ``include`` over HTTPS.

    ``bound_tls`` holds the (address, port) TLS sockets other blocks already bind.
    """
    current = find_group(text, node)
    if current is not None:
        return _retarget(text, current, include)

    _refuse_other_certificate(block, replace)
    notes: list[str] = []
    off = _directives_to_comment(node, block)
    listens, fixed = _listen_lines(node, bound_tls)
    off += fixed
    lines = [*listens]
    if redirect and _has_plain_listen(node, fixed):
        lines.append(REDIRECT)
        notes.append(f"{block.where}: plain HTTP now redirects to HTTPS")
    elif redirect:
        notes.append(f"{block.where}: no plain-HTTP listener here, so no redirect was added")
    lines.append(f"include {include};")

    edits = [_comment_edit(text, item, block) for item in off]
    edits.append(_group_edit(text, node, lines))
    if any(item.name != "listen" for item in off):
        notes.append(f"{block.where}: the previous certificate lines are commented out")
    return BlockEdit(_apply(text, edits), notes)


def uninstall_block(text: str, node: Node, *, include: str) -> str | None:
    """``text`` with our group for ``include`` taken out of the block; None if absent."""
    group = find_group(text, node)
    if group is None or f"include {include};" not in text[group[0]:group[1]]:
        return None

    start, end = group
    text = text[:start] + text[end:]

    # the lines we commented out are in the block, which is now shorter
    block_end = node.end - (end - start)
    inside = _OFF_LINE.sub(r"\1", text[node.start:block_end])
    return text[:node.start] + inside + text[block_end:]


def find_group(text: str, node: Node) -> tuple[int, int] | None:
    """Offsets of our group inside the block (with a joined line's newline)."""
    match = _GROUP.search(text, node.open or node.start, node.close or node.end)
    if match is None:
        return None
    start, end = match.start(), match.end()
    if match.group(1).startswith(END_JOINED):
        start -= 1
    return start, end


def _retarget(text: str, group: tuple[int, int], include: str) -> BlockEdit:
    """A block we already manage: point its include at ``include`` (often no change)."""
    start, end = group
    inside = re.sub(r"include [^;]*;", lambda _: f"include {include};", text[start:end],
                    count=1)
    return BlockEdit(text[:start] + inside + text[end:])


def _refuse_other_certificate(block: Block, replace: bool) -> None:
    if replace or block.certificate is None:
        return
    raise CertificateInUseError(
        f"{block.where} already serves the certificate {block.certificate}",
        hint="pass --replace to switch it to the Origin CA certificate",
    )


def _directives_to_comment(node: Node, block: Block) -> list[Node]:
    """Certificate directives of the block, and includes that only bring them."""
    found = [child for child in node.children if child.name in CERT_DIRECTIVES]
    for included in block.included_certs:
        child = _child_at(node, "include", included.line)
        if child is None or not included.only_cert:
            names = ", ".join(str(path) for path in included.files)
            raise WebServerError(
                f"{block.where}: the certificate comes from {names}, which sets other things too",
                hint="move its ssl_certificate lines into the server block, then try again",
            )
        found.append(child)
    return found


def _listen_lines(node: Node, bound_tls: frozenset[tuple[str, int]] = frozenset()
                  ) -> tuple[list[str], list[Node]]:
    """The listen lines to add, and the ``listen 443`` lines without ssl they fix.

    A block whose plain listener is bound to one address gets a TLS listener on
    every address, unless other blocks already bind that address on 443: nginx
    picks blocks by address first, so a new ``203.0.113.10:443`` listener would
    take every TLS connection to that address away from the blocks that listen
    on ``*:443`` (their names would meet this block's certificate: 526).
    """
    sockets = [(child, parse_listen(child.args)) for child in node.children
               if child.name == "listen"]
    sockets = [(child, listen) for child, listen in sockets if listen is not None]
    if any(listen.ssl for _, listen in sockets):
        return [], []

    lines: list[str] = []
    fixed: list[Node] = []
    for child, listen in sockets:
        if listen.port == 443:
            # field case C23: a TLS port that speaks plain HTTP
            fixed.append(child)
            params = [arg for arg in child.args[1:] if arg != "http2"]
            line = " ".join(["listen", child.args[0], "ssl", *params]) + ";"
        else:
            address = listen.address if (listen.address, 443) in bound_tls else None
            line = f"listen {_tls_address(address, listen.ipv6)}443 ssl;"
        if line not in lines:
            lines.append(line)
    return (lines or ["listen 443 ssl;"]), fixed


def _tls_address(address: str | None, ipv6: bool) -> str:
    if ipv6:
        return f"[{address or '::'}]:"
    return f"{address}:" if address else ""


def _has_plain_listen(node: Node, fixed: list[Node]) -> bool:
    listens = [(c, parse_listen(c.args)) for c in node.children if c.name == "listen"]
    plain = [c for c, listen in listens if listen and not listen.ssl and c not in fixed]
    return bool(plain) or not listens


def _child_at(node: Node, name: str, line: int) -> Node | None:
    return next((c for c in node.children if c.name == name and c.line == line), None)


def _comment_edit(text: str, item: Node, block: Block) -> _Edit:
    """Put OFF before every line of ``item``; it must be alone on its lines."""
    if not alone_on_lines(text, item):
        raise WebServerError(
            f"{block.file}:{item.line}: `{item.name}` shares its line with other directives",
            hint=f"put `{item.name}` on a line of its own, then try again",
        )
    offsets = []
    cursor = line_start(text, item.start)
    while cursor < item.end:
        first = cursor + len(text[cursor:]) - len(text[cursor:].lstrip(" \t"))
        offsets.append(first)
        cursor = line_end(text, cursor)
    return offsets, 0, OFF


def _group_edit(text: str, node: Node, lines: list[str]) -> _Edit:
    """Insert the marked group after ``server_name`` (or after ``{``)."""
    anchor = next((c for c in node.children if c.name == "server_name"), None)
    after = anchor.end if anchor else node.open
    indent = _child_indent(text, node)
    rest = text[after:line_end(text, after)]

    if rest.strip() == "" or rest.lstrip().startswith("#"):
        body = [BEGIN, *lines, END]
        group = "".join(f"{indent}{line}\n" for line in body)
        return [line_end(text, after)], 0, group
    body = [BEGIN, *lines, END_JOINED]
    return [after], 0, "\n" + "".join(f"{indent}{line}\n" for line in body)


def _child_indent(text: str, node: Node) -> str:
    """The indentation the block's own lines use (tabs or spaces)."""
    for child in node.children:
        start = line_start(text, child.start)
        head = text[start:child.start]
        if start > (node.open or 0) and head.strip() == "":
            return head
    outer = indent_of(text, node.start)
    return outer + ("\t" if "\t" in outer else "    ")


def _apply(text: str, edits: list[_Edit]) -> str:
    inserts = sorted(((o, n, s) for offsets, n, s in edits for o in offsets), reverse=True)
    for offset, length, insert in inserts:
        text = text[:offset] + insert + text[offset + length:]
    return text
