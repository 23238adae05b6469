"""Issue #8, "Done when": `certs --json` puts every certificate in the right state."""

from __future__ import annotations

import pytest

from tests.lifecycle.conftest import SITES, orphan

pytestmark = pytest.mark.servers


def test_certs_json_reports_served_orphaned_revoked_and_superseded_certificates(world, sb):
    blog, store, docs = SITES
    served = world.issue(blog, validity=30)
    revoked = world.issue(store)
    replaced = world.issue(docs)
    # revoked at Cloudflare behind origincert's back, still served
    sb.world.certificates[revoked["cloudflare_id"]].revoked_at = sb.world.now()
    # issued at Cloudflare, never installed
    orphan_id = orphan(world, "status.example.org")
    # renewed with immediate revocation: the old docs certificate is superseded, then revoked
    world.configure("revoke_after_days = 0\n")
    run = world.cli("renew", "--site", docs, "--rotate-key")
    assert run.code == 0, run
    world.configure("")

    rows = world.certs()
    by_cf = {row["cloudflare_id"]: row for row in rows}

    row = by_cf[served["cloudflare_id"]]
    assert row["state"] == "served" and row["status"] == "installed"
    assert row["cloudflare"] == "active" and row["expiring"] is True
    assert row["sources"] == ["state", "server", "cloudflare"]
    assert row["hostnames"] == [blog] and row["key_type"] == "ecdsa"
    assert [site["site"] for site in row["sites"]] == [blog]
    assert any(path.endswith("conf.d/sites.conf") for path in row["config_files"])

    row = by_cf[revoked["cloudflare_id"]]
    assert row["state"] == "revoked_but_served" and row["cloudflare"] == "revoked"
    assert row["revoked_at"] is not None

    row = by_cf[orphan_id]
    assert row["state"] == "orphaned" and row["id"] is None
    assert row["sources"] == ["cloudflare"] and row["hostnames"] == ["status.example.org"]
    assert row["key_type"] == "ecdsa" and row["not_after"] is not None

    row = by_cf[replaced["cloudflare_id"]]
    assert row["state"] == "revoked" and row["status"] == "revoked" and not row["served"]
    successor = next(r for r in rows if r["hostnames"] == [docs] and r["served"])
    assert row["replaced_by"] == successor["id"]

    # the text view says the same
    text = world.cli("certs").stdout
    assert "revoked_but_served" in text and "orphaned" in text and "526" in text


def test_an_orphaned_certificate_is_listed_and_can_be_revoked_by_its_cloudflare_id(world, sb):
    orphan_id = orphan(world, "status.example.org")
    assert world.row(cf_id=orphan_id)["state"] == "orphaned"

    run = world.cli("revoke", orphan_id)

    assert run.code == 0, run
    assert f"revoked certificate {orphan_id}" in run.stdout
    assert sb.world.certificates[orphan_id].revoked_at is not None
    # revoked certificates leave Cloudflare's list; origincert never recorded this one
    assert orphan_id not in {row["cloudflare_id"] for row in world.certs()}


def test_revoking_a_served_certificate_is_refused_without_force_naming_the_526(world, sb):
    cert = world.issue(SITES[0])

    run = world.cli("revoke", str(cert["id"]))

    assert run.code == 1, run
    assert "526" in run.stderr and "--force" in run.stderr, run
    assert sb.world.certificates[cert["cloudflare_id"]].revoked_at is None

    forced = world.cli("revoke", str(cert["id"]), "--force")
    assert forced.code == 0, forced
    assert "526" in forced.stdout
    assert world.row(local_id=cert["id"])["state"] == "revoked_but_served"
