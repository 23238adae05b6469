"""Doctor on an origin whose certificates go wrong in every way a check can see.

One strict zone, one nginx, one name per mistake, on the namespace's documentation
addresses; the certificates come from the sandbox's Origin CA. Field cases C09, C16,
C23, C25, C26, C27, C40, and OCSP stapling and expiry; then `--fix` proxies the grey
name and closes the open key.
"""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from origincert.files import write_atomic
from origincert.pki.keys import key_to_pem
from tests.servers.nginx_tree import NginxTree
from tests.doctor.conftest import (
    NGINX_MAIN, TOKEN, a_record, api_client, found, nginx_doctor, origin_ca, problems,
    tls_block, world,
)

pytestmark = pytest.mark.servers

NAMES = ("good", "stapled", "revoked", "mismatch", "openkey", "expiring", "grey")


@pytest.fixture(scope="module")
def origin(world_sandbox, nginx_origin, tmp_path_factory):  # type: ignore[no-untyped-def]
    records = [a_record(f"{n}.example.com", "203.0.113.11", proxied=n != "grey") for n in NAMES]
    records += [a_record("example.com", "203.0.113.11"),
                a_record("plain.example.com", "203.0.113.12"),
                a_record("closed.example.com", "192.0.2.50")]
    sb = world_sandbox(world({"example.com": ({}, records)}))
    certs = tmp_path_factory.mktemp("certs")
    pairs = {n: origin_ca(sb, [f"{n}.example.com"], certs,
                          validity=7 if n == "expiring" else 5475) for n in NAMES}
    apex = origin_ca(sb, ["*.example.com"], certs / "apex")  # C40: not the apex itself

    blocks = [tls_block("203.0.113.11:443", f"{n}.example.com", pair,
                        "    ssl_stapling on;\n" if n == "stapled" else "")
              for n, pair in pairs.items()]
    blocks.append(tls_block("203.0.113.11:443", "example.com", apex))
    # C23: certificate directives, but `listen 443` without ssl
    blocks.append(f"server {{ listen 203.0.113.12:443; server_name plain.example.com; "
                  f"ssl_certificate {pairs['good'].cert}; ssl_certificate_key "
                  f"{pairs['good'].key}; return 200 plain; }}\n")
    blocks.append("server { listen 192.0.2.50:80; server_name closed.example.com; }\n")
    tree, home = nginx_origin({"nginx.conf": NGINX_MAIN, "conf.d/sites.conf": "".join(blocks)})

    # what happens after the server started: a revoked certificate, a replaced key (C26),
    # a key made readable by everyone (C25)
    client = api_client(sb)
    client.revoke_origin_certificate(pairs["revoked"].cf_id)
    client.close()
    other = ec.generate_private_key(ec.SECP256R1())
    original = pairs["mismatch"].key.read_bytes()
    write_atomic(pairs["mismatch"].key, key_to_pem(other), mode=0o600)
    os.chmod(pairs["openkey"].key, 0o644)

    doctor = nginx_doctor(tree, home)
    doctor.connect(sb.base_url, TOKEN)
    yield doctor, pairs
    # `nginx -s quit` reads the configuration: give it back a pair it can load
    write_atomic(pairs["mismatch"].key, original, mode=0o600)


def test_every_certificate_mistake_is_named_once_and_a_good_site_is_clean(origin) -> None:
    doctor, _ = origin
    run, report = doctor.doctor("--all")

    assert run.code == 1
    assert problems(report) == {
        ("cert.ocsp_stapling", "stapled.example.com"),
        ("cert.revoked", "revoked.example.com"),
        ("cert.key_mismatch", "mismatch.example.com"),
        ("key.permissions", "openkey.example.com"),
        ("cert.expiry", "expiring.example.com"),
        ("dns.grey_origin_cert", "grey.example.com"),
        ("edge.526", "example.com"),
        ("edge.525", "plain.example.com"),
        ("edge.521", "closed.example.com"),
    }
    severity = {(f["id"], f["hostname"]): f["severity"] for f in report["findings"]}
    assert severity[("cert.revoked", "revoked.example.com")] == "error"
    assert severity[("cert.expiry", "expiring.example.com")] == "warning"
    assert severity[("key.permissions", "openkey.example.com")] == "error"
    assert found(report, "edge.525", "plain.example.com")["case"] == "C23"
    assert "Hostname mismatch" in " ".join(found(report, "edge.526", "example.com")["evidence"])
    assert found(report, "dns.grey_origin_cert", "grey.example.com")["fix"]["automatic"]
    assert found(report, "cert.key_mismatch", "mismatch.example.com")["case"] == "C26"
    good = next(h for h in report["hostnames"] if h["hostname"] == "good.example.com")
    assert good["worst"] == "ok"


def test_fix_proxies_the_grey_name_and_closes_the_key_then_reports_clean(origin) -> None:
    doctor, pairs = origin
    run, report = doctor.doctor("grey.example.com", "openkey.example.com", "--fix")

    assert run.code == 0, run
    assert report["healthy"]
    before = {(f["id"], f["hostname"]) for f in report["before"]["findings"]}
    assert {("dns.grey_origin_cert", "grey.example.com"),
            ("key.permissions", "openkey.example.com")} <= before
    assert all(fixed["applied"] for fixed in report["fixes"]), report["fixes"]
    assert oct(os.stat(pairs["openkey"].key).st_mode & 0o777) == "0o600"
    zone_fix = next(f for f in report["fixes"] if f["hostname"] == "example.com")
    assert any("grey.example.com proxied" in change for change in zone_fix["changes"])


def test_swapped_certificate_and_key_paths_are_named(world_sandbox, tmp_path_factory) -> None:
    """C27: nginx cannot even start; doctor reads the files the configuration names."""
    sb = world_sandbox(world({"example.com": ({}, [a_record("swap.example.com",
                                                            "198.51.100.20")])}))
    pair = origin_ca(sb, ["swap.example.com"], tmp_path_factory.mktemp("swap"))
    conf = (f"server {{ listen 198.51.100.20:443 ssl; server_name swap.example.com; "
            f"ssl_certificate {pair.key}; ssl_certificate_key {pair.cert}; }}\n")
    home = tmp_path_factory.mktemp("swap-origin")
    tree = NginxTree.from_files({"nginx.conf": NGINX_MAIN, "conf.d/swap.conf": conf},
                                home / "tree")
    doctor = nginx_doctor(tree, home)
    doctor.connect(sb.base_url, TOKEN)

    run, report = doctor.doctor("--all")

    slot = found(report, "cert.file_slot", "swap.example.com")
    assert slot["severity"] == "error" and slot["case"] == "C27"
    assert slot["title"] == "certificate and key paths are swapped"
