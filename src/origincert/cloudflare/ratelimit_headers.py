"""What an API answer says about its rate-limit window, in either header family.

Fact sheet §4: Cloudflare's changelog (2025-09) says every answer carries
``Ratelimit: "default";r=50;t=30`` (50 requests left, the window resets in
30 s); a revision of the limits page lists ``X-RateLimit-Remaining`` and
``X-RateLimit-Reset`` (an RFC 1123 date) instead. Which one the API sends is
unconfirmed, so both are read, and an answer with neither says nothing.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Reading:
    reset_in: float  # seconds until the window resets, from when the answer came
    remaining: int | None = None
    window: float | None = None  # the policy's window (``Ratelimit-Policy`` w=), if said


def read_headers(headers: Mapping[str, str]) -> Reading | None:
    found = {k.lower(): v for k, v in headers.items()}
    policies = _policies(found.get("ratelimit-policy", ""))
    return _structured(found.get("ratelimit", ""), policies) or _legacy(found)


def _structured(text: str, policies: dict[str, float]) -> Reading | None:
    """``"default";r=50;t=30`` (one item per policy: the tightest one counts)."""
    readings = []
    for item in text.split(","):
        name, *rest = item.split(";")
        params = dict(_param(p) for p in rest)
        reset, left = _number(params.get("t")), _number(params.get("r"))
        if reset is not None:
            readings.append(Reading(reset, None if left is None else int(left),
                                    policies.get(name.strip().strip('"'))))
    if not readings:
        return None
    return min(readings, key=lambda r: (r.remaining is None, r.remaining))


def _policies(text: str) -> dict[str, float]:
    """``"default";q=1200;w=300`` → {"default": 300.0}: each policy's window."""
    found = {}
    for item in text.split(","):
        name, *rest = item.split(";")
        window = _number(dict(_param(p) for p in rest).get("w"))
        if window is not None:
            found[name.strip().strip('"')] = window
    return found


def _legacy(headers: dict[str, str]) -> Reading | None:
    reset = _reset_seconds(headers.get("x-ratelimit-reset", ""), headers.get("date"))
    if reset is None:
        return None
    left = _number(headers.get("x-ratelimit-remaining"))
    return Reading(reset, None if left is None else int(left))


def _reset_seconds(text: str, date: str | None) -> float | None:
    """A reset given as an RFC 1123 date (against the answer's own Date) or seconds."""
    number = _number(text)
    if number is not None:
        return number if number < 1e9 else max(0.0, number - time.time())  # epoch seconds
    try:
        reset = email.utils.parsedate_to_datetime(text).timestamp()
        now = email.utils.parsedate_to_datetime(date).timestamp() if date else time.time()
    except (TypeError, ValueError):
        return None
    return max(0.0, reset - now)


def _param(text: str) -> tuple[str, str]:
    key, _, value = text.strip().partition("=")
    return key.strip().lower(), value.strip().strip('"')


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and value >= 0 else None
