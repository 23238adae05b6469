"""GET /user/tokens/verify: the state of the bearer token itself (fact sheet §2.3)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import envelope as ev
from ..auth import bearer_token
from . import context, endpoint

# Verify reports expired and disabled tokens with their status and HTTP 200, since the
# result's `status` enum has those values (UNCONFIRMED: the live API may answer 401).
# The enum has no "not yet valid": such a token reports `active` with its future
# `not_before`, and every other endpoint refuses it.
_MESSAGES = {
    "active": "This API Token is valid and active",
    "expired": "This API Token is expired",
    "disabled": "This API Token is disabled",
    "not_yet_valid": "This API Token is not valid yet",
}


@endpoint
async def verify(request: Request) -> Response:
    world = context(request).world
    secret = bearer_token(request.headers)
    token = world.token(secret)
    if token is None:
        raise ev.ApiError(401, ev.INVALID_API_TOKEN, "Invalid API Token")

    state = token.state(world.now())
    result = {
        "id": token.id,
        "status": "active" if state == "not_yet_valid" else state,
    }
    if token.not_before is not None:
        result["not_before"] = ev.timestamp(token.not_before)
    if token.expires_on is not None:
        result["expires_on"] = ev.timestamp(token.expires_on)

    message = {"code": ev.VALID_TOKEN_MESSAGE, "message": _MESSAGES[state], "type": None}
    return ev.success(result, messages=[message])
