"""The edge's own error pages: HTML, RFC 9457 JSON or Markdown, chosen by `Accept`.

Since 2026-04-27 Cloudflare answers `Accept: application/json` (or
`application/problem+json`) on its 5xx pages with RFC 9457 JSON carrying `type`, `status`,
`title`, `detail`, `instance` (the Ray ID), `error_code` and `error_category`; 525 and 526
are in category "ssl" and have no Retry-After (fact sheet §11). The other categories, the
`type` URLs and the 530 page for names the edge does not serve are the sandbox's choices
(UNCONFIRMED).
"""

from __future__ import annotations

import html
import json
from typing import NamedTuple

_DOCS = "https://developers.cloudflare.com/support/troubleshooting/http-status-codes/"


class _Kind(NamedTuple):
    status: int
    title: str
    category: str
    where: str  # what broke, for the HTML page: "browser", "cloudflare" or "host"


# keyed by Cloudflare's error code: 52x codes are the status; 1xxx codes are served as 530
KINDS = {
    520: _Kind(520, "Web server is returning an unknown error", "origin", "host"),
    521: _Kind(521, "Web server is down", "origin", "host"),
    522: _Kind(522, "Connection timed out", "origin", "host"),
    523: _Kind(523, "Origin is unreachable", "origin", "host"),
    524: _Kind(524, "A timeout occurred", "origin", "host"),
    525: _Kind(525, "SSL handshake failed", "ssl", "host"),
    526: _Kind(526, "Invalid SSL certificate", "ssl", "host"),
    1001: _Kind(530, "DNS resolution error", "dns", "cloudflare"),
    1016: _Kind(530, "Origin DNS error", "dns", "host"),
}


class EdgeError(Exception):
    """The edge answers with its own error page instead of the origin's response."""

    def __init__(self, error_code: int, detail: str) -> None:
        super().__init__(f"{error_code}: {detail}")
        self.error_code = error_code
        self.detail = detail

    @property
    def status(self) -> int:
        return KINDS[self.error_code].status


def render(err: EdgeError, hostname: str, ray: str, accept: str) -> tuple[str, bytes]:
    """(content type, body) of the error page for a visitor sending `accept`."""
    kind = KINDS[err.error_code]
    wanted = accept.lower()
    if "application/problem+json" in wanted or "application/json" in wanted:
        media = "application/problem+json" if "problem+json" in wanted else "application/json"
        return media, _json(err, kind, ray)
    if "text/markdown" in wanted:
        return "text/markdown; charset=utf-8", _markdown(err, kind, hostname, ray)
    return "text/html; charset=UTF-8", _html(err, kind, hostname, ray)


def _type_url(code: int) -> str:
    family = "cloudflare-5xx-errors" if code < 1000 else "cloudflare-1xxx-errors"
    return f"{_DOCS}{family}/error-{code}/"


def _json(err: EdgeError, kind: _Kind, ray: str) -> bytes:
    body = {
        "type": _type_url(err.error_code),
        "title": kind.title,
        "status": kind.status,
        "detail": err.detail,
        "instance": ray,
        "error_code": err.error_code,
        "error_category": kind.category,
    }
    return json.dumps(body).encode("utf-8")


def _markdown(err: EdgeError, kind: _Kind, hostname: str, ray: str) -> bytes:
    text = (f"# Error {err.error_code}: {kind.title}\n\n{err.detail}\n\n"
            f"- Host: {hostname}\n- Cloudflare Ray ID: {ray}\n")
    return text.encode("utf-8")


def _html(err: EdgeError, kind: _Kind, hostname: str, ray: str) -> bytes:
    host, title = html.escape(hostname), html.escape(kind.title)
    steps = "".join(
        f'<div class="cf-step{" cf-error" if where == kind.where else ""}">'
        f"<span>{label}</span> {'Error' if where == kind.where else 'Working'}</div>"
        for where, label in (("browser", "You: Browser"), ("cloudflare", "Sandbox edge"),
                             ("host", f"{host}: Host"))
    )
    page = f"""<!DOCTYPE html>
<html lang="en-US">
<head><meta charset="UTF-8"><title>{host} | {err.error_code}: {title}</title></head>
<body>
<div id="cf-wrapper">
<h1><span class="cf-error-type">{title}</span>
<span class="cf-error-code">Error code {err.error_code}</span></h1>
<div class="cf-steps">{steps}</div>
<h2>What happened?</h2>
<p>{html.escape(err.detail)}</p>
<p>Visit <a href="https://www.cloudflare.com/">cloudflare.com</a> for more information.</p>
<p class="cf-footer">Cloudflare Ray ID: <strong>{html.escape(ray)}</strong> &bull;
Served by the origincert sandbox edge, not by Cloudflare</p>
</div>
</body>
</html>
"""
    return page.encode("utf-8")
