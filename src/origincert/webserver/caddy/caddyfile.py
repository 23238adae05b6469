"""Where things are in a Caddyfile's text: its site blocks and their directives.

Caddy itself (``caddy adapt``) says what a Caddyfile means; this module only
finds where each site block sits in the bytes, so that edits can be small
insertions. It follows Caddy's lexer: tokens split on whitespace, ``"..."``
and backtick strings, ``#`` starting a comment at the start of a token, and
``{``/``}`` as tokens of their own. At the top level a block is the global
options block (no keys), a snippet (``(name)``), or a site block (addresses,
possibly over several lines joined by trailing commas). Top-level ``import``
lines of files are followed, as Caddy follows them.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

from origincert.errors import WebServerError


@dataclass(frozen=True)
class Token:
    text: str
    line: int
    start: int   # offset in the file's text
    end: int
    quoted: bool = False


@dataclass(frozen=True)
class Directive:
    """One directive inside a site block, with its sub-block if it has one."""

    name: str
    args: tuple[str, ...]
    line: int
    start: int   # offset of its first token
    end: int     # offset after its last token (the closing brace of a sub-block)


@dataclass
class SiteBlock:
    """A site block: its address tokens and where its braces are."""

    file: Path
    line: int                     # the line of its first address
    addresses: tuple[str, ...]
    open: int | None              # offset of ``{`` (None: a site without braces)
    close: int | None             # offset of the matching ``}``
    directives: list[Directive] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def read_site_blocks(caddyfile: Path) -> list[SiteBlock]:
    """Every site block of ``caddyfile`` and of the files it imports at the top level."""
    return _read(Path(caddyfile).absolute(), seen=set())


def read_text(path: Path) -> str:
    """A config file's text; bytes that are not UTF-8 survive a round trip unchanged."""
    try:
        return decode(Path(path).read_bytes())
    except OSError as err:
        raise WebServerError(f"cannot read {path}: {err.strerror}") from err


def decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, line, size = 0, 1, len(text)
    while i < size:
        char = text[i]
        if char == "\n":
            line += 1
            i += 1
        elif char in " \t\r":
            i += 1
        elif char == "#":
            while i < size and text[i] != "\n":
                i += 1
        elif char in "\"`":
            end = _closing_quote(text, i)
            tokens.append(Token(text[i + 1:end], line, i, end + 1, quoted=True))
            line += text.count("\n", i, end)
            i = end + 1
        else:
            start = i
            while i < size and text[i] not in " \t\r\n":
                i += 1
            tokens.append(Token(text[start:i], line, start, i))
    return tokens


def _closing_quote(text: str, start: int) -> int:
    quote, i = text[start], start + 1
    while i < len(text):
        if text[i] == "\\" and quote == '"':
            i += 2
            continue
        if text[i] == quote:
            return i
        i += 1
    raise WebServerError(f"an unclosed {quote} string starts at offset {start}",
                         hint="caddy validate names the place")


def _read(path: Path, seen: set[Path]) -> list[SiteBlock]:
    if path in seen:
        return []
    seen.add(path)
    text = read_text(path)

    tokens = tokenize(text)
    lines = _by_line(tokens)
    blocks: list[SiteBlock] = []
    index = 0
    first = True
    while index < len(tokens):
        token = tokens[index]
        if token.text == "{" and first and not token.quoted:
            index = _skip_block(tokens, index)          # global options
        elif token.text == "import" and not token.quoted:
            args = [t.text for t in lines[token.line] if t.start > token.start]
            blocks += _imported(path, args, seen)
            index += 1 + len(args)
        else:
            block, index = _key_block(path, tokens, index)
            if block is not None:
                blocks.append(block)
        first = False
    return blocks


def _key_block(path: Path, tokens: list[Token], index: int) -> tuple[SiteBlock | None, int]:
    """The block whose keys start at ``index``; snippets give None."""
    keys: list[Token] = []
    while index < len(tokens):
        token = tokens[index]
        if token.text == "{" and not token.quoted:
            break
        keys.append(token)
        index += 1
        at_line_end = index >= len(tokens) or tokens[index].line != token.line
        if at_line_end and not token.text.endswith(","):
            break
    opened = index < len(tokens) and tokens[index].text == "{" and not tokens[index].quoted
    if not keys:
        return None, _skip_block(tokens, index)
    addresses = tuple(part for key in keys for part in key.text.split(",") if part)

    if not opened:
        # a single site without braces: the rest of the file is its body
        body = tokens[index:]
        block = SiteBlock(path, keys[0].line, addresses, None, None, _directives(body))
        return block, len(tokens)
    end = _skip_block(tokens, index)
    if keys[0].text.startswith("(") and keys[0].text.endswith(")"):
        return None, end
    open_token, close_token = tokens[index], tokens[end - 1]
    body = tokens[index + 1:end - 1]
    block = SiteBlock(path, keys[0].line, addresses, open_token.start, close_token.start,
                      _directives(body))
    return block, end


def _skip_block(tokens: list[Token], index: int) -> int:
    """The index after the ``}`` that closes the ``{`` at ``index``."""
    depth = 0
    for position in range(index, len(tokens)):
        token = tokens[position]
        if token.quoted:
            continue
        if token.text == "{":
            depth += 1
        elif token.text == "}":
            depth -= 1
            if depth == 0:
                return position + 1
    raise WebServerError(f"a block opened on line {tokens[index].line} is never closed",
                         hint="caddy validate names the place")


def _directives(body: list[Token]) -> list[Directive]:
    """The directives at the top of a block body: one per line, with sub-blocks."""
    found: list[Directive] = []
    index = 0
    while index < len(body):
        head = body[index]
        args: list[str] = []
        index += 1
        end = head.end
        while index < len(body) and body[index].line == head.line:
            token = body[index]
            if token.text == "{" and not token.quoted:
                index = _skip_block(body, index)
                end = body[index - 1].end
                break
            args.append(token.text)
            end = token.end
            index += 1
        found.append(Directive(head.text, tuple(args), head.line, head.start, end))
    return found


def _imported(path: Path, args: list[str], seen: set[Path]) -> list[SiteBlock]:
    """Site blocks of the files a top-level ``import`` names (snippets are skipped)."""
    if not args or args[0].startswith("(") or len(args) > 1:
        return []
    pattern = Path(args[0])
    if not pattern.is_absolute():
        pattern = path.parent / pattern
    blocks: list[SiteBlock] = []
    for name in sorted(glob.glob(str(pattern))):
        found = Path(name)
        if found.is_file():
            blocks += _read(found, seen)
    return blocks


def _by_line(tokens: list[Token]) -> dict[int, list[Token]]:
    lines: dict[int, list[Token]] = {}
    for token in tokens:
        lines.setdefault(token.line, []).append(token)
    return lines
