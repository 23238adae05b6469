"""The reconciled inventory: what origincert issued, what Cloudflare lists, what servers serve.

Three sources, one row per certificate (matched by SHA-256 fingerprint, and by
Cloudflare id between the state and Cloudflare):

- the state: every certificate origincert recorded, whatever became of it;
- Cloudflare: every Origin CA certificate listed for the zones of every
  connected account (revoked ones leave that list, so each recorded
  certificate missing from it is asked for by id, which shows ``revoked_at``);
- the web server: every certificate file a site's configuration names.

Each row gets one ``state``:

    served               a site's configuration names it
    revoked_but_served   served, but revoked at Cloudflare: a 526 under Full (strict)
    orphaned             issued and still valid, but no site serves it (never, or no longer)
    superseded           replaced by a newer certificate of the same lineage, not served
    revoked              revoked, not served
    expired              past its expiry, not served
    unused               never issued (a request that failed); only with ``all``

and the flags ``expiring`` (within ``expiring_days``) and ``expired``.

The JSON shape of a row (``Entry.to_json``) is stable: keys are only added, never
renamed or removed. Times are ISO 8601 in UTC.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509

from origincert.accounts.connect import client_for
from origincert.cloudflare.client import OriginCertificate
from origincert.errors import CloudflareAPIError, OriginCertError
from origincert.pki import certificate as certs
from origincert.provision.trust import all_trusted_roots
from origincert.state.db import Store
from origincert.state.models import Certificate
from origincert.webserver.base import WebServer

log = logging.getLogger(__name__)

STATES = ("served", "revoked_but_served", "orphaned", "superseded", "revoked", "expired",
          "unused")
ACME_REQUEST_TYPE = "acme"
_KEY_TYPES = {"origin-ecc": "ecdsa", "origin-rsa": "rsa"}


@dataclass
class Use:
    """One site that serves a certificate."""

    site: str
    webserver: str
    certificate_file: str
    config_files: list[str]


@dataclass
class Entry:
    id: int | None = None                 # origincert's local id
    cloudflare_id: str | None = None
    lineage: str | None = None
    ca: str = "origin"                    # "origin", "acme" or "other"
    hostnames: list[str] = field(default_factory=list)   # the SANs, never the CN
    key_type: str | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None
    status: str | None = None             # origincert's record, None if it never had one
    cloudflare: str | None = None         # "active", "revoked", "absent", "unknown", None
    revoked_at: datetime | None = None
    account: str | None = None
    certificate_file: str | None = None
    fingerprint_sha256: str | None = None
    replaced_by: int | None = None
    uses: list[Use] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)     # "state", "cloudflare", "server"
    notes: list[str] = field(default_factory=list)
    state: str = "orphaned"
    expiring: bool = False
    expired: bool = False

    @property
    def served(self) -> bool:
        return bool(self.uses)

    @property
    def revoked(self) -> bool:
        return self.cloudflare == "revoked" or self.status == "revoked"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "cloudflare_id": self.cloudflare_id, "lineage": self.lineage,
            "state": self.state, "status": self.status, "cloudflare": self.cloudflare,
            "ca": self.ca, "hostnames": list(self.hostnames), "key_type": self.key_type,
            "not_before": _iso(self.not_before), "not_after": _iso(self.not_after),
            "expiring": self.expiring, "expired": self.expired,
            "revoked_at": _iso(self.revoked_at), "served": self.served,
            "sites": [vars(use) for use in self.uses],
            "config_files": sorted({f for use in self.uses for f in use.config_files}),
            "certificate_file": self.certificate_file,
            "fingerprint_sha256": self.fingerprint_sha256, "replaced_by": self.replaced_by,
            "account": self.account, "sources": list(self.sources), "notes": list(self.notes),
        }


@dataclass
class Inventory:
    entries: list[Entry]
    problems: list[str] = field(default_factory=list)
    webserver: str | None = None

    def find(self, *, local_id: int | None = None, cf_id: str | None = None) -> Entry | None:
        for entry in self.entries:
            if local_id is not None and entry.id == local_id:
                return entry
            if cf_id is not None and entry.cloudflare_id == cf_id:
                return entry
        return None

    def serving(self, site_source: str, site_name: str) -> Entry | None:
        """The certificate a site serves, by the site's name and defining file."""
        for entry in self.entries:
            if any(u.site == site_name and site_source in u.config_files for u in entry.uses):
                return entry
        return None


def build(store: Store, server: WebServer | None, *, clock: Callable[[], datetime],
          expiring_days: int = 30, cloudflare: bool = True,
          known: Inventory | None = None) -> Inventory:
    """The reconciled view of every certificate, from the three sources.

    With ``cloudflare=False`` Cloudflare is not asked; its verdicts come from
    ``known`` (an earlier inventory of the same run) where it has them.
    """
    found = _Builder(store, clock, expiring_days)
    found.from_state()
    if server is not None:
        found.from_server(server)
    if cloudflare:
        found.from_cloudflare()
    elif known is not None:
        found.carry(known)
    found.classify()
    return Inventory(found.ordered(), found.problems, server.kind if server else None)


