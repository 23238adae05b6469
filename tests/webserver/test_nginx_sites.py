"""Site discovery on the fixture trees, read by crossplane as nginx reads them.

These tests read configurations and run `nginx -t` only (which binds no
port), so they need no network namespace.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from origincert.errors import HostnameError, WebServerError
from origincert.webserver.base import Endpoint, Listen
from origincert.webserver.nginx import Nginx, plain_hostname, to_site_key

ALL = None  # every address of the family

# name -> (hostnames, defining file inside /etc/nginx, line, certificate or None)
EXPECTED = {
    "debian-wordpress": {
        "blog.example.org": (("blog.example.org",), "sites-available/blog.example.org", 1, None),
        "shop.example.com": (
            ("shop.example.com", "www.shop.example.com"),
            "sites-available/shop.example.com", 6, None,
        ),
    },
    "letsencrypt-managed": {
        "example.net": (
            ("example.net", "www.example.net"), "sites-available/example.net", 1,
            "/etc/letsencrypt/live/example.net/fullchain.pem",
        ),
    },
    "reverse-proxy": {
        "agency.example.com": (
            ("agency.example.com", "www.agency.example.com"), "conf.d/sites.conf", 2, None,
        ),
        "store.example.org": (("store.example.org",), "conf.d/sites.conf", 19, None),
        "docs.example.org": (
            ("docs.example.org",), "conf.d/sites.conf", 29, "/etc/ssl/docs.example.org/cert.pem",
        ),
    },
    "tricky": {
        "*.tenants.example.com": (("*.tenants.example.com",), "conf.d/edge-cases.conf", 4, None),
        "api.example.com": (("api.example.com",), "conf.d/edge-cases.conf", 11, None),
        "legacy.example.com": (
            ("legacy.example.com", "legacy.example.net"), "conf.d/edge-cases.conf", 18, None,
        ),
        "old.example.com": (
            ("old.example.com",), "conf.d/edge-cases.conf", 35, "/etc/ssl/old.example.com/cert.pem",
        ),
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sites_of_fixture_tree_are_exactly_the_expected_ones(nginx_tree, name):
    tree = nginx_tree(name)
    tree.nginx.config_test()

    found = {
        site.name: (
            site.hostnames,
            site.source.relative_to(tree.prefix).as_posix(),
            site.line,
            str(site.certificate).removeprefix(str(tree.root)) if site.certificate else None,
        )
        for site in tree.nginx.sites()
    }
    assert found == EXPECTED[name]
    assert all(not site.managed for site in tree.nginx.sites())


def test_listens_cover_ipv6_bound_addresses_and_old_http2_form(nginx_tree):
    shop = {s.name: s for s in nginx_tree("debian-wordpress").nginx.sites()}["shop.example.com"]
    assert shop.listens == (Listen(ALL, 80, False), Listen(ALL, 80, False, ipv6=True))

    tricky = {s.name: s for s in nginx_tree("tricky").nginx.sites()}
    assert tricky["legacy.example.com"].listens == (Listen("203.0.113.10", 80, False),)
    assert tricky["old.example.com"].listens == (Listen(ALL, 443, True),)
    assert tricky["old.example.com"].https


def test_port_80_and_443_blocks_of_one_name_are_one_site_pointing_at_the_tls_block(nginx_tree):
    tree = nginx_tree("letsencrypt-managed")
    (site,) = tree.nginx.sites()

    assert site.line == 1
    assert {(listen.port, listen.ssl) for listen in site.listens} == {(443, True), (80, False)}
    assert tree.nginx.endpoints(site) == [Endpoint("127.0.0.1", 443)]


def test_enabled_site_reports_the_real_file_behind_the_sites_enabled_link(nginx_tree):
    tree = nginx_tree("debian-wordpress")
    assert tree.path("sites-enabled/blog.example.org").is_symlink()

    sources = {site.source for site in tree.nginx.sites()}
    assert all(source.parent.name == "sites-available" for source in sources)


def test_endpoints_follow_bound_address_and_port_map(nginx_tree):
    tree = nginx_tree("tricky")
    old = {s.name: s for s in tree.nginx.sites()}["old.example.com"]
    assert tree.nginx.endpoints(old) == [Endpoint("127.0.0.1", 443)]

    mapped = Nginx(conf=tree.conf, prefix=tree.prefix, include_dir=tree.nginx.include_dir,
                   port_map={443: 8443})
    assert mapped.endpoints(old) == [Endpoint("127.0.0.1", 8443)]


def test_parse_error_names_file_and_line(nginx_tree):
    tree = nginx_tree({
        "nginx.conf": "events {}\nhttp {\n    include conf.d/*.conf;\n}\n",
        "conf.d/broken.conf": "server {\n    listen 80;\n    server_name a.example.com\n",
    })
    with pytest.raises(WebServerError) as caught:
        tree.nginx.sites()
    assert "broken.conf:" in caught.value.message


def test_site_for_names_refuses_names_of_two_sites(nginx_tree):
    tree = nginx_tree("reverse-proxy")
    assert tree.nginx.site_for(["docs.example.org"]).name == "docs.example.org"

    with pytest.raises(WebServerError, match="different server blocks"):
        tree.nginx.site_for(["docs.example.org", "store.example.org"])
    with pytest.raises(WebServerError, match="nowhere.example.org"):
        tree.nginx.site_for(["nowhere.example.org"])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.COM", "example.com"),
        ("*.tenants.example.com", "*.tenants.example.com"),
        ("_", None),
        ("", None),
        ("~^api-(?<r>[a-z]+)\\.example\\.com$", None),
        ("localhost", None),
        ("203.0.113.10", None),
        ("example.*", None),
    ],
)
def test_plain_hostname_keeps_only_certifiable_names(raw, expected):
    assert plain_hostname(raw) == expected


def test_site_key_of_wildcard_is_safe_and_path_tricks_are_refused():
    assert to_site_key("*.tenants.example.com") == "_wildcard_.tenants.example.com"
    assert to_site_key("Blog.Example.org") == "blog.example.org"
    for bad in ("../etc/passwd", "a/b.example.com", "a..example.com"):
        with pytest.raises(HostnameError):
            to_site_key(bad)


def test_tree_paths_are_inside_the_temporary_root(nginx_tree):
    tree = nginx_tree("reverse-proxy")
    text = tree.path("conf.d/sites.conf").read_text()
    assert f"{tree.root}/etc/ssl/docs.example.org/cert.pem" in text
    assert Path(f"{tree.root}/etc/ssl/docs.example.org/cert.pem").is_file()
