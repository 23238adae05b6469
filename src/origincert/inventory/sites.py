"""The guide's "connected domains": every site, its names, zones and certificate.

Sites come from the web server's real configuration; each name is matched with
the zone and the connected account that reaches it. Cloudflare is asked once
per account (its zone list), however many sites there are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from origincert import hostnames as names
from origincert.accounts.connect import client_for
from origincert.errors import OriginCertError
from origincert.pki import certificate as certs
from origincert.provision.trust import all_trusted_roots
from origincert.state.db import Store
from origincert.webserver.base import Site, WebServer

log = logging.getLogger(__name__)


@dataclass
class NameInfo:
    hostname: str
    zone: str | None = None
    zone_id: str | None = None
    account: str | None = None


@dataclass
class SiteInfo:
    name: str
    webserver: str
    hostnames: list[NameInfo]
    source: str
    line: int
    https: bool
    managed: bool
    certificate: dict[str, object] | None = None
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        data = dict(vars(self))
        data["hostnames"] = [vars(info) for info in self.hostnames]
        return data


def list_sites(server: WebServer, store: Store | None) -> list[SiteInfo]:
    """Every site of ``server``, with zones from the accounts in ``store``."""
    zones = _visible_zones(store) if store is not None else {}
    roots = all_trusted_roots(store) if store is not None else []
    return [_describe(site, server.kind, zones, roots) for site in server.sites()]


def _describe(site: Site, kind: str, zones: dict[str, tuple[str, str, str]],
              roots: list[x509.Certificate]) -> SiteInfo:
    info = SiteInfo(
        name=site.name, webserver=kind,
        hostnames=[_match(hostname, zones) for hostname in site.hostnames],
        source=str(site.source), line=site.line, https=site.https, managed=site.managed,
    )
    if site.certificate is not None:
        info.certificate = _certificate(site.certificate, roots, info.problems)
    return info


def _match(hostname: str, zones: dict[str, tuple[str, str, str]]) -> NameInfo:
    for candidate in names.zone_candidates(hostname):
        if candidate in zones:
            zone_id, account, _ = zones[candidate]
            return NameInfo(hostname, candidate, zone_id, account)
    return NameInfo(hostname)


def _visible_zones(store: Store) -> dict[str, tuple[str, str, str]]:
    """zone name → (zone id, account name, status), first account wins."""
    found: dict[str, tuple[str, str, str]] = {}
    for account in store.list_accounts():
        client = client_for(store, account, audit=False)
        try:
            for zone in client.zones():
                found.setdefault(zone.name, (zone.id, account.name, zone.status))
        except OriginCertError as err:
            log.warning("zones unreadable", extra={"account": account.name,
                                                   "error": err.one_line()})
        finally:
            client.close()
    return found


def _certificate(path: Path, roots: list[x509.Certificate],
                 problems: list[str]) -> dict[str, object] | None:
    try:
        leaf = certs.load_certificate(path.read_bytes())
    except OSError as err:
        problems.append(f"certificate file {path} cannot be read: {err.strerror}")
        return {"path": str(path)}
    except OriginCertError as err:
        problems.append(f"certificate file {path}: {err.one_line()}")
        return {"path": str(path)}
    about = certs.describe(leaf)
    return {
        "path": str(path), "sans": list(about.sans), "issuer": about.issuer,
        "not_after": about.not_after, "origin_ca": certs.chains_to(leaf, roots),
        "fingerprint_sha256": about.fingerprint_sha256,
    }
