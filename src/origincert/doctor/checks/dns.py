"""DNS: records left grey, names without records, and the origin's address made public.

Field cases C09 (a DNS-only record for a name with an Origin CA certificate:
browsers reject it) and C20 (DNS-only siblings, SPF entries and the bare-IP
handshake that reveal the origin behind a proxied site).
"""

from __future__ import annotations

import re

from cryptography import x509

from origincert.doctor.checks import host_check, run_check, zone_check
from origincert.doctor.config import OriginConfig
from origincert.doctor.facts import Facts, Target
from origincert.doctor.findings import ERROR, INFO, WARNING, ZONE_FIX, Finding, Fix, finding
from origincert.pki import certificate as certs
from origincert.zones.records import PROXIABLE_TYPES, is_private
from origincert.zones.strict import STRICT

_SPF_ADDRESS = re.compile(r"\bip[46]:([0-9a-fA-F:.]+)(?:/\d+)?")


@host_check
def records(target: Target, facts: Facts, config: OriginConfig) -> list[Finding]:
    """The name's zone, its record, and whether visitors go through Cloudflare at all."""
    if target.zone is None:
        return [finding(
            "account.no_zone", WARNING, target.hostname,
            "no connected account reaches a zone for this name",
            evidence=["no zone of any connected account holds " + target.hostname],
            explanation=("doctor could not read the SSL mode or the DNS records, so it cannot "
                         "say what visitors get; only the origin side was checked."),
            fix=Fix("connect an account whose credential reaches the zone (add the zone under "
                    "Zone Resources, with Zone → Zone → Read)",
                    command="origincert account add NAME --token-file FILE"))]
    dns = facts.dns(target)
    if not dns.records:
        return [finding(
            "dns.no_record", WARNING, target.hostname, "the zone has no record for this name",
            zone=target.zone.name,
            evidence=[f"zone {target.zone.name} has no A, AAAA or CNAME record for "
                      f"{target.hostname}"],
            explanation="Visitors cannot find the site: no DNS record points at the origin.",
            fix=Fix(f"add a proxied A/AAAA record for {target.hostname} pointing at the origin"))]
    if not dns.addresses:
        target_names = ", ".join(r.content for r in dns.records)
        return [finding(
            "dns.origin_unknown", INFO, target.hostname, "the origin is outside the zone",
            zone=target.zone.name, evidence=[f"the record points at {target_names}"],
            explanation="origincert cannot tell which address Cloudflare reaches for this "
                        "name, so the origin side was not checked.",
            fix=Fix("nothing to do if that target is intended"))]
    if dns.proxied:
        return []
    return [_grey(target, facts, address) for address in dns.addresses[:1]]


def _grey(target: Target, facts: Facts, address: str) -> Finding:
    shake = facts.handshake(address, target.sni)
    leaf = x509.load_der_x509_certificate(shake.certificate_der) if shake.ok else None
    shown = (f"served: certificate for {', '.join(certs.sans(leaf)) or 'no names'} "
             f"from {leaf.issuer.rfc4514_string()}" if leaf is not None
             else f"HTTPS: {shake.error}")
    records = facts.dns(target).records
    listed = " / ".join(f"{r.type} {r.name} → {r.content}" for r in records)
    evidence = [f"{listed} is DNS only (grey cloud)",
                f"the origin {address}, SNI {target.sni}: {shown}"]
    private = [r for r in records if is_private(r.content)]
    if leaf is not None and certs.chains_to(leaf, facts.roots()):
        ready = all(facts.strict(target, a).outcome == STRICT
                    for a in facts.dns(target).addresses) and not private
        fix = Fix(f"proxy the record of {target.hostname} (orange cloud), or serve a publicly "
                  "trusted certificate for it",
                  command=f"origincert doctor {target.hostname} --fix" if ready else None,
                  action=ZONE_FIX if ready else None, target=(target.hostname,))
        return finding(
            "dns.grey_origin_cert", ERROR, target.hostname,
            "browsers will reject this certificate: the name is DNS only", zone=target.zone.name,
            case="C09", evidence=evidence,
            explanation=("An Origin CA certificate is trusted by Cloudflare's edge only. With "
                         "the record DNS only, browsers connect to the origin directly and show "
                         "NET::ERR_CERT_AUTHORITY_INVALID."),
            fix=fix)
    return finding(
        "dns.not_proxied", WARNING, target.hostname,
        "the site is not served through Cloudflare: its record is DNS only",
        zone=target.zone.name, evidence=evidence,
        explanation=("Visitors reach the origin directly, without Cloudflare's certificate, "
                     "cache or protection, and see the origin's address. HTTPS works only if "
                     "the origin itself serves a publicly trusted certificate for the name."),
        fix=Fix(f"install an Origin CA certificate for {target.hostname}; origincert then "
                "proxies the record", command=f"origincert issue {target.hostname}"))


