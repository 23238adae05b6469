"""Issue 11: creating and deleting DNS records (POST, DELETE), as an ACME client does."""

from __future__ import annotations

import httpx
import pytest

from sandbox_helpers import TOKENS, ZONE_COM, ZONE_ORG, bearer

TXT = {"type": "TXT", "name": "_acme-challenge.store.example.org", "content": "abc-123",
       "ttl": 60, "comment": "challenge"}


def _delete(sb, zone_id: str, record_id: str, token: str = "full") -> httpx.Response:
    # DELETE of a record is not in the 2024 OpenAPI subset: checked here by hand.
    return httpx.delete(f"{sb.base_url}/zones/{zone_id}/dns_records/{record_id}",
                        headers=bearer(token))


def test_created_txt_record_is_returned_listed_and_deleted_by_id(sb, http):
    created = http.post(f"zones/{ZONE_ORG}/dns_records", json=TXT, headers=bearer("minimal"))

    assert created.status_code == 200, created.text
    record = created.json()["result"]
    assert record["type"] == "TXT" and record["name"] == TXT["name"]
    assert record["content"] == "abc-123" and record["ttl"] == 60
    assert record["proxied"] is False and record["proxiable"] is False
    assert record["comment"] == "challenge" and len(record["id"]) == 32
    listed = http.get(f"zones/{ZONE_ORG}/dns_records", params={"type": "TXT"},
                      headers=bearer("full")).json()["result"]
    assert [r["id"] for r in listed] == [record["id"]]

    deleted = _delete(sb, ZONE_ORG, record["id"])

    assert deleted.status_code == 200
    assert deleted.json() == {"result": {"id": record["id"]}, "success": True, "errors": [],
                              "messages": []}
    assert not [r for r in sb.world.zone(ZONE_ORG).dns_records if r.type == "TXT"]
    again = _delete(sb, ZONE_ORG, record["id"])
    assert again.status_code == 404 and again.json()["errors"][0]["code"] == 81044


@pytest.mark.parametrize(("body", "token", "status", "code"), [
    ({**TXT, "name": "_acme-challenge.example.com"}, "full", 400, 1004),  # not in the zone
    ({"type": "TXT", "name": TXT["name"]}, "full", 400, 1004),  # no content
    ({**TXT, "type": "BOGUS"}, "full", 400, 1004),
    ({**TXT, "ttl": 30}, "full", 400, 1004),
    ({**TXT, "proxied": True}, "full", 400, 9004),
    ({"type": "A", "name": "new.example.org", "content": "not-an-ip", "ttl": 1}, "full", 400,
     9005),
    ({"type": "MX", "name": "example.org", "content": "mx.example.org"}, "full", 400, 1004),
    ({"type": "CNAME", "name": "store.example.org", "content": "example.org"}, "full", 400,
     81053),
    ({"type": "A", "name": "store.example.org", "content": "198.51.100.20"}, "full", 400,
     81058),
    (TXT, "read_only", 403, 10000),
])
def test_create_refuses_bad_records_and_missing_permission(http, body, token, status, code):
    response = http.post(f"zones/{ZONE_ORG}/dns_records", json=body, headers=bearer(token))

    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["code"] == code


def test_delete_needs_dns_edit_and_a_zone_the_token_covers(sb):
    record = sb.world.zone(ZONE_COM).dns_records[0]

    assert _delete(sb, ZONE_COM, record.id, "read_only").status_code == 403
    assert _delete(sb, ZONE_COM, record.id, "client_co").status_code == 403
    assert _delete(sb, "0" * 32, record.id).status_code == 404
    assert record in sb.world.zone(ZONE_COM).dns_records


def test_sdk_creates_and_deletes_a_txt_record(sb, make_client):
    client = make_client(token=TOKENS["full"])

    created = client.dns.records.create(zone_id=ZONE_ORG, type="TXT", name=TXT["name"],
                                        content="from-sdk", ttl=120)
    client.dns.records.delete(created.id, zone_id=ZONE_ORG)

    assert created.content == "from-sdk"
    assert sb.world.zone(ZONE_ORG).record(created.id) is None
