"""Issue 11: the sandbox's authoritative DNS server answers from the live world."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.query
import dns.rcode
import httpx
import pytest

from origincert.sandbox import SandboxSettings
from sandbox_helpers import ZONE_ORG, bearer


@pytest.fixture
def dns_sb(start_sandbox):
    return start_sandbox(SandboxSettings(dns=True))


def _ask(sb, name: str, rdtype: str, *, tcp: bool = False) -> dns.message.Message:
    host, port = sb.dns.address
    query = dns.message.make_query(name, rdtype)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(query, host, port=port, timeout=3)


def _answers(sb, name: str, rdtype: str, **kwargs) -> list[str]:
    response = _ask(sb, name, rdtype, **kwargs)
    return sorted(rdata.to_text() for rrset in response.answer for rdata in rrset)


def test_grey_names_answer_their_origin_and_proxied_names_the_edge(dns_sb):
    proxy_v4, proxy_v6 = dns_sb.settings.dns_proxy_addresses

    assert _answers(dns_sb, "store.example.org", "A") == ["198.51.100.20"]
    assert _answers(dns_sb, "mail.example.com", "A") == ["203.0.113.10"]
    assert _answers(dns_sb, "example.org", "A") == [proxy_v4]
    assert _answers(dns_sb, "shop.example.com", "AAAA") == [proxy_v6]
    # a proxied CNAME is flattened; a wildcard record covers names below it
    assert _answers(dns_sb, "www.example.com", "A") == [proxy_v4]
    assert _answers(dns_sb, "x.tenants.example.com", "A") == [proxy_v4]


def test_mx_txt_ns_and_soa_are_answered_authoritatively_over_udp_and_tcp(dns_sb):
    response = _ask(dns_sb, "example.com", "MX")

    assert response.flags & dns.flags.AA
    assert _answers(dns_sb, "example.com", "MX") == ["10 mail.example.com."]
    assert _answers(dns_sb, "example.com", "TXT", tcp=True) == [
        '"v=spf1 ip4:203.0.113.10 -all"']
    assert _answers(dns_sb, "example.org", "NS") == ["ada.ns.cloudflare.com.",
                                                     "bob.ns.cloudflare.com."]
    assert _answers(dns_sb, "example.org", "SOA")[0].startswith("ada.ns.cloudflare.com.")


def test_unknown_names_are_nxdomain_and_foreign_zones_refused(dns_sb):
    missing = _ask(dns_sb, "nothing.example.org", "A")
    foreign = _ask(dns_sb, "example.test", "A")
    no_data = _ask(dns_sb, "store.example.org", "TXT")

    assert missing.rcode() == dns.rcode.NXDOMAIN and missing.authority
    assert foreign.rcode() == dns.rcode.REFUSED
    assert no_data.rcode() == dns.rcode.NOERROR and not no_data.answer


def test_txt_records_created_through_the_api_are_served_until_deleted(dns_sb):
    name = "_acme-challenge.example.org"
    made = []
    for value in ("first-value", "second-value"):
        response = httpx.post(f"{dns_sb.base_url}/zones/{ZONE_ORG}/dns_records",
                              json={"type": "TXT", "name": name, "content": value, "ttl": 60},
                              headers=bearer("full"))
        made.append(response.json()["result"]["id"])

    assert _answers(dns_sb, name, "TXT") == ['"first-value"', '"second-value"']
    assert _ask(dns_sb, name, "TXT").answer[0].ttl == 60

    for record_id in made:
        httpx.delete(f"{dns_sb.base_url}/zones/{ZONE_ORG}/dns_records/{record_id}",
                     headers=bearer("full"))
    assert _ask(dns_sb, name, "TXT").rcode() == dns.rcode.NXDOMAIN


def test_dns_server_follows_a_reset_and_is_off_unless_asked(dns_sb, sb):
    dns_sb.world.zone(ZONE_ORG).dns_records.clear()
    assert _ask(dns_sb, "store.example.org", "A").rcode() == dns.rcode.NXDOMAIN

    dns_sb.reset()

    assert _answers(dns_sb, "store.example.org", "A") == ["198.51.100.20"]
    assert sb.dns is None
