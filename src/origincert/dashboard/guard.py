"""The gate every request passes before any route: who asks, CSRF, security headers.

Refusal is the default. Only the paths in ``PUBLIC`` (log in, first-run
setup, static files, the OpenAPI document) are open without a session; every
other page answers 303 to the login page and every other API route 401, so a
route added later is protected without anyone remembering to.

Changes (POST, PUT, PATCH, DELETE) made with a session cookie must carry the
session's CSRF token, in the ``csrf_token`` form field or the ``X-CSRF-Token``
header; before login, the login and setup forms carry a token bound to a
cookie of their own. Requests with an API token (``Authorization: Bearer``)
are exempt: a browser never adds that header by itself. It is honoured under
``/api/`` only.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, quote

import anyio.to_thread
from starlette.requests import Request

from origincert.dashboard.users import Principal, Users

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "origincert_session"
FORM_COOKIE = "origincert_form"  # the CSRF token of the login and setup forms
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
PUBLIC = ("/login", "/setup", "/api/v1/openapi.json")
PUBLIC_PREFIXES = ("/static/",)
FORM_PATHS = ("/login", "/setup")  # public forms, checked against FORM_COOKIE
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
MAX_FORM = 1 << 20

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def is_public(path: str) -> bool:
    return path in PUBLIC or path.startswith(PUBLIC_PREFIXES)


class Guard:
    """Pure ASGI middleware: nothing reaches a route before it has passed here."""

    def __init__(self, app: ASGIApp, users: Users, *, tls: bool = False) -> None:
        self.app = app
        self.users = users
        self.tls = tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._with_headers(send)
        request = Request(scope)
        path, api = scope["path"], scope["path"].startswith("/api/")

        principal, bad_token = await self._principal(request, api)
        if bad_token or (principal is None and not is_public(path)):
            await self._unauthenticated(scope, send, api)
            return

        if scope["method"] in UNSAFE and (principal is None or principal.kind == "session"):
            body, receive = await _buffer(receive)
            if body is None:
                await _refuse(send, 413, "too_large", "the request body is too large", api)
                return
            if not _csrf_ok(request, body, principal, path):
                await _refuse(send, 403, "csrf", "the request lacks a valid CSRF token",
                              api, "reload the page and try again")
                return

        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    async def _principal(self, request: Request, api: bool) -> tuple[Principal | None, bool]:
        """The principal, and whether a bearer token was given and refused."""
        header = request.headers.get("authorization", "")
        if api and header:
            scheme, _, value = header.partition(" ")
            found = None
            if scheme.lower() == "bearer" and value.strip():
                found = await anyio.to_thread.run_sync(self.users.token_principal,
                                                       value.strip())
            return found, found is None
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None, False
        return await anyio.to_thread.run_sync(self.users.session_principal, cookie), False

    async def _unauthenticated(self, scope: Scope, send: Send, api: bool) -> None:
        if api:
            await _refuse(send, 401, "unauthorized",
                          "this API needs an API token or a dashboard session", True,
                          "send 'Authorization: Bearer TOKEN'; create one with "
                          "'origincert serve --create-token NAME'",
                          extra=[(b"www-authenticate", b"Bearer")])
            return
        has_admin = await anyio.to_thread.run_sync(self.users.has_admin)
        target = "/login" if has_admin else "/setup"
        if has_admin and scope["method"] == "GET" and scope["path"] != "/":
            target += "?next=" + quote(scope["path"], safe="/")
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", target.encode()), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    def _with_headers(self, send: Send) -> Send:
        extra = [(b"content-security-policy", CSP.encode()),
                 (b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                 (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store")]
        if self.tls:
            extra.append((b"strict-transport-security", b"max-age=31536000"))

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (name, value) for name, value in extra if name not in names]
            await send(message)
        return sending


def _csrf_ok(request: Request, body: bytes, principal: Principal | None, path: str) -> bool:
    if principal is not None and path not in FORM_PATHS:
        expected = principal.csrf_token
    else:
        expected = request.cookies.get(FORM_COOKIE)
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None and request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"):
        fields = parse_qs(body.decode("latin-1"), max_num_fields=200)
        supplied = (fields.get(CSRF_FIELD) or [None])[0]
    if not expected or not supplied:
        return False
    return hmac.compare_digest(expected.encode(), supplied.encode("utf-8", "replace"))


async def _buffer(receive: Receive) -> tuple[bytes | None, Receive]:
    """Read the whole body (up to MAX_FORM) and hand the route a receive that replays it."""
    chunks: list[bytes] = []
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        more = message.get("more_body", False)
        if size > MAX_FORM:
            return None, receive
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return body, replay


async def _refuse(send: Send, status: int, code: str, message: str, api: bool,
                  hint: str | None = None, extra: list[tuple[bytes, bytes]] | None = None
                  ) -> None:
    if api:
        body = json.dumps({"error": {"code": code, "message": message, "hint": hint}}).encode()
        kind = b"application/json"
    else:
        body = f"{message}{'; ' + hint if hint else ''}\n".encode()
        kind = b"text/plain; charset=utf-8"
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status,
                "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})
