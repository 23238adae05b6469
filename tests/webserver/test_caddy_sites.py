"""Site discovery and planned edits on Caddyfiles, read and validated by the real Caddy.

These tests run `caddy adapt` and `caddy validate` only (which bind no
port), so they need no network namespace.
"""

from __future__ import annotations

import pytest

from origincert.errors import WebServerError
from origincert.webserver.base import Endpoint, Listen
from origincert.webserver.caddy import CertificateInUseError, address_host
from tests.servers.caddy_tree import CaddyTree, apply_plan
from tests.servers.pki import make_leaf, make_self_signed

HTTPS = Listen(None, 443, ssl=True)
REDIRECT = Listen(None, 80, ssl=False)


def test_fixture_caddyfile_has_exactly_the_app_and_status_sites(caddy_tree):
    tree: CaddyTree = caddy_tree()
    tree.caddy.config_test()

    sites = tree.caddy.sites()

    assert [(s.name, s.hostnames, s.line) for s in sites] == [
        ("app.example.com", ("app.example.com", "www.app.example.com"), 10),
        ("status.example.org", ("status.example.org",), 14),
    ]
    for site in sites:
        assert site.source == tree.caddyfile
        assert site.listens == (HTTPS, REDIRECT) and site.https
        assert site.certificate is None and site.key is None and not site.managed
        assert tree.caddy.endpoints(site) == [Endpoint("127.0.0.1", 443)]
    assert tree.caddy.skipped == []


def test_addresses_without_a_certifiable_hostname_are_left_out_with_a_reason(caddy_tree):
    tree: CaddyTree = caddy_tree(
        "http://plain.example.com, :8080, localhost, 10.0.0.1, https://alt.example.com:8443,"
        " *.w.example.com, {$UNSET_SITE:other.example.com} {\n"
        "\trespond hi\n"
        "}\n"
    )

    [site] = tree.caddy.sites()

    assert site.hostnames == ("plain.example.com", "alt.example.com", "*.w.example.com")
    assert Listen(None, 8443, ssl=True) in site.listens
    skipped = "\n".join(tree.caddy.skipped)
    for address, why in ((":8080", "port only"), ("localhost", "not a fully qualified"),
                         ("10.0.0.1", "IP address"), ("{$UNSET_SITE", "placeholder")):
        assert f"{address}" in skipped and why in skipped, skipped


@pytest.mark.parametrize("address, host", [
    ("Example.COM", "example.com"),
    ("https://www.example.com:8443/path", "www.example.com"),
    ("*.example.com", "*.example.com"),
    ("[::1]:443", None),
    ("unix//run/x.sock", None),
])
def test_address_host_reads_caddy_address_forms(address, host):
    assert address_host(address)[0] == host


def test_install_is_a_marked_import_that_validates_is_idempotent_and_undoes_exactly(
    caddy_tree, tmp_path
):
    tree: CaddyTree = caddy_tree()
    site = tree.caddy.sites()[0]
    leaf = make_leaf(list(site.hostnames), tmp_path / "leaf")

    plan = tree.caddy.plan_install(site, leaf.files, lineage="app")
    apply_plan(plan)
    tree.caddy.config_test()

    text = tree.caddyfile.read_text()
    assert "# origincert: begin" in text and f"import {tree.caddy.include_dir}/app.caddy" in text
    installed = tree.caddy.sites()[0]
    assert installed.managed and installed.certificate == leaf.files.certificate
    assert tree.caddy.plan_install(installed, leaf.files, lineage="app").changes == []

    # another lineage: the import is pointed at the new snippet, nothing else moves
    moved = tree.caddy.plan_install(installed, leaf.files, lineage="app2")
    assert [c.path.name for c in moved.changes] == ["app2.caddy", "Caddyfile"]
    assert "-\timport" in moved.diff() and "+\timport" in moved.diff()

    apply_plan(tree.caddy.plan_uninstall(installed, lineage="app"))
    assert tree.caddyfile.read_bytes() == tree.baseline
    assert list(tree.caddy.include_dir.iterdir()) == []
    assert tree.caddy.plan_uninstall(site, lineage="app").empty


def test_validate_failure_shows_caddys_own_words(caddy_tree, tmp_path):
    tree: CaddyTree = caddy_tree()
    site = tree.caddy.sites()[1]
    leaf = make_leaf(list(site.hostnames), tmp_path / "leaf")
    apply_plan(tree.caddy.plan_install(site, leaf.files, lineage="status"))
    leaf.files.certificate.unlink()

    with pytest.raises(WebServerError) as refused:
        tree.caddy.config_test()

    line = refused.value.one_line()
    assert line.startswith("caddy refused the configuration: Error: ")
    assert f"open {leaf.files.certificate}: no such file or directory" in line
    assert refused.value.command[:2] == [tree.caddy.binary, "validate"]


