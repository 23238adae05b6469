"""The product's operations, called as the CLI calls them; pages and API share these.

Each function here parses nothing and decides nothing: it calls one operation
and turns its result into plain data. Secrets go in (a pasted token) and never
come out: an account is shown by its secret's fingerprint only.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from origincert.dashboard.problems import Problem, not_found
from origincert.errors import OriginCertError
from origincert.settings import Settings
from origincert.state.db import Store
from origincert.state.models import Account, Certificate

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass
class Product:
    """The settings and state every operation runs against."""

    settings: Settings
    store: Store

    def server(self):  # type: ignore[no-untyped-def]
        from origincert.webserver.factory import open_webserver

        return open_webserver(self.settings)

    # sites

    def sites(self) -> list[dict[str, Any]]:
        from origincert.inventory.sites import list_sites

        return [site.to_json() for site in list_sites(self.server(), self.store)]

    def site(self, name: str) -> dict[str, Any]:
        found = next((s for s in self.sites() if s["name"] == name), None)
        if found is None:
            raise not_found(f"no site called {name}", "see the list of sites")
        return found

    def site_certificates(self, name: str) -> list[dict[str, Any]]:
        """Certificates origincert installed on this site, newest first."""
        ids = {inst.certificate_id for inst in self.store.installations()
               if inst.site_name == name}
        certs = [cert for cert in self.store.certificates() if cert.id in ids]
        return [certificate_row(self.store, cert) for cert in reversed(certs)]

    def issue(self, site: str, options: Any, progress: Progress) -> dict[str, Any]:
        """Generate & Install for every name of ``site``: the CLI's ``issue --site``."""
        from origincert.provision.issue import Issuer
        from origincert.provision.resolve import names_of_site

        server = self.server()
        issuer = Issuer(self.store, server, progress=progress,
                        letsencrypt_dir=self.settings.letsencrypt_dir,
                        acme_sh_home=self.settings.acme_sh_home)
        return issuer.issue(names_of_site(server, site), options).to_json()

    # accounts

    def accounts(self) -> list[dict[str, Any]]:
        return [account_row(account) for account in self.store.list_accounts()]

    def account(self, name: str) -> dict[str, Any]:
        from origincert.accounts import report

        account = self._account(name)
        row = account_row(account)
        row["report"] = account.report_json
        row["report_lines"] = (report.render(account.report_json) if account.report_json
                               else [])
        return row

    def connect(self, name: str, *, token: str | None, key: str | None,
                email: str | None) -> dict[str, Any]:
        from origincert.accounts import connect

        credential = connect.credential_from_inputs(token=token, key=key, email=email)
        connected = connect.add(self.store, name.strip(), credential, self.settings.api_base)
        return self.account(connected.account.name)

    def verify(self, name: str) -> dict[str, Any]:
        from origincert.accounts import connect

        self._account(name)
        connect.verify(self.store, name)
        return self.account(name)

    def remove(self, name: str) -> None:
        from origincert.accounts import connect

        self._account(name)
        connect.remove(self.store, name)

    def _account(self, name: str) -> Account:
        account = self.store.find_account(name)
        if account is None:
            raise not_found(f"no account named {name}", "see the list of accounts")
        return account

    # certificates, doctor, audit

    def certificates(self, *, everything: bool = False) -> dict[str, Any]:
        """The reconciled inventory (the CLI's ``certs``): state, Cloudflare and server."""
        if not lifecycle_available():
            wanted = None if everything else ["installed"]
            return {"problems": [], "lifecycle": False, "certificates": [
                certificate_row(self.store, cert) for cert in self.store.certificates(
                    status=wanted)]}
        found = self._inventory()
        entries = [e for e in found.entries if everything or e.state != "unused"]
        return {"problems": list(found.problems), "lifecycle": True,
                "certificates": [_with_days(e.to_json(), e.not_after) for e in entries]}

    def known_certificate(self, ref: str) -> bool:
        """Whether origincert recorded certificate ``ref`` (local id or Cloudflare id)."""
        ref = ref.strip()
        if ref.isascii() and ref.isdigit() and len(ref) <= 9 \
                and self.store.get_certificate(int(ref)):
            return True
        return any(cert.cf_id == ref for cert in self.store.certificates())

    def renew(self, ref: str, progress: Progress) -> dict[str, Any]:
        """Renew now, with a new key, every site serving certificate ``ref`` (``renew``)."""
        from origincert.lifecycle import revoke as revocation
        from origincert.lifecycle.clock import from_env
        from origincert.lifecycle.notify import Notifier
        from origincert.lifecycle.renew import Renewer, RenewOptions
        from origincert.provision.issue import Issuer

        config, server, clock = self._lifecycle(), self.server(), from_env()
        entry = revocation.find(self._inventory(), ref)
        sites = sorted({use.site for use in entry.uses})
        if not sites:
            raise Problem(409, "not_served", f"no site serves certificate {ref}",
                          "only a served certificate is renewed; revoke an unused one")

        def issuer(lines: Progress) -> Issuer:
            return Issuer(self.store, server, progress=lines,
                          letsencrypt_dir=self.settings.letsencrypt_dir,
                          acme_sh_home=self.settings.acme_sh_home)

        renewer = Renewer(self.store, server, issuer, clock=clock, progress=progress,
                          notifier=Notifier(self.store, config.webhook_url, clock=clock))
        reports = [renewer.run(RenewOptions(
            days=config.renew_before_days, rotate_key=True, site=site,
            revoke_after_days=config.revoke_after_days, expiring_days=config.expiring_days,
            hooks=config.hooks)).to_json() for site in sites]
        failed = [o for r in reports for o in r["sites"] if o["result"] == "failed"]
        if failed:
            raise Problem(409, "renew_failed", f"renewing {failed[0]['site']} failed: "
                          f"{failed[0]['error']}")
        return {"reports": reports}

    def revoke(self, ref: str, *, force: bool = False) -> dict[str, Any]:
        """Revoke certificate ``ref`` at Cloudflare (``revoke``); a served one only forced."""
        from origincert.lifecycle import revoke as revocation
        from origincert.lifecycle.clock import from_env

        entry = revocation.find(self._inventory(), ref)
        done: dict[str, Any] = revocation.revoke(self.store, entry, force=force,
                                                 clock=from_env()).to_json()
        return {**done, "was_served": entry.served}

    def _inventory(self):  # type: ignore[no-untyped-def]
        from origincert.inventory.certificates import build
        from origincert.lifecycle.clock import from_env

        try:
            server = self.server()
        except OriginCertError:
            server = None  # the state and Cloudflare are still worth showing
        return build(self.store, server, clock=from_env(),
                     expiring_days=self._lifecycle().expiring_days)

    def _lifecycle(self):  # type: ignore[no-untyped-def]
        from origincert.lifecycle import config

        return config.load(self.settings.config_file)

    def doctor(self, progress: Progress) -> dict[str, Any]:
        from origincert.doctor.facts import Options
        from origincert.doctor.run import Doctor, Selection

        options = Options(letsencrypt_dir=self.settings.letsencrypt_dir,
                          acme_sh_home=self.settings.acme_sh_home)
        runner = Doctor(self.store, self.server(), options, progress=progress)
        report: dict[str, Any] = runner.diagnose(Selection(all=True)).to_json()
        return report

    def audit(self, limit: int = 100) -> list[dict[str, Any]]:
        return [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "zone": e.zone,
                 "target": e.target, "result": e.result, "ray_id": e.ray_id,
                 "detail": e.detail} for e in self.store.audit_entries(limit=limit)]


