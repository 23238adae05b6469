"""Issue 6, item 3: a site whose names certbot renews is not mixed with an Origin CA one.

The letsencrypt-managed tree, with certbot's renewal file under the folder
given as ``--letsencrypt-dir``: ``issue`` refuses without ``--replace`` and
changes nothing; with it, the renewal is disabled by renaming its file aside
(restorable by renaming it back), the user is told, and the site answers 200
over HTTPS through the edge with the zone on Full (strict).
"""

from __future__ import annotations

import pytest

from tests.e2e.origin import agency_token
from tests.e2e.servers import build_nginx
from tests.zones.stage import pages, visitor

pytestmark = pytest.mark.servers

NAMES = ("example.net", "www.example.net")


@pytest.fixture(scope="module")
def served(sb, home):
    served = build_nginx("letsencrypt-managed", home / "le")
    pages(served.root, b"<p>example.net</p>\n")
    served.start()
    served.connect(agency_token("full access"), sb.base_url)
    yield served
    served.stop()


def test_issue_without_replace_is_refused_and_changes_nothing(served, sb):
    renewal = served.letsencrypt / "renewal" / "example.net.conf"
    before = served.snapshot()
    issued = set(sb.world.certificates)

    run = served.cli("issue", *NAMES)

    assert run.code != 0, run
    assert "certbot renews example.net" in run.stderr, run
    assert "--replace" in run.stderr, run
    assert served.snapshot() == before
    assert renewal.is_file()
    assert set(sb.world.certificates) == issued, "a certificate was issued anyway"


def test_replace_disables_the_renewal_keeps_it_aside_and_says_so(served, sb):
    renewal = served.letsencrypt / "renewal" / "example.net.conf"
    original = renewal.read_bytes()

    run = served.cli("issue", *NAMES, "--replace")

    assert run.code == 0, run
    assert f"certbot renewal {renewal} disabled: kept as example.net.conf.origincert-disabled" \
        in run.stdout, run
    assert not renewal.exists()
    aside = renewal.with_name("example.net.conf.origincert-disabled")
    assert aside.read_bytes() == original  # restorable: rename it back
    assert sb.world.zone_by_name("example.net").settings["ssl"].value == "strict"
    with visitor(sb) as client:
        for name in NAMES:
            assert client.get(f"https://{name}/").status_code == 200, name
