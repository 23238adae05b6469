"""Revocation: one certificate by hand, and the ones renewals replaced, after a grace period.

Revoking a certificate a site still serves makes Cloudflare answer 526 to every
visitor of that site under Full (strict), so it is refused unless forced. A
renewal's predecessor is queued (``pending_revocations``) and revoked by a later
run once ``revoke_after_days`` have passed, and only when its successor is
verified in service by real handshakes and no site serves the old one any more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from origincert.accounts.connect import client_for
from origincert.errors import CloudflareAPIError, OriginCertError, UsageError
from origincert.inventory.certificates import Entry, Inventory
from origincert.lifecycle import records
from origincert.lifecycle.clock import Clock
from origincert.lifecycle.notify import ERROR, INFO, Notifier
from origincert.pki import certificate as certs
from origincert.provision.verify import Check, wait_until_served
from origincert.state.db import Store
from origincert.state.models import Certificate
from origincert.webserver.base import WebServer

log = logging.getLogger(__name__)


class ServedError(OriginCertError):
    """The certificate to revoke is still served: revoking it would cause 526."""


@dataclass
class Revoked:
    cloudflare_id: str
    local_id: int | None
    revoked_at: str
    hostnames: list[str]

    def to_json(self) -> dict[str, object]:
        return dict(vars(self))


def find(inventory: Inventory, ref: str) -> Entry:
    """A certificate by local id (digits, at most 9) or Cloudflare id."""
    ref = ref.strip()
    entry = None
    if ref.isdigit() and len(ref) <= 9:
        entry = inventory.find(local_id=int(ref))
    entry = entry or inventory.find(cf_id=ref)
    if entry is None:
        raise UsageError(f"no certificate {ref} in the state or at Cloudflare",
                         hint="see the ids with: origincert certs")
    return entry


def revoke(store: Store, entry: Entry, *, force: bool = False, clock: Clock) -> Revoked:
    """Revoke ``entry`` at Cloudflare and record it; a served one only with ``force``."""
    if entry.ca != "origin" or not entry.cloudflare_id:
        raise UsageError("this certificate is not a Cloudflare Origin CA certificate",
                         hint="an ACME certificate is revoked through its CA; "
                              "origincert only removes it from use")
    if entry.served and not force:
        sites = ", ".join(sorted({use.site for use in entry.uses}))
        raise ServedError(
            f"certificate {entry.cloudflare_id} is served by {sites}: revoking it makes "
            "Cloudflare answer 526 (invalid SSL certificate) to every visitor under "
            "Full (strict)",
            hint="renew the site first (origincert renew --site SITE --rotate-key), "
                 "or pass --force to revoke anyway")
    if entry.cloudflare == "revoked":
        revoked_at = entry.revoked_at.isoformat() if entry.revoked_at else ""
    else:
        revoked_at = _revoke_remote(store, entry)
    if entry.id is not None:
        store.update_certificate(entry.id, status="revoked",
                                 revoked_at=_parse(revoked_at) or clock())
    log.info("certificate revoked", extra={"cert_id": entry.cloudflare_id,
                                           "forced": force and entry.served})
    return Revoked(entry.cloudflare_id, entry.id, revoked_at, list(entry.hostnames))


def _revoke_remote(store: Store, entry: Entry) -> str:
    """DELETE at Cloudflare through the account that holds the certificate."""
    accounts = store.list_accounts()
    ordered = sorted(accounts, key=lambda a: a.name != entry.account)
    last: OriginCertError | None = None
    for account in ordered:
        client = client_for(store, account)
        try:
            return client.revoke_origin_certificate(str(entry.cloudflare_id))
        except CloudflareAPIError as err:
            last = err
            if err.status not in (401, 403, 404):
                raise
        finally:
            client.close()
    if last is not None:
        raise last
    raise UsageError("no connected account to revoke it with",
                     hint="connect the account first: origincert account add NAME")


def _parse(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


# automatic revocation of what renewals replaced

def process_pending(store: Store, server: WebServer, inventory: Inventory, *, clock: Clock,
                    notifier: Notifier, dry_run: bool = False) -> list[dict[str, object]]:
    """Revoke every queued certificate whose grace period is over and whose successor serves."""
    done: list[dict[str, object]] = []
    now = clock()
    for pending in records.pending_revocations(store):
        old = store.get_certificate(pending.certificate_id)
        entry = inventory.find(local_id=pending.certificate_id)
        if old is None or entry is None or old.status == "revoked":
            if not dry_run:
                records.finish_revocation(store, pending.id, at=now)
            continue
        due = pending.due_at
        report: dict[str, object] = {"id": old.id, "cloudflare_id": old.cf_id,
                                     "hostnames": list(old.hostnames), "due_at": due}
        if due > now:
            done.append(report | {"result": "waiting"})
            continue
        why_not = _not_yet(store, server, entry, pending.replaced_by)
        if why_not:
            done.append(report | {"result": "waiting", "reason": why_not})
            continue
        if dry_run:
            done.append(report | {"result": "would revoke"})
            continue
        done.append(report | _revoke_pending(store, entry, pending.id, clock, notifier))
    return done


def _revoke_pending(store: Store, entry: Entry, pending_id: int, clock: Clock,
                    notifier: Notifier) -> dict[str, object]:
    try:
        revoked = revoke(store, entry, clock=clock)
    except OriginCertError as err:
        records.finish_revocation(store, pending_id, at=None, error=err.one_line())
        notifier.notify("revocation_failed", ERROR,
                        f"revoking replaced certificate {entry.cloudflare_id} failed: "
                        f"{err.one_line()}", subject=entry.cloudflare_id,
                        cloudflare_id=entry.cloudflare_id, hostnames=entry.hostnames)
        return {"result": "failed", "error": err.one_line()}
    records.finish_revocation(store, pending_id, at=clock())
    notifier.notify("revoked", INFO, f"revoked replaced certificate {entry.cloudflare_id} "
                    f"({', '.join(entry.hostnames)})", subject=entry.cloudflare_id,
                    cloudflare_id=entry.cloudflare_id, hostnames=entry.hostnames)
    return {"result": "revoked", "revoked_at": revoked.revoked_at}


def _not_yet(store: Store, server: WebServer, old: Entry, successor_id: int | None) -> str:
    """Why the old certificate may not be revoked yet; "" when it may."""
    if old.served:
        return "still served by " + ", ".join(sorted({u.site for u in old.uses}))
    successor = store.get_certificate(successor_id) if successor_id else None
    if successor is None or successor.status != "installed":
        return "its successor is not installed"
    if not verified_in_service(server, successor):
        return "its successor is not verified in service"
    return ""


def verified_in_service(server: WebServer, cert: Certificate, *, timeout: float = 5.0) -> bool:
    """True when every site configured with ``cert`` presents it, by real handshakes."""
    try:
        leaf = certs.load_certificate(Path(str(cert.cert_path)).read_bytes())
    except (OSError, OriginCertError):
        return False
    from cryptography.hazmat.primitives.serialization import Encoding

    der = leaf.public_bytes(Encoding.DER)
    fingerprint = certs.fingerprint_sha256(leaf)
    checks = []
    for site in server.sites():
        if site.certificate is None or _fingerprint(site.certificate) != fingerprint:
            continue
        checks += [Check(name, endpoint, der) for name in cert.hostnames
                   if name in site.hostnames for endpoint in server.endpoints(site)]
    if not checks:
        return False
    return all(result.ok for result in wait_until_served(checks, timeout=timeout))


def _fingerprint(path: object) -> str | None:
    try:
        return certs.fingerprint_sha256(certs.load_certificate(Path(str(path)).read_bytes()))
    except (OSError, OriginCertError):
        return None
