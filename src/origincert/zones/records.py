"""DNS records as the zone work needs them: which names are proxied, to where."""

from __future__ import annotations

import ipaddress

from origincert.cloudflare.client import DnsRecord as Record

PROXIABLE_TYPES = ("A", "AAAA", "CNAME")


def proxied_origins(records: list[Record]) -> dict[str, list[str]]:
    """Every proxied hostname of the zone and the origin addresses behind it.

    A CNAME is followed inside the zone (to the A/AAAA records of its target);
    a target outside the zone has no address we can know, so it maps to no
    address and is reported as unverifiable by the callers.
    """
    origins: dict[str, list[str]] = {}
    for record in records:
        if record.proxied and record.type in PROXIABLE_TYPES:
            origins.setdefault(record.name, [])
            for address in _addresses(record, records, depth=0):
                if address not in origins[record.name]:
                    origins[record.name].append(address)
    return origins


def _addresses(record: Record, records: list[Record], *, depth: int) -> list[str]:
    if record.type in ("A", "AAAA"):
        return [record.content]
    if depth > 8:  # a CNAME loop; Cloudflare refuses these too
        return []
    target = record.content.rstrip(".").lower()
    found: list[str] = []
    for other in records:
        if other.name == target and other.type in PROXIABLE_TYPES:
            found += _addresses(other, records, depth=depth + 1)
    return found


def is_private(address: str) -> bool:
    """True for targets Cloudflare will not proxy: private, loopback, link-local…

    The documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24,
    2001:db8::/32) count as public here, as the sandbox data relies on them.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if _is_documentation(ip):
        return False
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_unspecified \
        or ip.is_reserved or ip in ipaddress.ip_network("100.64.0.0/10")


def _is_documentation(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    documentation = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
    return any(ip.version == ipaddress.ip_network(n).version and ip in ipaddress.ip_network(n)
               for n in documentation)
