"""The edge's certificates and TLS contexts.

Two sandbox CAs live in the state folder beside the Origin CA roots (keys 0600), so that
visitors and origins configured once keep trusting them after a restart:

- the edge CA signs one certificate per zone for the apex and one level below it
  (`example.com`, `*.example.com`), like the free Universal SSL certificate;
- the origin pull CA signs the client certificate the edge shows origins when a zone has
  Authenticated Origin Pulls on (`tls_client_auth`), like Cloudflare's shared
  `origin-pull.cloudflare.net` CA (fact sheet §8, §10.3).

Towards origins, Full (strict) trusts the sandbox Origin CA roots, Cloudflare's real Origin
CA roots and the system's public roots. Certificate dates are checked against the sandbox
clock (see `origin.py`), not by OpenSSL, so that tests can move time.
"""

from __future__ import annotations

import ssl
import tempfile
import threading
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..ca import SandboxCAError, write_atomic

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME: dates are checked against the sandbox clock instead.
_NO_CHECK_TIME = 0x200000
_ROOT_NOT_BEFORE = datetime(2019, 1, 1, tzinfo=timezone.utc)
_ROOT_NOT_AFTER = datetime(2049, 12, 31, 23, 59, tzinfo=timezone.utc)

_EDGE_ROOT = x509.Name([
    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "origincert sandbox"),
    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Sandbox Edge Certificate Authority"),
    x509.NameAttribute(NameOID.COMMON_NAME, "origincert sandbox edge CA"),
])
_PULL_ROOT = x509.Name([
    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "origincert sandbox"),
    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Origin Pull"),
    x509.NameAttribute(NameOID.COMMON_NAME, "origin-pull.sandbox.invalid"),
])
_PULL_CLIENT = x509.Name([
    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "origincert sandbox"),
    x509.NameAttribute(NameOID.COMMON_NAME, "origin-pull client (sandbox edge)"),
])


class _Authority:
    """A persisted ECDSA root that signs leaves."""

    def __init__(self, state_dir: Path, stem: str, subject: x509.Name) -> None:
        key_path, cert_path = state_dir / f"{stem}.key", state_dir / f"{stem}.pem"
        if key_path.exists() and cert_path.exists():
            try:
                self.key = serialization.load_pem_private_key(key_path.read_bytes(), None)
                self.cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            except (OSError, ValueError) as err:
                raise SandboxCAError(f"{key_path}: cannot load the sandbox {stem}: {err}") from err
            return

        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = _root(subject, self.key)
        write_atomic(key_path, _key_pem(self.key), 0o600)
        write_atomic(cert_path, self.pem().encode("ascii"), 0o644)

    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def issue(self, subject: x509.Name, hostnames: list[str], usage) -> tuple[bytes, bytes]:
        """A fresh key and a leaf signed by this root: (chain PEM, key PEM)."""
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            # as wide as the root: tests move the sandbox clock, visitors use real time
            .not_valid_before(_ROOT_NOT_BEFORE)
            .not_valid_after(_ROOT_NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.key.public_key()), critical=False)
        )
        if hostnames:
            names = x509.SubjectAlternativeName([x509.DNSName(h) for h in hostnames])
            builder = builder.add_extension(names, critical=False)
        leaf = builder.sign(self.key, hashes.SHA256())
        chain = leaf.public_bytes(serialization.Encoding.PEM) + self.pem().encode("ascii")
        return chain, _key_pem(key)


class EdgeCertificates:
    """The edge CA, the origin pull CA, and the TLS contexts built from them."""

    def __init__(self, state_dir: Path, origin_ca_pems: list[str]) -> None:
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        self.edge_ca = _Authority(state_dir, "edge-root", _EDGE_ROOT)
        self.origin_pull_ca = _Authority(state_dir, "origin-pull-root", _PULL_ROOT)
        self._origin_ca_pems = list(origin_ca_pems)
        self._zone_contexts: dict[str, ssl.SSLContext] = {}
        self._origin_contexts: dict[tuple[bool, bool], ssl.SSLContext] = {}
        self._client_pair: tuple[bytes, bytes] | None = None
        self._lock = threading.Lock()

    def edge_ca_pem(self) -> str:
        return self.edge_ca.pem()

    def origin_pull_ca_pem(self) -> str:
        return self.origin_pull_ca.pem()

    # --- visitor side ----------------------------------------------------------------------

    def zone_context(self, zone_name: str) -> ssl.SSLContext:
        """The server context holding the zone's edge certificate (apex + one level)."""
        with self._lock:
            context = self._zone_contexts.get(zone_name)
            if context is None:
                subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, zone_name)])
                chain, key = self.edge_ca.issue(subject, [zone_name, f"*.{zone_name}"],
                                                ExtendedKeyUsageOID.SERVER_AUTH)
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                _load_pair(context, chain, key)
                self._zone_contexts[zone_name] = context
            return context

    # --- origin side -----------------------------------------------------------------------

    def origin_context(self, validate: bool, client_certificate: bool) -> ssl.SSLContext:
        """The client context towards an origin: Full (`validate=False`) or Full (strict);
        with the origin pull client certificate when `client_certificate`."""
        with self._lock:
            key = (validate, client_certificate)
            if key not in self._origin_contexts:
                self._origin_contexts[key] = self._new_origin_context(validate,
                                                                      client_certificate)
            return self._origin_contexts[key]

    def _new_origin_context(self, validate: bool, client_certificate: bool) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if validate:
            context.load_default_certs()
            context.load_verify_locations(cadata=self._trusted_origin_roots())
            context.verify_flags |= _NO_CHECK_TIME
        else:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if client_certificate:
            if self._client_pair is None:
                self._client_pair = self.origin_pull_ca.issue(
                    _PULL_CLIENT, [], ExtendedKeyUsageOID.CLIENT_AUTH)
            _load_pair(context, *self._client_pair)
        return context

    def _trusted_origin_roots(self) -> str:
        text = resources.files(__package__).joinpath("cloudflare_origin_ca.pem").read_text()
        real = [c.public_bytes(serialization.Encoding.PEM).decode("ascii")
                for c in x509.load_pem_x509_certificates(text.encode("ascii"))]
        return "".join(self._origin_ca_pems + real)


def _load_pair(context: ssl.SSLContext, chain: bytes, key: bytes) -> None:
    # OpenSSL loads pairs from files only: a private folder, removed straight away.
    with tempfile.TemporaryDirectory(prefix="origincert-edge-") as folder:
        cert_path, key_path = Path(folder) / "chain.pem", Path(folder) / "key.pem"
        write_atomic(cert_path, chain, 0o600)
        write_atomic(key_path, key, 0o600)
        context.load_cert_chain(cert_path, key_path)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _root(subject: x509.Name, key) -> x509.Certificate:
    usage = x509.KeyUsage(
        digital_signature=False, key_encipherment=False, content_commitment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False,
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_ROOT_NOT_BEFORE)
        .not_valid_after(_ROOT_NOT_AFTER)
        .add_extension(usage, critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
