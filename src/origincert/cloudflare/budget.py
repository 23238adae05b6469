"""A client-side request budget, shared by every concurrent call of one credential.

Cloudflare allows about 1,200 requests per five minutes per credential and,
once over, blocks every call for the rest of the window (fact sheet §4). So a
bulk run paces itself below the budget rather than finding the limit: a
sliding window of send times, with a small margin for the clocks of the two
sides, and a shared pause when the API answers 429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable

DEFAULT_REQUESTS = 1200
DEFAULT_WINDOW = 300.0


class Budget:
    def __init__(self, requests: int = DEFAULT_REQUESTS, window: float = DEFAULT_WINDOW, *,
                 margin: float = 0.01, clock: Callable[[], float] = time.monotonic) -> None:
        if requests < 1 or window <= 0:
            raise ValueError("a budget needs at least one request per positive window")
        self.requests = requests
        self.window = window
        # Our window is a little longer than the API's, so that the two never disagree.
        self.guard = window * margin + 0.25
        self._clock = clock
        self._sent: collections.deque[float] = collections.deque()
        self._paused_until = 0.0
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.waited = 0.0

    async def acquire(self) -> None:
        """Wait until one more request fits in the budget, then count it."""
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            # One lock per event loop: a budget outlives the loops that use it.
            self._lock, self._loop = asyncio.Lock(), loop
        async with self._lock:
            while True:
                now = self._clock()
                wait = max(self._paused_until - now, self._window_wait(now))
                if wait <= 0:
                    self._sent.append(now)
                    return
                self.waited += wait
                await asyncio.sleep(wait)

    def note(self) -> None:
        """Count a request sent outside the budget's own calls (same credential)."""
        self._sent.append(self._clock())

    def pause(self, seconds: float) -> None:
        """The API said 429: nobody sends before ``seconds`` have passed."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _window_wait(self, now: float) -> float:
        while self._sent and now - self._sent[0] >= self.window + self.guard:
            self._sent.popleft()
        if len(self._sent) < self.requests:
            return 0.0
        return self._sent[0] + self.window + self.guard - now


def parse(text: str) -> tuple[int, float]:
    """``"1200/300"`` → (1200, 300.0): requests per window in seconds."""
    requests, _, window = text.partition("/")
    try:
        parsed = int(requests), float(window or DEFAULT_WINDOW)
    except ValueError as err:
        raise ValueError(f"{text!r} is not REQUESTS/SECONDS, e.g. 1200/300") from err
    if parsed[0] < 1 or parsed[1] <= 0:
        raise ValueError(f"{text!r} is not a usable budget")
    return parsed