class _Builder:
    def __init__(self, store: Store, clock: Callable[[], datetime], expiring_days: int) -> None:
        self.store = store
        self.clock = clock
        self.expiring_days = expiring_days
        self.entries: list[Entry] = []
        self.problems: list[str] = []
        self._by_fingerprint: dict[str, Entry] = {}
        self._by_cf_id: dict[str, Entry] = {}
        self._accounts = {a.id: a.name for a in store.list_accounts()}

    # the state

    def from_state(self) -> None:
        for cert in self.store.certificates():
            entry = _from_record(cert, self._accounts.get(cert.account_id or -1))
            self._add(entry)

    # the web server

    def from_server(self, server: WebServer) -> None:
        try:
            sites = server.sites()
        except OriginCertError as err:
            self.problems.append(f"{server.kind} configuration unreadable: {err.one_line()}")
            return
        installs = self._install_files()
        roots = all_trusted_roots(self.store)
        for site in sites:
            if site.certificate is None:
                continue
            leaf = _read_leaf(site.certificate, self.problems)
            if leaf is None:
                continue
            fingerprint = certs.fingerprint_sha256(leaf)
            entry = self._by_fingerprint.get(fingerprint)
            if entry is None:
                entry = _from_leaf(leaf, roots, str(site.certificate))
                self._add(entry)
            if "server" not in entry.sources:
                entry.sources.append("server")
            files = [str(site.source)] + installs.get(entry.id or -1, [])
            entry.uses.append(Use(site.name, server.kind, str(site.certificate),
                                  sorted(set(files))))

    def _install_files(self) -> dict[int, list[str]]:
        files: dict[int, list[str]] = {}
        for install in self.store.installations(active_only=True):
            files.setdefault(install.certificate_id, []).extend(install.config_files)
        return files

    # Cloudflare

    def from_cloudflare(self) -> None:
        listed_accounts: set[str] = set()
        for account in self.store.list_accounts():
            client = client_for(self.store, account, audit=False)
            try:
                if self._list_account(client, account.name):
                    listed_accounts.add(account.name)
                if self._reachable:
                    self._ask_missing(client, account.name)
            finally:
                client.close()

    def _list_account(self, client: Any, account: str) -> bool:
        self._reachable = True
        try:
            zones = client.zones()
        except OriginCertError as err:
            self.problems.append(f"account {account}: zones unreadable: {err.one_line()}")
            # No answer at all (not a refusal): asking again per certificate would
            # only wait for the same timeout many times over.
            self._reachable = getattr(err, "status", None) is not None
            return False
        complete = True
        for zone in zones:
            try:
                listed = client.list_origin_certificates(zone.id)
            except OriginCertError as err:
                self.problems.append(f"account {account}: Origin CA certificates of zone "
                                     f"{zone.name} unreadable: {err.one_line()}")
                complete = False
                continue
            for remote in listed:
                self._merge_remote(remote, account)
        return complete

    def _merge_remote(self, remote: OriginCertificate, account: str) -> None:
        entry = self._by_cf_id.get(remote.id)
        leaf = _leaf_of(remote.pem)
        if entry is None and leaf is not None:
            entry = self._by_fingerprint.get(certs.fingerprint_sha256(leaf))
        if entry is None:
            entry = _from_remote(remote, leaf, account)
            self._add(entry)
        if entry.cloudflare_id is None:
            entry.cloudflare_id = remote.id
            self._by_cf_id[remote.id] = entry
        if "cloudflare" not in entry.sources:
            entry.sources.append("cloudflare")
        entry.cloudflare = "revoked" if remote.revoked_at else "active"
        entry.revoked_at = entry.revoked_at or _time(remote.revoked_at)

    def _ask_missing(self, client: Any, account: str) -> None:
        """Recorded certificates the list left out: revoked, or gone. Asked by id."""
        for entry in self.entries:
            if entry.account != account or not entry.cloudflare_id or entry.cloudflare:
                continue
            try:
                remote = client.get_origin_certificate(entry.cloudflare_id)
            except CloudflareAPIError as err:
                if err.status == 404:
                    entry.cloudflare = "absent"
                    entry.notes.append("Cloudflare does not know this certificate")
                else:
                    entry.cloudflare = "unknown"
                    self.problems.append(f"certificate {entry.cloudflare_id}: "
                                         f"{err.one_line()}")
                continue
            except OriginCertError as err:
                entry.cloudflare = "unknown"
                self.problems.append(f"certificate {entry.cloudflare_id}: {err.one_line()}")
                continue
            entry.cloudflare = "revoked" if remote.revoked_at else "active"
            entry.revoked_at = entry.revoked_at or _time(remote.revoked_at)
            if "cloudflare" not in entry.sources:
                entry.sources.append("cloudflare")

    def carry(self, known: Inventory) -> None:
        for entry in self.entries:
            earlier = known.find(local_id=entry.id) if entry.id is not None else None
            if earlier is not None and earlier.cloudflare is not None:
                entry.cloudflare = earlier.cloudflare
                entry.revoked_at = entry.revoked_at or earlier.revoked_at
                if "cloudflare" in earlier.sources and "cloudflare" not in entry.sources:
                    entry.sources.append("cloudflare")

    # the verdict

    def classify(self) -> None:
        now = self.clock()
        soon = now + timedelta(days=self.expiring_days)
        for entry in self.entries:
            if entry.cloudflare is None and entry.ca == "origin" and entry.cloudflare_id \
                    and entry.status != "revoked":
                entry.cloudflare = "unknown"
            if entry.not_after is not None:
                entry.expired = entry.not_after <= now
                entry.expiring = not entry.expired and entry.not_after <= soon
            entry.state = _state_of(entry)
            if entry.state == "orphaned" and entry.status == "installed":
                entry.notes.append("origincert installed it, but no site serves it now")
            if entry.state == "revoked_but_served":
                entry.notes.append("revoked at Cloudflare but still served: visitors get "
                                   "526 under Full (strict); run: origincert renew")

    def ordered(self) -> list[Entry]:
        def rank(entry: Entry) -> tuple[int, str]:
            if entry.id is not None:
                return (0, f"{entry.id:012d}")
            if entry.cloudflare_id is not None:
                return (1, entry.cloudflare_id)
            return (2, entry.certificate_file or "")
        return sorted(self.entries, key=rank)

    def _add(self, entry: Entry) -> None:
        self.entries.append(entry)
        if entry.fingerprint_sha256:
            self._by_fingerprint.setdefault(entry.fingerprint_sha256, entry)
        if entry.cloudflare_id:
            self._by_cf_id.setdefault(entry.cloudflare_id, entry)


