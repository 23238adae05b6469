"""What gives the origin's address away although its sites are proxied (field case C20).

A proxied site hides its origin only if nothing else names that address:
a DNS-only record pointing at it (``mail``, ``direct``, ``ftp``), an SPF
record listing it (``ip4:``/``ip6:``), or the origin itself, which answers a
handshake without a name (an Internet-wide scan) with a certificate naming
the sites. ``exposure`` finds all three for one zone; ``doctor`` and
``harden`` show its findings. It never changes anything: proxying a mail
record would break mail (C19, C20), and moving the origin is only useful
once every leak is closed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509

from origincert.cloudflare.client import DnsRecord
from origincert.probe.tls import Handshake, handshake
from origincert.zones.records import proxied_origins

DNS_ONLY = "dns_only"          # an unproxied A/AAAA record with an origin address
SPF = "spf"                    # an SPF record whose ip4:/ip6: covers an origin address
MAIL = "mail"                  # an MX target that is one of the DNS-only records above
NO_SNI = "no_sni"              # what the origin shows a handshake without a name

Prober = Callable[[str, int], Handshake]


@dataclass(frozen=True)
class ExposureFinding:
    kind: str        # DNS_ONLY, SPF, MAIL or NO_SNI
    name: str        # the record's name, or the address probed
    address: str     # the origin address given away
    detail: str      # what a visitor or scanner sees, in words
    exposed: bool = True  # False for a no-name handshake that shows nothing

    def describe(self) -> str:
        return f"{self.name}: {self.detail}"

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, "address": self.address,
                "detail": self.detail, "exposed": self.exposed}


def origin_addresses(records: list[DnsRecord]) -> dict[str, list[str]]:
    """Each origin address of the zone's proxied hostnames, with those hostnames."""
    found: dict[str, list[str]] = {}
    for hostname, addresses in sorted(proxied_origins(records).items()):
        for address in addresses:
            found.setdefault(_canonical(address), []).append(hostname)
    return found


def exposure(records: list[DnsRecord], *, probe: bool = True, port: int = 443,
             prober: Prober | None = None,
             address_map: dict[str, str] | None = None) -> list[ExposureFinding]:
    """Every way the zone's records (and its origins) give an origin address away.

    ``probe`` makes a handshake without a name with each origin address
    (reached through ``address_map`` when given); ``prober`` replaces the
    handshake (tests).
    """
    origins = origin_addresses(records)
    findings = _dns_only(records, origins) + _spf(records, origins)
    findings += _mail(records, findings)
    if probe:
        shake = prober or (lambda host, p: handshake(host, p, None, timeout=3.0))
        mapped = address_map or {}
        for address in origins:
            findings.append(_no_sni(address, shake(mapped.get(address, address), port)))
    return findings


def _dns_only(records: list[DnsRecord], origins: dict[str, list[str]]) -> list[ExposureFinding]:
    found = []
    for record in records:
        if record.proxied or record.type not in ("A", "AAAA"):
            continue
        address = _canonical(record.content)
        if address in origins:
            sites = ", ".join(origins[address])
            found.append(ExposureFinding(
                DNS_ONLY, record.name, address,
                f"DNS-only {record.type} record points at {address}, the origin of {sites}"))
    return found


def _spf(records: list[DnsRecord], origins: dict[str, list[str]]) -> list[ExposureFinding]:
    found = []
    for record in records:
        text = record.content.strip().strip('"')
        if record.type != "TXT" or not text.lower().startswith("v=spf1"):
            continue
        for term in text.split()[1:]:
            network = _spf_network(term)
            if network is None:
                continue
            for address, sites in origins.items():
                if _within(address, network):
                    found.append(ExposureFinding(
                        SPF, record.name, address,
                        f"SPF record lists {term.lstrip('+')}, which holds {address}, the "
                        f"origin of {', '.join(sites)}"))
    return found


def _mail(records: list[DnsRecord], leaks: list[ExposureFinding]) -> list[ExposureFinding]:
    exposed = {finding.name: finding.address for finding in leaks if finding.kind == DNS_ONLY}
    found = []
    for record in records:
        target = record.content.rstrip(".").lower()
        if record.type == "MX" and target in exposed:
            found.append(ExposureFinding(
                MAIL, record.name, exposed[target],
                f"MX names {target}, which is reached directly at {exposed[target]}: mail "
                "shares the web origin's address (move mail to another address)"))
    return found


def _no_sni(address: str, shake: Handshake) -> ExposureFinding:
    if shake.certificate_der is None:
        return ExposureFinding(NO_SNI, address, address,
                               f"a handshake without a name shows nothing ({shake.error})",
                               exposed=False)
    leaf = x509.load_der_x509_certificate(shake.certificate_der)
    try:
        sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = sans.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    shown = ", ".join(names) or leaf.subject.rfc4514_string()
    return ExposureFinding(NO_SNI, address, address,
                           f"a handshake without a name gets a certificate for {shown}: a scan "
                           "of the Internet maps these names to this address")


def _spf_network(term: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    mechanism, _, value = term.lstrip("+").partition(":")
    if mechanism.lower() not in ("ip4", "ip6") or not value:
        return None
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def _within(address: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.version == network.version and ip in network


def _canonical(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address.rstrip(".").lower()


__all__ = ["DNS_ONLY", "MAIL", "NO_SNI", "SPF", "ExposureFinding",
           "exposure", "origin_addresses"]
