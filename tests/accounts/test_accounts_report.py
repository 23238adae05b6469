"""Every sandbox credential through `account add`, `account verify --json` and the
pre-flight of `issue`: the exact permission report and outcome of each (issue 4).

The expected reports are written out by hand from agency.json's policies, not
derived with the product's own table.
"""

from __future__ import annotations

import pytest

from origincert.accounts import connect, preflight
from origincert.cloudflare.client import Zone
from origincert.errors import CredentialError, PermissionMissingError
from origincert.state.db import Store
from origincert.state.paths import StatePaths
from tests.accounts.conftest import global_key, token_value

ACTIONS = ("issue_certificates", "revoke_certificates", "list_certificates", "list_dns",
           "change_proxying", "read_ssl_settings", "set_ssl_settings",
           "authenticated_origin_pulls", "read_zone")
# Answered by a write that cannot change anything (or from one), hence inferred.
INFERRED = {"issue_certificates", "revoke_certificates", "change_proxying",
            "set_ssl_settings", "authenticated_origin_pulls"}

ALL = set(ACTIONS)
MINIMAL = {"issue_certificates", "revoke_certificates", "list_certificates", "list_dns",
           "change_proxying"}
NO_SSL = {"list_dns", "change_proxying", "read_zone"}
READ_ONLY = {"list_certificates", "list_dns", "read_ssl_settings", "read_zone"}

SSL_EDIT = "Zone → SSL and Certificates → Edit"
DNS_EDIT = "Zone → DNS → Edit"
SETTINGS_EDIT = "Zone → Zone Settings → Edit"
ZONE_READ = "Zone → Zone → Read"

AGENCY_ZONES = ("example.com", "example.net", "example.org", "pending.example")
ALL_ZONES = ("example.com", "example.io", "example.net", "example.org", "pending.example")

# name -> (how it is given, the zones it reaches, allowed actions, missing permissions)
ADDED = {
    "full": ("full access", AGENCY_ZONES, ALL, []),
    "minimal": ("minimal: DNS edit + SSL and Certificates edit", AGENCY_ZONES, MINIMAL,
                [SETTINGS_EDIT, ZONE_READ]),
    "nossl": ("no SSL permission", AGENCY_ZONES, NO_SSL, [SSL_EDIT, SETTINGS_EDIT]),
    "comonly": ("example.com only", ("example.com",), ALL, []),
    "readonly": ("read only", AGENCY_ZONES, READ_ONLY, [SSL_EDIT, DNS_EDIT, SETTINGS_EDIT]),
    "clientco": ("client co", ("example.io",), ALL, []),
    "owner": ("owner@example.com", ALL_ZONES, ALL, []),
}
CONSEQUENCE = {
    SSL_EDIT: "certificates cannot be issued for {zone}",
    DNS_EDIT: "records will not be proxied automatically",
    SETTINGS_EDIT: "SSL mode will not be set to Full (strict) automatically",
    ZONE_READ: "zone details of {zone} cannot be read",
}


def _add(cli, secret_file, sb, name: str):  # type: ignore[no-untyped-def]
    given = ADDED[name][0]
    if "@" in given:
        return cli("account", "add", name, "--email", given, "--key-file",
                   str(secret_file(global_key(given))), "--api-base", sb.base_url, "--json")
    return cli("account", "add", name, "--token-file", str(secret_file(token_value(given))),
               "--api-base", sb.base_url, "--json")


