"""Bring a zone to the guide's state after a verified install, safely.

Order: the issued names' records proxied, the HTTPS settings on, then the SSL
mode, which is switched zone-wide only when every proxied hostname of the
zone would pass Full (strict). Every change keeps its previous value; the
result is checked through the edge, and on failure every change is undone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509

from origincert import hostnames as names
from origincert.cloudflare.client import CloudflareClient, Zone
from origincert.errors import OriginCertError, VerificationError
from origincert.zones.edge import Edge
from origincert.zones.records import PROXIABLE_TYPES, Record, is_private, proxied_origins
from origincert.zones.strict import STRICT, Verdict, judge

log = logging.getLogger(__name__)

# The settings the guide's best practices ask for, with their wanted values.
HTTPS_SETTINGS = {"always_use_https": "on", "automatic_https_rewrites": "on"}
MIN_TLS = "1.2"
_TLS_ORDER = ("1.0", "1.1", "1.2", "1.3")


@dataclass
class Change:
    """One change to the zone, with what to put back."""

    kind: str     # "setting", "record" or "rules"
    target: str   # the setting id, or "TYPE name"
    before: object
    after: object
    record: Record | None = None

    def describe(self) -> str:
        if self.kind == "rules":
            return f"{self.target} added"
        return f"{self.target}: {self.before} → {self.after}"


@dataclass
class ZoneReport:
    zone: str
    ssl_before: str | None = None
    ssl_after: str | None = None
    changes: list[Change] = field(default_factory=list)
    blockers: list[Verdict] = field(default_factory=list)
    not_edge_covered: list[str] = field(default_factory=list)
    not_proxiable: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    loops: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "zone": self.zone, "ssl_before": self.ssl_before, "ssl_after": self.ssl_after,
            "changes": [c.describe() for c in self.changes],
            "blocked_by": [b.describe() for b in self.blockers],
            "not_edge_covered": self.not_edge_covered, "not_proxiable": self.not_proxiable,
            "verified": self.verified, "redirect_loops_fixed": self.loops,
        }


class ZoneConfigurator:
    def __init__(self, client: CloudflareClient, roots: list[x509.Certificate], edge: Edge, *,
                 progress: Callable[[str], None] = print,
                 address_map: dict[str, str] | None = None) -> None:
        self.client = client
        self.roots = roots
        self.edge = edge
        self.progress = progress
        self.address_map = address_map or {}

    def configure(self, zone: Zone, issued: list[str], *, force: bool = False,
                  strict_hostname: bool = False) -> ZoneReport:
        """Proxy, HTTPS settings, SSL mode; verified through the edge or undone.

        ``force`` switches the zone to Full (strict) even when other hostnames
        would fail; ``strict_hostname`` then sets strict for ``issued`` alone
        through a configuration rule instead.
        """
        report = ZoneReport(zone.name)
        report.not_edge_covered = [h for h in issued if not names.is_edge_covered(h, zone.name)]
        records = self.client.dns_records(zone.id)
        try:
            self._proxy(zone, issued, records, report)
            self._https_settings(zone, report)
            self._ssl_mode(zone, issued, records, report, force=force,
                           strict_hostname=strict_hostname)
            self._verify(issued, report)
        except BaseException as err:
            self._undo(zone, report, reason=err)
            raise
        return report

    def _proxy(self, zone: Zone, issued: list[str], records: list[Record],
               report: ZoneReport) -> None:
        for index, record in enumerate(records):
            if record.name not in issued or record.type not in PROXIABLE_TYPES:
                continue
            if record.proxied:
                continue
            if is_private(record.content):
                report.not_proxiable.append(f"{record.name} points at private address "
                                            f"{record.content}; left DNS only")
                continue
            updated = self.client.set_proxied(zone.id, record, True, zone=zone.name)
            records[index] = updated
            self._did(report, Change("record", f"{record.type} {record.name} proxied",
                                     False, True, record))

    def _https_settings(self, zone: Zone, report: ZoneReport) -> None:
        for setting, wanted in HTTPS_SETTINGS.items():
            self._set(zone, report, setting, wanted)
        current = str(self.client.get_setting(zone.id, "min_tls_version"))
        if current in _TLS_ORDER and _TLS_ORDER.index(current) < _TLS_ORDER.index(MIN_TLS):
            self._set(zone, report, "min_tls_version", MIN_TLS, before=current)

    def _ssl_mode(self, zone: Zone, issued: list[str], records: list[Record],
                  report: ZoneReport, *, force: bool, strict_hostname: bool) -> None:
        report.ssl_before = report.ssl_after = str(self.client.get_setting(zone.id, "ssl"))
        if report.ssl_before == "strict":
            return
        verdicts = self.preflight(records)
        report.blockers = [v for v in verdicts if v.outcome != STRICT]
        if report.blockers:
            verb = "switched anyway (--force)" if force else f"left at {report.ssl_before}"
            self.progress(f"SSL mode of {zone.name} {verb}: "
                          f"{len(report.blockers)} proxied hostname(s) would fail Full (strict)")
            for blocker in report.blockers:
                self.progress(f"  blocks Full (strict): {blocker.describe()}")
        if report.blockers and strict_hostname and not force:
            self._strict_rule(zone, issued, verdicts, report)
            return
        if report.blockers and not force:
            looping = self._looping(issued, report)
            if looping:
                # C01: the origin now forces HTTPS, which loops under Flexible or Off; the
                # loop is our doing, so the mode is fixed for these names in this run.
                report.loops = looping
                self.progress(f"{', '.join(looping)} loop(s) under {report.ssl_before} (the "
                              "origin redirects to HTTPS); setting Full (strict) for the issued "
                              "names by a configuration rule")
                self._strict_rule(zone, issued, verdicts, report)
            return
        self._set(zone, report, "ssl", "strict", before=report.ssl_before)
        report.ssl_after = "strict"

    def _strict_rule(self, zone: Zone, issued: list[str], verdicts: list[Verdict],
                     report: ZoneReport) -> None:
        """Full (strict) for the issued names alone, through a configuration rule."""
        own = [v for v in verdicts if v.hostname in issued and v.outcome != STRICT]
        if own:
            raise VerificationError(
                "the issued names themselves would fail Full (strict): "
                + "; ".join(v.describe() for v in own))
        targets = [h for h in issued if not h.startswith("*.")]
        before = self.client.config_rules(zone.id)
        rule = {
            "expression": "(http.host in {" + " ".join(f'"{h}"' for h in targets) + "})",
            "action": "set_config", "action_parameters": {"ssl": "strict"},
            "description": f"origincert: Full (strict) for {', '.join(targets)}",
        }
        kept = [r for r in before if r.get("description") != rule["description"]]
        self.client.put_config_rules(zone.id, [*kept, rule], zone=zone.name)
        self._did(report, Change("rules", "configuration rule: Full (strict) for "
                                 + ", ".join(targets), before, [*kept, rule]))
        report.ssl_after = f"strict for {', '.join(targets)} (configuration rule)"

    def _looping(self, issued: list[str], report: ZoneReport) -> list[str]:
        """The issued names an HTTPS visitor cannot reach for a redirect loop (C01)."""
        if not self.edge.enabled or report.ssl_before not in ("off", "flexible"):
            return []
        covered = [h for h in issued if h not in report.not_edge_covered
                   and not h.startswith("*.")]
        return [h for h in covered if self.edge.get(h).loops]

    def preflight(self, records: list[Record]) -> list[Verdict]:
        """A verdict for every origin of every proxied hostname of the zone."""
        verdicts: list[Verdict] = []
        for hostname, addresses in sorted(proxied_origins(records).items()):
            verdicts += judge(hostname, addresses, self.roots, address_map=self.address_map)
        return verdicts

    def _verify(self, issued: list[str], report: ZoneReport) -> None:
        if not report.changes:
            return
        if not self.edge.enabled:
            self.progress("no edge to verify through (this API has none); not verified")
            return
        answers = [self.edge.get(h) for h in issued if h not in report.not_edge_covered
                   and not h.startswith("*.")]
        failed = [a for a in answers if not a.ok]
        if failed:
            raise VerificationError(
                "the site is not served through the edge after the zone changes: "
                + "; ".join(a.describe() for a in failed),
                hint="the zone changes were undone; run `origincert doctor` on the names")
        report.verified = [a.describe() for a in answers]
        for answer in answers:
            self.progress(f"verified through the edge: {answer.describe()}")

    def _set(self, zone: Zone, report: ZoneReport, setting: str, wanted: str, *,
             before: object | None = None) -> None:
        if before is None:
            before = self.client.get_setting(zone.id, setting)
        if str(before) == wanted:
            return
        self.client.edit_setting(zone.id, setting, wanted, zone=zone.name)
        self._did(report, Change("setting", setting, before, wanted))

    def _did(self, report: ZoneReport, change: Change) -> None:
        report.changes.append(change)
        self.progress(f"zone {report.zone}: {change.describe()}")

    def _undo(self, zone: Zone, report: ZoneReport, *, reason: BaseException) -> None:
        log.warning("undoing zone changes", extra={"zone": zone.name, "reason": str(reason)})
        for change in reversed(report.changes):
            try:
                if change.kind == "setting":
                    self.client.edit_setting(zone.id, change.target, change.before,
                                             zone=zone.name)
                elif change.kind == "rules":
                    self.client.put_config_rules(zone.id, list(change.before),  # type: ignore
                                                 zone=zone.name)
                elif change.record is not None:
                    self.client.set_proxied(zone.id, change.record, bool(change.before),
                                            zone=zone.name)
            except OriginCertError as err:
                log.error("zone change not undone", extra={"zone": zone.name,
                                                           "change": change.describe(),
                                                           "error": err.one_line()})
        report.changes.clear()



