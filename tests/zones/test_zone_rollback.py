"""Issue 6, item 2: zone changes are undone when the edge cannot serve the site afterwards.

The zone step is run in-process with the sandbox edge as its ``edge``
parameter while no origin listens at all: every change it made (a record
proxied, settings switched on) must be put back, and the failure raised.
"""

from __future__ import annotations

import pytest
from cryptography import x509

from origincert.cloudflare.client import CloudflareClient
from origincert.cloudflare.credential import TOKEN, Credential
from origincert.errors import VerificationError
from origincert.secret import Secret
from origincert.zones.configure import ZoneConfigurator
from origincert.zones.edge import Edge
from tests.e2e.origin import agency_token

pytestmark = pytest.mark.servers


def test_edge_failure_after_the_zone_changes_undoes_every_one_of_them(sb):
    client = CloudflareClient(Credential(TOKEN, Secret(agency_token("full access"))),
                              base_url=sb.base_url)
    roots = [x509.load_pem_x509_certificate(p.encode()) for p in sb.root_pems().values()]
    edge = Edge(sb.edge.https_url, sb.edge.ca_pem(), timeout=5.0)
    zone = client.zone_named("example.org")
    world = sb.world.zone_by_name("example.org")
    lines: list[str] = []

    with pytest.raises(VerificationError, match="not served through the edge"):
        ZoneConfigurator(client, roots, edge, progress=lines.append).configure(
            zone, ["store.example.org"])

    assert "zone example.org: A store.example.org proxied: False → True" in lines
    assert "zone example.org: always_use_https: off → on" in lines
    store = next(r for r in world.dns_records if r.name == "store.example.org")
    assert not store.proxied
    assert world.settings["always_use_https"].value == "off"
    assert world.settings["ssl"].value == "full"
    assert world.hostname_ssl == {}
    client.close()
