"""Credentials: token states, header formats, token scope and the Global API Key."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import cloudflare
import pytest

from sandbox_helpers import (AGENCY, CLIENT_CO, OPS, OWNER, TOKENS, ZONE_COM, ZONE_IO,
                             ZONE_ORG, bearer)


@pytest.mark.parametrize("name", ["full", "minimal", "no_ssl", "com_only", "read_only",
                                  "client_co"])
def test_verify_reports_an_active_token_as_active(make_client, name):
    result = make_client(token=TOKENS[name]).user.tokens.verify()

    assert result.status == "active"
    assert len(result.id) == 32


def test_verify_reports_the_expired_token_as_expired_with_its_date(make_client):
    result = make_client(token=TOKENS["expired"]).user.tokens.verify()

    assert result.status == "expired"
    assert result.expires_on == datetime(2025, 1, 1, tzinfo=timezone.utc)


def test_verify_reports_the_disabled_token_as_disabled(make_client):
    assert make_client(token=TOKENS["disabled"]).user.tokens.verify().status == "disabled"


def test_verify_shows_not_before_of_a_token_that_is_not_valid_yet(sb, make_client, http):
    token = sb.world.token(TOKENS["full"])
    token.not_before = sb.world.now() + timedelta(days=1)

    result = make_client(token=TOKENS["full"]).user.tokens.verify()
    refused = http.get("zones", headers=bearer("full"))

    assert result.status == "active" and result.not_before > datetime.now(timezone.utc)
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == 9109


def test_verify_refuses_an_unknown_token_with_401_code_1000(make_client):
    client = make_client(token="sandbox-token-that-does-not-exist-0000000")

    with pytest.raises(cloudflare.AuthenticationError) as caught:
        client.user.tokens.verify()

    assert caught.value.body["errors"][0] == {"code": 1000, "message": "Invalid API Token"}


def test_token_clock_comes_from_the_settings(sb, make_client):
    past = datetime(2024, 6, 1, tzinfo=timezone.utc)
    sb.settings.clock = lambda: past

    result = make_client(token=TOKENS["expired"]).user.tokens.verify()

    assert result.status == "active"


@pytest.mark.parametrize("name", ["expired", "disabled"])
def test_expired_and_disabled_tokens_are_refused_on_normal_endpoints(make_client, name):
    with pytest.raises(cloudflare.PermissionDeniedError) as caught:
        make_client(token=TOKENS[name]).zones.list()

    assert caught.value.body["errors"][0]["code"] == 9109


def test_unknown_well_formed_token_is_refused_with_9109(http):
    response = http.get("zones", headers={"Authorization": "Bearer " + "Z" * 40})

    assert response.status_code == 403
    assert response.json()["errors"][0] == {"code": 9109, "message": "Invalid access token"}


@pytest.mark.parametrize("value", ["Bearer " + OWNER[1], "Token abc", "Bearer bad token!"])
def test_malformed_authorization_header_is_6003_with_6111(http, value):
    response = http.get("zones", headers={"Authorization": value})

    error = response.json()["errors"][0]
    assert response.status_code == 400 and error["code"] == 6003
    assert [c["code"] for c in error["error_chain"]] == [6111]


def test_token_sent_as_global_key_is_6003_with_6103(http):
    response = http.get("zones", headers={"X-Auth-Email": OWNER[0], "X-Auth-Key": TOKENS["full"]})

    error = response.json()["errors"][0]
    assert response.status_code == 400
    assert [c["code"] for c in error["error_chain"]] == [6103]


def test_malformed_email_is_6003_with_6102(http):
    response = http.get("zones", headers={"X-Auth-Email": "owner", "X-Auth-Key": OWNER[1]})

    assert [c["code"] for c in response.json()["errors"][0]["error_chain"]] == [6102]


def test_missing_credentials_are_400_code_9106(http):
    response = http.get("zones")

    assert response.status_code == 400 and response.json()["errors"][0]["code"] == 9106


def test_wrong_global_key_is_refused(http):
    response = http.get("zones", headers={"X-Auth-Email": OWNER[0], "X-Auth-Key": OPS[1]})

    assert response.status_code == 403 and response.json()["errors"][0]["code"] == 9103


def test_global_api_key_reaches_the_zones_of_both_accounts(make_client):
    client = make_client(email=OWNER[0], key=OWNER[1])

    accounts = {z.account.id for z in client.zones.list()}
    setting = client.zones.settings.get("ssl", zone_id=ZONE_IO)

    assert accounts == {AGENCY, CLIENT_CO}
    assert setting.value == "off"


def test_ops_user_reaches_only_example_io(make_client):
    client = make_client(email=OPS[0], key=OPS[1])

    names = [z.name for z in client.zones.list()]
    with pytest.raises(cloudflare.PermissionDeniedError):
        client.zones.settings.get("ssl", zone_id=ZONE_COM)

    assert names == ["example.io"]


def test_zone_scoped_token_sees_only_its_zone(make_client):
    client = make_client(token=TOKENS["com_only"])

    names = [z.name for z in client.zones.list()]
    with pytest.raises(cloudflare.PermissionDeniedError) as caught:
        client.dns.records.list(zone_id=ZONE_ORG)

    assert names == ["example.com"]
    assert caught.value.body["errors"][0] == {"code": 10000, "message": "Authentication error"}


def test_token_without_zone_read_still_sees_its_zones_in_the_list_but_not_one_by_one(
        make_client):
    client = make_client(token=TOKENS["minimal"])

    listed = {z.name for z in client.zones.list()}
    with pytest.raises(cloudflare.PermissionDeniedError):
        client.zones.get(zone_id=ZONE_COM)

    assert "example.com" in listed


def test_read_only_token_reads_but_cannot_edit_settings(make_client):
    client = make_client(token=TOKENS["read_only"])

    assert client.zones.settings.get("ssl", zone_id=ZONE_COM).value == "flexible"
    with pytest.raises(cloudflare.PermissionDeniedError):
        client.zones.settings.edit("ssl", zone_id=ZONE_COM, value="strict")


def test_zone_objects_list_the_callers_permissions(make_client):
    zone = make_client(token=TOKENS["read_only"]).zones.get(zone_id=ZONE_COM)

    assert zone.permissions == ["#dns_records:read", "#ssl:read", "#zone:read",
                                "#zone_settings:read"]