def _check_report(report: dict, name: str) -> None:
    _, zones, allowed, missing = ADDED[name]
    assert report["name"] == name
    assert report["kind"] == ("global_key" if name == "owner" else "token")
    assert report["status"] == "active"
    assert report["expires_on"] is None and report["not_before"] is None
    assert [z["name"] for z in report["zones"]] == list(zones)
    for zone in report["zones"]:
        actions = zone["actions"]
        assert list(actions) == list(ACTIONS), zone["name"]
        assert {k for k, v in actions.items() if v["allowed"]} == allowed, zone["name"]
        assert {k for k, v in actions.items() if v["allowed"] is False} == ALL - allowed
        assert {k for k, v in actions.items() if v["inferred"]} == INFERRED, zone["name"]
        assert [m["permission"] for m in zone["missing"]] == missing, zone["name"]
        for item in zone["missing"]:
            assert item["resource"] == f"Zone Resources: include {zone['name']}"
            assert CONSEQUENCE[item["permission"]].format(zone=zone["name"]) \
                in item["consequence"]
    can_issue = list(zones) if "issue_certificates" in allowed else []
    assert report["can_issue"] == can_issue


@pytest.mark.parametrize("name", list(ADDED))
def test_credential_is_added_with_its_exact_report_and_verify_says_the_same(
        cli, secret_file, sb, name):
    added = _add(cli, secret_file, sb, name)
    assert added.code == 0, added.err
    _check_report(added.json(), name)

    verified = cli("account", "verify", name, "--json")
    assert verified.code == 0, verified.err
    reports = verified.json()["accounts"]
    assert len(reports) == 1
    _check_report(reports[0], name)


def test_minimal_token_issues_and_names_the_later_steps_that_need_more(cli, secret_file, sb):
    added = cli("account", "add", "minimal", "--token-file",
                str(secret_file(token_value(ADDED["minimal"][0]))), "--api-base", sb.base_url)
    assert added.code == 0, added.err
    assert "issuing certificates works for: example.com, example.net, example.org, " \
           "pending.example" in added.out
    assert "later steps need more: Zone → Zone Settings → Edit, Zone → Zone → Read" in added.out
    assert "SSL mode will not be set to Full (strict) automatically" in added.out


@pytest.mark.parametrize("given, word", [("expired", "expired"), ("disabled", "disabled")])
def test_token_that_cannot_authenticate_is_refused_saying_which(
        cli, secret_file, sb, state_dir, given, word):
    done = cli("account", "add", "x", "--token-file", str(secret_file(token_value(given))),
               "--api-base", sb.base_url)
    assert done.code == 1
    assert f"the API token is {word}" in done.err
    if word == "expired":
        assert "2025-01-01" in done.err
    assert cli("account", "list", "--json").json() == []


def test_token_not_valid_yet_is_refused_saying_so(cli, secret_file, tmp_path, sandbox_state):
    import json

    from origincert.sandbox import Sandbox
    from tests.accounts.conftest import agency

    data = agency()
    data["tokens"].append({**data["tokens"][0], "name": "future",
                           "value": "sandbox-token-not-yet-valid-0000000000009",
                           "not_before": "2099-01-01T00:00:00Z"})
    path = tmp_path / "future.json"
    path.write_text(json.dumps(data))
    sb = Sandbox.start(path, state_dir=sandbox_state)
    try:
        done = cli("account", "add", "x", "--token-file",
                   str(secret_file("sandbox-token-not-yet-valid-0000000000009")),
                   "--api-base", sb.base_url)
    finally:
        sb.stop()
    assert done.code == 1
    assert "the API token is not yet valid (valid from 2099-01-01" in done.err


def test_unknown_token_is_refused_as_invalid_with_code_and_ray_id(cli, secret_file, sb):
    done = cli("account", "add", "x", "--token-file",
               str(secret_file("sandbox-token-nobody-ever-made-this-0000099")),
               "--api-base", sb.base_url)
    assert done.code == 1
    assert "the API token is invalid" in done.err
    assert "1000" in done.err and "Invalid API Token" in done.err and "Ray ID" in done.err


# -- the pre-flight of issue ------------------------------------------------------------


def _zone(sb, name: str) -> Zone:
    z = next(z for z in sb.world.zones if z.name == name)
    return Zone(id=z.id, name=z.name, status=z.status, account_id=z.account_id,
                account_name=None)


