"""The bundled Cloudflare Origin CA roots are exactly the fact sheet's (§10.1, §10.2)."""

from __future__ import annotations

from importlib import resources

from cryptography.hazmat.primitives import hashes

from origincert.pki.certificate import colon_hex, fingerprint_sha256, is_ca
from origincert.pki.roots import cloudflare_roots, root_for

# Copied from cloudflare-api.md, not from the code under test.
RSA_FINGERPRINT = (
    "D3:C7:E8:5C:91:70:7F:C0:A1:2A:BC:5D:88:26:67:47:"
    "AA:4F:A8:E7:B1:62:F6:33:FF:B3:C9:D9:89:94:76:20"
)
ECC_FINGERPRINT = (
    "AA:63:69:7A:22:76:4B:67:B2:13:4C:E1:4C:B5:69:0E:"
    "A3:36:94:0B:93:98:61:13:F4:95:45:91:78:32:D8:0D"
)


def test_bundled_roots_have_the_fact_sheet_fingerprints() -> None:
    rsa_root, ecc_root = cloudflare_roots()
    assert colon_hex(fingerprint_sha256(rsa_root)) == RSA_FINGERPRINT
    assert colon_hex(fingerprint_sha256(ecc_root)) == ECC_FINGERPRINT
    assert rsa_root.fingerprint(hashes.SHA256()).hex(":").upper() == RSA_FINGERPRINT


def test_roots_are_self_signed_cas_with_the_documented_subjects() -> None:
    rsa_root, ecc_root = cloudflare_roots()
    for root in (rsa_root, ecc_root):
        assert is_ca(root)
        assert root.subject == root.issuer
        root.verify_directly_issued_by(root)
    assert "OU=CloudFlare Origin SSL Certificate Authority" in rsa_root.subject.rfc4514_string()
    assert "OU=CloudFlare Origin SSL ECC Certificate Authority" in ecc_root.subject.rfc4514_string()
    assert format(rsa_root.serial_number, "X") == "FEACE49D4C67C67"


def test_root_for_request_type() -> None:
    rsa_root, ecc_root = cloudflare_roots()
    assert root_for("origin-rsa") == rsa_root
    assert root_for("origin-ecc") == ecc_root


def test_root_files_ship_as_package_data() -> None:
    data = resources.files("origincert.pki").joinpath("data")
    names = sorted(entry.name for entry in data.iterdir() if entry.name.endswith(".pem"))
    assert names == ["origin_ca_ecc_root.pem", "origin_ca_rsa_root.pem"]
