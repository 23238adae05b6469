"""Issue 6, item 2: the zone step after `issue`, seen from the visitor's side of the edge.

One agency origin: a real nginx holding the example.com sites of the nginx
fixture trees (tricky's edge cases, reverse-proxy's sites, debian-wordpress's
shop) and, for the zone's other proxied names (the apex, the portal and the
app that agency.json points at other addresses), small blocks made here. In
the test's network namespace every origin address of agency.json is on the
loopback, so this one nginx answers at all of them: the whole zone is one
machine, which is what lets every proxied name pass Full (strict) at once.

The tests run in file order, as the agency would: the first sites are issued
while their siblings have no valid certificate (blocked, C02 and C42), one with
an origin redirect under Flexible (C01), one grey record (C09), per-hostname
strict and --force, then the rest, after which the zone goes to Full (strict)
by itself and every name answers 200 over HTTPS through the edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.e2e.origin import agency_token
from tests.e2e.servers import Served
from tests.servers import nginx_tree
from tests.servers.nginx_tree import NginxTree
from tests.zones.stage import Backends, FastCgi, fixture_text, pages, php_socket, visitor

pytestmark = pytest.mark.servers

MAIN_SITES = """\
# The agency's main site, and the sites agency.json places on other addresses,
# all on this one machine.
server {
    listen 80;
    server_name example.com www.example.com;
    root /var/www/main;
}
server {
    listen 80;
    server_name portal.example.com www.portal.example.com;
    root /var/www/portal;
}
server {
    listen 80;
    server_name app.example.com www.app.example.com;
    location / { proxy_pass http://127.0.0.1:8101; }
}
"""

NGINX_CONF = """\
worker_processes 1;
events { worker_connections 512; }
http {
    include mime.types;
    default_type application/octet-stream;
    access_log off;
    map $http_upgrade $connection_upgrade { default upgrade; '' close; }
    proxy_set_header Host $host;
    include conf.d/*.conf;
    include sites-enabled/*;
}
"""

# every name of the origin the free edge certificate covers, by zone (www.shop, www.agency,
# www.portal, www.app and *.tenants are two levels deep: reported, and the edge refuses them)
COVERED = {
    "example.com": ("example.com", "www.example.com", "shop.example.com", "agency.example.com",
                    "api.example.com", "legacy.example.com", "old.example.com",
                    "portal.example.com", "app.example.com"),
    "example.org": ("store.example.org", "docs.example.org"),
    "example.net": ("legacy.example.net",),
}


@dataclass
class Agency:
    origin: Served
    sb: object

    def zone(self, name: str):  # type: ignore[no-untyped-def]
        return self.sb.world.zone_by_name(name)

    def record(self, zone: str, name: str, kind: str = "A"):  # type: ignore[no-untyped-def]
        return next(r for r in self.zone(zone).dns_records if r.name == name and r.type == kind)

    def get(self, hostname: str, scheme: str = "https"):  # type: ignore[no-untyped-def]
        with visitor(self.sb) as client:
            return client.get(f"{scheme}://{hostname}/", headers={"Accept": "application/json"})


@pytest.fixture(scope="module")
def agency(sb, home) -> Agency:
    files = {
        "nginx.conf": NGINX_CONF,
        "conf.d/edge-cases.conf": _tricky(),
        "conf.d/00-default.conf": fixture_text("reverse-proxy/conf.d/00-default.conf"),
        "conf.d/sites.conf": fixture_text("reverse-proxy/conf.d/sites.conf"),
        "sites-enabled/shop.example.com":
            fixture_text("debian-wordpress/sites-available/shop.example.com"),
        "sites-enabled/main": MAIN_SITES,
    }
    tree = NginxTree.from_files(files, home / "tree")
    pages(tree.root, b"<p>hello from the origin</p>\n")
    backends = Backends()
    php = FastCgi(php_socket(tree.root), tree.root)
    origin = Served("nginx", tree, home, [
        "--config-dir", str(tree.nginx.include_dir.parent), "--nginx-conf", str(tree.conf),
        "--nginx-prefix", str(tree.prefix), "--nginx-binary", nginx_tree.BINARY,
        "--letsencrypt-dir", str(home / "letsencrypt")])
    tree.start()
    origin.connect(agency_token("full access"), sb.base_url)
    yield Agency(origin, sb)
    tree.stop()
    backends.stop()
    php.stop()


def _tricky() -> str:
    """tricky's edge cases, with the legacy block listening on every address.

    Bound to 203.0.113.10:80 it would take every plain-HTTP request to that address
    (nginx picks blocks by address first), so under Flexible every name of this origin
    would get the legacy page: the fixture's own trap, left to the tricky tree's test.
    """
    text = fixture_text("tricky/conf.d/edge-cases.conf")
    assert "listen 203.0.113.10:80;" in text
    return text.replace("listen 203.0.113.10:80;", "listen 80;")


def _ok(run) -> str:  # type: ignore[no-untyped-def]
    assert run.code == 0, run
    return run.stdout


def test_before_anything_the_grey_store_is_not_reached_through_the_edge(agency):
    assert agency.get("store.example.org").status_code == 530
    assert agency.zone("example.com").settings["ssl"].value == "flexible"


def test_strict_is_blocked_while_siblings_lack_a_valid_certificate_c02_c42(agency):
    out = _ok(agency.origin.cli("issue", "shop.example.com", "www.shop.example.com"))

    # C07: the deeper name is reported before anything is issued
    warning = out.index("warning: www.shop.example.com is two or more levels below example.com")
    assert warning < out.index("Cloudflare issued certificate")
    # C02/C42: the zone-wide switch is refused and the blockers named, with why
    assert "SSL mode of example.com left at flexible" in out
    assert "blocks Full (strict): old.example.com at 203.0.113.10: 526 expected" in out
    assert "blocks Full (strict): portal.example.com at 203.0.113.11: 525 expected" in out
    assert "rerun with --strict-hostname" in out
    zone = agency.zone("example.com")
    assert zone.settings["ssl"].value == "flexible"
    assert zone.hostname_ssl == {}
    # the HTTPS settings of the guide are on all the same
    assert zone.settings["always_use_https"].value == "on"
    assert zone.settings["automatic_https_rewrites"].value == "on"
    assert zone.settings["min_tls_version"].value == "1.2"
    assert agency.get("shop.example.com").status_code == 200


def test_origin_redirect_under_flexible_is_fixed_in_the_same_run_c01(agency):
    run = agency.origin.cli("issue", "agency.example.com", "www.agency.example.com",
                            "--redirect")
    out = _ok(run)

    assert "loop(s) under flexible" in out
    zone = agency.zone("example.com")
    assert zone.settings["ssl"].value == "flexible"   # the siblings still block it
    assert zone.hostname_ssl["agency.example.com"] == "strict"
    answer = agency.get("agency.example.com")
    assert (answer.status_code, answer.text[:12]) == (200, "backend 8101")
    # plain HTTP visitors: the edge (Always Use HTTPS) sends them to HTTPS, no loop
    assert agency.get("agency.example.com", "http").status_code == 301


def test_strict_hostname_sets_strict_for_the_issued_name_only_and_proxies_it_c09(agency):
    store = agency.record("example.org", "store.example.org")
    assert not store.proxied

    out = _ok(agency.origin.cli("issue", "store.example.org", "--strict-hostname"))

    zone = agency.zone("example.org")
    assert "blocks Full (strict): docs.example.org at 198.51.100.20: 526 expected" in out
    assert zone.settings["ssl"].value == "full"
    assert zone.hostname_ssl == {"store.example.org": "strict"}
    assert agency.record("example.org", "store.example.org").proxied  # C09: no longer grey
    answer = agency.get("store.example.org")
    assert (answer.status_code, answer.text[:12]) == (200, "backend 8102")
    # the broken sibling (a self-signed certificate pasted by hand) keeps working under Full
    assert agency.get("docs.example.org").status_code == 200


def test_force_switches_the_zone_even_though_siblings_fail_it(agency):
    out = _ok(agency.origin.cli("issue", "docs.example.org", "--replace", "--force"))

    assert "ssl: full → strict" in out
    assert agency.zone("example.org").settings["ssl"].value == "strict"
    assert agency.get("docs.example.org").status_code == 200
    # what --force costs: a sibling with no certificate for its name now fails
    assert agency.get("blog.example.org").status_code in (525, 526)


def test_once_every_proxied_name_passes_the_zone_goes_strict_by_itself(agency):
    origin = agency.origin
    for names in (["api.example.com"], ["legacy.example.com", "legacy.example.net"],
                  ["old.example.com", "--replace"],
                  ["portal.example.com", "www.portal.example.com"],
                  ["app.example.com", "www.app.example.com"]):
        _ok(origin.cli("issue", *names, "--no-zone"))
    tenants = _ok(origin.cli("issue", "*.tenants.example.com", "--no-zone"))
    # C08: the origin side is covered, the edge side is not, said before issuance
    assert tenants.index("warning: *.tenants.example.com is two or more levels") < \
        tenants.index("Cloudflare issued certificate")
    assert agency.zone("example.com").settings["ssl"].value == "flexible"

    out = _ok(origin.cli("issue", "example.com", "www.example.com"))

    assert "zone example.com: SSL mode strict (was flexible)" in out
    assert agency.zone("example.com").settings["ssl"].value == "strict"


def test_every_covered_name_of_the_origin_answers_200_over_https_through_the_edge(agency):
    seen = {}
    for zone, names in COVERED.items():
        strict = agency.zone(zone).settings["ssl"].value == "strict"
        for name in names:
            assert strict or agency.zone(zone).hostname_ssl.get(name) == "strict", name
            seen[name] = agency.get(name).status_code
    assert seen == {name: 200 for names in COVERED.values() for name in names}


def test_mail_mx_and_spf_records_are_never_touched(agency):
    zone = agency.zone("example.com")
    mail = agency.record("example.com", "mail.example.com")
    mx = agency.record("example.com", "example.com", "MX")
    spf = agency.record("example.com", "example.com", "TXT")
    assert (mail.proxied, mx.proxied, spf.proxied) == (False, False, False)
    assert (mx.content, spf.content) == ("mail.example.com", '"v=spf1 ip4:203.0.113.10 -all"')
    # DNS-only (grey) is still answered straight from the origin, never by the edge
    assert agency.get("mail.example.com").status_code == 530
    assert zone.settings["ssl"].value == "strict"
