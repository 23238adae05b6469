"""What the sandbox's nameservers answer: the world's zones, read at every query.

Like Cloudflare's authoritative DNS, a proxied name answers with edge addresses, never
with its origin (a proxied CNAME is flattened to them); everything else answers with the
record's content. Only the apex has NS and SOA, synthesized; a name the world has no
zone for is refused, as an authoritative server does for zones it does not serve.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Sequence

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset

from ..data import DnsRecord, World, Zone

log = logging.getLogger(__name__)

AUTO_TTL = 300  # what ttl 1 ("automatic") and every proxied record answer with
NAMESERVERS = ("ada.ns.cloudflare.com", "bob.ns.cloudflare.com")  # as GET /zones/{id} says
_SOA = "{ns}. dns.cloudflare.com. 2351975472 10000 2400 604800 1800"
_CNAME_DEPTH = 8
_PROXIED = ("A", "AAAA", "CNAME")


def answer(query: dns.message.Message, world: World,
           proxy_addresses: Sequence[str]) -> dns.message.Message:
    """The response to one query, with the world as it is now."""
    response = dns.message.make_response(query)
    if query.opcode() != dns.opcode.QUERY or len(query.question) != 1:
        response.set_rcode(dns.rcode.NOTIMP if query.opcode() != dns.opcode.QUERY
                           else dns.rcode.FORMERR)
        return response

    question = query.question[0]
    name = _text(question.name)
    zone = _zone_for(world, name)
    if zone is None or question.rdclass != dns.rdataclass.IN:
        response.set_rcode(dns.rcode.REFUSED)
        return response

    response.flags |= dns.flags.AA
    resolver = _ZoneView(world, proxy_addresses)
    found = resolver.resolve(zone, name, question.rdtype, response.answer)
    if not response.answer:
        response.authority.append(_soa(zone))
        if not found:
            response.set_rcode(dns.rcode.NXDOMAIN)
    return response


class _ZoneView:
    """Turns the records of the world's zones into resource record sets."""

    def __init__(self, world: World, proxy_addresses: Sequence[str]) -> None:
        self.world = world
        self.proxy_addresses = list(proxy_addresses)

    def resolve(self, zone: Zone, name: str, rdtype: int, into: list, depth: int = 0) -> bool:
        """Add the answers for (name, rdtype) to ``into``; False when the name does not exist.

        A CNAME is followed inside the sandbox's zones, as a resolver would.
        """
        records = _records_at(zone, name)
        apex = name == zone.name
        if not records and not apex:
            return _has_names_below(zone, name)

        proxied = any(r.proxied and r.type in _PROXIED for r in records)
        cname = next((r for r in records if r.type == "CNAME"), None)
        if cname is not None and not proxied and rdtype not in (dns.rdatatype.CNAME,
                                                                 dns.rdatatype.ANY):
            into.append(_rrset(name, "CNAME", [_absolute(cname.content)], _ttl(cname)))
            target = _text(dns.name.from_text(cname.content))
            target_zone = _zone_for(self.world, target)
            if target_zone is not None and depth < _CNAME_DEPTH:
                self.resolve(target_zone, target, rdtype, into, depth + 1)
            return True

        for rtype in _wanted_types(rdtype):
            into.extend(self._rrsets(zone, name, rtype, records, proxied))
        return True

    def _rrsets(self, zone: Zone, name: str, rtype: str, records: list[DnsRecord],
                proxied: bool) -> Iterable[dns.rrset.RRset]:
        if rtype in ("A", "AAAA") and proxied:
            version = 4 if rtype == "A" else 6
            texts = [a for a in self.proxy_addresses if ipaddress.ip_address(a).version == version]
            return [_rrset(name, rtype, texts, AUTO_TTL)] if texts else []
        if rtype == "CNAME" and proxied:
            return []  # flattened to the edge addresses
        if name == zone.name and rtype == "NS":
            return [_rrset(name, "NS", [f"{ns}." for ns in NAMESERVERS], 86400)]
        if name == zone.name and rtype == "SOA":
            return [_soa(zone)]

        chosen = [r for r in records if r.type == rtype]
        rdatas = [rdata for r in chosen for rdata in [_rdata(r)] if rdata is not None]
        if not rdatas:
            return []
        rrset = dns.rrset.RRset(dns.name.from_text(name), dns.rdataclass.IN,
                                dns.rdatatype.from_text(rtype))
        rrset.update_ttl(min(_ttl(r) for r in chosen))
        for rdata in rdatas:
            rrset.add(rdata)
        return [rrset]


def to_wire(response: dns.message.Message, query: dns.message.Message, limit: int) -> bytes:
    """Wire form within ``limit`` bytes; too large for it, the answer is sent truncated."""
    try:
        return response.to_wire(max_size=limit)
    except dns.exception.TooBig:
        truncated = dns.message.make_response(query)
        truncated.flags |= dns.flags.TC | (response.flags & dns.flags.AA)
        return truncated.to_wire(max_size=limit)


def udp_limit(query: dns.message.Message) -> int:
    return max(512, query.payload) if query.edns >= 0 else 512


def _zone_for(world: World, name: str) -> Zone | None:
    matches = [z for z in list(world.zones) if name == z.name or name.endswith("." + z.name)]
    return max(matches, key=lambda z: len(z.name), default=None)


def _records_at(zone: Zone, name: str) -> list[DnsRecord]:
    records = list(zone.dns_records)
    exact = [r for r in records if r.name == name]
    if exact or name == zone.name or _has_names_below(zone, name):
        return exact
    # A wildcard covers a name only where nothing exists (RFC 4592, simplified).
    wildcard = "*." + name.split(".", 1)[1]
    return [r for r in records if r.name == wildcard]


def _has_names_below(zone: Zone, name: str) -> bool:
    return any(r.name.endswith("." + name) for r in list(zone.dns_records))


def _wanted_types(rdtype: int) -> list[str]:
    if rdtype == dns.rdatatype.ANY:
        return ["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "CAA", "SRV"]
    return [dns.rdatatype.to_text(rdtype)]


def _rdata(record: DnsRecord) -> dns.rdata.Rdata | None:
    """The record's content as rdata; content that does not parse is left out."""
    try:
        if record.type == "TXT":
            return _txt(record.content)
        text = record.content
        if record.type in ("CNAME", "NS", "PTR"):
            text = _absolute(text)
        elif record.type == "MX":
            text = f"{record.priority or 0} {_absolute(text)}"
        return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(record.type),
                                   text)
    except (dns.exception.DNSException, ValueError) as err:
        log.warning("sandbox dns skips a record name=%s type=%s: %s", record.name,
                    record.type, err)
        return None


def _txt(content: str) -> dns.rdata.Rdata:
    """TXT content as Cloudflare takes it: quoted strings as they are, else one value in
    strings of at most 255 bytes."""
    if content.startswith('"') and content.endswith('"') and len(content) > 1:
        return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, content)
    raw = content.encode("utf-8")
    chunks = [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks)


def _rrset(name: str, rtype: str, texts: list[str], ttl: int) -> dns.rrset.RRset:
    return dns.rrset.from_text_list(dns.name.from_text(name), ttl, dns.rdataclass.IN,
                                    dns.rdatatype.from_text(rtype), texts)


def _soa(zone: Zone) -> dns.rrset.RRset:
    return _rrset(zone.name, "SOA", [_SOA.format(ns=NAMESERVERS[0])], 1800)


def _ttl(record: DnsRecord) -> int:
    return AUTO_TTL if record.ttl == 1 or record.proxied else record.ttl


def _absolute(name: str) -> str:
    return name if name.endswith(".") else name + "."


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()