def test_reload_without_a_running_caddy_shows_caddys_own_words(caddy_tree):
    tree: CaddyTree = caddy_tree()

    with pytest.raises(WebServerError) as refused:
        tree.caddy.reload()

    assert refused.value.one_line().startswith("caddy did not reload: Error: ")
    assert "admin.sock" in refused.value.output


OWN_TLS = """\
{
\temail ops@example.com
}

own.example.com {
\ttls /etc/ssl/own/cert.pem /etc/ssl/own/key.pem {
\t\tprotocols tls1.2
\t}
\trespond "own"
}
"""


def test_site_with_its_own_tls_files_is_switched_only_with_replace_and_restored(
    caddy_tree, tmp_path
):
    tree: CaddyTree = caddy_tree(OWN_TLS)
    own = tree.root / "etc" / "ssl" / "own"
    make_self_signed(["own.example.com"], own / "cert.pem", own / "key.pem")
    [site] = tree.caddy.sites()
    assert site.certificate == own / "cert.pem"
    leaf = make_leaf(["own.example.com"], tmp_path / "leaf")

    with pytest.raises(CertificateInUseError) as refused:
        tree.caddy.plan_install(site, leaf.files, lineage="own")
    assert "--replace" in refused.value.one_line()

    plan = tree.caddy.plan_install(site, leaf.files, lineage="own", replace=True)
    apply_plan(plan)
    tree.caddy.config_test()
    text = tree.caddyfile.read_text()
    assert "\t# origincert-off: tls " in text and "\t\t# origincert-off: protocols" in text
    assert tree.caddy.sites()[0].certificate == leaf.files.certificate
    assert any("commented out" in note for note in plan.notes)

    apply_plan(tree.caddy.plan_uninstall(site, lineage="own"))
    assert tree.caddyfile.read_bytes() == tree.baseline


def test_plain_http_site_and_site_without_braces_are_refused(caddy_tree, tmp_path):
    plain = caddy_tree("http://plain.example.com {\n\trespond hi\n}\n")
    [site] = plain.caddy.sites()
    assert not site.https
    leaf = make_leaf(["plain.example.com"], tmp_path / "leaf")
    with pytest.raises(WebServerError, match="plain HTTP only"):
        plain.caddy.plan_install(site, leaf.files, lineage="plain")

    bare = caddy_tree("bare.example.com\n\nrespond hi\n")
    [site] = bare.caddy.sites()
    with pytest.raises(WebServerError, match="no braces"):
        bare.caddy.plan_install(site, leaf.files, lineage="bare")


def test_site_in_an_imported_file_is_edited_there_and_restored(caddy_tree, tmp_path):
    tree: CaddyTree = caddy_tree("import sites/*.caddy\n")
    site_file = tree.caddyfile.parent / "sites" / "shop.caddy"
    site_file.parent.mkdir()
    original = b"# the shop\nhttp://shop.example.com {\n\tredir https://shop.example.com\n}\n\n" \
               b"shop.example.com {\n    respond \"shop\"\n}\n"
    site_file.write_bytes(original)

    sites = tree.caddy.sites()
    assert [(s.source, s.line, s.https) for s in sites] == [
        (site_file, 2, False), (site_file, 6, True),
    ]
    leaf = make_leaf(["shop.example.com"], tmp_path / "leaf")

    plan = tree.caddy.plan_install(sites[0], leaf.files, lineage="shop")
    assert [c.path for c in plan.changes][1:] == [site_file]
    assert "\n+    import " in plan.diff()   # the block's own indentation (spaces)
    assert any("its own http:// site block" in note for note in plan.notes), plan.notes
    assert not any("automatic HTTPS keeps redirecting" in note for note in plan.notes)
    apply_plan(plan)
    tree.caddy.config_test()
    assert [s.managed for s in tree.caddy.sites()] == [False, True]

    apply_plan(tree.caddy.plan_uninstall(sites[1], lineage="shop"))
    assert site_file.read_bytes() == original
    assert tree.caddyfile.read_bytes() == tree.baseline


def test_redirect_asked_while_caddys_redirects_are_off_says_so(caddy_tree, tmp_path):
    tree: CaddyTree = caddy_tree(
        "{\n\tauto_https disable_redirects\n}\n\nquiet.example.com {\n\trespond hi\n}\n"
    )
    [site] = tree.caddy.sites()
    assert site.listens == (HTTPS,)
    leaf = make_leaf(["quiet.example.com"], tmp_path / "leaf")

    plan = tree.caddy.plan_install(site, leaf.files, lineage="quiet", redirect=True)

    assert any("redirects are off" in note for note in plan.notes), plan.notes
    assert not any("keeps redirecting" in note for note in plan.notes)
