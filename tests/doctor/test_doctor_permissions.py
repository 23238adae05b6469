"""The credential's side (field cases C14, C15): permissions missing for the zone, and a
zone the token cannot see. agency.json's tokens, the debian-wordpress tree."""

from __future__ import annotations

import pytest

from tests.doctor.conftest import found, nginx_doctor, problems
from tests.e2e.origin import agency_token

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def tree(sb, nginx_origin):  # type: ignore[no-untyped-def]
    return nginx_origin("debian-wordpress")


def test_token_without_ssl_permission_is_reported_for_the_zone(sb, tree, tmp_path) -> None:
    built, _ = tree
    doctor = nginx_doctor(built, tmp_path)
    doctor.connect(sb.base_url, agency_token("no SSL permission"))

    run, report = doctor.doctor("shop.example.com")

    assert run.code == 1
    missing = found(report, "account.permissions", "example.com")
    # the SSL mode cannot even be read: doctor is blind for the zone, an error
    assert missing["severity"] == "error"
    assert any("SSL and Certificates" in line for line in missing["evidence"])
    assert ("doctor.incomplete", "shop.example.com") in problems(report)


def test_token_limited_to_one_zone_cannot_see_the_other(sb, tree, tmp_path) -> None:
    built, _ = tree
    doctor = nginx_doctor(built, tmp_path)
    doctor.connect(sb.base_url, agency_token("example.com only"))

    run, report = doctor.doctor("blog.example.org", "shop.example.com")

    assert found(report, "account.no_zone", "blog.example.org")["severity"] == "warning"
    assert not [f for f in report["findings"] if f["id"] == "account.permissions"]
