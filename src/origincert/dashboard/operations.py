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
from typing import Any

from origincert.dashboard.problems import not_found
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

    def certificates(self, *, everything: bool = False) -> list[dict[str, Any]]:
        # TODO(#9): switch to the reconciled inventory of the lifecycle issue
        # (inventory/certificates.py) once it has landed; until then, the store's records.
        wanted = None if everything else ["installed"]
        return [certificate_row(self.store, cert)
                for cert in self.store.certificates(status=wanted)]

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


def account_row(account: Account) -> dict[str, Any]:
    """An account as the dashboard shows it: never the secret, its fingerprint only."""
    report = account.report_json or {}
    return {"name": account.name, "kind": account.kind, "email": account.email,
            "api_base": account.api_base, "fingerprint": account.secret_fingerprint,
            "created_at": account.created_at, "verified_at": account.verified_at,
            "status": report.get("status"), "zones": [z["name"] for z in report.get("zones", [])],
            "can_issue": list(report.get("can_issue", []))}


def certificate_row(store: Store, cert: Certificate) -> dict[str, Any]:
    files = sorted({path for inst in store.installations(cert.id, active_only=True)
                    for path in inst.config_files})
    sites = sorted({inst.site_name for inst in store.installations(cert.id, active_only=True)})
    return {"id": cert.id, "cloudflare_id": cert.cf_id, "lineage": cert.lineage,
            "hostnames": list(cert.hostnames), "key_type": cert.key_type,
            "not_before": cert.not_before, "not_after": cert.not_after, "status": cert.status,
            "fingerprint_sha256": cert.fingerprint_sha256, "serial_hex": cert.serial_hex,
            "installed_at": cert.installed_at, "sites": sites, "config_files": files}
