"""DNS records: filters, pagination, PATCH and PUT, and the proxying rules."""

from __future__ import annotations

import cloudflare
import pytest

from sandbox_helpers import TOKENS, ZONE_COM, ZONE_ORG, bearer


def _record(sb, zone_id: str, name: str, record_type: str):
    return next(r for r in sb.world.zone(zone_id).dns_records
                if r.name == name and r.type == record_type)


def test_list_filters_by_exact_name_type_and_proxied(make_client):
    client = make_client(token=TOKENS["full"])

    shop = list(client.dns.records.list(zone_id=ZONE_COM, name={"exact": "shop.example.com"}))
    aaaa = list(client.dns.records.list(zone_id=ZONE_COM, type="AAAA"))
    grey = list(client.dns.records.list(zone_id=ZONE_COM, proxied=False))
    by_name = list(client.dns.records.list(zone_id=ZONE_COM, name="mail.example.com"))

    assert sorted(r.type for r in shop) == ["A", "AAAA"]
    assert [r.name for r in aaaa] == ["shop.example.com"]
    assert sorted(r.type for r in grey) == ["A", "MX", "TXT"]
    assert [r.content for r in by_name] == ["203.0.113.10"]


def test_record_objects_have_the_fact_sheet_fields(make_client):
    client = make_client(token=TOKENS["full"])

    records = list(client.dns.records.list(zone_id=ZONE_COM))
    mx = next(r for r in records if r.type == "MX")
    txt = next(r for r in records if r.type == "TXT")

    assert len(records) == 18
    assert mx.priority == 10 and mx.proxiable is False and mx.ttl == 3600
    assert txt.proxiable is False and txt.content.startswith('"v=spf1')
    assert all(len(r.id) == 32 and r.created_on and r.modified_on for r in records)


def test_dns_pagination_defaults_to_100_and_walks_pages(sb, make_client, http):
    client = make_client(token=TOKENS["full"])

    walked = [r.id for r in client.dns.records.list(zone_id=ZONE_COM, per_page=5)]
    first = http.get(f"zones/{ZONE_COM}/dns_records", headers=bearer("full")).json()

    assert len(walked) == 18 and len(set(walked)) == 18
    assert first["result_info"]["per_page"] == 100 and first["result_info"]["total_count"] == 18


def test_edit_turns_a_grey_record_orange(sb, make_client):
    record = _record(sb, ZONE_ORG, "store.example.org", "A")
    client = make_client(token=TOKENS["full"])

    edited = client.dns.records.edit(record.id, zone_id=ZONE_ORG, name=record.name, ttl=1,
                                     type="A", proxied=True)

    assert edited.proxied is True and edited.ttl == 1
    assert _record(sb, ZONE_ORG, "store.example.org", "A").proxied is True


def test_partial_patch_changes_only_the_given_fields(sb, http):
    record = _record(sb, ZONE_COM, "mail.example.com", "A")

    response = http.patch(f"zones/{ZONE_COM}/dns_records/{record.id}",
                          json={"comment": "mail host"}, headers=bearer("full"))

    result = response.json()["result"]
    assert result["comment"] == "mail host" and result["proxied"] is False
    assert result["content"] == "203.0.113.10"


@pytest.mark.parametrize("name, record_type", [("example.com", "MX"), ("example.com", "TXT")])
def test_mx_and_txt_cannot_be_proxied_9004(sb, make_client, name, record_type):
    record = _record(sb, ZONE_COM, name, record_type)
    client = make_client(token=TOKENS["full"])

    with pytest.raises(cloudflare.BadRequestError) as caught:
        client.dns.records.edit(record.id, zone_id=ZONE_COM, name=name, ttl=3600,
                                type=record_type, proxied=True)

    assert caught.value.body["errors"][0]["code"] == 9004
    assert _record(sb, ZONE_COM, name, record_type).proxied is False


@pytest.mark.parametrize("address", ["10.0.0.5", "192.168.1.2", "127.0.0.1", "100.64.0.1",
                                     "169.254.1.1", "172.16.0.1"])
def test_private_target_cannot_be_proxied_9041(sb, http, address):
    record = _record(sb, ZONE_COM, "mail.example.com", "A")
    path = f"zones/{ZONE_COM}/dns_records/{record.id}"

    response = http.patch(path, json={"content": address, "proxied": True},
                          headers=bearer("full"))

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 9041


def test_private_ipv6_target_cannot_be_proxied_but_documentation_range_can(sb, http):
    record = _record(sb, ZONE_COM, "shop.example.com", "AAAA")
    path = f"zones/{ZONE_COM}/dns_records/{record.id}"

    ula = http.patch(path, json={"content": "fd00::1", "proxied": True}, headers=bearer("full"))
    doc = http.patch(path, json={"content": "2001:db8::20", "proxied": True},
                     headers=bearer("full"))

    assert ula.json()["errors"][0]["code"] == 9041
    assert doc.status_code == 200 and doc.json()["result"]["proxiable"] is True


def test_private_grey_record_reports_not_proxiable(sb, http):
    record = _record(sb, ZONE_COM, "mail.example.com", "A")
    path = f"zones/{ZONE_COM}/dns_records/{record.id}"

    response = http.patch(path, json={"content": "192.168.0.10"}, headers=bearer("full"))

    assert response.json()["result"]["proxiable"] is False


@pytest.mark.parametrize("body", [
    {"proxied": "yes"}, {"ttl": 5}, {"content": "not-an-ip"}, {"type": "CNAME"},
    {"name": "mail.example.org"},
])
def test_bad_patch_bodies_are_400(sb, http, body):
    record = _record(sb, ZONE_COM, "mail.example.com", "A")

    response = http.patch(f"zones/{ZONE_COM}/dns_records/{record.id}", json=body,
                          headers=bearer("full"))

    assert response.status_code == 400 and response.json()["success"] is False


def test_sdk_update_replaces_the_record(sb, make_client):
    record = _record(sb, ZONE_COM, "legacy.example.com", "A")
    client = make_client(token=TOKENS["full"])

    updated = client.dns.records.update(record.id, zone_id=ZONE_COM, name="legacy.example.com",
                                        ttl=1, type="A", content="203.0.113.5", proxied=True)

    assert updated.content == "203.0.113.5" and updated.proxied is True


def test_put_replaces_the_record(sb, http):
    record = _record(sb, ZONE_COM, "api.example.com", "A")
    body = {"type": "A", "name": "api.example.com", "content": "203.0.113.77", "ttl": 300}

    response = http.put(f"zones/{ZONE_COM}/dns_records/{record.id}", json=body,
                        headers=bearer("full"))

    result = response.json()["result"]
    assert result["content"] == "203.0.113.77" and result["proxied"] is False
    assert result["ttl"] == 300


def test_dns_edit_needs_dns_edit_and_unknown_record_is_404(sb, http):
    record = _record(sb, ZONE_COM, "mail.example.com", "A")
    path = f"zones/{ZONE_COM}/dns_records/"

    read_only = http.patch(path + record.id, json={"proxied": True}, headers=bearer("read_only"))
    unknown = http.patch(path + "0" * 32, json={"proxied": True}, headers=bearer("full"))

    assert read_only.status_code == 403 and read_only.json()["errors"][0]["code"] == 10000
    assert unknown.status_code == 404
