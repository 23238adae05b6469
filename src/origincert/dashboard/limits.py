"""Login attempts, rate-limited per client address and per username.

Five failures within a minute lock that address (or that username) out; each
further lockout of the same key doubles, up to an hour. A success clears the
username's count and the address's. Kept in memory: a restart forgets it,
which is no help to an attacker who cannot restart the server.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW = 60.0
MAX_FAILURES = 5
MAX_LOCKOUT = 3600.0


@dataclass
class _Record:
    failures: deque[float] = field(default_factory=deque)
    strikes: int = 0           # lockouts so far: each one doubles the next
    locked_until: float = 0.0


class LoginLimiter:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 max_failures: int = MAX_FAILURES, window: float = WINDOW) -> None:
        self._clock = clock
        self._max = max_failures
        self._window = window
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def retry_after(self, address: str, username: str) -> float:
        """Seconds until a login for these keys may be tried; 0 when it may now."""
        now = self._clock()
        with self._lock:
            waits = [self._records[key].locked_until - now
                     for key in _keys(address, username) if key in self._records]
        return max([0.0, *waits])

    def failed(self, address: str, username: str) -> None:
        now = self._clock()
        with self._lock:
            for key in _keys(address, username):
                record = self._records.setdefault(key, _Record())
                record.failures.append(now)
                while record.failures and record.failures[0] <= now - self._window:
                    record.failures.popleft()
                if len(record.failures) >= self._max:
                    lockout = min(self._window * 2 ** record.strikes, MAX_LOCKOUT)
                    record.strikes += 1
                    record.locked_until = now + lockout
                    record.failures.clear()

    def succeeded(self, address: str, username: str) -> None:
        with self._lock:
            for key in _keys(address, username):
                self._records.pop(key, None)


def _keys(address: str, username: str) -> tuple[str, str]:
    return f"ip:{address}", f"user:{username.strip().lower()}"
