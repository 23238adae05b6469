"""Issue #8: a renewal's predecessor is revoked after the grace period, not before."""

from __future__ import annotations

import pytest

from tests.lifecycle.conftest import SITES

pytestmark = pytest.mark.servers


def test_the_replaced_certificate_is_revoked_after_the_grace_period_once_the_new_one_serves(
        world, sb):
    blog = SITES[0]
    old = world.issue(blog, validity=30)
    run = world.cli("renew", "--rotate-key")      # revoke_after_days: 7 by default
    assert run.code == 0, run
    assert world.row(local_id=old["id"])["state"] == "superseded"

    world.at(3)
    run = world.cli("renew")
    assert run.code == 0, run
    assert sb.world.certificates[old["cloudflare_id"]].revoked_at is None

    world.at(8)
    dry = world.cli("renew", "--dry-run")
    assert f"replaced certificate {old['cloudflare_id']}: would revoke" in dry.stdout, dry
    assert sb.world.certificates[old["cloudflare_id"]].revoked_at is None
    run = world.cli("renew")
    assert run.code == 0, run
    assert f"replaced certificate {old['cloudflare_id']}: revoked" in run.stdout, run
    assert sb.world.certificates[old["cloudflare_id"]].revoked_at is not None
    assert world.row(local_id=old["id"])["state"] == "revoked"
    # and the certificate in service is untouched
    assert next(r for r in world.certs() if r["served"])["cloudflare"] == "active"


def test_a_dry_run_changes_nothing(world, sb):
    blog = SITES[0]
    world.issue(blog, validity=7)
    before = {r["id"]: r["state"] for r in world.certs()}
    issued = len(sb.world.certificates)

    world.at(6)
    run = world.cli("renew", "--dry-run", "--json")

    assert run.code == 0, run
    report = run.json()
    assert [s["result"] for s in report["sites"]] == ["planned"]
    assert report["sites"][0]["reasons"][0].startswith("expires ")
    assert len(sb.world.certificates) == issued
    assert {r["id"]: r["state"] for r in world.certs()} == before
