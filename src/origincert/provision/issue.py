"""Generate & Install: one Origin CA certificate, issued, installed, proven.

The order matters. Everything that can be checked without changing anything
is checked first (names, zones, the site). The key is generated here and
saved before the API is asked, and the certificate is recorded as soon as it
exists, so nothing issued is ever forgotten. Only then is the server changed,
as one transaction that is verified by real handshakes or undone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from origincert.accounts.preflight import check_before_issue
from origincert.errors import RecoveryError, UsageError
from origincert.pki import certificate as certs
from origincert.provision import mixing, resolve, zone_step
from origincert.provision.authority import ORIGIN, Request, choose, for_choice
from origincert.provision.lock import server_lock
from origincert.provision.transaction import Pointer, StepHook, Transaction, recover
from origincert.provision.verify import Check, wait_until_served
from origincert.state.certstore import CertStore, lineage_name
from origincert.state.db import Store, utc_now
from origincert.state.models import Certificate
from origincert.webserver.base import CertFiles, InstallPlan, Site, WebServer

log = logging.getLogger(__name__)

VALIDITY_DAYS = (7, 30, 90, 365, 730, 1095, 5475)
KEY_TYPES = ("ecdsa", "rsa")


@dataclass
class IssueOptions:
    account: str | None = None
    key_type: str = "ecdsa"
    validity_days: int = 5475
    redirect: bool = False
    replace: bool = False          # switch a site serving another certificate / renewal
    dry_run: bool = False
    reissue: bool = False          # a new certificate even if the current one is in place
    zone: bool = True              # bring the zone to the guide's state afterwards
    force: bool = False            # Full (strict) zone-wide even if other names would fail
    strict_hostname: bool = False  # else strict for the issued names by a config rule
    ca: str = "origin"             # "origin", "letsencrypt" (ACME DNS-01) or "auto"
    acme_directory: str = "letsencrypt"  # or "letsencrypt-staging", or a directory URL
    acme_ca_bundle: str | None = None    # the ACME server's TLS CA, if not public
    acme_email: str | None = None
    acme_dns: tuple[str, int] | None = None  # a resolver that sees the zone's TXT records


@dataclass
class IssueResult:
    """What ``issue`` did, for people (the CLI) and for programs (``--json``)."""

    status: str  # "installed", "unchanged" or "planned"
    lineage: str
    hostnames: list[str]
    account: str
    zones: list[str]
    site: str
    site_file: str
    config_files: list[str] = field(default_factory=list)
    certificate: dict[str, object] = field(default_factory=dict)
    verified: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    diff: str = ""
    zone_reports: list[dict[str, object]] = field(default_factory=list)
    ca: str = "origin"

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class Issuer:
    """Runs Generate & Install against one web server and one state folder."""

    def __init__(self, store: Store, server: WebServer, *,
                 progress: Callable[[str], None] = print, step_hook: StepHook | None = None,
                 verify_timeout: float = 15.0,
                 letsencrypt_dir: Path = Path("/etc/letsencrypt"),
                 acme_sh_home: Path = Path("/root/.acme.sh")) -> None:
        self.store = store
        self.server = server
        self.certstore = CertStore(store.paths)
        self.progress = progress
        self.step_hook = step_hook
        self.verify_timeout = verify_timeout
        self.letsencrypt_dir = letsencrypt_dir
        self.acme_sh_home = acme_sh_home

    def issue(self, hostnames: list[str], options: IssueOptions) -> IssueResult:
        names = resolve.normalize_all(hostnames)
        _check_options(options)
        if options.dry_run:
            return self._run(names, options)

        # One run at a time, from reading the configuration to the verified install.
        with server_lock(self.store.paths.lock_dir, self.server.kind, on_wait=self.progress):
            self._recover_interrupted()
            return self._run(names, options)

    def _recover_interrupted(self) -> None:
        """Undo what a run killed half-way left behind, before the configuration is read."""
        undone = recover(self.server, self.store, self.certstore)
        if undone:
            self.progress(f"undid {len(undone)} interrupted run(s) first")

    def _run(self, names: list[str], options: IssueOptions) -> IssueResult:
        site = resolve.site_for(self.server, names)
        self.progress(f"{self.server.kind} site {site.name} ({site.source}:{site.line}) "
                      f"serves {', '.join(names)}")

        reach = resolve.find_reach(self.store, names, options.account)
        try:
            self.progress(f"account {reach.account.name} reaches zone "
                          f"{', '.join(reach.zone_names())}")
            ca = choose(options.ca, names, reach)
            if options.dry_run:
                # its probes are writes (refused or no-op), and a dry run writes nothing
                self.progress("dry run: the account's permissions are not probed")
            elif ca == ORIGIN:
                check_before_issue(reach.account, reach.client, reach.zones.values(),
                                   progress=self.progress)
            else:
                self.progress("ACME through DNS-01: the TXT records need Zone → DNS → Edit")
            return self._issue_for(names, site, reach, options, ca)
        finally:
            reach.client.close()

    def _issue_for(self, names: list[str], site: Site, reach: resolve.Reach,
                   options: IssueOptions, ca: str) -> IssueResult:
        lineage = lineage_name(names[0])
        result = IssueResult("planned", lineage, names, reach.account.name,
                             reach.zone_names(), site.name, str(site.source), ca=ca)
        if ca == ORIGIN:
            result.notes += zone_step.edge_coverage(names, reach.zones, self.progress)

        current = self._current(lineage, names, ca)
        if current is not None and not options.reissue and self._still_served(site, current):
            self.progress("the current certificate already covers these names and is served")
            result.status = "unchanged"
            result.certificate = _describe(current)
        else:
            plan = self._plan(site, lineage, names, options, result)
            if options.dry_run:
                return result
            authority = for_choice(ca, self.store, self.progress)
            cert = authority.obtain(Request(lineage, names, reach, options))
            self._install(lineage, site, plan, cert, names)
            result.status = "installed"
            result.certificate = _describe(self.store.get_certificate(cert.id))
            result.verified = [f"{name} serves certificate {cert.cf_id}" for name in names]

        # The zone step proxies names; names on a public (ACME) certificate stay direct.
        if options.zone and not options.dry_run and ca == ORIGIN:
            result.zone_reports = zone_step.configure_zones(
                self.store, reach, names, options, progress=self.progress)
        return result

    def _plan(self, site: Site, lineage: str, names: list[str], options: IssueOptions,
              result: IssueResult) -> InstallPlan:
        """The server edits, with any Let's Encrypt renewal of the names disabled."""
        conflicts = mixing.renewal_conflicts(names, self.letsencrypt_dir, self.acme_sh_home)
        if conflicts and not options.replace:
            raise mixing.refuse(conflicts, names)

        cert_path, key_path = self.certstore.live_paths(lineage)
        plan = self.server.plan_install(site, CertFiles(cert_path, key_path), lineage=lineage,
                                        redirect=options.redirect, replace=options.replace)
        changes, notes = mixing.disable(conflicts)
        plan.changes += changes
        plan.notes += notes
        result.notes += plan.notes
        result.diff = plan.diff()
        result.config_files = [str(change.path) for change in plan.changes]
        return plan

    def _install(self, lineage: str, site: Site, plan: InstallPlan, cert: Certificate,
                 names: list[str]) -> None:
        pointer = Pointer(lineage, self.certstore.current_version(lineage), cert.version)
        expected = _leaf_der(cert)

        def checks() -> list[Check]:
            return self._checks(site, names, expected)

        transaction = Transaction(self.server, self.store, self.certstore,
                                  step_hook=self.step_hook, verify_timeout=self.verify_timeout)
        try:
            transaction.apply("issue", plan.changes, pointer, checks, progress=self.progress)
        except RecoveryError:
            self.store.update_certificate(cert.id, status="unused")
            raise
        except BaseException:
            self.store.update_certificate(cert.id, status="unused")
            self.progress("rolled back: configuration files restored and reloaded")
            raise
        self._mark_installed(cert, site, plan)

    def _checks(self, site: Site, names: list[str], expected: bytes) -> list[Check]:
        fresh = next((s for s in self.server.sites()
                      if s.source == site.source and set(names) <= set(s.hostnames)), site)
        return [Check(name, endpoint, expected)
                for name in names for endpoint in self.server.endpoints(fresh)]

    def _mark_installed(self, cert: Certificate, site: Site, plan: InstallPlan) -> None:
        now = utc_now()
        for old in self.store.certificates(lineage=cert.lineage, status="installed"):
            self.store.update_certificate(old.id, status="superseded", replaced_by=cert.id)
        self.store.update_certificate(cert.id, status="installed", installed_at=now)
        self.store.record_installation(cert.id, self.server.kind, site.name,
                                       [str(c.path) for c in plan.changes] or [str(site.source)])

    def _current(self, lineage: str, names: list[str], ca: str) -> Certificate | None:
        """The installed certificate of the lineage, if it is for these names from this CA."""
        installed = self.store.certificates(lineage=lineage, status="installed")
        if not installed or sorted(installed[-1].hostnames) != sorted(names):
            return None
        from_acme = installed[-1].request_type == "acme"
        return installed[-1] if from_acme == (ca != ORIGIN) else None

    def _still_served(self, site: Site, cert: Certificate) -> bool:
        if cert.not_after is not None and cert.not_after <= datetime.now(cert.not_after.tzinfo):
            return False
        checks = self._checks(site, list(cert.hostnames), _leaf_der(cert))
        results = wait_until_served(checks, timeout=0)
        return bool(results) and all(r.ok for r in results)


def _check_options(options: IssueOptions) -> None:
    if options.validity_days not in VALIDITY_DAYS:
        allowed = ", ".join(str(v) for v in VALIDITY_DAYS)
        raise UsageError(f"--validity {options.validity_days} is not one Cloudflare offers",
                         hint=f"choose one of {allowed} days")
    if options.key_type not in KEY_TYPES:
        raise UsageError(f"--key-type {options.key_type} is not supported",
                         hint="choose ecdsa (P-256) or rsa (2048 bits)")


def _describe(cert: Certificate | None) -> dict[str, object]:
    if cert is None:
        return {}
    return {
        "id": cert.id, "cloudflare_id": cert.cf_id, "hostnames": list(cert.hostnames),
        "key_type": cert.key_type, "not_after": cert.not_after, "status": cert.status,
        "fingerprint_sha256": cert.fingerprint_sha256, "version": cert.version,
    }


def _leaf_der(cert: Certificate) -> bytes:
    pem = Path(str(cert.cert_path)).read_bytes()
    return certs.load_certificate(pem).public_bytes(Encoding.DER)
