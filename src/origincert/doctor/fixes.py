"""``doctor --fix``: only the fixes origincert can undo, each shown as it is made.

- Zone (SSL mode, proxying, HTTPS settings): ``zones.configure.ZoneConfigurator``,
  which switches the SSL mode only when every proxied hostname of the zone
  passes Full (strict), proxies only the names asked for, verifies through the
  edge and undoes every change if that fails.
- Reissue, for sites origincert manages: Generate & Install with ``force``,
  itself a verified transaction.
- Key file modes: 0600, owned by root; the previous mode and owner are shown.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from origincert.doctor.facts import Facts, Target
from origincert.doctor.findings import (
    KEY_MODE_FIX, REISSUE_FIX, ZONE_FIX, Finding, Fixed, Report,
)
from origincert.errors import OriginCertError
from origincert.webserver.base import WebServer
from origincert.zones.configure import ZoneConfigurator

Progress = Callable[[str], None]


def apply(report: Report, targets: list[Target], facts: Facts, server: WebServer | None, *,
          progress: Progress) -> list[Fixed]:
    fixable = [f for f in report.ordered() if f.fix.automatic]
    fixed: list[Fixed] = []
    broken = {f.hostname for f in report.findings
              if f.id.startswith("edge.") and f.id != "edge.redirect_loop"}
    fixed += _zones([f for f in fixable if f.fix.action == ZONE_FIX], targets, facts, broken,
                    progress)
    fixed += [_key_mode(f, progress) for f in fixable if f.fix.action == KEY_MODE_FIX]
    fixed += _reissues([f for f in fixable if f.fix.action == REISSUE_FIX], facts, server,
                       progress)
    return fixed


def _zones(found: list[Finding], targets: list[Target], facts: Facts, broken: set[str],
           progress: Progress) -> list[Fixed]:
    by_zone: dict[str, list[Finding]] = {}
    for item in found:
        by_zone.setdefault(item.zone or "", []).append(item)
    fixed = []
    for zone_name, items in sorted(by_zone.items()):
        in_zone = [t for t in targets if t.zone is not None and t.zone.name == zone_name]
        if not in_zone:
            continue
        fixed.append(_zone(zone_name, items, in_zone, facts, broken, progress))
    return fixed


def _zone(zone_name: str, items: list[Finding], in_zone: list[Target], facts: Facts,
          broken: set[str], progress: Progress) -> Fixed:
    first = in_zone[0]
    # proxy only the names a finding asks for; verify the proxied names that work now
    # (a name already broken for another reason would undo every change)
    to_proxy = {name for item in items if item.id.startswith("dns.") for name in item.fix.target}
    verify = [t.hostname for t in in_zone if facts.dns(t).proxied and t.hostname not in broken]
    issued = sorted(to_proxy | set(verify))
    progress(f"zone {zone_name}: SSL mode, proxying and HTTPS settings (pre-flight first)")
    configurator = ZoneConfigurator(facts.client(first.account), facts.roots(),
                                    facts.edge(first.account), progress=progress)
    label = ", ".join(sorted({i.id for i in items}))
    try:
        done = configurator.configure(first.zone, issued)
    except OriginCertError as err:
        progress(f"zone {zone_name}: not changed: {err.one_line()}")
        return Fixed(label, zone_name, False, (), err.one_line())
    changes = [c.describe() for c in done.changes]
    changes += [f"SSL mode left at {done.ssl_before}, blocked by {b.describe()}"
                for b in done.blockers]
    return Fixed(label, zone_name, bool(done.changes), tuple(changes),
                 None if not done.blockers else "Full (strict) blocked by other hostnames")


def _key_mode(item: Finding, progress: Progress) -> Fixed:
    path = Path(item.fix.target[0])
    try:
        before = path.stat()
        os.chown(path, 0, 0)
        os.chmod(path, 0o600)
    except OSError as err:
        return Fixed(item.id, item.hostname, False, (), f"{path}: {err.strerror}")
    change = (f"{path}: mode {stat.S_IMODE(before.st_mode):04o} → 0600, owner "
              f"{before.st_uid}:{before.st_gid} → 0:0")
    progress(change)
    return Fixed(item.id, item.hostname, True, (change,))


def _reissues(found: list[Finding], facts: Facts, server: WebServer | None,
              progress: Progress) -> list[Fixed]:
    if not found or server is None or facts.store is None:
        return []
    from origincert.provision.issue import IssueOptions, Issuer

    fixed = []
    done: set[tuple[str, ...]] = set()
    for item in found:
        names = item.fix.target
        if names in done:
            continue
        done.add(names)
        progress(f"reissuing {', '.join(names)}")
        try:
            result = Issuer(facts.store, server, progress=progress).issue(
                list(names), IssueOptions(reissue=True))
        except OriginCertError as err:
            fixed.append(Fixed(item.id, item.hostname, False, (), err.one_line()))
            continue
        fixed.append(Fixed(item.id, item.hostname, True, (
            f"certificate {result.certificate.get('cloudflare_id')} installed for "
            f"{', '.join(names)}",)))
    return fixed
