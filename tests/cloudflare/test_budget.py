"""The client-side budget: never more sends than the window allows, and what the
API's own rate-limit headers may add (fact sheet §4), on a clock the test moves."""

from __future__ import annotations

import asyncio
import threading

import pytest

from origincert.cloudflare.budget import Budget, Budgets, StoppedError, parse
from origincert.cloudflare.ratelimit_headers import read_headers
from origincert.state.models import Account


# The policy the API names beside its count (fact sheet §4): a window as long as ours.
POLICY = {"Ratelimit-Policy": '"default";q=10;w=60'}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _sends_now(budget: Budget, count: int) -> int:
    """How many of ``count`` sends go out without waiting at the clock's present."""
    async def run() -> int:
        done = 0
        for _ in range(count):
            try:
                await asyncio.wait_for(budget.acquire(), timeout=0.05)
            except TimeoutError:
                return done
            done += 1
        return done
    return asyncio.run(run())


def _fill(budget: Budget, clock: Clock, count: int, headers=None) -> None:  # type: ignore
    async def run() -> None:
        for _ in range(count):
            send = await asyncio.wait_for(budget.acquire(), timeout=1.0)
            budget.answered(send, headers(clock.now) if headers else None)
    asyncio.run(run())


def test_without_headers_the_sliding_window_holds_sends_for_a_full_window_and_guard():
    clock = Clock()
    budget = Budget(10, 60.0, clock=clock)
    _fill(budget, clock, 10)

    clock.now += 60.0
    assert _sends_now(budget, 1) == 0  # the guard: our window is a little longer
    clock.now += budget.guard
    assert _sends_now(budget, 20) == 10


def test_a_reset_the_api_announces_frees_the_answers_before_it():
    clock = Clock()
    budget = Budget(10, 60.0, clock=clock)
    # the API's window opened 30 s ago: it resets in 30 s, whatever our own count says
    left = iter(range(9, -1, -1))
    _fill(budget, clock, 10,
          lambda now: {"Ratelimit": f'"default";r={next(left)};t={1030 - now:.0f}', **POLICY})

    clock.now = 1030.5
    assert _sends_now(budget, 1) == 0  # the reset is not surely past yet
    clock.now = 1031.0
    assert _sends_now(budget, 20) == 10


def test_the_api_saying_fewer_remain_than_we_counted_is_believed():
    clock = Clock()
    budget = Budget(100, 60.0, clock=clock)
    # another client of the same credential spent most of the budget
    _fill(budget, clock, 1, lambda now: {"Ratelimit": '"default";r=3;t=40'})

    assert _sends_now(budget, 10) == 3
    clock.now += 41.0
    assert _sends_now(budget, 10) == 10


def test_sends_still_in_flight_are_assumed_not_yet_counted_by_the_api():
    clock = Clock()
    budget = Budget(100, 60.0, clock=clock)

    async def run() -> None:
        first, second = await budget.acquire(), await budget.acquire()
        budget.answered(first, {"Ratelimit": '"default";r=5;t=40'})
        del second  # still in flight: it may take one of the five
    asyncio.run(run())

    assert _sends_now(budget, 10) == 4


def test_a_late_answer_from_a_window_already_reset_changes_nothing():
    clock = Clock()
    budget = Budget(10, 60.0, clock=clock)
    late = _spend_with_one_late(budget, clock)
    clock.now = 1011.0
    _fill(budget, clock, 9)  # the new window's nine (the straggler may be the tenth)

    clock.now = 1016.0  # the straggler of the old window answers now: "resets in 1 s"
    budget.answered(late, {"Ratelimit": '"default";r=0;t=1', **POLICY})

    clock.now = 1019.0
    assert _sends_now(budget, 1) == 0  # the new window's sends still count


def test_a_reset_clears_our_count_only_when_its_policy_window_covers_ours():
    for policy in ({}, {"Ratelimit-Policy": '"burst";q=10;w=1, "default";q=10;w=60'}):
        clock = Clock()
        budget = Budget(10, 60.0, clock=clock)
        # a burst policy (or one not named) resets in a second: our 60 s still hold
        counts = iter(range(9, -1, -1))
        _fill(budget, clock, 10, lambda now, p=policy, c=counts: {
            "Ratelimit": f'"burst";r={next(c)};t=1', **p})

        clock.now += 5.0
        assert _sends_now(budget, 1) == 0
        clock.now += 60.0 + budget.guard
        assert _sends_now(budget, 20) == 10


def test_late_answers_out_of_order_never_raise_what_the_api_said_remains():
    clock = Clock()
    budget = Budget(100, 60.0, clock=clock)

    async def run() -> None:
        sends = [await budget.acquire() for _ in range(32)]
        # the API had 40 left before these 32; the answers come back last first
        for number, send in reversed(list(enumerate(sends))):
            budget.answered(send, {"Ratelimit": f'"default";r={39 - number};t=40', **POLICY})
    asyncio.run(run())

    assert _sends_now(budget, 20) == 8


