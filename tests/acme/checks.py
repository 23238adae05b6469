"""What the tests look at after an ACME run: challenge records in the world and in DNS."""

from __future__ import annotations

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from origincert.sandbox import Sandbox


def challenge_records(sb: Sandbox) -> list[str]:
    """Every _acme-challenge record left in the sandbox's world."""
    return [f"{r.type} {r.name} {r.content}" for zone in sb.world.zones
            for r in zone.dns_records if r.name.startswith("_acme-challenge.")]


def dns_txt(sb: Sandbox, name: str) -> tuple[str, list[str]]:
    """The rcode and TXT values the sandbox's nameserver answers for ``name``."""
    assert sb.dns is not None
    host, port = sb.dns.address
    response = dns.query.udp(dns.message.make_query(name, dns.rdatatype.TXT), host,
                             port=port, timeout=3)
    values = [b"".join(rdata.strings).decode() for rrset in response.answer for rdata in rrset]
    return dns.rcode.to_text(response.rcode()), values


def assert_no_challenge_left(sb: Sandbox, *names: str) -> None:
    assert challenge_records(sb) == []
    for name in names:
        assert dns_txt(sb, f"_acme-challenge.{name}") == ("NXDOMAIN", []), name
