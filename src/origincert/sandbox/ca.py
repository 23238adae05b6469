"""The sandbox's own Origin CA: an RSA and an ECC root, and leaf signing shaped like §10.4.

The roots live in a state folder (keys 0600) so that certificates issued by one run of
the sandbox still chain after a restart. Their subjects say "sandbox" so that nobody can
mistake them for Cloudflare's.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Wide on purpose: tests move the sandbox clock years back and forth, and leaves must
# still chain. (Cloudflare's real roots run 2019-08-23 to 2029-08-15.)
_ROOT_NOT_BEFORE = datetime(2019, 1, 1, tzinfo=timezone.utc)
_ROOT_NOT_AFTER = datetime(2049, 12, 31, 23, 59, tzinfo=timezone.utc)

# Kept identical to real leaves (§10.4), so clients see the same extension values.
_OCSP_URL = "http://ocsp.cloudflare.com/origin_ca"
_CRL_URL = "http://crl.cloudflare.com/origin_ca.crl"

_LEAF_SUBJECT = x509.Name([
    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CloudFlare, Inc."),
    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "CloudFlare Origin CA"),
    x509.NameAttribute(NameOID.COMMON_NAME, "CloudFlare Origin Certificate"),
])

_ROOT_SUBJECTS = {
    "rsa": x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "origincert sandbox"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME,
                           "Sandbox Origin SSL Certificate Authority"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Sandbox"),
    ]),
    "ecc": x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "origincert sandbox"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME,
                           "Sandbox Origin SSL ECC Certificate Authority"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Sandbox"),
    ]),
}


class SandboxCAError(RuntimeError):
    """The state folder holds root files that cannot be read."""


@dataclass
class Root:
    kind: str  # "rsa" or "ecc"
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


@dataclass
class Issued:
    serial: int
    pem: str
    not_after: datetime


class SandboxCA:
    """Loads the roots from `state_dir`, creating them the first time."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.roots = {kind: self._load_or_create(kind) for kind in ("rsa", "ecc")}

    def root_pems(self) -> dict[str, str]:
        return {kind: root.pem() for kind, root in self.roots.items()}

    def sign(self, csr: x509.CertificateSigningRequest, hostnames: list[str], kind: str,
             validity_days: int, now: datetime) -> Issued:
        """A leaf for the CSR's key with exactly `hostnames`, signed by the `kind` root."""
        root = self.roots[kind]
        not_before = now.astimezone(timezone.utc).replace(second=0, microsecond=0)
        not_after = not_before + timedelta(days=validity_days)
        # 159 random bits with the top one set: always 20 bytes once DER-encoded.
        serial = secrets.randbits(159) | (1 << 158)

        builder = (
            x509.CertificateBuilder()
            .subject_name(_LEAF_SUBJECT)
            .issuer_name(root.certificate.subject)
            .public_key(csr.public_key())
            .serial_number(serial)
            .not_valid_before(not_before)
            .not_valid_after(not_after)
        )
        builder = _leaf_extensions(builder, csr, root, hostnames)
        leaf = builder.sign(root.key, hashes.SHA256())
        pem = leaf.public_bytes(serialization.Encoding.PEM).decode("ascii")
        return Issued(serial=serial, pem=pem, not_after=not_after)

    def _load_or_create(self, kind: str) -> Root:
        key_path = self.state_dir / f"{kind}-root.key"
        cert_path = self.state_dir / f"{kind}-root.pem"
        if key_path.exists() and cert_path.exists():
            try:
                key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
                cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            except (OSError, ValueError) as err:
                problem = f"{key_path}: cannot load the sandbox {kind} root: {err}"
                raise SandboxCAError(problem) from err
            return Root(kind, key, cert)

        root = _new_root(kind)
        key_bytes = root.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_atomic(key_path, key_bytes, 0o600)
        write_atomic(cert_path, root.pem().encode("ascii"), 0o644)
        return root


def _leaf_extensions(builder: x509.CertificateBuilder, csr: x509.CertificateSigningRequest,
                     root: Root, hostnames: list[str]) -> x509.CertificateBuilder:
    """The extensions of a real Origin CA leaf, in the same order (§10.4)."""
    usage = x509.KeyUsage(
        digital_signature=True, key_encipherment=True, content_commitment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False,
    )
    root_ski = root.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    return (
        builder
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH,
                                              ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            root_ski.value), critical=False)
        .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            x509.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(_OCSP_URL),
        )]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hostnames]),
                       critical=False)
        .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(_CRL_URL)], relative_name=None,
            reasons=None, crl_issuer=None,
        )]), critical=False)
    )


def _new_root(kind: str) -> Root:
    if kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP256R1())

    subject = _ROOT_SUBJECTS[kind]
    usage = x509.KeyUsage(
        digital_signature=False, key_encipherment=False, content_commitment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False,
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_ROOT_NOT_BEFORE)
        .not_valid_after(_ROOT_NOT_AFTER)
        .add_extension(usage, critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=2), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return Root(kind, key, cert)


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Temporary file in the same folder, mode set at creation, fsync, rename, fsync folder.

    The product's own atomic writer is not imported: the sandbox stands apart from it.
    """
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise

    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
