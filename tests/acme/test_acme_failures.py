"""Issue 11: a failed ACME run leaves the server as it was and no TXT record behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from origincert.acme import AcmeError, obtain
from origincert.acme.dns01 import ChallengeRecords, ChallengeTxt
from origincert.errors import CloudflareAPIError
from origincert.pki.keys import generate_key
from origincert.state.db import Store
from origincert.state.paths import StatePaths
from tests.acme.checks import assert_no_challenge_left, challenge_records
from tests.acme.conftest import ZONE_ORG
from tests.acme.flow import AcmeInstaller, leaf_der
from tests.servers.tls import served_certificate, wait_for_certificate

STORE = "store.example.org"


def _corrupt_challenges(sb):
    """A step hook: once our check has seen the records, the zone answers wrong values."""
    def hook(step: str) -> None:
        if step == "records_visible":
            for record in sb.world.zone_by_name(ZONE_ORG).dns_records:
                if record.name.startswith("_acme-challenge."):
                    record.content = "not-the-key-authorization"
    return hook


@pytest.mark.servers
def test_refused_dns_challenge_leaves_files_pointer_and_served_certificate_as_they_were(
    nginx_tree, tmp_path, sb, client, pebble, acme_setup
):
    tree = nginx_tree("reverse-proxy")
    tree.start()
    site = next(s for s in tree.nginx.sites() if STORE in s.hostnames)
    zone = client.zone_named(ZONE_ORG)
    installer = AcmeInstaller(Store(StatePaths(tmp_path / "state")), tree.nginx, client,
                              {STORE: zone}, acme_setup)
    first = installer.issue(site, [STORE])
    files = tree.current_files()
    (endpoint,) = tree.nginx.endpoints(next(s for s in tree.nginx.sites() if STORE in
                                            s.hostnames))
    # the first certificate, once the reload has settled everywhere
    served = leaf_der(Path(first.cert_path))
    wait_for_certificate(endpoint, STORE, served)

    with pytest.raises(AcmeError) as refused:
        installer.issue(site, [STORE], step_hook=_corrupt_challenges(sb))

    line = refused.value.one_line()
    assert line.startswith(f"the ACME server refused the DNS challenge for {STORE}: ")
    assert "\n" not in line and refused.value.problem.endswith(":unauthorized")
    assert tree.current_files() == files
    assert served_certificate(endpoint.host, endpoint.port, STORE) == served
    assert installer.certstore.current_version(first.lineage) == first.version
    assert [c.status for c in installer.store.certificates(lineage=first.lineage)] == [
        "installed", "unused"]
    assert_no_challenge_left(sb, STORE)


def test_failed_txt_creation_removes_the_records_already_made(sb, client, acme_setup):
    zone = client.zone_named(ZONE_ORG)
    names = ["*.example.org", "example.org"]

    def fail_the_second(step: str) -> None:
        if step == "record_created":
            sb.inject_failure("POST", r"^/zones/[0-9a-f]+/dns_records$", status=500)

    with pytest.raises(CloudflareAPIError) as failed:
        obtain(client, {n: zone for n in names}, names, generate_key(),
               directory=acme_setup.directory, account_key_path=acme_setup.account_key_path,
               ca_bundle=acme_setup.ca_bundle, dns_resolver=acme_setup.dns_resolver,
               step_hook=fail_the_second)

    assert "create a DNS record" in failed.value.one_line()
    assert ("POST", f"/client/v4/zones/{zone.id}/dns_records", 200) in sb.request_log
    assert_no_challenge_left(sb, "example.org")


def test_records_never_visible_time_out_in_one_line_and_are_removed(
    sb, client, acme_setup
):
    zone = client.zone_named(ZONE_ORG)
    silent = ("127.0.0.1", 9)  # discard port: no nameserver answers there

    with pytest.raises(AcmeError) as timed_out:
        obtain(client, {STORE: zone}, [STORE], generate_key(),
               directory=acme_setup.directory, account_key_path=acme_setup.account_key_path,
               ca_bundle=acme_setup.ca_bundle, dns_resolver=silent, dns_timeout=0.5)

    assert timed_out.value.one_line().startswith(
        f"the TXT record _acme-challenge.{STORE} did not appear")
    assert_no_challenge_left(sb, STORE)


def test_untrusted_acme_server_certificate_is_one_line_and_creates_nothing(
    sb, client, acme_setup
):
    zone = client.zone_named(ZONE_ORG)

    with pytest.raises(AcmeError) as refused:
        obtain(client, {STORE: zone}, [STORE], generate_key(),
               directory=acme_setup.directory, account_key_path=acme_setup.account_key_path,
               ca_bundle=None, dns_resolver=acme_setup.dns_resolver)

    assert refused.value.one_line().startswith(
        "could not verify the HTTPS certificate of the ACME server at https://127.0.0.1:")
    assert not [r for r in sb.request_log if r.method == "POST"]
    assert_no_challenge_left(sb, STORE)


def test_a_failed_removal_is_retried_and_leaves_no_record(sb, client, acme_setup):
    zone = client.zone_named(ZONE_ORG)
    sb.inject_failure("DELETE", r"/dns_records/[0-9a-f]+$", status=502)

    result = obtain(client, {STORE: zone}, [STORE], generate_key(),
                    directory=acme_setup.directory,
                    account_key_path=acme_setup.account_key_path,
                    ca_bundle=acme_setup.ca_bundle, dns_resolver=acme_setup.dns_resolver)

    assert result.notes == ()
    deletes = [r.status for r in sb.request_log if r.method == "DELETE"]
    assert deletes == [502, 200]
    assert_no_challenge_left(sb, STORE)


def test_records_that_cannot_be_removed_are_named_for_the_user(sb, client):
    zone = client.zone_named(ZONE_ORG)
    txt = ChallengeTxt(STORE, zone, f"_acme-challenge.{STORE}", "value")
    sb.inject_failure("DELETE", r"/dns_records/", status=500, times=3)

    with ChallengeRecords(client, sleep=lambda seconds: None) as records:
        records.create(txt)

    assert records.leftovers == [txt]
    assert len(challenge_records(sb)) == 1
