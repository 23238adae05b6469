"""Uninstall: a site's configuration back to exactly what it was before origincert.

The web server module plans the edits that undo its install byte for byte
(``plan_uninstall``); any Let's Encrypt renewal that ``issue --replace``
renamed aside is renamed back in the same change. The change is one
transaction (journal, lock, config test, reload) and is proven like an
install, the other way round: each name serves again the certificate the
restored configuration names (the Let's Encrypt or pasted one), or, for a
site that had no HTTPS before, no longer serves origincert's certificate.

The certificate itself stays recorded (status "unused", its installation
marked removed), so that it can still be revoked; its files stay in the
state folder. Cloudflare is not asked anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from origincert.errors import OriginCertError
from origincert.inventory.letsencrypt import DISABLED_SUFFIX
from origincert.pki import certificate as certs
from origincert.probe.tls import handshake, sni_for
from origincert.provision.lock import server_lock
from origincert.provision.transaction import StepHook, Transaction, recover
from origincert.provision.verify import Check
from origincert.state.certstore import CertStore, lineage_name
from origincert.state.db import Store
from origincert.state.models import Installation
from origincert.webserver.base import Endpoint, FileChange, InstallPlan, Site, WebServer

log = logging.getLogger(__name__)

BEFORE = "the certificate it served before origincert"


class NotManagedError(OriginCertError):
    """The site named has nothing of origincert to take out."""


@dataclass
class UninstallResult:
    """What ``uninstall`` did, for people (the CLI) and for programs (``--json``)."""

    status: str  # "removed" or "planned"
    site: str
    hostnames: list[str]
    lineage: str
    site_file: str
    config_files: list[str] = field(default_factory=list)
    certificates: list[dict[str, object]] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    diff: str = ""

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class Uninstaller:
    """Takes origincert out of one site of one web server."""

    def __init__(self, store: Store, server: WebServer, *,
                 progress: Callable[[str], None] = print, step_hook: StepHook | None = None,
                 verify_timeout: float = 15.0, lock_wait: float | None = None,
                 letsencrypt_dir: Path = Path("/etc/letsencrypt"),
                 acme_sh_home: Path = Path("/root/.acme.sh")) -> None:
        self.store = store
        self.server = server
        self.certstore = CertStore(store.paths)
        self.progress = progress
        self.step_hook = step_hook
        self.verify_timeout = verify_timeout
        self.lock_wait = lock_wait
        self.letsencrypt_dir = letsencrypt_dir
        self.acme_sh_home = acme_sh_home

    def uninstall(self, site_name: str, *, dry_run: bool = False) -> UninstallResult:
        if dry_run:
            return self._run(site_name, dry_run=True)

        with server_lock(self.store.paths.lock_dir, self.server.kind, wait=self.lock_wait,
                         on_wait=self.progress):
            undone = recover(self.server, self.store, self.certstore)
            if undone:
                self.progress(f"undid {len(undone)} interrupted run(s) first")
            return self._run(site_name, dry_run=False)

    def _run(self, site_name: str, *, dry_run: bool) -> UninstallResult:
        site = self._site(site_name)
        installs = self._installations(site)
        lineage = self._lineage(site, installs)
        plan = self.server.plan_uninstall(site, lineage=lineage)
        if plan.empty and not installs:
            raise NotManagedError(
                f"origincert does not manage {site_name}: the {self.server.kind} site "
                f"{site.name} ({site.source}:{site.line}) has no origincert lines",
                hint="see the sites origincert manages with: origincert sites",
            )
        plan.changes += self._renewals_back(site, installs, plan)

        result = UninstallResult("planned", site.name, list(site.hostnames), lineage,
                                 str(site.source), notes=list(plan.notes), diff=plan.diff(),
                                 config_files=[str(c.path) for c in plan.changes])
        self.progress(f"{self.server.kind} site {site.name} ({site.source}:{site.line}), "
                      f"certificate {lineage}")
        if dry_run:
            return result

        had_https = True
        if plan.empty:
            self.progress("no origincert lines are left in the configuration")
        else:
            result.verified, had_https = self._apply(site, lineage, plan)
        result.certificates = self._forget(installs)
        result.status = "removed"
        result.notes += _notes(result.certificates, had_https)
        return result

    def _site(self, site_name: str) -> Site:
        """The site called ``site_name``: its first name, or any of its names."""
        wanted = site_name.strip().lower().rstrip(".")
        for site in self.server.sites():
            if site.name == wanted or wanted in site.hostnames:
                return site
        raise NotManagedError(
            f"origincert does not manage {site_name}: no {self.server.kind} site serves it",
            hint="see the sites with: origincert sites",
        )

    def _installations(self, site: Site) -> list[Installation]:
        """The active installations of origincert on ``site`` of this server."""
        return [entry for entry in self.store.installations(active_only=True)
                if entry.webserver == self.server.kind and entry.site_name in site.hostnames]

    def _lineage(self, site: Site, installs: list[Installation]) -> str:
        """The certificate lineage the site uses: as recorded, else as found on disk."""
        for entry in reversed(installs):
            cert = self.store.get_certificate(entry.certificate_id)
            if cert is not None:
                return cert.lineage
        candidates = [lineage_name(name) for name in site.hostnames]
        live = [name for name in candidates if self.certstore.current_version(name) is not None]
        return (live or candidates)[0]

    def _renewals_back(self, site: Site, installs: list[Installation],
                       plan: InstallPlan) -> list[FileChange]:
        """Rename back every renewal that ``issue --replace`` renamed aside for the site."""
        asides = {Path(path) for entry in installs for path in entry.config_files
                  if path.endswith(DISABLED_SUFFIX)}
        for name in site.hostnames:
            asides.add(self.letsencrypt_dir / "renewal" / f"{name}.conf{DISABLED_SUFFIX}")
            for folder in (name, f"{name}_ecc"):
                asides.add(self.acme_sh_home / folder / f"{name}.conf{DISABLED_SUFFIX}")

        changes: list[FileChange] = []
        for aside in sorted(a for a in asides if a.is_file()):
            original = aside.with_name(aside.name.removesuffix(DISABLED_SUFFIX))
            if original.exists():
                plan.notes.append(f"{aside} stays: {original.name} exists again beside it")
                continue
            data = aside.read_bytes()
            changes += [FileChange(original, None, data, mode=aside.stat().st_mode & 0o777),
                        FileChange(aside, data, None)]
            plan.notes.append(f"renewal {original} enabled again (it was kept as {aside.name})")
        return changes

    def _apply(self, site: Site, lineage: str, plan: InstallPlan) -> tuple[list[str], bool]:
        """The change as a transaction; what the handshakes proved, and whether the site
        serves a certificate of its own again (else it had no HTTPS before origincert)."""
        before = self.server.endpoints(site)
        ours = self._served_der(site, lineage, before)
        verified: list[str] = []
        planned: list[Check] = []

        def progress(line: str) -> None:
            if line.startswith("verified: "):
                verified.append(line.removeprefix("verified: "))
            self.progress(line)

        def checks() -> list[Check]:
            planned[:] = self._checks(site, before, ours)
            return planned

        transaction = Transaction(self.server, self.store, self.certstore,
                                  step_hook=self.step_hook, verify_timeout=self.verify_timeout)
        try:
            transaction.apply("uninstall", plan.changes, None, checks, progress=progress,
                              serves="what it served before origincert", lineage=lineage)
        except OriginCertError:
            self.progress("rolled back: the configuration is as it was, with origincert")
            raise
        return verified, any(check.expected_der is not None for check in planned)

    def _checks(self, site: Site, before: list[Endpoint], ours: bytes | None) -> list[Check]:
        """After the reload: the old certificate for every name, or anything but ours."""
        fresh = next((s for s in self.server.sites() if set(s.hostnames) & set(site.hostnames)),
                     None)
        previous = _leaf_der(fresh.certificate) if fresh and fresh.https else None
        if fresh is not None and previous is not None:
            return [Check(name, endpoint, previous, wanted=BEFORE)
                    for name in site.hostnames for endpoint in self.server.endpoints(fresh)]
        if ours is None:
            return []
        return [Check(name, endpoint, None, forbidden_der=ours)
                for name in site.hostnames for endpoint in before]

    def _served_der(self, site: Site, lineage: str, endpoints: list[Endpoint]) -> bytes | None:
        """origincert's certificate for the site: the live file, else what is served now."""
        live = _leaf_der(self.certstore.live_paths(lineage)[0])
        if live is not None:
            return live
        for endpoint in endpoints:
            done = handshake(endpoint.host, endpoint.port, sni_for(site.name))
            if done.certificate_der is not None:
                return done.certificate_der
        return None

    def _forget(self, installs: list[Installation]) -> list[dict[str, object]]:
        """Installations removed; certificates kept, as "unused", for revocation."""
        kept: dict[int, dict[str, object]] = {}
        for entry in installs:
            self.store.mark_installation_removed(entry.id)
            cert = self.store.get_certificate(entry.certificate_id)
            if cert is None or cert.id in kept:
                continue
            if cert.status == "installed":
                cert = self.store.update_certificate(cert.id, status="unused")
            kept[cert.id] = {"id": cert.id, "cloudflare_id": cert.cf_id,
                             "hostnames": list(cert.hostnames), "status": cert.status}
        log.info("uninstalled installations=%s", [entry.id for entry in installs])
        return list(kept.values())


def _notes(kept: list[dict[str, object]], had_https: bool) -> list[str]:
    notes = [f"certificate {cert['cloudflare_id']} stays recorded ({cert['status']}), "
             "so that it can be revoked" for cert in kept]
    if not had_https:
        notes.append("the configuration names no certificate for the site, as before "
                     "origincert; Cloudflare's zone settings are unchanged: unless the server "
                     "obtains a certificate by itself, the SSL mode Full or Full (strict) "
                     "cannot reach it over HTTPS, so set the SSL mode to match")
    return notes


def _leaf_der(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        leaf = certs.load_certificate(path.read_bytes())
    except (OSError, OriginCertError):
        return None
    return leaf.public_bytes(Encoding.DER)
