"""Issue 11, "Done when": `origincert issue store.example.org --ca letsencrypt` against
Pebble and the sandbox serves a certificate that chains to Pebble's root.

The real CLI, run as a user would: an account connected to the sandbox, the
reverse-proxy tree's grey store.example.org site in a real nginx, Pebble checking
the DNS-01 TXT record at the sandbox's nameserver.
"""

from __future__ import annotations

import pytest
from cryptography import x509

from tests.acme.checks import assert_no_challenge_left
from tests.acme.conftest import agency_token
from tests.acme.flow import verified_handshake
from tests.e2e.origin import Origin
from tests.servers.nginx_tree import NginxTree

pytestmark = pytest.mark.servers

NAME = "store.example.org"


@pytest.fixture
def origin(tmp_path) -> Origin:
    tree = NginxTree.build("reverse-proxy", tmp_path / "tree")
    tree.start()
    yield Origin(tree, tmp_path)
    tree.stop()


def _issue(origin: Origin, sb, pebble, *extra: str):  # type: ignore[no-untyped-def]
    host, port = sb.dns.address
    return origin.cli("issue", NAME, "--ca", "letsencrypt", "--acme-directory",
                      pebble.directory, "--acme-ca-bundle", pebble.ca_bundle,
                      "--acme-dns", f"{host}:{port}", *extra)


def test_issue_with_letsencrypt_serves_a_certificate_chaining_to_pebbles_root(
        origin, sb, pebble):
    origin.connect("agency", agency_token("full access"), sb.base_url)

    run = _issue(origin, sb, pebble)

    assert run.code == 0, run
    served = verified_handshake("127.0.0.1", 443, NAME, pebble.root_pem())
    sans = served.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [NAME]
    assert [c["hostnames"] for c in origin.certs()] == [[NAME]]
    assert_no_challenge_left(sb, NAME)
    # a public certificate is for a name reached directly: its record stays grey
    zone = next(z for z in sb.world.zones if z.name == "example.org")
    assert [r.proxied for r in zone.dns_records if r.name == NAME] == [False]


def test_auto_picks_acme_for_a_grey_name(origin, sb, pebble):
    origin.connect("agency", agency_token("full access"), sb.base_url)

    run = _issue(origin, sb, pebble, "--ca", "auto", "--json")

    assert run.code == 0, run
    assert run.json()["ca"] == "letsencrypt"
    verified_handshake("127.0.0.1", 443, NAME, pebble.root_pem())
