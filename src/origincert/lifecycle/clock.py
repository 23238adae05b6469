"""The one clock of the lifecycle, and its seam for tests and operators.

``ORIGINCERT_NOW`` (an ISO 8601 time, e.g. ``2027-01-01T00:00:00Z``) makes
``renew``, ``certs`` and the notifications believe it is that time: tests move
time with it, and an operator can ask "what would renew do on 1 March?" with
``ORIGINCERT_NOW=2027-03-01T00:00:00Z origincert renew --dry-run``. It is read
here and nowhere else. It changes only the lifecycle's decisions (what is due,
what expires soon, when a pending revocation falls due); the certificates
themselves are dated by the CA.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime

from origincert.errors import UsageError

ENV = "ORIGINCERT_NOW"

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def from_env(environ: dict[str, str] | None = None) -> Clock:
    """The clock to use: fixed at ``ORIGINCERT_NOW`` when set, else the system's."""
    value = (environ if environ is not None else os.environ).get(ENV, "").strip()
    if not value:
        return system_clock
    fixed = parse(value)
    return lambda: fixed


def parse(value: str) -> datetime:
    """An aware UTC datetime from ISO 8601 text; a time without zone is taken as UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise UsageError(f"{ENV}={value!r} is not a time",
                         hint="use ISO 8601, e.g. 2027-01-01T00:00:00Z") from err
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
