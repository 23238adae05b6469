"""Automatic HTTPS Rewrites, kept simple.

Cloudflare rewrites `http://` links to `https://` in HTML when it knows the target serves
HTTPS. The sandbox rewrites only what it can know for sure: `src` and `href` attribute
values (quoted or not) whose host is a proxied hostname of the same zone that the edge
certificate covers. Everything else (inline scripts, CSS `url()`, `srcset`, JSON, other
zones) is left alone, like the gaps field case C05 describes.
"""

from __future__ import annotations

import re
from typing import Callable

_LINK = re.compile(
    rb"""(?P<lead>\b(?:src|href)\s*=\s*["']?)http://(?P<host>[A-Za-z0-9.\-]+)(?=[/"'\s>?#]|$)""",
    re.IGNORECASE,
)


def rewrite_links(body: bytes, upgradable: Callable[[str], bool]) -> bytes:
    """`body` with http:// src/href links to hosts where `upgradable(host)` is true
    turned into https://."""

    def replace(match: re.Match) -> bytes:
        host = match.group("host").decode("ascii").lower()
        if not upgradable(host):
            return match.group(0)
        return match.group("lead") + b"https://" + match.group("host")

    return _LINK.sub(replace, body)


def is_html(content_type: str | None) -> bool:
    return content_type is not None and content_type.split(";")[0].strip().lower() == "text/html"
