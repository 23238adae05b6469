"""Cloudflare's published address ranges: fetched from ``/ips``, validated, kept.

A list that is short or holds anything but valid networks is refused: an allow-list
built from it would lock out part of Cloudflare's edge, and a real-IP rule built from
it would trust addresses that are not Cloudflare's (field case C33). The last good
list is kept in the state, so that the lifecycle timer can refresh it later and a
run without the API can still read it.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

from origincert import files
from origincert.cloudflare.client import CloudflareClient
from origincert.errors import OriginCertError

# Cloudflare publishes 15 IPv4 and 7 IPv6 ranges (fact sheet §9); far fewer means a
# truncated or tampered answer.
MIN_IPV4 = 10
MIN_IPV6 = 5


class RangesError(OriginCertError):
    """Cloudflare's address ranges are missing, incomplete or malformed."""


@dataclass(frozen=True)
class Ranges:
    ipv4: tuple[str, ...]
    ipv6: tuple[str, ...]
    etag: str | None = None

    @property
    def all(self) -> tuple[str, ...]:
        return self.ipv4 + self.ipv6

    def to_json(self) -> dict[str, object]:
        return {"ipv4_cidrs": list(self.ipv4), "ipv6_cidrs": list(self.ipv6), "etag": self.etag}


def validate(result: dict[str, object]) -> Ranges:
    """The ranges of a ``/ips`` result, or RangesError saying what is wrong."""
    ipv4 = _networks(result.get("ipv4_cidrs"), 4)
    ipv6 = _networks(result.get("ipv6_cidrs"), 6)
    if len(ipv4) < MIN_IPV4 or len(ipv6) < MIN_IPV6:
        raise RangesError(
            f"Cloudflare's address list looks incomplete: {len(ipv4)} IPv4 and {len(ipv6)} "
            f"IPv6 ranges (expected at least {MIN_IPV4} and {MIN_IPV6})",
            hint="nothing was changed; try again later")
    etag = result.get("etag")
    return Ranges(tuple(ipv4), tuple(ipv6), str(etag) if etag else None)


def fetch(client: CloudflareClient, state_file: Path) -> Ranges:
    """The current ranges from the API, validated and kept in ``state_file``."""
    ranges = validate(client.ips())
    files.ensure_dir(state_file.parent, 0o700)
    files.write_atomic(state_file, json.dumps(ranges.to_json(), indent=2), mode=0o644)
    return ranges


def load(state_file: Path) -> Ranges | None:
    """The ranges last kept, or None."""
    if not state_file.is_file():
        return None
    return validate(json.loads(state_file.read_text()))


def parse_extra(values: list[str]) -> tuple[str, ...]:
    """Extra networks named by the user (a local proxy, a test edge), validated."""
    found = []
    for value in values:
        try:
            found.append(str(ipaddress.ip_network(value.strip(), strict=False)))
        except ValueError as err:
            raise RangesError(f"{value!r} is not an address or network",
                              hint="give it as 192.0.2.1, 192.0.2.0/24 or 2001:db8::/32") from err
    return tuple(found)


def _networks(value: object, version: int) -> list[str]:
    if not isinstance(value, list):
        raise RangesError(f"Cloudflare's address list has no IPv{version} ranges",
                          hint="nothing was changed; try again later")
    found = []
    for item in value:
        try:
            network = ipaddress.ip_network(str(item), strict=True)
        except ValueError as err:
            raise RangesError(f"Cloudflare's address list holds {item!r}, not a network",
                              hint="nothing was changed; try again later") from err
        if network.version != version:
            raise RangesError(f"{item} is listed among the IPv{version} ranges",
                              hint="nothing was changed; try again later")
        found.append(str(network))
    return found
