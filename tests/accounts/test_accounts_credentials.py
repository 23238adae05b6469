"""Credentials as users paste them: wrong kinds named, whitespace trimmed, errors that
keep Cloudflare's code, message and Ray ID, rate limiting never called a permission
problem, and the audit log of what was changed (issue 4)."""

from __future__ import annotations

import pytest

from origincert.sandbox import SandboxSettings
from origincert.secret import Secret
from tests.accounts.conftest import clean_env, global_key, token_value

FULL = "full access"
OWNER = "owner@example.com"


def _api_calls(sb) -> list:  # type: ignore[no-untyped-def]
    return [r for r in sb.request_log if not r.path.endswith("/roots")]


def test_global_key_given_as_token_is_named_by_its_shape_and_never_sent(
        cli, secret_file, sb):
    done = cli("account", "add", "x", "--token-file", str(secret_file(global_key(OWNER))),
               "--api-base", sb.base_url)
    assert done.code == 1
    assert "this looks like a Global API Key given as a token" in done.err
    assert "--email and --key-file" in done.err
    assert _api_calls(sb) == []


def test_token_given_as_global_key_is_named_by_its_shape(cli, secret_file, sb):
    done = cli("account", "add", "x", "--email", OWNER, "--key-file",
               str(secret_file(token_value(FULL))), "--api-base", sb.base_url)
    assert done.code == 1
    assert "this looks like an API token given as a Global API Key" in done.err
    assert "--token-file" in done.err
    assert _api_calls(sb) == []


@pytest.mark.parametrize("how", ["token", "key"])
def test_origin_ca_key_is_named_as_such_whichever_way_it_is_given(cli, secret_file, sb, how):
    value = "v1.0-" + "0123abcd" * 3 + "-" + "ab" * 73
    args = (["--token-file", str(secret_file(value))] if how == "token" else
            ["--email", OWNER, "--key-file", str(secret_file(value))])
    done = cli("account", "add", "x", *args, "--api-base", sb.base_url)
    assert done.code == 1
    assert "this looks like an Origin CA key" in done.err
    assert "Zone → SSL and Certificates → Edit" in done.err
    assert _api_calls(sb) == []


def test_value_of_no_known_shape_refused_as_bearer_is_named_from_the_api_answer(
        cli, secret_file, sb):
    # not hex, too short for a token: only the API can tell (6003 / 6111)
    done = cli("account", "add", "x", "--token-file",
               str(secret_file(global_key(OWNER) + "z")), "--api-base", sb.base_url)
    assert done.code == 1
    assert "looks like a Global API Key given as a token" in done.err
    assert "6111" in done.err and "Ray ID" in done.err
    assert "--email and --key-file" in done.err


def test_value_of_no_known_shape_refused_as_key_is_named_from_the_api_answer(
        cli, secret_file, sb):
    done = cli("account", "add", "x", "--email", OWNER, "--key-file",
               str(secret_file(token_value(FULL) + "-pasted")), "--api-base", sb.base_url)
    assert done.code == 1
    assert "looks like an API token given as a key" in done.err
    assert "6103" in done.err and "Ray ID" in done.err


def test_wrong_global_key_carries_code_message_ray_id_and_hint(cli, secret_file, sb):
    done = cli("account", "add", "x", "--email", OWNER, "--key-file",
               str(secret_file("f" * 37)), "--api-base", sb.base_url)
    assert done.code == 1
    line = done.err.strip()
    assert "9103" in line and "Unknown X-Auth-Key or X-Auth-Email" in line
    assert "Ray ID" in line and "check the login email" in line


@pytest.mark.parametrize("how", ["file", "stdin", "env"])
def test_token_with_stray_whitespace_is_trimmed(cli, secret_file, sb, how):
    pasted = f"  \t{token_value(FULL)}\r\n\n"
    args: list[str] = ["--api-base", sb.base_url, "--json"]
    env, stdin = clean_env(), None
    if how == "file":
        args += ["--token-file", str(secret_file(pasted))]
    elif how == "stdin":
        args += ["--token-stdin"]
        stdin = pasted
    else:
        env = clean_env(CLOUDFLARE_API_TOKEN=pasted)
    done = cli("account", "add", "pasted", *args, stdin=stdin, env=env)
    assert done.code == 0, done.err
    assert done.json()["fingerprint"] == Secret(token_value(FULL)).fingerprint()
    assert done.json()["status"] == "active"


