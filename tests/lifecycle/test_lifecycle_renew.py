"""Issue #8: renew at the right time and not before, on names, on revocation, site by site."""

from __future__ import annotations

import pytest

from tests.e2e.origin import leaf_der, observe
from tests.lifecycle.conftest import SITES

pytestmark = pytest.mark.servers


def served(name: str) -> bytes | str:
    return observe("127.0.0.1", 443, name)


def test_7_and_30_day_certificates_are_renewed_at_a_third_of_their_life_and_not_before(world):
    blog, store = SITES[0], SITES[1]
    seven = world.issue(blog, validity=7)
    thirty = world.issue(store, validity=30)

    # 4 days in: 3 days left of 7 (more than a third), 26 of 30: nothing is due
    world.at(4)
    run = world.cli("renew")
    assert run.code == 0, run
    assert "summary: 0 renewed, 0 failed, 2 current" in run.stdout, run

    # 5 days in: the 7-day one has 2 days left (under a third): renewed; the other waits
    world.at(5)
    run = world.cli("renew")
    assert run.code == 0, run
    assert "summary: 1 renewed, 0 failed, 1 current" in run.stdout, run
    new_blog = next(r for r in world.certs() if r["hostnames"] == [blog] and r["served"])
    assert new_blog["id"] != seven["id"] and new_blog["state"] == "served"
    assert served(blog) == leaf_der(new_blog["certificate_file"])
    assert world.row(local_id=seven["id"])["state"] == "superseded"
    # and the renewed one is not renewed again at once
    assert "summary: 0 renewed, 0 failed, 2 current" in world.cli("renew").stdout

    # the 30-day one: due 10 days before its expiry, not at 19 days in
    world.at(19)
    run = world.cli("renew", "--site", store)
    assert "summary: 0 renewed, 0 failed, 1 current" in run.stdout, run
    world.at(21)
    run = world.cli("renew", "--site", store)
    assert run.code == 0, run
    assert "summary: 1 renewed, 0 failed, 0 current" in run.stdout, run
    row = next(r for r in world.certs() if r["hostnames"] == [store] and r["served"])
    assert row["id"] != thirty["id"]
    assert served(store) == leaf_der(row["certificate_file"])


def test_a_name_added_to_a_server_block_triggers_a_reissue_with_the_site_names(world):
    blog = SITES[0]
    first = world.issue(blog)
    world.add_name(blog, f"www.{blog}")

    dry = world.cli("renew", "--dry-run")
    assert dry.code == 0, dry
    assert f"{blog}: would renew (not covered: www.{blog})" in dry.stdout, dry
    run = world.cli("renew")

    assert run.code == 0, run
    row = next(r for r in world.certs() if r["served"])
    assert row["hostnames"] == [blog, f"www.{blog}"]
    assert row["lineage"] == blog and row["id"] != first["id"]
    for name in (blog, f"www.{blog}"):
        assert served(name) == leaf_der(row["certificate_file"])


def test_a_certificate_revoked_at_cloudflare_is_reported_and_replaced(world, sb):
    blog = SITES[0]
    cert = world.issue(blog)
    sb.world.certificates[cert["cloudflare_id"]].revoked_at = sb.world.now()

    row = world.row(local_id=cert["id"])
    assert row["state"] == "revoked_but_served" and row["cloudflare"] == "revoked"
    assert any("526" in note for note in row["notes"])

    run = world.cli("renew")
    assert run.code == 0, run
    assert "revoked at Cloudflare" in run.stdout
    old = world.row(local_id=cert["id"])
    assert old["state"] == "revoked" and not old["served"]
    new = next(r for r in world.certs() if r["served"])
    assert new["cloudflare"] == "active"
    assert served(blog) == leaf_der(new["certificate_file"])


def test_a_failure_in_one_of_three_sites_leaves_the_other_two_renewed_and_exit_1(
        world, webhook):
    first = {name: world.issue(name, validity=30)["id"] for name in SITES}
    # the second site gains a name in no zone of any connected account: its renewal fails
    world.add_name(SITES[1], "shop.not-a-connected-zone.com")
    world.configure(f'webhook_url = "{webhook.url}"\n')

    world.at(25)
    run = world.cli("renew")

    assert run.code == 1, run
    assert "summary: 2 renewed, 1 failed, 0 current" in run.stdout, run
    assert f"renew {SITES[1]} failed" in run.stderr, run
    now_serving = {r["hostnames"][0]: r["id"] for r in world.certs() if r["served"]}
    assert now_serving[SITES[0]] != first[SITES[0]]
    assert now_serving[SITES[2]] != first[SITES[2]]
    assert now_serving[SITES[1]] == first[SITES[1]]  # as it was: nothing half-done
    # the failure went to the webhook, without the URL's secret or any credential
    events = [body["event"] for body in webhook.received]
    assert "renewal_failed" in events and "renew_run" in events, webhook.received
    # the site left behind still serves a certificate that is due: a warning says so
    assert "expiring" in events, webhook.received
    failed = next(b for b in webhook.received if b["event"] == "renewal_failed")
    assert failed["detail"]["site"] == SITES[1]
    assert "s3cr3t" not in str(webhook.received)
    # and to the log, with the traceback
    log = (world.origin.state / "log" / "origincert.log")
    text = log.read_text() if log.exists() else ""
    assert "renewal failed" in text and "Traceback" in text
