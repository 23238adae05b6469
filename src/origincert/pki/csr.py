"""Certificate signing requests for Cloudflare's Origin CA.

The SANs are exactly the requested hostnames, in order. Cloudflare replaces
the subject with its own (cloudflare-api.md §1.5), so the CN is only a
courtesy for humans reading the CSR: the first hostname when it fits.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from origincert import hostnames as hostname_rules
from origincert.errors import HostnameError
from origincert.pki.keys import PrivateKey, key_type_of

MAX_SANS = 200
_CN_MAX = 64  # X.520 upper bound for commonName

REQUEST_TYPES = {"ecdsa": "origin-ecc", "rsa": "origin-rsa"}


def request_type_for(key: PrivateKey) -> str:
    """The Origin CA ``request_type`` that matches the key: origin-ecc or origin-rsa."""
    return REQUEST_TYPES[key_type_of(key)]


def build_csr(key: PrivateKey, hostnames: Sequence[str]) -> x509.CertificateSigningRequest:
    """A CSR signed by ``key`` whose SANs are the (validated) hostnames."""
    names = _checked_names(hostnames)

    subject = x509.Name([])
    if len(names[0]) <= _CN_MAX:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])

    sans = x509.SubjectAlternativeName([x509.DNSName(name) for name in names])
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    builder = builder.add_extension(sans, critical=False)
    return builder.sign(key, hashes.SHA256())


def csr_to_pem(csr: x509.CertificateSigningRequest) -> str:
    """PEM text with real newlines, as the API's ``csr`` field expects."""
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def csr_hostnames(csr: x509.CertificateSigningRequest) -> list[str]:
    """The DNS SANs of a CSR, in order."""
    try:
        ext = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return ext.value.get_values_for_type(x509.DNSName)


def _checked_names(hostnames: Sequence[str]) -> list[str]:
    if isinstance(hostnames, str):
        raise TypeError("hostnames must be a sequence of names, not one string")

    names: list[str] = []
    for raw in hostnames:
        name = hostname_rules.validate(raw)
        if name not in names:
            names.append(name)

    if not names:
        raise HostnameError("no hostnames given", hint="name at least one hostname")
    if len(names) > MAX_SANS:
        raise HostnameError(
            f"{len(names)} hostnames is more than one certificate can hold",
            hint=f"Origin CA allows at most {MAX_SANS} per certificate; split them",
        )
    return names
