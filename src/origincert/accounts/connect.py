"""Connecting an account: check the credential, keep it sealed, open clients.

A credential that cannot authenticate at all is refused before anything is
stored. When the API in use is not Cloudflare's (the sandbox), its Origin CA
roots are fetched once and kept beside the state, so that certificates it
signs can be verified, and trusted for that account only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from origincert import files
from origincert.cloudflare.client import DEFAULT_BASE_URL, CloudflareClient
from origincert.cloudflare.credential import (
    GLOBAL_KEY, SERVICE_KEY, TOKEN, Credential, shape_of,
)
from origincert.accounts import report as reports
from origincert.errors import CredentialError, UsageError
from origincert.secret import Secret
from origincert.state.db import Store
from origincert.state.models import Account
from origincert.zones.edge import pin_sandbox_edge

log = logging.getLogger(__name__)

SANDBOX_ROOTS_PATH = "/origincert-sandbox/roots"


@dataclass(frozen=True)
class Connected:
    account: Account
    token_status: str | None
    zones: list[str]
    report: dict[str, Any]


def check_shape(credential: Credential) -> None:
    """Refuse a credential whose shape says it is of another kind (field case C12)."""
    shape = shape_of(credential.secret.reveal())
    if shape == SERVICE_KEY:
        raise CredentialError(
            "this looks like an Origin CA key (v1.0-…), not an API token or Global API Key: "
            "Cloudflare retired it on 2026-09-30, and it never could read zones or DNS",
            hint="create an API token with Zone → SSL and Certificates → Edit and "
                 "Zone → DNS → Edit, and pass it with --token-file",
        )
    if credential.kind == TOKEN and shape == GLOBAL_KEY:
        raise CredentialError(
            "this looks like a Global API Key given as a token",
            hint="use --email and --key-file (or --key-stdin) for a Global API Key",
        )
    if credential.kind == GLOBAL_KEY and shape == TOKEN:
        raise CredentialError(
            "this looks like an API token given as a Global API Key",
            hint="use --token-file (or --token-stdin) for an API token",
        )
    if credential.kind == GLOBAL_KEY and not credential.email:
        raise UsageError("a Global API Key needs the account's email",
                         hint="pass --email or set CLOUDFLARE_EMAIL")


def add(store: Store, name: str, credential: Credential, api_base: str | None) -> Connected:
    """Check ``credential`` against the API, report what it may do, and store it.

    A credential that cannot authenticate at all is refused, saying why; one that
    authenticates but lacks permissions is stored with its report.
    """
    if store.find_account(name) is not None:
        raise UsageError(f"an account named {name} already exists",
                         hint=f"choose another name, or run: origincert account remove {name}")
    check_shape(credential)

    client = CloudflareClient(credential, base_url=api_base, audit=_audit_hook(store, name))
    try:
        status = _authenticate(client, credential)
        found = reports.build(client, name=name, kind=credential.kind,
                              email=credential.email, status=status)
    finally:
        client.close()

    if api_base and api_base.rstrip("/") != DEFAULT_BASE_URL:
        _pin_sandbox_roots(store, name, api_base)
        pin_sandbox_edge(api_base, edge_file(store, name))
    account = store.add_account(name, credential.kind, credential.secret,
                                email=credential.email, api_base=api_base, report=found)
    log.info("account added", extra={"account": name, "kind": credential.kind})
    zones = [zone["name"] for zone in found["zones"]]
    return Connected(account, status.status if credential.kind == TOKEN else None, zones, found)


def verify(store: Store, name: str, *, only_zones: list[str] | None = None) -> dict[str, Any]:
    """The permission report of a stored account, asked afresh and kept with it."""
    account = store.get_account(name)
    client = client_for(store, account)
    try:
        found = reports.build(client, name=account.name, kind=account.kind,
                              email=account.email, only_zones=only_zones)
    except CredentialError as err:
        # A credential that stopped working is a report too, not only an error.
        found = reports.build_refused(account.name, account.kind, account.email, err)
    finally:
        client.close()
    store.record_verification(name, found)
    return found


def _authenticate(client: CloudflareClient, credential: Credential) -> reports.Status:
    """The credential's status, after refusing one that cannot be used at all."""
    try:
        status = reports.credential_status(client, credential.kind)
    except CredentialError as err:
        raise _named_kind(err, credential) from err
    if status.status != reports.ACTIVE:
        when = ""
        if status.status == "expired" and status.expires_on:
            when = f" (expired on {status.expires_on})"
        elif status.status == "not_yet_valid" and status.not_before:
            when = f" (valid from {status.not_before})"
        raise CredentialError(
            f"the API token is {reports.STATUS_WORDS.get(status.status, status.status)}{when}",
            hint="create a new token, or re-enable this one, in the Cloudflare dashboard "
                 "(My Profile → API Tokens)" if status.status != "not_yet_valid" else
                 "wait until it becomes valid, or change its start date in the dashboard",
        )
    return status


