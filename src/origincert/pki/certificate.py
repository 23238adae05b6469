"""Reading certificates: what they name, when they expire, whom they chain to.

Coverage is decided by the SANs only, never the CN (an Origin CA leaf's CN is
always "CloudFlare Origin Certificate"). Matching a key to a certificate
compares SubjectPublicKeyInfo hashes (C26).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from origincert import hostnames as hostname_rules
from origincert.errors import HostnameError
from origincert.pki import MaterialError
from origincert.pki.keys import KeyType, PrivateKey, PublicKey, key_type_of, spki_sha256
from origincert.pki.sniff import Sniffed, paths_swapped, slot_problem, sniff

__all__ = [
    "CertificateInfo", "Sniffed", "chains_to", "colon_hex", "covers", "describe",
    "fingerprint_sha256", "is_ca", "load_certificate", "load_certificates", "matches_key",
    "paths_swapped", "sans", "slot_problem", "sniff",
]

PEM_CERT_BEGIN = b"-----BEGIN CERTIFICATE-----"


@dataclass(frozen=True)
class CertificateInfo:
    """The facts about a certificate that origincert shows and stores."""

    sans: tuple[str, ...]
    not_before: datetime          # timezone-aware, UTC
    not_after: datetime           # timezone-aware, UTC
    serial_hex: str               # lowercase hex, no colons
    issuer: str                   # RFC 4514
    subject: str                  # RFC 4514
    key_type: KeyType
    spki_sha256: str
    fingerprint_sha256: str       # lowercase hex, no colons
    is_ca: bool


def load_certificate(data: bytes | str) -> x509.Certificate:
    """The first certificate in PEM text, or a DER certificate."""
    certs = load_certificates(data)
    return certs[0]


def load_certificates(data: bytes | str) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle (in file order), or the one DER certificate."""
    payload = data.encode() if isinstance(data, str) else data
    try:
        if PEM_CERT_BEGIN in payload:
            # Text pasted before the first BEGIN line is tolerated, as OpenSSL does.
            return x509.load_pem_x509_certificates(payload[payload.index(PEM_CERT_BEGIN):])
        return [x509.load_der_x509_certificate(payload)]
    except ValueError as err:
        raise MaterialError(
            "this is not a readable certificate",
            hint="expected a PEM certificate (-----BEGIN CERTIFICATE-----)",
        ) from err


def describe(cert: x509.Certificate) -> CertificateInfo:
    return CertificateInfo(
        sans=tuple(sans(cert)),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        serial_hex=format(cert.serial_number, "x"),
        issuer=cert.issuer.rfc4514_string(),
        subject=cert.subject.rfc4514_string(),
        key_type=key_type_of(cert.public_key()),  # type: ignore[arg-type]
        spki_sha256=spki_sha256(cert.public_key()),  # type: ignore[arg-type]
        fingerprint_sha256=fingerprint_sha256(cert),
        is_ca=is_ca(cert),
    )


def sans(cert: x509.Certificate) -> list[str]:
    """The DNS names a certificate is for, lowercase, in certificate order."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [name.lower() for name in ext.value.get_values_for_type(x509.DNSName)]


def is_ca(cert: x509.Certificate) -> bool:
    try:
        ext = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return bool(ext.value.ca)


def fingerprint_sha256(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, lowercase hex without colons."""
    return cert.fingerprint(hashes.SHA256()).hex()


def colon_hex(hex_digest: str) -> str:
    """``d3c7…`` as ``D3:C7:…``, the way OpenSSL and the fact sheet print it."""
    upper = hex_digest.upper()
    return ":".join(upper[i : i + 2] for i in range(0, len(upper), 2))


def matches_key(cert: x509.Certificate, key: PrivateKey | PublicKey) -> bool:
    """True when ``key`` is the key pair of ``cert`` (same SubjectPublicKeyInfo)."""
    try:
        return spki_sha256(cert.public_key()) == spki_sha256(key)  # type: ignore[arg-type]
    except MaterialError:
        return False


def covers(sans_list: Iterable[str], hostname: str) -> bool:
    """True when one of the SANs covers ``hostname`` (C40).

    A wildcard ``*.example.com`` covers exactly one extra label: never the
    apex, never ``a.b.example.com``. Comparison is case-insensitive and done
    on punycode, so ``bücher.example.com`` and ``xn--bcher-kva.example.com`` agree.
    """
    try:
        host = hostname_rules.normalize(hostname)
    except HostnameError:
        return False
    if not host or host.startswith("*."):
        return host in {_safe_normalize(san) for san in sans_list}

    for san in sans_list:
        pattern = _safe_normalize(san)
        if pattern == host:
            return True
        if pattern.startswith("*.") and _one_label_below(host, pattern[2:]):
            return True
    return False


def chains_to(cert: x509.Certificate, roots: Sequence[x509.Certificate]) -> bool:
    """True when ``cert`` is signed directly by one of ``roots`` (Origin CA has no intermediate).

    The issuer name must equal the root's subject and the signature must verify
    with the root's key; a look-alike root with another key fails.
    """
    for root in roots:
        if cert.issuer != root.subject:
            continue
        try:
            cert.verify_directly_issued_by(root)
        except (InvalidSignature, ValueError, TypeError):
            continue
        return True
    return False


def _safe_normalize(name: str) -> str:
    try:
        return hostname_rules.normalize(name)
    except HostnameError:
        return ""


def _one_label_below(host: str, parent: str) -> bool:
    if not parent or not host.endswith("." + parent):
        return False
    label = host[: -len(parent) - 1]
    return bool(label) and "." not in label
