"""Throwaway certificates for tests: placeholders and CA-signed leaves.

Everything is ECDSA P-256 and lives only in the test's temporary folder.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from origincert.files import ensure_dir, write_atomic
from origincert.webserver.base import CertFiles


@dataclass(frozen=True)
class Leaf:
    files: CertFiles
    der: bytes          # the leaf certificate, as a server sends it


def make_leaf(hostnames: list[str], folder: Path, *, ca_name: str = "origincert test CA") -> Leaf:
    """A CA and a leaf for ``hostnames`` signed by it; the file holds leaf then CA."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate(ca_name, [], ca_key.public_key(), ca_key, ca_name, is_ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = _certificate(hostnames[0], hostnames, key.public_key(), ca_key, ca_name, is_ca=False)

    files = write_pair(folder / "cert.pem", folder / "key.pem", [leaf, ca], key)
    return Leaf(files, leaf.public_bytes(serialization.Encoding.DER))


def make_self_signed(hostnames: list[str], certificate: Path, key_path: Path) -> bytes:
    """A self-signed placeholder (a Let's Encrypt file, a pasted pair); returns its DER."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = hostnames[0] if hostnames else "placeholder.invalid"
    cert = _certificate(name, hostnames, key.public_key(), key, name, is_ca=False)
    write_pair(certificate, key_path, [cert], key)
    return cert.public_bytes(serialization.Encoding.DER)


def write_pair(certificate: Path, key_path: Path, chain: list, key) -> CertFiles:
    ensure_dir(certificate.parent)
    ensure_dir(key_path.parent)
    pem = b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in chain)
    write_atomic(certificate, pem)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_atomic(key_path, key_pem, mode=0o600)
    return CertFiles(certificate, key_path)


def _certificate(subject, names, public_key, signing_key, issuer, *, is_ca) -> x509.Certificate:
    now = dt.datetime.now(dt.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(name) for name in names]), critical=False
        )
    return builder.sign(signing_key, hashes.SHA256())


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)
