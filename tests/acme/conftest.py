"""Fixtures of the ACME tests: the sandbox with its DNS server, and Pebble pointed at it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from origincert.cloudflare.client import CloudflareClient
from origincert.cloudflare.credential import TOKEN, Credential
from origincert.sandbox import Sandbox, SandboxSettings
from origincert.secret import Secret
from tests.acme import pebble as pebble_server
from tests.acme.flow import AcmeSetup
from tests.servers.nginx_tree import FIXTURES

AGENCY = FIXTURES / "zones" / "agency.json"
ZONE_ORG = "example.org"


def agency_token(name: str) -> str:
    tokens = json.loads(AGENCY.read_text())["tokens"]
    return next(t["value"] for t in tokens if t["name"].startswith(name))


@pytest.fixture(scope="package")
def acme_sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    sb = Sandbox.start(AGENCY, state_dir=tmp_path_factory.mktemp("acme-sandbox"),
                       settings=SandboxSettings(dns=True))
    yield sb
    sb.stop()


@pytest.fixture(scope="package")
def pebble(acme_sandbox: Sandbox, tmp_path_factory) -> Iterator[pebble_server.Pebble]:
    if not pebble_server.available():
        pytest.fail(f"{pebble_server.BINARY} is missing: install Debian's pebble package "
                    "(scripts/dev.sh setup does)", pytrace=False)
    assert acme_sandbox.dns is not None
    server = pebble_server.Pebble.start(tmp_path_factory.mktemp("pebble"),
                                        acme_sandbox.dns.address)
    yield server
    server.stop()


@pytest.fixture
def sb(acme_sandbox: Sandbox) -> Sandbox:
    """The sandbox back at the data file's state, its DNS server still answering."""
    acme_sandbox.reset(SandboxSettings(dns=True))
    return acme_sandbox


@pytest.fixture
def client(sb: Sandbox) -> Iterator[CloudflareClient]:
    made = CloudflareClient(Credential(TOKEN, Secret(agency_token("full access"))),
                            base_url=sb.base_url, max_retries=0)
    yield made
    made.close()


@pytest.fixture
def acme_setup(sb: Sandbox, pebble: pebble_server.Pebble, tmp_path) -> AcmeSetup:
    assert sb.dns is not None
    return AcmeSetup(pebble.directory, pebble.ca_bundle, sb.dns.address,
                     tmp_path / "state" / "acme" / "pebble" / "account.key")
