"""The ASGI application: routes under /client/v4, wrapped by the behaviour every call shares.

The wrapper adds a `cf-ray` header to every response, records each call, applies injected
latency and failures, and enforces the rate limit (per user or account token). It is plain ASGI, so
that a later edge or DNS front can sit beside it without touching the API routes.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any, NamedTuple

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from . import envelope as ev
from .auth import credential_key
from .routes import (certificates, dns, endpoint, ips, meta, no_route, rulesets, tokens,
                     zones)

API_PREFIX = "/client/v4"
_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# Calls that the rate limit does not count.
_UNMETERED = re.compile(r"^/client/v4/(ips|origincert-sandbox/(roots|edge))/?$")


class RequestRecord(NamedTuple):
    method: str
    path: str
    status: int


@dataclass
class Failure:
    """An injected failure: the next `times` matching calls fail this way."""

    method: str
    path: re.Pattern
    status: int
    times: int
    kind: str  # "error" or "timeout"

    def matches(self, method: str, path: str) -> bool:
        method_ok = self.method in ("*", method)
        return self.times > 0 and method_ok and bool(self.path.search(path))


@endpoint
async def _unknown_route(request: Request) -> Response:
    raise no_route(request)


def _method_not_allowed(allowed: list[str]):
    @endpoint
    async def handler(request: Request) -> Response:
        # Code 7001 and HTTP 405 are UNCONFIRMED.
        raise ev.ApiError(405, ev.METHOD_NOT_ALLOWED, "Method not allowed for this endpoint",
                          headers={"Allow": ", ".join(allowed)})
    return handler


def _routes() -> list:
    table = [
        ("/user/tokens/verify", {"GET": tokens.verify}),
        ("/ips", {"GET": ips.list_ips}),
        ("/origincert-sandbox/roots", {"GET": meta.roots}),
        ("/origincert-sandbox/edge", {"GET": meta.edge}),
        ("/zones", {"GET": zones.list_zones}),
        ("/zones/{zone_id}", {"GET": zones.get_zone}),
        ("/zones/{zone_id}/settings/{setting_id}",
         {"GET": zones.get_setting, "PATCH": zones.edit_setting}),
        ("/zones/{zone_id}/dns_records", {"GET": dns.list_records, "POST": dns.create_record}),
        ("/zones/{zone_id}/dns_records/{record_id}",
         {"PATCH": dns.edit_record, "PUT": dns.replace_record, "DELETE": dns.delete_record}),
        ("/zones/{zone_id}/rulesets/phases/http_config_settings/entrypoint",
         {"GET": rulesets.get_entrypoint, "PUT": rulesets.put_entrypoint}),
        ("/certificates",
         {"GET": certificates.list_certificates, "POST": certificates.create}),
        ("/certificates/{certificate_id}",
         {"GET": certificates.get_certificate, "DELETE": certificates.revoke}),
    ]
    routes = []
    for path, handlers in table:
        for method, handler in handlers.items():
            routes.append(Route(path, handler, methods=[method]))
        others = [m for m in _ALL_METHODS if m not in handlers and m != "HEAD"]
        routes.append(Route(path, _method_not_allowed(list(handlers)), methods=others))
    routes.append(Route("/{rest:path}", _unknown_route, methods=_ALL_METHODS))
    return routes


def build_app(context: Any) -> "SandboxASGI":
    """The whole sandbox API around `context` (world, ca, settings, limiter, log...)."""
    api = Starlette(routes=[
        Mount(API_PREFIX, routes=_routes()),
        Route("/{rest:path}", _unknown_route, methods=_ALL_METHODS),
    ])
    api.state.sandbox = context
    return SandboxASGI(api, context)


class SandboxASGI:
    def __init__(self, api: Starlette, context: Any) -> None:
        self.api = api
        self.context = context
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.api(scope, receive, send)
            return

        ray = secrets.token_hex(8) + "-SBX"
        method, path = scope["method"], scope["path"]
        status_seen: list[int] = []

        async def send_with_ray(message) -> None:
            if message["type"] == "http.response.start":
                status_seen.append(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"cf-ray", ray.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self._handle(scope, receive, send_with_ray, method, path)
        finally:
            self.context.request_log.append(
                RequestRecord(method, path, status_seen[0] if status_seen else 0))

    async def _handle(self, scope, receive, send, method: str, path: str) -> None:
        settings = self.context.settings
        if settings.latency_ms > 0:
            await asyncio.sleep(settings.latency_ms / 1000)

        failure = self._take_failure(method, path)
        if failure is not None:
            await self._fail(failure, send)
            return

        limit_headers: dict[str, str] = {}
        key = credential_key(Headers(scope=scope), self.context.world)
        if key is not None and not _UNMETERED.match(path):
            verdict = self.context.limiter.check(key)
            limit_headers = verdict.headers(settings.rate_limit_headers)
            if not verdict.allowed:
                budget, window = verdict.budget, round(verdict.window)
                message = (f"More than {budget} requests per {window} seconds reached. "
                           "Please wait and consider throttling your request speed")
                await _send_json(send, 429, ev.error_body(ev.RATE_LIMITED, message),
                                 limit_headers)
                return

        await self.api(scope, receive, _with_headers(send, limit_headers))

    def _take_failure(self, method: str, path: str) -> Failure | None:
        relative = path.removeprefix(API_PREFIX)
        with self._lock:
            for failure in self.context.failures:
                if failure.matches(method, relative):
                    failure.times -= 1
                    return failure
        return None

    async def _fail(self, failure: Failure, send) -> None:
        if failure.kind == "timeout":
            # Hold the connection longer than any sane client timeout, but give up early
            # when the sandbox stops so that shutdown stays quick.
            stop = self.context.stopping
            waited = 0.0
            while waited < self.context.settings.timeout_hold_s and not stop.is_set():
                await asyncio.sleep(0.05)
                waited += 0.05
            status, message = 504, "Gateway timeout (injected by the sandbox)"
        else:
            status, message = failure.status, "Internal server error (injected by the sandbox)"
        await _send_json(send, status, ev.error_body(ev.INTERNAL_ERROR, message), {})


def _with_headers(send, extra: dict[str, str]):
    if not extra:
        return send

    async def wrapped(message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            headers.extend((k.lower().encode(), v.encode()) for k, v in extra.items())
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


async def _send_json(send, status: int, body: dict, headers: dict[str, str]) -> None:
    payload = json.dumps(body).encode("utf-8")
    raw_headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(payload)).encode())]
    raw_headers.extend((k.lower().encode(), v.encode()) for k, v in headers.items())
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})
