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

import httpx

from origincert import files
from origincert.cloudflare.client import DEFAULT_BASE_URL, CloudflareClient
from origincert.cloudflare.credential import (
    GLOBAL_KEY, SERVICE_KEY, TOKEN, Credential, shape_of,
)
from origincert.errors import CredentialError, UsageError
from origincert.secret import Secret
from origincert.state.db import Store
from origincert.state.models import Account

log = logging.getLogger(__name__)

SANDBOX_ROOTS_PATH = "/origincert-sandbox/roots"


@dataclass(frozen=True)
class Connected:
    account: Account
    token_status: str | None
    zones: list[str]


def check_shape(credential: Credential) -> None:
    """Refuse a credential whose shape says it is of another kind (field case C12)."""
    shape = shape_of(credential.secret.reveal())
    if shape == SERVICE_KEY:
        raise CredentialError(
            "this is an Origin CA key (v1.0-…), which Cloudflare retired on 2026-09-30 and "
            "which cannot read zones or DNS",
            hint="create an API token with Zone → SSL and Certificates → Edit and "
                 "Zone → DNS → Edit, and pass it with --token-file",
        )
    if credential.kind == TOKEN and shape == GLOBAL_KEY:
        raise CredentialError(
            "this looks like a Global API Key, not an API token",
            hint="pass it with --key-file and the account's --email instead",
        )
    if credential.kind == GLOBAL_KEY and shape == TOKEN:
        raise CredentialError(
            "this looks like an API token, not a Global API Key",
            hint="pass it with --token-file instead",
        )
    if credential.kind == GLOBAL_KEY and not credential.email:
        raise UsageError("a Global API Key needs the account's email",
                         hint="pass --email or set CLOUDFLARE_EMAIL")


def add(store: Store, name: str, credential: Credential, api_base: str | None) -> Connected:
    """Check ``credential`` against the API and store it under ``name``."""
    if store.find_account(name) is not None:
        raise UsageError(f"an account named {name} already exists",
                         hint=f"choose another name, or run: origincert account remove {name}")
    check_shape(credential)

    client = CloudflareClient(credential, base_url=api_base)
    try:
        status = _authenticate(client, credential)
        zones = [zone.name for zone in client.zones()]
    finally:
        client.close()

    if api_base and api_base.rstrip("/") != DEFAULT_BASE_URL:
        _pin_sandbox_roots(store, name, api_base)
    account = store.add_account(name, credential.kind, credential.secret,
                                email=credential.email, api_base=api_base)
    log.info("account added", extra={"account": name, "kind": credential.kind})
    return Connected(account, status, zones)


def _authenticate(client: CloudflareClient, credential: Credential) -> str | None:
    """The token's status, after refusing one that cannot be used at all."""
    if credential.kind != TOKEN:
        client.zones()  # a bad key or email fails here with its own error
        return None
    status = client.verify_token()
    if status.status != "active":
        raise CredentialError(
            f"the API token is {status.status.replace('_', ' ')}"
            + (f" (expires_on {status.expires_on})" if status.expires_on else ""),
            hint="create or re-enable a token in the Cloudflare dashboard",
        )
    return status.status


def client_for(store: Store, account: Account, *, audit: bool = True) -> CloudflareClient:
    """An API client for a stored account, auditing its changes into the store."""
    credential = Credential(account.kind, store.account_secret(account), account.email)

    def record(action: str, zone: str | None, target: str | None, result: str,
               ray_id: str | None) -> None:
        store.audit(action=action, zone=zone, target=target, result=result, ray_id=ray_id,
                    detail=f"account {account.name}")

    return CloudflareClient(credential, base_url=account.api_base,
                            audit=record if audit else None)


def trust_file(store: Store, account_name: str) -> Path:
    return store.paths.state_dir / "trust" / f"{account_name}.pem"


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
                          email.strip() if email else None)
    raise UsageError(
        "no credential given",
        hint="pass --token-file, --token-stdin or set CLOUDFLARE_API_TOKEN; or --email with "
             "--key-file, --key-stdin or CLOUDFLARE_API_KEY",
    )


def remove(store: Store, name: str) -> None:
    store.get_account(name)
    store.remove_account(name)
    files.remove(trust_file(store, name))