def test_a_reset_beyond_reason_is_held_to_one_window():
    clock = Clock()
    budget = Budget(10, 60.0, clock=clock)
    _fill(budget, clock, 10, lambda now: {"Ratelimit": '"default";r=0;t=inf', **POLICY})
    assert read_headers({"Ratelimit": '"default";r=0;t=inf'}) is None  # not a number

    clock.now = 1000.0 + 60.0 + budget.guard
    assert _sends_now(budget, 20) == 10  # the sliding window alone decided

    clock = Clock()
    budget = Budget(10, 60.0, clock=clock)
    left = iter(range(9, -1, -1))
    _fill(budget, clock, 10,
          lambda now: {"Ratelimit": f'"default";r={next(left)};t=99999999', **POLICY})
    clock.now = 1000.0 + 60.0 + budget.guard + 1.0
    assert _sends_now(budget, 20) == 10  # not a wait of three years


def _spend_with_one_late(budget: Budget, clock: Clock):  # type: ignore[no-untyped-def]
    """Nine answered sends of a window resetting at 1010, and one still in flight."""
    left = iter(range(9, 0, -1))
    _fill(budget, clock, 9,
          lambda now: {"Ratelimit": f'"default";r={next(left)};t=10', **POLICY})

    async def one():  # type: ignore[no-untyped-def]
        return await asyncio.wait_for(budget.acquire(), timeout=1.0)
    return asyncio.run(one())


@pytest.mark.parametrize("headers, reset, left", [
    ({"Ratelimit": '"default";r=50;t=30'}, 30.0, 50),
    ({"ratelimit": '"burst";r=9;t=5, "default";r=50;t=30'}, 5.0, 9),
    ({"X-RateLimit-Remaining": "7", "X-RateLimit-Reset": "Thu, 03 Dec 2026 10:00:30 GMT",
      "Date": "Thu, 03 Dec 2026 10:00:00 GMT"}, 30.0, 7),
    ({"x-ratelimit-reset": "12"}, 12.0, None),
])
def test_both_header_families_are_read(headers, reset, left):
    reading = read_headers(headers)
    assert reading is not None
    assert (reading.reset_in, reading.remaining) == (reset, left)


@pytest.mark.parametrize("headers", [
    {}, {"Ratelimit": "garbage"}, {"X-RateLimit-Reset": "not a date"},
    {"Ratelimit": '"default";r=-1;t=x'},
])
def test_headers_that_say_nothing_usable_are_ignored(headers):
    assert read_headers(headers) is None


def test_budget_text_is_requests_per_seconds():
    assert parse("1200/300") == (1200, 300.0)
    assert parse("50") == (50, 300.0)
    for bad in ("0/300", "x/1", "10/0"):
        with pytest.raises(ValueError):
            parse(bad)


def test_threads_taking_from_the_budget_never_send_more_than_it_allows():
    clock = Clock()
    budget = Budget(10, 60.0, clock=clock)
    taken: list[object] = []

    stopped: list[StoppedError] = []

    def take() -> None:
        try:
            taken.append(budget.take())
        except StoppedError as err:
            stopped.append(err)

    threads = [threading.Thread(target=take, daemon=True) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=0.3)

    assert len(taken) == 10  # two wait for the window, which this clock never passes
    assert _sends_now(budget, 1) == 0  # the async path sees the same count

    budget.stop()  # the run ends: the two waiting give up at once
    for thread in threads:
        thread.join(timeout=1.0)
    assert not any(thread.is_alive() for thread in threads)
    assert len(stopped) == 2


def test_a_spent_budget_holds_back_only_the_calls_counted_against_it():
    budgets = Budgets(1, 60)
    first = budgets.of("https://api.one.example/client/v4")
    assert budgets.of("https://api.one.example/client/v4") is first

    assert _sends_now(first, 2) == 1

    assert _sends_now(budgets.of("https://api.two.example/client/v4"), 1) == 1


def test_two_tokens_of_unknown_owners_share_one_budget():
    """Cloudflare counts a user's key and tokens together (fact sheet §4), and which
    user owns a token is not known: counted apart, they could go over the user's limit."""
    one = Account(name="one", kind="token", secret_fingerprint="aa", api_base=None)
    two = Account(name="two", kind="token", secret_fingerprint="bb", api_base=None)
    budgets = Budgets(1, 60)

    assert _sends_now(budgets.of(one.budget_key), 1) == 1

    assert _sends_now(budgets.of(two.budget_key), 1) == 0


def test_an_unusable_budget_is_refused_before_any_credential_asks():
    with pytest.raises(ValueError):
        Budgets(0, 60)
