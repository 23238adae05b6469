"""Run every check on the chosen hostnames, concurrently, and collect the report.

Handshakes and API calls are I/O, so checks run in threads; the facts they
share (one read of each zone's settings and records) are memoized per run in
``Facts``. A check that cannot get its evidence becomes a ``doctor.incomplete``
finding rather than silence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from origincert import hostnames as names
from origincert.doctor import checks
from origincert.doctor import config as origin_config
from origincert.doctor.facts import Facts, Options, Target
from origincert.doctor.findings import WARNING, Checked, Finding, Fix, Report, finding
from origincert.errors import OriginCertError, UsageError
from origincert.state.db import Store
from origincert.webserver.base import Site, WebServer

log = logging.getLogger(__name__)

WORKERS = 16


@dataclass(frozen=True)
class Selection:
    hostnames: tuple[str, ...] = ()
    site: str | None = None
    all: bool = False


class Doctor:
    def __init__(self, store: Store | None, server: WebServer | None,
                 options: Options | None = None, *,
                 progress: Callable[[str], None] = lambda line: None) -> None:
        self.store = store
        self.server = server
        self.options = options or Options()
        self.progress = progress

    def diagnose(self, selection: Selection) -> Report:
        facts = Facts(self.store, self.server, self.options)
        try:
            return self._diagnose(selection, facts)
        finally:
            facts.close()

    def fix(self, selection: Selection, report: Report) -> Report:
        """Apply the automatic fixes of ``report``, then check again."""
        from origincert.doctor.fixes import apply

        facts = Facts(self.store, self.server, self.options)
        try:
            targets = self._targets(selection, facts)
            fixed = apply(report, targets, facts, self.server, progress=self.progress)
        finally:
            facts.close()
        after = self.diagnose(selection)
        after.fixes = fixed
        after.before = report
        return after

    # the run

    def _diagnose(self, selection: Selection, facts: Facts) -> Report:
        checks.load()
        targets = self._targets(selection, facts)
        report = Report(checked=[Checked(t.hostname, t.zone.name if t.zone else None,
                                         t.site.name if t.site else None) for t in targets])
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="doctor") as pool:
            futures = [pool.submit(self._host, t, facts) for t in targets]
            futures += [pool.submit(self._site, site, t, facts)
                         for site, t in _sites(targets).items()]
            futures += [pool.submit(self._zone, group, facts)
                        for group in _zones(targets).values()]
            futures += [pool.submit(_guarded, fn, "run", targets[0] if targets else None,
                                    targets, facts) for fn in checks.RUN_CHECKS]
            for future in futures:
                report.add(_result(future))
        return report

    def _host(self, target: Target, facts: Facts) -> list[Finding]:
        config = origin_config.read(self.server, target.hostname)
        found: list[Finding] = []
        for check in checks.HOST_CHECKS:
            found += _guarded(check, "host", target, target, facts, config)
        return found

    def _site(self, site: Site, target: Target, facts: Facts) -> list[Finding]:
        config = origin_config.read(self.server, target.hostname)
        found: list[Finding] = []
        for check in checks.SITE_CHECKS:
            found += _guarded(check, "site", target, site, target, facts, config)
        return found

    def _zone(self, targets: list[Target], facts: Facts) -> list[Finding]:
        found: list[Finding] = []
        for check in checks.ZONE_CHECKS:
            found += _guarded(check, "zone", targets[0], targets, facts)
        return found

    def _targets(self, selection: Selection, facts: Facts) -> list[Target]:
        chosen = self._chosen(selection, facts)
        return [facts.target(hostname, site) for hostname, site in chosen]

    def _chosen(self, selection: Selection, facts: Facts) -> list[tuple[str, Site | None]]:
        try:
            sites = facts.sites() if self.server is not None else []
        except OriginCertError:
            if not selection.hostnames:
                raise
            sites = []  # named hostnames are still checked from Cloudflare's side
        if selection.hostnames:
            wanted = [names.validate(h) for h in selection.hostnames]
            return [(h, next((s for s in sites if h in s.hostnames), None)) for h in wanted]
        if selection.site:
            site = next((s for s in sites if s.name == selection.site
                         or selection.site in s.hostnames), None)
            if site is None:
                raise UsageError(f"no site named {selection.site}",
                                 hint="see the names with: origincert sites")
            return [(h, site) for h in site.hostnames]
        chosen: list[tuple[str, Site | None]] = []
        for site in sites:
            chosen += [(h, site) for h in site.hostnames if h not in {c[0] for c in chosen}]
        if not chosen:
            raise UsageError("no site with a hostname in the web server configuration",
                             hint="name the hostnames to check: origincert doctor HOSTNAME")
        return chosen


def _sites(targets: list[Target]) -> dict[Site, Target]:
    first: dict[Site, Target] = {}
    for target in targets:
        if target.site is not None and target.site not in first:
            first[target.site] = target
    return first


def _zones(targets: list[Target]) -> dict[str, list[Target]]:
    grouped: dict[str, list[Target]] = {}
    for target in targets:
        if target.zone is not None:
            grouped.setdefault(target.zone.id, []).append(target)
    return grouped


def _guarded(check: Callable[..., list[Finding]], kind: str, target: Target | None,
             *args: object) -> list[Finding]:
    """Run one check; an error reading its evidence becomes a finding, not silence."""
    try:
        return list(check(*args))
    except OriginCertError as err:
        where = target.hostname if target is not None else "doctor"
        if kind == "zone" and target is not None and target.zone is not None:
            where = target.zone.name
        log.info("check incomplete", extra={"check": check.__name__, "hostname": where,
                                             "error": err.one_line()})
        return [finding(
            "doctor.incomplete", WARNING, where, f"could not check {check.__name__.strip('_')}"
            .replace("_", " "), zone=target.zone.name if target and target.zone else None,
            evidence=[err.one_line()],
            explanation="doctor could not read what this check needs, so it cannot say "
                        "whether this part is healthy.",
            fix=Fix("give the credential the permission named above, or retry",
                    command="origincert account verify"))]


def _result(future: Future) -> list[Finding]:
    return future.result()
