"""The parts of ``origincert harden SITE``, each a verified server transaction.

Every part follows the same path: what visitors get through the edge is noted
first; the server edit is applied as a transaction (the site's own certificate
must still be served locally); then the edge is asked again, and any answer
that changed (a 403, a 52x, a 400 for a missing client certificate) undoes it.

Authenticated Origin Pulls switch the zone first (``tls_client_auth``), prove the
site still answers, and only then make the origin require the client
certificate, so the site never goes down (field case C31); undone in the
reverse order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources

from origincert import hostnames
from origincert.accounts.connect import edge_file
from origincert.cloudflare.client import DEFAULT_BASE_URL, Zone
from origincert.errors import OriginCertError, UsageError, VerificationError
from origincert.harden import ranges as cf_ranges
from origincert.pki.certificate import covers
from origincert.probe.tls import handshake, sni_for
from origincert.provision import resolve
from origincert.provision.lock import server_lock
from origincert.provision.transaction import Transaction
from origincert.provision.verify import Check
from origincert.state.certstore import CertStore
from origincert.state.db import Store
from origincert.webserver.base import FileChange, InstallPlan, Site, WebServer
from origincert.webserver.nginx import harden as edits
from origincert.zones.edge import Edge
from origincert.zones.exposure import exposure
from origincert.zones.records import proxied_origins

PARTS = ("real-ip", "allow-cloudflare-only", "catch-all", "aop")
RANGES_FILE = "cloudflare-ips.json"


@dataclass
class HardenOptions:
    parts: list[str] = field(default_factory=list)
    undo: str | None = None
    extra_allow: tuple[str, ...] = ()   # networks trusted besides Cloudflare's (a local proxy)
    account: str | None = None


@dataclass
class HardenResult:
    site: str
    done: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    exposure: list[dict[str, object]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"site": self.site, "done": self.done, "notes": self.notes,
                "exposure": self.exposure}


class Hardener:
    def __init__(self, store: Store, server: WebServer, *,
                 progress: Callable[[str], None] = print, verify_timeout: float = 15.0) -> None:
        self.store = store
        self.server = server
        self.progress = progress
        self.verify_timeout = verify_timeout

    def harden(self, site_name: str, options: HardenOptions) -> HardenResult:
        _check(options)
        names = resolve.names_of_site(self.server, site_name)
        site = resolve.site_for(self.server, names)
        reach = resolve.find_reach(self.store, names, options.account)
        real = (reach.account.api_base or DEFAULT_BASE_URL).rstrip("/") == DEFAULT_BASE_URL
        run = _Run(self, site, names, reach, options,
                   Edge.for_account(edge_file(self.store, reach.account.name), real_api=real))
        try:
            with server_lock(self.store.paths.lock_dir, self.server.kind):
                if options.undo:
                    run.undo(options.undo)
                for part in options.parts:
                    getattr(run, part.replace("-", "_"))()
            run.result.exposure = [f.to_json() for f in run.exposure()]
        finally:
            reach.client.close()
        return run.result


def _check(options: HardenOptions) -> None:
    unknown = [p for p in [*options.parts, *([options.undo] if options.undo else [])]
               if p not in PARTS]
    if unknown:
        raise UsageError(f"unknown part {unknown[0]!r}", hint=f"parts: {', '.join(PARTS)}")


class _Run:
    """One harden run for one site."""

    def __init__(self, owner: Hardener, site: Site, names: list[str], reach: resolve.Reach,
                 options: HardenOptions, edge: Edge) -> None:
        if owner.server.kind != "nginx":
            raise UsageError(f"origincert harden does not support {owner.server.kind} yet",
                             hint="nginx is supported; for Apache and Caddy the exposure "
                                  "report of `origincert doctor` says what to do by hand")
        self.owner = owner
        self.server = owner.server
        self.site = site
        self.names = names
        self.reach = reach
        self.options = options
        self.edge = edge
        self.result = HardenResult(site.name)

    # the parts

    def real_ip(self) -> None:
        """Real visitor addresses from CF-Connecting-IP, trusted from Cloudflare only (C33)."""
        networks = self._networks()
        plan = edits.plan_part(self.server, self.site, "real-ip", edits.real_ip(networks))
        self._apply("real-ip", plan, self._edge_names())

    def allow_cloudflare_only(self) -> None:
        """Requests from Cloudflare's ranges only; direct visitors get 403."""
        networks = self._networks()
        plan = edits.plan_part(self.server, None, "allow-cloudflare-only-map",
                               edits.allow_map(networks))
        plan.changes += edits.plan_part(self.server, self.site, "allow-cloudflare-only",
                                        edits.allow_only()).changes
        self._apply("allow-cloudflare-only", plan, self._edge_names())
        self.result.notes.append("this is no firewall: the origin still accepts connections "
                                 "from anywhere; restrict ports 80 and 443 to the same ranges")

    def catch_all(self) -> None:
        """A default server on 443 refusing handshakes for names it does not host (C20, C21)."""
        existing = [b for b in self.server._blocks()  # type: ignore[attr-defined]
                    if any(lst.port == 443 and lst.default_server for lst in b.listens)]
        if existing and not edits.is_applied(self.server, "catch-all"):
            self.result.notes.append(f"a default server on port 443 exists already "
                                     f"({existing[0].where}); the TLS catch-all was left out")
            return
        routed = self._routed_names()
        self._refuse_unserved(routed)
        ipv6 = any(lst.ipv6 and lst.ssl for b in self.server._blocks()  # type: ignore
                   for lst in b.listens)
        plan = edits.plan_part(self.server, None, "catch-all", edits.catch_all(ipv6))
        self._apply("catch-all", plan, routed)
        self.result.notes.append("clients that send no name (some monitors, tunnels set up "
                                 "with an address) are refused too")

    def aop(self) -> None:
        """Zone-level Authenticated Origin Pulls, then the origin requiring them (C31)."""
        zones = self._zones()
        watched = self._edge_names()
        before = self._statuses(watched)
        for zone in zones:
            mode = str(self.reach.client.get_setting(zone.id, "ssl"))
            if mode not in ("full", "strict", "origin_pull") and not self._strict_rule(zone):
                raise UsageError(f"zone {zone.name} is on {mode}: Authenticated Origin Pulls "
                                 "need Full or Full (strict)",
                                 hint="run `origincert issue` for the site first")
        switched = [z for z in zones
                    if str(self.reach.client.get_setting(z.id, "tls_client_auth")) != "on"]
        for zone in switched:
            self.reach.client.edit_setting(zone.id, "tls_client_auth", "on", zone=zone.name)
            self.owner.progress(f"zone {zone.name}: tls_client_auth: off → on")
        try:
            self._same_through_edge(before, "after switching Authenticated Origin Pulls on")
            plan = self._aop_plan()
            self._apply("aop", plan, watched, before=before)
        except BaseException:
            for zone in switched:
                self.reach.client.edit_setting(zone.id, "tls_client_auth", "off",
                                               zone=zone.name)
                self.owner.progress(f"zone {zone.name}: tls_client_auth back to off")
            raise

    def undo(self, part: str) -> None:
        extra = [part + "-map"] if part == "allow-cloudflare-only" else []
        plan = edits.plan_removal(self.server, part, *extra)
        if part == "aop":
            bundle = edits.part_file(self.server, "origin-pull-ca").with_suffix(".pem")
            if bundle.exists():
                plan.changes.append(FileChange(bundle, bundle.read_bytes(), None))
        watched = self._routed_names() if part == "catch-all" else self._edge_names()
        self._apply(f"undo {part}", plan, watched, require_same=False)
        if part == "aop":
            # the origin no longer requires the certificate: the zone may stop sending it
            for zone in self._zones():
                self.reach.client.edit_setting(zone.id, "tls_client_auth", "off",
                                               zone=zone.name)
                self.owner.progress(f"zone {zone.name}: tls_client_auth: on → off")

    # the transaction and its proof

    def _apply(self, part: str, plan: InstallPlan, watched: list[str], *,
               before: dict[str, int | None] | None = None, require_same: bool = True) -> None:
        if plan.empty:
            self.owner.progress(f"{part}: already in place")
            self.result.done.append(f"{part} (already in place)")
            return
        before = before if before is not None else self._statuses(watched)
        checks = self._local_checks()
        transaction = Transaction(self.server, self.owner.store,
                                  CertStore(self.owner.store.paths),
                                  verify_timeout=self.owner.verify_timeout)
        transaction.apply(f"harden {part}", plan.changes, None, lambda: checks,
                          progress=self.owner.progress)
        try:
            if require_same:
                self._same_through_edge(before, f"after {part}")
            else:
                self._served_through_edge(watched, f"after {part}")
        except VerificationError:
            undo = [FileChange(c.path, c.after, c.before, c.mode) for c in plan.changes]
            transaction.apply(f"harden {part} (undone)", undo, None, lambda: checks,
                              progress=self.owner.progress)
            self.owner.progress(f"{part}: undone, the site answered differently through the edge")
            raise
        self.result.done.append(part)

    def _local_checks(self) -> list[Check]:
        """The certificate each name is served now, which every part must leave in place."""
        checks = []
        for endpoint in self.server.endpoints(self.site):
            for name in self.names:
                shake = handshake(endpoint.host, endpoint.port, sni_for(name), timeout=5.0)
                if shake.certificate_der is not None:
                    checks.append(Check(name, endpoint, shake.certificate_der))
        if not checks:
            raise UsageError(f"{self.site.name} serves no certificate over HTTPS",
                             hint=f"issue one first: origincert issue --site {self.site.name}")
        return checks

    def _statuses(self, names: list[str]) -> dict[str, int | None]:
        if not self.edge.enabled:
            return {}
        return {name: self.edge.get(name).status for name in names}

    def _same_through_edge(self, before: dict[str, int | None], when: str) -> None:
        after = self._statuses(list(before))
        changed = [f"{name}: HTTP {before[name]} before, {after[name]} {when}"
                   for name in before if after[name] != before[name]]
        if changed:
            raise VerificationError("the site answers differently through the edge: "
                                    + "; ".join(changed),
                                    hint="the change was undone; nothing is left changed")
        for name, status in after.items():
            self.owner.progress(f"verified through the edge: {name} still answers HTTP {status}")

    def _served_through_edge(self, names: list[str], when: str) -> None:
        if not self.edge.enabled:
            return
        failed = [a.describe() for a in (self.edge.get(n) for n in names) if not a.ok]
        if failed:
            raise VerificationError(f"the site is not served through the edge {when}: "
                                    + "; ".join(failed))

    # helpers

    def _networks(self) -> tuple[str, ...]:
        state_file = self.owner.store.paths.state_dir / RANGES_FILE
        found = cf_ranges.fetch(self.reach.client, state_file)
        self.owner.progress(f"Cloudflare publishes {len(found.ipv4)} IPv4 and {len(found.ipv6)} "
                            f"IPv6 ranges (kept in {state_file})")
        return found.all + cf_ranges.parse_extra(list(self.options.extra_allow))

    def _aop_plan(self) -> InstallPlan:
        bundle = edits.part_file(self.server, "origin-pull-ca").with_suffix(".pem")
        pem = (resources.files("origincert.harden") / "origin_pull_ca.pem").read_text()
        pinned = edge_file(self.owner.store, self.reach.account.name)
        if pinned.is_file():  # the sandbox's edge shows its own origin-pull certificate
            pem += json.loads(pinned.read_text()).get("origin_pull_ca") or ""
        plan = edits.plan_part(self.server, self.site, "aop",
                               edits.client_certificates(bundle), tls_only=True)
        current = bundle.read_bytes() if bundle.exists() else None
        if current != pem.encode():
            plan.changes.insert(0, FileChange(bundle, current, pem.encode(), mode=0o644))
        return plan

    def _zones(self) -> list[Zone]:
        return list({z.id: z for z in self.reach.zones.values()}.values())

    def _edge_names(self) -> list[str]:
        return [n for n in self.names if not n.startswith("*.")
                and hostnames.is_edge_covered(n, self.reach.zones[n].name)]

    def _routed_names(self) -> list[str]:
        """Every proxied, edge-covered name whose origin is an origin of this site (C21)."""
        routed: list[str] = []
        for zone in self._zones():
            origins = proxied_origins(self.reach.client.dns_records(zone.id))
            ours = {a for n in self.names for a in origins.get(n, [])}
            routed += [name for name, addresses in sorted(origins.items())
                       if set(addresses) & ours and not name.startswith("*.")
                       and hostnames.is_edge_covered(name, zone.name)]
        return routed

    def _refuse_unserved(self, routed: list[str]) -> None:
        served = [s for s in self.server.sites() if s.https]
        missing = [n for n in routed if not any(covers(s.hostnames, n) for s in served)]
        if missing:
            raise OriginCertError(
                "a TLS catch-all would refuse these proxied names, which reach this origin "
                "but have no HTTPS server block here: " + ", ".join(missing),
                hint="issue certificates for them first (origincert issue), or point their "
                     "records elsewhere; nothing was changed")

    def _strict_rule(self, zone: Zone) -> bool:
        rules = self.reach.client.config_rules(zone.id)
        return any((r.get("action_parameters") or {}).get("ssl") in ("full", "strict")
                   and all(f'"{n}"' in str(r.get("expression")) for n in self._edge_names())
                   for r in rules)

    def exposure(self) -> list:  # type: ignore[type-arg]
        found = []
        for zone in self._zones():
            found += exposure(self.reach.client.dns_records(zone.id))
        return found
