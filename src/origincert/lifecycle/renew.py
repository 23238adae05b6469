"""``renew``: every site whose certificate needs replacing, each on its own.

A site's certificate is renewed when

- it expires within ``days`` (default 30); a short certificate (7 or 30 days)
  is renewed when a third of its lifetime is left, if that is later, so that it
  is not reissued on every run of the timer;
- the site's configuration names a hostname it does not cover (a name added
  to the server block): the new one has the site's current names;
- it was revoked at Cloudflare (it would give 526 under Full (strict));
- ``rotate_key`` asks for it (a new key and certificate for every site).

Each renewal is a full Generate & Install (``Issuer.issue`` with
``reissue=True``): a new key, a new certificate, the server changed as one
verified transaction or not at all. Every renewal makes a new key. Each site is
handled on its own: a failure is logged with its traceback, notified and
counted, and the next site goes on. The certificate a renewal replaced is
queued for revocation (``revoke_after_days`` later; 0 = in this run).

Only sites that serve a certificate origincert issued are renewed; a site
serving another certificate that expires or was revoked is notified, with the
command that takes it over.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from origincert import hostnames as hostname_rules
from origincert.errors import HostnameError, OriginCertError
from origincert.inventory import certificates as inventory
from origincert.inventory.certificates import Entry, Inventory
from origincert.lifecycle import records, revoke
from origincert.lifecycle.clock import Clock
from origincert.lifecycle.config import Hooks
from origincert.lifecycle.hooks import HookContext, HookOutcome, run_hook
from origincert.lifecycle.notify import ERROR, INFO, WARNING, Notifier
from origincert.pki.certificate import covers
from origincert.state.certstore import CertStore, lineage_name
from origincert.state.db import Store
from origincert.webserver.base import Site, WebServer

log = logging.getLogger(__name__)

RENEWED, FAILED, PLANNED, CURRENT = "renewed", "failed", "planned", "current"


@dataclass
class RenewOptions:
    days: int = 30
    dry_run: bool = False
    rotate_key: bool = False
    site: str | None = None
    revoke_after_days: int = 7
    expiring_days: int = 30
    hooks: Hooks = field(default_factory=Hooks)


@dataclass
class SiteOutcome:
    site: str
    hostnames: list[str]
    result: str                       # renewed, failed, planned, current
    reasons: list[str] = field(default_factory=list)
    old_id: int | None = None
    old_cloudflare_id: str | None = None
    new_id: int | None = None
    new_cloudflare_id: str | None = None
    not_after: datetime | None = None
    renew_after: datetime | None = None
    error: str | None = None
    hooks: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in dataclasses.asdict(self).items()}


@dataclass
class RenewReport:
    sites: list[SiteOutcome] = field(default_factory=list)
    revocations: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def failed(self) -> bool:
        return any(s.result == FAILED for s in self.sites) or any(
            r.get("result") == "failed" for r in self.revocations)

    def count(self, result: str) -> int:
        return sum(1 for s in self.sites if s.result == result)

    def summary(self) -> str:
        words = [f"{self.count(RENEWED)} renewed", f"{self.count(FAILED)} failed",
                 f"{self.count(CURRENT)} current"]
        if self.dry_run:
            words.insert(0, f"{self.count(PLANNED)} due (dry run)")
        revoked = sum(1 for r in self.revocations if r.get("result") == "revoked")
        if revoked:
            words.append(f"{revoked} replaced certificate(s) revoked")
        return ", ".join(words)

    def to_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "failed": self.failed, "summary": self.summary(),
                "sites": [s.to_json() for s in self.sites],
                "revocations": [{k: (v.isoformat() if isinstance(v, datetime) else v)
                                 for k, v in r.items()} for r in self.revocations],
                "notes": list(self.notes)}


def due(entry: Entry, now: datetime, days: int) -> datetime | None:
    """When ``entry`` falls due for renewal (None when its expiry is unknown)."""
    if entry.not_after is None:
        return None
    window = timedelta(days=days)
    if entry.not_before is not None:
        window = min(window, (entry.not_after - entry.not_before) / 3)
    return entry.not_after - window


def is_due(entry: Entry, now: datetime, days: int) -> bool:
    if entry.ca == "acme" and entry.not_after is not None:
        from origincert.acme.choice import renewal_due

        return renewal_due(entry.not_after, clock=lambda: now, days=days)
    when = due(entry, now, days)
    return when is not None and now >= when


# The Issuer's signature, so tests and the CLI pass the real one.
IssuerFactory = Callable[[Callable[[str], None]], Any]


class Renewer:
    def __init__(self, store: Store, server: WebServer, issuer_factory: IssuerFactory, *,
                 clock: Clock, notifier: Notifier,
                 progress: Callable[[str], None] = print) -> None:
        self.store = store
        self.server = server
        self.issuer_factory = issuer_factory
        self.clock = clock
        self.notifier = notifier
        self.progress = progress
        self.certstore = CertStore(store.paths)

    def run(self, options: RenewOptions) -> RenewReport:
        report = RenewReport(dry_run=options.dry_run)
        found = inventory.build(self.store, self.server, clock=self.clock,
                                expiring_days=options.expiring_days)
        report.notes += found.problems
        sites = self._sites(options.site)
        for site in sites:
            outcome = self._site(site, found, options)
            if outcome is not None:
                report.sites.append(outcome)

        # the inventory again: renewals changed what is served
        after = inventory.build(self.store, self.server, clock=self.clock,
                                expiring_days=options.expiring_days, cloudflare=False,
                                known=found)
        report.revocations = revoke.process_pending(
            self.store, self.server, after, clock=self.clock, notifier=self.notifier,
            dry_run=options.dry_run)
        self._warn(after, report, options)
        if not options.dry_run:
            self._summarize(report)
        return report

    # one site

    def _site(self, site: Site, found: Inventory, options: RenewOptions) -> SiteOutcome | None:
        entry = found.serving(str(site.source), site.name)
        if entry is None or entry.id is None:
            return None  # not origincert's: _warn tells about it if it needs care
        names = _names_for(site, entry)
        outcome = SiteOutcome(site.name, names, CURRENT, old_id=entry.id,
                              old_cloudflare_id=entry.cloudflare_id, not_after=entry.not_after,
                              renew_after=due(entry, self.clock(), options.days))
        outcome.reasons = self._reasons(entry, names, options)
        if not outcome.reasons:
            return outcome
        if options.dry_run:
            outcome.result = PLANNED
            self.progress(f"{site.name}: would renew ({'; '.join(outcome.reasons)})")
            return outcome

        self.progress(f"{site.name}: renewing ({'; '.join(outcome.reasons)})")
        try:
            self._renew(site, entry, outcome, options)
        except Exception as err:  # one site's failure never stops the others
            log.exception("renewal failed", extra={"site": site.name})
            outcome.result = FAILED
            outcome.error = err.one_line() if isinstance(err, OriginCertError) else \
                f"unexpected error (a bug): {type(err).__name__}: {err}"
            self.progress(f"{site.name}: FAILED: {outcome.error}")
            self.notifier.notify("renewal_failed", ERROR,
                                 f"renewing {site.name} failed: {outcome.error}",
                                 subject=site.name, site=site.name, hostnames=names,
                                 cloudflare_id=entry.cloudflare_id, not_after=entry.not_after,
                                 reasons=outcome.reasons)
        return outcome

    def _reasons(self, entry: Entry, names: list[str], options: RenewOptions) -> list[str]:
        reasons = []
        now = self.clock()
        if entry.revoked:
            reasons.append("revoked at Cloudflare")
        if is_due(entry, now, options.days):
            verb = "expired" if entry.expired else "expires"
            when = f"{entry.not_after:%Y-%m-%d %H:%M} UTC" if entry.not_after else "?"
            reasons.append(f"{verb} {when}")
        missing = [n for n in names if not covers(entry.hostnames, n)]
        if missing:
            reasons.append(f"not covered: {', '.join(missing)}")
        if options.rotate_key:
            reasons.append("key rotation asked")
        return reasons

    def _renew(self, site: Site, entry: Entry, outcome: SiteOutcome,
               options: RenewOptions) -> None:
        names = outcome.hostnames
        context = self._hook_context(site, names, entry)
        self._hook(outcome, "pre", options.hooks.pre, context, options, fatal=True)
        try:
            result = self._issue(names, entry)
        except BaseException:
            self._hook(outcome, "post", options.hooks.post, context, options, result=FAILED)
            raise

        new = self.store.get_certificate(int(result.certificate["id"]))
        outcome.new_id, outcome.new_cloudflare_id = new.id, new.cf_id
        outcome.not_after, outcome.result = new.not_after, RENEWED
        self._retire(entry, new.id, new.lineage, site, options)

        context = self._hook_context(site, names, entry, new_lineage=new.lineage,
                                     cf_id=new.cf_id)
        self._hook(outcome, "deploy", options.hooks.deploy, context, options)
        self._hook(outcome, "post", options.hooks.post, context, options, result=RENEWED)
        self.progress(f"{site.name}: renewed, certificate {new.cf_id or new.serial_hex} "
                      f"valid until {new.not_after:%Y-%m-%d}")
        self.notifier.notify("renewed", INFO, f"renewed {site.name} "
                             f"({', '.join(names)}) until {new.not_after:%Y-%m-%d}",
                             subject=site.name, site=site.name, hostnames=names,
                             cloudflare_id=new.cf_id, not_after=new.not_after)

    def _issue(self, names: list[str], entry: Entry) -> Any:
        from origincert.provision.issue import IssueOptions

        record = self.store.get_certificate(int(entry.id or 0))
        wanted: dict[str, Any] = {
            "account": entry.account, "key_type": entry.key_type or "ecdsa",
            "validity_days": record.validity_days if record else 5475,
            "reissue": True, "replace": True, "zone": False,
        }
        known = {f.name for f in dataclasses.fields(IssueOptions)}
        if entry.ca == "acme" and "ca" in known:
            wanted["ca"] = "letsencrypt"
            wanted.pop("validity_days")
        issuer = self.issuer_factory(lambda line: self.progress(f"  {line}"))
        return issuer.issue(names, IssueOptions(**{k: v for k, v in wanted.items()
                                                   if k in known}))

    def _retire(self, old: Entry, new_id: int, new_lineage: str, site: Site,
                options: RenewOptions) -> None:
        """The old certificate: superseded now, revoked after the grace period."""
        if old.id is None or old.id == new_id:
            return
        current = self.store.get_certificate(old.id)
        if current is not None and current.status != "superseded" \
                and current.lineage != new_lineage:
            # a new lineage (names changed): the Issuer superseded only its own lineage
            self.store.update_certificate(old.id, status="superseded", replaced_by=new_id)
        if old.ca != "origin" or not old.cloudflare_id or old.revoked:
            return
        now = self.clock()
        records.queue_revocation(self.store, old.id, replaced_by=new_id, site_name=site.name,
                                 queued_at=now,
                                 due_at=now + timedelta(days=options.revoke_after_days))

    def _hook(self, outcome: SiteOutcome, hook: str, command: Any, context: HookContext,
              options: RenewOptions, *, fatal: bool = False, result: str | None = None) -> None:
        done: HookOutcome | None = run_hook(hook, command, context, result=result,
                                            timeout=options.hooks.timeout)
        if done is None or done.ok:
            return
        outcome.hooks.append(done.describe())
        self.progress(f"{outcome.site}: {done.describe()}")
        if fatal:
            raise OriginCertError(done.describe(),
                                  hint="the certificate was left as it was; fix the hook")
        outcome.result = FAILED
        outcome.error = done.describe()
        self.notifier.notify("hook_failed", ERROR, f"{outcome.site}: {done.describe()}",
                             subject=outcome.site, site=outcome.site,
                             hostnames=outcome.hostnames)

    def _hook_context(self, site: Site, names: list[str], entry: Entry, *,
                      new_lineage: str | None = None, cf_id: str | None = None) -> HookContext:
        lineage = new_lineage or entry.lineage or lineage_name(names[0])
        cert_path, key_path = self.certstore.live_paths(lineage)
        return HookContext(site=site.name, hostnames=tuple(names),
                           lineage_dir=str(cert_path.parent), cert_path=str(cert_path),
                           key_path=str(key_path), cf_id=cf_id or entry.cloudflare_id)

    # the sites and the notifications

    def _sites(self, wanted: str | None) -> list[Site]:
        sites = self.server.sites()
        if wanted is None:
            return sites
        name = wanted.strip().lower()
        chosen = [s for s in sites if s.name == name or name in s.hostnames]
        if not chosen:
            known = ", ".join(sorted(s.name for s in sites)) or "none"
            raise HostnameError(f"no {self.server.kind} site is called {wanted}",
                                hint=f"the sites are: {known}")
        return chosen

    def _warn(self, found: Inventory, report: RenewReport, options: RenewOptions) -> None:
        """Served certificates still expiring or revoked after this run: tell someone."""
        if options.dry_run:
            return
        now = self.clock()
        for entry in found.entries:
            ours = entry.id is not None
            needs_care = entry.revoked or (is_due(entry, now, options.days) if ours
                                           else entry.expiring or entry.expired)
            if not entry.served or not needs_care:
                continue
            sites = sorted({use.site for use in entry.uses})
            subject = entry.cloudflare_id or entry.fingerprint_sha256
            advice = "run: origincert renew" if entry.id is not None else \
                f"not origincert's; take it over with: origincert issue --site {sites[0]} " \
                "--replace"
            if entry.revoked:
                self.notifier.notify(
                    "revoked_but_served", WARNING,
                    f"{', '.join(sites)} serves a certificate revoked at Cloudflare; {advice}",
                    subject=subject, sites=sites, hostnames=entry.hostnames,
                    cloudflare_id=entry.cloudflare_id)
                continue
            when = f"{entry.not_after:%Y-%m-%d}" if entry.not_after else "?"
            verb = "expired on" if entry.expired else "expires on"
            self.notifier.notify(
                "expiring", WARNING,
                f"{', '.join(sites)}: certificate {verb} {when}; {advice}", subject=subject,
                sites=sites, hostnames=entry.hostnames, cloudflare_id=entry.cloudflare_id,
                not_after=entry.not_after)

    def _summarize(self, report: RenewReport) -> None:
        severity = ERROR if report.failed else INFO
        failed = [s.site for s in report.sites if s.result == FAILED]
        self.notifier.notify("renew_run", severity, f"renew: {report.summary()}",
                             failed_sites=failed or None,
                             renewed_sites=[s.site for s in report.sites
                                            if s.result == RENEWED] or None)


def _names_for(site: Site, entry: Entry) -> list[str]:
    """The site's current hostnames, the certificate's own first (its lineage stays)."""
    current = []
    for name in site.hostnames:
        try:
            current.append(hostname_rules.validate(name))
        except HostnameError:
            continue  # "_", a regex or a catch-all is not a certificate name
    kept = [n for n in entry.hostnames if n in current]
    return kept + [n for n in current if n not in kept]
