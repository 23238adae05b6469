"""Who is calling, and what may they do: API tokens and the Global API Key.

Header formats and codes follow fact sheet §2.4. The format rules below (what a token or
a key looks like) are inferred from §2.1 and are UNCONFIRMED in detail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.datastructures import Headers

from . import envelope as ev
from .data import PERMISSIONS, Token, User, World, Zone

# Tokens: 40 characters or more of letters, digits, '-' and '_' (the new `cfut_`/`cfat_`
# forms fit as well). A Global API Key sent as Bearer (37-45 hex) is too short, as the
# real API also refuses it with 6111.
_BEARER = re.compile(r"^Bearer ([A-Za-z0-9_\-]{40,})$")
_GLOBAL_KEY = re.compile(r"^(?:[0-9a-f]{37,45}|cfk_[A-Za-z0-9_]{40,})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BAD_AUTHORIZATION = (ev.BAD_AUTHORIZATION_FORMAT, "Invalid format for Authorization header")


@dataclass
class Caller:
    """An authenticated credential; `key` identifies it for the rate limiter."""

    key: str
    token: Token | None = None
    user: User | None = None

    def permissions(self, zone: Zone) -> set[str]:
        if self.user is not None:
            return set(PERMISSIONS) if zone.account_id in self.user.accounts else set()
        granted: set[str] = set()
        for policy in self.token.policies:
            if policy.covers(zone):
                granted |= policy.permissions
        return granted

    def can(self, zone: Zone, permission: str) -> bool:
        return permission in self.permissions(zone)

    def reaches(self, zone: Zone) -> bool:
        return bool(self.permissions(zone))


def credential_key(headers: Headers, world: World) -> str | None:
    """A rate-limit key from the raw headers, without checking them.

    Cloudflare counts a user's requests together, by key or by any of their tokens,
    and an account-owned token's on its own (fact sheet §4).
    """
    authorization = headers.get("authorization")
    if authorization:
        token = world.token(authorization.removeprefix("Bearer ").strip())
        if token is not None and token.owner is not None:
            return "key:" + token.owner.lower()
        return "auth:" + authorization
    if headers.get("x-auth-email") or headers.get("x-auth-key"):
        return "key:" + headers.get("x-auth-email", "").lower()
    return None


def authenticate(headers: Headers, world: World) -> Caller:
    """The caller of a normal endpoint, or an ApiError refusing it."""
    authorization = headers.get("authorization")
    if authorization is not None:
        return _token_caller(authorization, world)

    email, key = headers.get("x-auth-email"), headers.get("x-auth-key")
    if email is None and key is None:
        raise ev.ApiError(400, ev.MISSING_AUTH,
                          "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
    return _key_caller(email, key, world)


def bearer_token(headers: Headers) -> str:
    """The well-formed bearer secret of a request, or an ApiError."""
    authorization = headers.get("authorization")
    if authorization is None:
        raise ev.ApiError(400, ev.MISSING_AUTH,
                          "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
    match = _BEARER.match(authorization.strip())
    if not match:
        raise _header_error(_BAD_AUTHORIZATION)
    return match.group(1)


def _token_caller(authorization: str, world: World) -> Caller:
    match = _BEARER.match(authorization.strip())
    if not match:
        raise _header_error(_BAD_AUTHORIZATION)

    token = world.token(match.group(1))
    # Expired, disabled and not-yet-valid tokens are refused like unknown ones: the real API
    # does not say which (UNCONFIRMED); /user/tokens/verify is where the state shows.
    if token is None or token.state(world.now()) != "active":
        raise ev.ApiError(403, ev.INVALID_ACCESS_TOKEN, "Invalid access token")
    return Caller(key="token:" + token.id, token=token)


def _key_caller(email: str | None, key: str | None, world: World) -> Caller:
    chain = []
    if email is None or not _EMAIL.match(email.strip()):
        chain.append((ev.BAD_AUTH_EMAIL_FORMAT, "Invalid format for X-Auth-Email header"))
    if key is None or not _GLOBAL_KEY.match(key.strip()):
        chain.append((ev.BAD_AUTH_KEY_FORMAT, "Invalid format for X-Auth-Key header"))
    if chain:
        raise _header_error(*chain)

    user = world.user(email.strip())
    if user is None or user.global_api_key != key.strip():
        raise ev.ApiError(403, ev.UNKNOWN_AUTH_KEY, "Unknown X-Auth-Key or X-Auth-Email")
    return Caller(key="user:" + user.email.lower(), user=user)


def _header_error(*chain: tuple[int, str]) -> ev.ApiError:
    return ev.ApiError(400, ev.INVALID_HEADERS, "Invalid request headers", chain=list(chain))


def forbidden() -> ev.ApiError:
    """Missing permission on zones, settings and DNS (fact sheet §2.4)."""
    return ev.ApiError(403, ev.AUTHENTICATION_ERROR, "Authentication error")


def require(caller: Caller, zone: Zone, permission: str) -> None:
    if not caller.can(zone, permission):
        raise forbidden()
