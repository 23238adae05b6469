"""The Cloudflare v4 response envelope and the sandbox's error codes.

Codes marked UNCONFIRMED are not backed by a source in the fact sheet
(`shared/docs/cloudflare-api.md`); they were picked to be plausible and distinct, so that
a client can tell the situations apart.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from starlette.responses import JSONResponse

# Confirmed by the fact sheet (§1.6, §2.4, §6, §7) unless marked.
INVALID_API_TOKEN = 1000  # /user/tokens/verify with an unknown token (401)
NEED_ZONE_ID = 1012
NOT_AUTHORIZED_ORIGIN_CA = 1016
UNKNOWN_SETTING = 1006
INVALID_SETTING_VALUE = 1007
INVALID_HEADERS = 6003
BAD_AUTHORIZATION_FORMAT = 6111
BAD_AUTH_KEY_FORMAT = 6103
BAD_AUTH_EMAIL_FORMAT = 6102
NO_ROUTE = 7003
CANNOT_PROXY_TYPE = 9004
CANNOT_PROXY_TARGET = 9041
INVALID_ACCESS_TOKEN = 9109  # UNCONFIRMED for the unknown-token case (reported with 403)
MISSING_AUTH = 9106  # UNCONFIRMED (from memory in the fact sheet)
AUTHENTICATION_ERROR = 10000
VALID_TOKEN_MESSAGE = 10000  # message code of a successful verify

# Not in the fact sheet: all UNCONFIRMED.
VALIDATION_ERROR = 1004  # bad body or query field (historically "DNS Validation Error")
HOSTNAME_NOT_YOURS = 1010  # "Failed to validate requested hostname ..."
INVALID_CSR = 1002  # CSR does not parse, bad signature, weak key
KEY_TYPE_MISMATCH = 1003  # CSR key type does not fit request_type
UNKNOWN_AUTH_KEY = 9103  # X-Auth-Email / X-Auth-Key pair not known
INVALID_DNS_CONTENT = 9005  # content does not fit the record type
RECORD_NOT_FOUND = 81044  # unknown DNS record id
MALFORMED_JSON = 6007
METHOD_NOT_ALLOWED = 7001
RATE_LIMITED = 10100  # the brief's choice; 971 is often quoted but is below the spec's 1000
INTERNAL_ERROR = 10001  # unexpected exception or injected 5xx


class ApiError(Exception):
    """A failure the sandbox answers with an error envelope."""

    def __init__(self, status: int, code: int, message: str,
                 chain: list[tuple[int, str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.chain = chain or []
        self.headers = headers or {}


def timestamp(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with microseconds, the way Cloudflare writes its times."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def success(result: Any, result_info: dict | None = None,
            messages: list[dict] | None = None, headers: dict[str, str] | None = None
            ) -> JSONResponse:
    body: dict[str, Any] = {
        "result": result,
        "success": True,
        "errors": [],
        "messages": messages or [],
    }
    if result_info is not None:
        body["result_info"] = result_info
    return JSONResponse(body, status_code=200, headers=headers)


def error_body(code: int, message: str, chain: list[tuple[int, str]] | None = None) -> dict:
    error: dict[str, Any] = {"code": code, "message": message}
    if chain:
        error["error_chain"] = [{"code": c, "message": m} for c, m in chain]
    return {"result": None, "success": False, "errors": [error], "messages": []}


def failure(err: ApiError) -> JSONResponse:
    return JSONResponse(error_body(err.code, err.message, err.chain),
                        status_code=err.status, headers=err.headers)


def paginate(items: list, page: int, per_page: int) -> tuple[list, dict]:
    """Slice one page; a page past the end is an empty page, not an error (SDK relies on it)."""
    start = (page - 1) * per_page
    chosen = items[start:start + per_page]
    total = len(items)
    info = {
        "page": page,
        "per_page": per_page,
        "count": len(chosen),
        "total_count": total,
        "total_pages": (total + per_page - 1) // per_page,
    }
    return chosen, info
