"""A client-side request budget, shared by every concurrent call counted together.

Cloudflare allows about 1,200 requests per five minutes per user (or account
token) and, once over, blocks every call for the rest of the window (fact sheet
§4). So a bulk run paces itself below the budget rather than finding the limit: a
sliding window of send times, with a small margin for the clocks of the two
sides, and a shared pause when the API answers 429 with ``Retry-After``.

When the API says where its window stands (``Ratelimit: "default";r=50;t=30``,
or ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset``: §4 cites both
families, and neither may come), the budget believes it: no more sends than
the API says remain, and once the API's window has reset, the requests it
answered before the reset no longer count. Without those headers the sliding
window alone decides, which is never faster but never wrong.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

from origincert.cloudflare.ratelimit_headers import Reading, read_headers
from origincert.errors import OriginCertError

log = logging.getLogger(__name__)

DEFAULT_REQUESTS = 1200
DEFAULT_WINDOW = 300.0

# The API's reset time is given in whole seconds, rounded one way or the other.
ROUNDING = 1.0


class StoppedError(OriginCertError):
    """The run ended while a thread waited for the budget."""


@dataclass
class Send:
    """One request against the budget: when it left, when its answer came, and the
    reset time that answer gave (which window of the API counted it)."""

    sent: float
    answered: float | None = None
    reset_at: float | None = None


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
        self._sent: collections.deque[Send] = collections.deque()
        self._paused_until = 0.0
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Threads (permission probes) and the event loop (issuance) share the count.
        self._state = threading.Lock()
        self._taking = threading.Lock()
        self._stopped = threading.Event()
        self._server = _ServerWindow(window)
        self.waited = 0.0

    async def acquire(self) -> Send:
        """Wait until one more request fits in the budget, then count it."""
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            # One lock per event loop: a budget outlives the loops that use it.
            self._lock, self._loop = asyncio.Lock(), loop
        async with self._lock:
            while True:
                send, wait = self._try()
                if send is not None:
                    return send
                await asyncio.sleep(wait)

    def take(self) -> Send:
        """``acquire`` for a thread: block until one more request fits, then count it.

        Raises ``StoppedError`` once ``stop`` is called, however long the wait had left.
        """
        with self._taking:
            while True:
                send, wait = self._try()
                if send is not None:
                    return send
                if self._stopped.wait(wait):
                    raise StoppedError("the run was stopped while waiting for the budget")

    def stop(self) -> None:
        """Wake every thread waiting in ``take`` with ``StoppedError`` (the run is ending:
        a 429's pause may have minutes left)."""
        self._stopped.set()

    def _try(self) -> tuple[Send | None, float]:
        """Count a send if one fits now; else how long to wait before asking again."""
        with self._state:
            now = self._clock()
            wait = max(self._paused_until - now, self._window_wait(now),
                       self._server.wait(now))
            if wait <= 0:
                return self._count(now), 0.0
            self.waited += wait
        if wait >= 1:
            log.info("budget spent, waiting", extra={"wait_s": round(wait, 2)})
        return None, wait

    def answered(self, send: Send, headers: Mapping[str, str] | None = None) -> None:
        """The answer to ``send`` came; learn what the API said about its window."""
        reading = read_headers(headers or {})
        with self._state:
            now = self._clock()
            send.answered = now
            if reading is not None:
                # Never further off than one window: a reset beyond it is a misreading.
                send.reset_at = now + min(reading.reset_in, self.window + self.guard)
                self._server.learn(reading, send.reset_at, self._uncertain(send))

    def _uncertain(self, send: Send) -> int:
        """Our other sends the API may not have counted when it answered ``send``: all
        but those answered before ``send`` left (those it surely counted first)."""
        return sum(1 for s in self._sent if s is not send
                   and (s.answered is None or s.answered >= send.sent))

    def pause(self, seconds: float) -> None:
        """The API said 429: nobody sends before ``seconds`` have passed."""
        with self._state:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _count(self, now: float) -> Send:
        send = Send(now)
        self._sent.append(send)
        self._server.sent += 1
        return send

    def _window_wait(self, now: float) -> float:
        self._forget(now)
        if len(self._sent) < self.requests:
            return 0.0
        return self._sent[0].sent + self.window + self.guard - now

    def _forget(self, now: float) -> None:
        """Drop sends out of the sliding window, and those the API's reset cleared."""
        while self._sent and self._sent[0].sent + self.window + self.guard <= now:
            self._sent.popleft()
        if self._server.reset_past(now):
            if self._server.covers_ours:
                self._sent = collections.deque(
                    s for s in self._sent if not self._server.counted_before_reset(s))
            self._server.next_window()


class Budgets:
    """One ``Budget`` per key (see ``Account.budget_key``): calls counted together by the
    API share one, and calls it counts apart need not hold each other back."""

    def __init__(self, requests: int = DEFAULT_REQUESTS, window: float = DEFAULT_WINDOW
                 ) -> None:
        Budget(requests, window)  # refuses an unusable budget now, not at first use
        self.requests = requests
        self.window = window
        self._each: dict[Hashable, Budget] = {}
        self._lock = threading.Lock()

    def of(self, key: Hashable) -> Budget:
        """The budget for ``key``, made on first use."""
        with self._lock:
            if key not in self._each:
                self._each[key] = Budget(self.requests, self.window)
            return self._each[key]

    @property
    def waited(self) -> float:
        """Seconds spent waiting for a budget, added up over every budget."""
        with self._lock:
            return sum(budget.waited for budget in self._each.values())

    def stop(self) -> None:
        """``Budget.stop`` for every budget: the run is ending."""
        with self._lock:
            budgets = list(self._each.values())
        for budget in budgets:
            budget.stop()


class _ServerWindow:
    """What the API said about its current window: requests left and when it resets.

    The reset comes in whole seconds, rounded one way or the other, so every
    answer of a window gives a reset time within a second of the true one
    (later still when the answer was slow): the earliest, plus a second, is
    when the reset has surely happened.

    Its count is read as a floor: what an answer says remained, less every send
    it may not have counted (a late answer says more remained than is true by
    now). Its reset
    clears our own sends only when its policy's window is known and at least
    ours: a shorter policy's reset (a burst limit) says nothing about the budget.
    """

    def __init__(self, window: float) -> None:
        self.window = window
        self.earliest: float | None = None
        self.latest: float | None = None
        self.left: int | None = None
        self.sent = 0  # sends since ``left`` was read
        self.past: float | None = None  # the reset last acted on
        self.covers_ours = False

    def learn(self, reading: Reading, reset_at: float, uncertain: int) -> None:
        if self._earlier_window(reset_at):
            return  # a late answer from a window already over
        covers = reading.window is not None and reading.window >= self.window - ROUNDING
        fresh = self.latest is None or reset_at > self.latest + self.window / 2
        if fresh:
            self.earliest = self.latest = reset_at
            self.left, self.covers_ours = None, covers
        else:
            self.earliest = min(self.earliest, reset_at)  # type: ignore[type-var]
            self.latest = max(self.latest, reset_at)
            self.covers_ours = self.covers_ours and covers
        if reading.remaining is not None:
            # Each answer, less the sends it may not have counted, is a safe floor for
            # what remains; answers come back out of order, so the highest floor wins.
            left = reading.remaining - uncertain
            if self.left is not None:
                left = max(left, self.left - self.sent)
            self.left, self.sent = left, 0

    def wait(self, now: float) -> float:
        """How long the API's own count says to wait (0 when it says nothing)."""
        if self.left is None or self.sent < self.left or self.reset_past(now):
            return 0.0
        return self.earliest + ROUNDING - now  # type: ignore[operator]

    def reset_past(self, now: float) -> bool:
        return self.earliest is not None and now >= self.earliest + ROUNDING

    def counted_before_reset(self, send: Send) -> bool:
        """Whether the API surely counted ``send`` in the window that has reset."""
        if send.reset_at is not None:  # its own answer said which window counted it
            return abs(send.reset_at - self.latest) < self.window / 2  # type: ignore
        if send.answered is None:
            return False  # still in flight: it may count in the new window
        return send.answered <= self.earliest - 2 * ROUNDING  # type: ignore[operator]

    def next_window(self) -> None:
        self.past = self.latest
        self.earliest = self.latest = self.left = None
        self.sent, self.covers_ours = 0, False

    def _earlier_window(self, reset_at: float) -> bool:
        if self.earliest is not None:
            return reset_at < self.earliest - self.window / 2
        return self.past is not None and reset_at < self.past + self.window / 2


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
