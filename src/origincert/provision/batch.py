"""Many sites at once (issue 10): the API the only limit, one reload for the batch.

Zones are read once per account, issuance permission once per zone, the
configuration once; certificates are issued concurrently within the
API's budget; then every site that got one is installed by ONE
transaction: one config test, one reload, every name verified. A site that
fails its part (no zone, no permission, a plan refused, the API refusing it)
is left out and reported; the others go ahead. Should the batch's config test
or verification fail, the sites at fault are found, left out, and the rest is
installed again.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from cryptography.hazmat.primitives.serialization import Encoding

from origincert import hostnames as names_mod
from origincert.accounts.connect import client_for
from origincert.accounts.report import certificate_answer
from origincert.cloudflare.budget import Budget, Budgets
from origincert.cloudflare.client import ZONES_PER_PAGE, CloudflareClient, Zone
from origincert.errors import (
    OriginCertError, RateLimitedError, UsageError, VerificationError, WebServerError,
)
from origincert.pki import certificate as certs
from origincert.provision import mixing
from origincert.provision.bulk_obtain import Wanted, obtain_all
from origincert.provision.lock import server_lock
from origincert.provision.resolve import Reach
from origincert.provision.transaction import Pointer, Transaction, recover
from origincert.provision.verify import Check
from origincert.state.certstore import CertStore, lineage_name
from origincert.state.db import Store, utc_now
from origincert.state.models import Account
from origincert.webserver.base import CertFiles, InstallPlan, Site, WebServer

log = logging.getLogger(__name__)

# Permission probes in flight at once: one per zone, and a batch may span hundreds.
PROBES = 8

# A batch plan: the combined edits, and the sites that could not be planned.
Planned = tuple[InstallPlan, dict[str, WebServerError]]


@dataclass
class SiteOutcome:
    site: str
    hostnames: list[str]
    status: str = "pending"  # installed, unchanged, failed, planned
    error: str | None = None
    cloudflare_id: str | None = None


@dataclass
class BatchResult:
    outcomes: list[SiteOutcome] = field(default_factory=list)
    api_calls: int = 0
    config_tests: int = 0
    reloads: int = 0
    waited_s: float = 0.0  # held back by the API's budget

    @property
    def failed(self) -> list[SiteOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def to_json(self) -> dict[str, object]:
        return {"sites": [asdict(o) for o in self.outcomes], "api_calls": self.api_calls,
                "config_tests": self.config_tests, "reloads": self.reloads,
                "waited_s": round(self.waited_s, 1), "failed": len(self.failed)}


class CountingServer:
    """The web server, counting config tests and reloads for the summary."""

    def __init__(self, server: WebServer) -> None:
        self._server = server
        self.kind = server.kind
        self.config_tests = 0
        self.reloads = 0

    def config_test(self) -> None:
        self.config_tests += 1
        self._server.config_test()

    def reload(self) -> None:
        self.reloads += 1
        self._server.reload()

    def __getattr__(self, name: str) -> object:
        return getattr(self._server, name)


class BatchIssuer:
    def __init__(self, store: Store, server: WebServer, *, budgets: Budgets | None = None,
                 concurrency: int = 32, progress: Callable[[str], None] = print,
                 advance: Callable[[], None] = lambda: None, verify_timeout: float = 30.0,
                 letsencrypt_dir: object = None, acme_sh_home: object = None) -> None:
        if not hasattr(server, "plan_install_many"):
            raise UsageError(f"issuing for many sites at once is not supported for "
                             f"{server.kind} yet", hint="issue the sites one at a time")
        self.store = store
        self.server = CountingServer(server)
        self.certstore = CertStore(store.paths)
        self.budgets = budgets or Budgets()
        self.concurrency = concurrency
        self.progress = progress
        self.advance = advance
        self.verify_timeout = verify_timeout
        self.mixing_paths = (letsencrypt_dir, acme_sh_home)

    def issue_read(self, read_sites: Callable[[], list[Site]], options: object) -> BatchResult:
        """``issue_sites`` for the sites ``read_sites`` finds, the zones listed meanwhile.

        The API's window opens with the first call, and resets a window later: listing
        the zones while the site files are read moves that reset earlier. Listing only
        reads, so it comes before the server lock; a run that then waits for another's
        lock works from zones listed before the wait.
        """
        with ThreadPoolExecutor(1) as pool:
            early = pool.submit(self._accounts, options)
            try:
                sites = read_sites()
            except BaseException:
                self.budgets.stop()  # a listing waiting for the budget gives up now
                early.add_done_callback(_close_accounts)
                raise
            log.info("batch sites read", extra={"sites": len(sites)})
        return self.issue_sites(sites, options, clients=early.result())

    def issue_sites(self, sites: list[Site], options: object, *,
                    clients: _Accounts | None = None) -> BatchResult:
        result = BatchResult([SiteOutcome(s.name, list(s.hostnames)) for s in sites])
        outcome_of = {o.site: o for o in result.outcomes}
        try:
            with server_lock(self.store.paths.lock_dir, self.server.kind,
                             on_wait=self.progress):
                recover(self.server, self.store, self.certstore)  # type: ignore[arg-type]
                clients = clients or self._accounts(options)
                wanted = self._prepare(sites, clients, outcome_of, options)
                result.api_calls = clients.calls
                log.info("batch prepared", extra={"sites": len(sites), "wanted": len(wanted)})
                if not getattr(options, "dry_run", False) and wanted:
                    # The plan needs no certificate: made while the API is busy.
                    with ThreadPoolExecutor(1) as pool:
                        early = pool.submit(self._plan, wanted, sites, options)
                        result.api_calls += self._issue(wanted, outcome_of, options)
                        planned = early.result()
                    log.info("batch planned")
                    ready = [w for w in wanted if w.error is None]
                    log.info("batch issued", extra={"ready": len(ready),
                                                    "waited_s": round(self.budgets.waited, 1)})
                    self._install_all(ready, sites, outcome_of, options,
                                      planned if len(ready) == len(wanted) else None)
        finally:
            if clients is not None:
                clients.close()
        result.config_tests, result.reloads = self.server.config_tests, self.server.reloads
        result.waited_s = self.budgets.waited
        log.info("batch done", extra={"sites": len(sites), "failed": len(result.failed)})
        return result

    # preparing: zones, permissions, conflicts

    def _accounts(self, options: object) -> _Accounts:
        return _Accounts(self.store, getattr(options, "account", None), self.budgets)

    def _prepare(self, sites: list[Site], clients: _Accounts,
                 outcome_of: dict[str, SiteOutcome], options: object) -> list[Wanted]:
        conflicts = mixing.renewal_conflicts(
            [n for s in sites for n in s.hostnames], *self.mixing_paths)  # type: ignore
        clients.probe(sites)
        wanted = []
        for site in sites:
            outcome = outcome_of[site.name]
            try:
                reach = clients.reach(list(site.hostnames))
                clash = [r for r in conflicts if r.overlaps(list(site.hostnames))]
                if clash and not getattr(options, "replace", False):
                    raise mixing.refuse(clash, list(site.hostnames))
            except OriginCertError as err:
                _fail(outcome, err.one_line())
                self.advance()
                continue
            wanted.append(Wanted(site.name, lineage_name(site.hostnames[0]),
                                 list(site.hostnames), reach))
        return wanted

    def _issue(self, wanted: list[Wanted], outcome_of: dict[str, SiteOutcome],
               options: object) -> int:
        key_type = getattr(options, "key_type", "ecdsa")
        validity = getattr(options, "validity_days", 5475)

        def done(item: Wanted) -> None:
            if item.error:
                _fail(outcome_of[item.site], item.error)
                self.advance()

        self.progress(f"issuing {len(wanted)} certificates")
        return obtain_all(self.store, wanted, key_type=key_type, validity=validity,
                          budgets=self.budgets, concurrency=self.concurrency, on_done=done)

    # installing: one transaction for the batch

    def _plan(self, items: list[Wanted], sites: list[Site], options: object) -> Planned:
        by_name = {s.name: s for s in sites}
        return self.server.plan_install_many(  # type: ignore[attr-defined]
            [(by_name[w.site], CertFiles(*self.certstore.live_paths(w.lineage)), w.lineage)
             for w in items],
            redirect=getattr(options, "redirect", False),
            replace=getattr(options, "replace", False))

    def _install_all(self, ready: list[Wanted], sites: list[Site],
                     outcome_of: dict[str, SiteOutcome], options: object,
                     planned: Planned | None = None) -> None:
        by_name = {s.name: s for s in sites}
        while ready:
            try:
                self._install(ready, by_name, options, outcome_of, planned)
                return
            except (WebServerError, VerificationError) as err:
                culprits = self._culprits(ready, by_name, err)
                if not culprits:
                    raise
                for item in culprits:
                    _fail(outcome_of[item.site], f"left out of the batch: {err.one_line()}")
                    self._unused(item)
                ready = [w for w in ready if w not in culprits]
                planned = None  # the sites changed: plan again

    def _install(self, ready: list[Wanted], by_name: dict[str, Site], options: object,
                 outcome_of: dict[str, SiteOutcome], planned: Planned | None) -> None:
        plan, refused = planned or self._plan(ready, list(by_name.values()), options)
        for item in [w for w in ready if w.site in refused]:
            _fail(outcome_of[item.site], refused[item.site].one_line())
            self._unused(item)
        going = [w for w in ready if w.site not in refused]
        if not going:
            return
        pointers = [Pointer(w.lineage, self.certstore.current_version(w.lineage),
                            w.version) for w in going]  # type: ignore[arg-type]
        self.progress(f"installing {len(going)} certificates: one config test, one reload")
        transaction = Transaction(self.server, self.store, self.certstore,  # type: ignore
                                  verify_timeout=self.verify_timeout)
        transaction.apply("issue-batch", plan.changes, pointers,
                          lambda: self._checks(going, by_name), progress=self.progress)
        self._mark_installed(going, by_name, plan.changes)
        for item in going:
            outcome = outcome_of[item.site]
            outcome.status, outcome.cloudflare_id = "installed", item.cf_id
            self.advance()

    def _checks(self, going: list[Wanted], by_name: dict[str, Site]) -> list[Check]:
        endpoints = self.server.endpoints_many(  # type: ignore[attr-defined]
            [by_name[w.site] for w in going])
        checks = []
        for item in going:
            cert_file = self.certstore.live_paths(item.lineage)[0]
            der = certs.load_certificate(cert_file.read_bytes()).public_bytes(Encoding.DER)
            checks += [Check(name, endpoint, der) for name in item.names
                       for endpoint in endpoints[item.site]]
        return checks

    def _culprits(self, ready: list[Wanted], by_name: dict[str, Site],
                  err: OriginCertError) -> list[Wanted]:
        """The sites a failed batch names (nginx names the file; verification the host)."""
        text = err.one_line() + getattr(err, "output", "")
        found = [w for w in ready
                 if any(n in text for n in w.names) or str(by_name[w.site].source) in text
                 or w.lineage in text]
        return found if len(found) < len(ready) else []

    def _mark_installed(self, going: list[Wanted], by_name: dict[str, Site],
                        changes: list[object]) -> None:
        now = utc_now()
        updates: dict[int, dict[str, object]] = {}
        new_by_lineage = {item.lineage: item.cert_id for item in going}
        for old in self.store.certificates(status="installed"):  # one query for the batch
            if old.lineage in new_by_lineage:
                updates[old.id] = {"status": "superseded",
                                   "replaced_by": new_by_lineage[old.lineage]}
        for item in going:
            updates[item.cert_id] = {"status": "installed", "installed_at": now}  # type: ignore
        self.store.update_certificates(updates)
        self.store.record_installations([
            (item.cert_id, self.server.kind, item.site,  # type: ignore[misc]
             [str(by_name[item.site].source)]) for item in going])

    def _unused(self, item: Wanted) -> None:
        if item.cert_id is not None:
            self.store.update_certificate(item.cert_id, status="unused")


class _Accounts:
    """Each connected account's client and zones, read once for the whole batch."""

    def __init__(self, store: Store, only: str | None, budgets: Budgets) -> None:
        accounts = [store.get_account(only)] if only else store.list_accounts()
        if not accounts:
            raise UsageError("no Cloudflare account is connected",
                             hint="connect one with: origincert account add NAME --token-file F")
        self.entries: list[tuple[Account, CloudflareClient, dict[str, Zone]]] = []
        self.budgets = budgets  # every call counts against the API's budget
        self.calls = 0
        try:
            for account in accounts:
                client = client_for(store, account)
                zones: dict[str, Zone] = {}
                self.entries.append((account, client, zones))  # closed with the rest on failure
                zones.update(self._zones(client, self._budget(account)))
        except BaseException:
            self.close()  # nobody else holds these clients
            raise
        log.info("batch zones listed", extra={
            "accounts": len(accounts), "zones": sum(len(e[2]) for e in self.entries)})
        self._allowed: dict[tuple[int, str], str | None] = {}

    def probe(self, sites: list[Site]) -> None:
        """Ask each zone the sites need for the permission to issue, several at once.

        One request per zone, before any key is made; ``reach`` then reads the answers,
        and asks once more where the API did not answer (a 429 is kept: asking again
        would only prolong the block).
        """
        needed: dict[tuple[int, str], tuple[Account, CloudflareClient, Zone]] = {}
        for site in sites:
            found = self._find(list(site.hostnames))
            if found is None:
                continue  # ``reach`` says why, for that site
            account, client, zones = found
            for zone in zones.values():
                needed.setdefault((account.id, zone.id), (account, client, zone))
        asking = [key for key in needed if key not in self._allowed]
        with ThreadPoolExecutor(PROBES) as pool:
            try:
                answers = list(pool.map(lambda key: self._ask(*needed[key]), asking))
            except BaseException:
                self.budgets.stop()  # Ctrl-C: probes waiting out a 429 give up now
                raise
        self.calls += len(asking)
        for key, answer in zip(asking, answers, strict=True):
            if isinstance(answer, RateLimitedError):
                self._allowed[key] = answer.one_line()  # asking again only prolongs a block
            elif not isinstance(answer, OriginCertError):
                self._allowed[key] = answer

    def reach(self, names: list[str]) -> Reach:
        found = self._find(names)
        if found is None:
            raise OriginCertError(f"no connected account reaches the zone of {', '.join(names)}",
                                  hint="connect an account whose credential covers that zone")
        account, client, zones = found
        for zone in sorted(set(zones.values()), key=lambda z: z.name):
            key = (account.id, zone.id)
            if key not in self._allowed:
                answer = self._ask(account, client, zone)
                self.calls += 1
                # A second time without an answer: the zone's other sites fail at once.
                self._allowed[key] = (answer.one_line() if isinstance(answer, OriginCertError)
                                      else answer)
            if self._allowed[key]:
                raise OriginCertError(self._allowed[key] or "")
        return Reach(account, client, zones)

    def close(self) -> None:
        for _, client, _ in self.entries:
            client.close()

    def _budget(self, account: Account) -> Budget:
        return self.budgets.of(account.budget_key)

    def _zones(self, client: CloudflareClient, budget: Budget) -> dict[str, Zone]:
        send = budget.take()
        try:
            zones = client.zones()
        except OriginCertError:
            zones = []
        finally:
            budget.answered(send)
        # The SDK lists a page at a time until one comes back empty: each page counts.
        pages = math.ceil(len(zones) / ZONES_PER_PAGE) + 1
        for _ in range(pages - 1):
            budget.answered(budget.take())
        self.calls += pages
        return {zone.name: zone for zone in zones}

    def _find(self, names: list[str]) -> tuple[Account, CloudflareClient, dict[str, Zone]] | None:
        """The first account with an active zone for every name, and those zones."""
        for account, client, zones in self.entries:
            found = {}
            for name in names:
                zone = next((zones[c] for c in names_mod.zone_candidates(name) if c in zones),
                            None)
                if zone is not None and zone.status == "active":
                    found[name] = zone
            if len(found) == len(names):
                return account, client, found
        return None

    def _ask(self, account: Account, client: CloudflareClient,
             zone: Zone) -> str | None | OriginCertError:
        """None when the account may issue in ``zone``, the line that says why not, or
        the error that kept the API from answering."""
        budget = self._budget(account)
        send = budget.take()
        try:
            answer = certificate_answer(client, zone.name)
        except RateLimitedError as err:
            budget.pause(_retry_after(err))  # the credential's probes and issuance wait
            return err
        except OriginCertError as err:
            return err
        finally:
            budget.answered(send)
        if answer.allowed:
            return None
        return (f"account {account.name} may not issue certificates for {zone.name}: "
                "add Zone → SSL and Certificates → Edit")


def _close_accounts(early: Future[_Accounts]) -> None:
    """Close the clients of a listing nobody will use (the site files could not be read)."""
    if early.exception() is None:
        early.result().close()


def _retry_after(err: RateLimitedError) -> float:
    """How long the API asked us to wait; a full minute when it did not say."""
    response = getattr(err.__cause__, "response", None)
    text = response.headers.get("retry-after", "") if response is not None else ""
    return float(text) if text.replace(".", "", 1).isdigit() else 60.0


def _fail(outcome: SiteOutcome, error: str) -> None:
    outcome.status, outcome.error = "failed", error
