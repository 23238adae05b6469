"""HTTP handlers of the sandbox, one module per part of the API, and their shared helpers."""

from __future__ import annotations

import functools
import json
import logging
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from .. import envelope as ev
from ..auth import Caller, authenticate
from ..data import Zone

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]


def endpoint(handler: Handler) -> Handler:
    """Turn ApiError into its envelope and anything unexpected into a 500 envelope."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except ev.ApiError as err:
            return ev.failure(err)
        except Exception:  # a bug in the sandbox: still answer like the API would
            log.exception("sandbox handler failed path=%s", request.url.path)
            return ev.failure(ev.ApiError(500, ev.INTERNAL_ERROR, "Internal server error"))

    return wrapper


def context(request: Request) -> Any:
    """The running sandbox's shared state (world, CA, settings)."""
    return request.app.state.sandbox


def caller_of(request: Request) -> Caller:
    return authenticate(request.headers, context(request).world)


def zone_or_404(request: Request, zone_id: str) -> Zone:
    # Unknown zone ids: 404 with 7003 (UNCONFIRMED; the fact sheet allows 404 or 400).
    zone = context(request).world.zone(zone_id)
    if zone is None:
        raise no_route(request)
    return zone


def no_route(request: Request) -> ev.ApiError:
    path = request.url.path.removeprefix("/client/v4")
    return ev.ApiError(404, ev.NO_ROUTE,
                       f"Could not route to {path}, perhaps your object identifier is invalid?")


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError as err:
        raise invalid(f"{name} must be an integer, got {text!r}") from err
    if not low <= value <= high:
        raise invalid(f"{name} must be between {low} and {high}, got {value}")
    return value


def bool_param(request: Request, name: str) -> bool | None:
    text = request.query_params.get(name)
    if text is None or text == "":
        return None
    if text.lower() in ("true", "1"):
        return True
    if text.lower() in ("false", "0"):
        return False
    raise invalid(f"{name} must be true or false, got {text!r}")


def invalid(message: str) -> ev.ApiError:
    return ev.ApiError(400, ev.VALIDATION_ERROR, message)


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; malformed JSON and non-objects are refused with 400."""
    raw = await request.body()
    if not raw.strip():
        raise invalid("The request body is empty; a JSON object is required")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise ev.ApiError(400, ev.MALFORMED_JSON, "Malformed JSON in request body") from err
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object")
    return body