def _named_kind(err: CredentialError, credential: Credential) -> CredentialError:
    """Name a credential of the wrong kind from the API's answer (fact sheet §2.4, C12)."""
    said = f" ({err.message.split(': ', 1)[-1]})"
    if credential.kind == TOKEN and err.code == 6111:
        return CredentialError(
            "Cloudflare refused this value as an API token: this looks like a Global API Key "
            f"given as a token{said}",
            hint="use --email and --key-file for a Global API Key, or create an API token",
            code=err.code, api_message=err.api_message, ray_id=err.ray_id, status=err.status)
    if credential.kind == GLOBAL_KEY and err.code == 6103:
        return CredentialError(
            "Cloudflare refused this value as a Global API Key: this looks like an API token "
            f"given as a key{said}",
            hint="use --token-file (or --token-stdin) for an API token",
            code=err.code, api_message=err.api_message, ray_id=err.ray_id, status=err.status)
    if credential.kind == TOKEN and err.code == 1000:
        return CredentialError(
            f"the API token is invalid: Cloudflare does not know it{said}",
            hint="check that it was copied whole, or create a new one",
            code=err.code, api_message=err.api_message, ray_id=err.ray_id, status=err.status)
    return err


def _audit_hook(store: Store, name: str):  # type: ignore[no-untyped-def]
    def record(action: str, zone: str | None, target: str | None, result: str,
               ray_id: str | None) -> None:
        store.audit(action=action, zone=zone, target=target, result=result, ray_id=ray_id,
                    detail=f"account {name}")
    return record


def client_for(store: Store, account: Account, *, audit: bool = True) -> CloudflareClient:
    """An API client for a stored account, auditing its changes into the store."""
    credential = Credential(account.kind, store.account_secret(account), account.email)
    return CloudflareClient(credential, base_url=account.api_base,
                            audit=_audit_hook(store, account.name) if audit else None)


def trust_file(store: Store, account_name: str) -> Path:
    return store.paths.state_dir / "trust" / f"{account_name}.pem"


def edge_file(store: Store, account_name: str) -> Path:
    """The sandbox edge pinned for an account (absent for the real Cloudflare)."""
    return store.paths.state_dir / "trust" / f"{account_name}.edge.json"


def _pin_sandbox_roots(store: Store, name: str, api_base: str) -> None:
    url = api_base.rstrip("/") + SANDBOX_ROOTS_PATH
    try:
        answer = httpx.get(url, timeout=10.0)
        roots = answer.json()["result"] if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        roots = None
    if not roots:
        log.info("no sandbox roots at api base", extra={"api_base": api_base})
        return
    pem = "".join(str(roots[kind]) for kind in sorted(roots))
    path = trust_file(store, name)
    files.ensure_dir(path.parent, 0o700)
    files.write_atomic(path, pem, mode=0o644)


def credential_from_inputs(*, token: str | None, key: str | None,
                           email: str | None) -> Credential:
    """Build a credential from what the user gave; exactly one kind allowed."""
    if token and key:
        raise UsageError("give either an API token or a Global API Key, not both")
    if token:
        return Credential(TOKEN, Secret.from_input(token))
    if key:
        return Credential(GLOBAL_KEY, Secret.from_input(key),
                          email.strip() or None if email else None)
    raise UsageError(
        "no credential given",
        hint="pass --token-file, --token-stdin or set CLOUDFLARE_API_TOKEN; or --email with "
             "--key-file, --key-stdin or CLOUDFLARE_API_KEY",
    )


def remove(store: Store, name: str) -> None:
    store.get_account(name)
    store.remove_account(name)
    files.remove(trust_file(store, name))
    files.remove(edge_file(store, name))
