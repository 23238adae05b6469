"""Issue #5, "Tests": `uninstall` after `issue` leaves every fixture file byte-identical.

Every site of every nginx tree, both Apache sites and both Caddy sites go
through the real CLI: `issue --site NAME --no-zone` (with `--replace` where
the site already serves a certificate), then `uninstall NAME`. Afterwards
every file of the tree, every file origincert owns and certbot's renewal
folder are byte for byte what they were (the renewal that `--replace`
renamed aside is back), each name is served what it was served before
(the Let's Encrypt, pasted or snakeoil certificate, or no TLS at all), and
the certificates stay recorded, unused, for revocation.

Between the two, with the sites installed: Apache's classic `RewriteCond
%{HTTPS} off` redirect and Caddy's automatic HTTPS redirect keep working,
HTTPS answers without a redirect loop, and the `issue` output told the user
what changed (issue #5, item 5). A failed reload during `uninstall` is
undone like a failed install; a site origincert does not manage is one line
and exit status 1.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

from origincert.webserver.base import Endpoint
from tests.e2e.origin import agency_token, leaf_der, sample
from tests.e2e.servers import Origins, Served, shown
from tests.servers.apache_tree import http_get
from tests.servers.caddy_tree import BACKEND_BODY
from tests.servers.caddy_tree import BINARY as CADDY
from tests.servers.nginx_tree import TREES

pytestmark = pytest.mark.servers


@dataclass
class Issued:
    """A running tree whose every site was issued, and what it was before."""

    served: Served
    sites: dict[str, object]                    # name -> Site, as read before issue
    baseline: dict[str, bytes]                  # snapshot before issue
    before: dict[tuple[str, str], bytes | str]  # (address, name) -> served before issue
    runs: dict[str, object] = field(default_factory=dict)


@pytest.fixture(scope="module")
def origins(sb, tmp_path_factory):
    made = Origins(tmp_path_factory, sb.base_url, agency_token("full access"))
    yield made
    made.close()


def _issue_every_site(served: Served) -> Issued:
    sites = {site.name: site for site in served.server.sites()}
    before = {}
    for site in sites.values():
        for name in site.hostnames:
            where = _address(site)
            before[(where, name)] = served.tls(sample(name), where)
    issued = Issued(served, sites, served.snapshot(), before)
    for site in sites.values():
        replace = ["--replace"] if site.certificate is not None else []
        issued.runs[site.name] = served.cli("issue", "--site", site.name, "--no-zone", *replace)
    return issued


@pytest.fixture(scope="module", params=TREES)
def nginx_issued(request, origins) -> Issued:
    return _issue_every_site(origins.build("nginx", request.param))


@pytest.fixture(scope="module")
def apache_issued(origins) -> Issued:
    return _issue_every_site(origins.build("apache"))


@pytest.fixture(scope="module")
def caddy_issued(origins) -> Issued:
    return _issue_every_site(origins.build("caddy"))


# nginx: every site of every tree


def test_uninstall_after_issue_leaves_every_file_of_every_nginx_tree_byte_identical(
    nginx_issued,
):
    _assert_issued_and_served(nginx_issued)
    # letsencrypt-managed: `issue --replace` renamed certbot's renewal of example.net aside
    renewals = sorted((nginx_issued.served.letsencrypt / "renewal").glob("*"))
    assert [p.name for p in renewals] == (
        ["example.net.conf.origincert-disabled"]
        if nginx_issued.served.tree.name == "letsencrypt-managed" else [])

    runs = _uninstall_every_site_and_assert_as_before(nginx_issued)
    if renewals:
        renewal = renewals[0].with_name("example.net.conf")
        assert f"note: renewal {renewal} enabled again" in runs["example.net"].stdout


# Apache: both sites, and the classic redirect


def test_apache_classic_redirect_keeps_working_without_a_loop_and_the_user_is_told(
    apache_issued,
):
    _assert_issued_and_served(apache_issued)
    served = apache_issued.served
    issue_out = apache_issued.runs["portal.example.com"].stdout
    assert ("note: the HTTP→HTTPS redirect in portal.example.com.conf:13 stays; it loops if "
            "the zone is on Flexible — origincert sets Full (strict)") in issue_out
    assert "HTTPS is served by a copy of this vhost on port 443" in issue_out

    for name in ("portal.example.com", "www.portal.example.com"):
        assert served.http(name) == (301, f"https://{name}/")
        # over HTTPS the same rule must not fire again: no redirect, the page itself
        assert _https_get(name) == (200, None)


def test_uninstall_after_issue_leaves_both_apache_sites_byte_identical(apache_issued):
    _uninstall_every_site_and_assert_as_before(apache_issued)
    # the user's redirect is still there, over plain HTTP
    assert apache_issued.served.http("portal.example.com") == (
        301, "https://portal.example.com/")


# Caddy: both sites, and its automatic HTTPS


def test_caddy_automatic_https_redirects_once_without_a_loop_and_the_user_is_told(
    caddy_issued,
):
    _assert_issued_and_served(caddy_issued)
    served = caddy_issued.served
    issue_out = caddy_issued.runs["app.example.com"].stdout
    assert ("note: Caddy obtains no certificate of its own for app.example.com, "
            "www.app.example.com any more") in issue_out
    assert ("note: Caddy's automatic HTTPS keeps redirecting plain HTTP to HTTPS (308) for "
            "app.example.com, www.app.example.com") in issue_out

    for name in ("app.example.com", "www.app.example.com"):
        assert served.http(name) == (308, f"https://{name}/")
        assert served.tree.https_get(name) == (200, BACKEND_BODY)


def test_uninstall_failing_at_reload_is_undone_and_origincert_still_served(caddy_issued):
    served = caddy_issued.served
    installed = served.snapshot()
    reload_once_failing = served.home / "reload-once-failing"
    reload_once_failing.write_text(
        "#!/bin/sh\n"
        f"if [ ! -e {served.home}/failed-once ]; then\n"
        f"  touch {served.home}/failed-once\n"
        "  echo 'Error: loading new config: admin endpoint refused' >&2\n"
        "  exit 1\n"
        "fi\n"
        f"exec {CADDY} reload --config {served.tree.caddyfile} --adapter caddyfile "
        f"--force --address {served.tree.admin}\n")
    reload_once_failing.chmod(0o755)

    run = served.cli("--reload-command", str(reload_once_failing),
                     "uninstall", "status.example.org")

    assert run.code == 1, run
    line = run.error_lines()
    assert len(line) == 1 and "caddy did not reload" in line[0], run
    assert "admin endpoint refused" in line[0], run
    assert "rolled back: the configuration is as it was, with origincert" in run.stdout, run
    assert served.snapshot() == installed
    rows = {tuple(r["hostnames"]): r for r in served.certs()}
    assert rows[("status.example.org",)]["status"] == "installed", rows
    expected = leaf_der(rows[("status.example.org",)]["certificate_file"])
    assert served.wait_tls("status.example.org", lambda seen: seen == expected) == expected


def test_uninstall_dry_run_prints_the_plan_and_changes_nothing(caddy_issued):
    served = caddy_issued.served
    installed = served.snapshot()

    run = served.cli("uninstall", "app.example.com", "--dry-run", "--json")

    assert run.code == 0, run
    plan = run.json()
    assert plan["status"] == "planned" and plan["site"] == "app.example.com"
    assert str(served.tree.caddyfile) in plan["config_files"]
    assert "-\t# origincert: begin" in plan["diff"] or "# origincert: begin" in plan["diff"]
    assert served.snapshot() == installed


def test_uninstall_after_issue_leaves_both_caddy_sites_byte_identical(caddy_issued):
    _uninstall_every_site_and_assert_as_before(caddy_issued)


def test_uninstall_of_a_site_origincert_does_not_manage_is_one_line_and_exit_1(caddy_issued):
    served = caddy_issued.served
    for site, why in (("status.example.org", "has no origincert lines"),
                      ("nowhere.example.com", "no caddy site serves it")):
        run = served.cli("uninstall", site)

        assert run.code == 1, run
        lines = run.error_lines()
        assert len(lines) == 1, run
        assert lines[0].startswith(f"origincert: error: origincert does not manage {site}: "), run
        assert why in lines[0], run
    assert served.snapshot() == caddy_issued.baseline


# helpers


def _assert_issued_and_served(issued: Issued) -> None:
    """Every site issued, and every name served the certificate the state records."""
    failed = {name: run for name, run in issued.runs.items() if run.code != 0}
    assert not failed, "\n".join(str(run) for run in failed.values())
    rows = {tuple(sorted(r["hostnames"])): r for r in issued.served.certs()}
    assert set(rows) == {tuple(sorted(site.hostnames)) for site in issued.sites.values()}
    for site in issued.sites.values():
        expected = leaf_der(rows[tuple(sorted(site.hostnames))]["certificate_file"])
        for endpoint in issued.served.server.endpoints(site):
            for name in site.hostnames:
                seen = issued.served.wait_tls(sample(name), lambda s, e=expected: s == e,
                                              host=endpoint.host)
                assert seen == expected, f"{name} at {endpoint}: {shown(seen)}"


def _uninstall_every_site_and_assert_as_before(issued: Issued) -> dict[str, object]:
    served = issued.served
    runs = {}
    for site in issued.sites.values():
        runs[site.name] = run = served.cli("uninstall", site.name)
        assert run.code == 0, run
        assert f"uninstalled: {site.name} " in run.stdout, run
        assert "verified: " in run.stdout, run

    changed = {path for path in set(issued.baseline) | set(served.snapshot())
               if issued.baseline.get(path) != served.snapshot().get(path)}
    assert not changed, f"not byte-identical after uninstall: {sorted(changed)}"
    assert served.config_error() is None

    for (where, name), seen in issued.before.items():
        # the last reload may still be settling
        now = served.wait_tls(sample(name), lambda s, seen=seen: s == seen, host=where)
        assert now == seen, f"{name} at {where}: {shown(now)}, before: {shown(seen)}"

    # recorded for revocation: unused, no configuration uses it any more
    rows = served.certs(all_=True)
    assert len(rows) == len(issued.sites), rows
    for row in rows:
        assert row["status"] == "unused", row
        assert row["cloudflare_id"] and row["config_files"] == [], row
        assert row.get("state", "orphaned") == "orphaned", row
    return runs


def _address(site) -> str:  # type: ignore[no-untyped-def]
    """Where the site is reachable: the one address its listeners name, or loopback."""
    return next((listen.address for listen in site.listens
                 if listen.address and not listen.ipv6), "127.0.0.1")


def _https_get(hostname: str, seconds: float = 5.0) -> tuple[int, str | None]:
    """Status and Location over HTTPS, retried while a graceful reload swaps children."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return http_get(Endpoint("127.0.0.1", 443), hostname, tls=True)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
