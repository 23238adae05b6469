"""Issue 6, item 4: `origincert harden SITE` on a real nginx behind the sandbox edge.

Each part is applied through the real CLI and judged from both sides: a visitor
through the edge (who must see no change) and a client reaching the origin
directly from 192.0.2.50, an address that is not Cloudflare's. The sandbox edge
connects to origins from a loopback address, not from Cloudflare's ranges, so
that address is given with ``--extra-allow`` (in production only the published
ranges are used). Field cases C20, C21, C31, C33.
"""

from __future__ import annotations

import httpx
import pytest

from origincert.harden.ranges import RangesError, validate
from tests.e2e.origin import agency_token
from tests.e2e.servers import Served
from tests.servers import nginx_tree
from tests.servers.nginx_tree import NginxTree
from tests.zones.stage import visitor

pytestmark = pytest.mark.servers

VISITOR = "192.0.2.50"   # a visitor's address, and an address that is not Cloudflare's
SITES = """\
server {
    listen 80;
    server_name example.com www.example.com;
    location = /ip { return 200 "$remote_addr\\n"; }
    location / { return 200 "main site\\n"; }
}
server {
    listen 80;
    server_name example.io www.example.io;
    location / { return 200 "client co\\n"; }
}
"""
NGINX_CONF = """\
worker_processes 1;
events { worker_connections 256; }
http {
    access_log off;
    include sites-enabled/*;
}
"""


@pytest.fixture(scope="module")
def origin(sb, home):
    tree = NginxTree.from_files({"nginx.conf": NGINX_CONF, "sites-enabled/sites": SITES},
                                home / "tree")
    served = Served("nginx", tree, home, [
        "--config-dir", str(tree.nginx.include_dir.parent), "--nginx-conf", str(tree.conf),
        "--nginx-prefix", str(tree.prefix), "--nginx-binary", nginx_tree.BINARY])
    tree.start()
    served.connect(agency_token("full access"), sb.base_url)
    served.connect(agency_token("client co"), sb.base_url, name="clientco")
    for names in (["example.com", "www.example.com", "--strict-hostname"],
                  ["example.io", "www.example.io"]):
        run = served.cli("issue", *names)
        assert run.code == 0, run
    yield served
    tree.stop()


def _edge(sb, path: str = "/", host: str = "example.com") -> httpx.Response:
    with visitor(sb, source=VISITOR) as client:
        return client.get(f"https://{host}{path}")


def _direct(path: str = "/", host: str = "example.com", address: str = "203.0.113.10",
            **headers: str) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=VISITOR, verify=False)
    with httpx.Client(transport=transport, timeout=10) as client:
        return client.get(f"https://{address}{path}", headers={"Host": host, **headers},
                          extensions={"sni_hostname": host})


@pytest.fixture(scope="module")
def edge_source(sb, origin) -> str:
    """The address the sandbox edge connects to origins from (before real-ip is on)."""
    return _edge(sb, "/ip").text.strip()


def test_real_ip_trusts_cf_connecting_ip_from_cloudflare_only_c33(origin, sb, edge_source):
    run = origin.cli("harden", "example.com", "--real-ip", "--extra-allow", edge_source)
    assert run.code == 0, run
    assert "hardened example.com: real-ip" in run.stdout

    assert _edge(sb, "/ip").text == f"{VISITOR}\n"       # the visitor, not the edge
    spoofed = _direct("/ip", **{"CF-Connecting-IP": "198.51.100.99"})
    assert spoofed.text == f"{VISITOR}\n"                  # a direct client cannot pick one
    kept = origin.state / "cloudflare-ips.json"
    assert "173.245.48.0/20" in kept.read_text()


def test_allow_list_refuses_direct_visitors_and_keeps_the_edge_working(origin, sb, edge_source):
    assert _direct().status_code == 200
    run = origin.cli("harden", "example.com", "--allow-cloudflare-only",
                     "--extra-allow", edge_source)
    assert run.code == 0, run

    assert _direct().status_code == 403, (edge_source, run.stdout)
    assert (_edge(sb).status_code, _edge(sb).text) == (200, "main site\n")


def test_catch_all_is_refused_while_proxied_names_of_this_origin_have_no_block_c21(origin):
    before = origin.snapshot()
    run = origin.cli("harden", "example.com", "--catch-all")
    assert run.code != 0, run
    assert "would refuse these proxied names" in run.stderr
    assert "shop.example.com" in run.stderr and "api.example.com" in run.stderr
    assert origin.snapshot() == before


def test_catch_all_hides_the_sites_from_a_handshake_without_a_name_c20(origin, sb):
    from origincert.probe.tls import handshake

    assert handshake("192.0.2.50", 443, None).certificate_der is not None
    run = origin.cli("harden", "example.io", "--catch-all", "--account", "clientco")
    assert run.code == 0, run

    assert handshake("192.0.2.50", 443, None).certificate_der is None
    with visitor(sb) as client:
        assert client.get("https://example.io/").text == "client co\n"
    assert "[ok] 192.0.2.50: a handshake without a name shows nothing" in run.stdout


def test_aop_zone_first_then_origin_requires_the_client_certificate_c31(origin, sb):
    zone = sb.world.zone_by_name("example.com")
    run = origin.cli("harden", "example.com", "--aop", "--json")
    assert run.code == 0, run

    assert zone.settings["tls_client_auth"].value == "on"
    assert _edge(sb).status_code == 200                        # the edge shows its certificate
    assert _direct(address="127.0.0.1").status_code == 400     # nobody else gets in

    undone = origin.cli("harden", "example.com", "--undo", "aop")
    assert undone.code == 0, undone
    assert zone.settings["tls_client_auth"].value == "off"
    assert _edge(sb).status_code == 200


def test_aop_is_undone_when_the_site_would_break(origin, sb):
    """The zone on Flexible sends no client certificate: refused before anything changes."""
    zone = sb.world.zone_by_name("example.io")
    zone.settings["ssl"].value = "flexible"
    try:
        run = origin.cli("harden", "example.io", "--aop", "--account", "clientco")
    finally:
        zone.settings["ssl"].value = "strict"
    assert run.code != 0, run
    assert "need Full or Full (strict)" in run.stderr
    assert zone.settings["tls_client_auth"].value == "off"


def test_incomplete_or_malformed_cloudflare_ranges_are_refused():
    good = {"ipv4_cidrs": [f"10.{i}.0.0/16" for i in range(15)],
            "ipv6_cidrs": [f"2400:cb0{i}::/32" for i in range(7)]}
    assert len(validate(good).all) == 22
    with pytest.raises(RangesError, match="incomplete"):
        validate({**good, "ipv4_cidrs": good["ipv4_cidrs"][:3]})
    with pytest.raises(RangesError, match="not a network"):
        validate({**good, "ipv6_cidrs": [*good["ipv6_cidrs"], "2400::/abc"]})
