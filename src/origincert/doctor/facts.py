"""Everything doctor reads, read once per run however many hostnames ask for it.

Checks run in threads; each fact (a zone's settings, its DNS records, its
Origin CA certificates, the permission report, a handshake with an origin) is
computed by the first thread that asks and shared with the others. A fact
that could not be read raises the same error to every check that needs it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509

from origincert import hostnames as names
from origincert.accounts import report as reports
from origincert.accounts.connect import client_for, edge_file
from origincert.cloudflare.client import (
    DEFAULT_BASE_URL, CloudflareClient, DnsRecord, OriginCertificate, Zone,
)
from origincert.errors import OriginCertError
from origincert.inventory import letsencrypt
from origincert.probe import port as ports
from origincert.probe.http import Page, fetch
from origincert.probe.tls import Handshake, handshake
from origincert.provision.trust import all_trusted_roots
from origincert.state.db import Store
from origincert.webserver.base import Site, WebServer
from origincert.zones.edge import Edge
from origincert.zones.records import PROXIABLE_TYPES, proxied_origins
from origincert.zones.strict import Verdict, judge

log = logging.getLogger(__name__)

T = TypeVar("T")

_QUOTED = re.compile(r'"([^"]+)"')


@dataclass(frozen=True)
class Options:
    """Where doctor looks on this machine, and its clock."""

    letsencrypt_dir: Path = Path("/etc/letsencrypt")
    acme_sh_home: Path = Path("/root/.acme.sh")
    system_root: Path = Path("/")
    wp_cli: str = "wp"
    expiry_warning_days: int = 14
    timeout: float = 4.0
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Target:
    """One hostname to check: its site on this machine, its zone at Cloudflare."""

    hostname: str
    site: Site | None
    zone: Zone | None
    account: str | None

    @property
    def sni(self) -> str:
        return "origincert-check" + self.hostname[1:] if self.hostname.startswith("*.") \
            else self.hostname


@dataclass(frozen=True)
class DnsView:
    """What the zone's DNS says about one hostname."""

    records: tuple[DnsRecord, ...]   # the A/AAAA/CNAME records at the name (or its wildcard)
    proxied: bool
    addresses: tuple[str, ...]       # origin addresses, CNAMEs followed inside the zone


