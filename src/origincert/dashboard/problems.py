"""Every error the dashboard returns, in one shape.

    {"error": {"code": "usage", "message": "...", "hint": "..." | null}}

An ``OriginCertError`` keeps its message and hint; its class names the code
and the HTTP status. Anything else is a bug: the client reads "internal" and a
short notice, the traceback goes to the log, never to the client.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from origincert.errors import (
    CloudflareAPIError,
    ConfigError,
    CredentialError,
    HostnameError,
    LockedError,
    OriginCertError,
    PermissionMissingError,
    RateLimitedError,
    RecoveryError,
    StateError,
    UsageError,
    VerificationError,
    WebServerError,
)

log = logging.getLogger(__name__)

# Most specific first: CredentialError is also a CloudflareAPIError.
_STATUS: tuple[tuple[type[OriginCertError], int], ...] = (
    (CredentialError, 422),
    (PermissionMissingError, 422),
    (RateLimitedError, 429),
    (CloudflareAPIError, 502),
    (UsageError, 400),
    (HostnameError, 400),
    (StateError, 503),
    (ConfigError, 409),
    (WebServerError, 409),
    (VerificationError, 409),
    (LockedError, 409),
    (RecoveryError, 409),
)


class Problem(Exception):
    """An error with its HTTP status, ready for JSON or a page."""

    def __init__(self, status: int, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.hint = hint

    def to_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "hint": self.hint}}

    def one_line(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


def not_found(what: str, hint: str | None = None) -> Problem:
    return Problem(404, "not_found", what, hint)


def from_error(err: BaseException) -> Problem:
    """The problem for any exception; an unexpected one is logged with its traceback."""
    if isinstance(err, Problem):
        return err
    if isinstance(err, OriginCertError):
        status = next((code for kind, code in _STATUS if isinstance(err, kind)), 400)
        message = err.one_line() if isinstance(err, WebServerError) else err.message
        hint = None if isinstance(err, WebServerError) else err.hint
        return Problem(status, _code(type(err)), message, hint)
    log.error("unexpected error in the dashboard", exc_info=err)
    return Problem(500, "internal", f"unexpected error (this is a bug): {type(err).__name__}",
                   "the details are in origincert's log")


def _code(kind: type[OriginCertError]) -> str:
    name = kind.__name__.removesuffix("Error") or "origincert"
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
