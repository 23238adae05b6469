"""Issue 6, item 5: the origin exposure report over agency.json's example.com (C20)."""

from __future__ import annotations

import json

from origincert.cloudflare.client import DnsRecord
from origincert.probe.tls import Handshake
from origincert.zones.exposure import DNS_ONLY, MAIL, NO_SNI, SPF, exposure
from tests.e2e.origin import AGENCY


def _records(zone: str) -> list[DnsRecord]:
    data = next(z for z in json.loads(AGENCY.read_text())["zones"] if z["name"] == zone)
    return [DnsRecord(str(i), r["type"], r["name"], r["content"], r["proxied"], r["ttl"])
            for i, r in enumerate(data["dns_records"])]


def test_mail_record_spf_and_mx_give_the_origin_away_and_the_handshake_is_reported():
    probed = []

    def prober(host: str, port: int) -> Handshake:
        probed.append((host, port))
        return Handshake(host, port, None, None, "TLS handshake failed: UNRECOGNIZED_NAME")

    found = exposure(_records("example.com"), prober=prober)
    by_kind = {(f.kind, f.name, f.address) for f in found if f.exposed}

    assert (DNS_ONLY, "mail.example.com", "203.0.113.10") in by_kind
    assert (SPF, "example.com", "203.0.113.10") in by_kind
    assert (MAIL, "example.com", "203.0.113.10") in by_kind
    # every origin address is probed without a name; a refusal shows nothing
    assert sorted(probed) == sorted([(a, 443) for a in
                                     ("203.0.113.10", "2001:db8::10", "203.0.113.11",
                                      "203.0.113.12")])
    assert all(not f.exposed for f in found if f.kind == NO_SNI)
    # proxied records and records at other addresses are not findings
    assert not any(f.name in ("shop.example.com", "www.example.com") for f in found)


def test_grey_record_of_another_zone_is_found_and_nothing_is_probed_when_asked_not_to():
    found = exposure(_records("example.net"), probe=False)
    assert [(f.kind, f.name) for f in found] == [(DNS_ONLY, "direct.example.net")]
