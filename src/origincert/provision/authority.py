"""Where a certificate comes from: Cloudflare's Origin CA, or an ACME CA.

Both follow the same order, the one that makes sure nothing is lost: the key
is generated here and saved (0600) first, the certificate is recorded as
"requested" before the CA is asked, checked when it arrives (our key, our
names, the right root), saved beside its key, and recorded as "issued".
Installing it is the caller's transaction, the same for both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from origincert.errors import OriginCertError, VerificationError
from origincert.pki import certificate as certs
from origincert.pki.csr import build_csr, csr_to_pem, request_type_for
from origincert.pki.keys import PrivateKey, generate_key
from origincert.provision.trust import trusted_roots
from origincert.state.certstore import CertStore
from origincert.state.db import Store
from origincert.state.models import Certificate

if TYPE_CHECKING:
    from origincert.provision.issue import IssueOptions
    from origincert.provision.resolve import Reach

ORIGIN = "origin"
LETSENCRYPT = "letsencrypt"
AUTO = "auto"
CHOICES = (ORIGIN, LETSENCRYPT, AUTO)
ACME_VALIDITY_DAYS = 90  # what ACME CAs issue; recorded, not requested


@dataclass
class Request:
    """One certificate to obtain: for which lineage and names, through which account."""

    lineage: str
    names: list[str]
    reach: Reach
    options: IssueOptions


class Authority:
    """The shared order of steps; subclasses only say how the CA is asked."""

    label = ""

    def __init__(self, store: Store, progress: Callable[[str], None]) -> None:
        self.store = store
        self.certstore = CertStore(store.paths)
        self.progress = progress

    def obtain(self, request: Request) -> Certificate:
        key = generate_key(request.options.key_type)
        version, key_path = self.certstore.save_key(request.lineage, key)
        self.progress(f"generated an {request.options.key_type.upper()} key on this machine "
                      f"(version {version} of {request.lineage})")
        cert_id = self.store.record_certificate(
            lineage=request.lineage, hostnames=request.names,
            key_type=request.options.key_type, request_type=self.request_type(key),
            validity_days=self.validity(request), version=version, key_path=str(key_path),
            account_id=request.reach.account.id, zone_ids=request.reach.zone_ids(),
        )
        try:
            pem, cf_id = self.ask(request, key)
            self._check(pem, key, request)
        except OriginCertError:
            self.store.update_certificate(cert_id, status="unused")
            raise

        cert_path = self.certstore.save_certificate(request.lineage, version, pem)
        info = certs.describe(certs.load_certificate(pem))
        self.progress(f"{self.label} issued certificate {cf_id or info.serial_hex}, valid "
                      f"until {info.not_after:%Y-%m-%d}")
        return self.store.update_certificate(
            cert_id, status="issued", cf_id=cf_id, not_before=info.not_before,
            not_after=info.not_after, serial_hex=info.serial_hex,
            fingerprint_sha256=info.fingerprint_sha256, cert_path=str(cert_path),
        )

    def request_type(self, key: PrivateKey) -> str:
        raise NotImplementedError

    def validity(self, request: Request) -> int:
        raise NotImplementedError

    def ask(self, request: Request, key: PrivateKey) -> tuple[bytes, str | None]:
        """The certificate PEM (leaf first) and the CA's id for it."""
        raise NotImplementedError

    def check_chain(self, leaf: object, request: Request) -> str | None:
        return None

    def _check(self, pem: bytes, key: PrivateKey, request: Request) -> None:
        """Refuse anything but our key's certificate, for exactly our names."""
        try:
            leaf = certs.load_certificate(pem)
        except OriginCertError as err:
            raise VerificationError(f"the CA returned no readable certificate: {err.message}",
                                    hint="nothing was installed; try again") from err
        problem = None
        if not certs.matches_key(leaf, key):
            problem = "the certificate does not belong to the key made for it"
        elif sorted(certs.sans(leaf)) != sorted(request.names):
            problem = f"the certificate names {certs.sans(leaf)}, not {request.names}"
        else:
            problem = self.check_chain(leaf, request)
        if problem:
            raise VerificationError(problem, hint="nothing was installed; try again")


class OriginCA(Authority):
    label = "Cloudflare"

    def request_type(self, key: PrivateKey) -> str:
        return request_type_for(key)

    def validity(self, request: Request) -> int:
        return request.options.validity_days

    def ask(self, request: Request, key: PrivateKey) -> tuple[bytes, str | None]:
        issued = request.reach.client.create_origin_certificate(
            csr_to_pem(build_csr(key, request.names)), request.names, request_type_for(key),
            request.options.validity_days, zone=",".join(request.reach.zone_names()),
        )
        return (issued.pem or "").encode(), issued.id

    def check_chain(self, leaf: object, request: Request) -> str | None:
        roots = trusted_roots(self.store, request.reach.account.name)
        if not certs.chains_to(leaf, roots):  # type: ignore[arg-type]
            return "the certificate does not chain to a Cloudflare Origin CA root"
        return None


class Acme(Authority):
    """An ACME CA through DNS-01, the TXT records made with the same Cloudflare account."""

    label = "the ACME CA"

    def request_type(self, key: PrivateKey) -> str:
        from origincert.acme import REQUEST_TYPE

        return REQUEST_TYPE

    def validity(self, request: Request) -> int:
        return ACME_VALIDITY_DAYS

    def ask(self, request: Request, key: PrivateKey) -> tuple[bytes, str | None]:
        from origincert.acme import account_key_path, directory_url, obtain

        options = request.options
        directory = directory_url(options.acme_directory)
        result = obtain(
            request.reach.client, request.reach.zones, request.names, key,
            directory=directory,
            account_key_path=account_key_path(self.store.paths.state_dir, directory),
            ca_bundle=options.acme_ca_bundle, dns_resolver=options.acme_dns,
            email=options.acme_email, progress=self.progress,
        )
        for note in result.notes:
            self.progress(f"warning: {note}")
        return result.fullchain_pem, None


def for_choice(choice: str, store: Store, progress: Callable[[str], None]) -> Authority:
    return Acme(store, progress) if choice == LETSENCRYPT else OriginCA(store, progress)


def choose(request_ca: str, names: list[str], reach: Reach) -> str:
    """``--ca auto``: ACME for names not proxied (or that cannot be), Origin CA otherwise.

    One certificate never mixes the two: names that need different CAs are refused.
    """
    if request_ca != AUTO:
        return request_ca
    from origincert.acme.choice import record_proxied_for, recommend_ca
    from origincert.errors import UsageError

    records = {zone.id: reach.client.dns_records(zone.id)
               for zone in {z.id: z for z in reach.zones.values()}.values()}
    picks = {name: recommend_ca(name, record_proxied_for(name, records[reach.zones[name].id]))
             for name in names}
    kinds = set(picks.values())
    if len(kinds) > 1:
        split = "; ".join(f"{n}: {'Origin CA' if c == ORIGIN else 'ACME'}"
                          for n, c in picks.items())
        raise UsageError(f"these names need different certificates ({split})",
                         hint="issue the proxied and the direct names separately")
    return kinds.pop()
