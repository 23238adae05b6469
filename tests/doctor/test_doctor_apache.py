"""Doctor on the Apache fixture tree with the agency.json zones (issue 7 "Done when";
field cases C01 with Apache's `RewriteCond %{HTTPS} off`, and C30).

portal.example.com only has a port-80 virtual host whose redirect checks %{HTTPS}: on the
Flexible zone that is a loop; once the zone is Full (strict), the port-443 answer comes
from another virtual host (the intranet's snakeoil one), which is C30.
"""

from __future__ import annotations

import pytest

from tests.doctor.conftest import FULL_ACCESS, Doctor, api_client, found, problems
from tests.servers.apache_tree import CTL

pytestmark = pytest.mark.servers


def test_apache_tree_reports_the_https_rewrite_loop_then_the_default_vhost(
        sb, apache_tree, tmp_path) -> None:
    tree = apache_tree("debian")
    tree.start()
    doctor = Doctor(tmp_path, ["--config-dir", str(tree.apache.include_dir.parent),
                               "--apache-conf-dir", str(tree.conf_dir), "--apache-ctl", CTL])
    doctor.connect(sb.base_url)

    run, report = doctor.doctor("--all")

    assert run.code == 1
    assert problems(report) == {
        ("zone.flexible", "example.com"),
        ("edge.redirect_loop", "portal.example.com"),
        ("edge.redirect_loop", "www.portal.example.com"),
        ("edge.not_covered", "www.portal.example.com"),
        # example.net is strict; the intranet serves Debian's snakeoil certificate
        ("edge.526", "intranet.example.net"),
    }
    loop = found(report, "edge.redirect_loop", "portal.example.com")
    assert loop["case"] == "C01"
    assert any("%{HTTPS}" in line for line in loop["evidence"])

    # C30: on Full (strict), the portal's name is answered by another vhost on 443
    client = api_client(sb, FULL_ACCESS)
    zone = client.zone_named("example.com")
    client.edit_setting(zone.id, "ssl", "strict")
    client.close()

    run, report = doctor.doctor("portal.example.com")

    wrong = found(report, "edge.526", "portal.example.com")
    assert wrong["case"] == "C30"
    assert any("no TLS virtual host names portal.example.com" in line
               for line in wrong["evidence"])