class Facts:
    def __init__(self, store: Store | None, server: WebServer | None, options: Options) -> None:
        self.store = store
        self.server = server
        self.options = options
        self._lock = threading.Lock()
        self._locks: dict[tuple, threading.Lock] = {}
        self._values: dict[tuple, tuple[bool, Any]] = {}
        self._clients: dict[str, CloudflareClient] = {}

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def now(self) -> datetime:
        return self.options.clock()

    # the memo

    def _once(self, key: tuple, compute: Callable[[], T]) -> T:
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._values:
                try:
                    self._values[key] = (True, compute())
                except OriginCertError as err:
                    self._values[key] = (False, err)
            ok, value = self._values[key]
        if not ok:
            raise value
        return value

    # this machine

    def sites(self) -> list[Site]:
        return self._once(("sites",), lambda: self.server.sites() if self.server else [])

    def roots(self) -> list[x509.Certificate]:
        from origincert.pki.roots import cloudflare_roots

        return self._once(("roots",), lambda: all_trusted_roots(self.store)
                          if self.store is not None else cloudflare_roots())

    def renewals(self) -> letsencrypt.Scan:
        opts = self.options
        return self._once(("letsencrypt",), lambda: letsencrypt.scan(
            opts.letsencrypt_dir, opts.acme_sh_home, opts.system_root))

    # Cloudflare

    def zones(self) -> dict[str, tuple[Zone, str]]:
        """zone name → (zone, account name); the first account that reaches it wins."""
        return self._once(("zones",), self._read_zones)

    def _read_zones(self) -> dict[str, tuple[Zone, str]]:
        found: dict[str, tuple[Zone, str]] = {}
        for account in self.store.list_accounts() if self.store is not None else []:
            try:
                for zone in self.client(account.name).zones():
                    found.setdefault(zone.name, (zone, account.name))
            except OriginCertError as err:
                log.warning("zones unreadable", extra={"account": account.name,
                                                       "error": err.one_line()})
        return found

    def client(self, account: str) -> CloudflareClient:
        with self._lock:
            if account not in self._clients:
                stored = self.store.get_account(account)
                self._clients[account] = client_for(self.store, stored)
            return self._clients[account]

    def target(self, hostname: str, site: Site | None) -> Target:
        zones = self.zones()
        for candidate in names.zone_candidates(hostname):
            if candidate in zones:
                zone, account = zones[candidate]
                return Target(hostname, site, zone, account)
        return Target(hostname, site, None, None)

    def setting(self, target: Target, setting: str) -> str:
        zone = _zone(target)
        return self._once(("setting", zone.id, setting), lambda: str(
            self.client(target.account).get_setting(zone.id, setting)))

    def records(self, target: Target) -> list[DnsRecord]:
        zone = _zone(target)
        return self._once(("records", zone.id),
                          lambda: self.client(target.account).dns_records(zone.id))

    def dns(self, target: Target) -> DnsView:
        """The records at the hostname (or at the wildcard one label up), and where they lead."""
        records = self.records(target)
        exact = [r for r in records if r.name == target.hostname and r.type in PROXIABLE_TYPES]
        if not exact and "." in target.hostname and not target.hostname.startswith("*."):
            wildcard = "*." + target.hostname.partition(".")[2]
            exact = [r for r in records if r.name == wildcard and r.type in PROXIABLE_TYPES]
        if not exact:
            return DnsView((), False, ())
        name = exact[0].name
        # follow CNAMEs whatever their proxy status: the origin is where they lead
        every = [replace(r, proxied=True) for r in records]
        addresses = proxied_origins(every).get(name, [])
        return DnsView(tuple(exact), any(r.proxied for r in exact), tuple(addresses))

    def origin_certificates(self, target: Target) -> list[OriginCertificate]:
        zone = _zone(target)
        return self._once(("origin_certs", zone.id),
                          lambda: self.client(target.account).list_origin_certificates(zone.id))

    def permissions(self, target: Target) -> dict[str, Any]:
        """The permission report's entry for the zone (issue 4), asked afresh once per run."""
        zone = _zone(target)
        return self._once(("permissions", zone.id), lambda: self._permissions(target))

    def _permissions(self, target: Target) -> dict[str, Any]:
        account = self.store.get_account(target.account)
        found = reports.build(self.client(target.account), name=account.name,
                              kind=account.kind, email=account.email,
                              only_zones=[target.zone.name])
        entries = [z for z in found["zones"] if z["name"] == target.zone.name]
        return entries[0] if entries else {"name": target.zone.name, "missing": [],
                                           "actions": {}, "notes": found["notes"]}

    def mode(self, target: Target) -> str:
        """The SSL mode Cloudflare uses for this hostname: a configuration rule's, or the
        zone's (issue 6's per-hostname Full (strict) is such a rule)."""
        return self.rule_modes(target).get(target.hostname) or self.setting(target, "ssl")

    def rule_modes(self, target: Target) -> dict[str, str]:
        zone = _zone(target)
        return self._once(("rules", zone.id), lambda: self._rule_modes(target))

    def _rule_modes(self, target: Target) -> dict[str, str]:
        try:
            rules = self.client(target.account).config_rules(target.zone.id)
        except OriginCertError as err:
            # without Config Rules → Read the zone's mode is all doctor can go by
            log.info("configuration rules unreadable", extra={"zone": target.zone.name,
                                                              "error": err.one_line()})
            return {}
        modes: dict[str, str] = {}
        for rule in rules:
            ssl = ((rule.get("action_parameters") or {}).get("ssl")
                   if rule.get("action") == "set_config" else None)
            expression = str(rule.get("expression") or "")
            if ssl and rule.get("enabled", True) is not False and "http.host" in expression:
                for hostname in _QUOTED.findall(expression):
                    modes.setdefault(hostname.lower(), str(ssl))
        return modes

    def edge(self, account: str | None) -> Edge:
        """The edge visitors reach: the sandbox's, pinned per account, or the real one."""
        if account is None or self.store is None:
            return Edge()
        stored = self.store.get_account(account)
        real = (stored.api_base or DEFAULT_BASE_URL).rstrip("/") == DEFAULT_BASE_URL
        return Edge.for_account(edge_file(self.store, account), real_api=real)

    # the origin

    def handshake(self, address: str, sni: str | None, port: int = 443) -> Handshake:
        return self._once(("handshake", address, port, sni), lambda: handshake(
            address, port, sni, timeout=self.options.timeout))

    def strict(self, target: Target, address: str) -> Verdict:
        """Full (strict)'s verdict on one origin, as the zone pre-flight judges it."""
        return self._once(("strict", target.hostname, address), lambda: judge(
            target.hostname, [address], self.roots(), clock=self.options.clock)[0])

    def connect(self, address: str, port: int) -> str:
        return self._once(("connect", address, port), lambda: ports.connect_outcome(
            address, port, timeout=self.options.timeout))

    def plain_http(self, address: str, port: int, hostname: str) -> str | None:
        return self._once(("plain", address, port, hostname), lambda: ports.plain_http_answer(
            address, port, hostname, timeout=self.options.timeout))

    def page(self, address: str, hostname: str, *, tls: bool, path: str = "/") -> Page:
        return self._once(("page", address, hostname, tls, path), lambda: fetch(
            address, hostname, tls=tls, path=path, timeout=self.options.timeout))


def _zone(target: Target) -> Zone:
    if target.zone is None:
        raise OriginCertError(f"no connected account reaches a zone for {target.hostname}")
    return target.zone
