"""The text edits that make one Caddy site block serve a certificate, and undo it.

Edits are insertions into the user's own bytes, never a rewrite:

- a marked group on the lines right after the block's ``{``, holding one
  ``import`` of origincert's snippet file (which holds the ``tls`` line);
- with ``replace``, the site's own ``tls <certificate> <key>`` directive
  (with its sub-block, if any) commented out with a fixed prefix.

Uninstall removes the group and the prefixes, which gives back the original
bytes; nothing else in the file is touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from origincert.errors import WebServerError
from origincert.webserver.caddy.caddyfile import Directive, SiteBlock

BEGIN = "# origincert: begin (managed by origincert; undo with `origincert uninstall`)"
END = "# origincert: end"
OFF = "# origincert-off: "

_GROUP = re.compile(
    r"^[ \t]*" + re.escape(BEGIN) + r"\n(?:.*\n)*?[ \t]*" + re.escape(END) + r"[^\n]*(?:\n|$)",
    re.MULTILINE,
)
_IMPORT = re.compile(r"^([ \t]*)import[ \t]+(\S.*?)[ \t]*$", re.MULTILINE)
_OFF_LINE = re.compile(r"^([ \t]*)" + re.escape(OFF), re.MULTILINE)


class CertificateInUseError(WebServerError):
    """The site already serves its own certificate and ``replace`` was not given."""


@dataclass
class BlockEdit:
    """The new text of a file after editing one block, and what to tell the user."""

    text: str
    notes: list[str] = field(default_factory=list)


def install_block(text: str, block: SiteBlock, *, include: str, replace: bool) -> BlockEdit:
    """Make ``block`` import ``include`` (a file holding our ``tls`` line)."""
    _require_braces(block)
    group = find_group(text, block)
    if group is not None:
        return BlockEdit(_retarget(text, group, include))

    notes: list[str] = []
    own = own_certificates(block)
    if own and not replace:
        raise CertificateInUseError(
            f"{block.where} already serves its own certificate ({' '.join(own[0].args)})",
            hint="pass --replace to switch it to the Origin CA certificate",
        )
    for directive in own:
        text = _comment_out(text, directive)
        notes.append(f"{block.file}:{directive.line}: the site's own `tls` line is commented "
                     "out; uninstall restores it")
    for directive in other_tls(block):
        notes.append(f"{block.file}:{directive.line}: the site's `tls {' '.join(directive.args)}` "
                     "stays; Caddy merges it with origincert's `tls` line")

    # the block is unchanged up to its "{", so its offsets still hold there
    at = _line_end(text, block.open)
    indent = _child_indent(text, block)
    lines = [BEGIN, f"import {include}", END]
    text = text[:at] + "".join(f"{indent}{line}\n" for line in lines) + text[at:]
    return BlockEdit(text, notes)


def uninstall_block(text: str, block: SiteBlock, *, include: str) -> str | None:
    """``text`` without our group for ``include`` in ``block``; None if it is not there."""
    group = find_group(text, block)
    if group is None or imported(text[group[0]:group[1]]) != include:
        return None

    start, end = group
    text = text[:start] + text[end:]
    close = block.close - (end - start)
    inside = _OFF_LINE.sub(r"\1", text[block.open:close])
    return text[:block.open] + inside + text[close:]


def find_group(text: str, block: SiteBlock) -> tuple[int, int] | None:
    """Offsets of our marked group inside ``block``, if it is there."""
    if block.open is None or block.close is None:
        return None
    match = _GROUP.search(text, block.open, block.close)
    return (match.start(), match.end()) if match else None


def imported(group: str) -> str | None:
    """The path our group imports, as written."""
    match = _IMPORT.search(group)
    return match.group(2) if match else None


def own_certificates(block: SiteBlock) -> list[Directive]:
    """``tls <certificate> <key>`` directives: the user's own certificate files."""
    return [d for d in block.directives if d.name == "tls" and len(d.args) == 2]


def other_tls(block: SiteBlock) -> list[Directive]:
    """``tls internal``, ``tls <email>``, ``tls { ... }``: settings, not certificate files."""
    return [d for d in block.directives if d.name == "tls" and len(d.args) != 2]


def _require_braces(block: SiteBlock) -> None:
    if block.open is None:
        raise WebServerError(
            f"{block.where}: the site has no braces, so origincert cannot add to it safely",
            hint="put the site's directives inside `{` and `}`, then try again",
        )


def _retarget(text: str, group: tuple[int, int], include: str) -> str:
    """A block we already manage: point its import at ``include`` (often no change)."""
    start, end = group
    inside = _IMPORT.sub(lambda m: f"{m.group(1)}import {include}", text[start:end], 1)
    return text[:start] + inside + text[end:]


def _comment_out(text: str, directive: Directive) -> str:
    """Put OFF before the first non-blank character of every line of ``directive``."""
    offsets = []
    cursor = _line_start(text, directive.start)
    if text[cursor:directive.start].strip():
        raise WebServerError(
            f"line {directive.line}: `tls` shares its line with other tokens",
            hint="put `tls` on a line of its own, then try again",
        )
    while cursor < directive.end:
        line = text[cursor:_line_end(text, cursor)]
        if line.strip():
            offsets.append(cursor + len(line) - len(line.lstrip(" \t")))
        cursor = _line_end(text, cursor)
    for offset in reversed(offsets):
        text = text[:offset] + OFF + text[offset:]
    return text


def _child_indent(text: str, block: SiteBlock) -> str:
    """The indentation the block's own lines use (tabs or spaces)."""
    for directive in block.directives:
        head = text[_line_start(text, directive.start):directive.start]
        if not head.strip():
            return head
    key_line = text[_line_start(text, block.open):block.open]
    outer = key_line[:len(key_line) - len(key_line.lstrip(" \t"))]
    return outer + ("    " if outer.startswith(" ") else "\t")


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def _line_end(text: str, offset: int) -> int:
    """The offset just after the newline that ends the line holding ``offset``."""
    found = text.find("\n", offset)
    return len(text) if found < 0 else found + 1
