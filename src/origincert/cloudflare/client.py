"""The Cloudflare client: the product's calls, over the official SDK.

Everything here goes through ``cloudflare.Cloudflare``. This module adds what
the SDK leaves to its callers: exactly one authentication scheme per request
(the SDK would add ``X-Auth-Email`` from the environment to a token client,
fact sheet §0 #4), a check of the envelope's ``success`` flag (the SDK ignores
it, §0 #5), errors that keep code, message and Ray ID, and an audit record of
every call that changes something.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import cloudflare

from origincert.cloudflare.credential import GLOBAL_KEY, Credential
from origincert.cloudflare.failures import translate
from origincert.errors import CloudflareAPIError

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"

AuditHook = Callable[[str, str | None, str | None, str, str | None], None]


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    status: str
    account_id: str | None
    account_name: str | None


@dataclass(frozen=True)
class TokenStatus:
    id: str | None
    status: str
    expires_on: str | None
    not_before: str | None


@dataclass(frozen=True)
class OriginCertificate:
    """An Origin CA certificate as the API describes it."""

    id: str
    pem: str | None
    hostnames: tuple[str, ...]
    expires_on: str | None
    request_type: str | None
    revoked_at: str | None = None


class CloudflareClient:
    """One connected credential, talking to one API base."""

    def __init__(
        self,
        credential: Credential,
        *,
        base_url: str | None = None,
        audit: AuditHook | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
    ) -> None:
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._audit = audit
        self._sdk = _build_sdk(credential, self.base_url, timeout, max_retries)
        self._zones: list[Zone] | None = None

    def close(self) -> None:
        self._sdk.close()

    # Reads.

    def verify_token(self) -> TokenStatus:
        with self._calling("verify the API token"):
            raw = self._sdk.user.tokens.with_raw_response.verify()
        result = _result_of(raw, "verify the API token")
        return TokenStatus(
            id=result.get("id"),
            status=result.get("status", "unknown"),
            expires_on=result.get("expires_on"),
            not_before=result.get("not_before"),
        )

    def zones(self) -> list[Zone]:
        """Every zone the credential can see, read once per client."""
        if self._zones is None:
            with self._calling("list zones"):
                pages = self._sdk.zones.list(per_page=50)
                self._zones = [_zone_from(item) for item in pages]
        return self._zones

    def zone_named(self, name: str) -> Zone | None:
        """The zone called ``name`` if the credential can see it."""
        for zone in self.zones():
            if zone.name == name:
                return zone
        return None

    def get_setting(self, zone_id: str, setting: str) -> Any:
        with self._calling(f"read the {setting} setting"):
            raw = self._sdk.zones.settings.with_raw_response.get(setting, zone_id=zone_id)
        return _result_of(raw, f"read the {setting} setting").get("value")

    def list_origin_certificates(self, zone_id: str) -> list[OriginCertificate]:
        with self._calling("list Origin CA certificates"):
            pages = self._sdk.origin_ca_certificates.list(zone_id=zone_id, per_page=50)
            return [_certificate_from(item.model_dump()) for item in pages]

    def get_origin_certificate(self, certificate_id: str) -> OriginCertificate:
        with self._calling("read an Origin CA certificate"):
            raw = self._sdk.origin_ca_certificates.with_raw_response.get(certificate_id)
        return _certificate_from(_result_of(raw, "read an Origin CA certificate"))

    # Writes: each one is audited.

    def create_origin_certificate(
        self, csr_pem: str, hostnames: list[str], request_type: str, validity_days: int,
        *, zone: str | None = None,
    ) -> OriginCertificate:
        """Ask the Origin CA to sign ``csr_pem`` for ``hostnames``.

        Retries are off for this call: the API has no idempotency key, so a
        retried POST after a lost answer would issue a second certificate.
        """
        action = "origin_ca.create"
        sdk = self._sdk.with_options(max_retries=0)
        with self._calling("issue an Origin CA certificate", action=action, zone=zone):
            raw = sdk.origin_ca_certificates.with_raw_response.create(
                csr=csr_pem, hostnames=hostnames, request_type=request_type,
                requested_validity=validity_days,
            )
        result = _result_of(raw, "issue an Origin CA certificate")
        certificate = _certificate_from(result)
        self._record(action, zone, certificate.id, "ok", raw.headers.get("cf-ray"))
        return certificate

    def revoke_origin_certificate(self, certificate_id: str, *, zone: str | None = None) -> str:
        action = "origin_ca.revoke"
        with self._calling("revoke an Origin CA certificate", action=action, zone=zone,
                           target=certificate_id):
            raw = self._sdk.origin_ca_certificates.with_raw_response.delete(certificate_id)
        result = _result_of(raw, "revoke an Origin CA certificate")
        self._record(action, zone, certificate_id, "ok", raw.headers.get("cf-ray"))
        return str(result.get("revoked_at") or "")

    def edit_setting(self, zone_id: str, setting: str, value: Any, *, zone: str | None = None):
        action = f"zone_setting.{setting}"
        with self._calling(f"change the {setting} setting", action=action, zone=zone,
                           target=str(value)):
            raw = self._sdk.zones.settings.with_raw_response.edit(
                setting, zone_id=zone_id, value=value
            )
        result = _result_of(raw, f"change the {setting} setting")
        self._record(action, zone, str(value), "ok", raw.headers.get("cf-ray"))
        return result.get("value")

    # Plumbing.

    @contextmanager
    def _calling(
        self, what: str, *, action: str | None = None, zone: str | None = None,
        target: str | None = None,
    ) -> Iterator[None]:
        try:
            yield
        except cloudflare.APIError as err:
            failure = translate(err, what)
            if action:
                self._record(action, zone, target, "error", failure.ray_id)
            raise failure from err
        except cloudflare.CloudflareError as err:
            raise CloudflareAPIError(
                f"could not {what}: {err}",
                hint=f"check that {self.base_url} is reachable",
            ) from err

    def _record(self, action: str, zone: str | None, target: str | None, result: str,
                ray_id: str | None) -> None:
        log.info("cloudflare change", extra={"action": action, "zone": zone,
                                              "result": result, "ray_id": ray_id})
        if self._audit is not None:
            self._audit(action, zone, target, result, ray_id)


def _build_sdk(credential: Credential, base_url: str, timeout: float,
               max_retries: int) -> cloudflare.Cloudflare:
    secret = credential.secret.reveal()
    if credential.kind == GLOBAL_KEY:
        sdk = cloudflare.Cloudflare(api_key=secret, api_email=credential.email or "",
                                    base_url=base_url, timeout=timeout, max_retries=max_retries)
        sdk.api_token = None
    else:
        sdk = cloudflare.Cloudflare(api_token=secret, base_url=base_url, timeout=timeout,
                                    max_retries=max_retries)
        sdk.api_key = None
        sdk.api_email = None
    # The SDK fills every unset scheme from the environment; one scheme only.
    sdk.user_service_key = None
    return sdk


def _result_of(raw: Any, what: str) -> dict[str, Any]:
    """The envelope's result, after checking that the API said success."""
    try:
        body = raw.json()
    except ValueError as err:
        raise CloudflareAPIError(f"could not {what}: the API answered with no JSON") from err
    ray_id = raw.headers.get("cf-ray")
    if not isinstance(body, dict) or not body.get("success"):
        errors = body.get("errors") if isinstance(body, dict) else None
        first = errors[0] if errors else {}
        raise CloudflareAPIError(
            f"could not {what}: Cloudflare said {first.get('message', 'no success')}",
            code=first.get("code"), api_message=first.get("message"), ray_id=ray_id,
            status=raw.status_code,
        )
    result = body.get("result")
    return result if isinstance(result, dict) else {}


def _zone_from(item: Any) -> Zone:
    account = getattr(item, "account", None)
    return Zone(
        id=item.id,
        name=item.name,
        status=getattr(item, "status", None) or "unknown",
        account_id=getattr(account, "id", None),
        account_name=getattr(account, "name", None),
    )


def _certificate_from(data: dict[str, Any]) -> OriginCertificate:
    return OriginCertificate(
        id=str(data.get("id") or ""),
        pem=data.get("certificate"),
        hostnames=tuple(data.get("hostnames") or ()),
        expires_on=data.get("expires_on"),
        request_type=data.get("request_type"),
        revoked_at=data.get("revoked_at"),
    )
