"""Where directives sit in the bytes of an nginx file.

crossplane tells us what a configuration means, but only by line number, and
its builder would reformat a file and drop its comments. Edits are therefore
made on the original text, and this module finds the exact offsets they need:
a small lexer that follows the same rules as nginx (and crossplane), and a
tree of directives with the offset where each starts and ends.

Files are decoded with ``surrogateescape`` so that any byte sequence comes
back out unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ENCODING = "utf-8"
ERRORS = "surrogateescape"


@dataclass
class Node:
    """One directive, with offsets into the file's text."""

    name: str
    args: list[str]
    line: int                   # 1-based line of the directive's name
    start: int                  # offset of the directive's name
    end: int                    # offset just past its ';' or closing '}'
    open: int | None = None     # offset just past '{' for a block
    close: int | None = None    # offset of the closing '}' for a block
    children: list[Node] = field(default_factory=list)


@dataclass(frozen=True)
class _Token:
    text: str
    start: int
    end: int
    line: int
    quoted: bool


def decode(data: bytes) -> str:
    return data.decode(ENCODING, ERRORS)


def encode(text: str) -> bytes:
    return text.encode(ENCODING, ERRORS)


def parse_text(text: str) -> list[Node]:
    """The directive tree of one file (top level)."""
    root: list[Node] = []
    stack: list[Node] = []
    words: list[_Token] = []

    for token in _tokens(text):
        children = stack[-1].children if stack else root
        if token.quoted or token.text not in ";{}":
            words.append(token)
        elif token.text == ";":
            if words:
                children.append(_node(words, token.end))
            words = []
        elif token.text == "{":
            node = _node(words, token.end) if words else _node([token], token.end)
            node.open = token.end
            children.append(node)
            stack.append(node)
            words = []
        elif stack:
            node = stack.pop()
            node.close = token.start
            node.end = token.end
            words = []
    return root


def find_block(nodes: list[Node], name: str, line: int) -> Node | None:
    """The block directive ``name`` that starts on ``line``, at any depth."""
    for node in nodes:
        if node.name == name and node.line == line and node.open is not None:
            return node
        found = find_block(node.children, name, line)
        if found is not None:
            return found
    return None


def line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def line_end(text: str, offset: int) -> int:
    """Offset just past the newline that ends the line holding ``offset``."""
    end = text.find("\n", offset)
    return len(text) if end < 0 else end + 1


def indent_of(text: str, offset: int) -> str:
    """The whitespace before ``offset`` on its line, if only whitespace is there."""
    start = line_start(text, offset)
    head = text[start:offset]
    return head if head.strip() == "" else ""


def alone_on_lines(text: str, node: Node) -> bool:
    """True when nothing but whitespace and a comment shares the directive's lines."""
    before = text[line_start(text, node.start):node.start]
    after = text[node.end:line_end(text, node.end)]
    return before.strip() == "" and (after.strip() == "" or after.lstrip().startswith("#"))


def _node(words: list[_Token], end: int) -> Node:
    head = words[0]
    return Node(
        name=head.text,
        args=[word.text for word in words[1:]],
        line=head.line,
        start=head.start,
        end=end,
    )


def _tokens(text: str):
    """Tokens with offsets, by the rules of nginx's own reader."""
    i, line, size = 0, 1, len(text)
    while i < size:
        char = text[i]
        if char.isspace():
            line += char == "\n"
            i += 1
        elif char == "#":
            # a comment runs to the end of the line and is not a token
            i = text.find("\n", i)
            i = size if i < 0 else i
        elif char in ";{}":
            yield _Token(char, i, i + 1, line, False)
            i += 1
        elif char in "\"'":
            end = _quoted_end(text, i)
            yield _Token(text[i + 1:end - 1], i, end, line, True)
            line += text.count("\n", i, end)
            i = end
        else:
            end = _word_end(text, i)
            yield _Token(text[i:end], i, end, line, False)
            line += text.count("\n", i, end)
            i = end


def _quoted_end(text: str, start: int) -> int:
    quote, i = text[start], start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    return len(text)


def _word_end(text: str, start: int) -> int:
    i = start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "{" and i > start and text[i - 1] == "$":
            # "${var}" is one word, its braces are not a block
            close = text.find("}", i)
            i = len(text) if close < 0 else close + 1
            continue
        if char.isspace() or char in ";{}":
            return i
        i += 1
    return i