PREFLIGHT = [
    # account, zone, refusal (None: issuing allowed)
    ("full", "example.com", None),
    ("minimal", "example.org", None),
    ("nossl", "example.com", "account nossl may not issue certificates for example.com: add "
                             "Zone → SSL and Certificates → Edit, Zone Resources: include "
                             "example.com"),
    ("comonly", "example.com", None),
    ("comonly", "example.org", "account comonly may not issue certificates for example.org: "
                               "add Zone → SSL and Certificates → Edit, Zone Resources: "
                               "include example.org"),
    ("readonly", "example.net", "account readonly may not issue certificates for example.net: "
                                "add Zone → SSL and Certificates → Edit, Zone Resources: "
                                "include example.net"),
    ("clientco", "example.io", None),
    ("clientco", "example.com", "account clientco may not issue certificates for example.com"),
    ("owner", "example.io", None),
]


@pytest.mark.parametrize("name, zone, refusal", PREFLIGHT)
def test_preflight_allows_or_stops_naming_permission_and_zone(
        cli, secret_file, sb, state_dir, name, zone, refusal):
    assert _add(cli, secret_file, sb, name).code == 0
    sb.request_log.clear()
    lines: list[str] = []
    with Store(StatePaths(state_dir=state_dir, config_dir=state_dir / "cfg")) as store:
        account = store.get_account(name)
        client = connect.client_for(store, account)
        try:
            if refusal is None:
                found = preflight.check_before_issue(account, client, [_zone(sb, zone)],
                                                     progress=lines.append)
                assert [z["name"] for z in found["zones"]] == [zone]
                assert lines[0].startswith(f"account {name} may issue certificates for {zone}")
            else:
                with pytest.raises(PermissionMissingError) as stopped:
                    preflight.check_before_issue(account, client, [_zone(sb, zone)],
                                                 progress=lines.append)
                assert stopped.value.message.startswith(refusal)
                assert "nothing was generated" in stopped.value.one_line()
                assert "\n" not in stopped.value.one_line()
        finally:
            client.close()
    # the pre-flight asks the token's status and probes issuance once: bulk runs pay
    # for every call (issue 10), the full report is `account verify`'s job
    touched = [r.path for r in sb.request_log if "/zones/" in r.path]
    assert all(_zone(sb, zone).id in path for path in touched)
    assert len(sb.request_log) <= 3


def test_preflight_for_minimal_token_says_what_later_steps_need(cli, secret_file, sb,
                                                              state_dir):
    assert _add(cli, secret_file, sb, "minimal").code == 0
    lines: list[str] = []
    with Store(StatePaths(state_dir=state_dir, config_dir=state_dir / "cfg")) as store:
        account = store.get_account("minimal")
        client = connect.client_for(store, account)
        try:
            preflight.check_before_issue(account, client, [_zone(sb, "example.com")],
                                         progress=lines.append)
        finally:
            client.close()
    assert any("later steps need more" in line and "Zone → Zone Settings → Edit" in line
               and "SSL mode will not be set to Full (strict)" in line for line in lines)


@pytest.mark.parametrize("given, word", [("expired", "expired"), ("disabled", "disabled")])
def test_preflight_stops_for_a_token_that_no_longer_authenticates(
        sb, state_dir, given, word):
    from origincert.cloudflare.client import CloudflareClient
    from origincert.cloudflare.credential import TOKEN, Credential
    from origincert.secret import Secret

    with Store(StatePaths(state_dir=state_dir, config_dir=state_dir / "cfg")) as store:
        # stored directly: `account add` refuses it, but a token can expire after it
        account = store.add_account(given, TOKEN, Secret(token_value(given)),
                                    api_base=sb.base_url)
        client = CloudflareClient(Credential(TOKEN, Secret(token_value(given))),
                                  base_url=sb.base_url)
        try:
            with pytest.raises(CredentialError) as stopped:
                preflight.check_before_issue(account, client, [_zone(sb, "example.com")],
                                             progress=lambda line: None)
        finally:
            client.close()
    assert f"the API token of account {given} is {word}" in stopped.value.message
    assert not any(r.method == "POST" for r in sb.request_log)
