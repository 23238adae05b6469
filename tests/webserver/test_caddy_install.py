"""The fixture Caddyfile installed and uninstalled on a real Caddy.

One private Caddy (its own admin socket and storage) runs the copy of the
fixture. Each site in turn gets a fresh leaf, is checked by real handshakes
for each of its names and by real requests (the status page, the proxied
app, Caddy's own redirect on port 80), is planned again (nothing to do), and
at the end everything is uninstalled and the Caddyfile is byte-identical.
"""

from __future__ import annotations

import time

import pytest

from tests.servers.caddy_tree import BACKEND_BODY, STATUS_BODY, CaddyTree, apply_plan
from tests.servers.pki import make_leaf
from tests.servers.tls import wait_for_certificate

pytestmark = pytest.mark.servers

BODIES = {"app.example.com": BACKEND_BODY, "status.example.org": STATUS_BODY}


def test_every_site_serves_its_leaf_keeps_caddys_redirect_then_uninstall_restores_bytes(
    caddy_tree, tmp_path
):
    tree: CaddyTree = caddy_tree()
    tree.start()
    sites = tree.caddy.sites()

    leaves = {}
    for site in sites:
        leaves[site.name] = _install_and_check(tree, site, tmp_path / site.name)

    # every site keeps its own leaf once both are installed
    for site in tree.caddy.sites():
        assert site.managed, site.name
        assert site.certificate == tmp_path / site.name / "cert.pem"
        _check_served(tree, site, leaves[site.name])

    # no competing certificate: Caddy's automatic HTTPS manages none of these names
    events = tree.events_since_last_load()
    skipped = {e.get("domain") for e in events if e.get("msg", "").startswith(
        "skipping automatic certificate management because")}
    names = {name for site in sites for name in site.hostnames}
    assert skipped == names and not _managed_names(tree) & names, skipped

    for site in tree.caddy.sites():
        plan = tree.caddy.plan_uninstall(site, lineage=site.name)
        assert any("obtain a public certificate" in note for note in plan.notes)
        apply_plan(plan)
    tree.reload()

    assert tree.caddyfile.read_bytes() == tree.baseline
    # as the uninstall note says: Caddy's automatic HTTPS takes these names back
    _eventually_true(lambda: names <= _managed_names(tree))
    assert list(tree.caddy.include_dir.iterdir()) == []
    assert not any(site.managed or site.certificate for site in tree.caddy.sites())


def test_renewed_certificate_at_the_same_paths_is_served_after_reload(caddy_tree, tmp_path):
    # the config Caddy adapts is the same before and after: reload must force it
    tree: CaddyTree = caddy_tree()
    tree.start()
    site = next(s for s in tree.caddy.sites() if s.name == "status.example.org")
    first = make_leaf(list(site.hostnames), tmp_path / "lineage")
    apply_plan(tree.caddy.plan_install(site, first.files, lineage="status"))
    tree.reload()
    _check_served(tree, site, first.der)

    renewed = make_leaf(list(site.hostnames), tmp_path / "lineage", ca_name="renewed CA")
    assert tree.caddy.plan_install(site, renewed.files, lineage="status").empty
    tree.reload()
    _check_served(tree, site, renewed.der)


def _install_and_check(tree: CaddyTree, site, folder) -> bytes:
    leaf = make_leaf(list(site.hostnames), folder)
    plan = tree.caddy.plan_install(site, leaf.files, lineage=site.name, redirect=True)
    assert not plan.empty
    assert any("keeps redirecting plain HTTP to HTTPS" in note and "C01" in note
               for note in plan.notes), plan.notes
    assert any("obtains no certificate of its own" in note for note in plan.notes)
    apply_plan(plan)
    tree.reload()
    _check_served(tree, site, leaf.der)

    again = tree.caddy.plan_install(site, leaf.files, lineage=site.name, redirect=True)
    assert again.empty and again.changes == []
    return leaf.der


def _check_served(tree: CaddyTree, site, der: bytes) -> None:
    endpoints = tree.caddy.endpoints(site)
    assert [(e.host, e.port) for e in endpoints] == [("127.0.0.1", 443)]
    for hostname in site.hostnames:
        wait_for_certificate(endpoints[0], hostname, der)
        status, body = _eventually(lambda name=hostname: tree.https_get(name, "/"))
        assert (status, body) == (200, BODIES[site.name]), hostname

        # Caddy's own HTTP->HTTPS redirect on port 80 stays (no loop under Full (strict))
        status, location, _ = tree.http_get(hostname, "/some/page?x=1")
        assert status == 308
        assert location == f"https://{hostname}/some/page?x=1"


def _managed_names(tree: CaddyTree) -> set[str]:
    """The names Caddy's automatic HTTPS manages since the last config it was sent."""
    return {name for event in tree.events_since_last_load() for name in event.get("domains") or []
            if event.get("msg") == "enabling automatic TLS certificate management"}


def _eventually_true(check, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "never came true"
        time.sleep(0.05)


def _eventually(call, seconds: float = 5.0):
    """The first answer that is not a 5xx (a reload swaps servers asynchronously)."""
    deadline = time.monotonic() + seconds
    while True:
        answer = call()
        if answer[0] < 500 or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)
