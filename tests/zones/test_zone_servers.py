"""Issue 6, "Done when": every fixture tree, on its real server, behind the sandbox edge.

One tree at a time (they all listen on ports 80 and 443): each site is issued
through the real CLI with the zone step on. The zone of example.com stays
Flexible while the other trees are down, so its sites get Full (strict) by a
configuration rule (``--strict-hostname``); example.net is already strict.
Then every name of the tree that the free edge certificate covers must answer
200 over HTTPS through the edge. The Let's Encrypt tree is refused without
``--replace`` (item 3), and with it its certbot renewal is disabled, kept aside.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.origin import agency_token
from tests.e2e.servers import Served, build_apache, build_caddy, build_nginx
from tests.zones.stage import Backends, FastCgi, pages, php_socket, visitor

pytestmark = pytest.mark.servers


@dataclass(frozen=True)
class Tree:
    issues: tuple[tuple[str, ...], ...]   # one `issue` argument list per site
    covered: tuple[str, ...]              # names the free edge certificate covers
    deeper: tuple[str, ...] = ()          # names it does not: the edge refuses them


STRICT_HOSTNAME = "--strict-hostname"
TREES = {
    # Apache's portal forces HTTPS with mod_rewrite and Caddy redirects by itself: under
    # Flexible both would loop (C01); the per-hostname rule gives them Full (strict).
    "apache": Tree((("portal.example.com", "www.portal.example.com", STRICT_HOSTNAME),
                    ("intranet.example.net", "--replace")),
                   ("portal.example.com", "intranet.example.net"), ("www.portal.example.com",)),
    "caddy": Tree((("app.example.com", "www.app.example.com", STRICT_HOSTNAME),
                   ("status.example.org", STRICT_HOSTNAME)),
                  ("app.example.com", "status.example.org"), ("www.app.example.com",)),
    "debian-wordpress": Tree((("blog.example.org", STRICT_HOSTNAME),
                              ("shop.example.com", "www.shop.example.com", STRICT_HOSTNAME)),
                             ("blog.example.org", "shop.example.com"), ("www.shop.example.com",)),
    # legacy is bound to 203.0.113.10: its TLS listener must not take that address's
    # TLS connections away from api and old (they would meet legacy's certificate: 526)
    "tricky": Tree((("legacy.example.com", "legacy.example.net", STRICT_HOSTNAME),
                    ("api.example.com", STRICT_HOSTNAME),
                    ("old.example.com", "--replace", STRICT_HOSTNAME),
                    ("*.tenants.example.com", STRICT_HOSTNAME)),
                   ("legacy.example.com", "legacy.example.net", "api.example.com",
                    "old.example.com"), ("t1.tenants.example.com",)),
    "reverse-proxy": Tree((("agency.example.com", "www.agency.example.com", STRICT_HOSTNAME),
                           ("store.example.org", STRICT_HOSTNAME),
                           ("docs.example.org", "--replace", STRICT_HOSTNAME)),
                          ("agency.example.com", "store.example.org", "docs.example.org"),
                          ("www.agency.example.com",)),
}


@dataclass
class Stage:
    served: Served
    sb: object
    tree: Tree
    runs: list


def _build(kind: str, home) -> Served:  # type: ignore[no-untyped-def]
    if kind == "apache":
        return build_apache(home)
    if kind == "caddy":
        return build_caddy(home)
    return build_nginx(kind, home)


@pytest.fixture(scope="module", params=list(TREES))
def stage(request, sb, home) -> Stage:
    served = _build(request.param, home / request.param)
    pages(served.root, b"<p>hello from the origin</p>\n")
    backends = Backends() if request.param == "reverse-proxy" else None
    php = FastCgi(php_socket(served.root), served.root) \
        if request.param == "debian-wordpress" else None
    served.start()
    try:
        served.connect(agency_token("full access"), sb.base_url)
        tree = TREES[request.param]
        runs = [served.cli("issue", *args) for args in tree.issues]
        yield Stage(served, sb, tree, runs)
    finally:
        served.stop()
        for helper in (backends, php):
            if helper is not None:
                helper.stop()


def test_every_site_is_issued_with_the_zone_step_and_exits_0(stage):
    for run in stage.runs:
        assert run.code == 0, run
        assert "installed and verified" in run.stdout, run


def test_every_covered_name_answers_200_over_https_under_strict(stage):
    seen = {}
    with visitor(stage.sb) as client:
        for name in stage.tree.covered:
            zone = stage.sb.world.zone_for_hostname(name)
            assert stage.sb.world.ssl_mode_for(zone, name) == "strict", name
            seen[name] = client.get(f"https://{name}/").status_code
        for name in stage.tree.deeper:  # C07/C08: the edge has no certificate for these
            with pytest.raises(httpx.ConnectError):
                client.get(f"https://{name}/")
    logs = "".join(log.read_text()[-2000:] for log in stage.served.root.glob("var/log/*/*.log"))
    assert seen == {name: 200 for name in stage.tree.covered}, logs
