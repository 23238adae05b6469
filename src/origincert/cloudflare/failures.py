"""Turning an SDK exception into the product's error, code and Ray ID kept."""

from __future__ import annotations

from typing import Any

import cloudflare

from origincert.cloudflare.hints import hint_for
from origincert.errors import (
    CloudflareAPIError,
    CredentialError,
    PermissionMissingError,
    RateLimitedError,
)

# Codes that mean the credential itself is not accepted (fact sheet §2.4).
CREDENTIAL_CODES = frozenset({1000, 6003, 6102, 6103, 6111, 9103, 9106, 9109})
# Codes that mean it is accepted but not allowed to do this.
PERMISSION_CODES = frozenset({1016, 10000})
# Rate limiting (C18): 10100 seen in the wild, 971 often quoted. Never a permission problem.
RATE_LIMIT_CODES = frozenset({971, 10100})


def translate(err: cloudflare.APIError, what: str) -> CloudflareAPIError:
    """The product's error for a failed call to ``what``."""
    if isinstance(err, cloudflare.APIConnectionError):
        # No answer at all: a refused connection, a timeout, a name that does not resolve.
        return CloudflareAPIError(
            f"could not {what}: the API did not answer ({err.message})",
            hint="check the network, and the API base (--api-base or CLOUDFLARE_BASE_URL)",
        )
    status = getattr(err, "status_code", None)
    response = getattr(err, "response", None)
    ray_id = response.headers.get("cf-ray") if response is not None else None
    return from_envelope(err.body, what, status=status, ray_id=ray_id)


def from_envelope(body: Any, what: str, *, status: int | None,
                  ray_id: str | None) -> CloudflareAPIError:
    """The product's error for an error envelope (also a 200 with ``success: false``)."""
    code, api_message = _first_error(body)
    message = _describe(what, code, api_message, ray_id, status)
    kind = _kind_for(status, code)
    return kind(message, hint=hint_for(code), code=code, api_message=api_message,
                ray_id=ray_id, status=status)


def _kind_for(status: int | None, code: int | None) -> type[CloudflareAPIError]:
    if status == 429 or code in RATE_LIMIT_CODES:
        return RateLimitedError
    if code in PERMISSION_CODES:
        return PermissionMissingError
    if code in CREDENTIAL_CODES or status == 401:
        return CredentialError
    if status == 403:
        return PermissionMissingError
    return CloudflareAPIError


def _first_error(body: Any) -> tuple[int | None, str | None]:
    """The most specific code and message in an error envelope.

    6003 "Invalid request headers" wraps the real cause in ``error_chain``.
    """
    if not isinstance(body, dict):
        return None, None
    errors = body.get("errors") or []
    if not errors or not isinstance(errors[0], dict):
        return None, None
    first = errors[0]
    chain = first.get("error_chain") or []
    if chain and isinstance(chain[0], dict):
        first = chain[0]
    code = first.get("code")
    return (code if isinstance(code, int) else None), first.get("message")


def _describe(what: str, code: int | None, api_message: str | None, ray_id: str | None,
              status: int | None) -> str:
    parts = [f"could not {what}: Cloudflare error"]
    if code is not None:
        parts.append(f" {code}")
    parts.append(f" \"{api_message}\"" if api_message else f" (HTTP {status})")
    if ray_id:
        parts.append(f" (Ray ID {ray_id})")
    return "".join(parts)