@zone_check
def exposure(targets: list[Target], facts: Facts) -> list[Finding]:
    """C20: DNS-only records and SPF entries naming the address of a proxied site."""
    first = targets[0]
    checked = {t.hostname for t in targets}
    origins: dict[str, list[str]] = {}
    for target in targets:
        dns = facts.dns(target)
        if dns.proxied:
            for address in dns.addresses:
                origins.setdefault(address, []).append(target.hostname)
    if not origins:
        return []

    found: list[Finding] = []
    every = facts.records(first)
    for record in every:
        if record.proxied or record.name in checked:
            continue
        if record.type in PROXIABLE_TYPES:
            leaked = [a for a in _record_addresses(record, every) if a in origins]
            if leaked:
                found.append(_exposed_record(first, record, leaked[0], origins, every))
        elif record.type == "TXT" and "v=spf1" in record.content.lower():
            leaked = [a for a in _SPF_ADDRESS.findall(record.content) if a in origins]
            if leaked:
                found.append(_exposed_spf(first, record, leaked[0], origins))
    return found


def _record_addresses(record, every) -> list[str]:
    if record.type in ("A", "AAAA"):
        return [record.content]
    target = record.content.rstrip(".").lower()
    return [r.content for r in every if r.name == target and r.type in ("A", "AAAA")]


def _exposed_record(first: Target, record, address: str, origins, every) -> Finding:
    mail = [r for r in every if r.type == "MX" and r.content.rstrip(".").lower() == record.name]
    evidence = [f"{record.type} {record.name} → {record.content} is DNS only",
                f"{address} is the origin of {', '.join(origins[address])} (proxied)"]
    if mail:
        evidence.append(f"MX of {mail[0].name} points at {record.name}")
    return finding(
        "origin.exposure", WARNING, record.name,
        f"{record.name} publishes the origin address {address}", zone=first.zone.name,
        case="C20", evidence=evidence,
        explanation=("Anyone can look up this record and reach the origin directly, bypassing "
                     "Cloudflare's protection for the proxied sites on the same address."),
        fix=Fix("move this service (mail, direct access) to another address, allow only "
                "Cloudflare's ranges to the web ports, and refuse handshakes for unknown names; "
                "do not proxy mail records", command="origincert harden SITE"))


def _exposed_spf(first: Target, record, address: str, origins) -> Finding:
    return finding(
        "origin.exposure", WARNING, record.name,
        f"the SPF record of {record.name} names the origin address {address}",
        zone=first.zone.name, case="C20",
        evidence=[f"TXT {record.name}: {record.content}",
                  f"{address} is the origin of {', '.join(origins[address])} (proxied)"],
        explanation=("SPF records are public: they tell anyone the address that sends the "
                     "domain's mail, which is also the web origin behind Cloudflare."),
        fix=Fix("send mail from another address (or a mail provider) and update the SPF "
                "record; then restrict the web ports to Cloudflare's ranges",
                command="origincert harden SITE"))


@run_check
def direct_ip(targets: list[Target], facts: Facts) -> list[Finding]:
    """What the origin shows to a handshake with no name: what direct-IP visitors get."""
    addresses: dict[str, list[str]] = {}
    for target in targets:
        if target.zone is None:
            continue
        dns = facts.dns(target)
        for address in dns.addresses if dns.proxied else ():
            addresses.setdefault(address, []).append(target.hostname)
    return [f for a, hosts in sorted(addresses.items()) if (f := _bare(a, hosts, facts))]


def _bare(address: str, hostnames: list[str], facts: Facts) -> Finding | None:
    shake = facts.handshake(address, None)
    if not shake.ok:
        return None
    leaf = x509.load_der_x509_certificate(shake.certificate_der)
    sans = certs.sans(leaf)
    origin_ca = certs.chains_to(leaf, facts.roots())
    return finding(
        "origin.direct_ip", INFO, address,
        f"https://{address}/ shows a certificate for {', '.join(sans[:3]) or 'no name'}",
        case="C20",
        evidence=[f"handshake with {address}:443 without a server name: certificate for "
                  f"{', '.join(sans) or 'no names'} from {leaf.issuer.rfc4514_string()}",
                  f"origin of {', '.join(sorted(set(hostnames)))}"],
        explanation=(("Expected: a browser opening the bare IP gets a certificate error, "
                      "because certificates name hostnames" + (" and an Origin CA certificate "
                      "is trusted by Cloudflare only" if origin_ca else "") + ". "
                      "But scanners that connect to every address read the names on it and "
                      "find the origin behind Cloudflare.")),
        fix=Fix("add a TLS catch-all that refuses handshakes for names the server does not "
                "host (nginx: ssl_reject_handshake on in a default_server block)",
                command="origincert harden SITE --catch-all"))
