"""Site discovery on the Apache fixture tree, as `apache2ctl -S` and the files have it.

These tests run `apache2ctl -S`, `-M` and `configtest` only (which bind no
port), so they need no network namespace.
"""

from __future__ import annotations

import pytest

from origincert.errors import WebServerError
from origincert.webserver.apache import ConfigRefusedError
from origincert.webserver.base import Listen

ALL = None  # every address

# name -> (hostnames, defining file inside /etc/apache2, line, certificate, listens)
EXPECTED = {
    "intranet.example.net": (
        ("intranet.example.net",), "sites-available/intranet.example.net.conf", 1,
        "/etc/ssl/certs/ssl-cert-snakeoil.pem",
        (Listen(ALL, 80, False), Listen(ALL, 443, True)),
    ),
    "portal.example.com": (
        ("portal.example.com", "www.portal.example.com"),
        "sites-available/portal.example.com.conf", 1, None, (Listen(ALL, 80, False),),
    ),
}


def test_sites_are_portal_and_intranet_and_not_the_nameless_default(apache_tree):
    tree = apache_tree()
    tree.apache.config_test()

    found = {
        site.name: (
            site.hostnames,
            site.source.relative_to(tree.conf_dir).as_posix(),
            site.line,
            str(site.certificate).removeprefix(str(tree.root)) if site.certificate else None,
            site.listens,
        )
        for site in tree.apache.sites()
    }
    assert found == EXPECTED
    assert all(not site.managed for site in tree.apache.sites())
    assert {site.name: site.https for site in tree.apache.sites()} == {
        "intranet.example.net": True, "portal.example.com": False}


def test_without_mod_ssl_the_intranet_tls_vhost_is_not_served(apache_tree):
    tree = apache_tree(modules=("rewrite",))
    sites = {site.name: site for site in tree.apache.sites()}
    assert sites["intranet.example.net"].listens == (Listen(ALL, 80, False),)
    assert sites["intranet.example.net"].certificate is None


def test_site_for_finds_the_site_of_every_name_and_refuses_unknown_names(apache_tree):
    tree = apache_tree()
    assert tree.apache.site_for(["www.portal.example.com"]).name == "portal.example.com"
    with pytest.raises(WebServerError, match="no Apache virtual host serves shop.example.org"):
        tree.apache.site_for(["shop.example.org"])
    with pytest.raises(WebServerError, match="different sites"):
        tree.apache.site_for(["portal.example.com", "intranet.example.net"])


def test_configtest_failure_shows_apaches_own_words(apache_tree):
    tree = apache_tree()
    portal = tree.path("sites-available/portal.example.com.conf")
    portal.write_text(portal.read_text().replace("RewriteEngine On", "RewriteEngin On"))

    with pytest.raises(ConfigRefusedError) as refused:
        tree.apache.config_test()
    line = refused.value.one_line()
    assert "Apache refused the configuration" in line
    assert "Invalid command 'RewriteEngin'" in line
    assert "portal.example.com.conf" in line
    assert "Invalid command 'RewriteEngin'" in refused.value.output

    # reading the sites needs a configuration Apache accepts, and says so the same way
    with pytest.raises(ConfigRefusedError, match="refused"):
        tree.apache.sites()


def test_missing_certificate_of_a_site_is_named_by_configtest(apache_tree):
    tree = apache_tree()
    for placeholder in tree.placeholders:
        placeholder.unlink()
    with pytest.raises(ConfigRefusedError) as refused:
        tree.apache.config_test()
    assert "ssl-cert-snakeoil.pem' does not exist or is empty" in refused.value.one_line()


def test_uninstall_of_a_site_never_installed_changes_nothing(apache_tree):
    tree = apache_tree()
    for site in tree.apache.sites():
        plan = tree.apache.plan_uninstall(site, lineage=site.name)
        assert plan.changes == [], site.name


def test_a_missing_apachectl_is_named_as_such_not_as_a_refused_configuration(apache_tree):
    tree = apache_tree()
    missing = type(tree.apache)(ctl="/nonexistent/apache2ctl", conf_dir=tree.conf_dir)
    with pytest.raises(WebServerError) as failed:
        missing.sites()
    assert not isinstance(failed.value, ConfigRefusedError)
    assert "/nonexistent/apache2ctl is not installed here" in failed.value.one_line()
