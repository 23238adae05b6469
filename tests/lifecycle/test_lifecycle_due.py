"""Issue #8: when a certificate falls due, and the clock seam."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from origincert.errors import UsageError
from origincert.inventory.certificates import Entry
from origincert.lifecycle import clock
from origincert.lifecycle.renew import due, is_due

START = datetime(2027, 1, 1, tzinfo=UTC)


def entry(days: int, ca: str = "origin") -> Entry:
    return Entry(ca=ca, not_before=START, not_after=START + timedelta(days=days))


@pytest.mark.parametrize(("validity", "due_after_days"), [
    (7, 7 - 7 / 3), (30, 20), (90, 60), (365, 335), (5475, 5445)])
def test_a_certificate_falls_due_at_30_days_or_a_third_of_its_life(validity, due_after_days):
    cert = entry(validity)
    when = due(cert, START, 30)
    assert when == START + timedelta(days=due_after_days)
    assert not is_due(cert, when - timedelta(minutes=1), 30)
    assert is_due(cert, when, 30)


def test_acme_certificates_are_due_30_days_before_expiry():
    cert = entry(90, ca="acme")
    assert not is_due(cert, START + timedelta(days=59), 30)
    assert is_due(cert, START + timedelta(days=60), 30)


def test_origincert_now_is_the_clock_seam():
    fixed = clock.from_env({"ORIGINCERT_NOW": "2027-01-01T00:00:00Z"})
    assert fixed() == START
    assert clock.from_env({})().tzinfo is not None
    with pytest.raises(UsageError):
        clock.from_env({"ORIGINCERT_NOW": "next tuesday"})
