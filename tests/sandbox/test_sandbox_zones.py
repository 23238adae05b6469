"""Zones (filters, pagination through the SDK iterator) and single zone settings."""

from __future__ import annotations

from datetime import datetime, timezone

import cloudflare
import pytest

from origincert.sandbox.data import Zone, Setting
from sandbox_helpers import AGENCY, CLIENT_CO, OWNER, TOKENS, ZONE_COM, ZONE_NET, bearer


def _add_zones(sb, count: int) -> None:
    for index in range(count):
        sb.world.zones.append(Zone(
            id=f"{index:032x}", name=f"extra{index:02d}.example", account_id=AGENCY,
            status="active", plan="free", settings={"ssl": Setting("off")}, dns_records=[],
        ))


def test_sdk_iterator_walks_every_page_and_stops_on_the_empty_one(sb, make_client):
    _add_zones(sb, 8)
    client = make_client(token=TOKENS["full"])

    names = [z.name for z in client.zones.list(per_page=5)]

    assert len(names) == 12 and len(set(names)) == 12  # 4 Agency zones + 8 added
    pages = [p for m, p, s in sb.request_log if p.endswith("/zones")]
    assert len(pages) == 4  # three pages with zones, then the empty one


def test_page_past_the_end_is_200_with_an_empty_result(http):
    response = http.get("zones", params={"page": 9, "per_page": 5}, headers=bearer("full"))

    body = response.json()
    assert response.status_code == 200 and body["result"] == []
    assert body["result_info"] == {"page": 9, "per_page": 5, "count": 0, "total_count": 4,
                                   "total_pages": 1}


def test_per_page_outside_5_to_50_is_refused(http):
    assert http.get("zones?per_page=4", headers=bearer("full")).status_code == 400
    assert http.get("zones?per_page=51", headers=bearer("full")).status_code == 400


def test_zones_filter_by_name_status_and_account(make_client):
    client = make_client(email=OWNER[0], key=OWNER[1])

    assert [z.name for z in client.zones.list(name="example.org")] == ["example.org"]
    assert [z.name for z in client.zones.list(status="pending")] == ["pending.example"]
    assert [z.name for z in client.zones.list(account={"id": CLIENT_CO})] == ["example.io"]
    assert [z.name for z in client.zones.list(name="contains:.ne")] == ["example.net"]


def test_zone_object_carries_the_fact_sheet_fields(make_client):
    zone = make_client(token=TOKENS["full"]).zones.get(zone_id=ZONE_COM)

    assert zone.name == "example.com" and zone.status == "active" and zone.type == "full"
    assert zone.account.name == "Agency" and zone.plan.name == "Free Website"
    assert zone.paused is False and zone.name_servers and zone.activated_on is not None


def test_setting_edit_changes_value_and_modified_on(sb, make_client):
    moment = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    sb.settings.clock = lambda: moment
    client = make_client(token=TOKENS["full"])

    before = client.zones.settings.get("ssl", zone_id=ZONE_COM)
    after = client.zones.settings.edit("ssl", zone_id=ZONE_COM, value="strict")
    again = client.zones.settings.get("ssl", zone_id=ZONE_COM)

    assert before.value == "flexible" and before.modified_on is None
    assert after.value == "strict" and after.editable is True
    assert again.modified_on == moment
    assert sb.world.zone(ZONE_COM).settings["ssl"].value == "strict"


@pytest.mark.parametrize("setting, value", [
    ("always_use_https", "on"), ("automatic_https_rewrites", "on"),
    ("min_tls_version", "1.2"), ("tls_1_3", "zrt"), ("tls_client_auth", "on"),
])
def test_each_supported_setting_can_be_read_and_edited(make_client, setting, value):
    client = make_client(token=TOKENS["full"])

    client.zones.settings.get(setting, zone_id=ZONE_NET)
    edited = client.zones.settings.edit(setting, zone_id=ZONE_NET, value=value)

    assert edited.value == value


@pytest.mark.parametrize("setting, value", [
    ("ssl", "maximum"), ("min_tls_version", 1.2), ("tls_1_3", True),
    ("ssl", "origin_pull"),  # Enterprise only
])
def test_bad_setting_value_is_1007(make_client, setting, value):
    client = make_client(token=TOKENS["full"])

    with pytest.raises(cloudflare.BadRequestError) as caught:
        client.zones.settings.edit(setting, zone_id=ZONE_COM, value=value)

    assert caught.value.body["errors"][0] == {
        "code": 1007, "message": f"Invalid value for zone setting {setting}"}


def test_unknown_setting_is_1006(make_client):
    with pytest.raises(cloudflare.BadRequestError) as caught:
        make_client(token=TOKENS["full"]).zones.settings.get("rocket_loader", zone_id=ZONE_COM)

    assert caught.value.body["errors"][0]["code"] == 1006


def test_setting_patch_without_value_or_with_bad_json_is_400(http):
    path = f"zones/{ZONE_COM}/settings/ssl"

    missing = http.patch(path, json={"enabled": True}, headers=bearer("full"))
    broken = http.patch(path, content=b'{"value": ', headers=bearer("full"))

    assert missing.status_code == 400 and broken.status_code == 400
    assert broken.json()["errors"][0]["code"] == 6007
