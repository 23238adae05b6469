"""DNS-01 through the connected Cloudflare account: TXT records made, seen, and removed.

Each authorization gets a TXT record ``_acme-challenge.<name>`` holding the key
authorization digest (a wildcard and its apex share the name, with two values).
Before the ACME server is asked to look, the zone's authoritative nameservers must
answer every value; afterwards every record made is removed, whatever happened.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rdatatype
import dns.resolver

from origincert.acme.errors import AcmeError
from origincert.cloudflare.client import CloudflareClient, Zone
from origincert.errors import CloudflareAPIError

log = logging.getLogger(__name__)

CHALLENGE_LABEL = "_acme-challenge"
RECORD_TTL = 60  # the shortest TTL every Cloudflare plan allows
RECORD_COMMENT = "origincert ACME DNS-01 challenge (removed automatically)"
_REMOVE_TRIES = 3
_QUERY_TIMEOUT_S = 3.0

Server = tuple[str, int]


@dataclass(frozen=True)
class ChallengeTxt:
    """One TXT value the ACME server will look for, and where it goes."""

    hostname: str  # the name being validated, "*.example.org" for a wildcard
    zone: Zone
    name: str  # "_acme-challenge.example.org"
    value: str


def record_name(hostname: str) -> str:
    """Where the challenge for ``hostname`` lives; a wildcard uses its parent's name."""
    bare = hostname[2:] if hostname.startswith("*.") else hostname
    return f"{CHALLENGE_LABEL}.{bare}"


class ChallengeRecords:
    """The TXT records of one order: created through the account, always removed.

    Use as a context manager: leaving it removes every record made (and looks for one
    whose creation got no answer). Records that could not be removed are kept in
    ``leftovers`` for the caller to report.
    """

    def __init__(self, client: CloudflareClient, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.sleep = sleep
        self.made: list[tuple[ChallengeTxt, str]] = []
        self.unsure: list[ChallengeTxt] = []
        self.leftovers: list[ChallengeTxt] = []

    def __enter__(self) -> ChallengeRecords:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove_all()

    def create(self, txt: ChallengeTxt) -> None:
        try:
            record = self.client.create_dns_record(
                txt.zone.id, "TXT", txt.name, txt.value, ttl=RECORD_TTL,
                comment=RECORD_COMMENT, zone=txt.zone.name,
            )
        except CloudflareAPIError as err:
            if err.status is None:
                self.unsure.append(txt)  # no answer: it may exist all the same
            raise
        self.made.append((txt, record.id))
        log.info("challenge record created hostname=%s zone=%s", txt.hostname, txt.zone.name)

    def remove_all(self) -> None:
        for txt, record_id in self.made:
            if not self._remove(txt, record_id):
                self.leftovers.append(txt)
        for txt in self.unsure:
            found = self._find(txt)
            if found is not None and not self._remove(txt, found):
                self.leftovers.append(txt)
        self.made, self.unsure = [], []

    def _remove(self, txt: ChallengeTxt, record_id: str) -> bool:
        for attempt in range(_REMOVE_TRIES):
            try:
                self.client.delete_dns_record(txt.zone.id, record_id, zone=txt.zone.name,
                                              target=f"TXT {txt.name}")
                log.info("challenge record removed hostname=%s zone=%s", txt.hostname,
                         txt.zone.name)
                return True
            except CloudflareAPIError as err:
                if err.status == 404:
                    return True  # already gone
                log.warning("challenge record not removed hostname=%s zone=%s error=%s",
                            txt.hostname, txt.zone.name, err.one_line())
                if attempt + 1 < _REMOVE_TRIES:
                    self.sleep(1.0 + attempt)
        return False

    def _find(self, txt: ChallengeTxt) -> str | None:
        try:
            records = self.client.dns_records(txt.zone.id)
        except CloudflareAPIError:
            return None
        return next((r.id for r in records if r.type == "TXT" and r.name == txt.name
                     and r.content.strip('"') == txt.value), None)


class Propagation:
    """Waits until the nameservers answer every challenge value.

    ``resolver`` fixes one server (host, port) for every zone (tests: the sandbox's
    DNS); without it, each zone's own authoritative nameservers are asked directly, so
    that no cache stands between the record and the check.
    """

    def __init__(self, resolver: Server | None = None, *, timeout: float = 120.0,
                 interval: float = 2.0, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.resolver = resolver
        self.timeout = timeout
        self.interval = interval
        self.sleep = sleep
        self.monotonic = monotonic
        self._servers: dict[str, list[Server]] = {}

    def wait(self, wanted: Iterable[ChallengeTxt]) -> None:
        pending = list(wanted)
        deadline = self.monotonic() + self.timeout
        while True:
            pending = [txt for txt in pending if not self._visible(txt)]
            if not pending:
                return
            if self.monotonic() >= deadline:
                txt = pending[0]
                where = ", ".join(f"{h}:{p}" for h, p in self.servers_for(txt.zone.name))
                raise AcmeError(
                    f"the TXT record {txt.name} did not appear at the zone's nameservers "
                    f"({where}) within {self.timeout:.0f} s",
                    hint=f"check that {txt.zone.name} is served by Cloudflare's nameservers",
                )
            self.sleep(self.interval)

    def servers_for(self, zone_name: str) -> list[Server]:
        if self.resolver is not None:
            return [self.resolver]
        if zone_name not in self._servers:
            self._servers[zone_name] = authoritative_servers(zone_name)
        return self._servers[zone_name]

    def _visible(self, txt: ChallengeTxt) -> bool:
        servers = self.servers_for(txt.zone.name)
        return bool(servers) and all(txt.value in txt_values(txt.name, server)
                                     for server in servers)


def txt_values(name: str, server: Server) -> set[str]:
    """The TXT values ``server`` answers for ``name`` now (empty when it cannot say)."""
    host, port = server
    query = dns.message.make_query(name, dns.rdatatype.TXT)
    query.flags &= ~dns.flags.RD  # ask the nameserver itself, not its cache
    try:
        response = dns.query.udp(query, host, port=port, timeout=_QUERY_TIMEOUT_S)
        if response.flags & dns.flags.TC:
            response = dns.query.tcp(query, host, port=port, timeout=_QUERY_TIMEOUT_S)
    except (dns.exception.DNSException, OSError) as err:
        log.debug("txt lookup failed name=%s server=%s:%s error=%s", name, host, port, err)
        return set()
    values = set()
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.TXT:
            for rdata in rrset:
                values.add(b"".join(rdata.strings).decode("utf-8", "replace"))
    return values


def authoritative_servers(zone_name: str) -> list[Server]:
    """The addresses of the zone's nameservers (port 53), found through the system resolver."""
    try:
        nameservers = [str(r.target) for r in dns.resolver.resolve(zone_name, "NS")]
    except dns.exception.DNSException as err:
        raise AcmeError(f"could not find the nameservers of {zone_name}: {err}",
                        hint="check this machine's DNS resolver") from err
    servers: list[Server] = []
    for nameserver in sorted(nameservers):
        try:
            servers += [(str(a), 53) for a in dns.resolver.resolve(nameserver, "A")]
        except dns.exception.DNSException:
            log.debug("nameserver has no address nameserver=%s", nameserver)
    if not servers:
        raise AcmeError(f"none of the nameservers of {zone_name} has an address",
                        hint="check this machine's DNS resolver")
    return servers
