"""A private test CA that signs leaves shaped like Origin CA ones (cloudflare-api.md §10.4).

Named apart from conftest so that test folders never import each other's conftest.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from origincert.pki.keys import PrivateKey

NOW = datetime(2025, 1, 14, 8, 27, tzinfo=UTC)


def make_root(key: PrivateKey, unit: str = "Test Origin CA") -> x509.Certificate:
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test, Inc."),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
    ])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=2), critical=True)
    )
    return builder.sign(key, hashes.SHA256())


def make_leaf(
    root: x509.Certificate,
    root_key: PrivateKey,
    leaf_key: PrivateKey,
    sans: list[str],
    *,
    days: int = 5475,
) -> x509.Certificate:
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CloudFlare, Inc."),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "CloudFlare Origin CA"),
        x509.NameAttribute(NameOID.COMMON_NAME, "CloudFlare Origin Certificate"),
    ])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in sans]), critical=False
        )
    )
    return builder.sign(root_key, hashes.SHA256())
