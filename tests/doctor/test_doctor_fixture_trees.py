"""Issue 7, "Done when": `doctor --all` on the fixture trees with the agency.json zones.

Each nginx fixture tree runs in turn on 80/443 (all the fixtures' addresses are on the
namespace's loopback); the Apache tree after them. The account is the full-access token,
so the permission report adds nothing. Every error and warning is asserted exactly: the
two-level names, the grey store.example.org, the exposed mail host and SPF record, the
Let's Encrypt mixing on example.net, the Flexible zone, and nothing spurious.
"""

from __future__ import annotations

import pytest

from tests.doctor.conftest import found, nginx_doctor, place_renewal, problems

pytestmark = pytest.mark.servers

EXAMPLE_COM_EXPOSURE = {("origin.exposure", "mail.example.com"),
                        ("origin.exposure", "example.com")}


def test_debian_wordpress_tree_reports_flexible_zone_deep_name_and_closed_443(
        sb, nginx_origin) -> None:
    tree, home = nginx_origin("debian-wordpress")
    doctor = nginx_doctor(tree, home)
    doctor.connect(sb.base_url)

    run, report = doctor.doctor("--all")

    assert run.code == 1
    assert problems(report) == {
        ("zone.flexible", "example.com"),
        ("edge.not_covered", "www.shop.example.com"),
        # example.org is on Full and nothing listens on 443 for the blog
        ("edge.521", "blog.example.org"),
        *EXAMPLE_COM_EXPOSURE,
        # store.example.org is DNS only on the blog's address
        ("origin.exposure", "store.example.org"),
    }
    assert found(report, "edge.not_covered", "www.shop.example.com")["severity"] == "error"
    flexible = found(report, "zone.flexible", "example.com")
    assert flexible["severity"] == "warning"
    assert any("shop.example.com" in line for line in flexible["evidence"])
    assert "ip4:203.0.113.10" in " ".join(found(report, "origin.exposure", "example.com")
                                          ["evidence"])


def test_letsencrypt_tree_reports_mixing_and_the_self_signed_526(sb, nginx_origin) -> None:
    tree, home = nginx_origin("letsencrypt-managed")
    letsencrypt = place_renewal(tree)
    doctor = nginx_doctor(tree, home)
    doctor.connect(sb.base_url)

    run, report = doctor.doctor("--all", "--letsencrypt-dir", str(letsencrypt))

    assert run.code == 1
    assert problems(report) == {
        ("letsencrypt.mixing", "example.net"),
        ("letsencrypt.mixing", "www.example.net"),
        # the placeholder Let's Encrypt certificate is self-signed: strict refuses it
        ("edge.526", "example.net"),
        ("edge.526", "www.example.net"),
        # direct.example.net is DNS only on example.net's origin address
        ("origin.exposure", "direct.example.net"),
    }
    mixing = found(report, "letsencrypt.mixing", "example.net")
    assert mixing["case"] == "C35"
    assert "example.net.conf" in " ".join(mixing["evidence"])


def test_reverse_proxy_tree_reports_the_grey_store_and_the_deep_www(sb, nginx_origin) -> None:
    tree, home = nginx_origin("reverse-proxy")
    doctor = nginx_doctor(tree, home)
    doctor.connect(sb.base_url)

    run, report = doctor.doctor("--all")

    assert run.code == 1
    assert problems(report) == {
        ("zone.flexible", "example.com"),
        ("edge.not_covered", "www.agency.example.com"),
        ("dns.not_proxied", "store.example.org"),
        *EXAMPLE_COM_EXPOSURE,
    }
    # Full hides the pasted self-signed certificate of docs.example.org: a note, not an error
    full = found(report, "zone.full", "example.org")
    assert full["severity"] == "info"
    assert any("docs.example.org" in line for line in full["evidence"])


def test_tricky_tree_reports_the_wildcard_and_the_rejected_name(sb, nginx_origin) -> None:
    tree, home = nginx_origin("tricky")
    doctor = nginx_doctor(tree, home)
    doctor.connect(sb.base_url)

    run, report = doctor.doctor("--all")

    assert run.code == 1
    assert problems(report) == {
        ("zone.flexible", "example.com"),
        ("edge.not_covered", "*.tenants.example.com"),
        # example.net is strict, and the catch-all refuses the handshake for this name (C21)
        ("edge.525", "legacy.example.net"),
        *EXAMPLE_COM_EXPOSURE,
    }
    assert found(report, "edge.525", "legacy.example.net")["case"] == "C21"


def test_each_zone_is_read_once_however_many_of_its_names_are_checked(sb, nginx_origin) -> None:
    """Issue 7 item 4: checking four names of example.com costs the API what one name does."""
    tree, home = nginx_origin("tricky")
    doctor = nginx_doctor(tree, home)
    doctor.connect(sb.base_url)
    zone_path = "/zones/20e0c0de000000000000000000000001/"

    def zone_reads(*args: str) -> tuple[int, list]:
        already = len(sb.request_log)
        run, report = doctor.doctor(*args)
        calls = [r.path.split(zone_path, 1)[1] for r in sb.request_log[already:]
                 if r.method == "GET" and zone_path in r.path]
        checked = [h for h in report["hostnames"] if h["zone"] == "example.com" and h["site"]]
        return len(checked), calls

    one, alone = zone_reads("api.example.com")
    many, together = zone_reads("--all")

    assert one == 1 and many == 4
    assert sorted(together) == sorted(alone)
    assert together.count("settings/ssl") == alone.count("settings/ssl")


def test_fix_keeps_flexible_while_a_sibling_would_fail_strict(sb, nginx_origin) -> None:
    """C02: the SSL mode is zone-wide; --fix turns on the HTTPS settings but leaves
    Flexible, naming the hostnames that would break. (Last: it changes the zones.)"""
    tree, home = nginx_origin("debian-wordpress")
    doctor = nginx_doctor(tree, home)
    doctor.connect(sb.base_url)

    run, report = doctor.doctor("shop.example.com", "--fix")

    assert run.code == 1
    zone_fix = next(f for f in report["fixes"] if f["hostname"] == "example.com")
    assert "always_use_https: off → on" in zone_fix["changes"]
    assert any(c.startswith("SSL mode left at flexible, blocked by") for c in
               zone_fix["changes"])
    assert ("zone.flexible", "example.com") in problems(report)
    assert not [f for f in report["findings"] if f["id"] == "zone.https_settings"]
