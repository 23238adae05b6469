"""Which origin the edge reaches for a hostname, read from the world at request time.

Only proxied A, AAAA and CNAME records make the edge answer (fact sheet §7). A name whose
records are all DNS only (grey) is never served: for real, DNS would hand visitors the
origin address and Cloudflare would not be reached at all; a visitor that forces the
request to the edge anyway gets a 530 page saying so (`pages.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..data import DnsRecord, World, Zone

PROXIABLE = ("A", "AAAA", "CNAME")
_MAX_CNAME_DEPTH = 8


class NotServedError(Exception):
    """The edge does not serve this hostname; `reason` says why, for the error page."""

    def __init__(self, hostname: str, reason: str, error_code: int = 1001) -> None:
        super().__init__(f"{hostname}: {reason}")
        self.hostname = hostname
        self.reason = reason
        self.error_code = error_code


@dataclass(frozen=True)
class Route:
    zone: Zone
    hostname: str
    origin: str  # an address from a record, or a name outside the zone a CNAME points at


def normalize(hostname: str) -> str:
    return hostname.strip().lower().rstrip(".")


def edge_certificate_covers(zone_name: str, hostname: str) -> bool:
    """The free Universal SSL certificate: the apex and exactly one label below it."""
    if hostname == zone_name:
        return True
    label = hostname.removesuffix("." + zone_name)
    return label != hostname and label != "" and "." not in label and label != "*"


def serving_zone(world: World, hostname: str) -> Zone | None:
    """The active, unpaused zone holding `hostname`, or None."""
    zone = world.zone_for_hostname(hostname)
    if zone is None or zone.status != "active" or zone.paused:
        return None
    return zone


def resolve(world: World, hostname: str) -> Route:
    """The route for a proxied hostname; NotServedError for anything else."""
    hostname = normalize(hostname)
    zone = serving_zone(world, hostname)
    if zone is None:
        raise NotServedError(hostname, "no active zone of this sandbox holds this hostname")

    records = _records_at(zone, hostname)
    if not records:
        raise NotServedError(hostname, "the zone has no A, AAAA or CNAME record for it")
    # "If one of several A/AAAA records on a name is proxied, all are treated as proxied."
    if not any(r.proxied for r in records):
        raise NotServedError(hostname, "its DNS record is DNS only (grey cloud): real DNS "
                             "sends visitors straight to the origin, so Cloudflare is never "
                             "reached for it")
    return Route(zone, hostname, _origin_of(zone, hostname, records))


def _records_at(zone: Zone, name: str) -> list[DnsRecord]:
    """Records at `name`, else those of the wildcard one label up (`*.tenants.example.com`)."""
    exact = [r for r in zone.dns_records if r.name == name and r.type in PROXIABLE]
    if exact or name == zone.name:
        return exact
    wildcard = "*." + name.partition(".")[2]
    return [r for r in zone.dns_records if r.name == wildcard and r.type in PROXIABLE]


def _origin_of(zone: Zone, hostname: str, records: list[DnsRecord]) -> str:
    """Follow CNAMEs within the zone to an address; A is preferred over AAAA."""
    for _ in range(_MAX_CNAME_DEPTH):
        for kind in ("A", "AAAA"):
            found = next((r for r in records if r.type == kind), None)
            if found is not None:
                return found.content
        target = normalize(records[0].content)
        if target != zone.name and not target.endswith("." + zone.name):
            return target  # outside the zone: resolved like any name (origin_map may map it)
        records = _records_at(zone, target)
        if not records:
            # Cloudflare's "Origin DNS error" (1016) for a CNAME that leads nowhere.
            raise NotServedError(hostname, f"its CNAME target {target} has no address",
                                 error_code=1016)
    raise NotServedError(hostname, "its CNAME chain is too long", error_code=1016)