def test_global_key_and_email_with_stray_whitespace_are_trimmed(cli, secret_file, sb):
    done = cli("account", "add", "owner", "--email", f" {OWNER}\n", "--key-file",
               str(secret_file(f"\n{global_key(OWNER)}  \n")), "--api-base", sb.base_url,
               "--json")
    assert done.code == 0, done.err
    assert done.json()["email"] == OWNER
    shown = cli("account", "show", "owner", "--json").json()
    assert shown["email"] == OWNER
    assert shown["fingerprint"] == Secret(global_key(OWNER)).fingerprint()


def test_rate_limit_is_reported_as_rate_limit_never_as_a_missing_permission(
        cli, secret_file, sb):
    assert cli("account", "add", "full", "--token-file", str(secret_file(token_value(FULL))),
               "--api-base", sb.base_url).code == 0
    sb.reset(SandboxSettings(rate_limit=(6, 300.0)))
    done = cli("account", "verify", "full", "--json")
    assert done.code == 1
    assert "10100" in done.err and "rate limit" in done.err
    assert "Ray ID" in done.err
    assert "permission" not in done.err.lower()
    # the stored report is the one from before, not a report of missing permissions
    report = cli("account", "show", "full", "--json").json()["report"]
    assert report["can_issue"] == ["example.com", "example.net", "example.org",
                                   "pending.example"]


def test_list_show_remove_never_print_the_secret(cli, secret_file, sb):
    token = token_value(FULL)
    assert cli("account", "add", "agency", "--token-file", str(secret_file(token)),
               "--api-base", sb.base_url).code == 0
    listed = cli("account", "list")
    shown = cli("account", "show", "agency")
    assert Secret(token).fingerprint() in listed.out
    assert f"secret fingerprint: {Secret(token).fingerprint()}" in shown.out
    assert "issuing certificates works for" in shown.out
    removed = cli("account", "remove", "agency")
    assert removed.code == 0
    for done in (listed, shown, removed):
        assert token not in done.out + done.err
    assert cli("account", "list", "--json").json() == []


def test_verify_without_a_name_reports_every_account(cli, secret_file, sb):
    for name, given in (("full", FULL), ("clientco", "client co")):
        assert cli("account", "add", name, "--token-file",
                   str(secret_file(token_value(given))), "--api-base", sb.base_url).code == 0
    done = cli("account", "verify", "--json")
    assert done.code == 0, done.err
    assert [r["name"] for r in done.json()["accounts"]] == ["clientco", "full"]


def test_log_shows_every_probe_as_a_probe_with_zone_result_and_ray_id(cli, secret_file, sb):
    assert cli("account", "add", "minimal", "--token-file",
               str(secret_file(token_value("minimal: DNS edit + SSL and Certificates edit"))),
               "--api-base", sb.base_url).code == 0
    writes = [r for r in sb.request_log if r.method in ("POST", "PATCH", "PUT", "DELETE")]

    done = cli("log", "--json", "--limit", "100")
    assert done.code == 0, done.err
    entries = done.json()
    assert len(entries) == len(writes)  # every write the API saw is in the log
    assert {e["action"] for e in entries} == {"probe.origin_ca.create",
                                               "probe.dns_record.edit"}
    assert all(e["probe"] and e["ray_id"] and e["detail"] == "account minimal"
               for e in entries)
    certificate_probes = [e for e in entries if e["action"] == "probe.origin_ca.create"]
    assert sorted(e["zone"] for e in certificate_probes) == [
        "example.com", "example.net", "example.org", "pending.example"]
    assert all(e["result"] == "error" and "nothing can be issued" in e["target"]
               for e in certificate_probes)
    # nothing was issued by the probes
    assert sb.world.certificates == {}

    text = cli("log", "--limit", "2")
    assert text.code == 0 and text.out.count("\n") == 2
    assert "probe." in text.out and "ray " in text.out
