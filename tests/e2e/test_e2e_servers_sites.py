"""Issue #5, "Done when": `origincert sites` lists every site of every fixture tree with its zone.

Each tree (the four nginx trees, the Apache tree, the Caddyfile) is laid out
as its real server reads it (nothing needs to run: `sites` reads the
configuration with the server's own tools: crossplane, `apache2ctl -S`,
`caddy adapt`), one account is connected to the sandbox (agency.json, the
"full access" token), and `sites --json` must name exactly the sites below,
each name matched with its zone and the connected account, with whether it
serves HTTPS now; the plain output names every site and zone too.
"""

from __future__ import annotations

import pytest

from tests.e2e.origin import agency_token
from tests.e2e.servers import Origins, Served

pytestmark = pytest.mark.servers

# tree -> {site: ({hostname: zone}, serves HTTPS now)}
SITES: dict[tuple[str, str], dict[str, tuple[dict[str, str], bool]]] = {
    ("nginx", "debian-wordpress"): {
        "blog.example.org": ({"blog.example.org": "example.org"}, False),
        "shop.example.com": ({"shop.example.com": "example.com",
                              "www.shop.example.com": "example.com"}, False),
    },
    ("nginx", "letsencrypt-managed"): {
        "example.net": ({"example.net": "example.net", "www.example.net": "example.net"}, True),
    },
    ("nginx", "reverse-proxy"): {
        "agency.example.com": ({"agency.example.com": "example.com",
                                "www.agency.example.com": "example.com"}, False),
        "store.example.org": ({"store.example.org": "example.org"}, False),
        "docs.example.org": ({"docs.example.org": "example.org"}, True),
    },
    ("nginx", "tricky"): {
        "*.tenants.example.com": ({"*.tenants.example.com": "example.com"}, False),
        "api.example.com": ({"api.example.com": "example.com"}, False),
        "legacy.example.com": ({"legacy.example.com": "example.com",
                                "legacy.example.net": "example.net"}, False),
        "old.example.com": ({"old.example.com": "example.com"}, True),
    },
    ("apache", "debian"): {
        "portal.example.com": ({"portal.example.com": "example.com",
                                "www.portal.example.com": "example.com"}, False),
        "intranet.example.net": ({"intranet.example.net": "example.net"}, True),
    },
    ("caddy", "Caddyfile"): {
        # Caddy's automatic HTTPS: both are HTTPS sites, with certificates Caddy would get
        "app.example.com": ({"app.example.com": "example.com",
                             "www.app.example.com": "example.com"}, True),
        "status.example.org": ({"status.example.org": "example.org"}, True),
    },
}


@pytest.fixture(scope="module")
def origins(sb, tmp_path_factory):
    made = Origins(tmp_path_factory, sb.base_url, agency_token("full access"), shared_state=True)
    yield made
    made.close()


@pytest.fixture(scope="module", params=list(SITES), ids=["/".join(key) for key in SITES])
def tree(request, origins) -> tuple[tuple[str, str], Served]:
    kind, name = request.param
    return request.param, origins.build(kind, name if kind == "nginx" else None, start=False)


def test_sites_json_lists_every_site_of_the_tree_with_each_name_in_its_zone(tree):
    key, served = tree
    run = served.cli("sites", "--json")

    assert run.code == 0, run
    listed = {
        site["name"]: ({n["hostname"]: n["zone"] for n in site["hostnames"]}, site["https"])
        for site in run.json()
    }
    assert listed == SITES[key]
    for site in run.json():
        assert site["webserver"] == key[0]
        assert {n["account"] for n in site["hostnames"]} == {"agency"}, site
        assert site["problems"] == [], site
        assert not site["managed"], site


def test_sites_names_every_site_and_zone_for_people_too(tree):
    key, served = tree
    run = served.cli("sites")

    assert run.code == 0, run
    for site, (names, _) in SITES[key].items():
        assert f"{site}  ({key[0]}, " in run.stdout, run
        for hostname, zone in names.items():
            assert f"    {hostname}  zone {zone} via agency" in run.stdout, run
