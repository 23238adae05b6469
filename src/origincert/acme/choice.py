"""Which CA fits a hostname, and when an ACME certificate is due for renewal.

An Origin CA certificate is trusted only through Cloudflare's proxy; a name visitors
reach directly (a grey record, or one that cannot be proxied at all) needs a publicly
trusted certificate, from an ACME CA.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Literal

from origincert.cloudflare.client import DnsRecord

CaChoice = Literal["origin", "letsencrypt"]
RENEW_BEFORE_DAYS = 30
_ADDRESS_TYPES = ("A", "AAAA", "CNAME")


def recommend_ca(hostname: str, record_proxied: bool | None) -> CaChoice:
    """``origin`` for a proxied name; ``letsencrypt`` for a name reached directly.

    ``record_proxied`` is None when the name has no record that could be proxied (none
    at all, or only MX/TXT...): visitors cannot go through Cloudflare's edge for it.
    """
    del hostname  # the choice depends on how the name is reached, not on its spelling
    return "origin" if record_proxied else "letsencrypt"


def record_proxied_for(hostname: str, records: Iterable[DnsRecord]) -> bool | None:
    """Whether ``hostname`` is proxied, from the zone's records (``client.dns_records``).

    True when one of its A/AAAA/CNAME records is proxied (Cloudflare then proxies all of
    them), False when it has such records and none is, None when it has none. A name
    without records of its own is judged by a wildcard record covering it.
    """
    name = hostname.lower()
    records = [r for r in records if r.type in _ADDRESS_TYPES]
    own = [r for r in records if r.name == name]
    if not own and "." in name:
        parent = name[2:] if name.startswith("*.") else name.split(".", 1)[1]
        own = [r for r in records if r.name == "*." + parent]
    if not own:
        return None
    return any(r.proxied for r in own)


def renewal_due(not_after: dt.datetime, *,
                clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
                days: int = RENEW_BEFORE_DAYS) -> bool:
    """True once ``clock()`` is within ``days`` of ``not_after`` (or past it)."""
    if not_after.tzinfo is None:
        not_after = not_after.replace(tzinfo=dt.timezone.utc)
    return clock() >= not_after - dt.timedelta(days=days)
