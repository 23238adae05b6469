"""Which account, zone and site each hostname belongs to, before anything changes."""

from __future__ import annotations

from dataclasses import dataclass

from origincert import hostnames as names
from origincert.accounts.connect import client_for
from origincert.cloudflare.client import CloudflareClient, Zone
from origincert.errors import CloudflareAPIError, HostnameError, UsageError
from origincert.state.db import Store
from origincert.state.models import Account
from origincert.webserver.base import Site, WebServer


@dataclass
class Reach:
    """The account chosen for a set of hostnames, its client, and each name's zone."""

    account: Account
    client: CloudflareClient
    zones: dict[str, Zone]

    def zone_ids(self) -> list[str]:
        return sorted({zone.id for zone in self.zones.values()})

    def zone_names(self) -> list[str]:
        return sorted({zone.name for zone in self.zones.values()})


def normalize_all(hostnames: list[str]) -> list[str]:
    """Validated, normalized, de-duplicated names, in the order given."""
    seen: list[str] = []
    for raw in hostnames:
        name = names.validate(raw)
        if name not in seen:
            seen.append(name)
    if not seen:
        raise UsageError("name at least one hostname")
    return seen


def find_reach(store: Store, hostnames: list[str], account_name: str | None) -> Reach:
    """The one connected account whose credential reaches the zone of every name."""
    accounts = [store.get_account(account_name)] if account_name else store.list_accounts()
    if not accounts:
        raise UsageError("no Cloudflare account is connected",
                         hint="connect one with: origincert account add NAME --token-file FILE")

    best: tuple[Account, CloudflareClient, dict[str, Zone]] | None = None
    for account in accounts:
        client = client_for(store, account)
        zones = _zones_reached(client, hostnames, explicit=bool(account_name))
        if len(zones) == len(hostnames):
            return _checked(Reach(account, client, zones))
        if best is None or len(zones) > len(best[2]):
            best = (account, client, zones)
        else:
            client.close()

    missing = [h for h in hostnames if best is None or h not in best[2]]
    raise HostnameError(
        "no connected account reaches the zone of " + ", ".join(missing),
        hint="connect an account whose credential covers that zone (Zone Resources in the "
             "token), or check the spelling",
    )


def _zones_reached(client: CloudflareClient, hostnames: list[str], *,
                   explicit: bool) -> dict[str, Zone]:
    try:
        visible = {zone.name: zone for zone in client.zones()}
    except CloudflareAPIError:
        if explicit:
            raise
        return {}
    reached = {}
    for hostname in hostnames:
        for candidate in names.zone_candidates(hostname):
            if candidate in visible:
                reached[hostname] = visible[candidate]
                break
    return reached


def _checked(reach: Reach) -> Reach:
    inactive = sorted({z.name for z in reach.zones.values() if z.status != "active"})
    if inactive:
        raise HostnameError(
            f"zone {', '.join(inactive)} is not active at Cloudflare yet",
            hint="finish adding the zone (name servers) before issuing for it",
        )
    return reach


def site_for(server: WebServer, hostnames: list[str]) -> Site:
    """The one site whose configuration serves every name."""
    sites = server.sites()
    owners: dict[str, list[Site]] = {h: [s for s in sites if h in s.hostnames]
                                     for h in hostnames}

    unserved = [h for h, found in owners.items() if not found]
    if unserved:
        raise HostnameError(
            f"no {server.kind} site serves {', '.join(unserved)}",
            hint="add the name to the site's configuration first, or check which "
                 "configuration origincert reads: origincert sites",
        )

    chosen = {id(site): site for found in owners.values() for site in found}
    if len(chosen) > 1:
        where = "; ".join(f"{s.name} ({s.source}:{s.line})" for s in chosen.values())
        raise HostnameError(
            f"these names are served by different sites: {where}",
            hint="issue a certificate per site",
        )
    return next(iter(chosen.values()))


def names_of_site(server: WebServer, site_name: str) -> list[str]:
    """Every name of the site called ``site_name`` (its first name, or any of its names)."""
    wanted = site_name.strip().lower()
    sites = server.sites()
    for site in sites:
        if site.name == wanted or wanted in site.hostnames:
            return list(site.hostnames)
    known = ", ".join(sorted(s.name for s in sites)) or "none"
    raise HostnameError(f"no {server.kind} site is called {site_name}",
                        hint=f"the sites are: {known}")
