"""Every site of the Apache fixture tree, installed and uninstalled on a real Apache.

One Apache (Debian's, run as a second instance on a copy of /etc/apache2):
each site in turn gets a fresh leaf, `apache2ctl configtest` and `graceful`,
and real handshakes for each of its names; the portal's own HTTP→HTTPS
redirect keeps working and HTTPS answers without redirecting; planning again
changes nothing; uninstalling gives back every fixture file byte for byte
and the snakeoil certificate is served again.
"""

from __future__ import annotations

import time

import pytest

from origincert.webserver.apache import CertificateInUseError
from origincert.webserver.base import Endpoint
from origincert.webserver.nginx import to_site_key
from tests.servers.apache_tree import ApacheTree, http_get
from tests.servers.nginx_tree import apply_plan
from tests.servers.pki import make_leaf
from tests.servers.tls import wait_for_certificate

pytestmark = pytest.mark.servers

PLAIN = Endpoint("127.0.0.1", 80)
TLS = Endpoint("127.0.0.1", 443)


def test_every_site_serves_its_leaf_redirect_kept_then_uninstall_restores_every_byte(
    apache_tree, tmp_path
):
    tree: ApacheTree = apache_tree()
    originals = tree.fixture_files()
    modules = tree.listing("mods-enabled")
    tree.start()
    before = {site.name: site for site in tree.apache.sites()}
    snakeoil = tree.placeholders[before["intranet.example.net"].certificate]
    wait_for_certificate(TLS, "intranet.example.net", snakeoil)

    leaves = {}
    for site in before.values():
        leaves[site.name] = _install_and_check(tree, site, tmp_path / to_site_key(site.name))

    # once all are installed, every name still gets its own site's leaf
    for site in tree.apache.sites():
        assert site.managed and site.https, site.name
        _check_served(tree, site, leaves[site.name])

    # the user's redirect on :80 is kept, and HTTPS answers without redirecting
    for name in before["portal.example.com"].hostnames:
        assert http_get(PLAIN, name, tls=False) == (301, f"https://{name}/")
        assert _settled_get(TLS, name) == (200, None)
    assert http_get(TLS, "intranet.example.net", tls=True) == (200, None)

    for site in tree.apache.sites():
        apply_plan(tree.apache.plan_uninstall(site, lineage=to_site_key(site.name)))
    tree.reload()

    assert tree.current_files() == originals
    assert tree.listing("mods-enabled") == modules
    assert sorted(p.name for p in tree.apache.include_dir.rglob("*") if p.is_file()) == []
    after = {site.name: site for site in tree.apache.sites()}
    assert after == before
    wait_for_certificate(TLS, "intranet.example.net", snakeoil)
    assert _settled_get(PLAIN, "portal.example.com", tls=False) == (
        301, "https://portal.example.com/")


def test_without_mod_ssl_the_plan_enables_it_and_uninstall_disables_it_again(
    apache_tree, tmp_path
):
    tree: ApacheTree = apache_tree(modules=("rewrite",))
    originals = tree.fixture_files()
    modules = tree.listing("mods-enabled")
    tree.start()
    sites = {site.name: site for site in tree.apache.sites()}
    # without mod_ssl the intranet's TLS vhost (inside <IfModule mod_ssl.c>) is not active,
    # but enabling mod_ssl brings it back: it is the one to edit, and it has a certificate
    intranet = sites["intranet.example.net"]
    assert not intranet.https
    with pytest.raises(CertificateInUseError, match="ssl-cert-snakeoil.pem"):
        tree.apache.plan_install(intranet, make_leaf([intranet.name], tmp_path / "i").files,
                                 lineage="intranet.example.net")

    portal = sites["portal.example.com"]
    leaf = make_leaf(list(portal.hostnames), tmp_path / "portal")
    plan = tree.apache.plan_install(portal, leaf.files, lineage="portal.example.com")
    added = sorted(c.path.name for c in plan.changes if c.path.parent.name == "mods-enabled")
    assert added == ["socache_shmcb.load", "ssl.conf", "ssl.load"]
    assert any("mod_ssl was not enabled" in note for note in plan.notes)

    apply_plan(plan)
    tree.reload()
    for name in portal.hostnames:
        wait_for_certificate(TLS, name, leaf.der)
    again = tree.apache.plan_install(portal, leaf.files, lineage="portal.example.com")
    assert again.changes == []

    apply_plan(tree.apache.plan_uninstall(portal, lineage="portal.example.com"))
    tree.apache.config_test()
    assert tree.current_files() == originals
    assert tree.listing("mods-enabled") == modules


def _install_and_check(tree: ApacheTree, site, folder) -> bytes:
    lineage = to_site_key(site.name)
    leaf = make_leaf(list(site.hostnames), folder)
    replace = site.certificate is not None
    if replace:
        with pytest.raises(CertificateInUseError) as refused:
            tree.apache.plan_install(site, leaf.files, lineage=lineage)
        assert str(site.certificate) in refused.value.message
        assert "--replace" in refused.value.one_line()

    plan = tree.apache.plan_install(site, leaf.files, lineage=lineage, replace=replace)
    assert not plan.empty
    if site.name == "portal.example.com":
        assert (
            "the HTTP→HTTPS redirect in portal.example.com.conf:13 stays; it loops if the "
            "zone is on Flexible — origincert sets Full (strict)"
        ) in plan.notes
    apply_plan(plan)
    tree.reload()
    _check_served(tree, site, leaf.der)

    again = tree.apache.plan_install(site, leaf.files, lineage=lineage, replace=replace)
    assert again.empty and again.changes == []
    return leaf.der


def _check_served(tree: ApacheTree, site, der: bytes) -> None:
    endpoints = tree.apache.endpoints(site)
    assert endpoints == [TLS], f"{site.name}: {endpoints}"
    for hostname in site.hostnames:
        wait_for_certificate(TLS, hostname, der)


def _settled_get(endpoint: Endpoint, hostname: str, *, tls: bool = True,
                 seconds: float = 5.0) -> tuple[int, str | None]:
    """A GET, retried while a graceful reload may still be swapping children."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return http_get(endpoint, hostname, tls=tls)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
