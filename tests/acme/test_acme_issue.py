"""Issue 11: publicly trusted certificates through ACME DNS-01, against Pebble.

Pebble validates against the sandbox's nameserver, where the TXT records created through
the connected account's API appear; the certificate is installed into a real nginx by the
product's transaction and a real handshake verifies the chain up to Pebble's root.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from origincert.acme import REQUEST_TYPE, renewal_due
from origincert.state.db import Store
from origincert.state.paths import StatePaths
from origincert.webserver.nginx import sample_name
from tests.acme.checks import assert_no_challenge_left
from tests.acme.conftest import ZONE_ORG
from tests.acme.flow import AcmeInstaller, leaf_der, verified_handshake
from tests.servers.nginx_tree import NginxTree

pytestmark = pytest.mark.servers

MAIN = "events {}\nhttp {\n    include conf.d/*.conf;\n}\n"
WILDCARD_SITE = """\
server {
    listen 80;
    server_name example.org *.example.org;
    root /var/www/example.org;
}
"""


def _installer(tmp_path, tree: NginxTree, client, acme_setup, names) -> AcmeInstaller:
    store = Store(StatePaths(tmp_path / "state"))
    zone = client.zone_named(ZONE_ORG)
    return AcmeInstaller(store, tree.nginx, client, {name: zone for name in names}, acme_setup)


def _site(tree: NginxTree, hostname: str):
    return next(site for site in tree.nginx.sites() if hostname in site.hostnames)


def _assert_served(tree: NginxTree, names: list[str], cert, root_pem: str) -> None:
    """Every name, at every HTTPS endpoint of its site: the new leaf, verified up to the
    root by a real handshake."""
    expected = leaf_der(Path(str(cert.cert_path)))
    site = _site(tree, names[0])
    for name in names:
        for endpoint in tree.nginx.endpoints(site):
            served = verified_handshake(endpoint.host, endpoint.port, sample_name(name),
                                        root_pem)
            assert served.public_bytes(Encoding.DER) == expected, (name, endpoint)


def test_grey_store_gets_an_acme_certificate_by_dns01_served_and_chaining_to_pebble_root(
    nginx_tree, tmp_path, sb, client, pebble, acme_setup
):
    tree = nginx_tree("reverse-proxy")
    tree.start()
    names = ["store.example.org"]
    installer = _installer(tmp_path, tree, client, acme_setup, names)

    cert = installer.issue(_site(tree, names[0]), names)

    assert cert.status == "installed" and cert.request_type == REQUEST_TYPE
    assert cert.not_after is not None and cert.serial_hex
    _assert_served(tree, names, cert, pebble.root_pem())
    assert_no_challenge_left(sb, *names)
    assert any("created TXT _acme-challenge.store.example.org" in line
               for line in installer.lines)


def test_wildcard_and_apex_share_one_challenge_name_and_both_are_served(
    nginx_tree, tmp_path, sb, client, pebble, acme_setup
):
    tree = nginx_tree({"nginx.conf": MAIN, "conf.d/example.org.conf": WILDCARD_SITE})
    tree.start()
    names = ["*.example.org", "example.org"]
    installer = _installer(tmp_path, tree, client, acme_setup, names)

    cert = installer.issue(_site(tree, "example.org"), names)

    assert sorted(cert.hostnames) == sorted(names)
    # two TXT values under one name, both created and both removed
    created = [line for line in installer.lines if "created TXT _acme-challenge.example.org"
               in line]
    assert len(created) == 2
    _assert_served(tree, names, cert, pebble.root_pem())
    assert_no_challenge_left(sb, "example.org")


def test_renewal_is_due_30_days_before_expiry_by_the_clock_and_issues_again(
    nginx_tree, tmp_path, sb, client, pebble, acme_setup
):
    tree = nginx_tree("reverse-proxy")
    tree.start()
    names = ["store.example.org"]
    installer = _installer(tmp_path, tree, client, acme_setup, names)
    first = installer.issue(_site(tree, names[0]), names)
    not_after = first.not_after.replace(tzinfo=first.not_after.tzinfo or dt.timezone.utc)

    def clock_at(moment):
        return lambda: moment

    assert not renewal_due(not_after, clock=clock_at(not_after - dt.timedelta(days=31)))
    assert renewal_due(not_after, clock=clock_at(not_after - dt.timedelta(days=29)))

    second = installer.issue(_site(tree, names[0]), names)

    assert second.version == first.version + 1 and second.serial_hex != first.serial_hex
    assert installer.store.get_certificate(first.id).status == "superseded"
    assert installer.certstore.current_version(second.lineage) == second.version
    _assert_served(tree, names, second, pebble.root_pem())
    assert_no_challenge_left(sb, *names)
