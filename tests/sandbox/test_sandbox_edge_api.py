"""The sandbox edge's API side and its pure parts, without web servers: the meta endpoint,
the configuration-rules endpoint, hostname routing, edge certificate coverage and
Automatic HTTPS Rewrites. Issue 6, item 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from origincert.sandbox import SandboxSettings, parse_origin_map
from origincert.sandbox.edge import NotServedError, edge_certificate_covers
from origincert.sandbox.edge.rewrite import rewrite_links
from origincert.sandbox.edge.routing import resolve
from sandbox_helpers import ZONE_COM, ZONE_ORG, bearer

RULES_PATH = f"zones/{ZONE_COM}/rulesets/phases/http_config_settings/entrypoint"


def _strict_rule(expression: str, ssl: str = "strict") -> dict:
    return {"expression": expression, "action": "set_config",
            "action_parameters": {"ssl": ssl}}


# --- the meta endpoint -------------------------------------------------------------------


def test_meta_edge_endpoint_gives_cas_and_no_urls_when_the_edge_is_off(sb):
    assert sb.edge is None
    answer = httpx.get(sb.base_url + "/origincert-sandbox/edge")
    result = answer.json()["result"]
    assert answer.status_code == 200
    assert result["http"] is None and result["https"] is None
    assert result["edge_ca"].startswith("-----BEGIN CERTIFICATE-----")
    assert result["origin_pull_ca"].startswith("-----BEGIN CERTIFICATE-----")
    assert result["edge_ca"] != result["origin_pull_ca"]


def test_meta_edge_endpoint_is_not_metered(start_sandbox):
    sb = start_sandbox(SandboxSettings(rate_limit=(1, 300.0)))
    for _ in range(3):
        answer = httpx.get(sb.base_url + "/origincert-sandbox/edge", headers=bearer("full"))
        assert answer.status_code == 200


def test_edge_starts_on_free_ports_and_keeps_its_ca_across_restarts(start_sandbox, tmp_path):
    first = start_sandbox(SandboxSettings(edge=True), state_dir=tmp_path)
    assert first.edge.http_url.startswith("http://127.0.0.1:")
    assert first.edge.https_url.startswith("https://127.0.0.1:")
    info = httpx.get(first.base_url + "/origincert-sandbox/edge").json()["result"]
    assert info["https"] == first.edge.https_url
    ca, pull = first.edge.ca_pem(), first.edge.origin_pull_ca_pem()
    first.stop()

    again = start_sandbox(SandboxSettings(edge=True), state_dir=tmp_path)
    assert (again.edge.ca_pem(), again.edge.origin_pull_ca_pem()) == (ca, pull)
    assert (tmp_path / "edge-root.key").stat().st_mode & 0o777 == 0o600


def test_edge_answers_530_for_a_grey_record_without_any_origin(start_sandbox):
    sb = start_sandbox(SandboxSettings(edge=True))
    with sb.edge.client() as visitor:
        answer = visitor.get("http://mail.example.com/", headers={"Accept": "application/json"})
    assert answer.status_code == 530
    assert answer.json()["error_code"] == 1001
    assert answer.headers["server"] == "cloudflare"
    assert [r.status for r in sb.edge.request_log] == [530]


# --- configuration rules -----------------------------------------------------------------


def test_config_rules_put_sets_per_hostname_ssl_and_get_returns_the_ruleset(sb, http):
    absent = http.get(RULES_PATH, headers=bearer("full"))
    assert absent.status_code == 404

    rules = [_strict_rule('(http.host eq "Shop.example.com")'),
             _strict_rule('http.host in {"a.example.com" "b.example.com"} or '
                          'http.host eq "shop.example.com"', ssl="full")]
    put = http.put(RULES_PATH, json={"rules": rules}, headers=bearer("full"))
    assert put.status_code == 200
    zone = sb.world.zone(ZONE_COM)
    # the later rule wins for shop.example.com
    assert zone.hostname_ssl == {"shop.example.com": "full", "a.example.com": "full",
                                 "b.example.com": "full"}
    assert sb.world.ssl_mode_for(zone, "a.example.com") == "full"
    assert sb.world.ssl_mode_for(zone, "api.example.com") == "flexible"  # the zone's

    got = http.get(RULES_PATH, headers=bearer("full")).json()["result"]
    assert got["phase"] == "http_config_settings" and got["version"] == "1"
    assert [r["expression"] for r in got["rules"]] == [r["expression"] for r in rules]


def test_config_rules_need_zone_settings_edit(sb, http):
    body = {"rules": [_strict_rule('http.host eq "shop.example.com"')]}
    assert http.put(RULES_PATH, json=body, headers=bearer("read_only")).status_code == 403
    assert sb.world.zone(ZONE_COM).hostname_ssl == {}


@pytest.mark.parametrize("rule", [
    _strict_rule('http.request.uri.path eq "/"'),
    _strict_rule('http.host eq "shop.example.com"', ssl="maximum"),
    {"expression": 'http.host eq "x.example.com"', "action": "redirect",
     "action_parameters": {}},
])
def test_config_rules_refuse_what_the_sandbox_cannot_honour(sb, http, rule):
    answer = http.put(RULES_PATH, json={"rules": [rule]}, headers=bearer("full"))
    assert answer.status_code == 400
    assert sb.world.zone(ZONE_COM).config_ruleset is None


# --- routing and coverage ----------------------------------------------------------------


@pytest.mark.parametrize("hostname, covered", [
    ("example.com", True),
    ("www.example.com", True),
    ("a.example.com", True),
    ("www.shop.example.com", False),
    ("x.tenants.example.com", False),
    ("example.org", False),
    ("badexample.com", False),
])
def test_edge_certificate_covers_the_apex_and_one_level(hostname, covered):
    assert edge_certificate_covers("example.com", hostname) is covered


def test_resolve_follows_proxied_records_wildcards_and_cnames(sb):
    world = sb.world
    assert resolve(world, "WWW.Example.com.").origin == "203.0.113.10"  # CNAME to the apex
    assert resolve(world, "t1.tenants.example.com").origin == "203.0.113.10"  # wildcard
    assert resolve(world, "www.portal.example.com").origin == "203.0.113.11"
    assert resolve(world, "status.example.org").zone.id == ZONE_ORG


@pytest.mark.parametrize("hostname, reason", [
    ("mail.example.com", "DNS only"),
    ("store.example.org", "DNS only"),
    ("nothing.example.com", "no A, AAAA or CNAME"),
    ("a.b.tenants.example.com", "no A, AAAA or CNAME"),  # a wildcard matches one label
    ("pending.example", "no active zone"),
    ("example.invalid", "no active zone"),
])
def test_resolve_refuses_names_the_edge_does_not_serve(sb, hostname, reason):
    with pytest.raises(NotServedError, match=reason):
        resolve(sb.world, hostname)


def test_https_rewrites_touch_only_src_and_href_of_upgradable_hosts():
    page = (b'<a href="http://shop.example.com/x">a</a> <img src=http://shop.example.com/i>'
            b' <a href="http://shop.example.com:8080/">port</a>'
            b' <a href="http://example.org/">other</a> <p>http://shop.example.com/</p>')
    out = rewrite_links(page, lambda host: host == "shop.example.com")
    assert out == (b'<a href="https://shop.example.com/x">a</a> '
                   b'<img src=https://shop.example.com/i>'
                   b' <a href="http://shop.example.com:8080/">port</a>'
                   b' <a href="http://example.org/">other</a> <p>http://shop.example.com/</p>')


# --- the CLI -----------------------------------------------------------------------------


def test_cli_with_edge_prints_the_edge_urls_and_where_its_ca_is(agency_path, tmp_path):
    code = ("from pathlib import Path; from origincert.cli.sandbox_cmd import sandbox; "
            f"sandbox(Path({str(agency_path)!r}), '127.0.0.1', 0, Path({str(tmp_path)!r}), "
            "0, None, edge=True, origin_map=['203.0.113.10=127.0.0.1'])")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    src = Path(__file__).resolve().parents[2] / "src"
    env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")])
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = [proc.stdout.readline().strip() for _ in range(5)]
        https_url = lines[3].split(" and ")[1].split(" ")[0]
        base_url = lines[0].rsplit(" ", 1)[-1]
        info = httpx.get(base_url + "/origincert-sandbox/edge", timeout=10).json()["result"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    assert info["https"] == https_url and https_url.startswith("https://127.0.0.1:")
    assert f"{tmp_path}/edge-root.pem" in lines[4]
    assert info["edge_ca"] == (tmp_path / "edge-root.pem").read_text()


def test_origin_map_option_parses_pairs_and_refuses_malformed_ones():
    with pytest.raises(ValueError, match="ADDRESS=LOCAL"):
        parse_origin_map(["203.0.113.10"])
    assert parse_origin_map(["203.0.113.10 = 127.0.0.1"]) == {"203.0.113.10": "127.0.0.1"}