def _state_of(entry: Entry) -> str:
    if entry.served:
        return "revoked_but_served" if entry.revoked else "served"
    if entry.revoked:
        return "revoked"
    if entry.expired:
        return "expired"
    if entry.status == "superseded":
        return "superseded"
    if entry.status in ("requested", "unused") and not entry.cloudflare_id \
            and entry.ca == "origin":
        return "unused"
    if entry.status in ("requested", "unused") and entry.ca == "acme" and not entry.not_after:
        return "unused"
    return "orphaned"


def _from_record(cert: Certificate, account: str | None) -> Entry:
    return Entry(
        id=cert.id, cloudflare_id=cert.cf_id, lineage=cert.lineage,
        ca="acme" if cert.request_type == ACME_REQUEST_TYPE else "origin",
        hostnames=list(cert.hostnames), key_type=cert.key_type,
        not_before=cert.not_before, not_after=cert.not_after, status=cert.status,
        revoked_at=cert.revoked_at, account=account, certificate_file=cert.cert_path,
        fingerprint_sha256=cert.fingerprint_sha256, replaced_by=cert.replaced_by,
        sources=["state"],
        cloudflare="revoked" if cert.status == "revoked" and cert.cf_id else None,
    )


def _from_leaf(leaf: x509.Certificate, roots: list[x509.Certificate], path: str) -> Entry:
    entry = Entry(ca="origin" if certs.chains_to(leaf, roots) else "other",
                  certificate_file=path, sources=[])
    _fill_from_leaf(entry, leaf)
    return entry


def _from_remote(remote: OriginCertificate, leaf: x509.Certificate | None,
                 account: str) -> Entry:
    entry = Entry(cloudflare_id=remote.id, hostnames=list(remote.hostnames),
                  key_type=_KEY_TYPES.get(remote.request_type or ""),
                  not_after=_time(remote.expires_on), account=account, sources=[])
    if leaf is not None:
        _fill_from_leaf(entry, leaf)
    return entry


def _fill_from_leaf(entry: Entry, leaf: x509.Certificate) -> None:
    entry.hostnames = certs.sans(leaf)
    entry.not_before = leaf.not_valid_before_utc
    entry.not_after = leaf.not_valid_after_utc
    entry.fingerprint_sha256 = certs.fingerprint_sha256(leaf)
    try:
        entry.key_type = certs.describe(leaf).key_type
    except OriginCertError:
        entry.key_type = "other"


def _read_leaf(path: Path, problems: list[str]) -> x509.Certificate | None:
    try:
        return certs.load_certificate(path.read_bytes())
    except OSError as err:
        problems.append(f"certificate file {path} cannot be read: {err.strerror}")
    except OriginCertError as err:
        problems.append(f"certificate file {path}: {err.one_line()}")
    return None


def _leaf_of(pem: str | None) -> x509.Certificate | None:
    if not pem:
        return None
    try:
        return certs.load_certificate(pem.encode())
    except OriginCertError:
        return None


def _time(text: str | None) -> datetime | None:
    """A time as the API writes it (RFC 3339, or Go's ``time.String()``), in UTC."""
    if not text:
        return None
    value = text.strip().replace("Z", "+00:00")
    if " +0000 UTC" in value:  # Go's format (fact sheet §0 #9)
        value = value.split(" +0000 UTC")[0].split(".")[0] + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        log.info("unreadable time from the api", extra={"text": text})
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None
