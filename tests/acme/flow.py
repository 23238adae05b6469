"""Issue through ACME and install through the product's transaction, as `issue --ca
letsencrypt` will: key saved first, certificate recorded as "acme" before the ACME CA
is asked, then the same Transaction as for Origin CA certificates (pointer flip, file
changes, config test, reload, verification by handshake), undone on any failure.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from origincert.acme import REQUEST_TYPE, AcmeResult, obtain
from origincert.cloudflare.client import CloudflareClient, Zone
from origincert.errors import OriginCertError
from origincert.pki.keys import generate_key
from origincert.provision.transaction import Pointer, Transaction
from origincert.provision.verify import Check
from origincert.state.certstore import CertStore, lineage_name
from origincert.state.db import Store
from origincert.state.models import Certificate
from origincert.webserver.base import CertFiles, Site, WebServer


@dataclass
class AcmeSetup:
    """Where the ACME CA is and how to reach it: Pebble's directory, its TLS CA and the
    sandbox's nameserver."""

    directory: str
    ca_bundle: str
    dns_resolver: tuple[str, int]
    account_key_path: Path


@dataclass
class AcmeInstaller:
    store: Store
    server: WebServer
    client: CloudflareClient
    zones: dict[str, Zone]
    acme: AcmeSetup
    lines: list[str] = field(default_factory=list)

    @property
    def certstore(self) -> CertStore:
        return CertStore(self.store.paths)

    def issue(self, site: Site, names: list[str], **obtain_options) -> Certificate:
        lineage = lineage_name(names[0])
        key = generate_key("ecdsa")
        version, key_path = self.certstore.save_key(lineage, key)
        cert_id = self.store.record_certificate(
            lineage=lineage, hostnames=names, key_type="ecdsa", request_type=REQUEST_TYPE,
            validity_days=90, version=version, key_path=str(key_path),
            zone_ids=sorted({z.id for z in self.zones.values()}),
        )
        try:
            result = obtain(self.client, self.zones, names, key, directory=self.acme.directory,
                            account_key_path=self.acme.account_key_path,
                            ca_bundle=self.acme.ca_bundle, dns_resolver=self.acme.dns_resolver,
                            progress=self.lines.append, **obtain_options)
        except OriginCertError:
            self.store.update_certificate(cert_id, status="unused")
            raise

        cert = self._record_issued(cert_id, lineage, version, result)
        self._install(site, cert, names)
        return self.store.get_certificate(cert.id)

    def _record_issued(self, cert_id: int, lineage: str, version: int,
                       result: AcmeResult) -> Certificate:
        cert_path = self.certstore.save_certificate(lineage, version, result.fullchain_pem)
        return self.store.update_certificate(
            cert_id, status="issued", cf_id=None, not_before=result.not_before,
            not_after=result.not_after, serial_hex=result.serial_hex,
            fingerprint_sha256=result.fingerprint_sha256, cert_path=str(cert_path),
        )

    def _install(self, site: Site, cert: Certificate, names: list[str]) -> None:
        lineage = cert.lineage
        live_cert, live_key = self.certstore.live_paths(lineage)
        plan = self.server.plan_install(site, CertFiles(live_cert, live_key), lineage=lineage)
        pointer = Pointer(lineage, self.certstore.current_version(lineage), cert.version)
        expected = leaf_der(Path(str(cert.cert_path)))

        def checks() -> list[Check]:
            fresh = next(s for s in self.server.sites() if s.source == site.source
                         and set(names) <= set(s.hostnames))
            return [Check(name, endpoint, expected)
                    for name in names for endpoint in self.server.endpoints(fresh)]

        transaction = Transaction(self.server, self.store, self.certstore, verify_timeout=10)
        try:
            transaction.apply("issue", plan.changes, pointer, checks, progress=self.lines.append)
        except BaseException:
            self.store.update_certificate(cert.id, status="unused")
            raise
        for old in self.store.certificates(lineage=lineage, status="installed"):
            self.store.update_certificate(old.id, status="superseded", replaced_by=cert.id)
        self.store.update_certificate(cert.id, status="installed")


def leaf_der(cert_file: Path) -> bytes:
    return x509.load_pem_x509_certificates(cert_file.read_bytes())[0].public_bytes(Encoding.DER)


def verified_handshake(host: str, port: int, sni: str, root_pem: str) -> x509.Certificate:
    """A real handshake that verifies the served chain up to ``root_pem`` and the name."""
    context = ssl.create_default_context(cadata=root_pem)
    with socket.create_connection((host, port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=sni) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
