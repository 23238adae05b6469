"""What is this file, really? (field case C27)

Web server configurations often point a certificate slot at a key, a CSR, the
Origin CA root, a binary DER or PKCS#7 download, or a bundle whose first
certificate is the CA. nginx then says only "no start line" or "key values
mismatch". ``sniff`` names what a file holds; ``slot_problem`` turns that into
the precise mistake for the slot it sits in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

Kind = Literal[
    "certificate", "ca-certificate", "ca-first-bundle", "csr", "private-key",
    "encrypted-private-key", "public-key", "der-certificate", "der-private-key",
    "pkcs7", "empty", "garbage",
]
Slot = Literal["certificate", "key"]

_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 #]+)-----")
_KEY_LABELS = {b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY"}
_ORIGIN_CA_OU = "CloudFlare Origin SSL"


@dataclass(frozen=True)
class Sniffed:
    kind: Kind
    description: str           # one human phrase: "a certificate signing request (CSR)"
    certificates: int = 0      # how many certificates the file holds
    contains_key: bool = False  # a private key sits in the same file
    junk_before: bool = False   # text before the first -----BEGIN line


def sniff(data: bytes) -> Sniffed:
    """Say what ``data`` is, from its PEM labels or by parsing it as DER."""
    if not data.strip():
        return Sniffed("empty", "an empty file")

    labels = _BEGIN.findall(data)
    if not labels:
        return _sniff_binary(data)

    junk = bool(data[: data.index(b"-----BEGIN")].strip())
    contains_key = any(label in _KEY_LABELS for label in labels)
    first = labels[0]
    if b"CERTIFICATE" == first or (b"CERTIFICATE" in labels and first in _KEY_LABELS):
        return _sniff_pem_certificates(data, contains_key, junk)
    if first in (b"CERTIFICATE REQUEST", b"NEW CERTIFICATE REQUEST"):
        return Sniffed("csr", "a certificate signing request (CSR)", junk_before=junk)
    if first in _KEY_LABELS:
        return Sniffed("private-key", "a private key", contains_key=True, junk_before=junk)
    if first == b"ENCRYPTED PRIVATE KEY":
        return Sniffed("encrypted-private-key", "a passphrase-protected private key")
    if first == b"PUBLIC KEY":
        return Sniffed("public-key", "a public key (not a private key)", junk_before=junk)
    if first == b"PKCS7":
        return Sniffed("pkcs7", "a PKCS#7 bundle (.p7b), not a PEM certificate")
    return Sniffed("garbage", f"a PEM block of unexpected type {first.decode()!r}")


def slot_problem(found: Sniffed, slot: Slot) -> str | None:
    """The mistake of putting ``found`` in a certificate or key slot, or None if it fits."""
    if slot == "certificate":
        return _CERT_SLOT.get(found.kind, f"this is {found.description}, not a certificate")
    return _KEY_SLOT.get(found.kind, f"this is {found.description}, not a private key")


def paths_swapped(in_cert_slot: Sniffed, in_key_slot: Sniffed) -> bool:
    """True when the certificate slot holds the key and the key slot the certificate."""
    return in_cert_slot.kind == "private-key" and in_key_slot.kind == "certificate"


_CERT_SLOT: dict[str, str | None] = {
    "certificate": None,
    "ca-certificate": "this is a CA certificate (the Origin CA root?), not your site's certificate",
    "ca-first-bundle": (
        "the CA certificate comes first in this bundle; the server takes the first one "
        "as the site's certificate, so put the site's certificate first"
    ),
    "csr": "this is a certificate signing request (CSR), not a certificate",
    "private-key": "this is a private key, not a certificate (are the two paths swapped?)",
    "der-certificate": "this is a binary DER certificate; the server expects PEM text",
    "pkcs7": "this is a PKCS#7 bundle (.p7b); the server expects a PEM certificate",
    "empty": "the certificate file is empty",
}

_KEY_SLOT: dict[str, str | None] = {
    "private-key": None,
    "certificate": "this is a certificate, not a private key (are the two paths swapped?)",
    "encrypted-private-key": "this key is protected by a passphrase; the server cannot load it",
    "der-private-key": "this is a binary DER private key; the server expects PEM text",
    "csr": "this is a certificate signing request (CSR), not a private key",
    "empty": "the key file is empty",
}


def _sniff_pem_certificates(data: bytes, contains_key: bool, junk: bool) -> Sniffed:
    start = data.index(b"-----BEGIN CERTIFICATE-----")
    try:
        certs = x509.load_pem_x509_certificates(data[start:])
    except ValueError:
        return Sniffed("garbage", "a damaged certificate (the PEM text does not parse)")

    count = len(certs)
    if _is_ca(certs[0]):
        if any(not _is_ca(cert) for cert in certs[1:]):
            return Sniffed("ca-first-bundle", "a bundle whose first certificate is the CA",
                           count, contains_key, junk)
        return Sniffed("ca-certificate", _ca_description(certs[0]), count, contains_key, junk)

    names = _dns_names(certs[0])
    what = f"a certificate for {', '.join(names)}" if names else "a certificate without names"
    if count > 1:
        what += f" (with {count - 1} more in the bundle)"
    return Sniffed("certificate", what, count, contains_key, junk)


def _sniff_binary(data: bytes) -> Sniffed:
    try:
        x509.load_der_x509_certificate(data)
        return Sniffed("der-certificate", "a binary (DER) certificate", certificates=1)
    except ValueError:
        pass
    try:
        found = pkcs7.load_der_pkcs7_certificates(data)
        return Sniffed("pkcs7", "a binary PKCS#7 bundle (.p7b)", certificates=len(found))
    except ValueError:
        pass
    try:
        serialization.load_der_private_key(data, password=None)
        return Sniffed("der-private-key", "a binary (DER) private key", contains_key=True)
    except (ValueError, TypeError):
        pass
    return Sniffed("garbage", "neither a certificate nor a key (no PEM block, not DER)")


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        ext = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return bool(ext.value.ca)


def _ca_description(cert: x509.Certificate) -> str:
    units = cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME)
    if any(_ORIGIN_CA_OU in str(unit.value) for unit in units):
        return "the Cloudflare Origin CA root certificate"
    return f"a CA certificate ({cert.subject.rfc4514_string()})"


def _dns_names(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return ext.value.get_values_for_type(x509.DNSName)