def doctor_available() -> bool:
    """Whether the doctor operation is installed (it is built beside the dashboard)."""
    try:
        run = importlib.import_module("origincert.doctor.run")
    except ImportError:
        return False
    return hasattr(run, "Doctor") and hasattr(run, "Selection")


def lifecycle_available() -> bool:
    """Whether renew, revoke and the reconciled inventory are installed (built beside it)."""
    try:
        renew = importlib.import_module("origincert.lifecycle.renew")
        revoke = importlib.import_module("origincert.lifecycle.revoke")
        inventory = importlib.import_module("origincert.inventory.certificates")
    except ImportError:
        return False
    return all(hasattr(module, name) for module, name in (
        (renew, "Renewer"), (revoke, "revoke"), (revoke, "find"), (inventory, "build")))


def account_row(account: Account) -> dict[str, Any]:
    """An account as the dashboard shows it: never the secret, its fingerprint only."""
    report = account.report_json or {}
    return {"name": account.name, "kind": account.kind, "email": account.email,
            "api_base": account.api_base, "fingerprint": account.secret_fingerprint,
            "created_at": account.created_at, "verified_at": account.verified_at,
            "status": report.get("status"), "zones": [z["name"] for z in report.get("zones", [])],
            "can_issue": list(report.get("can_issue", []))}


def _with_days(row: dict[str, Any], not_after: datetime | None) -> dict[str, Any]:
    row["days_left"] = (not_after - datetime.now(UTC)).days if not_after else None
    return row


def certificate_row(store: Store, cert: Certificate) -> dict[str, Any]:
    files = sorted({path for inst in store.installations(cert.id, active_only=True)
                    for path in inst.config_files})
    sites = [{"site": inst.site_name, "webserver": inst.webserver}
             for inst in store.installations(cert.id, active_only=True)]
    return {"id": cert.id, "cloudflare_id": cert.cf_id, "lineage": cert.lineage,
            "state": cert.status,
            "hostnames": list(cert.hostnames), "key_type": cert.key_type,
            "not_before": cert.not_before, "not_after": cert.not_after, "status": cert.status,
            "fingerprint_sha256": cert.fingerprint_sha256, "serial_hex": cert.serial_hex,
            "installed_at": cert.installed_at, "sites": sites, "config_files": files,
            "days_left": (cert.not_after - datetime.now(UTC)).days if cert.not_after else None}
