"""Shared constants and helpers of the sandbox tests (names from agency.json)."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

AGENCY = "a1f0c0de000000000000000000000001"
CLIENT_CO = "a1f0c0de000000000000000000000002"
ZONE_COM = "20e0c0de000000000000000000000001"
ZONE_ORG = "20e0c0de000000000000000000000002"
ZONE_NET = "20e0c0de000000000000000000000003"
ZONE_IO = "20e0c0de000000000000000000000004"
ZONE_PENDING = "20e0c0de000000000000000000000005"

TOKENS = {
    "full": "sandbox-token-full-access-00000000000001",
    "minimal": "sandbox-token-dns-and-ssl-edit-000000002",
    "no_ssl": "sandbox-token-no-ssl-permission-00000003",
    "com_only": "sandbox-token-example-com-only-000000004",
    "read_only": "sandbox-token-read-only-0000000000000005",
    "expired": "sandbox-token-expired-000000000000000006",
    "disabled": "sandbox-token-disabled-00000000000000007",
    "client_co": "sandbox-token-client-co-0000000000000008",
}
OWNER = ("owner@example.com", "0123456789abcdef0123456789abcdef01234")
OPS = ("ops@example.io", "fedcba9876543210fedcba9876543210fedcb")


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


_KEYS: dict[str, object] = {}


def private_key(kind: str = "rsa"):
    if kind not in _KEYS:
        _KEYS[kind] = (rsa.generate_private_key(public_exponent=65537, key_size=2048)
                       if kind == "rsa" else ec.generate_private_key(ec.SECP256R1()))
    return _KEYS[kind]


def make_csr(names: list[str], kind: str = "rsa") -> str:
    key = private_key(kind)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")
