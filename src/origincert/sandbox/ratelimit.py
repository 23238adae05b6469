"""A request budget like the Client API's 1200 requests per 5 minutes.

Counted per user (their key and the tokens they own) or per account-owned token
(``auth.credential_key``). A fixed window opens with the first request; once the
budget is spent, every call is refused until the window ends (fact sheet §4: "all
API calls blocked for the next five minutes").
"""

from __future__ import annotations

import email.utils
import math
import threading
import time
from dataclasses import dataclass
from typing import Callable


@dataclass
class Verdict:
    allowed: bool
    budget: int
    window: float
    remaining: int
    reset_in: float

    def headers(self, family: str = "ratelimit") -> dict[str, str]:
        """One header family of §4 (unconfirmed which the API sends), or none.

        ``ratelimit``: the changelog's ``Ratelimit``/``Ratelimit-Policy``;
        ``x-ratelimit``: the limits page's ``X-RateLimit-*`` with an RFC 1123
        reset date; ``none``: neither. ``Retry-After`` comes on 429 in all three.
        """
        reset = max(0, math.ceil(self.reset_in))
        out = {}
        if family == "ratelimit":
            out = {
                "Ratelimit": f'"default";r={self.remaining};t={reset}',
                "Ratelimit-Policy": f'"default";q={self.budget};w={math.ceil(self.window)}',
            }
        elif family == "x-ratelimit":
            out = {
                "X-RateLimit-Limit": str(self.budget),
                "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": email.utils.formatdate(time.time() + reset, usegmt=True),
            }
        if not self.allowed:
            out["Retry-After"] = str(max(1, reset))
        return out


class RateLimiter:
    def __init__(self, limits: Callable[[], tuple[int, float]],
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        # `limits` is read on every call so that tests can tighten a running sandbox.
        self._limits = limits
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}
        self._seen_limits: tuple[int, float] | None = None

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()

    def check(self, key: str) -> Verdict:
        budget, window = self._limits()
        now = self._monotonic()
        with self._lock:
            # A new budget or window starts everyone afresh.
            if self._seen_limits != (budget, window):
                self._windows.clear()
                self._seen_limits = (budget, window)

            started, used = self._windows.get(key, (now, 0))
            if now - started >= window:
                started, used = now, 0
            reset_in = window - (now - started)

            if used >= budget:
                return Verdict(False, budget, window, 0, reset_in)
            self._windows[key] = (started, used + 1)
            return Verdict(True, budget, window, budget - used - 1, reset_in)
