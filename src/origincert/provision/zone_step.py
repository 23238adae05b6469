"""After a verified install: the zone, the guide's way (issue 6).

Names the free edge certificate cannot cover are reported before anything is
issued; after the install, each zone of the issued names is configured by
``zones.configure``, verified through the edge, or left as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from origincert import hostnames
from origincert.accounts.connect import edge_file
from origincert.cloudflare.client import DEFAULT_BASE_URL, Zone
from origincert.errors import OriginCertError
from origincert.provision.trust import trusted_roots
from origincert.state.db import Store
from origincert.zones.configure import ZoneConfigurator
from origincert.zones.edge import Edge

if TYPE_CHECKING:
    from origincert.provision.issue import IssueOptions
    from origincert.provision.resolve import Reach


def edge_coverage(names: list[str], zones: dict[str, Zone],
                  progress: Callable[[str], None]) -> list[str]:
    """A note for each name Cloudflare's free edge certificate does not cover (C07, C08)."""
    notes = []
    for name in names:
        zone = zones[name].name
        if hostnames.is_edge_covered(name, zone):
            continue
        note = (f"{name} is two or more levels below {zone}: Cloudflare's free edge "
                f"certificate covers only {zone} and *.{zone}, so visitors would get a TLS "
                "error at the edge; the origin certificate cannot fix that. Use a one-level "
                "name, an Advanced Certificate, or a custom edge certificate for it")
        progress(f"warning: {note}")
        notes.append(note)
    return notes


def configure_zones(store: Store, reach: Reach, names: list[str], options: IssueOptions, *,
                    progress: Callable[[str], None]) -> list[dict[str, object]]:
    """Configure each zone of ``names``; a failure is undone and raised."""
    account = reach.account
    real_api = (account.api_base or DEFAULT_BASE_URL).rstrip("/") == DEFAULT_BASE_URL
    edge = Edge.for_account(edge_file(store, account.name), real_api=real_api)
    configurator = ZoneConfigurator(reach.client, trusted_roots(store, account.name), edge,
                                    progress=progress)
    reports = []
    for zone in _zones_of(reach, names):
        issued = [n for n in names if reach.zones[n].id == zone.id]
        try:
            report = configurator.configure(zone, issued, force=options.force,
                                            strict_hostname=options.strict_hostname)
        except OriginCertError as err:
            raise OriginCertError(
                f"the certificate is installed and verified, but configuring zone "
                f"{zone.name} failed and was undone: {err.message}",
                hint=err.hint or "rerun with --no-zone to skip the zone step",
            ) from err
        reports.append(report.to_json())
    return reports


def _zones_of(reach: Reach, names: list[str]) -> list[Zone]:
    seen: dict[str, Zone] = {}
    for name in names:
        seen.setdefault(reach.zones[name].id, reach.zones[name])
    return list(seen.values())
